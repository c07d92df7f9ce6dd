// Next-hop reachability as an input to the core (rs-bfd-profile §5): per
// (client, next-hop address) "unreachable" or not, kept on the core's record
// of the global address (store.ts GlobalRec.down, indexed by Client.idx), so
// that eligibility is an integer test. Only "unreachable" excludes paths;
// unknown and reachable both mean "use it" (fail open, §7).
//
// Reports are queued and applied at the start of a slice: each next hop whose
// state changed for some client is walked once per slice, however many
// (client, next hop) reports arrived, and the walk marks only the prefixes
// behind it, only for the clients whose state changed (their sessions' dirty
// queues); the per-session work of the slices then sends the next best path,
// or a withdraw. The walk is resumable and stops at the slice's deadline.
//
// Also here: the usage of next-hop addresses by accepted paths (the NHIB
// index, per session and attribute set), its events (coalesced per slice)
// and the queries the RS-BFD request sets need.

import { performance } from 'node:perf_hooks';
import { type Decision, NO_SEND } from './decision.ts';
import type { Client, PathId, Session } from './model.ts';
import type { Tables } from './rib.ts';
import { ACCEPTED, type GlobalRec, NONE } from './store.ts';

/** A next-hop address started or stopped being used by some accepted path, or its users changed. */
export interface NextHopUsageEvent {
  /** Canonical address text. */
  nextHop: string;
  /**
   * 'used': some accepted path uses it now and none did at the last event;
   * 'unused': the reverse; 'changed': still used, but the set of (announcing
   * session, attribute set) via it changed, so the clients it is eligible for
   * may have changed (possibly back to what it was within the slice: the
   * consumer re-evaluates, nothing more).
   */
  kind: 'used' | 'unused' | 'changed';
}

/** A queued report; `addr` null clears every report of the client. */
interface Op {
  c: Client;
  addr: string | null;
  down: boolean;
}

interface Walk {
  g: number;
  /** Sessions of the clients whose state for `g` changed. */
  sessions: Session[];
  /** List starts still to walk (Adj-RIB-In lists, detached lists); kept valid by dropping(). */
  lists: PathId[];
  cur: PathId;
  started: boolean;
}

/** What the reachability input needs from the rest of the core. */
export interface ReachHost {
  /** Pushes to `out` the current position of every detached list (session loss) of session `slot` not dropped yet. */
  detached(slot: number, out: PathId[]): void;
}

function grownBytes(a: Uint8Array | null, n: number): Uint8Array {
  const b = new Uint8Array(n);
  if (a !== null) b.set(a);
  return b;
}

export class Reachability {
  private readonly t: Tables;
  private readonly dec: Decision;
  private readonly clients: readonly Client[];
  private readonly host: ReachHost;
  private readonly onUsage: ((events: NextHopUsageEvent[]) => void) | undefined;
  private ops: Op[] = [];
  /** Next op to apply (a burst is applied over several slices). */
  private opHead = 0;
  /** Globals touched by the ops applied in this slice. */
  private readonly batch: number[] = [];
  private readonly walks: Walk[] = [];
  /** Walks not started yet, by global id. */
  private readonly waiting = new Map<number, Walk>();
  private readonly touched: GlobalRec[] = [];
  /** Walks started so far (one per next hop per slice with a change). */
  walkCount = 0;

  constructor(
    t: Tables,
    dec: Decision,
    clients: readonly Client[],
    host: ReachHost,
    onUsage?: (events: NextHopUsageEvent[]) => void,
  ) {
    this.t = t;
    this.dec = dec;
    this.clients = clients;
    this.host = host;
    this.onUsage = onUsage;
  }

  // ================================================================ input

  /** Queues a report: `addr` (canonical) is (not) reachable for `c`. */
  set(c: Client, addr: string, unreachable: boolean): void {
    this.ops.push({ c, addr, down: unreachable });
  }

  /** Queues the end of every report of `c` (fail open). */
  clear(c: Client): void {
    this.ops.push({ c, addr: null, down: false });
  }

  /** Reports queued or walks to do. */
  hasWork(): boolean {
    return this.hasOps || this.walks.length > 0;
  }

  get hasOps(): boolean {
    return this.opHead < this.ops.length;
  }

  /**
   * Applies the queued reports in order (stopping at `deadline`, the rest
   * waits for the next slice) and starts one walk per next hop whose state
   * changed for some client. Called once per slice.
   */
  apply(deadline: number): void {
    if (this.opHead >= this.ops.length) return;
    const ops = this.ops;
    const nhs = this.t.nhs;
    const touched = this.batch;
    let i = this.opHead;
    for (; i < ops.length; i++) {
      if ((i & 255) === 255 && performance.now() >= deadline) break;
      const { c, addr, down } = ops[i]!;
      if (addr === null) {
        for (const g of [...c.nhDown]) this.setBit(g, c, false);
        continue;
      }
      const g = down ? nhs.globalFor(addr) : nhs.globalId(addr);
      if (g >= 0) this.setBit(g, c, down);
    }
    if (i === ops.length) {
      this.ops = [];
      this.opHead = 0;
    } else this.opHead = i;
    // The clients whose state for a next hop differs from before the batch.
    for (const g of touched) {
      const r = nhs.globals[g]!;
      const was = r.was!;
      const sessions: Session[] = [];
      for (const idx of r.wasList) {
        if ((this.isDown(g, idx) ? 2 : 1) !== was[idx]) {
          for (const s of this.clients[idx]!.sessions.values()) sessions.push(s);
        }
        was[idx] = 0;
      }
      r.wasList.length = 0;
      if (sessions.length > 0 && r.bySlot.size > 0) {
        // A walk of this next hop still waiting for its turn takes these clients too.
        const w = this.waiting.get(g);
        if (w !== undefined) {
          for (const s of sessions) if (!w.sessions.includes(s)) w.sessions.push(s);
        } else {
          const nw: Walk = { g, sessions, lists: [], cur: NONE, started: false };
          this.walks.push(nw);
          this.waiting.set(g, nw);
          this.walkCount++;
        }
      }
      nhs.maybeFreeGlobal(g);
    }
    touched.length = 0;
  }

  isDown(g: number, idx: number): boolean {
    const d = this.t.nhs.globals[g]?.down;
    return d !== null && d !== undefined && idx < d.length && d[idx] === 1;
  }

  private setBit(g: number, c: Client, down: boolean): void {
    const r = this.t.nhs.globals[g]!;
    const idx = c.idx;
    let d = r.down;
    if (d === null || idx >= d.length) {
      if (!down) return;
      const n = Math.max(idx + 1, this.clients.length, 16);
      r.down = d = grownBytes(d, n);
      r.was = grownBytes(r.was, n);
    }
    // The state before this batch: 1 reachable, 2 unreachable (0: not touched yet).
    const was = r.was!;
    if (was[idx] === 0) {
      was[idx] = d[idx] === 1 ? 2 : 1;
      if (r.wasList.length === 0) this.batch.push(g);
      r.wasList.push(idx);
    }
    if (down) {
      if (d[c.idx] === 1) return;
      d[c.idx] = 1;
      r.downList.push(c.idx);
      c.nhDown.add(g);
      return;
    }
    if (d === null || c.idx >= d.length || d[c.idx] !== 1) return;
    d[c.idx] = 0;
    r.downList.splice(r.downList.indexOf(c.idx), 1);
    c.nhDown.delete(g);
  }

  // ================================================================ walks

  /**
   * Walks up to `budget` paths of the first pending walk (stopping at
   * `deadline`), marking the prefixes behind its next hop dirty for the
   * sessions whose state changed; those sessions are added to `pump`.
   * Returns true while walks remain.
   */
  step(budget: number, deadline: number, pump: Set<Session>): boolean {
    const w = this.walks[0];
    if (w === undefined) return false;
    const P = this.t.paths;
    const E = this.t.entries;
    const recs = this.t.nhs.recs;
    if (!w.started) {
      w.started = true;
      this.waiting.delete(w.g);
      // (Freed meanwhile: no path left to walk. Reused for another address: a few prefixes recomputed for nothing.)
      const r = this.t.nhs.globals[w.g];
      if (r !== null && r !== undefined)
        for (const slot of r.bySlot.keys()) {
          const src = this.t.bySlot[slot]!;
          if (src.adjHead !== NONE) w.lists.push(src.adjHead);
          this.host.detached(slot, w.lists);
        }
    }
    const sessions = w.sessions;
    for (let n = 0; n < budget; ) {
      const p = w.cur;
      if (p === NONE) {
        const next = w.lists.pop();
        if (next === undefined) break;
        w.cur = next;
        continue;
      }
      w.cur = P.sNext[p]!;
      if ((P.flags[p]! & ACCEPTED) === 0 || recs[P.nh[p]!]!.g !== w.g) continue;
      const e = P.entry[p]!;
      const fam = E.famNames[E.famOf(e)]!;
      for (let i = 0; i < sessions.length; i++) {
        const up = sessions[i]!.up;
        if (up?.fam.has(fam)) up.dirty.add(e);
      }
      if ((++n & 63) === 0 && performance.now() >= deadline) break;
    }
    for (const s of sessions) if (s.up !== null && s.up.dirty.size > 0) pump.add(s);
    if (w.cur === NONE && w.lists.length === 0) this.walks.shift();
    return this.walks.length > 0;
  }

  /** Path `p` is about to be freed: a walk positioned on it moves on. */
  dropping(p: PathId): void {
    const w = this.walks[0];
    if (w === undefined || !w.started) return;
    const next = this.t.paths.sNext[p]!;
    if (w.cur === p) w.cur = next;
    const l = w.lists;
    for (let i = 0; i < l.length; i++) if (l[i] === p) l[i] = next;
  }

  // ================================================================ usage index and events

  /** An accepted path of session `slot` with attribute set `useId` now goes via next-hop record `nhId`. */
  added(nhId: number, slot: number, useId: number): void {
    const r = this.t.nhs.globalOf(nhId);
    let su = r.bySlot.get(slot);
    if (su === undefined) {
      r.bySlot.set(slot, (su = { n: 0, uses: new Map() }));
      this.touch(r);
    }
    su.n++;
    const k = su.uses.get(useId);
    if (k === undefined) {
      su.uses.set(useId, 1);
      r.usesChanged = true;
      this.touch(r);
    } else su.uses.set(useId, k + 1);
  }

  /** The reverse of added(). */
  removed(nhId: number, slot: number, useId: number): void {
    const r = this.t.nhs.globalOf(nhId);
    const su = r.bySlot.get(slot)!;
    const k = su.uses.get(useId)! - 1;
    if (k === 0) {
      su.uses.delete(useId);
      r.usesChanged = true;
      this.touch(r);
    } else su.uses.set(useId, k);
    if (--su.n === 0) {
      r.bySlot.delete(slot);
      this.touch(r);
    }
  }

  private touch(r: GlobalRec): void {
    if (r.touched) return;
    r.touched = true;
    this.touched.push(r);
  }

  /** Emits the usage events gathered since the last call (once per slice). */
  flushEvents(): void {
    const list = this.touched;
    if (list.length === 0) return;
    const ev: NextHopUsageEvent[] = [];
    for (const r of list) {
      r.touched = false;
      const used = r.bySlot.size > 0;
      if (used !== r.usedReported) {
        ev.push({ nextHop: r.addr, kind: used ? 'used' : 'unused' });
        r.usedReported = used;
      } else if (used && r.usesChanged) ev.push({ nextHop: r.addr, kind: 'changed' });
      r.usesChanged = false;
    }
    list.length = 0;
    if (ev.length > 0) this.onUsage?.(ev);
  }

  // ================================================================ queries

  /**
   * Whether some accepted path via `r` is eligible for `c` by policy and
   * announcement control: announced by another client, with an attribute set
   * the export-verdict cache lets through to `c`. Reachability is not looked at.
   */
  eligibleVia(r: GlobalRec, c: Client): boolean {
    for (const [slot, su] of r.bySlot) {
      const from = this.t.bySlot[slot]!.client;
      if (from === c) continue;
      for (const u of su.uses.keys()) {
        if (this.dec.exportCodeUse(this.t.uses[u]!, from, c) !== NO_SEND) return true;
      }
    }
    return false;
  }

  /** The next-hop addresses of the paths eligible for `c` (see eligibleVia), not `c`'s own addresses. */
  eligibleNextHops(c: Client): string[] {
    const out: string[] = [];
    const own = c.cfg.addresses;
    for (const r of this.t.nhs.globals) {
      if (r === null || r.bySlot.size === 0 || own.includes(r.addr)) continue;
      if (this.eligibleVia(r, c)) out.push(r.addr);
    }
    return out;
  }

  /** Paths of other clients via `addr` that `c` could use but for its report that `addr` is unreachable. */
  hidden(c: Client, addr: string): number {
    const g = this.t.nhs.globalId(addr);
    if (g < 0 || !this.isDown(g, c.idx)) return 0;
    let n = 0;
    for (const [slot, su] of this.t.nhs.globals[g]!.bySlot) {
      const from = this.t.bySlot[slot]!.client;
      if (from === c) continue;
      for (const [u, k] of su.uses) {
        if (this.dec.exportCodeUse(this.t.uses[u]!, from, c) !== NO_SEND) n += k;
      }
    }
    return n;
  }

  /**
   * The prefixes of the paths hidden() counts, the first `limit` of them (by
   * announcing session, in its Adj-RIB-In order). Walks only the Adj-RIB-In
   * of sessions with such paths, and stops at `limit`.
   */
  hiddenPrefixes(c: Client, addr: string, limit: number): string[] {
    const g = this.t.nhs.globalId(addr);
    const out: string[] = [];
    if (g < 0 || limit <= 0 || !this.isDown(g, c.idx)) return out;
    const rec = this.t.nhs.globals[g]!;
    const P = this.t.paths;
    for (const [slot, su] of rec.bySlot) {
      const s = this.t.bySlot[slot]!;
      if (s.client === c) continue;
      const sent = new Set<number>();
      for (const u of su.uses.keys())
        if (this.dec.exportCodeUse(this.t.uses[u]!, s.client, c) !== NO_SEND) sent.add(u);
      if (sent.size === 0) continue;
      for (let p = s.adjHead; p !== NONE; p = P.sNext[p]!) {
        if ((P.flags[p]! & ACCEPTED) === 0 || !sent.has(P.use[p]!)) continue;
        if (this.t.nhs.globalOf(P.nh[p]!) !== rec) continue;
        out.push(this.t.entries.prefix(P.entry[p]!));
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** The client ids announcing accepted paths via `addr`. */
  announcers(addr: string): string[] {
    const g = this.t.nhs.globalId(addr);
    if (g < 0) return [];
    const ids = new Set<string>();
    for (const slot of this.t.nhs.globals[g]!.bySlot.keys())
      ids.add(this.t.bySlot[slot]!.client.cfg.id);
    return [...ids];
  }

  /** The addresses `c` currently reports unreachable (applied reports). */
  unreachableFor(c: Client): string[] {
    return [...c.nhDown].map((g) => this.t.nhs.globals[g]!.addr);
  }
}
