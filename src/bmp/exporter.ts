// The BMP exporter (cfg.ixrs.bmp): one TCP session to a monitoring station
// (RFC 7854 §3.2: the router connects). On connect: Initiation, a Peer Up per
// established client session, then Route Monitoring of every client's
// Adj-RIB-In (pre-policy: the paths as received, accepted or not when
// reject_policy is 'tag') walked in slices, End-of-RIB per family; after that
// every UPDATE a client sends, as it arrives, and Peer Up / Peer Down as
// sessions change. With adj_rib_out, the Adj-RIB-Out too (RFC 8671,
// post-policy): the UPDATEs ixrs sends to clients are mirrored from the Peer
// Up on, and after the Adj-RIB-In dump each session's Adj-RIB-Out as it is
// then is walked in slices (Route Monitoring with the O flag), then
// End-of-RIB. Live mirroring runs during that walk: each prefix's last message
// on the BMP session is the newest state either way (the core's Adj-RIB-Out
// columns change only together with the bytes written to the client).
//
// A collector must never slow the route server: nothing waits for it. Octets
// queued on its socket are bounded (cfg.ixrs.bmp.buffer); beyond, the BMP
// session is dropped (logged, counted) and retried after
// cfg.ixrs.bmp.reconnect seconds, with a fresh initial dump.

import net from 'node:net';
import type pino from 'pino';
import { encodeEndOfRib, encodeUpdates } from '../bgp/update.ts';
import type { BmpConfig } from '../config/observability.ts';
import type { RibSource, RibTable, WalkOptions } from '../ops/rib-walk.ts';
import { walkEntries, walkRib } from '../ops/rib-walk.ts';
import type { ExportView } from '../rs/api.ts';
import {
  initiation,
  type PeerHeader,
  peerDown,
  peerUp,
  routeMonitoring,
  termination,
} from './codec.ts';

/** An established client session as BMP shows it. */
export interface BmpPeer {
  /** The core's session key (RouteView.session). */
  key: string;
  address: string;
  asn: number;
  bgpId: number;
  /** Whole OPEN messages, as sent and (re-encoded) as received. */
  sentOpen: Uint8Array;
  receivedOpen: Uint8Array;
  /** Negotiated families, '1/1', '2/1'. */
  families: string[];
  /** 4-octet AS negotiated: UPDATEs are encoded with 4-octet AS_PATHs. */
  as4: boolean;
  /** ADD-PATH send negotiated for some family (Adj-RIB-Out is not mirrored then). */
  addPathTx: boolean;
  /** When the session came up, ms since the epoch. */
  since: number;
}

/** Each session's Adj-RIB-Out (RouteServer implements it). */
export interface AdjRibOutSource {
  readonly entries: RibTable;
  /** What session `key` holds now for prefix entry `id` (RouteServer.exportedAt). */
  exportedAt(id: number, key: string): ExportView[];
}

export interface BmpSource {
  /** The table, pre-policy (the raw core: rejected paths without reject tags), and the Adj-RIB-Out. */
  rib: RibSource & AdjRibOutSource;
  /** Established sessions now. */
  peers(): BmpPeer[];
  /** Our address and port toward a peer (Peer Up). */
  local(peerAddress: string): { address: string; port: number };
  sysName: string;
  sysDescr: string;
  now?: () => number;
}

export interface BmpStats {
  connects: number;
  /** BMP sessions dropped because the collector did not read fast enough. */
  drops: number;
  messages: number;
  bytes: number;
  dumps: number;
}

type State = 'idle' | 'connecting' | 'up';

/** A collector that takes nothing for this long during the initial dump is dropped, ms. */
export const STALL_MS = 10_000;

export class BmpExporter {
  readonly stats: BmpStats = { connects: 0, drops: 0, messages: 0, bytes: 0, dumps: 0 };
  private readonly cfg: BmpConfig;
  private readonly src: BmpSource;
  private readonly log: pino.Logger;
  private readonly now: () => number;
  private sock: net.Socket | null = null;
  private state: State = 'idle';
  /** Peers announced (Peer Up sent) on the current BMP session, by session key. */
  private readonly announced = new Map<string, BmpPeer>();
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  /** Bumped per BMP session: a dump of an old one stops. */
  private epoch = 0;

  constructor(cfg: BmpConfig, src: BmpSource, log: pino.Logger) {
    this.cfg = cfg;
    this.src = src;
    this.log = log;
    this.now = src.now ?? Date.now;
  }

  start(): void {
    this.connect();
  }

  /** True while a BMP session is up. */
  get connected(): boolean {
    return this.state === 'up';
  }

  private connect(): void {
    if (this.closed || this.state !== 'idle') return;
    this.state = 'connecting';
    const sock = net.connect({ host: this.cfg.address, port: this.cfg.port });
    this.sock = sock;
    const epoch = ++this.epoch;
    sock.setNoDelay(true);
    // The collector sends nothing we use (RFC 7854 §3.3); read and discard.
    sock.on('data', () => undefined);
    sock.once('connect', () => {
      if (epoch !== this.epoch) return;
      this.state = 'up';
      this.stats.connects++;
      this.log.info({ collector: `${this.cfg.address}:${this.cfg.port}` }, 'BMP session up');
      void this.initialDump(epoch);
    });
    sock.on('error', (err) => {
      if (epoch === this.epoch)
        this.log.warn({ err: err.message }, 'BMP collector connection error');
    });
    sock.once('close', () => {
      if (epoch !== this.epoch) return;
      this.reset('collector closed the connection');
    });
  }

  /** The BMP session is gone: forget what was announced, retry later. */
  private reset(why: string): void {
    const wasUp = this.state === 'up';
    this.epoch++;
    this.sock?.destroy();
    this.sock = null;
    this.state = 'idle';
    this.announced.clear();
    if (wasUp) this.log.warn({ why }, 'BMP session down');
    if (this.closed || this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, this.cfg.reconnectS * 1000);
    this.retry.unref();
  }

  /** Queue a message; over the bound the collector is dropped. Never waits. */
  private send(buf: Uint8Array): void {
    const s = this.sock;
    if (s === null || this.state !== 'up') return;
    if (s.writableLength + buf.length > this.cfg.bufferBytes) {
      this.stats.drops++;
      this.log.warn(
        { queued: s.writableLength, bound: this.cfg.bufferBytes },
        'BMP collector too slow: session dropped',
      );
      this.reset('collector too slow');
      return;
    }
    s.write(buf);
    this.stats.messages++;
    this.stats.bytes += buf.length;
  }

  private header(p: BmpPeer, extra: Partial<PeerHeader> = {}): PeerHeader {
    return { address: p.address, asn: p.asn, bgpId: p.bgpId, timestamp: this.now(), ...extra };
  }

  private announce(p: BmpPeer): void {
    this.announced.set(p.key, p);
    this.send(
      peerUp(
        { ...this.header(p), timestamp: p.since },
        this.src.local(p.address),
        0,
        p.sentOpen,
        p.receivedOpen,
      ),
    );
  }

  /**
   * Walk options pacing a dump by the collector: writes of one slice leave
   * together (corked); between slices, wait (at most STALL_MS) while half the
   * bound is queued; live messages keep flowing meanwhile.
   */
  private paceOpts(epoch: number): WalkOptions {
    const half = this.cfg.bufferBytes / 2;
    return {
      yieldTo: () => {
        this.sock?.uncork();
        return this.paced(epoch, half).then(() => this.sock?.cork());
      },
      cancelled: () => epoch !== this.epoch,
    };
  }

  private endOfRib(p: BmpPeer, extra: Partial<PeerHeader> = {}): void {
    for (const f of p.families) {
      const [afi, safi] = f.split('/').map(Number) as [number, number];
      this.send(routeMonitoring(this.header(p, extra), encodeEndOfRib(afi, safi)));
    }
  }

  private async initialDump(epoch: number): Promise<void> {
    this.send(initiation(this.src.sysDescr, this.src.sysName));
    for (const p of this.src.peers()) this.announce(p);
    // The Adj-RIB-Out dump covers the sessions up now; one that comes up
    // later starts empty, and everything it is sent is mirrored.
    const outPeers = this.cfg.adjRibOut
      ? [...this.announced.values()].filter((p) => !p.addPathTx)
      : [];
    this.sock?.cork();
    await walkRib(
      this.src.rib,
      (prefix, views) => {
        if (epoch !== this.epoch) return;
        const afi = prefix.includes(':') ? 2 : 1;
        for (const v of views) {
          const p = this.announced.get(v.session);
          if (p === undefined) continue;
          for (const u of encodeUpdates(
            { as4: p.as4 },
            { afi, safi: 1, attrs: v.attrs, nextHop: v.nextHop, nlri: [{ prefix }], withdrawn: [] },
          )) {
            this.send(routeMonitoring(this.header(p), u));
          }
        }
      },
      this.paceOpts(epoch),
    );
    this.sock?.uncork();
    if (epoch !== this.epoch) return;
    for (const p of this.announced.values()) this.endOfRib(p);
    if (outPeers.length > 0) await this.dumpAdjRibOut(epoch, outPeers);
    if (epoch !== this.epoch) return;
    this.stats.dumps++;
    this.log.info(
      { peers: this.announced.size, adjRibOut: outPeers.length },
      'BMP initial dump sent',
    );
  }

  /**
   * RFC 8671: each of `peers`' Adj-RIB-Out as it is now, post-policy, then
   * End-of-RIB per family. A peer that went down (or came up again: a new
   * BmpPeer) meanwhile is skipped. UPDATEs sent to the peers are mirrored
   * live all along (sent()), so a prefix changed during the walk ends at its
   * newest state whichever message comes last.
   */
  private async dumpAdjRibOut(epoch: number, peers: BmpPeer[]): Promise<void> {
    const rib = this.src.rib;
    const out = { adjRibOut: true, postPolicy: true };
    // One encoding per distinct route of a prefix: most sessions hold the same.
    let last: { v: ExportView; as4: boolean; msgs: Uint8Array[] } | null = null;
    this.sock?.cork();
    await walkEntries(
      rib.entries,
      (id) => {
        if (epoch !== this.epoch) return false;
        let n = 0;
        last = null;
        for (const p of peers) {
          if (this.announced.get(p.key) !== p) continue;
          for (const v of rib.exportedAt(id, p.key)) {
            if (
              last === null ||
              last.as4 !== p.as4 ||
              last.v.attrs !== v.attrs ||
              last.v.nextHop !== v.nextHop
            ) {
              const afi = v.prefix.includes(':') ? 2 : 1;
              const msgs = encodeUpdates(
                { as4: p.as4 },
                {
                  afi,
                  safi: 1,
                  attrs: v.attrs,
                  nextHop: v.nextHop,
                  nlri: [{ prefix: v.prefix }],
                  withdrawn: [],
                },
              );
              last = { v, as4: p.as4, msgs };
            }
            for (const u of last.msgs) this.send(routeMonitoring(this.header(p, out), u));
            n++;
          }
        }
        return n > 0;
      },
      // A prefix costs a message per session here: about 4,000 routes a slice
      // at most, whatever the number of sessions.
      { ...this.paceOpts(epoch), slice: Math.max(1, Math.floor(4000 / peers.length)) },
    );
    this.sock?.uncork();
    if (epoch !== this.epoch) return;
    for (const p of peers) if (this.announced.get(p.key) === p) this.endOfRib(p, out);
  }

  private paced(epoch: number, half: number): Promise<void> {
    const s = this.sock;
    if (s === null || epoch !== this.epoch || s.writableLength <= half) {
      return new Promise((r) => setImmediate(r));
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      const t = setTimeout(() => {
        done();
        if (epoch === this.epoch) {
          this.stats.drops++;
          this.log.warn('BMP collector did not read during the initial dump: dropped');
          this.reset('collector stalled');
        }
      }, STALL_MS);
      t.unref();
      s.once('drain', done);
      s.once('close', done);
    });
  }

  // ------------------------------------------------------------ events from the daemon

  /** A client session came up. */
  peerUp(p: BmpPeer): void {
    if (this.state !== 'up') return;
    this.announce(p);
  }

  /** A client session went down (RFC 7854 §4.9 reason and data). */
  peerDown(key: string, reason: number, data?: Uint8Array): void {
    const p = this.announced.get(key);
    if (p === undefined || this.state !== 'up') return;
    this.announced.delete(key);
    this.send(peerDown(this.header(p), reason, data));
  }

  /** An UPDATE received from a client (whole message), pre-policy. */
  received(key: string, update: Uint8Array): void {
    const p = this.announced.get(key);
    if (p === undefined) return;
    this.send(routeMonitoring(this.header(p), update));
  }

  /** Octets the route server wrote to a client's session (RFC 8671 Adj-RIB-Out, post-policy). */
  sent(key: string, bytes: Uint8Array): void {
    if (!this.cfg.adjRibOut) return;
    const p = this.announced.get(key);
    if (p === undefined || p.addPathTx) return;
    // One write may hold several messages: split on the BGP header lengths.
    for (let o = 0; o + 19 <= bytes.length; ) {
      const len = (bytes[o + 16]! << 8) | bytes[o + 17]!;
      if (len < 19 || o + len > bytes.length) break;
      if (bytes[o + 18] === 2) {
        this.send(
          routeMonitoring(
            this.header(p, { adjRibOut: true, postPolicy: true }),
            bytes.subarray(o, o + len),
          ),
        );
      }
      o += len;
    }
  }

  /** Termination (administratively closed), then close. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    const s = this.sock;
    if (s !== null && this.state === 'up') {
      this.send(termination(0, 'route server shutting down'));
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          s.destroy();
          resolve();
        }, 1000);
        t.unref();
        s.end(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.epoch++;
    this.sock?.destroy();
    this.sock = null;
    this.state = 'idle';
  }
}
