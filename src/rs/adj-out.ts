// The compact Adj-RIB-Out (RFC 4271 §3.2 Adj-RIBs-Out without a RIB per
// client): what each synced non-ADD-PATH session was last sent for each
// prefix entry, in its own columns. The one owner of that state: output.ts
// reads and writes it only through here; EntryStore keeps an entry alive
// while holds() says so (EntryHolder) and tells forget() when it dies.

import type { EntryId, OutRef, Session } from './model.ts';
import { type EntryHolder, type EntryStore, grown, nextCap } from './store.ts';

export class AdjOut implements EntryHolder {
  private readonly bySlot: Session[];
  private cap = 0;
  /** outDefault per entry: a slot of `outs` (0 = null). */
  private dflt = new Int32Array(0);
  /** The first exception: session slot + 1 (0 = none), and what it was sent (a slot of `outs`). */
  private xs = new Int32Array(0);
  private xoSlot = new Int32Array(0);
  /** Further exceptions: [session, out, ...] per entry. */
  private readonly xm = new Map<number, (Session | OutRef | null)[]>();
  /**
   * OutRefs referenced by the dflt/xo columns, by slot (0 = null). A slot is
   * held while some column holds it and freed with the last one; OutRef.id
   * (bucket keys, never reused) is another number.
   */
  private readonly outs: (OutRef | null)[] = [null];
  private readonly outFree: number[] = [];

  /** `bySlot`: sessions by slot (CoreState.bySlot). Registers itself with `entries` as the holder of Adj-RIB-Out state. */
  constructor(bySlot: Session[], entries: EntryStore) {
    this.bySlot = bySlot;
    entries.holder = this;
  }

  /** What every synced session without an exception was last sent for `e`. */
  outDefault(e: EntryId): OutRef | null {
    return e < this.cap ? this.outs[this.dflt[e]!]! : null;
  }

  setOutDefault(e: EntryId, o: OutRef | null): void {
    this.ensure(e);
    this.put(this.dflt, e, o);
  }

  private xo(e: EntryId): OutRef | null {
    return this.outs[this.xoSlot[e]!]!;
  }

  private setXo(e: EntryId, o: OutRef | null): void {
    this.put(this.xoSlot, e, o);
  }

  /** EntryHolder: whether `e` still holds something sent (the entry must live). */
  holds(e: EntryId): boolean {
    if (e >= this.cap) return false;
    if (this.dflt[e] !== 0 || this.xoSlot[e] !== 0) return true;
    const xm = this.xm.get(e);
    if (xm !== undefined) for (let i = 1; i < xm.length; i += 2) if (xm[i] !== null) return true;
    return false;
  }

  /** EntryHolder: entry `e` is deleted (its id will be reused). */
  deleted(e: EntryId): void {
    this.xm.delete(e);
    if (e < this.cap) this.xs[e] = 0;
  }

  /** Number of OutRefs held by slot (tests, stats). */
  get outSlots(): number {
    return this.outs.length - 1 - this.outFree.length;
  }

  private ensure(e: EntryId): void {
    if (e < this.cap) return;
    const cap = nextCap(this.cap, e + 1);
    this.dflt = grown(this.dflt, cap, 0);
    this.xs = grown(this.xs, cap, 0);
    this.xoSlot = grown(this.xoSlot, cap, 0);
    this.cap = cap;
  }

  /** Stores `o` in a slot column, holding its slot and dropping the previous one. */
  private put(col: Int32Array, e: number, o: OutRef | null): void {
    const old = col[e]!;
    col[e] = this.hold(o);
    this.drop(old);
  }

  private hold(o: OutRef | null): number {
    if (o === null) return 0;
    if (o.slot === 0) {
      o.slot = this.outFree.pop() ?? this.outs.length;
      this.outs[o.slot] = o;
    }
    o.refs++;
    return o.slot;
  }

  private drop(slot: number): void {
    if (slot === 0) return;
    const o = this.outs[slot]!;
    if (--o.refs > 0) return;
    o.slot = 0;
    this.outs[slot] = null;
    this.outFree.push(slot);
  }

  /** What was last sent to `s` for `e`. */
  sentTo(e: EntryId, s: Session): OutRef | null {
    if (e >= this.cap) return null;
    if (this.xs[e] === s.slot + 1) return this.xo(e);
    const xm = this.xm.get(e);
    if (xm !== undefined) {
      for (let i = 0; i < xm.length; i += 2) if (xm[i] === s) return xm[i + 1] as OutRef | null;
    }
    return this.outDefault(e);
  }

  /** Forgets every exception (all synced sessions hold outDefault). */
  clear(e: EntryId): void {
    if (e >= this.cap) return;
    this.xs[e] = 0;
    this.setXo(e, null);
    this.xm.delete(e);
  }

  /** Calls `fn` for every session with an exception. */
  forEach(e: EntryId, fn: (s: Session) => void): void {
    if (e >= this.cap) return;
    const xs = this.xs[e]!;
    if (xs !== 0) fn(this.bySlot[xs - 1]!);
    const xm = this.xm.get(e);
    if (xm !== undefined) for (let i = 0; i < xm.length; i += 2) fn(xm[i] as Session);
  }

  /** Drops the exception of `s`, if any. */
  forget(e: EntryId, s: Session): void {
    if (e >= this.cap) return;
    const xm = this.xm.get(e);
    if (this.xs[e] === s.slot + 1) {
      if (xm !== undefined) {
        this.xs[e] = (xm[xm.length - 2] as Session).slot + 1;
        this.setXo(e, xm[xm.length - 1] as OutRef | null);
        xm.length -= 2;
        if (xm.length === 0) this.xm.delete(e);
      } else {
        this.xs[e] = 0;
        this.setXo(e, null);
      }
      return;
    }
    if (xm === undefined) return;
    for (let i = 0; i < xm.length; i += 2) {
      if (xm[i] !== s) continue;
      xm[i] = xm[xm.length - 2]!;
      xm[i + 1] = xm[xm.length - 1]!;
      xm.length -= 2;
      if (xm.length === 0) this.xm.delete(e);
      return;
    }
  }

  /** Records that `s` was sent `out` for `e`. */
  set(e: EntryId, s: Session, out: OutRef | null): void {
    this.ensure(e);
    if (out === this.outDefault(e)) {
      this.forget(e, s);
      return;
    }
    if (this.xs[e] === s.slot + 1) {
      this.setXo(e, out);
      return;
    }
    const xm = this.xm.get(e);
    if (xm !== undefined) {
      for (let i = 0; i < xm.length; i += 2) {
        if (xm[i] === s) {
          xm[i + 1] = out;
          return;
        }
      }
    }
    if (this.xs[e] === 0) {
      this.xs[e] = s.slot + 1;
      this.setXo(e, out);
      return;
    }
    if (xm === undefined) this.xm.set(e, [s, out]);
    else xm.push(s, out);
  }
}
