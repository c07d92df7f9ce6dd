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
import { canonicalAddress } from '../bgp/prefix.ts';
import type { CodecOptions, NextHop, Nlri, PathAttributes, UpdateMessage } from '../bgp/types.ts';
import { familyKey } from '../bgp/types.ts';
import { AdjOut, Decision } from './decision.ts';
import {
  type AttrUse,
  type Client,
  type EntryId,
  type Group,
  type OutRef,
  type PathId,
  type Session,
  type Sink,
  sessionKey,
} from './model.ts';
import type { WireEncoder } from './packer.ts';
import { OutBatch } from './packer.ts';
import type { ClientConfig, MaxPrefixAction, Policy, RejectCode } from './policy-api.ts';
import { type NextHopUsageEvent, Reachability } from './reach.ts';
import {
  AttrInternTable,
  acquireUse,
  Ranking,
  releaseUse,
  type Tables,
  UseIds,
  unlink,
} from './rib.ts';
import {
  ACCEPTED,
  DOOMED,
  EntryStore,
  IdQueue,
  NextHopTable,
  NONE,
  PathStore,
  STALE,
} from './store.ts';
import { codecEncoder } from './wire.ts';

export type { Sink } from './model.ts';
export { sessionKey } from './model.ts';
export type { WireEncoder } from './packer.ts';
export type { NextHopUsageEvent } from './reach.ts';

/** A client's BGP session as the core's callers hold it (from sessionHandle); opaque. */
export interface SessionHandle {
  /** `id@address`: names the session in logs and views. */
  readonly key: string;
  readonly address: string;
}

/** A session: its handle, its key (`id@address`), or a client id when the client has one session. */
export type SessionRef = SessionHandle | string;

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
  /**
   * Next-hop usage events (the RS-BFD request sets): an address started or
   * stopped being used by some accepted path, or its announcers or attribute
   * sets changed. Coalesced per slice (called once at the end of a slice).
   */
  onNextHopUsage?: (events: NextHopUsageEvent[]) => void;
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
  /**
   * Input flow control: once this many NLRI are queued and not yet applied,
   * receiveUpdate returns false and the session layer should stop reading its
   * sockets until onInputDrain (called when the queue is down to half). Keeps
   * a burst of full tables from being decoded into memory all at once.
   * Default 1024, about one full 4096-octet UPDATE (docs/benchmarks.md: decoded
   * NLRI queued longer reach V8's old space; 1024 against 4096: 30 -> 19 MiB
   * promoted, peak RSS 150-157 -> 135-146 MiB at 100x5000, no slower).
   */
  inputHighWater?: number;
  onInputDrain?: () => void;
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
  /** NLRI of the message not yet applied (counted in RouteServer.backlog). */
  left: number;
  /** Next-hop records of nh4 and of MP_REACH, one reference held by the item (NONE: not yet). */
  nh4Id: number;
  mpNhId: number;
  attrs: PathAttributes | null;
}

interface Change {
  group: Group;
  out: OutRef | null;
  pathId: number;
  delta: number;
  members: Session[];
}

/**
 * Removal of a session's paths in slices. `detached`: the list was taken from
 * the session (session down; its paths are DOOMED, found by no lookup);
 * otherwise it walks the session's live list, filtered by family and STALE.
 */
interface Cleanup {
  s: Session;
  /** Next path to look at. */
  cur: PathId;
  detached: boolean;
  /** Family slot, -1 for all. */
  famSlot: number;
  onlyStale: boolean;
}

interface FamInfo {
  slot: number;
  afi: number;
  safi: number;
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

export class RouteServer {
  /** The prefix table (ranked paths and compact Adj-RIB-Out per entry). */
  readonly entries = new EntryStore();
  readonly decision: Decision;
  private readonly reach: Reachability;
  private readonly paths = new PathStore();
  private readonly nhs = new NextHopTable();
  private readonly uses: (AttrUse | null)[] = [];
  private readonly useIds: UseIds;
  private readonly bySlot: Session[] = [];
  private readonly ranking: Ranking;
  private readonly adjOut: AdjOut;
  private readonly famInfos: FamInfo[] = [];
  private readonly policy: Policy;
  private readonly encoder: WireEncoder;
  private readonly interner = new AttrInternTable();
  private readonly clients = new Map<string, Client>();
  private readonly sessionsByKey = new Map<string, Session>();
  private readonly groups = new Map<string, Group>();
  /** this.groups' values, for loops run per prefix (no iterator object). */
  private groupList: Group[] = [];
  private readonly active = new Map<string, Session[]>();
  private readonly rsFamilies: Set<string>;
  private readonly scheduler: Scheduler | null;
  private readonly timers: Timers;
  private readonly sliceMs: number;
  private readonly batchSize: number;
  private readonly stalePathTime: number;
  private readonly keepRejected: boolean;
  private readonly onMaxPrefix: ((ev: MaxPrefixEvent) => void) | undefined;
  private readonly log: Log;

  /** Queued UPDATEs from inHead on; slots before it are null (done: no decoded message stays reachable). */
  private inbound: (Inbound | null)[] = [];
  private inHead = 0;
  /** NLRI queued in `inbound`, not yet applied. */
  private backlog = 0;
  private inputFull = false;
  private readonly inputHighWater: number;
  private readonly onInputDrain: (() => void) | undefined;
  /** Entries changed since last processed for every session. */
  private readonly dirty = new IdQueue(true);
  private readonly pumpQueue = new Set<Session>();
  private readonly cleanups: Cleanup[] = [];
  private scheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private nextSlot = 0;
  private nextGroupId = 1;
  private clientCap = 16;
  private stamp = 0;
  /** processEntryAll's scratch (see there). */
  private readonly px = {
    stamp: 0,
    fam: '',
    n: 0,
    specials: [] as Session[],
    /** Adds `s` to the specials once per entry, when it has the family up. */
    mark: (s: Session): void => {
      const px = this.px;
      if (s.mark === px.stamp) return;
      s.mark = px.stamp;
      if (s.up?.fam.has(px.fam)) px.specials[px.n++] = s;
    },
    ss: [] as Session[],
    st: [] as (OutRef | null)[],
    joined: [] as Session[],
    excl: [] as Session[],
    changes: new Map<string, Change>(),
  };
  private readonly clientList: Client[] = [];
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
    const t: Tables = {
      paths: this.paths,
      entries: this.entries,
      uses: this.uses,
      bySlot: this.bySlot,
      nhs: this.nhs,
    };
    this.useIds = new UseIds(this.uses);
    this.decision = new Decision(opts.policy, t);
    this.reach = new Reachability(
      t,
      this.decision,
      this.clientList,
      {
        detached: (slot, out) => {
          for (const cl of this.cleanups) if (cl.detached && cl.s.slot === slot) out.push(cl.cur);
        },
      },
      opts.onNextHopUsage,
    );
    this.ranking = new Ranking(t, { alwaysCompareMed: opts.alwaysCompareMed ?? false });
    this.adjOut = new AdjOut(t);
    this.rsFamilies = new Set(opts.families ?? ['1/1', '2/1']);
    for (const f of this.rsFamilies) this.famSlot(f);
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
    this.inputHighWater = opts.inputHighWater ?? 1024;
    this.onInputDrain = opts.onInputDrain;
    this.log = opts.log ?? pino({ level: 'warn', name: 'rs' });
  }

  private famSlot(fam: string): number {
    const f = this.entries.famSlot(fam);
    if (this.famInfos[f] === undefined) {
      this.famInfos[f] = { slot: f, afi: this.entries.famAfi[f]!, safi: this.entries.famSafi[f]! };
    }
    return f;
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
      nhDown: new Set(),
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
      if (this.nextSlot >= 0xffff) throw new Error('too many sessions (65535)');
      const s: Session = {
        key: sessionKey(cfg.id, address),
        client,
        address,
        bgpId: 0,
        slot: this.nextSlot++,
        mark: 0,
        adjHead: NONE,
        adjCount: 0,
        state: 'idle',
        since: this.timers.now(),
        epoch: 0,
        grTimer: null,
        up: null,
      };
      this.bySlot[s.slot] = s;
      client.sessions.set(address, s);
      this.sessionsByKey.set(s.key, s);
    }
  }

  /** The session named by a handle, `id@address` (sessionKey), or a client id when the client has one session. */
  private session(ref: SessionRef, address?: string): Session {
    if (typeof ref !== 'string') {
      const s = ref as Session;
      if (this.bySlot[s.slot] !== s)
        throw new Error(`not a session of this route server: ${s.key}`);
      return s;
    }
    const direct = this.sessionsByKey.get(ref);
    if (direct !== undefined) return direct;
    const c = this.clients.get(ref);
    if (c === undefined) throw new Error(`unknown client ${ref}`);
    if (address !== undefined) {
      const s = c.sessions.get(address);
      if (s === undefined) throw new Error(`client ${ref} has no address ${address}`);
      return s;
    }
    if (c.sessions.size !== 1) {
      throw new Error(`client ${ref} has ${c.sessions.size} sessions: name one (id@address)`);
    }
    return c.sessions.values().next().value!;
  }

  /** The handle of a client's session (its address as configured; the only one when omitted). */
  sessionHandle(clientId: string, address?: string): SessionHandle {
    return this.session(clientId, address);
  }

  sessionUp(clientId: SessionRef, info: SessionInfo, sink: Sink): void {
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
      this.groupList = [...this.groups.values()];
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
      dirty: new IdQueue(false),
      apOut: new Map(),
      grPending: new Set(),
      muted: false,
      disabled: new Set(),
      held: 0,
    };
    s.up = up;
    for (const fam of info.families) {
      if (!this.rsFamilies.has(fam)) continue;
      up.fam.set(fam, { kind: 'dump', cursor: -1, refresh: false });
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
        this.startCleanup(s, -1, true);
      } else {
        const P = this.paths;
        for (let p = s.adjHead; p !== NONE; p = P.sNext[p]!) {
          if ((P.flags[p]! & STALE) !== 0) up.grPending.add(this.entries.fam(P.entry[p]!));
        }
        const kept = info.gracefulRestartFamilies;
        if (kept !== undefined) {
          // A family without the F bit (or left out) loses its stale paths now.
          for (const fam of [...up.grPending]) {
            if (kept.has(fam)) continue;
            up.grPending.delete(fam);
            this.startCleanup(s, this.famSlot(fam), true);
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

  sessionDown(
    clientId: SessionRef,
    opts: { gracefulRestart?: { restartTime: number } } = {},
  ): void {
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
    const P = this.paths;
    if (gr !== undefined && gr.restartTime > 0 && s.adjCount > 0) {
      // RFC 4724 §4.2: keep the paths, marked stale, for the restart time.
      for (let p = s.adjHead; p !== NONE; p = P.sNext[p]!) P.flags[p]! |= STALE;
      s.state = 'stale';
      this.clearGrTimer(s);
      s.grTimer = this.timers.setTimeout(() => this.expireStale(s), gr.restartTime * 1000);
      return;
    }
    s.state = 'idle';
    this.clearGrTimer(s);
    if (s.adjCount > 0) {
      // The paths leave the Adj-RIB-In now (no lookup finds them) and the ranking in slices.
      for (let p = s.adjHead; p !== NONE; p = P.sNext[p]!) P.flags[p]! |= DOOMED;
      this.cleanups.push({ s, cur: s.adjHead, detached: true, famSlot: -1, onlyStale: false });
      s.adjHead = NONE;
      s.adjCount = 0;
      this.kick();
    }
  }

  /** Restart/stale-path timer expiry: drop the session's remaining stale paths. */
  expireStale(clientId: SessionRef): void {
    const s = this.session(clientId);
    s.grTimer = null;
    if (s.state === 'stale') s.state = 'idle';
    s.up?.grPending.clear();
    this.startCleanup(s, -1, true);
  }

  private clearGrTimer(s: Session): void {
    if (s.grTimer !== null) {
      this.timers.clearTimeout(s.grTimer);
      s.grTimer = null;
    }
  }

  private hasStale(s: Session): boolean {
    const P = this.paths;
    for (let p = s.adjHead; p !== NONE; p = P.sNext[p]!)
      if ((P.flags[p]! & STALE) !== 0) return true;
    return false;
  }

  private teardown(s: Session): void {
    const up = s.up;
    if (up === null) return;
    up.group.members.delete(s);
    if (up.group.members.size === 0) {
      this.groups.delete(up.group.key);
      this.groupList = [...this.groups.values()];
    }
    for (const fam of up.fam.keys()) {
      const list = this.active.get(fam);
      if (list !== undefined) {
        const i = list.indexOf(s);
        if (i >= 0) list.splice(i, 1);
      }
    }
    for (const e of up.apOut.keys()) {
      this.entries.addApRef(e, -1);
      this.entries.maybeDelete(e);
    }
    this.pumpQueue.delete(s);
    this.blockedSet.delete(s);
    this.dumping.delete(s);
    this.apSessions.delete(s);
    s.up = null;
    s.state = 'idle';
  }

  // ================================================================ input

  /**
   * Queues an UPDATE. Returns false when the input queue is above its
   * high-water mark: stop reading until onInputDrain (the UPDATE is queued
   * all the same).
   */
  receiveUpdate(clientId: SessionRef, msg: UpdateMessage): boolean {
    const s = this.session(clientId);
    if (s.up === null || this.closed) return !this.inputFull;
    const left =
      msg.withdrawn.length +
      msg.nlri.length +
      (msg.mpReach?.nlri.length ?? 0) +
      (msg.mpUnreach?.nlri.length ?? 0);
    this.backlog += left;
    this.inbound.push({
      s,
      epoch: s.epoch,
      msg,
      pos: 0,
      left,
      v4Withdraw: false,
      mpWithdraw: false,
      nh4: null,
      nh4Id: NONE,
      mpNhId: NONE,
      attrs: null,
    });
    this.kick();
    if (this.backlog >= this.inputHighWater) this.inputFull = true;
    return !this.inputFull;
  }

  /** NLRI received and not yet applied. */
  get inputBacklog(): number {
    return this.backlog;
  }

  /** Accounts for NLRI of `item` that are applied (or will never be). */
  private consumed(item: Inbound, n: number): void {
    item.left -= n;
    this.backlog -= n;
    if (this.inputFull && this.backlog <= this.inputHighWater >> 1) {
      this.inputFull = false;
      this.onInputDrain?.();
    }
  }

  routeRefresh(clientId: SessionRef, afi: number, safi: number): void {
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
    up.fam.set(fam, { kind: 'dump', cursor: -1, refresh: true });
    this.pumpQueue.add(s);
    this.kick();
  }

  // ================================================================ reachability (reach.ts)

  private client(clientId: string): Client {
    const c = this.clients.get(clientId);
    if (c === undefined) throw new Error(`unknown client ${clientId}`);
    return c;
  }

  private static address(text: string): string {
    const a = canonicalAddress(text);
    if (a === null) throw new Error(`not an address: ${text}`);
    return a;
  }

  /**
   * Client `clientId` (its id in clients.yml) can (not) reach next hop
   * `nextHop` (address text, canonicalised here): while unreachable, paths via
   * it are not eligible for that client (rs-bfd-profile §5). Queued and
   * applied at the next slice; a next hop no path uses yet is remembered.
   */
  setNextHopReachability(clientId: string, nextHop: string, unreachable: boolean): void {
    this.reach.set(this.client(clientId), RouteServer.address(nextHop), unreachable);
    this.kick();
  }

  /** Forgets every report of `clientId` (fail open: plain RFC 7947 for it again), at the next slice. */
  clearNextHopReachability(clientId: string): void {
    this.reach.clear(this.client(clientId));
    this.kick();
  }

  /** The next-hop addresses `clientId` reports unreachable (reports applied so far). */
  unreachableNextHops(clientId: string): string[] {
    return this.reach.unreachableFor(this.client(clientId));
  }

  /**
   * The next hops of every accepted path eligible for `clientId` by policy and
   * announcement control (whatever their reachability), its own addresses
   * excluded: what it should check (rs-bfd-profile §5.1).
   */
  nextHopsEligibleFor(clientId: string): string[] {
    return this.reach.eligibleNextHops(this.client(clientId));
  }

  /** Whether some accepted path via `nextHop` is eligible for `clientId` (as nextHopsEligibleFor). */
  nextHopEligibleFor(clientId: string, nextHop: string): boolean {
    const g = this.nhs.globalId(RouteServer.address(nextHop));
    const r = g < 0 ? null : this.nhs.globals[g]!;
    const c = this.client(clientId);
    return r !== null && !c.cfg.addresses.includes(r.addr) && this.reach.eligibleVia(r, c);
  }

  /** Paths of other clients via `nextHop` that `clientId` cannot use because it reported it unreachable. */
  hiddenPaths(clientId: string, nextHop: string): number {
    return this.reach.hidden(this.client(clientId), RouteServer.address(nextHop));
  }

  /** The clients announcing accepted paths via `nextHop`. */
  nextHopAnnouncers(nextHop: string): string[] {
    return this.reach.announcers(RouteServer.address(nextHop));
  }

  /** Reachability walks so far (one per next hop per slice in which its state changed for some client). */
  get reachWalks(): number {
    return this.reach.walkCount;
  }

  /** The item is done: its remaining NLRI leave the backlog, its next-hop references go. */
  private releaseItem(item: Inbound): void {
    if (item.left > 0) this.consumed(item, item.left);
    if (item.nh4Id !== NONE) this.nhs.release(item.nh4Id);
    if (item.mpNhId !== NONE) this.nhs.release(item.mpNhId);
    item.nh4Id = NONE;
    item.mpNhId = NONE;
  }

  /**
   * Applies (part of) one UPDATE: at most `budget` NLRI, resuming at item.pos.
   * Returns true when the message is done.
   */
  private processInbound(item: Inbound, budget: number): boolean {
    const { s, msg } = item;
    if (item.epoch !== s.epoch || s.up === null || s.up.muted) {
      this.releaseItem(item);
      return true;
    }
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
        this.releaseItem(item);
        return true;
      }
      if (
        emptyV4 &&
        msg.mpUnreach !== null &&
        msg.mpUnreach.nlri.length === 0 &&
        msg.mpUnreach.raw === undefined
      ) {
        this.endOfRib(s, familyKey(msg.mpUnreach.afi, msg.mpUnreach.safi));
        this.releaseItem(item);
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
    const slotU = l1 > l0 ? this.famSlot(famU) : -1;
    const slotR = l3 > l2 ? this.famSlot(famR) : -1;
    for (let i = item.pos; i < end; i++) {
      if (i < l0) this.withdraw(s, 0, msg.withdrawn[i]!);
      else if (i < l1) this.withdraw(s, slotU, unreach!.nlri[i - l0]!);
      else if (i < l2) {
        const n = msg.nlri[i - l1]!;
        if (item.v4Withdraw) this.withdraw(s, 0, n);
        else {
          if (item.nh4Id === NONE) item.nh4Id = this.nhs.acquire(item.nh4!);
          this.announce(s, 0, 1, n, attrs, item.nh4Id);
        }
      } else {
        const n = mp!.nlri[i - l2]!;
        if (item.mpWithdraw) this.withdraw(s, slotR, n);
        else {
          if (item.mpNhId === NONE) item.mpNhId = this.nhs.acquire(mp!.nextHop);
          this.announce(s, slotR, mp!.afi, n, attrs, item.mpNhId);
        }
      }
    }
    if (end > item.pos) this.consumed(item, end - item.pos);
    item.pos = end;
    if (end >= l3) {
      this.releaseItem(item);
      return true;
    }
    return false;
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
      this.startCleanup(s, this.famSlot(fam), false);
    }
  }

  private endOfRib(s: Session, fam: string): void {
    const up = s.up;
    if (up === null || !up.grPending.has(fam)) return;
    up.grPending.delete(fam);
    // RFC 4724 §4.2: End-of-RIB received, stale paths of that family not refreshed go.
    this.startCleanup(s, this.famSlot(fam), true);
    if (up.grPending.size === 0) this.clearGrTimer(s);
  }

  /** The path of session `s` for (family, prefix, received path id) in Adj-RIB-In, or NONE. */
  private findPath(s: Session, e: EntryId, rxId: number): PathId {
    const P = this.paths;
    const slot = s.slot;
    for (let p = this.entries.head[e]!; p !== NONE; p = P.next[p]!) {
      if (P.sess[p] === slot && P.rxId(p) === rxId && (P.flags[p]! & DOOMED) === 0) return p;
    }
    for (let p = this.entries.rej(e); p !== NONE; p = P.next[p]!) {
      if (P.sess[p] === slot && P.rxId(p) === rxId && (P.flags[p]! & DOOMED) === 0) return p;
    }
    return NONE;
  }

  private withdraw(s: Session, famSlot: number, n: Nlri): void {
    s.client.stats.withdrawnReceived++;
    const e = this.entries.get(famSlot, n.prefix);
    if (e === NONE) return;
    const old = this.findPath(s, e, n.pathId ?? 0);
    if (old !== NONE) this.dropPath(old);
  }

  private announce(
    s: Session,
    famSlot: number,
    afi: number,
    n: Nlri,
    attrs: PathAttributes,
    nhId: number,
  ): void {
    const up = s.up;
    if (up === null || up.muted || up.disabled.has(this.entries.famNames[famSlot]!)) return;
    const P = this.paths;
    const c = s.client;
    const rxId = n.pathId ?? 0;
    let e = this.entries.get(famSlot, n.prefix);
    const old = e === NONE ? NONE : this.findPath(s, e, rxId);
    c.stats.received++;
    const nextHop = this.nhs.nextHop(nhId);
    const verdict = this.policy.importPath(c.cfg, afi, n.prefix, nextHop.global, attrs);
    if (
      old !== NONE &&
      ((P.flags[old]! & ACCEPTED) !== 0) === verdict.accepted &&
      this.uses[P.use[old]!]!.attrs === attrs &&
      P.nh[old] === nhId
    ) {
      // The same path again (e.g. refreshed after a graceful restart).
      if (verdict.accepted) c.stats.accepted++;
      else this.countReject(c, verdict.reasons);
      P.flags[old]! &= ~STALE;
      return;
    }
    if (!verdict.accepted && !this.keepRejected) {
      // reject_policy 'reject': counted, not kept.
      this.countReject(c, verdict.reasons);
      if (old !== NONE) this.dropPath(old);
      return;
    }
    if (verdict.accepted && (old === NONE || (P.flags[old]! & ACCEPTED) === 0)) {
      const mp = c.cfg.filtering.maxPrefix;
      const limit =
        mp === undefined ? undefined : afi === 1 ? mp.ipv4 : afi === 2 ? mp.ipv6 : undefined;
      if (mp !== undefined && limit !== undefined && (c.acceptedByAfi.get(afi) ?? 0) >= limit) {
        if (this.maxPrefix(s, afi, limit, mp.action)) {
          if (old !== NONE) this.dropPath(old);
          return;
        }
      }
    }
    const use = acquireUse(c, attrs, this.interner, this.clientCap, this.uses, this.useIds);
    this.nhs.addRef(nhId);
    let txId = 0;
    if (old !== NONE) {
      if ((P.flags[old]! & ACCEPTED) !== 0) txId = P.txId(old);
      this.dropPath(old);
    }
    if (e === NONE || !this.entries.live(e)) e = this.entries.getOrCreate(famSlot, n.prefix);
    const p = P.alloc();
    P.sess[p] = s.slot;
    P.use[p] = use.id;
    P.nh[p] = nhId;
    P.entry[p] = e;
    P.setRxId(p, rxId);
    // A path id for ADD-PATH send is given when a session first needs one
    // (Decision.desiredAll); a replaced path keeps its predecessor's.
    P.setTxId(p, txId);
    P.flags[p] = verdict.accepted ? ACCEPTED : 0;
    // Adj-RIB-In: the head of the session's list.
    P.sPrev[p] = NONE;
    P.sNext[p] = s.adjHead;
    if (s.adjHead !== NONE) P.sPrev[s.adjHead] = p;
    s.adjHead = p;
    s.adjCount++;
    if (verdict.accepted) {
      c.stats.accepted++;
      c.acceptedByAfi.set(afi, (c.acceptedByAfi.get(afi) ?? 0) + 1);
      this.ranking.insert(e, p);
      this.reach.added(nhId, s.slot, use.id);
      this.dirty.add(e);
    } else {
      this.countReject(c, verdict.reasons);
      if (verdict.reasons.length > 0) P.reasons.set(p, verdict.reasons);
      const rej = this.entries.rejHeads();
      P.next[p] = rej[e]!;
      rej[e] = p;
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

  /** Takes a path out of the Adj-RIB-In, the ranking and the indexes, and frees it. */
  private dropPath(p: PathId): void {
    const P = this.paths;
    const E = this.entries;
    const s = this.bySlot[P.sess[p]!]!;
    const c = s.client;
    const e = P.entry[p]!;
    const flags = P.flags[p]!;
    const nhId = P.nh[p]!;
    for (const cl of this.cleanups) if (cl.cur === p) cl.cur = P.sNext[p]!;
    this.reach.dropping(p);
    if ((flags & DOOMED) === 0) {
      const prev = P.sPrev[p]!;
      const next = P.sNext[p]!;
      if (prev === NONE) s.adjHead = next;
      else P.sNext[prev] = next;
      if (next !== NONE) P.sPrev[next] = prev;
      s.adjCount--;
    }
    if ((flags & ACCEPTED) !== 0) {
      const afi = E.famAfi[E.famOf(e)]!;
      c.acceptedByAfi.set(afi, (c.acceptedByAfi.get(afi) ?? 1) - 1);
      this.reach.removed(nhId, s.slot, P.use[p]!);
      this.ranking.remove(e, p);
      this.dirty.add(e);
    } else {
      unlink(E.rejHeads(), e, P.next, p);
      E.maybeDelete(e);
    }
    releaseUse(c, this.uses[P.use[p]!]!, this.interner, this.useIds);
    this.nhs.release(nhId);
    P.release(p);
  }

  private startCleanup(s: Session, famSlot: number, onlyStale: boolean): void {
    if (s.adjHead === NONE) return;
    this.cleanups.push({ s, cur: s.adjHead, detached: false, famSlot, onlyStale });
    this.kick();
  }

  /** Runs one cleanup step; returns false when the cleanup is complete. */
  private stepCleanup(cl: Cleanup): boolean {
    const P = this.paths;
    for (let i = 0; i < this.batchSize; i++) {
      const p = cl.cur;
      if (p === NONE) return false;
      cl.cur = P.sNext[p]!;
      if (!cl.detached) {
        if (cl.onlyStale && (P.flags[p]! & STALE) === 0) continue;
        if (cl.famSlot >= 0 && this.entries.famOf(P.entry[p]!) !== cl.famSlot) continue;
      }
      this.dropPath(p);
    }
    return cl.cur !== NONE;
  }

  // ================================================================ output

  private visited(s: Session, e: EntryId): boolean {
    const st = s.up?.fam.get(this.entries.fam(e));
    if (st === undefined) return false;
    return st.kind === 'synced' || st.refresh || e <= st.cursor;
  }

  /**
   * Recomputes a changed prefix for every synced session, sharing the bytes
   * within groups. Only the exceptions are looked at one by one: sessions that
   * were sent something other than the shared answer, the winner's own client,
   * clients its export policy treats differently, clients with NHIB reports,
   * blocked, dumping and ADD-PATH sessions. Everyone else goes from the old
   * shared answer to the new one together.
   */
  private processEntryAll(e: EntryId, batch: OutBatch): void {
    const E = this.entries;
    const fi = this.famInfos[E.famOf(e)]!;
    const fam = E.famNames[fi.slot]!;
    const dec = this.decision;
    const w = E.head[e]!;
    const newDefault = w === NONE ? null : dec.outRef(w, 1);
    const oldDefault = E.outDefault(e);
    // The sessions to evaluate one by one ("specials"), gathered in scratch
    // arrays reused for every entry: this runs once per changed prefix, and
    // fresh arrays and closures here were half of all the garbage of a
    // full-table load (bench/lib/memprobe.js IXRS_BENCH_ALLOCPROF).
    const px = this.px;
    px.stamp = ++this.stamp;
    px.fam = fam;
    px.n = 0;
    this.adjOut.forEach(e, px.mark);
    if (w !== NONE) {
      dec.client(w).sessions.forEach(px.mark);
      for (const c of dec.exportExceptions(w, this.clientList)) c.sessions.forEach(px.mark);
      const g = this.nhs.globalOf(this.paths.nh[w]!);
      if (fi.afi === 1 && g.v6) {
        // RFC 8950: sessions without extended next hop cannot take this winner.
        for (const s of this.active.get(fam) ?? []) if (!s.up!.extendedNextHop.has(fam)) px.mark(s);
      }
      // Reachability (rs-bfd-profile §5): only clients that cannot reach the winner's next hop differ.
      const down = g.downList;
      for (let i = 0; i < down.length; i++) this.clientList[down[i]!]!.sessions.forEach(px.mark);
    }
    // forEach, and only when not empty: an iterator object per prefix otherwise.
    if (this.blockedSet.size > 0) this.blockedSet.forEach(px.mark);
    if (this.dumping.size > 0) this.dumping.forEach(px.mark);
    if (this.apSessions.size > 0) this.apSessions.forEach(px.mark);

    const specials = px.specials;
    const nSpecials = px.n;
    const ss = px.ss;
    const st = px.st;
    let nss = 0;
    let nJoined = 0;
    const regDelta = oldDefault === null ? 1 : newDefault === null ? -1 : 0;
    if (px.changes.size > 0) px.changes.clear(); // clear() allocates a new table
    for (let i = 0; i < nSpecials; i++) {
      const s = specials[i]!;
      const up = s.up!;
      if (!this.visited(s, e)) continue;
      if (up.addPathTx.has(fam)) {
        if (up.blocked) {
          up.dirty.add(e);
          continue;
        }
        this.apDiff(e, s, up.apOut.get(e), dec.desiredAll(e, s), false, (tx, o, d) =>
          this.addChange(s, o, tx, d),
        );
        continue;
      }
      const old = this.adjOut.sentTo(e, s);
      if (up.blocked) {
        ss[nss] = s;
        st[nss++] = old;
        up.dirty.add(e);
        continue;
      }
      const d = dec.desired(e, s);
      ss[nss] = s;
      st[nss++] = d;
      if (d === old) continue;
      const delta = old === null ? 1 : d === null ? -1 : 0;
      if (d === newDefault && oldDefault !== newDefault) {
        // Same bytes as everyone else gets: share their UPDATE, fix the held count here.
        px.joined[nJoined++] = s;
        up.held += delta - regDelta;
        continue;
      }
      this.addChange(s, d, 0, delta);
    }
    E.setOutDefault(e, newDefault);
    this.adjOut.clear(e);
    for (let i = 0; i < nss; i++) if (st[i] !== newDefault) this.adjOut.set(e, ss[i]!, st[i]!);
    st.fill(null, 0, nss);
    const prefix = E.prefix(e);
    const nlri0: Nlri = { prefix };
    for (const ch of px.changes.values()) {
      let mk = '';
      for (const m of ch.members) mk += `${m.slot},`;
      const nlri = ch.pathId === 0 ? nlri0 : { prefix, pathId: ch.pathId };
      batch.add(ch.group, mk, ch.members, fi, ch.out, nlri, ch.delta);
    }
    if (oldDefault !== newDefault && this.active.get(fam)?.length) {
      // Everyone else: old shared answer -> new shared answer.
      const joined = px.joined;
      const excl = px.excl;
      let nExcl = 0;
      for (let i = 0; i < nSpecials; i++) {
        const s = specials[i]!;
        let j = 0;
        while (j < nJoined && joined[j] !== s) j++;
        if (j === nJoined) excl[nExcl++] = s;
      }
      for (const g of this.groupList)
        batch.addAllBut(g, excl, nExcl, fam, fi, newDefault, nlri0, regDelta);
    }
  }

  private addChange(s: Session, o: OutRef | null, tx: number, delta: number): void {
    const changes = this.px.changes;
    const k = `${s.up!.group.id}|${o === null ? 0 : o.id}|${tx}|${delta}`;
    const ch = changes.get(k);
    if (ch === undefined)
      changes.set(k, { group: s.up!.group, out: o, pathId: tx, delta, members: [s] });
    else ch.members.push(s);
  }

  /** ADD-PATH (RFC 7911): diff the paths sent for `e` to `s` against the eligible ones. */
  private apDiff(
    e: EntryId,
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
      if (sent === undefined) this.entries.addApRef(e, 1);
      up.apOut.set(e, want);
    } else if (sent !== undefined) {
      up.apOut.delete(e);
      this.entries.addApRef(e, -1);
    }
  }

  /** Recomputes `e` for one session. mode 'dump': nothing sent before; 'refresh': re-send. */
  private processEntryOne(
    e: EntryId,
    s: Session,
    batch: OutBatch,
    mode: 'normal' | 'dump' | 'refresh',
  ): void {
    const up = s.up!;
    const one = [s];
    const mk = `${s.slot}`;
    const E = this.entries;
    const fi = this.famInfos[E.famOf(e)]!;
    if (up.addPathTx.has(E.famNames[fi.slot]!)) {
      const sent = mode === 'dump' ? undefined : up.apOut.get(e);
      if (mode === 'dump' && up.apOut.has(e)) {
        up.apOut.delete(e);
        E.addApRef(e, -1);
      }
      const want = this.decision.desiredAll(e, s);
      const prefix = E.prefix(e);
      this.apDiff(e, s, sent, want, mode === 'refresh', (tx, o, d) =>
        batch.add(up.group, mk, one, fi, o, { prefix, pathId: tx }, d),
      );
      return;
    }
    const old = mode === 'dump' ? null : this.adjOut.sentTo(e, s);
    const d = this.decision.desired(e, s);
    this.adjOut.set(e, s, d);
    if (d !== old || (mode === 'refresh' && d !== null)) {
      const delta = old === null ? (d === null ? 0 : 1) : d === null ? -1 : 0;
      batch.add(up.group, mk, one, fi, d, { prefix: E.prefix(e) }, delta);
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
    const done: EntryId[] = [];
    for (let e = this.dirty.shift(); e !== NONE; e = this.dirty.shift()) {
      if (!this.entries.live(e)) continue;
      this.processEntryAll(e, batch);
      done.push(e);
      if (done.length >= this.batchSize) break;
      if ((done.length & 511) === 0 && performance.now() >= deadline) break;
    }
    this.flushBatch(batch);
    for (const e of done) this.entries.maybeDelete(e);
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
    const E = this.entries;
    const batch = new OutBatch();
    const done: EntryId[] = [];
    let n = 0;
    for (let e = up.dirty.shift(); e !== NONE; e = up.dirty.shift()) {
      if (!E.live(e) || !this.visited(s, e)) continue;
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
        const slot = E.famSlotIfKnown(fam);
        while (n < this.batchSize) {
          // The next entry of the family in id order.
          const limit = E.limit;
          let e = st.cursor + 1;
          while (e < limit && (!E.live(e) || E.famOf(e) !== slot)) e++;
          if (e >= limit) {
            up.fam.set(fam, { kind: 'synced' });
            after.push({ fam, refresh: st.refresh });
            break;
          }
          n += (e - st.cursor) >> 6; // skipped ids count a little
          st.cursor = e;
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
    for (const e of done) E.maybeDelete(e);
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
      this.reach.hasWork() ||
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
    // Reachability reports: applied once per slice (runSlice), or all at once here by flush().
    if (deadline === Number.POSITIVE_INFINITY && this.reach.hasOps) {
      this.reach.apply(deadline);
      did = true;
    }
    if (this.inHead < this.inbound.length) {
      // Take in up to ~2048 NLRI before producing output: changes to the same
      // prefixes coalesce and output packs better.
      let budget = 2048;
      while (budget > 0 && this.inHead < this.inbound.length) {
        const item = this.inbound[this.inHead]!;
        const before = item.pos;
        if (this.processInbound(item, budget)) this.inbound[this.inHead++] = null;
        budget -= Math.max(1, item.pos - before);
        if (performance.now() >= deadline) break;
      }
      if (this.inHead === this.inbound.length) {
        this.inbound = [];
        this.inHead = 0;
      } else if (this.inHead > 1024) {
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
    if (this.reach.hasWork()) {
      this.reach.step(this.batchSize, deadline, this.pumpQueue);
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
    this.reach.apply(end);
    while (this.step(end)) {
      now = performance.now();
      if (now >= end) break;
    }
    this.reach.flushEvents();
    if (now - start > this.maxSliceMs) this.maxSliceMs = now - start;
  }

  /** Runs all pending work now, synchronously (tests, shutdown). */
  flush(): void {
    while (this.step()) {}
    this.reach.flushEvents();
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
    this.backlog = 0;
    this.inputFull = false;
    this.dirty.clear();
    this.pumpQueue.clear();
    this.cleanups.length = 0;
    this.wakeIdle();
  }

  // ================================================================ operator queries

  routes(prefix: string, clientId?: string): RouteView[] {
    const asked = clientId === undefined ? undefined : this.viewSession(clientId);
    const out: RouteView[] = [];
    const E = this.entries;
    const P = this.paths;
    for (let f = 0; f < E.famNames.length; f++) {
      const e = E.get(f, prefix);
      if (e === NONE) continue;
      const best = asked !== undefined ? this.decision.bestPath(e, asked) : NONE;
      let rank = 0;
      for (let p = E.head[e]!; p !== NONE; p = P.next[p]!) {
        const v = this.view(p, ++rank);
        if (asked !== undefined) {
          v.best = p === best;
          v.eligible = this.decision.eligible(p, asked) !== 0;
        }
        out.push(v);
      }
      for (let p = E.rej(e); p !== NONE; p = P.next[p]!) {
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

  /** The session a view asks about: as session(), or a client's first established session (else its first). */
  private viewSession(ref: string): Session {
    const c = this.clients.get(ref);
    if (c === undefined || c.sessions.size === 1) return this.session(ref);
    let first: Session | undefined;
    for (const s of c.sessions.values()) {
      if (s.up !== null) return s;
      first ??= s;
    }
    return first!;
  }

  private view(p: PathId, rank: number | null): RouteView {
    const P = this.paths;
    const s = this.bySlot[P.sess[p]!]!;
    const flags = P.flags[p]!;
    return {
      from: s.client.cfg.id,
      session: s.key,
      pathId: P.rxId(p),
      rank,
      accepted: (flags & ACCEPTED) !== 0,
      reasons: P.reasons.get(p) ?? NO_REASONS,
      stale: (flags & STALE) !== 0,
      nextHop: this.nhs.nextHop(P.nh[p]!),
      attrs: this.uses[P.use[p]!]!.attrs,
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
        adjIn: s.adjCount,
      });
    }
    return out;
  }

  /** Internal counters for tests and `show` (interned attribute sets, table size). */
  stats(): { prefixes: number; attrSets: number; exportCalls: number; encodes: number } {
    return {
      prefixes: this.entries.size,
      attrSets: this.interner.size,
      exportCalls: this.decision.exportCalls,
      encodes: this.encodes,
    };
  }
}
