// BgpSpeaker: listeners and configured peers.
//
//   const sp = new BgpSpeaker({ listen: [{ address: '127.0.0.1', port: 0 }], logger });
//   await sp.start();
//   sp.addresses();                       // actual bound {address, port}s
//   const peer = sp.addPeer({ localAs, routerId, peerAddress, peerAs, families: [...] });
//   sp.on('ls-session', (session: BgpPeer, owner: BgpPeer) => ...);
//   await sp.stop('RS maintenance');      // Cease 6/2 with shutdown message to every peer
//
// Inbound connections:
//  - from an address with no configured peer: closed at once, no OPEN sent,
//    logged once per address (event 'refused' (address) every time);
//  - otherwise the speaker waits for the peer's OPEN (DelayOpen, RFC 4271
//    §8.1.1; DelayOpenTime of the peer's FSM config, 5 s by default), then:
//      * RS-BFD profile §3: an OPEN offering only BGP-LS (16388/71) from a peer
//        with `acceptLsSession` is that client's reachability session: a
//        separate passive BgpPeer (families [BGP-LS], no automatic restart),
//        announced by 'ls-session' (session, owner) before its OPEN is
//        processed, so listeners can attach handlers. It does not collide
//        with the routing session; it collides only with an earlier
//        reachability session of the same client.
//      * otherwise the connection goes to the configured peer, which resolves
//        any collision (RFC 4271 §6.8, Cease 6/7 on the losing connection).
//    A peer that sends no OPEN within DelayOpenTime gets our OPEN first when
//    its BgpPeer is in Connect/Active; otherwise we keep waiting until the
//    large hold time (4 min) passes.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import { decodeMessage, encodeMessage } from './codec.ts';
import { DEFAULT_FSM_CONFIG } from './fsm.ts';
import { isBgpLsOnly } from './negotiate.ts';
import { BgpPeer, Connection, type PeerConfig, peerKey } from './session.ts';
import { AFI, BgpError, type NotificationMessage, type OpenMessage, SAFI } from './types.ts';

export { BgpPeer, Connection, type PeerConfig, type PeerDown } from './session.ts';

export interface ListenAddress {
  address: string;
  port: number;
  /** "::" for IPv6 only (not dual-stack), e.g. beside another process on 0.0.0.0. */
  ipv6Only?: boolean;
}

export interface SpeakerOptions {
  listen: ListenAddress[];
  logger?: pino.Logger;
  /** Monotonic clock in milliseconds (default performance.now). */
  now?: () => number;
}

interface PendingInbound {
  conn: Connection;
  peer: BgpPeer;
  delayTimer: NodeJS.Timeout | null;
  giveUpTimer: NodeJS.Timeout;
}

export class BgpSpeaker extends EventEmitter {
  readonly log: pino.Logger;
  private readonly opts: SpeakerOptions;
  private readonly now: () => number;
  private servers: net.Server[] = [];
  private readonly peers = new Map<string, BgpPeer>();
  private readonly lsSessions = new Map<string, BgpPeer>();
  private readonly pending = new Set<PendingInbound>();
  private readonly refusedLogged = new Set<string>();
  private running = false;

  constructor(opts: SpeakerOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger ?? pino({ level: 'warn' });
    this.now = opts.now ?? (() => performance.now());
  }

  /** Configure a peer (started at once if the speaker runs). One peer per address. */
  addPeer(cfg: PeerConfig): BgpPeer {
    const addr = peerKey(cfg.peerAddress);
    if (this.peers.has(addr)) throw new Error(`peer ${addr} is already configured`);
    const peer = new BgpPeer(cfg, { logger: this.log, now: this.now });
    this.peers.set(addr, peer);
    if (this.running) peer.start();
    return peer;
  }

  /** Remove a peer: Cease 6/3 Peer De-configured (RFC 4486) when a session is up. */
  async removePeer(address: string): Promise<void> {
    const addr = peerKey(address);
    const peer = this.peers.get(addr);
    if (!peer) return;
    this.peers.delete(addr);
    const ls = this.lsSessions.get(addr);
    this.lsSessions.delete(addr);
    await Promise.all([
      peer.stopWith({ code: 6, subcode: 3 }),
      ls?.stopWith({ code: 6, subcode: 3 }),
    ]);
  }

  getPeer(address: string): BgpPeer | undefined {
    return this.peers.get(peerKey(address));
  }

  listPeers(): BgpPeer[] {
    return [...this.peers.values()];
  }

  /** The reachability (BGP-LS only) session currently bound to a peer address. */
  getLsSession(address: string): BgpPeer | undefined {
    return this.lsSessions.get(peerKey(address));
  }

  /** Bind every listener, then start every configured peer. */
  async start(): Promise<void> {
    if (this.running) return;
    for (const l of this.opts.listen) {
      const server = net.createServer((s) => this.onInbound(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // "::" is dual-stack by default and would take the IPv4 port too: when
        // "0.0.0.0" is asked on the same port, bind "::" for IPv6 only.
        const ipv6Only =
          l.ipv6Only === true ||
          (l.address === '::' &&
            l.port !== 0 &&
            this.opts.listen.some((o) => o.address === '0.0.0.0' && o.port === l.port));
        server.listen({ host: l.address, port: l.port, ipv6Only }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.log.error({ err }, 'listener error'));
      this.servers.push(server);
    }
    this.running = true;
    for (const p of this.peers.values()) p.start();
  }

  /** The bound listener addresses (actual ports when 0 was asked). */
  addresses(): ListenAddress[] {
    const out: ListenAddress[] = [];
    for (const s of this.servers) {
      const a = s.address();
      if (a && typeof a === 'object') out.push({ address: a.address, port: a.port });
    }
    return out;
  }

  /**
   * Stop every session with Cease / Administrative Shutdown (6/2) carrying
   * `shutdownMessage` (RFC 8203/9003), close the listeners. Resolves when all
   * sockets are closed.
   */
  async stop(shutdownMessage?: string): Promise<void> {
    this.running = false;
    const closing = this.servers.map(
      (s) => new Promise<void>((resolve) => s.close(() => resolve())),
    );
    this.servers = [];
    for (const p of this.pending) this.dropPending(p, true);
    await Promise.all([
      ...[...this.peers.values()].map((p) => p.stop(shutdownMessage)),
      ...[...this.lsSessions.values()].map((p) => p.stop(shutdownMessage)),
    ]);
    this.lsSessions.clear();
    await Promise.all(closing);
  }

  // ---------------------------------------------------------------- inbound

  private onInbound(socket: net.Socket): void {
    const addr = peerKey(socket.remoteAddress ?? '');
    const peer = this.peers.get(addr);
    if (!this.running) {
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    if (!peer) {
      // Not configured: no OPEN, no NOTIFICATION; just close.
      if (!this.refusedLogged.has(addr) && this.refusedLogged.size < 10_000) {
        this.refusedLogged.add(addr);
        this.log.warn({ peer: addr }, 'connection from an unconfigured address refused');
      }
      this.emit('refused', addr);
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, 'in', peer.config.highWaterMark);
    const fsmCfg = { ...DEFAULT_FSM_CONFIG, ...peer.config.fsm };
    const p: PendingInbound = {
      conn,
      peer,
      delayTimer: null,
      giveUpTimer: setTimeout(() => {
        peer.log.info('no OPEN on inbound connection');
        this.rejectPending(p, { code: 4, subcode: 0 });
      }, fsmCfg.largeHoldTime * 1000),
    };
    p.delayTimer = setTimeout(() => {
      p.delayTimer = null;
      // DelayOpenTimer expired without an OPEN: send ours if the peer can take a connection now.
      if (peer.state === 'Connect' || peer.state === 'Active') {
        this.settle(p);
        peer.acceptInbound(conn, null);
      }
    }, fsmCfg.delayOpenTime * 1000);
    this.pending.add(p);
    conn.onClose = () => this.dropPending(p, false);
    conn.onError = (e) => {
      if (e instanceof BgpError)
        this.rejectPending(p, { code: e.code, subcode: e.subcode, data: e.data });
      else this.dropPending(p, true);
    };
    conn.onMessage = (bytes) => {
      const msg = decodeMessage(bytes, { as4: false }); // BgpError -> onError
      if (msg.type === 'notification') {
        peer.log.warn(
          {
            notification: `${msg.code}/${msg.subcode}`,
            ...(msg.shutdownMessage !== undefined ? { shutdownMessage: msg.shutdownMessage } : {}),
          },
          'received NOTIFICATION before OPEN',
        );
        this.dropPending(p, true);
        return;
      }
      if (msg.type !== 'open') {
        // An OPEN was expected: RFC 6608 §4 "Receive Unexpected Message in
        // OpenSent State" (5/1), as the peer sees it (our OPEN is only delayed).
        this.rejectPending(p, { code: 5, subcode: 1 });
        return;
      }
      this.settle(p);
      this.dispatchOpen(conn, peer, msg);
    };
  }

  private dispatchOpen(conn: Connection, peer: BgpPeer, open: OpenMessage): void {
    if (peer.config.acceptLsSession && isBgpLsOnly(open)) {
      const existing = this.lsSessions.get(peer.address);
      if (existing && existing.state !== 'Idle') {
        existing.acceptInbound(conn, open); // collision between reachability sessions
        return;
      }
      const ls = new BgpPeer(
        {
          ...peer.config,
          name: `${peer.config.name ?? peer.address}/ls`,
          families: [{ afi: AFI.BGPLS, safi: SAFI.BGPLS }],
          addPath: [],
          passive: true,
          acceptLsSession: false,
          fsm: { ...peer.config.fsm, autoRestart: false },
        },
        { logger: this.log, now: this.now },
      );
      this.lsSessions.set(peer.address, ls);
      ls.on('down', () => {
        if (this.lsSessions.get(peer.address) === ls) this.lsSessions.delete(peer.address);
      });
      this.emit('ls-session', ls, peer);
      ls.start();
      ls.acceptInbound(conn, open);
      return;
    }
    peer.acceptInbound(conn, open);
  }

  /** Stop the pending timers; the connection is handed over. */
  private settle(p: PendingInbound): void {
    if (p.delayTimer) clearTimeout(p.delayTimer);
    clearTimeout(p.giveUpTimer);
    this.pending.delete(p);
    p.conn.onClose = null;
    p.conn.onError = null;
    p.conn.onMessage = null;
  }

  private rejectPending(
    p: PendingInbound,
    n: Omit<NotificationMessage, 'type' | 'data'> & { data?: Uint8Array },
  ): void {
    this.settle(p);
    const msg: NotificationMessage = {
      type: 'notification',
      code: n.code,
      subcode: n.subcode,
      data: n.data ?? new Uint8Array(0),
    };
    p.peer.log.warn({ notification: `${n.code}/${n.subcode}` }, 'rejecting inbound connection');
    p.conn.send(encodeMessage(msg, { as4: false }));
    p.conn.close();
    // a failed attempt: counts for the peer's reconnect backoff (damping)
    p.peer.inboundFailed(
      `inbound connection failed before OPEN: NOTIFICATION ${n.code}/${n.subcode}`,
    );
  }

  private dropPending(p: PendingInbound, close: boolean): void {
    if (!this.pending.has(p)) return;
    this.settle(p);
    if (close) p.conn.socket.destroy();
  }
}
