// The next-hop information base (NHIB) of every client: per (client, next
// hop) the reported reachability (rs-bfd-profile §5.4), since when, the report
// that set it, a flap count and RFC 2439-style damping. Pure: no sockets, no
// timers; the clock is injected and damping releases are deadlines the driver
// arms (`nextDeadline()`, `tick(now)`).
//
// Wiring (the daemon):
//
//   const nhib = new Nhib({ hiddenPaths: (c, nh) => rs.hiddenPaths(c, nh) });
//   for (const c of config.clients)
//     nhib.addClient({ id: c.id, asn: c.asn, addresses: c.addresses, settings: c.rsBfd });
//   const apply = (events: NhibEvent[]) => {
//     for (const e of events) {
//       if (e.kind === 'change' && e.effectiveChanged)
//         rs.setNextHopReachability(e.client, e.nextHop, e.unreachable);
//       log[e.kind === 'change' ? 'info' : 'warn']({ ...e }, e.message);
//     }
//     timer.arm(nhib.nextDeadline());            // null: nothing to wait for
//   };
//   // BGP-LS session bound to client C established / closed:
//   apply(nhib.sessionUp(C));  apply(nhib.sessionDown(C));
//   // a decoded Link NLRI with its metric, or its withdrawal:
//   apply(nhib.report(C, report));  apply(nhib.withdrawReport(C, nextHop));
//   // the request set of C (profile §5.1) gained / lost N:
//   nhib.setRequested(C, N, true);
//   // the timer fired:
//   apply(nhib.tick(Date.now()));
//   // control socket: ctx.nhib = nhib (NhibQueries: nhibClient, nhibMatrix)
//
// Effective state of an entry: unreachable exactly when the client's
// reachability session is up and the next hop is reported unreachable or
// damped. Everything else (unknown, reachable, session down) lets the paths be
// used: fail open (profile §7). Losing the session returns every entry of the
// client to unknown and clears its damping at once.
//
// Safety (profile §7): a report whose local node ASN is not the client's, or
// whose local interface address is not one of the client's LAN addresses, is
// dropped and counted (`spoofed`); one for another LAN's BGP-LS Identifier too
// (`foreignInstance`). A report for a next hop not in the request set is kept
// and counted (`unrequested`), up to `maxUnrequested` entries per client.
//
// Storage: typed-array columns (table.ts), no object per entry.

import {
  addPenalty,
  type DampingParams,
  DEFAULT_DAMPING,
  encodePenalty,
  NO_PENALTY,
  penaltyAt,
  reuseTime,
} from './damping.ts';
import {
  EntryTable,
  F_EFFECTIVE,
  F_REQUESTED,
  F_SUPPRESSED,
  F_USED,
  ST_REACHABLE,
  ST_UNKNOWN,
  ST_UNREACHABLE,
  STATE_MASK,
  STATE_SHIFT,
} from './table.ts';
import {
  type ChangeCause,
  type DropReason,
  MATRIX_LEGEND,
  type NextHopState,
  type NhibChange,
  type NhibClientSpec,
  type NhibClientView,
  type NhibCounters,
  type NhibEntryRow,
  type NhibEvent,
  type NhibMatrixProblem,
  type NhibMatrixView,
  type NhibSettings,
  type NhibTally,
  type ReachabilityReport,
  type ReportNode,
  type ReportWithdraw,
  type SessionStatus,
} from './types.ts';

export { type DampingParams, DEFAULT_DAMPING } from './damping.ts';
export * from './types.ts';

export const DEFAULT_SETTINGS: Readonly<NhibSettings> = Object.freeze({
  enabled: true,
  instanceId: 0,
  damping: DEFAULT_DAMPING,
});

export interface NhibOptions {
  /** Clock, ms (Date.now by default): `since` in the views is shown as this time. */
  now?: () => number;
  /** How many of the client's paths use the next hop and are hidden by it (the core's count). */
  hiddenPaths?: (clientId: string, nextHop: string) => number;
  /** The prefixes of the first `limit` of those paths (the core's list). */
  hiddenPrefixes?: (clientId: string, nextHop: string, limit: number) => string[];
  /** Most entries per client kept for next hops that were not requested (default 4096). */
  maxUnrequested?: number;
}

const STATE_NAMES: readonly NextHopState[] = ['unknown', 'reachable', 'unreachable'];
const NONE: NhibEvent[] = [];
const OTHER = '(other)';

interface ClientRec {
  id: string;
  idx: number;
  asn: number;
  addresses: Set<string>;
  settings: NhibSettings;
  sessionUp: boolean;
  sessionSince: number | null;
  counters: NhibCounters;
  /** Live entries, and those not requested. */
  entries: number;
  unrequested: number;
  /** Last interned local part, to skip the key building for the common case. */
  lastLocal: { instanceId: number; routerId: string; localAddress: string; id: number } | null;
}

function newCounters(): NhibCounters {
  return {
    reports: 0,
    withdraws: 0,
    applied: 0,
    spoofed: 0,
    foreignInstance: 0,
    noSession: 0,
    disabled: 0,
    invalid: 0,
    overLimit: 0,
    unrequested: 0,
    flaps: 0,
    suppressions: 0,
    sessionLosses: 0,
  };
}

/** Reference-counted interning of small values by a string key; id 0 means none. */
class Interner<T> {
  private readonly ids = new Map<string, number>();
  private readonly keys: string[] = [''];
  readonly values: (T | undefined)[] = [undefined];
  private readonly refs: number[] = [0];
  private readonly free: number[] = [];

  acquire(key: string, make: () => T): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.free.pop() ?? this.values.length;
      this.ids.set(key, id);
      this.keys[id] = key;
      this.values[id] = make();
      this.refs[id] = 0;
    }
    this.refs[id]!++;
    return id;
  }

  /** One more reference to an existing id. */
  retain(id: number): void {
    if (id !== 0) this.refs[id]!++;
  }

  release(id: number): void {
    if (id === 0) return;
    if (--this.refs[id]! > 0) return;
    this.ids.delete(this.keys[id]!);
    this.values[id] = undefined;
    this.keys[id] = '';
    this.free.push(id);
  }

  get(id: number): T | undefined {
    return this.values[id];
  }

  /** Id of `key` without taking a reference, or undefined. */
  peek(key: string): number | undefined {
    return this.ids.get(key);
  }

  get size(): number {
    return this.ids.size;
  }
}

interface LocalPart {
  instanceId: number;
  local: ReportNode;
  localAddress: string;
}

function isV6(a: string): boolean {
  return a.includes(':');
}

/** Prefixes listed per unreachable next hop in a client's view (the rest are counted). */
export const HIDDEN_LISTED = 10;

function iso(t: number): string {
  return new Date(t).toISOString();
}

export class Nhib {
  private readonly now: () => number;
  private readonly hidden: (clientId: string, nextHop: string) => number;
  private readonly hiddenList: (clientId: string, nextHop: string, limit: number) => string[];
  private readonly maxUnrequested: number;
  /** Origin of the damping clock, so that the log-domain penalties stay small numbers. */
  private readonly epoch: number;
  private readonly t = new EntryTable();
  private readonly clients = new Map<string, ClientRec>();
  private readonly byIdx: (ClientRec | undefined)[] = [];
  private readonly freeIdx: number[] = [];
  private readonly owners = new Map<string, string>();
  private readonly nhIds = new Map<string, number>();
  private readonly nhText: string[] = [];
  private readonly nhRefs: number[] = [];
  private readonly nhFree: number[] = [];
  private readonly locals = new Interner<LocalPart>();
  private readonly remotes = new Interner<ReportNode>();
  /** Slots held by damping; the earliest release is cached until the set changes. */
  private readonly suppressed = new Set<number>();
  private deadline: number | null = null;
  private deadlineDirty = false;

  constructor(opts: NhibOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.hidden = opts.hiddenPaths ?? (() => 0);
    this.hiddenList = opts.hiddenPrefixes ?? (() => []);
    this.maxUnrequested = opts.maxUnrequested ?? 4096;
    this.epoch = this.now();
  }

  // ------------------------------------------------------------ clients

  /**
   * Configure a client (again): its ASN and LAN addresses (for the spoofing
   * check and next-hop owners) and its RS-BFD settings. Disabling a client
   * ends its session (fail open); turning its damping off releases what it held.
   */
  addClient(spec: NhibClientSpec): NhibEvent[] {
    const settings = spec.settings ?? DEFAULT_SETTINGS;
    let rec = this.clients.get(spec.id);
    const events: NhibEvent[] = [];
    if (rec === undefined) {
      const idx = this.freeIdx.pop() ?? this.byIdx.length;
      if (idx > 0xffff) throw new Error('nhib: more than 65536 clients');
      rec = {
        id: spec.id,
        idx,
        asn: spec.asn,
        addresses: new Set(),
        settings,
        sessionUp: false,
        sessionSince: null,
        counters: newCounters(),
        entries: 0,
        unrequested: 0,
        lastLocal: null,
      };
      this.clients.set(spec.id, rec);
      this.byIdx[idx] = rec;
    } else {
      for (const a of rec.addresses) if (this.owners.get(a) === rec.id) this.owners.delete(a);
      if (rec.sessionUp && !settings.enabled) events.push(...this.sessionDown(rec.id));
      const oldD = rec.settings.damping;
      const newD = settings.damping;
      if (oldD.halfLifeMs !== newD.halfLifeMs) this.reencode(rec, oldD, newD);
      rec.settings = settings;
      if (!newD.enabled) this.releaseAll(rec, 'damping-disabled', events);
      this.deadlineDirty = true;
    }
    rec.asn = spec.asn;
    rec.addresses = new Set(spec.addresses);
    rec.lastLocal = null;
    for (const a of spec.addresses) this.owners.set(a, spec.id);
    return events;
  }

  /** Forget a client: its entries go (fail open: events for those that were unreachable). */
  removeClient(id: string): NhibEvent[] {
    const rec = this.rec(id);
    const events: NhibEvent[] = [];
    this.forEachOf(rec, (slot) => {
      const f = this.t.flags[slot]!;
      const st = (f & STATE_MASK) >> STATE_SHIFT;
      if (st !== ST_UNKNOWN || (f & F_SUPPRESSED) !== 0) {
        this.t.flags[slot] = (f & ~(STATE_MASK | F_SUPPRESSED | F_EFFECTIVE)) | F_USED;
        this.suppressed.delete(slot);
        events.push(this.change(rec, slot, st, (f & F_SUPPRESSED) !== 0, f, 'client-removed'));
      }
      this.freeSlot(rec, slot);
    });
    for (const a of rec.addresses) if (this.owners.get(a) === id) this.owners.delete(a);
    this.clients.delete(id);
    this.byIdx[rec.idx] = undefined;
    this.freeIdx.push(rec.idx);
    this.deadlineDirty = true;
    return events;
  }

  /**
   * The client's reachability (BGP-LS) session is up. Ignored when RS-BFD is
   * disabled for the client (the speaker should refuse BGP-LS then: `isEnabled`).
   */
  sessionUp(id: string): NhibEvent[] {
    const rec = this.rec(id);
    if (!rec.settings.enabled || rec.sessionUp) return NONE;
    rec.sessionUp = true;
    rec.sessionSince = this.now();
    // Every entry is unknown and undamped (sessionDown saw to it): nothing changes.
    return NONE;
  }

  /** The client's reachability session is gone: every entry back to unknown at once (fail open). */
  sessionDown(id: string): NhibEvent[] {
    const rec = this.rec(id);
    if (!rec.sessionUp) return NONE;
    rec.sessionUp = false;
    rec.sessionSince = this.now();
    rec.counters.sessionLosses++;
    const events: NhibEvent[] = [];
    const t = this.t;
    this.forEachOf(rec, (slot) => {
      const f = t.flags[slot]!;
      const st = (f & STATE_MASK) >> STATE_SHIFT;
      const damped = (f & F_SUPPRESSED) !== 0;
      t.penalty[slot] = NO_PENALTY;
      if (st !== ST_UNKNOWN || damped) {
        t.flags[slot] = f & ~(STATE_MASK | F_SUPPRESSED | F_EFFECTIVE);
        if (damped) this.suppressed.delete(slot);
        if (st !== ST_UNKNOWN) t.since[slot] = rec.sessionSince!;
        this.setReport(slot, 0, 0);
        events.push(this.change(rec, slot, st, damped, f, 'session-down'));
      }
      if ((f & F_REQUESTED) === 0) this.freeSlot(rec, slot);
    });
    this.deadlineDirty = true;
    return events;
  }

  // ------------------------------------------------------------ requests

  /** `nextHop` entered (true) or left (false) the client's request set (rs-bfd-profile §5.1). */
  setRequested(id: string, nextHop: string, requested: boolean): void {
    const rec = this.rec(id);
    const t = this.t;
    const nh = this.nhIds.get(nextHop);
    let slot = nh === undefined ? -1 : t.find(rec.idx, nh);
    if (requested) {
      if (slot < 0) {
        slot = this.newSlot(rec, nextHop);
        rec.unrequested--;
      } else if ((t.flags[slot]! & F_REQUESTED) === 0) {
        rec.unrequested--;
      }
      t.flags[slot]! |= F_REQUESTED;
      return;
    }
    if (slot < 0 || (t.flags[slot]! & F_REQUESTED) === 0) return;
    t.flags[slot]! &= ~F_REQUESTED;
    rec.unrequested++;
    this.freeIfIdle(rec, slot);
  }

  /** Is `nextHop` in the client's request set? */
  isRequested(id: string, nextHop: string): boolean {
    const slot = this.slotOf(this.rec(id), nextHop);
    return slot >= 0 && (this.t.flags[slot]! & F_REQUESTED) !== 0;
  }

  // ------------------------------------------------------------ reports

  /** A report (Link NLRI with IGP Metric) received from client `id` (rs-bfd-profile §5.3). */
  report(id: string, r: ReachabilityReport): NhibEvent[] {
    const rec = this.rec(id);
    const c = rec.counters;
    c.reports++;
    const drop = this.check(rec, r);
    if (drop !== null) return [this.dropped(rec, r.nextHop, drop, r)];
    const t = this.t;
    let slot = this.slotOf(rec, r.nextHop);
    let notice: NhibEvent | null = null;
    if (slot < 0) {
      if (rec.unrequested >= this.maxUnrequested) {
        c.overLimit++;
        return [this.dropped(rec, r.nextHop, 'limit', r)];
      }
      slot = this.newSlot(rec, r.nextHop);
    }
    if ((t.flags[slot]! & F_REQUESTED) === 0) {
      c.unrequested++;
      notice = {
        kind: 'unrequested',
        reason: 'unrequested',
        client: rec.id,
        nextHop: r.nextHop,
        message: `${rec.id}: report for ${r.nextHop}, which was not requested: kept`,
      };
    }
    this.setReport(
      slot,
      this.localId(rec, r),
      this.remotes.acquire(`${r.remote.asn}|${r.remote.routerId}`, () => ({
        asn: r.remote.asn,
        routerId: r.remote.routerId,
      })),
    );
    const change = this.apply(
      rec,
      slot,
      r.state === 'unreachable' ? ST_UNREACHABLE : ST_REACHABLE,
      'report',
    );
    if (change !== null) c.applied++;
    if (notice === null) return change === null ? NONE : [change];
    return change === null ? [notice] : [notice, change];
  }

  /** The report for `nextHop` was withdrawn: no opinion, the entry returns to unknown. */
  withdrawReport(id: string, w: ReportWithdraw): NhibEvent[] {
    const rec = this.rec(id);
    rec.counters.withdraws++;
    const nextHop = typeof w === 'string' ? w : w.nextHop;
    if (typeof w !== 'string') {
      // Checked like an announcement when the codec gives the NLRI's fields.
      if (w.local !== undefined && w.local.asn !== rec.asn) {
        rec.counters.spoofed++;
        return [this.dropped(rec, nextHop, 'spoofed', w)];
      }
      if (w.localAddress !== undefined && !rec.addresses.has(w.localAddress)) {
        rec.counters.spoofed++;
        return [this.dropped(rec, nextHop, 'spoofed', w)];
      }
    }
    const slot = this.slotOf(rec, nextHop);
    if (slot < 0) return NONE;
    this.setReport(slot, 0, 0);
    const change = this.apply(rec, slot, ST_UNKNOWN, 'withdraw');
    this.freeIfIdle(rec, slot);
    return change === null ? NONE : [change];
  }

  // ------------------------------------------------------------ time

  /** The earliest time `tick` has something to do (a damped entry to release), or null. */
  nextDeadline(): number | null {
    if (this.deadlineDirty) {
      let min = Number.POSITIVE_INFINITY;
      for (const slot of this.suppressed) min = Math.min(min, this.reuseAt(slot));
      this.deadline = min === Number.POSITIVE_INFINITY ? null : min;
      this.deadlineDirty = false;
    }
    return this.deadline;
  }

  /** Release every damped entry whose penalty has decayed to the reuse threshold by `now`. */
  tick(now: number = this.now()): NhibEvent[] {
    const d = this.nextDeadline();
    if (d === null || now < d) return NONE;
    const events: NhibEvent[] = [];
    const due: number[] = [];
    for (const slot of this.suppressed) if (this.reuseAt(slot) <= now) due.push(slot);
    for (const slot of due) {
      const rec = this.byIdx[this.t.client[slot]!]!;
      const f = this.t.flags[slot]!;
      this.t.flags[slot] = f & ~F_SUPPRESSED;
      this.suppressed.delete(slot);
      const st = (f & STATE_MASK) >> STATE_SHIFT;
      events.push(this.change(rec, slot, st, true, f, 'damping-released'));
      this.freeIfIdle(rec, slot);
    }
    this.deadlineDirty = true;
    return events;
  }

  // ------------------------------------------------------------ queries

  /** True when the client must not use paths via `nextHop` (the core's oracle). */
  isUnreachable(id: string, nextHop: string): boolean {
    const rec = this.clients.get(id);
    if (rec === undefined) return false;
    const slot = this.slotOf(rec, nextHop);
    return slot >= 0 && (this.t.flags[slot]! & F_EFFECTIVE) !== 0;
  }

  /** The reported state of (client, next hop). */
  stateOf(id: string, nextHop: string): NextHopState {
    const slot = this.slotOf(this.rec(id), nextHop);
    if (slot < 0) return 'unknown';
    return STATE_NAMES[(this.t.flags[slot]! & STATE_MASK) >> STATE_SHIFT]!;
  }

  isDamped(id: string, nextHop: string): boolean {
    const slot = this.slotOf(this.rec(id), nextHop);
    return slot >= 0 && (this.t.flags[slot]! & F_SUPPRESSED) !== 0;
  }

  /** RS-BFD is enabled for the client (cfg.ixrs.rs_bfd.enabled). */
  isEnabled(id: string): boolean {
    return this.rec(id).settings.enabled;
  }

  isSessionUp(id: string): boolean {
    return this.rec(id).sessionUp;
  }

  counters(id: string): Readonly<NhibCounters> {
    return this.rec(id).counters;
  }

  /** Live entries in all clients. */
  get size(): number {
    return this.t.size;
  }

  /** Bytes of the entry columns and index (not the few per-client and per-next-hop objects). */
  tableBytes(): number {
    return this.t.bytes();
  }

  /** Room for `n` entries in one allocation (a hint; the table grows anyway). */
  reserve(n: number): void {
    this.t.reserve(n);
  }

  /** `ixrs show nhib CLIENT`: every entry of one client, or null when the client is unknown. */
  nhibClient(id: string): NhibClientView | null {
    const rec = this.clients.get(id);
    if (rec === undefined) return null;
    const now = this.now();
    const entries: NhibEntryRow[] = [];
    this.forEachOf(rec, (slot) => entries.push(this.row(rec, slot, now)));
    entries.sort(
      (a, b) =>
        (a.owner ?? '\uffff').localeCompare(b.owner ?? '\uffff') ||
        a.nextHop.localeCompare(b.nextHop, 'en', { numeric: true }),
    );
    return {
      client: rec.id,
      asn: rec.asn,
      session: this.status(rec),
      sessionSince: rec.sessionSince === null ? null : iso(rec.sessionSince),
      instanceId: rec.settings.instanceId,
      damping: { ...rec.settings.damping },
      counters: { ...rec.counters },
      entries,
    };
  }

  /**
   * Per client, in one pass over the table (metrics): entries by reported
   * state, damped ones, effectively unreachable ones and the paths they hide.
   */
  tally(): NhibTally[] {
    const out: NhibTally[] = [];
    const byIdx: (NhibTally | undefined)[] = [];
    for (const r of this.clients.values()) {
      const x: NhibTally = {
        client: r.id,
        asn: r.asn,
        session: this.status(r),
        unknown: 0,
        reachable: 0,
        unreachable: 0,
        damped: 0,
        effective: 0,
        hiddenPaths: 0,
        counters: r.counters,
      };
      byIdx[r.idx] = x;
      out.push(x);
    }
    const t = this.t;
    for (let slot = 0; slot < t.top; slot++) {
      const f = t.flags[slot]!;
      if ((f & F_USED) === 0) continue;
      const x = byIdx[t.client[slot]!];
      if (x === undefined) continue;
      const st = (f & STATE_MASK) >> STATE_SHIFT;
      if (st === ST_UNREACHABLE) x.unreachable++;
      else if (st === ST_REACHABLE) x.reachable++;
      else x.unknown++;
      if ((f & F_SUPPRESSED) !== 0) x.damped++;
      if ((f & F_EFFECTIVE) !== 0) {
        x.effective++;
        x.hiddenPaths += this.hidden(x.client, this.nhText[t.nh[slot]!]!);
      }
    }
    return out;
  }

  /** `ixrs show nhib --matrix`: client × next-hop owner. */
  nhibMatrix(): NhibMatrixView {
    const recs = [...this.clients.values()];
    const col = new Map<string, number>();
    const owners: string[] = [];
    for (const r of recs) {
      col.set(r.id, owners.length);
      owners.push(r.id);
    }
    const otherCol = owners.length;
    const t = this.t;
    const ncol = owners.length + 1;
    // Per cell: [unreachable, damped-only, unknown, reachable] counts.
    const cells = new Uint32Array(this.byIdx.length * ncol * 4);
    const counts = {
      clients: recs.length,
      sessionsUp: recs.filter((r) => r.sessionUp).length,
      entries: t.size,
      requested: 0,
      reachable: 0,
      unreachable: 0,
      unknown: 0,
      damped: 0,
    };
    const problems: NhibMatrixProblem[] = [];
    let anyOther = false;
    for (let slot = 0; slot < t.top; slot++) {
      const f = t.flags[slot]!;
      if ((f & F_USED) === 0) continue;
      const ci = t.client[slot]!;
      const nhText = this.nhText[t.nh[slot]!]!;
      const owner = this.owners.get(nhText) ?? null;
      const c = owner === null ? otherCol : col.get(owner)!;
      if (c === otherCol) anyOther = true;
      const st = (f & STATE_MASK) >> STATE_SHIFT;
      const damped = (f & F_SUPPRESSED) !== 0;
      const eff = (f & F_EFFECTIVE) !== 0;
      if ((f & F_REQUESTED) !== 0) counts.requested++;
      if (damped) counts.damped++;
      const base = (ci * ncol + c) * 4;
      if (eff) {
        counts.unreachable++;
        cells[base + (st === ST_UNREACHABLE ? 0 : 1)]!++;
        const rec = this.byIdx[ci]!;
        problems.push({
          client: rec.id,
          owner,
          nextHop: nhText,
          state: STATE_NAMES[st]!,
          damped,
          since: Number.isNaN(t.since[slot]!) ? null : iso(t.since[slot]!),
        });
      } else if (st === ST_REACHABLE) {
        counts.reachable++;
        cells[base + 3]!++;
      } else {
        counts.unknown++;
        cells[base + 2]!++;
      }
    }
    if (anyOther) owners.push(OTHER);
    const rows = recs.map((r) => {
      let s = '';
      let unreachable = 0;
      for (let c = 0; c < owners.length; c++) {
        const base = (r.idx * ncol + c) * 4;
        const u = cells[base]!;
        const d = cells[base + 1]!;
        const k = cells[base + 2]!;
        const ok = cells[base + 3]!;
        unreachable += u + d;
        if (c === col.get(r.id)) s += u + d + k + ok === 0 ? '\\' : u + d > 0 ? 'x' : '?';
        else if (u + d > 0) s += k + ok > 0 ? 'x' : u > 0 ? 'X' : 'D';
        else if (k > 0) s += '?';
        else if (ok > 0) s += '.';
        else s += '-';
      }
      return { client: r.id, asn: r.asn, session: this.status(r), cells: s, unreachable };
    });
    problems.sort((a, b) => a.client.localeCompare(b.client) || a.nextHop.localeCompare(b.nextHop));
    return { owners, rows, counts, problems, legend: MATRIX_LEGEND };
  }

  // ------------------------------------------------------------ internals

  private rec(id: string): ClientRec {
    const rec = this.clients.get(id);
    if (rec === undefined) throw new Error(`nhib: unknown client '${id}'`);
    return rec;
  }

  private status(rec: ClientRec): SessionStatus {
    if (!rec.settings.enabled) return 'disabled';
    return rec.sessionUp ? 'up' : 'down';
  }

  private slotOf(rec: ClientRec, nextHop: string): number {
    const nh = this.nhIds.get(nextHop);
    return nh === undefined ? -1 : this.t.find(rec.idx, nh);
  }

  private forEachOf(rec: ClientRec, fn: (slot: number) => void): void {
    const t = this.t;
    const ci = rec.idx;
    // `fn` may free the slot it is given: count against the number at the start.
    const total = rec.entries;
    for (let slot = 0, seen = 0; slot < t.top && seen < total; slot++) {
      if (t.client[slot] !== ci || (t.flags[slot]! & F_USED) === 0) continue;
      seen++;
      fn(slot);
    }
  }

  /** A new, unrequested, unknown entry. */
  private newSlot(rec: ClientRec, nextHop: string): number {
    let nh = this.nhIds.get(nextHop);
    if (nh === undefined) {
      nh = this.nhFree.pop() ?? this.nhText.length;
      this.nhIds.set(nextHop, nh);
      this.nhText[nh] = nextHop;
      this.nhRefs[nh] = 0;
    }
    this.nhRefs[nh]!++;
    rec.entries++;
    rec.unrequested++;
    return this.t.add(rec.idx, nh);
  }

  private freeSlot(rec: ClientRec, slot: number): void {
    const t = this.t;
    const nh = t.nh[slot]!;
    if ((t.flags[slot]! & F_REQUESTED) === 0) rec.unrequested--;
    this.setReport(slot, 0, 0);
    this.suppressed.delete(slot);
    t.remove(slot);
    rec.entries--;
    if (--this.nhRefs[nh]! === 0) {
      this.nhIds.delete(this.nhText[nh]!);
      this.nhText[nh] = '';
      this.nhFree.push(nh);
    }
  }

  /** An entry that holds nothing worth keeping goes: not requested, unknown, not damped. */
  private freeIfIdle(rec: ClientRec, slot: number): void {
    const f = this.t.flags[slot]!;
    if ((f & (F_REQUESTED | F_SUPPRESSED | STATE_MASK)) === 0) this.freeSlot(rec, slot);
  }

  private setReport(slot: number, local: number, remote: number): void {
    const t = this.t;
    this.locals.release(t.local[slot]!);
    this.remotes.release(t.remote[slot]!);
    t.local[slot] = local;
    t.remote[slot] = remote;
  }

  private localId(rec: ClientRec, r: ReachabilityReport): number {
    const last = rec.lastLocal;
    if (
      last !== null &&
      last.instanceId === r.instanceId &&
      last.routerId === r.local.routerId &&
      last.localAddress === r.localAddress &&
      this.locals.get(last.id) !== undefined
    ) {
      this.locals.retain(last.id);
      return last.id;
    }
    const key = `${r.instanceId}|${r.local.asn}|${r.local.routerId}|${r.localAddress}`;
    const id = this.locals.acquire(key, () => ({
      instanceId: r.instanceId,
      local: { asn: r.local.asn, routerId: r.local.routerId },
      localAddress: r.localAddress,
    }));
    rec.lastLocal = {
      instanceId: r.instanceId,
      routerId: r.local.routerId,
      localAddress: r.localAddress,
      id,
    };
    return id;
  }

  /** Why the report must be dropped (and counted), or null (rs-bfd-profile §7). */
  private check(rec: ClientRec, r: ReachabilityReport): DropReason | null {
    const c = rec.counters;
    if (!rec.settings.enabled) {
      c.disabled++;
      return 'disabled';
    }
    if (!rec.sessionUp) {
      c.noSession++;
      return 'no-session';
    }
    if (r.local.asn !== rec.asn || !rec.addresses.has(r.localAddress)) {
      c.spoofed++;
      return 'spoofed';
    }
    if (r.instanceId !== rec.settings.instanceId) {
      c.foreignInstance++;
      return 'foreign-instance';
    }
    if (rec.addresses.has(r.nextHop) || isV6(r.nextHop) !== isV6(r.localAddress)) {
      c.invalid++;
      return 'invalid';
    }
    return null;
  }

  private dropped(
    rec: ClientRec,
    nextHop: string,
    reason: DropReason,
    r: Partial<ReachabilityReport>,
  ): NhibEvent {
    let why: string;
    switch (reason) {
      case 'disabled':
        why = 'RS-BFD is disabled for this client';
        break;
      case 'no-session':
        why = 'no reachability session is up';
        break;
      case 'spoofed':
        why = `local node AS${r.local?.asn ?? '?'} / address ${r.localAddress ?? '?'} is not this client's (AS${rec.asn} ${[...rec.addresses].join(', ')})`;
        break;
      case 'foreign-instance':
        why = `BGP-LS Identifier ${r.instanceId} is not this LAN's (${rec.settings.instanceId})`;
        break;
      case 'invalid':
        why = rec.addresses.has(nextHop)
          ? "the next hop is the client's own address"
          : `next hop and local address ${r.localAddress} are of different families`;
        break;
      case 'limit':
        why = `already ${rec.unrequested} unrequested next hops kept (limit ${this.maxUnrequested})`;
        break;
    }
    return {
      kind: 'dropped',
      reason,
      client: rec.id,
      nextHop,
      message: `${rec.id}: report for ${nextHop} dropped (${reason}): ${why}`,
    };
  }

  /** Set the reported state of an entry; damping on a transition to unreachable. */
  private apply(rec: ClientRec, slot: number, st: number, cause: ChangeCause): NhibChange | null {
    const t = this.t;
    const f = t.flags[slot]!;
    const old = (f & STATE_MASK) >> STATE_SHIFT;
    if (old === st) return null;
    const now = this.now();
    let nf = (f & ~STATE_MASK) | (st << STATE_SHIFT);
    t.since[slot] = now;
    if (st === ST_UNREACHABLE) {
      rec.counters.flaps++;
      if (t.flaps[slot]! < 0xffff) t.flaps[slot]!++;
      const d = rec.settings.damping;
      if (d.enabled) {
        const rel = now - this.epoch;
        const l = addPenalty(t.penalty[slot]!, rel, d);
        t.penalty[slot] = l;
        if ((nf & F_SUPPRESSED) !== 0) {
          this.deadlineDirty = true;
        } else if (penaltyAt(l, rel, d.halfLifeMs) > d.suppressThreshold) {
          nf |= F_SUPPRESSED;
          rec.counters.suppressions++;
          this.suppressed.add(slot);
          this.deadlineDirty = true;
        }
      }
    }
    t.flags[slot] = nf;
    return this.change(rec, slot, old, (f & F_SUPPRESSED) !== 0, f, cause);
  }

  /**
   * The change record of an entry whose flags were just updated (state and
   * damping); sets the effective bit and says whether it changed.
   */
  private change(
    rec: ClientRec,
    slot: number,
    oldState: number,
    wasDamped: boolean,
    oldFlags: number,
    cause: ChangeCause,
  ): NhibChange {
    const t = this.t;
    let f = t.flags[slot]!;
    const st = (f & STATE_MASK) >> STATE_SHIFT;
    const damped = (f & F_SUPPRESSED) !== 0;
    const eff = rec.sessionUp && (st === ST_UNREACHABLE || damped);
    f = eff ? f | F_EFFECTIVE : f & ~F_EFFECTIVE;
    t.flags[slot] = f;
    const nextHop = this.nhText[t.nh[slot]!]!;
    const owner = this.owners.get(nextHop) ?? null;
    const effectiveChanged = eff !== ((oldFlags & F_EFFECTIVE) !== 0);
    const o = STATE_NAMES[oldState]!;
    const n = STATE_NAMES[st]!;
    const tag = (s: string, dd: boolean): string => (dd ? `${s} (damped)` : s);
    return {
      kind: 'change',
      client: rec.id,
      nextHop,
      owner,
      old: o,
      new: n,
      wasDamped,
      damped,
      unreachable: eff,
      effectiveChanged,
      cause,
      message: `${rec.id}: next hop ${nextHop}${owner === null ? '' : ` (${owner})`} ${tag(o, wasDamped)} -> ${tag(n, damped)}${effectiveChanged ? (eff ? ': paths hidden' : ': paths back') : ''} [${cause}]`,
    };
  }

  /** Release every damped entry of the client now. */
  private releaseAll(rec: ClientRec, cause: ChangeCause, events: NhibEvent[]): void {
    const t = this.t;
    this.forEachOf(rec, (slot) => {
      t.penalty[slot] = NO_PENALTY;
      const f = t.flags[slot]!;
      if ((f & F_SUPPRESSED) === 0) return;
      t.flags[slot] = f & ~F_SUPPRESSED;
      this.suppressed.delete(slot);
      events.push(this.change(rec, slot, (f & STATE_MASK) >> STATE_SHIFT, true, f, cause));
      this.freeIfIdle(rec, slot);
    });
  }

  /** New half-life: keep every penalty's current value. */
  private reencode(rec: ClientRec, oldD: DampingParams, newD: DampingParams): void {
    const t = this.t;
    const rel = this.now() - this.epoch;
    this.forEachOf(rec, (slot) => {
      const p = penaltyAt(t.penalty[slot]!, rel, oldD.halfLifeMs);
      t.penalty[slot] = encodePenalty(p, rel, newD.halfLifeMs);
    });
  }

  private reuseAt(slot: number): number {
    const rec = this.byIdx[this.t.client[slot]!]!;
    return this.epoch + reuseTime(this.t.penalty[slot]!, rec.settings.damping);
  }

  private row(rec: ClientRec, slot: number, now: number): NhibEntryRow {
    const t = this.t;
    const f = t.flags[slot]!;
    const st = (f & STATE_MASK) >> STATE_SHIFT;
    const nextHop = this.nhText[t.nh[slot]!]!;
    const damped = (f & F_SUPPRESSED) !== 0;
    const local = this.locals.get(t.local[slot]!);
    const remote = this.remotes.get(t.remote[slot]!);
    const eff = (f & F_EFFECTIVE) !== 0;
    return {
      nextHop,
      owner: this.owners.get(nextHop) ?? null,
      requested: (f & F_REQUESTED) !== 0,
      state: STATE_NAMES[st]!,
      unreachable: eff,
      since: Number.isNaN(t.since[slot]!) ? null : iso(t.since[slot]!),
      hiddenPaths: eff ? this.hidden(rec.id, nextHop) : 0,
      hiddenPrefixes: eff ? this.hiddenList(rec.id, nextHop, HIDDEN_LISTED) : [],
      flaps: t.flaps[slot]!,
      damped,
      penalty: Math.round(
        penaltyAt(t.penalty[slot]!, now - this.epoch, rec.settings.damping.halfLifeMs),
      ),
      reuseAt: damped ? iso(this.reuseAt(slot)) : null,
      report:
        local === undefined || remote === undefined || st === ST_UNKNOWN
          ? null
          : {
              instanceId: local.instanceId,
              local: { ...local.local },
              remote: { ...remote },
              localAddress: local.localAddress,
              nextHop,
              state: st === ST_UNREACHABLE ? 'unreachable' : 'reachable',
            },
    };
  }
}
