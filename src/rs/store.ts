// Column storage for the route-server core (struct of arrays). A received path
// and a prefix entry are small integers indexing typed-array columns, not JS
// objects: at an IXP route server's scale (hundreds of thousands of paths) an
// object per path costs ~120 bytes plus the Map and Set slots that index it;
// here a path is 27 bytes of columns (session slot, attribute-set use,
// next-hop record, entry, flags, and two intrusive lists: the entry's ranked
// list `next` and the session's Adj-RIB-In `sPrev/sNext`) and an entry 16
// bytes beside its PrefixKeys id, with no GC work. Columns only some
// deployments need (ADD-PATH ids, rejected lists) are made on first use
// (LazyColumn). The paths via a next hop are not a list: NextHopTable keeps,
// per global address, the accepted paths per session (reach.ts walks those
// sessions' lists).
//
// Nothing here knows BGP rules: rib.ts ranks, decision.ts decides,
// adj-out.ts keeps what was sent, the sections of server.ts drive. See
// docs/benchmarks.md for the measurements behind the layout.

import type { NextHop } from '../bgp/types.ts';
import type { RejectCode } from './policy-api.ts';
import { PrefixKeys } from './prefix-keys.ts';

/** Path flags. */
export const ACCEPTED = 1;
export const STALE = 2;
/** Detached from its session (session down): found by no lookup, dropped by a cleanup. */
export const DOOMED = 4;
export const LIVE = 8;

export const NONE = -1;

type Column = Int32Array | Uint32Array | Uint16Array | Uint8Array;

/**
 * The column at capacity `cap`, new slots set to `fill`. ArrayBuffer.transfer
 * (ES2024) moves the bytes and detaches the old buffer, which frees it now: a
 * copy into a new array would leave the old one to the next major GC, and a
 * column that grows step by step to 500k entries would leave twice its size
 * behind.
 */
export function grown<T extends Column>(a: T, cap: number, fill: number): T {
  const old = a.length;
  const Ctor = a.constructor as new (b: ArrayBuffer) => T;
  const b = new Ctor((a.buffer as ArrayBuffer).transfer(cap * a.BYTES_PER_ELEMENT));
  if (fill !== 0) b.fill(fill, old);
  return b;
}

export function nextCap(cap: number, need: number): number {
  let c = Math.max(cap, 64);
  while (c < need) c = Math.ceil(c * 1.5);
  return c;
}

/**
 * A column that exists once some id has a non-zero value: it reads 0 until
 * then, and is made at its owner's capacity and grown with it. For what only
 * some deployments use (ADD-PATH), so that the others pay nothing for it.
 */
class LazyColumn<T extends Uint16Array | Uint32Array> {
  private a: T | null = null;
  private readonly make: (n: number) => T;

  constructor(make: (n: number) => T) {
    this.make = make;
  }

  get(i: number): number {
    return this.a === null ? 0 : this.a[i]!;
  }

  set(i: number, v: number, cap: number): void {
    if (this.a === null) {
      if (v === 0) return;
      this.a = this.make(cap);
    }
    this.a[i] = v;
  }

  grow(cap: number): void {
    if (this.a !== null) this.a = grown(this.a, cap, 0);
  }
}

// ---------------------------------------------------------------- paths

/** Every received path (one NLRI of one session), accepted or rejected-and-kept. */
export class PathStore {
  cap = 0;
  /** Session slot (RouteServer.bySlot). */
  sess = new Uint16Array(0);
  /** AttrUse id (RouteServer.uses). */
  use = new Int32Array(0);
  /** Next-hop record id (NextHopTable). */
  nh = new Int32Array(0);
  /** Prefix entry id. */
  entry = new Int32Array(0);
  /**
   * Path id received (ADD-PATH receive), 0 without; and the path id the RS
   * uses when sending it with ADD-PATH (unique within the prefix, 0 until a
   * session needs it). Both columns exist only once some path has a non-zero
   * id: without ADD-PATH they cost nothing (8 bytes a path otherwise).
   */
  private readonly rxIds = new LazyColumn((n) => new Uint32Array(n));
  private readonly txIds = new LazyColumn((n) => new Uint32Array(n));
  flags = new Uint8Array(0);
  /**
   * When the path was received: seconds since the Unix epoch (4 octets a
   * path, written once per announcement; `ixrs show routes` shows the age).
   */
  at = new Uint32Array(0);
  /** Next path of the entry's list (ranked accepted list, or rejected list). */
  next = new Int32Array(0);
  /** The session's Adj-RIB-In list (or a cleanup's detached list). */
  sPrev = new Int32Array(0);
  sNext = new Int32Array(0);
  /** Reject reasons of rejected paths (rare: a side table). */
  readonly reasons = new Map<number, RejectCode[]>();
  /**
   * Released ids, a stack: typed, as it holds every path after a mass session
   * loss (500k ids: a JavaScript array of 4.4 MiB plus the copies its growth
   * left to the next major GC); grown by transfer and given back once empty.
   */
  private free = new Int32Array(0);
  private nFree = 0;
  private hwm = 0;
  size = 0;
  /** Paths released so far (monotonic): RouteServerOptions.onSettled reports the difference. */
  released = 0;

  /**
   * A path id. A fresh one has its links set to NONE here rather than by a
   * fill when the columns grow: the tail of a grown column stays untouched
   * (no RSS) until used. A reused one keeps its old links and ids, which
   * every user overwrites.
   */
  alloc(): number {
    let id: number;
    if (this.nFree > 0) {
      id = this.free[--this.nFree]!;
      if (this.nFree === 0 && this.free.length > 4096) this.free = new Int32Array(0);
    } else {
      id = this.hwm++;
      if (id >= this.cap) this.grow(id + 1);
      this.next[id] = NONE;
      this.sPrev[id] = NONE;
      this.sNext[id] = NONE;
    }
    this.size++;
    return id;
  }

  rxId(p: number): number {
    return this.rxIds.get(p);
  }

  setRxId(p: number, v: number): void {
    this.rxIds.set(p, v, this.cap);
  }

  txId(p: number): number {
    return this.txIds.get(p);
  }

  setTxId(p: number, v: number): void {
    this.txIds.set(p, v, this.cap);
  }

  release(id: number): void {
    this.flags[id] = 0;
    this.reasons.delete(id);
    this.size--;
    this.released++;
    if (this.nFree === this.free.length)
      this.free = grown(this.free, nextCap(this.free.length, this.nFree + 1), 0);
    this.free[this.nFree++] = id;
  }

  private grow(need: number): void {
    const cap = nextCap(this.cap, need);
    this.sess = grown(this.sess, cap, 0);
    this.use = grown(this.use, cap, 0);
    this.nh = grown(this.nh, cap, 0);
    this.entry = grown(this.entry, cap, 0);
    this.rxIds.grow(cap);
    this.txIds.grow(cap);
    this.flags = grown(this.flags, cap, 0);
    this.at = grown(this.at, cap, 0);
    this.next = grown(this.next, cap, 0);
    this.sPrev = grown(this.sPrev, cap, 0);
    this.sNext = grown(this.sNext, cap, 0);
    this.cap = cap;
  }
}

// ---------------------------------------------------------------- prefix entries

/** Keeps per-entry state outside EntryStore (adj-out.ts): an entry lives while some is held. */
export interface EntryHolder {
  holds(e: number): boolean;
  /** Entry `e` was deleted: its id will be reused. */
  deleted(e: number): void;
}

/**
 * The prefix table: one entry per (family, prefix) with its ranked accepted
 * paths (rib.ts) and rejected ones. Entry ids come from PrefixKeys and are
 * reused after deletion; a freed id's columns are reset. The compact
 * Adj-RIB-Out is adj-out.ts's (the holder).
 */
export class EntryStore {
  /** The Adj-RIB-Out (adj-out.ts): the entry is not deleted while it holds something. */
  holder: EntryHolder | null = null;
  readonly keys = new PrefixKeys();
  cap = 0;
  /** First (best) accepted path, NONE when none. */
  head = new Int32Array(0);
  /**
   * First rejected path kept for the looking glass per entry (NONE when none):
   * the column exists once some entry had one (reject_policy 'tag').
   */
  private rejCol: Int32Array | null = null;
  /** The last ADD-PATH send path id handed out per entry; allocated with the first (see takeTxId). */
  private readonly txSeq = new LazyColumn((n) => new Uint32Array(n));
  /** Ids below this have had their columns initialised (PrefixKeys hands ids out in order). */
  private hwm = 0;
  /** ADD-PATH sessions holding a non-empty apOut per entry; the column exists from the first. */
  private readonly apRefCol = new LazyColumn((n) => new Uint16Array(n));
  /** Family slot -> family key ('1/1'), AFI, SAFI. */
  readonly famNames: string[] = [];
  readonly famAfi: number[] = [];
  readonly famSafi: number[] = [];
  private readonly famSlots = new Map<string, number>();

  famSlot(fam: string): number {
    let f = this.famSlots.get(fam);
    if (f === undefined) {
      f = this.famNames.length;
      const [afi, safi] = fam.split('/').map(Number) as [number, number];
      this.famSlots.set(fam, f);
      this.famNames.push(fam);
      this.famAfi.push(afi);
      this.famSafi.push(safi);
    }
    return f;
  }

  /** The slot of `fam` if any entry or session ever used it, else -1. */
  famSlotIfKnown(fam: string): number {
    return this.famSlots.get(fam) ?? -1;
  }

  get size(): number {
    return this.keys.size;
  }

  /** Every live id is below this. */
  get limit(): number {
    return this.keys.limit;
  }

  get(famSlot: number, prefix: string): number {
    return this.keys.get(famSlot, prefix);
  }

  getOrCreate(famSlot: number, prefix: string): number {
    const id = this.keys.intern(famSlot, prefix);
    if (id >= this.cap) this.grow(id + 1);
    // A fresh id's lists start empty here, not by a fill when the columns grow
    // (the tail of a grown column then stays untouched, no RSS). A reused id was
    // only freed with both lists empty.
    for (; this.hwm <= id; this.hwm++) {
      this.head[this.hwm] = NONE;
      if (this.rejCol !== null) this.rejCol[this.hwm] = NONE;
    }
    return id;
  }

  /** First rejected path of entry `e` kept for the looking glass, NONE when none. */
  rej(e: number): number {
    return this.rejCol === null ? NONE : this.rejCol[e]!;
  }

  /** The heads of the rejected lists, to push to or unlink from (made on first use). */
  rejHeads(): Int32Array {
    return (this.rejCol ??= new Int32Array(this.cap).fill(NONE));
  }

  /** ADD-PATH sessions holding a non-empty apOut for entry `e`. */
  apRefs(e: number): number {
    return this.apRefCol.get(e);
  }

  addApRef(e: number, delta: 1 | -1): void {
    this.apRefCol.set(e, this.apRefCol.get(e) + delta, this.cap);
  }

  /** A new ADD-PATH send path id for entry `e`, unique among its paths (1, 2, ...). */
  takeTxId(e: number): number {
    const id = this.txSeq.get(e) + 1;
    this.txSeq.set(e, id, this.cap);
    return id;
  }

  live(id: number): boolean {
    return this.keys.live(id);
  }

  fam(id: number): string {
    return this.famNames[this.keys.famOf(id)]!;
  }

  famOf(id: number): number {
    return this.keys.famOf(id);
  }

  prefix(id: number): string {
    return this.keys.text(id);
  }

  /** Removes the entry when nothing references it any more (no path, nothing sent). */
  maybeDelete(id: number): void {
    if (!this.keys.live(id)) return;
    if (this.head[id] !== NONE || this.rej(id) !== NONE || this.apRefs(id) !== 0) return;
    const h = this.holder;
    if (h?.holds(id)) return;
    h?.deleted(id);
    this.txSeq.set(id, 0, this.cap);
    this.keys.delete(id);
  }

  private grow(need: number): void {
    const cap = nextCap(this.cap, need);
    this.head = grown(this.head, cap, 0);
    if (this.rejCol !== null) this.rejCol = grown(this.rejCol, cap, NONE);
    this.txSeq.grow(cap);
    this.apRefCol.grow(cap);
    this.cap = cap;
  }
}

// ---------------------------------------------------------------- next hops

export interface NextHopRec {
  nh: NextHop;
  key: string;
  /** Index of the global address in NextHopTable.globals. */
  g: number;
  refs: number;
}

/** The accepted paths of one session via one global address, per attribute set. */
export interface SlotUse {
  /** Accepted paths. */
  n: number;
  /** AttrUse id -> accepted paths with it (RFC 7947 §2.3 export verdicts are per attribute set). */
  uses: Map<number, number>;
}

/**
 * The core's per-next-hop record: one per global next-hop address that some
 * accepted path uses or that some client reported unreachable.
 */
export interface GlobalRec {
  /** Canonical address text. */
  addr: string;
  /** An IPv6 address (RFC 8950 check without looking at the text). */
  v6: boolean;
  /**
   * The NHIB index: session slot -> accepted paths of that session via this
   * address. A next-hop change walks those sessions' Adj-RIB-In lists; at an
   * IXP a next hop is its owner's address (next_hop policy strict), so that is
   * the paths via it, without two link columns per path.
   */
  bySlot: Map<number, SlotUse>;
  /** NextHopRecs (global + link-local) holding it. */
  refs: number;
  /**
   * Reachability (rs-bfd-profile §5): 1 at a client's index when that client
   * reported this address unreachable; null until some client did.
   */
  down: Uint8Array | null;
  /** The client indexes set in `down`, for the few loops that need them. */
  downList: number[];
  /** While reports are applied (reach.ts): per client index, 0 untouched, else 1 + the state before. */
  was: Uint8Array | null;
  wasList: number[];
  /** Usage events (reach.ts): what was last reported (used or not), and a pending-event flag. */
  usedReported: boolean;
  touched: boolean;
  /** The set of (session, attribute set) via it changed since the last event. */
  usesChanged: boolean;
}

/** Interned next hops (global + link-local), each with the list of accepted paths via its global address. */
export class NextHopTable {
  readonly recs: (NextHopRec | null)[] = [];
  readonly globals: (GlobalRec | null)[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly byAddr = new Map<string, number>();
  private readonly freeRecs: number[] = [];
  private readonly freeGlobals: number[] = [];

  /** Holds one reference to the record of `nh` and returns its id. */
  acquire(nh: NextHop): number {
    const key = nh.linkLocal === undefined ? nh.global : `${nh.global}%${nh.linkLocal}`;
    let id = this.byKey.get(key);
    if (id !== undefined) {
      this.recs[id]!.refs++;
      return id;
    }
    const g = this.globalFor(nh.global);
    this.globals[g]!.refs++;
    id = this.freeRecs.pop() ?? this.recs.length;
    this.recs[id] = { nh: { ...nh }, key, g, refs: 1 };
    this.byKey.set(key, id);
    return id;
  }

  /** The id of the record of `addr`, made (unreferenced) when there is none. */
  globalFor(addr: string): number {
    let g = this.byAddr.get(addr);
    if (g === undefined) {
      g = this.freeGlobals.pop() ?? this.globals.length;
      this.globals[g] = {
        addr,
        v6: addr.includes(':'),
        bySlot: new Map(),
        refs: 0,
        down: null,
        downList: [],
        was: null,
        wasList: [],
        usedReported: false,
        touched: false,
        usesChanged: false,
      };
      this.byAddr.set(addr, g);
    }
    return g;
  }

  /** One more reference to a record already held. */
  addRef(id: number): void {
    this.recs[id]!.refs++;
  }

  release(id: number): void {
    const r = this.recs[id]!;
    if (--r.refs > 0) return;
    this.byKey.delete(r.key);
    this.recs[id] = null;
    this.freeRecs.push(id);
    const g = this.globals[r.g]!;
    g.refs--;
    this.maybeFreeGlobal(r.g);
  }

  /** Frees the record of global `g` once no next hop holds it and no client reports it unreachable. */
  maybeFreeGlobal(g: number): void {
    const r = this.globals[g]!;
    if (r.refs > 0 || r.downList.length > 0) return;
    this.byAddr.delete(r.addr);
    this.globals[g] = null;
    this.freeGlobals.push(g);
  }

  nextHop(id: number): NextHop {
    return this.recs[id]!.nh;
  }

  global(id: number): string {
    return this.recs[id]!.nh.global;
  }

  /** The global record of next-hop record `id`. */
  globalOf(id: number): GlobalRec {
    return this.globals[this.recs[id]!.g]!;
  }

  /** The index in `globals` of the record for `addr`, or -1 when there is none. */
  globalId(addr: string): number {
    return this.byAddr.get(addr) ?? -1;
  }

  get size(): number {
    return this.byKey.size;
  }
}

// ---------------------------------------------------------------- id queues

/**
 * A FIFO of ids (entries to recompute) in a growable Int32Array. With `dedupe`
 * a bitmap keeps each id queued once (the order is that of first insertion,
 * as a Set's); without, an id may be queued twice, which callers tolerate.
 */
export class IdQueue {
  private buf = new Int32Array(16);
  private head = 0;
  private tail = 0;
  private bits: Uint8Array | null;

  constructor(dedupe: boolean) {
    this.bits = dedupe ? new Uint8Array(64) : null;
  }

  get size(): number {
    return this.tail - this.head;
  }

  add(id: number): void {
    const bits = this.bits;
    if (bits !== null) {
      const byte = id >> 3;
      if (byte >= bits.length) {
        const b = new Uint8Array(nextCap(bits.length, byte + 1));
        b.set(bits);
        this.bits = b;
      }
      const m = 1 << (id & 7);
      if ((this.bits![byte]! & m) !== 0) return;
      this.bits![byte]! |= m;
    }
    if (this.tail === this.buf.length) {
      const n = this.tail - this.head;
      const b = n * 2 < this.buf.length ? this.buf : new Int32Array(this.buf.length * 2);
      b.copyWithin(0, this.head, this.tail);
      if (b !== this.buf) b.set(this.buf.subarray(this.head, this.tail));
      this.buf = b;
      this.head = 0;
      this.tail = n;
    }
    this.buf[this.tail++] = id;
  }

  /** Whether `id` is queued (a deduplicating queue only; false otherwise). */
  has(id: number): boolean {
    const bits = this.bits;
    if (bits === null) return false;
    const byte = id >> 3;
    return byte < bits.length && (bits[byte]! & (1 << (id & 7))) !== 0;
  }

  /** The next id, or NONE when empty. */
  shift(): number {
    if (this.head === this.tail) return NONE;
    const id = this.buf[this.head++]!;
    if (this.bits !== null) this.bits[id >> 3]! &= ~(1 << (id & 7));
    if (this.head === this.tail) this.reset();
    return id;
  }

  clear(): void {
    if (this.bits !== null) this.bits.fill(0);
    this.reset();
  }

  private reset(): void {
    this.head = 0;
    this.tail = 0;
    // Give back a queue that grew under a burst (back-pressure).
    if (this.buf.length > 4096) this.buf = new Int32Array(16);
  }
}
