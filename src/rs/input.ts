// Input: UPDATEs from the sessions into the Adj-RIBs-In and the ranking
// (RFC 7947 §2.1, RFC 4271 §9.1.2.2 via rib.ts), in steps of a slice.
// receiveUpdate only queues (with flow control); the slices apply the queue
// (big UPDATEs in parts) and remove paths in cleanups (session loss, stale
// paths of a graceful restart, a disabled family). Changed prefixes go to
// the shared dirty queue for output.ts.

import { performance } from 'node:perf_hooks';
import type { NextHop, Nlri, PathAttributes, UpdateMessage } from '../bgp/types.ts';
import { familyKey } from '../bgp/types.ts';
import type { Client, EntryId, PathId, Session } from './model.ts';
import type { MaxPrefixAction, RejectCode } from './policy-api.ts';
import { acquireUse, releaseUse, unlink } from './rib.ts';
import type { CoreState } from './state.ts';
import { ACCEPTED, DOOMED, NONE, STALE } from './store.ts';

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

export /**
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

export class Input {
  private readonly s: CoreState;

  /** Queued UPDATEs from inHead on; slots before it are null (done: no decoded message stays reachable). */
  inbound: (Inbound | null)[] = [];

  inHead = 0;

  /** NLRI queued in `inbound`, not yet applied. */
  backlog = 0;

  inputFull = false;

  private readonly inputHighWater: number;
  private readonly onInputDrain: (() => void) | undefined;

  readonly cleanups: Cleanup[] = [];

  /**
   * Queues an UPDATE. Returns false when the input queue is above its
   * high-water mark: stop reading until onInputDrain (the UPDATE is queued
   * all the same).
   */
  receiveUpdate(s: Session, msg: UpdateMessage): boolean {
    if (s.up === null || this.s.closed) return !this.inputFull;
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
    this.s.kick();
    if (this.backlog >= this.inputHighWater) this.inputFull = true;
    return !this.inputFull;
  }

  /** NLRI received and not yet applied. */
  get inputBacklog(): number {
    return this.backlog;
  }

  /** Accounts for NLRI of `item` that are applied (or will never be). */
  consumed(item: Inbound, n: number): void {
    item.left -= n;
    this.backlog -= n;
    if (this.inputFull && this.backlog <= this.inputHighWater >> 1) {
      this.inputFull = false;
      this.onInputDrain?.();
    }
  }

  /** The item is done: its remaining NLRI leave the backlog, its next-hop references go. */
  releaseItem(item: Inbound): void {
    if (item.left > 0) this.consumed(item, item.left);
    if (item.nh4Id !== NONE) this.s.nhs.release(item.nh4Id);
    if (item.mpNhId !== NONE) this.s.nhs.release(item.mpNhId);
    item.nh4Id = NONE;
    item.mpNhId = NONE;
  }

  /**
   * Applies (part of) one UPDATE: at most `budget` NLRI, resuming at item.pos.
   * Returns true when the message is done.
   */
  processInbound(item: Inbound, budget: number): boolean {
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
        this.s.log.warn(
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
      if (msg.attrs !== null) item.attrs = this.s.interner.canonical(msg.attrs);
    }
    const unreach = msg.mpUnreach;
    const famU = unreach === null ? '' : familyKey(unreach.afi, unreach.safi);
    const mp = msg.mpReach;
    const famR = mp === null ? '' : familyKey(mp.afi, mp.safi);
    const l0 = msg.withdrawn.length;
    const l1 = l0 + (unreach !== null && this.s.rsFamilies.has(famU) ? unreach.nlri.length : 0);
    const l2 = l1 + msg.nlri.length;
    const l3 = l2 + (mp !== null && this.s.rsFamilies.has(famR) ? mp.nlri.length : 0);
    const end = Math.min(l3, item.pos + budget);
    const attrs = item.attrs!;
    const slotU = l1 > l0 ? this.s.famSlot(famU) : -1;
    const slotR = l3 > l2 ? this.s.famSlot(famR) : -1;
    for (let i = item.pos; i < end; i++) {
      if (i < l0) this.withdraw(s, 0, msg.withdrawn[i]!);
      else if (i < l1) this.withdraw(s, slotU, unreach!.nlri[i - l0]!);
      else if (i < l2) {
        const n = msg.nlri[i - l1]!;
        if (item.v4Withdraw) this.withdraw(s, 0, n);
        else {
          if (item.nh4Id === NONE) item.nh4Id = this.s.nhs.acquire(item.nh4!);
          this.announce(s, 0, 1, n, attrs, item.nh4Id);
        }
      } else {
        const n = mp!.nlri[i - l2]!;
        if (item.mpWithdraw) this.withdraw(s, slotR, n);
        else {
          if (item.mpNhId === NONE) item.mpNhId = this.s.nhs.acquire(mp!.nextHop);
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
  disableFamilies(s: Session, msg: UpdateMessage): void {
    const up = s.up!;
    const fams = new Set<string>();
    if (msg.mpReach !== null) fams.add(familyKey(msg.mpReach.afi, msg.mpReach.safi));
    if (msg.mpUnreach !== null) fams.add(familyKey(msg.mpUnreach.afi, msg.mpUnreach.safi));
    if (msg.nlri.length > 0 || msg.withdrawn.length > 0) fams.add('1/1');
    for (const fam of fams) {
      if (up.disabled.has(fam)) continue;
      up.disabled.add(fam);
      this.s.log.warn({ peer: s.key, family: fam }, 'RFC 7606 AFI/SAFI disable: paths withdrawn');
      this.startCleanup(s, this.s.famSlot(fam), false);
    }
  }

  endOfRib(s: Session, fam: string): void {
    const up = s.up;
    if (up === null || !up.grPending.has(fam)) return;
    up.grPending.delete(fam);
    // RFC 4724 §4.2: End-of-RIB received, stale paths of that family not refreshed go.
    this.startCleanup(s, this.s.famSlot(fam), true);
    if (up.grPending.size === 0) this.s.clearGrTimer(s);
  }

  /** The path of session `s` for (family, prefix, received path id) in Adj-RIB-In, or NONE. */
  findPath(s: Session, e: EntryId, rxId: number): PathId {
    const P = this.s.paths;
    const slot = s.slot;
    for (let p = this.s.entries.head[e]!; p !== NONE; p = P.next[p]!) {
      if (P.sess[p] === slot && P.rxId(p) === rxId && (P.flags[p]! & DOOMED) === 0) return p;
    }
    for (let p = this.s.entries.rej(e); p !== NONE; p = P.next[p]!) {
      if (P.sess[p] === slot && P.rxId(p) === rxId && (P.flags[p]! & DOOMED) === 0) return p;
    }
    return NONE;
  }

  withdraw(s: Session, famSlot: number, n: Nlri): void {
    s.client.stats.withdrawnReceived++;
    const e = this.s.entries.get(famSlot, n.prefix);
    if (e === NONE) return;
    const old = this.findPath(s, e, n.pathId ?? 0);
    if (old !== NONE) this.dropPath(old);
  }

  announce(
    s: Session,
    famSlot: number,
    afi: number,
    n: Nlri,
    attrs: PathAttributes,
    nhId: number,
  ): void {
    const up = s.up;
    if (up === null || up.muted || up.disabled.has(this.s.entries.famNames[famSlot]!)) return;
    const P = this.s.paths;
    const c = s.client;
    const rxId = n.pathId ?? 0;
    let e = this.s.entries.get(famSlot, n.prefix);
    const old = e === NONE ? NONE : this.findPath(s, e, rxId);
    c.stats.received++;
    const nextHop = this.s.nhs.nextHop(nhId);
    const verdict = this.s.policy.importPath(c.cfg, afi, n.prefix, nextHop.global, attrs);
    if (
      old !== NONE &&
      ((P.flags[old]! & ACCEPTED) !== 0) === verdict.accepted &&
      this.s.uses[P.use[old]!]!.attrs === attrs &&
      P.nh[old] === nhId
    ) {
      // The same path again (e.g. refreshed after a graceful restart).
      if (verdict.accepted) c.stats.accepted++;
      else this.countReject(c, verdict.reasons);
      P.flags[old]! &= ~STALE;
      return;
    }
    if (
      !verdict.accepted &&
      c.stats.rejectedKept >= this.s.rejectedLimit &&
      (old === NONE || (P.flags[old]! & ACCEPTED) !== 0)
    ) {
      // Over the client's bound of kept rejected paths: counted, not kept.
      this.countReject(c, verdict.reasons);
      c.stats.rejectedNotKept++;
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
    const use = acquireUse(c, attrs, this.s.interner, this.s.clientCap, this.s.uses, this.s.useIds);
    this.s.nhs.addRef(nhId);
    let txId = 0;
    if (old !== NONE) {
      if ((P.flags[old]! & ACCEPTED) !== 0) txId = P.txId(old);
      this.dropPath(old);
    }
    if (e === NONE || !this.s.entries.live(e)) e = this.s.entries.getOrCreate(famSlot, n.prefix);
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
    P.at[p] = this.s.clockSec;
    // Adj-RIB-In: the head of the session's list.
    P.sPrev[p] = NONE;
    P.sNext[p] = s.adjHead;
    if (s.adjHead !== NONE) P.sPrev[s.adjHead] = p;
    s.adjHead = p;
    s.adjCount++;
    if (verdict.accepted) {
      c.stats.accepted++;
      c.acceptedByAfi.set(afi, (c.acceptedByAfi.get(afi) ?? 0) + 1);
      this.s.ranking.insert(e, p);
      this.s.reach.added(nhId, s.slot, use.id);
      this.s.dirty.add(e);
    } else {
      this.countReject(c, verdict.reasons);
      c.stats.rejectedKept++;
      if (verdict.reasons.length > 0) P.reasons.set(p, verdict.reasons);
      const rej = this.s.entries.rejHeads();
      P.next[p] = rej[e]!;
      rej[e] = p;
    }
  }

  countReject(c: Client, reasons: RejectCode[]): void {
    c.stats.rejected++;
    const r = reasons[0] ?? 0;
    c.stats.rejectedByReason.set(r, (c.stats.rejectedByReason.get(r) ?? 0) + 1);
  }

  /** Returns true when the new prefix must be dropped. */
  maxPrefix(s: Session, afi: number, limit: number, action: MaxPrefixAction): boolean {
    const c = s.client;
    const first = !c.maxPrefixHit.has(afi);
    c.maxPrefixHit.add(afi);
    if (action === 'warning') {
      if (first) this.s.log.warn({ peer: s.key, afi, limit }, 'max-prefix reached (warning only)');
      return false;
    }
    if (action === 'block') {
      c.stats.blocked++;
      if (first)
        this.s.log.warn({ peer: s.key, afi, limit }, 'max-prefix reached: new prefixes blocked');
      return true;
    }
    // shutdown / restart: RFC 4486 Cease subcode 1 by the session layer; stop taking input.
    if (s.up !== null) s.up.muted = true;
    this.s.log.warn({ peer: s.key, afi, limit, action }, 'max-prefix reached: closing session');
    this.s.onMaxPrefix?.({ clientId: c.cfg.id, session: s.key, afi, limit, action });
    return true;
  }

  /** Takes a path out of the Adj-RIB-In, the ranking and the indexes, and frees it. */
  dropPath(p: PathId): void {
    const P = this.s.paths;
    const E = this.s.entries;
    const s = this.s.bySlot[P.sess[p]!]!;
    const c = s.client;
    const e = P.entry[p]!;
    const flags = P.flags[p]!;
    const nhId = P.nh[p]!;
    for (const cl of this.cleanups) if (cl.cur === p) cl.cur = P.sNext[p]!;
    this.s.reach.dropping(p);
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
      this.s.reach.removed(nhId, s.slot, P.use[p]!);
      this.s.ranking.remove(e, p);
      this.s.dirty.add(e);
    } else {
      c.stats.rejectedKept--;
      unlink(E.rejHeads(), e, P.next, p);
      E.maybeDelete(e);
    }
    releaseUse(c, this.s.uses[P.use[p]!]!, this.s.interner, this.s.useIds);
    this.s.nhs.release(nhId);
    P.release(p);
  }

  startCleanup(s: Session, famSlot: number, onlyStale: boolean): void {
    if (s.adjHead === NONE) return;
    this.cleanups.push({ s, cur: s.adjHead, detached: false, famSlot, onlyStale });
    this.s.kick();
  }

  /** Runs one cleanup step; returns false when the cleanup is complete. */
  stepCleanup(cl: Cleanup): boolean {
    const P = this.s.paths;
    for (let i = 0; i < this.s.batchSize; i++) {
      const p = cl.cur;
      if (p === NONE) return false;
      cl.cur = P.sNext[p]!;
      if (!cl.detached) {
        if (cl.onlyStale && (P.flags[p]! & STALE) === 0) continue;
        if (cl.famSlot >= 0 && this.s.entries.famOf(P.entry[p]!) !== cl.famSlot) continue;
      }
      this.dropPath(p);
    }
    return cl.cur !== NONE;
  }

  constructor(s: CoreState, opts: { inputHighWater?: number; onInputDrain?: () => void }) {
    this.s = s;
    this.inputHighWater = opts.inputHighWater ?? 1024;
    this.onInputDrain = opts.onInputDrain;
  }

  /** UPDATEs queued and not applied, or cleanups running. */
  hasWork(): boolean {
    return this.inHead < this.inbound.length || this.cleanups.length > 0;
  }

  /**
   * Takes in up to ~2048 NLRI (stopping at `deadline`) before output runs:
   * changes to the same prefixes coalesce and output packs better. Returns
   * false when nothing was queued.
   */
  step(deadline: number): boolean {
    if (this.inHead >= this.inbound.length) return false;
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
    return true;
  }

  /** One step of the first cleanup. Returns false when there is none. */
  stepCleanups(): boolean {
    const cl = this.cleanups[0];
    if (cl === undefined) return false;
    if (!this.stepCleanup(cl)) this.cleanups.shift();
    return true;
  }

  /**
   * Applies now what `s` sent before it went down in a graceful restart: UPDATEs
   * received before the loss are part of what the helper keeps (RFC 4724 §4.2).
   */
  drainSession(s: Session): void {
    for (let i = this.inHead; i < this.inbound.length; i++) {
      const item = this.inbound[i]!;
      if (item.s !== s || item.epoch !== s.epoch) continue;
      while (!this.processInbound(item, Number.POSITIVE_INFINITY)) {}
      item.epoch = -1;
    }
  }

  /** Pushes the position of every detached list of session `slot` a cleanup has not finished (reach.ts). */
  detached(slot: number, out: PathId[]): void {
    for (const cl of this.cleanups) if (cl.detached && cl.s.slot === slot) out.push(cl.cur);
  }

  /** Detaches the whole Adj-RIB-In of `s` (session loss): found by no lookup from now, dropped in slices. */
  detach(s: Session): void {
    const P = this.s.paths;
    for (let p = s.adjHead; p !== NONE; p = P.sNext[p]!) P.flags[p]! |= DOOMED;
    this.cleanups.push({ s, cur: s.adjHead, detached: true, famSlot: -1, onlyStale: false });
    s.adjHead = NONE;
    s.adjCount = 0;
    this.s.kick();
  }

  /** Drops everything queued (shutdown). */
  reset(): void {
    this.inbound = [];
    this.inHead = 0;
    this.backlog = 0;
    this.inputFull = false;
    this.cleanups.length = 0;
  }
}
