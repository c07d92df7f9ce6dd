// The route-server core of `ixrs run` (RFC 7947), pure of sockets: sessions
// hand it UPDATEs and sinks; it keeps the Adj-RIBs-In and the ranked prefix
// table (rib.ts), decides per client (decision.ts) and writes packed UPDATEs
// (packer.ts), built once per group of sessions with identical output.
//
// All work runs in slices on an injectable scheduler: receiveUpdate only
// queues; a slice processes input, changed prefixes and per-session work
// (dumps, refreshes, back-pressure leftovers) for a few milliseconds and yields.

import { performance } from 'node:perf_hooks';
import pino from 'pino';
import type { CodecOptions, NextHop, Nlri, PathAttributes, UpdateMessage } from '../bgp/types.ts';
import { familyKey } from '../bgp/types.ts';
import type { NextHopOracle } from '../nhib/oracle.ts';
import { alwaysReachable } from '../nhib/oracle.ts';
import { clearSent, Decision, forEachException, sentTo, setSent } from './decision.ts';
import type { Client, Group, OutRef, Path, PrefixEntry, Session, Sink } from './model.ts';
import type { WireEncoder } from './packer.ts';
import { OutBatch } from './packer.ts';
import type { ClientConfig, MaxPrefixAction, Policy, RejectCode } from './policy-api.ts';
import {
  AttrInternTable,
  acquireUse,
  insertPath,
  PrefixTable,
  type RankOptions,
  releaseUse,
  removePath,
} from './rib.ts';
import { codecEncoder } from './wire.ts';

export type { Sink } from './model.ts';
export type { WireEncoder } from './packer.ts';

export interface Scheduler {
  /** Runs `fn` soon, after pending I/O (default: setImmediate). */
  schedule(fn: () => void): void;
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface MaxPrefixEvent {
  clientId: string;
  session: string;
  afi: number;
  limit: number;
  action: MaxPrefixAction;
}

export interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface RouteServerOptions {
  policy: Policy;
  /** Default: the real codec (src/bgp/codec.ts). */
  encoder?: WireEncoder;
  oracle?: NextHopOracle;
  /** Compare MED across neighbour ASes (default false, RFC 4271 §9.1.2.2 (c)). */
  alwaysCompareMed?: boolean;
  /** 'manual': nothing runs until flush() (tests). Default: setImmediate. */
  scheduler?: Scheduler | 'manual';
  /** Length of a work slice in ms (default 5). */
  sliceMs?: number;
  /** Prefixes handled per output batch (default 1024; a batch is packed into as few UPDATEs as fit). */
  batch?: number;
  timers?: Timers;
  /** RFC 4724 §4.2 stale-path time after re-establishment, seconds (default 360). */
  stalePathTime?: number;
  /**
   * Keep rejected paths in Adj-RIB-In for the looking glass (reject_policy
   * 'tag', the default). False (reject_policy 'reject') only counts them.
   */
  keepRejected?: boolean;
  /** Families the route server carries (default IPv4 and IPv6 unicast). */
  families?: string[];
  /** Max-prefix 'shutdown'/'restart': the session layer sends Cease subcode 1 (RFC 4486) and closes. */
  onMaxPrefix?: (ev: MaxPrefixEvent) => void;
  log?: Log;
}

export interface SessionInfo {
  codec: CodecOptions;
  /** Negotiated families, `${afi}/${safi}`. */
  families: Set<string>;
  /** Families with ADD-PATH send negotiated toward this client. */
  addPathTx: Set<string>;
  /** Sessions with the same key get byte-identical output (same codec options). */
  groupKey: string;
  /** The client's BGP Identifier (decision tie-break), default 0. */
  bgpId?: number;
  /** Which of the client's addresses this session uses (default: the first). */
  address?: string;
  /** RFC 7313 negotiated. */
  enhancedRouteRefresh?: boolean;
  /** RFC 8950: families whose NLRI may be sent with an IPv6 next hop (e.g. '1/1'). Default none. */
  extendedNextHop?: Set<string>;
  /** The client announced Graceful Restart in this session (default true). False drops stale paths at once. */
  gracefulRestart?: boolean;
  /**
   * RFC 4724 §4.2: families listed in the client's new Graceful Restart
   * capability with the Forwarding State bit set. When given, stale paths of
   * any other family are removed at once; the rest wait for End-of-RIB.
   */
  gracefulRestartFamilies?: Set<string>;
}

export interface RouteView {
  from: string;
  session: string;
  pathId: number;
  /** 1-based position in the ranking, null for rejected paths. */
  rank: number | null;
  accepted: boolean;
  reasons: RejectCode[];
  stale: boolean;
  nextHop: NextHop;
  attrs: PathAttributes;
  /** Whether it is the asked client's best path, when a client was given. */
  best?: boolean;
  /** Whether it may be sent to the asked client (export policy, NHIB, not its own). */
  eligible?: boolean;
}

export interface ClientSummary {
  id: string;
  received: number;
  accepted: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  blocked: number;
  withdrawnReceived: number;
  treatAsWithdraw: number;
  acceptedByAfi: Record<string, number>;
  sentUpdates: number;
  sentNlri: number;
}

export interface SessionSnapshot {
  client: string;
  session: string;
  address: string;
  state: 'idle' | 'up' | 'stale';
  since: number;
  families: string[];
  group: string | null;
  blocked: boolean;
  dumping: string[];
  held: number;
  adjIn: number;
}

interface Inbound {
  s: Session;
  epoch: number;
  msg: UpdateMessage;
  /** NLRI already applied (a big UPDATE is applied over several steps). */
  pos: number;
  v4Withdraw: boolean;
  mpWithdraw: boolean;
  nh4: NextHop | null;
  attrs: PathAttributes | null;
}

interface Change {
  group: Group;
  out: OutRef | null;
  pathId: number;
  delta: number;
  members: Session[];
}

interface Cleanup {
  s: Session;
  map: Map<string, Path>;
  iter: Iterator<[string, Path]>;
  fam: string | null;
  onlyStale: boolean;
}

const defaultTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

const NO_REASONS: RejectCode[] = [];

function pathKey(prefix: string, pathId: number): string {
  return pathId === 0 ? prefix : `${prefix}#${pathId}`;
}

export class RouteServer {
  readonly table = new PrefixTable();
  readonly decision: Decision;
  private readonly policy: Policy;
  private readonly encoder: WireEncoder;
  private readonly rank: RankOptions;
  private readonly interner = new AttrInternTable();
  private readonly clients = new Map<string, Client>();
  private readonly sessionsByKey = new Map<string, Session>();
  private readonly groups = new Map<string, Group>();
  private readonly active = new Map<string, Session[]>();
  private readonly nhIndex = new Map<string, Set<Path>>();
  private readonly rsFamilies: Set<string>;
  private readonly scheduler: Scheduler | null;
  private readonly timers: Timers;
  private readonly sliceMs: number;
  private readonly batchSize: number;
  private readonly stalePathTime: number;
  private readonly keepRejected: boolean;
  private readonly onMaxPrefix: ((ev: MaxPrefixEvent) => void) | undefined;
  private readonly log: Log;

  private inbound: Inbound[] = [];
  private inHead = 0;
  private readonly dirty = new Set<PrefixEntry>();
  private readonly pumpQueue = new Set<Session>();
  private readonly cleanups: Cleanup[] = [];
  private scheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private nextSlot = 0;
  private readonly freeSlots: number[] = [];
  private nextGroupId = 1;
  private clientCap = 16;
  private stamp = 0;
  private readonly clientList: Client[] = [];
  private readonly nhibClients: Client[] = [];
  /** Sessions whose sink reported back-pressure. */
  private readonly blockedSet = new Set<Session>();
  /** Sessions in their initial dump (some entries are not theirs yet). */
  private readonly dumping = new Set<Session>();
  /** Sessions with ADD-PATH send for some family. */
  private readonly apSessions = new Set<Session>();

  /** encodeUpdates calls so far (one per bucket: group x attribute set x member set). */
  encodes = 0;
  /** Number of slices run (scheduler turns). */
  slices = 0;
  /** Longest slice so far, ms (the event loop was busy with route work that long). */
  maxSliceMs = 0;

  constructor(opts: RouteServerOptions) {
    this.policy = opts.policy;
    this.encoder = opts.encoder ?? codecEncoder;
    this.decision = new Decision(opts.policy, opts.oracle ?? alwaysReachable);
    this.rank = { alwaysCompareMed: opts.alwaysCompareMed ?? false };
    this.rsFamilies = new Set(opts.families ?? ['1/1', '2/1']);
    this.scheduler =
      opts.scheduler === 'manual'
        ? null
        : (opts.scheduler ?? { schedule: (fn: () => void) => void setImmediate(fn) });
    this.timers = opts.timers ?? defaultTimers;
    this.sliceMs = opts.sliceMs ?? 5;
    this.batchSize = opts.batch ?? 1024;
    this.stalePathTime = opts.stalePathTime ?? 360;
    this.keepRejected = opts.keepRejected ?? true;
    this.onMaxPrefix = opts.onMaxPrefix;
    this.log = opts.log ?? pino({ level: 'warn', name: 'rs' });
  }

  // ================================================================ clients and sessions

  addClient(cfg: ClientConfig): void {
    if (this.clients.has(cfg.id)) throw new Error(`client ${cfg.id} already added`);
    const idx = this.clients.size;
    if (idx >= this.clientCap) this.clientCap *= 2;
    const client: Client = {
      cfg,
      idx,
      uses: new Map(),
      acceptedByAfi: new Map(),
      maxPrefixHit: new Set(),
      nhibActive: false,
      sessions: new Map(),
      stats: {
        received: 0,
        accepted: 0,
        rejected: 0,
        rejectedByReason: new Map(),
        blocked: 0,
        withdrawnReceived: 0,
        treatAsWithdraw: 0,
        sentUpdates: 0,
        sentNlri: 0,
      },
    };
    this.clients.set(cfg.id, client);
    this.clientList.push(client);
    const addrs = cfg.addresses.length > 0 ? cfg.addresses : [''];
    for (const address of addrs) {
      const s: Session = {
        key: `${cfg.id}@${address}`,
        client,
        address,
        bgpId: 0,
        slot: this.freeSlots.pop() ?? this.nextSlot++,
        mark: 0,
        adjIn: new Map(),
        state: 'idle',
        since: this.timers.now(),
        epoch: 0,
        grTimer: null,
        up: null,
      };
      client.sessions.set(address, s);
      this.sessionsByKey.set(s.key, s);
    }
  }

  /** `clientId` is the client's id (first address) or `id@address`. */
  private session(clientId: string, address?: string): Session {
    const direct = this.sessionsByKey.get(clientId);
    if (direct !== undefined) return direct;
    const c = this.clients.get(clientId);
    if (c === undefined) throw new Error(`unknown client ${clientId}`);
    if (address !== undefined) {
      const s = c.sessions.get(address);
      if (s === undefined) throw new Error(`client ${clientId} has no address ${address}`);
      return s;
    }
    return c.sessions.values().next().value!;
  }

  sessionUp(clientId: string, info: SessionInfo, sink: Sink): void {
    const s = this.session(clientId, info.address);
    if (s.up !== null) this.sessionDown(s.key); // never told it went down: a plain loss
    s.epoch++;
    s.bgpId = info.bgpId ?? 0;
    s.state = 'up';
    s.since = this.timers.now();
    let g = this.groups.get(info.groupKey);
    if (g === undefined) {
      g = { id: this.nextGroupId++, key: info.groupKey, codec: info.codec, members: new Set() };
      this.groups.set(info.groupKey, g);
    }
    g.members.add(s);
    const up: Session['up'] = {
      codec: info.codec,
      families: info.families,
      addPathTx: info.addPathTx,
      extendedNextHop: info.extendedNextHop ?? new Set(),
      enhancedRefresh: info.enhancedRouteRefresh ?? false,
      group: g,
      sink,
      blocked: false,
      fam: new Map(),
      dirty: new Set(),
      apOut: new Map(),
      grPending: new Set(),
      muted: false,
      disabled: new Set(),
      held: 0,
    };
    s.up = up;
    for (const fam of info.families) {
      if (!this.rsFamilies.has(fam)) continue;
      up.fam.set(fam, {
        kind: 'dump',
        cursor: 0,
        refresh: false,
        iter: this.table.family(fam).values(),
      });
      const list = this.active.get(fam);
      if (list === undefined) this.active.set(fam, [s]);
      else list.push(s);
    }
    if (up.fam.size > 0) this.dumping.add(s);
    if (info.addPathTx.size > 0) this.apSessions.add(s);
    sink.onDrain(() => {
      if (s.up !== up || !up.blocked) return;
      up.blocked = false;
      this.blockedSet.delete(s);
      this.pumpQueue.add(s);
      this.kick();
    });
    // RFC 4724 §4.2: stale paths stay until End-of-RIB or the stale-path timer.
    if (this.hasStale(s)) {
      if (info.gracefulRestart === false) {
        this.clearGrTimer(s);
        this.startCleanup(s, s.adjIn, null, true);
      } else {
        for (const p of s.adjIn.values()) if (p.stale) up.grPending.add(p.fam);
        const kept = info.gracefulRestartFamilies;
        if (kept !== undefined) {
          // A family without the F bit (or left out) loses its stale paths now.
          for (const fam of [...up.grPending]) {
            if (kept.has(fam)) continue;
            up.grPending.delete(fam);
            this.startCleanup(s, s.adjIn, fam, true);
          }
        }
        this.clearGrTimer(s);
        if (up.grPending.size > 0) {
          s.grTimer = this.timers.setTimeout(() => this.expireStale(s), this.stalePathTime * 1000);
        }
      }
    }
    this.pumpQueue.add(s);
    this.kick();
  }

  sessionDown(clientId: string, opts: { gracefulRestart?: { restartTime: number } } = {}): void {
    const s = this.session(clientId);
    const gr = opts.gracefulRestart;
    if (gr !== undefined && s.up !== null) {
      // UPDATEs received before the loss are part of what the helper keeps (RFC 4724 §4.2).
      for (let i = this.inHead; i < this.inbound.length; i++) {
        const item = this.inbound[i]!;
        if (item.s !== s || item.epoch !== s.epoch) continue;
        while (!this.processInbound(item, Number.POSITIVE_INFINITY)) {}
        item.epoch = -1;
      }
    }
    this.teardown(s);
    s.epoch++;
    s.since = this.timers.now();
    if (gr !== undefined && gr.restartTime > 0 && s.adjIn.size > 0) {
      // RFC 4724 §4.2: keep the paths, marked stale, for the restart time.
      for (const p of s.adjIn.values()) p.stale = true;
      s.state = 'stale';
      this.clearGrTimer(s);
      s.grTimer = this.timers.setTimeout(() => this.expireStale(s), gr.restartTime * 1000);
      return;
    }
    s.state = 'idle';
    this.clearGrTimer(s);
    if (s.adjIn.size > 0) {
      const old = s.adjIn;
      s.adjIn = new Map();
      this.startCleanup(s, old, null, false);
    }
  }

  /** Restart/stale-path timer expiry: drop the session's remaining stale paths. */
  expireStale(clientId: string | Session): void {
    const s = typeof clientId === 'string' ? this.session(clientId) : clientId;
    s.grTimer = null;
    if (s.state === 'stale') s.state = 'idle';
    s.up?.grPending.clear();
    this.startCleanup(s, s.adjIn, null, true);
  }

  private clearGrTimer(s: Session): void {
    if (s.grTimer !== null) {
      this.timers.clearTimeout(s.grTimer);
      s.grTimer = null;
    }
  }

  private hasStale(s: Session): boolean {
    for (const p of s.adjIn.values()) if (p.stale) return true;
    return false;
  }

  private teardown(s: Session): void {
    const up = s.up;
    if (up === null) return;
    up.group.members.delete(s);
    if (up.group.members.size === 0) this.groups.delete(up.group.key);
    for (const fam of up.fam.keys()) {
      const list = this.active.get(fam);
      if (list !== undefined) {
        const i = list.indexOf(s);
        if (i >= 0) list.splice(i, 1);
      }
    }
    for (const e of up.apOut.keys()) {
      e.apRefs--;
      this.table.maybeDelete(e);
    }
    this.pumpQueue.delete(s);
    this.blockedSet.delete(s);
    this.dumping.delete(s);
    this.apSessions.delete(s);
    s.up = null;
    s.state = 'idle';
  }

  // ================================================================ input

  receiveUpdate(clientId: string, msg: UpdateMessage): void {
    const s = this.session(clientId);
    if (s.up === null || this.closed) return;
    this.inbound.push({
      s,
      epoch: s.epoch,
      msg,
      pos: 0,
      v4Withdraw: false,
      mpWithdraw: false,
      nh4: null,
      attrs: null,
    });
    this.kick();
  }

  routeRefresh(clientId: string, afi: number, safi: number): void {
    const s = this.session(clientId);
    const up = s.up;
    if (up === null) return;
    const fam = familyKey(afi, safi);
    const st = up.fam.get(fam);
    if (st === undefined) return;
    if (st.kind === 'dump' && !st.refresh) return; // the initial dump is still running
    if (up.enhancedRefresh) {
      // RFC 7313 §4: BoRR, the Adj-RIB-Out, then EoRR.
      this.writeRaw(s, this.encoder.encodeRouteRefresh(afi, safi, 1, up.codec));
    }
    up.fam.set(fam, {
      kind: 'dump',
      cursor: 0,
      refresh: true,
      iter: this.table.family(fam).values(),
    });
    this.pumpQueue.add(s);
    this.kick();
  }

  /** The NHIB of `clientId` changed for `nextHop`: recompute only that client's view of the paths via it. */
  nextHopChanged(clientId: string, nextHop: string): void {
    const c = this.clients.get(clientId) ?? this.session(clientId).client;
    if (!c.nhibActive) {
      c.nhibActive = true;
      this.nhibClients.push(c);
    }
    const paths = this.nhIndex.get(nextHop);
    if (paths === undefined) return;
    for (const s of c.sessions.values()) {
      const up = s.up;
      if (up === null) continue;
      for (const p of paths) if (p.entry !== null && up.fam.has(p.fam)) up.dirty.add(p.entry);
      if (up.dirty.size > 0) this.pumpQueue.add(s);
    }
    this.kick();
  }

  /**
   * Applies (part of) one UPDATE: at most `budget` NLRI, resuming at item.pos.
   * Returns true when the message is done.
   */
  private processInbound(item: Inbound, budget: number): boolean {
    const { s, msg } = item;
    if (item.epoch !== s.epoch || s.up === null || s.up.muted) return true;
    const c = s.client;
    if (item.pos === 0) {
      const withdrawAll = msg.errors.some(
        (e) => e.action === 'treat-as-withdraw' || e.action === 'afi-safi-disable',
      );
      if (msg.errors.some((e) => e.action === 'afi-safi-disable')) this.disableFamilies(s, msg);
      if (withdrawAll) {
        c.stats.treatAsWithdraw++;
        this.log.warn(
          { peer: s.key, reasons: msg.errors.map((e) => e.reason) },
          'RFC 7606 treat-as-withdraw',
        );
      }
      // End-of-RIB (RFC 4724 §2): an empty UPDATE (IPv4) or an empty MP_UNREACH.
      const emptyV4 =
        msg.attrs === null &&
        msg.nlri.length === 0 &&
        msg.withdrawn.length === 0 &&
        msg.mpReach === null;
      if (emptyV4 && msg.mpUnreach === null) {
        this.endOfRib(s, '1/1');
        return true;
      }
      if (
        emptyV4 &&
        msg.mpUnreach !== null &&
        msg.mpUnreach.nlri.length === 0 &&
        msg.mpUnreach.raw === undefined
      ) {
        this.endOfRib(s, familyKey(msg.mpUnreach.afi, msg.mpUnreach.safi));
        return true;
      }
      const nh = msg.attrs?.nextHop;
      // Never pass a malformed route on (RFC 7606 §2): withdraw instead of announcing.
      item.v4Withdraw = withdrawAll || msg.attrs === null || nh === undefined;
      item.mpWithdraw = withdrawAll || msg.attrs === null;
      item.nh4 = nh === undefined ? null : { global: nh };
      // One shared object per distinct attribute set from here on.
      if (msg.attrs !== null) item.attrs = this.interner.canonical(msg.attrs);
    }
    const unreach = msg.mpUnreach;
    const famU = unreach === null ? '' : familyKey(unreach.afi, unreach.safi);
    const mp = msg.mpReach;
    const famR = mp === null ? '' : familyKey(mp.afi, mp.safi);
    const l0 = msg.withdrawn.length;
    const l1 = l0 + (unreach !== null && this.rsFamilies.has(famU) ? unreach.nlri.length : 0);
    const l2 = l1 + msg.nlri.length;
    const l3 = l2 + (mp !== null && this.rsFamilies.has(famR) ? mp.nlri.length : 0);
    const end = Math.min(l3, item.pos + budget);
    const attrs = item.attrs!;
    for (let i = item.pos; i < end; i++) {
      if (i < l0) this.withdraw(s, '1/1', msg.withdrawn[i]!);
      else if (i < l1) this.withdraw(s, famU, unreach!.nlri[i - l0]!);
      else if (i < l2) {
        const n = msg.nlri[i - l1]!;
        if (item.v4Withdraw) this.withdraw(s, '1/1', n);
        else this.announce(s, 1, 1, n, attrs, item.nh4!);
      } else {
        const n = mp!.nlri[i - l2]!;
        if (item.mpWithdraw) this.withdraw(s, famR, n);
        else this.announce(s, mp!.afi, mp!.safi, n, attrs, mp!.nextHop);
      }
    }
    item.pos = end;
    return end >= l3;
  }

  /**
   * RFC 7606 §2 "AFI/SAFI disable": the families the faulty UPDATE carries are
   * disabled for the session — their paths withdrawn, further input ignored.
   */
  private disableFamilies(s: Session, msg: UpdateMessage): void {
    const up = s.up!;
    const fams = new Set<string>();
    if (msg.mpReach !== null) fams.add(familyKey(msg.mpReach.afi, msg.mpReach.safi));
    if (msg.mpUnreach !== null) fams.add(familyKey(msg.mpUnreach.afi, msg.mpUnreach.safi));
    if (msg.nlri.length > 0 || msg.withdrawn.length > 0) fams.add('1/1');
    for (const fam of fams) {
      if (up.disabled.has(fam)) continue;
      up.disabled.add(fam);
      this.log.warn({ peer: s.key, family: fam }, 'RFC 7606 AFI/SAFI disable: paths withdrawn');
      this.startCleanup(s, s.adjIn, fam, false);
    }
  }

  private endOfRib(s: Session, fam: string): void {
    const up = s.up;
    if (up === null || !up.grPending.has(fam)) return;
    up.grPending.delete(fam);
    // RFC 4724 §4.2: End-of-RIB received, stale paths of that family not refreshed go.
    this.startCleanup(s, s.adjIn, fam, true);
    if (up.grPending.size === 0) this.clearGrTimer(s);
  }

  private withdraw(s: Session, fam: string, n: Nlri): void {
    s.client.stats.withdrawnReceived++;
    const key = pathKey(n.prefix, n.pathId ?? 0);
    const old = s.adjIn.get(key);
    if (old === undefined || old.fam !== fam) return;
    s.adjIn.delete(key);
    this.dropPath(old);
  }

  private announce(
    s: Session,
    afi: number,
    safi: number,
    n: Nlri,
    attrs: PathAttributes,
    nextHop: NextHop,
  ): void {
    const fam = familyKey(afi, safi);
    if (s.up === null || s.up.muted || s.up.disabled.has(fam)) return;
    const c = s.client;
    const rxId = n.pathId ?? 0;
    const key = pathKey(n.prefix, rxId);
    const old = s.adjIn.get(key);
    c.stats.received++;
    const verdict = this.policy.importPath(c.cfg, afi, n.prefix, nextHop.global, attrs);
    if (
      old !== undefined &&
      old.fam === fam &&
      old.accepted === verdict.accepted &&
      old.use.attrs === attrs &&
      old.nextHop.global === nextHop.global &&
      old.nextHop.linkLocal === nextHop.linkLocal
    ) {
      // The same path again (e.g. refreshed after a graceful restart).
      if (verdict.accepted) c.stats.accepted++;
      else this.countReject(c, verdict.reasons);
      old.stale = false;
      return;
    }
    if (!verdict.accepted && !this.keepRejected) {
      // reject_policy 'reject': counted, not kept.
      this.countReject(c, verdict.reasons);
      if (old !== undefined) {
        s.adjIn.delete(key);
        this.dropPath(old);
      }
      return;
    }
    if (verdict.accepted && (old === undefined || !old.accepted)) {
      const mp = c.cfg.filtering.maxPrefix;
      const limit =
        mp === undefined ? undefined : afi === 1 ? mp.ipv4 : afi === 2 ? mp.ipv6 : undefined;
      if (mp !== undefined && limit !== undefined && (c.acceptedByAfi.get(afi) ?? 0) >= limit) {
        if (this.maxPrefix(s, afi, limit, mp.action)) {
          if (old !== undefined) {
            s.adjIn.delete(key);
            this.dropPath(old);
          }
          return;
        }
      }
    }
    const use = acquireUse(c, attrs, this.interner, this.clientCap);
    let txId = 0;
    if (old !== undefined) {
      if (old.accepted && old.entry !== null) txId = old.txId;
      this.dropPath(old);
    }
    const e = this.table.getOrCreate(fam, afi, safi, n.prefix);
    // One prefix string per prefix: the entry's, in the path and the Adj-RIB-In key.
    const p: Path = {
      session: s,
      prefix: e.prefix,
      fam,
      afi,
      rxId,
      txId,
      use,
      nextHop,
      accepted: verdict.accepted,
      reasons: verdict.accepted ? NO_REASONS : verdict.reasons,
      stale: false,
      entry: null,
    };
    s.adjIn.set(rxId === 0 ? e.prefix : key, p);
    if (verdict.accepted) {
      c.stats.accepted++;
      c.acceptedByAfi.set(afi, (c.acceptedByAfi.get(afi) ?? 0) + 1);
      if (p.txId === 0) p.txId = e.nextTxId++;
      insertPath(e, p, this.rank);
      let set = this.nhIndex.get(nextHop.global);
      if (set === undefined) this.nhIndex.set(nextHop.global, (set = new Set()));
      set.add(p);
      this.dirty.add(e);
    } else {
      this.countReject(c, verdict.reasons);
      p.entry = e;
      (e.rejected ??= []).push(p);
    }
  }

  private countReject(c: Client, reasons: RejectCode[]): void {
    c.stats.rejected++;
    const r = reasons[0] ?? 0;
    c.stats.rejectedByReason.set(r, (c.stats.rejectedByReason.get(r) ?? 0) + 1);
  }

  /** Returns true when the new prefix must be dropped. */
  private maxPrefix(s: Session, afi: number, limit: number, action: MaxPrefixAction): boolean {
    const c = s.client;
    const first = !c.maxPrefixHit.has(afi);
    c.maxPrefixHit.add(afi);
    if (action === 'warning') {
      if (first) this.log.warn({ peer: s.key, afi, limit }, 'max-prefix reached (warning only)');
      return false;
    }
    if (action === 'block') {
      c.stats.blocked++;
      if (first)
        this.log.warn({ peer: s.key, afi, limit }, 'max-prefix reached: new prefixes blocked');
      return true;
    }
    // shutdown / restart: RFC 4486 Cease subcode 1 by the session layer; stop taking input.
    if (s.up !== null) s.up.muted = true;
    this.log.warn({ peer: s.key, afi, limit, action }, 'max-prefix reached: closing session');
    this.onMaxPrefix?.({ clientId: c.cfg.id, session: s.key, afi, limit, action });
    return true;
  }

  /** Takes a path out of the ranking and the indexes (the caller removed it from adjIn). */
  private dropPath(p: Path): void {
    const c = p.session.client;
    const e = p.entry;
    if (p.accepted) {
      c.acceptedByAfi.set(p.afi, (c.acceptedByAfi.get(p.afi) ?? 1) - 1);
      const set = this.nhIndex.get(p.nextHop.global);
      if (set !== undefined) {
        set.delete(p);
        if (set.size === 0) this.nhIndex.delete(p.nextHop.global);
      }
      if (e !== null) {
        removePath(p, this.rank);
        this.dirty.add(e);
      }
    } else if (e !== null && e.rejected !== null) {
      const i = e.rejected.indexOf(p);
      if (i >= 0) e.rejected.splice(i, 1);
      if (e.rejected.length === 0) e.rejected = null;
      p.entry = null;
      this.table.maybeDelete(e);
    }
    releaseUse(c, p.use, this.interner);
  }

  private startCleanup(
    s: Session,
    map: Map<string, Path>,
    fam: string | null,
    onlyStale: boolean,
  ): void {
    this.cleanups.push({ s, map, iter: map.entries(), fam, onlyStale });
    this.kick();
  }

  /** Runs one cleanup step; returns false when the cleanup is complete. */
  private stepCleanup(cl: Cleanup): boolean {
    for (let i = 0; i < this.batchSize; i++) {
      const r = cl.iter.next();
      if (r.done === true) return false;
      const [key, p] = r.value;
      if (cl.onlyStale && !p.stale) continue;
      if (cl.fam !== null && p.fam !== cl.fam) continue;
      cl.map.delete(key);
      this.dropPath(p);
    }
    return true;
  }

  // ================================================================ output

  private visited(s: Session, e: PrefixEntry): boolean {
    const st = s.up?.fam.get(e.fam);
    if (st === undefined) return false;
    return st.kind === 'synced' || st.refresh || e.seq <= st.cursor;
  }

  /**
   * Recomputes a changed prefix for every synced session, sharing the bytes
   * within groups. Only the exceptions are looked at one by one: sessions that
   * were sent something other than the shared answer, the winner's own client,
   * clients its export policy treats differently, clients with NHIB reports,
   * blocked, dumping and ADD-PATH sessions. Everyone else goes from the old
   * shared answer to the new one together.
   */
  private processEntryAll(e: PrefixEntry, batch: OutBatch): void {
    const fam = e.fam;
    const dec = this.decision;
    const w = e.paths.length > 0 ? e.paths[0]! : null;
    const newDefault = w === null ? null : dec.outRef(w, 1);
    const oldDefault = e.outDefault;
    const stamp = ++this.stamp;
    const specials: Session[] = [];
    const mark = (s: Session): void => {
      if (s.mark === stamp) return;
      s.mark = stamp;
      if (s.up?.fam.has(fam)) specials.push(s);
    };
    forEachException(e, mark);
    if (w !== null) {
      for (const s of w.session.client.sessions.values()) mark(s);
      for (const c of dec.exportExceptions(w, this.clientList))
        for (const s of c.sessions.values()) mark(s);
    }
    if (w !== null && w.afi === 1 && w.nextHop.global.includes(':')) {
      // RFC 8950: sessions without extended next hop cannot take this winner.
      for (const s of this.active.get(fam) ?? []) if (!s.up!.extendedNextHop.has(fam)) mark(s);
    }
    if (w !== null) {
      // NHIB (rs-bfd-profile §5): only clients that cannot reach the winner's next hop differ.
      const nh = w.nextHop.global;
      for (const c of this.nhibClients) {
        if (dec.oracle.isUnreachable(c.cfg.id, nh)) for (const s of c.sessions.values()) mark(s);
      }
    }
    for (const s of this.blockedSet) mark(s);
    for (const s of this.dumping) mark(s);
    for (const s of this.apSessions) mark(s);

    const ss: Session[] = [];
    const st: (OutRef | null)[] = [];
    const joined: Session[] = [];
    const regDelta = oldDefault === null ? 1 : newDefault === null ? -1 : 0;
    let changes: Map<string, Change> | null = null;
    const change = (s: Session, o: OutRef | null, tx: number, delta: number): void => {
      changes ??= new Map();
      const k = `${s.up!.group.id}|${o === null ? 0 : o.id}|${tx}|${delta}`;
      const ch = changes.get(k);
      if (ch === undefined)
        changes.set(k, { group: s.up!.group, out: o, pathId: tx, delta, members: [s] });
      else ch.members.push(s);
    };
    for (const s of specials) {
      const up = s.up!;
      if (!this.visited(s, e)) continue;
      if (up.addPathTx.has(fam)) {
        if (up.blocked) {
          up.dirty.add(e);
          continue;
        }
        this.apDiff(e, s, up.apOut.get(e), dec.desiredAll(e, s), false, (tx, o, d) =>
          change(s, o, tx, d),
        );
        continue;
      }
      const old = sentTo(e, s);
      if (up.blocked) {
        ss.push(s);
        st.push(old);
        up.dirty.add(e);
        continue;
      }
      const d = dec.desired(e, s);
      ss.push(s);
      st.push(d);
      if (d === old) continue;
      const delta = old === null ? 1 : d === null ? -1 : 0;
      if (d === newDefault && oldDefault !== newDefault) {
        // Same bytes as everyone else gets: share their UPDATE, fix the held count here.
        joined.push(s);
        up.held += delta - regDelta;
        continue;
      }
      change(s, d, 0, delta);
    }
    e.outDefault = newDefault;
    clearSent(e);
    for (let i = 0; i < ss.length; i++) if (st[i] !== newDefault) setSent(e, ss[i]!, st[i]!);
    const nlri0: Nlri = { prefix: e.prefix };
    if (changes !== null) {
      for (const ch of (changes as Map<string, Change>).values()) {
        let mk = '';
        for (const m of ch.members) mk += `${m.slot},`;
        const nlri = ch.pathId === 0 ? nlri0 : { prefix: e.prefix, pathId: ch.pathId };
        batch.add(ch.group, mk, ch.members, e, ch.out, nlri, ch.delta);
      }
    }
    if (oldDefault !== newDefault && this.active.get(fam)?.length) {
      // Everyone else: old shared answer -> new shared answer.
      const excl = joined.length === 0 ? specials : specials.filter((s) => !joined.includes(s));
      let xk = 'R';
      for (const s of excl) xk += `${s.slot},`;
      for (const g of this.groups.values()) {
        batch.add(
          g,
          xk,
          () => {
            const out: Session[] = [];
            for (const s of g.members) if (s.up!.fam.has(fam) && !excl.includes(s)) out.push(s);
            return out;
          },
          e,
          newDefault,
          nlri0,
          regDelta,
        );
      }
    }
  }

  /** ADD-PATH (RFC 7911): diff the paths sent for `e` to `s` against the eligible ones. */
  private apDiff(
    e: PrefixEntry,
    s: Session,
    sent: Map<number, OutRef> | undefined,
    want: Map<number, OutRef>,
    resend: boolean,
    add: (tx: number, o: OutRef | null, delta: number) => void,
  ): void {
    const up = s.up!;
    for (const [tx, o] of want) {
      const prev = sent?.get(tx);
      if (prev !== o || resend) add(tx, o, prev === undefined ? 1 : 0);
    }
    if (sent !== undefined) {
      for (const tx of sent.keys()) if (!want.has(tx)) add(tx, null, -1);
    }
    if (want.size > 0) {
      if (sent === undefined) e.apRefs++;
      up.apOut.set(e, want);
    } else if (sent !== undefined) {
      up.apOut.delete(e);
      e.apRefs--;
    }
  }

  /** Recomputes `e` for one session. mode 'dump': nothing sent before; 'refresh': re-send. */
  private processEntryOne(
    e: PrefixEntry,
    s: Session,
    batch: OutBatch,
    mode: 'normal' | 'dump' | 'refresh',
  ): void {
    const up = s.up!;
    const one = [s];
    const mk = `${s.slot}`;
    if (up.addPathTx.has(e.fam)) {
      const sent = mode === 'dump' ? undefined : up.apOut.get(e);
      if (mode === 'dump' && up.apOut.has(e)) {
        up.apOut.delete(e);
        e.apRefs--;
      }
      const want = this.decision.desiredAll(e, s);
      this.apDiff(e, s, sent, want, mode === 'refresh', (tx, o, d) =>
        batch.add(up.group, mk, one, e, o, { prefix: e.prefix, pathId: tx }, d),
      );
      return;
    }
    const old = mode === 'dump' ? null : sentTo(e, s);
    const d = this.decision.desired(e, s);
    setSent(e, s, d);
    if (d !== old || (mode === 'refresh' && d !== null)) {
      const delta = old === null ? (d === null ? 0 : 1) : d === null ? -1 : 0;
      batch.add(up.group, mk, one, e, d, { prefix: e.prefix }, delta);
    }
  }

  private readonly writeOut = (
    s: Session,
    msgs: Uint8Array[],
    nlri: number,
    held: number,
  ): void => {
    const up = s.up;
    if (up === null) return;
    const st = s.client.stats;
    st.sentUpdates += msgs.length;
    st.sentNlri += nlri;
    up.held += held;
    for (const m of msgs) if (!up.sink.write(m)) this.block(s);
  };

  private readonly tooBig = (group: Group, out: OutRef, nlri: number): void => {
    this.log.warn(
      { group: group.key, nextHop: out.nextHop.global, nlri, attrBytes: out.attrs.wire.length },
      'path attributes do not fit in an UPDATE for this group: routes withdrawn (RFC 8654 §4)',
    );
  };

  private block(s: Session): void {
    if (s.up === null || s.up.blocked) return;
    s.up.blocked = true;
    this.blockedSet.add(s);
  }

  private writeRaw(s: Session, bytes: Uint8Array): void {
    const up = s.up;
    if (up === null) return;
    if (!up.sink.write(bytes)) this.block(s);
  }

  private flushBatch(batch: OutBatch): void {
    batch.flush(this.encoder, this.writeOut, this.tooBig);
    this.encodes += batch.encodes;
    batch.encodes = 0;
  }

  private processDirtyBatch(deadline: number): void {
    const batch = new OutBatch();
    const done: PrefixEntry[] = [];
    for (const e of this.dirty) {
      this.dirty.delete(e);
      this.processEntryAll(e, batch);
      done.push(e);
      if (done.length >= this.batchSize) break;
      if ((done.length & 511) === 0 && performance.now() >= deadline) break;
    }
    this.flushBatch(batch);
    for (const e of done) this.table.maybeDelete(e);
    for (const s of this.pumpQueueCandidates()) this.pumpQueue.add(s);
  }

  private *pumpQueueCandidates(): Iterable<Session> {
    for (const list of this.active.values()) {
      for (const s of list) if (s.up !== null && !s.up.blocked && s.up.dirty.size > 0) yield s;
    }
  }

  /** Per-session work: leftovers (back-pressure, NHIB), then dumps. Returns true if more remains. */
  private pumpSession(s: Session, deadline: number): boolean {
    const up = s.up;
    if (up === null || up.blocked) return false;
    const batch = new OutBatch();
    const done: PrefixEntry[] = [];
    let n = 0;
    for (const e of up.dirty) {
      up.dirty.delete(e);
      if (!this.visited(s, e)) continue;
      this.processEntryOne(e, s, batch, 'normal');
      done.push(e);
      if (++n >= this.batchSize) break;
      if ((n & 511) === 0 && performance.now() >= deadline) {
        n = this.batchSize;
        break;
      }
    }
    const after: { fam: string; refresh: boolean }[] = [];
    if (n < this.batchSize) {
      for (const [fam, st] of up.fam) {
        if (st.kind !== 'dump') continue;
        while (n < this.batchSize) {
          const r = st.iter.next();
          if (r.done === true) {
            up.fam.set(fam, { kind: 'synced' });
            after.push({ fam, refresh: st.refresh });
            break;
          }
          const e = r.value;
          st.cursor = e.seq;
          this.processEntryOne(e, s, batch, st.refresh ? 'refresh' : 'dump');
          done.push(e);
          if ((++n & 511) === 0 && performance.now() >= deadline) n = this.batchSize;
        }
        if (n >= this.batchSize) break;
      }
    }
    this.flushBatch(batch);
    for (const { fam, refresh } of after) {
      const [afi, safi] = fam.split('/').map(Number) as [number, number];
      if (!refresh) {
        // RFC 4724 §2: End-of-RIB after the initial update.
        this.writeRaw(s, this.encoder.encodeEndOfRib(afi, safi, up.codec));
      } else if (up.enhancedRefresh) {
        // RFC 7313 §4: EoRR ends the re-advertisement.
        this.writeRaw(s, this.encoder.encodeRouteRefresh(afi, safi, 2, up.codec));
      }
    }
    for (const e of done) this.table.maybeDelete(e);
    if (s.up !== up) return false;
    if (this.dumping.has(s)) {
      let initial = false;
      for (const st of up.fam.values()) if (st.kind === 'dump' && !st.refresh) initial = true;
      if (!initial) this.dumping.delete(s);
    }
    if (up.dirty.size > 0) return true;
    for (const st of up.fam.values()) if (st.kind === 'dump') return true;
    return false;
  }

  // ================================================================ scheduling

  private hasWork(): boolean {
    return (
      this.inHead < this.inbound.length ||
      this.dirty.size > 0 ||
      this.cleanups.length > 0 ||
      this.pumpQueue.size > 0
    );
  }

  private kick(): void {
    if (this.scheduled || this.scheduler === null || this.closed) return;
    this.scheduled = true;
    this.scheduler.schedule(() => {
      this.scheduled = false;
      if (this.closed) return;
      this.runSlice(this.sliceMs);
      if (this.hasWork()) this.kick();
      else this.wakeIdle();
    });
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /**
   * One unit of each kind of pending work, round robin; units stop early at
   * `deadline` (performance.now() time). Returns false when idle.
   */
  private step(deadline = Number.POSITIVE_INFINITY): boolean {
    let did = false;
    if (this.inHead < this.inbound.length) {
      // Take in up to ~2048 NLRI before producing output: changes to the same
      // prefixes coalesce and output packs better.
      let budget = 2048;
      while (budget > 0 && this.inHead < this.inbound.length) {
        const item = this.inbound[this.inHead]!;
        const before = item.pos;
        if (this.processInbound(item, budget)) this.inHead++;
        budget -= Math.max(1, item.pos - before);
        if (performance.now() >= deadline) break;
      }
      if (this.inHead === this.inbound.length) {
        this.inbound = [];
        this.inHead = 0;
      } else if (this.inHead > 4096) {
        this.inbound = this.inbound.slice(this.inHead);
        this.inHead = 0;
      }
      did = true;
    }
    if (this.cleanups.length > 0) {
      const cl = this.cleanups[0]!;
      if (!this.stepCleanup(cl)) this.cleanups.shift();
      did = true;
    }
    if (this.dirty.size > 0) {
      this.processDirtyBatch(deadline);
      did = true;
    }
    if (this.pumpQueue.size > 0) {
      const s = this.pumpQueue.values().next().value!;
      this.pumpQueue.delete(s);
      if (this.pumpSession(s, deadline)) this.pumpQueue.add(s);
      did = true;
    }
    return did;
  }

  private runSlice(ms: number): void {
    this.slices++;
    const start = performance.now();
    const end = start + ms;
    let now = start;
    while (this.step(end)) {
      now = performance.now();
      if (now >= end) break;
    }
    if (now - start > this.maxSliceMs) this.maxSliceMs = now - start;
  }

  /** Runs all pending work now, synchronously (tests, shutdown). */
  flush(): void {
    while (this.step()) {}
    this.wakeIdle();
  }

  /** Resolves when no work is pending (with the default scheduler). */
  idle(): Promise<void> {
    if (!this.hasWork()) return Promise.resolve();
    if (this.scheduler === null) {
      this.flush();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick();
    });
  }

  shutdown(): void {
    this.closed = true;
    for (const s of this.sessionsByKey.values()) {
      this.clearGrTimer(s);
      this.teardown(s);
    }
    this.inbound = [];
    this.inHead = 0;
    this.dirty.clear();
    this.pumpQueue.clear();
    this.cleanups.length = 0;
    this.wakeIdle();
  }

  // ================================================================ operator queries

  routes(prefix: string, clientId?: string): RouteView[] {
    const asked = clientId === undefined ? undefined : this.session(clientId);
    const out: RouteView[] = [];
    for (const t of this.table.families.values()) {
      const e = t.get(prefix);
      if (e === undefined) continue;
      const best = asked !== undefined ? this.decision.bestPath(e, asked) : null;
      e.paths.forEach((p, i) => {
        const v = this.view(p, i + 1);
        if (asked !== undefined) {
          v.best = p === best;
          v.eligible = this.decision.eligible(p, asked) !== 0;
        }
        out.push(v);
      });
      for (const p of e.rejected ?? []) {
        const v = this.view(p, null);
        if (asked !== undefined) {
          v.best = false;
          v.eligible = false;
        }
        out.push(v);
      }
    }
    return out;
  }

  private view(p: Path, rank: number | null): RouteView {
    return {
      from: p.session.client.cfg.id,
      session: p.session.key,
      pathId: p.rxId,
      rank,
      accepted: p.accepted,
      reasons: p.reasons,
      stale: p.stale,
      nextHop: p.nextHop,
      attrs: p.use.attrs,
    };
  }

  clientSummary(clientId: string): ClientSummary {
    const c = this.clients.get(clientId) ?? this.session(clientId).client;
    const st = c.stats;
    return {
      id: c.cfg.id,
      received: st.received,
      accepted: st.accepted,
      rejected: st.rejected,
      rejectedByReason: Object.fromEntries(
        [...st.rejectedByReason].map(([k, v]) => [String(k), v]),
      ),
      blocked: st.blocked,
      withdrawnReceived: st.withdrawnReceived,
      treatAsWithdraw: st.treatAsWithdraw,
      acceptedByAfi: Object.fromEntries([...c.acceptedByAfi].map(([k, v]) => [String(k), v])),
      sentUpdates: st.sentUpdates,
      sentNlri: st.sentNlri,
    };
  }

  /** Prefixes (paths, with ADD-PATH) the client's sessions currently hold from the RS. */
  ribCount(clientId: string): number {
    const c = this.clients.get(clientId);
    if (c === undefined) return this.session(clientId).up?.held ?? 0;
    let n = 0;
    for (const s of c.sessions.values()) n += s.up?.held ?? 0;
    return n;
  }

  sessions(): SessionSnapshot[] {
    const out: SessionSnapshot[] = [];
    for (const s of this.sessionsByKey.values()) {
      const up = s.up;
      out.push({
        client: s.client.cfg.id,
        session: s.key,
        address: s.address,
        state: s.state,
        since: s.since,
        families: up === null ? [] : [...up.families],
        group: up === null ? null : up.group.key,
        blocked: up?.blocked ?? false,
        dumping:
          up === null ? [] : [...up.fam].filter(([, st]) => st.kind === 'dump').map(([f]) => f),
        held: up?.held ?? 0,
        adjIn: s.adjIn.size,
      });
    }
    return out;
  }

  /** Internal counters for tests and `show` (interned attribute sets, table size). */
  stats(): { prefixes: number; attrSets: number; exportCalls: number; encodes: number } {
    return {
      prefixes: this.table.size,
      attrSets: this.interner.size,
      exportCalls: this.decision.exportCalls,
      encodes: this.encodes,
    };
  }
}
