// A scripted RS-BFD "route server" for agent tests (and, later, for the lead's
// namespace tests): a BgpSpeaker that accepts BGP-LS-only sessions from
// configured clients, sends them the request set a test gives it (then
// End-of-RIB), and records every report.
//
//   const rs = new ScriptedRs({ address: '127.0.0.1', asn: 64500, codec });
//   await rs.start();                       // rs.port: the bound TCP port
//   rs.addClient({ address: '127.0.0.2', asn: 64501, routerId: '127.0.0.2' });
//   rs.request('127.0.0.2', [link]);        // announce (sent now if Established)
//   await rs.waitFor(() => rs.report('127.0.0.2', link) === 'reachable');
//   rs.withdraw('127.0.0.2', [link]);
//   rs.resend('127.0.0.2');                 // the whole request set again
//   await rs.bounce('127.0.0.2');           // Cease, the agent reconnects

import pino from 'pino';
import { type CheckLink, linkKey, type Report } from '../../../src/agent/core.ts';
import type { LsCodec } from '../../../src/agent/ls.ts';
import { encodeEndOfRib } from '../../../src/bgp/codec.ts';
import { type BgpPeer, BgpSpeaker, type PeerDown } from '../../../src/bgp/speaker.ts';
import { AFI, SAFI, type UpdateMessage } from '../../../src/bgp/types.ts';

export interface RsClient {
  address: string;
  asn: number;
  routerId: string;
}

export interface ScriptedRsOptions {
  /** IPv4 (or only) address to listen on; also the MP_REACH next hop. */
  address: string;
  /** A second address to listen on (IPv6 sessions), same port. */
  address6?: string;
  /** TCP port (default 0: any free one, see `port`). */
  port?: number;
  asn: number;
  routerId?: string;
  codec: LsCodec;
}

export interface RsEvent {
  /** performance.now() when it arrived. */
  at: number;
  client: string;
  kind: 'report' | 'withdraw' | 'end-of-rib' | 'established' | 'down';
  link?: CheckLink;
  state?: Report;
  /** For 'down': why (e.g. the NOTIFICATION received). */
  reason?: string;
}

interface ClientState {
  cfg: RsClient;
  peer: BgpPeer;
  requests: Map<string, CheckLink>;
  reports: Map<string, Report>;
  established: boolean;
}

export class ScriptedRs {
  readonly speaker: BgpSpeaker;
  readonly events: RsEvent[] = [];
  private readonly clients = new Map<string, ClientState>();
  private readonly opts: ScriptedRsOptions;
  private waiters = new Set<() => void>();

  constructor(opts: ScriptedRsOptions) {
    this.opts = opts;
    this.speaker = new BgpSpeaker({
      listen: [opts.address, ...(opts.address6 ? [opts.address6] : [])].map((address) => ({
        address,
        port: opts.port ?? 0,
      })),
      logger: pino({ level: process.env.IXRS_TEST_LOG ?? 'silent' }),
    });
  }

  get port(): number {
    return this.speaker.addresses()[0]!.port;
  }

  async start(): Promise<void> {
    await this.speaker.start();
  }

  async stop(): Promise<void> {
    await this.speaker.stop('scripted RS stopping');
  }

  addClient(cfg: RsClient): void {
    const rid = (this.opts.routerId ?? this.opts.address).split('.').map(Number);
    const peer = this.speaker.addPeer({
      localAs: this.opts.asn,
      routerId: ((rid[0]! << 24) | (rid[1]! << 16) | (rid[2]! << 8) | rid[3]!) >>> 0,
      peerAs: cfg.asn,
      peerAddress: cfg.address,
      passive: true,
      families: [{ afi: AFI.BGPLS, safi: SAFI.BGPLS }],
      fsm: { idleHoldTime: 0, delayOpenTime: 0 },
    });
    const c: ClientState = {
      cfg,
      peer,
      requests: new Map(),
      reports: new Map(),
      established: false,
    };
    this.clients.set(cfg.address, c);
    peer.on('established', () => {
      c.established = true;
      this.record({ client: cfg.address, kind: 'established' });
      this.sendRequests(c, [...c.requests.values()], []);
      peer.sendRaw(encodeEndOfRib(AFI.BGPLS, SAFI.BGPLS));
    });
    peer.on('down', (d: PeerDown) => {
      c.established = false;
      c.reports.clear(); // profile §7: everything unknown while the session is down
      this.record({ client: cfg.address, kind: 'down', reason: d.reason });
    });
    peer.on('update', (u: UpdateMessage) => {
      const d = this.opts.codec.decodeReports(u);
      for (const l of d.withdrawn) {
        c.reports.delete(linkKey(l));
        this.record({ client: cfg.address, kind: 'withdraw', link: l });
      }
      for (const r of d.announced) {
        c.reports.set(linkKey(r.link), r.state);
        this.record({ client: cfg.address, kind: 'report', link: r.link, state: r.state });
      }
      if (d.endOfRib) this.record({ client: cfg.address, kind: 'end-of-rib' });
    });
  }

  /** Announce requests to a client (sent at once when its session is up). */
  request(client: string, links: CheckLink[]): void {
    const c = this.client(client);
    for (const l of links) c.requests.set(linkKey(l), l);
    this.sendRequests(c, links, []);
  }

  withdraw(client: string, links: CheckLink[]): void {
    const c = this.client(client);
    for (const l of links) c.requests.delete(linkKey(l));
    this.sendRequests(c, [], links);
  }

  /** Send the client's whole request set again (as after a policy run). */
  resend(client: string): void {
    const c = this.client(client);
    this.sendRequests(c, [...c.requests.values()], []);
  }

  /** The client's current report for a link (undefined: none). */
  report(client: string, link: CheckLink): Report | undefined {
    return this.client(client).reports.get(linkKey(link));
  }

  reports(client: string): Map<string, Report> {
    return this.client(client).reports;
  }

  established(client: string): boolean {
    return this.client(client).established;
  }

  /** Drop the client's session with a Cease (6/4 Administrative Reset); the agent reconnects. */
  bounce(client: string): void {
    this.client(client).peer.reset({ code: 6, subcode: 4 });
  }

  /** Resolve when `pred` holds (checked on every event), reject after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`scripted RS: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private client(address: string): ClientState {
    const c = this.clients.get(address);
    if (c === undefined) throw new Error(`scripted RS: no client ${address}`);
    return c;
  }

  private sendRequests(c: ClientState, announce: CheckLink[], withdraw: CheckLink[]): void {
    const codec = c.peer.negotiated?.codec;
    if (!c.established || codec === undefined) return;
    const msgs = this.opts.codec.encodeRequests(announce, withdraw, {
      codec,
      nextHop:
        c.cfg.address.includes(':') && this.opts.address6 ? this.opts.address6 : this.opts.address,
      localAs: this.opts.asn,
    });
    for (const m of msgs) c.peer.sendRaw(m);
  }

  private record(e: Omit<RsEvent, 'at'>): void {
    this.events.push({ at: performance.now(), ...e });
    for (const w of [...this.waiters]) w();
  }
}

/** The Link NLRI asking `from` to check `to` (profile §4). */
export function checkLink(from: RsClient, to: RsClient, nextHop = to.address): CheckLink {
  return {
    instanceId: 0,
    local: { asn: from.asn, routerId: from.routerId },
    remote: { asn: to.asn, routerId: to.routerId },
    localAddress: from.address,
    nextHop,
  };
}
