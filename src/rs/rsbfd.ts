// The route server's side of RS-BFD (docs/rs-bfd-profile.md §5): requests out,
// reports in, the per-client NHIB (src/nhib) driving the core's reachability
// input. Pure of sockets: a client's reachability channel (its agent's
// BGP-LS-only session, or its routing session when that negotiated BGP-LS) is
// given as a `send` function and the session's codec options.
//
//   requests  For client A with an active channel: one Link NLRI per next hop
//             N that A should check (profile §5.1): N is the next hop of some
//             accepted path eligible for A by policy and announcement control
//             (core.nextHopsEligibleFor), N belongs to another client B whose
//             channel is active too (so that an agent can answer A's BFD), and
//             A has a LAN address of N's family. Kept current from the core's
//             next-hop usage events and channel changes; recomputed in one
//             batch per tick (not per route change) and sent as few UPDATEs
//             (bgpls/update.ts packs them); End-of-RIB after the initial set.
//   reports   BGP-LS UPDATEs from A: decoded (RFC 9552 §8.2.2 problems logged
//             and counted, never fatal for the session), parsed as reports
//             (bgpls/rsbfd.ts) and given to the NHIB, which drops spoofed ones;
//             effective changes go to core.setNextHopReachability.
//   fail open A's channel down: every NHIB entry of A back to unknown and
//             core.clearNextHopReachability(A) (profile §7).
//
// Owners: the next hop N belongs to the client with N among its configured
// addresses; a next hop of no configured client is never requested.

import { encodeEndOfRib } from '../bgp/codec.ts';
import type { CodecOptions, UpdateMessage } from '../bgp/types.ts';
import { type HalfLink, parseHalfLink, parseReport, requestItem } from '../bgpls/rsbfd.ts';
import { AFI_BGPLS, type LsNlri, SAFI_BGPLS } from '../bgpls/types.ts';
import { decodeLsUpdate, encodeLsUpdates } from '../bgpls/update.ts';
import type { Nhib, NhibEvent } from '../nhib/nhib.ts';
import type { Log, Timers } from './server.ts';

/** What RS-BFD needs from the route-server core (RouteServer implements it). */
export interface RsBfdCore {
  setNextHopReachability(clientId: string, nextHop: string, unreachable: boolean): void;
  clearNextHopReachability(clientId: string): void;
  nextHopsEligibleFor(clientId: string): string[];
  nextHopEligibleFor(clientId: string, nextHop: string): boolean;
}

/** A client's reachability channel: a BGP session with BGP-LS negotiated. */
export interface LsChannel {
  codec: CodecOptions;
  /** Our address on the session (the MP_REACH next hop, RFC 9552 §5.4). */
  localAddress: string;
  /** The peer's BGP Identifier (A's Router-ID in the Local Node Descriptors), dotted quad. */
  peerRouterId: string;
  /** Writes UPDATE bytes to the session. */
  send(messages: Uint8Array[]): void;
  /** 'agent': a BGP-LS-only session; 'main': the client's routing session. */
  kind: 'agent' | 'main';
}

export interface RsBfdClient {
  id: string;
  asn: number;
  description: string;
  /** Canonical LAN addresses. */
  addresses: readonly string[];
  enabled: boolean;
}

export interface RsBfdOptions {
  core: RsBfdCore;
  nhib: Nhib;
  clients: readonly RsBfdClient[];
  rsAs: number;
  /** BGP-LS Identifier of this LAN (the Identifier field of every NLRI). */
  instanceId: number;
  /** The BGP Identifier of client B's routing session (dotted quad), for the Remote Node Descriptors. */
  routerIdOf: (clientId: string) => string;
  timers: Timers;
  log: Log;
  /** How long request changes gather before one batch is sent, ms (default 20). */
  batchMs?: number;
  /**
   * Observer of the NHIB changes once handed to the core (metrics, the web
   * page): `arrivedAt` is when the report carrying them was received (the
   * timers' clock), null for changes of other causes (session, damping).
   */
  onChanges?: (events: readonly NhibEvent[], arrivedAt: number | null) => void;
}

interface ClientState {
  cfg: RsBfdClient;
  channel: LsChannel | null;
  /** Requests sent on the current channel, by next hop. */
  sent: Map<string, HalfLink>;
  /** The whole request set must be recomputed at the next flush. */
  full: boolean;
  /** The initial set was sent (End-of-RIB follows it once). */
  initialSent: boolean;
}

export interface RsBfdStats {
  /** Clients with an active reachability channel. */
  channels: number;
  requestsSent: number;
  requestsWithdrawn: number;
  reports: number;
  /** Received NLRI that are not reports of the profile (wrong protocol, descriptors...). */
  invalidReports: number;
  /** RFC 9552 §8.2.2 outcomes (NLRI discarded, attribute discarded...). */
  malformed: number;
  /** Time from a report's arrival to its effect being handed to the core, last, ms. */
  lastApplyMs: number;
}

export class RsBfd {
  private readonly core: RsBfdCore;
  private readonly nhib: Nhib;
  private readonly opts: RsBfdOptions;
  private readonly clients = new Map<string, ClientState>();
  private readonly owners = new Map<string, ClientState>();
  /** Next hops whose eligibility may have changed (core usage events). */
  private readonly dirtyNextHops = new Set<string>();
  private flushTimer: unknown = null;
  private dampTimer: unknown = null;
  private dampAt = Number.POSITIVE_INFINITY;
  readonly stats: RsBfdStats = {
    channels: 0,
    requestsSent: 0,
    requestsWithdrawn: 0,
    reports: 0,
    invalidReports: 0,
    malformed: 0,
    lastApplyMs: 0,
  };

  constructor(opts: RsBfdOptions) {
    this.opts = opts;
    this.core = opts.core;
    this.nhib = opts.nhib;
    for (const c of opts.clients) {
      const st: ClientState = {
        cfg: c,
        channel: null,
        sent: new Map(),
        full: false,
        initialSent: false,
      };
      this.clients.set(c.id, st);
      for (const a of c.addresses) this.owners.set(a, st);
    }
  }

  /** Whether BGP-LS is accepted from this client (cfg.ixrs.rs_bfd.enabled). */
  enabled(clientId: string): boolean {
    return this.clients.get(clientId)?.cfg.enabled === true;
  }

  hasChannel(clientId: string): boolean {
    return this.clients.get(clientId)?.channel != null;
  }

  /** The client's reachability channel came up: RS-BFD is active for it (profile §3). */
  channelUp(clientId: string, channel: LsChannel): void {
    const st = this.state(clientId);
    if (!st.cfg.enabled) return;
    if (st.channel !== null) {
      // Replaced by another session of the same agent (one per address family):
      // withdraw what the old one was asked, or the agent keeps checking and
      // reporting on it (its reports there are ignored, see receive()).
      const old = st.channel;
      if (old !== channel && st.sent.size > 0) {
        for (const m of encodeLsUpdates(old.codec, {
          nextHop: old.localAddress,
          asPath: [this.opts.rsAs],
          announce: [],
          withdraw: [...st.sent.values()].map((h) => requestItem(h).nlri),
        })) {
          old.send([m]);
        }
      }
      this.channelDown(clientId, old);
    }
    st.channel = channel;
    st.sent.clear();
    st.initialSent = false;
    this.stats.channels++;
    this.apply(this.nhib.sessionUp(clientId));
    // A's own set, and every other active client may now ask for A's next hops.
    for (const s of this.clients.values()) if (s.channel !== null) s.full = true;
    this.schedule();
  }

  /**
   * The channel ended (or `channel` is not the current one: then nothing):
   * fail open for the client (profile §7), and the others stop asking for its
   * next hops.
   */
  channelDown(clientId: string, channel?: LsChannel): void {
    const st = this.state(clientId);
    if (st.channel === null || (channel !== undefined && st.channel !== channel)) return;
    st.channel = null;
    st.sent.clear();
    this.stats.channels--;
    this.apply(this.nhib.sessionDown(clientId));
    this.core.clearNextHopReachability(clientId);
    for (const s of this.clients.values()) if (s.channel !== null) s.full = true;
    this.schedule();
  }

  /** The core's next-hop usage events (RouteServerOptions.onNextHopUsage). */
  nextHopUsage(events: readonly { nextHop: string }[]): void {
    if (this.stats.channels === 0) return;
    for (const e of events) this.dirtyNextHops.add(e.nextHop);
    this.schedule();
  }

  /**
   * A BGP-LS UPDATE received on `clientId`'s channel (`channel`: the session it
   * came on; reports from a session that is not the client's current channel
   * are ignored). Returns false when it carried no BGP-LS.
   */
  receive(clientId: string, msg: UpdateMessage, channel?: LsChannel): boolean {
    const ls = decodeLsUpdate(msg);
    if (ls === null) return false;
    const st = this.state(clientId);
    if (channel !== undefined && st.channel !== channel) return true;
    const t0 = this.opts.timers.now();
    for (const p of ls.problems) {
      this.stats.malformed++;
      this.opts.log.warn({ client: clientId, problem: p }, 'malformed BGP-LS (RFC 9552 §8.2.2)');
    }
    if (st.channel === null) return true;
    const instanceId = BigInt(this.opts.instanceId);
    const events: NhibEvent[] = [];
    for (const n of ls.announced) {
      const r = parseReport(n, ls.attribute, { instanceId });
      if (!r.ok) {
        this.invalid(clientId, r.reason, n);
        continue;
      }
      this.stats.reports++;
      const v = r.value;
      for (const e of this.nhib.report(clientId, {
        instanceId: Number(v.instanceId),
        local: v.local,
        remote: v.remote,
        localAddress: v.localAddress,
        nextHop: v.nextHop,
        state: v.state,
      })) {
        events.push(e);
      }
    }
    for (const n of ls.withdrawn) {
      const h = parseHalfLink(n);
      if (!h.ok) {
        this.invalid(clientId, h.reason, n);
        continue;
      }
      const v = h.value;
      for (const e of this.nhib.withdrawReport(clientId, {
        nextHop: v.nextHop,
        instanceId: Number(v.instanceId),
        local: v.local,
        remote: v.remote,
        localAddress: v.localAddress,
      })) {
        events.push(e);
      }
    }
    this.apply(events, t0);
    this.stats.lastApplyMs = this.opts.timers.now() - t0;
    return true;
  }

  /** Sends what is pending now (tests; otherwise it runs on its own timer). */
  flush(): void {
    if (this.flushTimer !== null) {
      this.opts.timers.clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const dirty = [...this.dirtyNextHops];
    this.dirtyNextHops.clear();
    for (const st of this.clients.values()) {
      if (st.channel === null) continue;
      if (st.full) this.syncAll(st);
      else if (dirty.length > 0) this.syncSome(st, dirty);
      st.full = false;
    }
  }

  /** Stops the timers (shutdown). */
  close(): void {
    if (this.flushTimer !== null) this.opts.timers.clearTimeout(this.flushTimer);
    if (this.dampTimer !== null) this.opts.timers.clearTimeout(this.dampTimer);
    this.flushTimer = null;
    this.dampTimer = null;
  }

  /** The next hops currently requested from `clientId` (views, tests). */
  requested(clientId: string): string[] {
    return [...(this.clients.get(clientId)?.sent.keys() ?? [])];
  }

  // ---------------------------------------------------------------- requests

  private state(clientId: string): ClientState {
    const st = this.clients.get(clientId);
    if (st === undefined) throw new Error(`RS-BFD: unknown client ${clientId}`);
    return st;
  }

  private schedule(): void {
    if (this.flushTimer !== null) return;
    this.flushTimer = this.opts.timers.setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, this.opts.batchMs ?? 20);
  }

  /** The half link A -> N, or null when N may not be requested from A now. */
  private halfLink(a: ClientState, nextHop: string): HalfLink | null {
    const b = this.owners.get(nextHop);
    if (b === undefined || b === a || b.channel === null || a.channel === null) return null;
    const v6 = nextHop.includes(':');
    const localAddress = a.cfg.addresses.find((x) => x.includes(':') === v6);
    if (localAddress === undefined) return null;
    return {
      instanceId: BigInt(this.opts.instanceId),
      local: { asn: a.cfg.asn, routerId: a.channel.peerRouterId },
      remote: { asn: b.cfg.asn, routerId: this.opts.routerIdOf(b.cfg.id) },
      localAddress,
      nextHop,
    };
  }

  private syncAll(st: ClientState): void {
    const want = new Map<string, HalfLink>();
    for (const nh of this.core.nextHopsEligibleFor(st.cfg.id)) {
      const h = this.halfLink(st, nh);
      if (h !== null) want.set(nh, h);
    }
    const add: HalfLink[] = [];
    const del: HalfLink[] = [];
    for (const [nh, h] of want) {
      const old = st.sent.get(nh);
      if (old === undefined) add.push(h);
      else if (
        old.remote.routerId !== h.remote.routerId ||
        old.local.routerId !== h.local.routerId
      ) {
        del.push(old);
        add.push(h);
      }
    }
    for (const [nh, h] of st.sent) if (!want.has(nh)) del.push(h);
    this.send(st, add, del);
  }

  private syncSome(st: ClientState, nextHops: readonly string[]): void {
    const add: HalfLink[] = [];
    const del: HalfLink[] = [];
    for (const nh of nextHops) {
      const h = this.core.nextHopEligibleFor(st.cfg.id, nh) ? this.halfLink(st, nh) : null;
      const old = st.sent.get(nh);
      if (h !== null && old === undefined) add.push(h);
      else if (h === null && old !== undefined) del.push(old);
    }
    this.send(st, add, del);
  }

  private send(st: ClientState, add: HalfLink[], del: HalfLink[]): void {
    const ch = st.channel!;
    const id = st.cfg.id;
    for (const h of del) {
      st.sent.delete(h.nextHop);
      this.nhib.setRequested(id, h.nextHop, false);
    }
    for (const h of add) {
      st.sent.set(h.nextHop, h);
      this.nhib.setRequested(id, h.nextHop, true);
    }
    const out: Uint8Array[] = [];
    if (add.length > 0 || del.length > 0) {
      // No Link Name: NLRI share an UPDATE only when their attributes are equal,
      // and a name per owner would cost one UPDATE per request (bgpls/README.md).
      const withdraw: LsNlri[] = del.map((h) => requestItem(h).nlri);
      for (const m of encodeLsUpdates(ch.codec, {
        nextHop: ch.localAddress,
        asPath: [this.opts.rsAs],
        announce: add.map((h) => requestItem(h)),
        withdraw,
      })) {
        out.push(m);
      }
      this.stats.requestsSent += add.length;
      this.stats.requestsWithdrawn += del.length;
    }
    if (!st.initialSent) {
      st.initialSent = true;
      out.push(encodeEndOfRib(AFI_BGPLS, SAFI_BGPLS, ch.codec));
    }
    if (out.length > 0) ch.send(out);
    if (add.length > 0 || del.length > 0) {
      this.opts.log.info(
        { client: id, added: add.length, withdrawn: del.length, requested: st.sent.size },
        'RS-BFD requests',
      );
    }
  }

  // ---------------------------------------------------------------- NHIB events

  private invalid(clientId: string, reason: string, n: LsNlri): void {
    this.stats.invalidReports++;
    this.opts.log.warn(
      { client: clientId, reason, nlriKind: n.kind },
      'BGP-LS NLRI is not an RS-BFD report, ignored',
    );
  }

  private apply(events: readonly NhibEvent[], arrivedAt: number | null = null): void {
    for (const e of events) {
      if (e.kind === 'change') {
        if (e.effectiveChanged)
          this.core.setNextHopReachability(e.client, e.nextHop, e.unreachable);
        this.opts.log.info(
          {
            client: e.client,
            nextHop: e.nextHop,
            owner: e.owner,
            old: e.old,
            new: e.new,
            damped: e.damped,
            unreachable: e.unreachable,
            cause: e.cause,
          },
          e.message,
        );
      } else {
        this.opts.log.warn({ client: e.client, nextHop: e.nextHop, reason: e.reason }, e.message);
      }
    }
    if (events.length > 0) this.opts.onChanges?.(events, arrivedAt);
    this.armDamping();
  }

  private armDamping(): void {
    const at = this.nhib.nextDeadline();
    if (at === null) {
      if (this.dampTimer !== null) this.opts.timers.clearTimeout(this.dampTimer);
      this.dampTimer = null;
      this.dampAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.dampTimer !== null && at >= this.dampAt) return;
    if (this.dampTimer !== null) this.opts.timers.clearTimeout(this.dampTimer);
    this.dampAt = at;
    this.dampTimer = this.opts.timers.setTimeout(
      () => {
        this.dampTimer = null;
        this.dampAt = Number.POSITIVE_INFINITY;
        this.apply(this.nhib.tick(this.opts.timers.now()));
      },
      Math.max(0, at - this.opts.timers.now()),
    );
  }
}
