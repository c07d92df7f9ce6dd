// Adj-RIB-In storage and the prefix table (RFC 7947 §2.1), with the decision
// process run once per prefix (RFC 4271 §9.1.2.2 adapted to a route server).
//
// Every accepted path of a prefix, from every client, sits in one ranked list
// (EntryStore.head, linked through PathStore.next). Clients do not get a RIB
// of their own: decision.ts walks that ranking to find the first path
// eligible for a client.

import { BytePool, hashBytes, sameBytes } from '../bgp/attributes.ts';
import type { PathAttributes } from '../bgp/types.ts';
import type { AttrUse, Client, EntryId, PathId, Session } from './model.ts';
import { type EntryStore, type NextHopTable, NONE, type PathStore } from './store.ts';

/** The core's storage, as the ranking and the decision read it. */
export interface Tables {
  paths: PathStore;
  entries: EntryStore;
  /** AttrUse by id (PathStore.use); null = free. */
  uses: (AttrUse | null)[];
  /** Session by slot (PathStore.sess). */
  bySlot: Session[];
  nhs: NextHopTable;
}

// ---------------------------------------------------------------- interning

/** An interned attribute set: the shared object and its references (AttrUse). */
interface Interned {
  attrs: PathAttributes;
  refs: number;
  /** Next set whose wire hashes the same. */
  next: Interned | null;
}

/**
 * One PathAttributes object per distinct attribute section (`wire`), shared by
 * every path and client that uses it. Reference counted by AttrUse.
 *
 * `wire` comes from the codec with every flags octet already as RFC 4271 §4.3
 * allows a speaker to send it (decodeAttributes corrects them once per
 * received section): sections that differ only in their flags intern to one
 * set, and nothing is corrected per client on output.
 *
 * Found by a hash of the wire bytes (a chain per hash, compared octet by
 * octet): no key string per set nor per received UPDATE. The wire of a set
 * interned is copied into `BytePool` slabs when it is a view of a received
 * message: it must not keep the socket's read chunk alive.
 */
export class AttrInternTable {
  private readonly map = new Map<number, Interned>();
  private readonly pool = new BytePool(16384);
  private count = 0;

  get size(): number {
    return this.count;
  }

  private find(w: Uint8Array, h: number): Interned | null {
    for (let x = this.map.get(h) ?? null; x !== null; x = x.next) {
      if (sameBytes(x.attrs.wire, w, 0, w.length)) return x;
    }
    return null;
  }

  /** The shared object equal to `attrs` (by wire bytes), or `attrs` itself when none is held. */
  canonical(attrs: PathAttributes): PathAttributes {
    const w = attrs.wire;
    return this.find(w, hashKey(w))?.attrs ?? attrs;
  }

  /** Holds one reference to the shared object equal to `attrs` and returns it. */
  intern(attrs: PathAttributes): PathAttributes {
    const w = attrs.wire;
    const h = hashKey(w);
    const hit = this.find(w, h);
    if (hit !== null) {
      hit.refs++;
      return hit.attrs;
    }
    if (w.byteOffset !== 0 || w.buffer.byteLength !== w.length) attrs.wire = this.pool.copy(w);
    this.map.set(h, { attrs, refs: 1, next: this.map.get(h) ?? null });
    this.count++;
    return attrs;
  }

  release(attrs: PathAttributes): void {
    const w = attrs.wire;
    const h = hashKey(w);
    let prev: Interned | null = null;
    for (let x = this.map.get(h) ?? null; x !== null; prev = x, x = x.next) {
      if (x.attrs !== attrs) continue;
      if (--x.refs > 0) return;
      if (prev !== null) prev.next = x.next;
      else if (x.next !== null) this.map.set(h, x.next);
      else this.map.delete(h);
      this.count--;
      return;
    }
  }
}

/** hashBytes of the whole array, kept in V8's small-integer range (a Map key without a boxed number). */
function hashKey(w: Uint8Array): number {
  return hashBytes(w, 0, w.length) & 0x3fffffff;
}

/** RFC 4271 §9.1.2.2 (a): AS_SET counts as 1, AS_CONFED_SEQUENCE/SET as 0. */
export function asPathLength(attrs: PathAttributes): number {
  let n = 0;
  for (const seg of attrs.asPath) {
    if (seg.type === 2) n += seg.asns.length;
    else if (seg.type === 1) n += 1;
  }
  return n;
}

/** The neighbouring AS: leftmost AS of a leading AS_SEQUENCE, else the announcing client's AS. */
export function neighborAs(attrs: PathAttributes, fallback: number): number {
  const first = attrs.asPath[0];
  if (first !== undefined && first.type === 2 && first.asns.length > 0) return first.asns[0]!;
  return fallback;
}

/**
 * Ids of AttrUse objects in Tables.uses, reused after release; and the
 * storage of their export-verdict arrays (AttrUse.exp): views into slabs of
 * 1024 ids, one `cap`-octet row per id, instead of a Uint8Array of its own
 * per attribute set (an ArrayBuffer, a backing store and a malloc block each:
 * ~250 bytes more, 5 MiB at 20,000 attribute sets).
 */
export class UseIds {
  private readonly free: number[] = [];
  private readonly uses: (AttrUse | null)[];
  /** Row length of the slabs; they are dropped (views keep theirs) when it grows. */
  private cap = 0;
  private slabs: Uint8Array[] = [];
  constructor(uses: (AttrUse | null)[]) {
    this.uses = uses;
  }
  take(): number {
    return this.free.pop() ?? this.uses.length;
  }
  give(id: number): void {
    this.uses[id] = null;
    this.free.push(id);
  }
  /** A zeroed `cap`-octet verdict row for use `id` (the row of a released id is reused). */
  verdicts(id: number, cap: number): Uint8Array {
    if (cap !== this.cap) {
      this.cap = cap;
      this.slabs = [];
    }
    const k = id >> 10;
    let slab = this.slabs[k];
    if (slab === undefined) {
      while (this.slabs.length < k) this.slabs.push(EMPTY_SLAB);
      this.slabs[k] = slab = new Uint8Array(1024 * cap);
    } else if (slab === EMPTY_SLAB) this.slabs[k] = slab = new Uint8Array(1024 * cap);
    const o = (id & 1023) * cap;
    const row = slab.subarray(o, o + cap);
    row.fill(0);
    return row;
  }
}
const EMPTY_SLAB = new Uint8Array(0);

/** The AttrUse of `attrs` for `client` (created on first use), one more reference held. */
export function acquireUse(
  client: Client,
  attrs: PathAttributes,
  interner: AttrInternTable,
  clientCap: number,
  uses: (AttrUse | null)[],
  ids: UseIds,
): AttrUse {
  let u = client.uses.get(attrs);
  if (u === undefined) {
    const canonical = interner.canonical(attrs);
    u = client.uses.get(canonical);
    if (u === undefined) {
      const shared = interner.intern(canonical);
      const id = ids.take();
      // Room for one entry, which is what most sets get (decision.ts pushes
      // onto it): `[]` then push would reserve 17 (~125 bytes more per set).
      const outCache: NonNullable<AttrUse['outCache']> = [OUT_PLACEHOLDER];
      outCache.pop();
      u = {
        id,
        attrs: shared,
        refs: 0,
        asPathLen: asPathLength(shared),
        origin: shared.origin ?? 2,
        med: shared.med ?? 0,
        neighborAs: neighborAs(shared, client.cfg.asn),
        exp: ids.verdicts(id, clientCap),
        expExc: null,
        expExcN: -1,
        outCache,
      };
      client.uses.set(shared, u);
      uses[id] = u;
    }
  }
  u.refs++;
  return u;
}
const OUT_PLACEHOLDER = null as unknown as NonNullable<AttrUse['outCache']>[number];

export function releaseUse(
  client: Client,
  use: AttrUse,
  interner: AttrInternTable,
  ids: UseIds,
): void {
  if (--use.refs > 0) return;
  client.uses.delete(use.attrs);
  interner.release(use.attrs);
  ids.give(use.id);
}

// ---------------------------------------------------------------- ranking

/** Sort key for "lowest peer address": family digit + fixed-width hex of the address. */
export function addressSortKey(addr: string): string {
  if (!addr.includes(':')) {
    const parts = addr.split('.');
    if (parts.length === 4) {
      return `4${parts.map((p) => Number(p).toString(16).padStart(2, '0')).join('')}`;
    }
    return `9${addr}`;
  }
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? h
      : [...h, ...new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `6${groups.map((g) => g.padStart(4, '0')).join('')}`;
}

export interface RankOptions {
  /** Compare MED between paths from different neighbour ASes too. */
  alwaysCompareMed: boolean;
}

const addrKeys = new Map<string, string>();
function sessionAddrKey(addr: string): string {
  let k = addrKeys.get(addr);
  if (k === undefined) {
    k = addressSortKey(addr);
    if (addrKeys.size > 100_000) addrKeys.clear();
    addrKeys.set(addr, k);
  }
  return k;
}

/**
 * The decision process run once per prefix over path ids: RFC 4271 §9.1.2.2
 * without LOCAL_PREF (RS clients are all eBGP). Keeps each entry's accepted
 * paths as a ranked list, best first.
 */
export class Ranking {
  private readonly t: Tables;
  private readonly opts: RankOptions;
  /** Scratch list of path ids (reused: ranking allocates nothing per call). */
  private readonly scratch: number[] = [];

  constructor(t: Tables, opts: RankOptions) {
    this.t = t;
    this.opts = opts;
  }

  private use(p: PathId): AttrUse {
    return this.t.uses[this.t.paths.use[p]!]!;
  }

  neighborAs(p: PathId): number {
    return this.use(p).neighborAs;
  }

  private tieBreak(a: PathId, b: PathId): number {
    // RFC 4271 §9.1.2.2 (f) lowest BGP Identifier, (g) lowest peer address.
    const P = this.t.paths;
    const sa = P.sess[a]!;
    const sb = P.sess[b]!;
    if (sa !== sb) {
      const A = this.t.bySlot[sa]!;
      const B = this.t.bySlot[sb]!;
      if (A.bgpId !== B.bgpId) return A.bgpId < B.bgpId ? -1 : 1;
      const ka = sessionAddrKey(A.address);
      const kb = sessionAddrKey(B.address);
      if (ka !== kb) return ka < kb ? -1 : 1;
    }
    return P.rxId(a) - P.rxId(b);
  }

  /** Without the MED step. */
  readonly compareNoMed = (a: PathId, b: PathId): number => {
    const ua = this.use(a);
    const ub = this.use(b);
    if (ua.asPathLen !== ub.asPathLen) return ua.asPathLen - ub.asPathLen;
    if (ua.origin !== ub.origin) return ua.origin - ub.origin;
    return this.tieBreak(a, b);
  };

  readonly compareWithMed = (a: PathId, b: PathId): number => {
    const ua = this.use(a);
    const ub = this.use(b);
    if (ua.asPathLen !== ub.asPathLen) return ua.asPathLen - ub.asPathLen;
    if (ua.origin !== ub.origin) return ua.origin - ub.origin;
    if (ua.med !== ub.med) return ua.med - ub.med;
    return this.tieBreak(a, b);
  };

  /**
   * Orders `paths` best first. MED is compared only between paths from the
   * same neighbour AS (RFC 4271 §9.1.2.2 (c)) unless alwaysCompareMed; to keep
   * the result independent of arrival order, paths are first ranked within
   * their neighbour AS (MED applies there) and the per-AS lists are then
   * merged by the remaining criteria ("deterministic MED").
   */
  rank(paths: PathId[]): void {
    if (paths.length < 2) return;
    if (this.opts.alwaysCompareMed || !this.sharesNeighborAs(paths)) {
      paths.sort(this.opts.alwaysCompareMed ? this.compareWithMed : this.compareNoMed);
      return;
    }
    const byAs = new Map<number, PathId[]>();
    for (const p of paths) {
      const a = this.neighborAs(p);
      const l = byAs.get(a);
      if (l === undefined) byAs.set(a, [p]);
      else l.push(p);
    }
    const lists = [...byAs.values()];
    for (const l of lists) l.sort(this.compareWithMed);
    const heads = new Array<number>(lists.length).fill(0);
    for (let out = 0; out < paths.length; out++) {
      let best = -1;
      for (let i = 0; i < lists.length; i++) {
        const cand = lists[i]![heads[i]!];
        if (cand === undefined) continue;
        if (best < 0 || this.compareNoMed(cand, lists[best]![heads[best]!]!) < 0) best = i;
      }
      paths[out] = lists[best]![heads[best]!++]!;
    }
  }

  /** True when two paths of the list share a neighbour AS (then MED matters). */
  private sharesNeighborAs(paths: PathId[]): boolean {
    const n = paths.length;
    if (n < 2) return false;
    if (n <= 8) {
      for (let i = 0; i < n; i++) {
        const a = this.neighborAs(paths[i]!);
        for (let j = i + 1; j < n; j++) if (this.neighborAs(paths[j]!) === a) return true;
      }
      return false;
    }
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const a = this.neighborAs(paths[i]!);
      if (seen.has(a)) return true;
      seen.add(a);
    }
    return false;
  }

  /** The entry's ranked list into the scratch array. */
  private collect(e: EntryId): number[] {
    const s = this.scratch;
    s.length = 0;
    const next = this.t.paths.next;
    for (let p = this.t.entries.head[e]!; p !== NONE; p = next[p]!) s.push(p);
    return s;
  }

  private relink(e: EntryId, list: number[]): void {
    const next = this.t.paths.next;
    let prev = NONE;
    for (let i = list.length - 1; i >= 0; i--) {
      next[list[i]!] = prev;
      prev = list[i]!;
    }
    this.t.entries.head[e] = prev;
  }

  /**
   * Inserts an accepted path into its entry's ranking. When every path comes
   * from a different neighbour AS (the common case at an IXP), MED never
   * applies and the ranking is a plain order: ordered insertion. Otherwise the
   * entry is re-ranked.
   */
  insert(e: EntryId, p: PathId): void {
    const E = this.t.entries;
    const next = this.t.paths.next;
    if (E.head[e] === NONE) {
      next[p] = NONE;
      E.head[e] = p;
      return;
    }
    const list = this.collect(e);
    list.push(p);
    if (!this.opts.alwaysCompareMed && this.sharesNeighborAs(list)) {
      this.rank(list);
      this.relink(e, list);
      return;
    }
    const cmp = this.opts.alwaysCompareMed ? this.compareWithMed : this.compareNoMed;
    let prev = NONE;
    let q = E.head[e]!;
    while (q !== NONE && cmp(q, p) <= 0) {
      prev = q;
      q = next[q]!;
    }
    next[p] = q;
    if (prev === NONE) E.head[e] = p;
    else next[prev] = p;
  }

  /**
   * Removes a path from its entry's ranking; re-ranks when MED grouping can
   * change the order, and also when the path removed was the last that shared
   * a neighbour AS: the list is then still in the deterministic-MED merge
   * order, which need not be the plain order that insert() assumes (a path
   * behind a lower-MED one of its AS can belong before another AS's path).
   */
  remove(e: EntryId, p: PathId): void {
    const E = this.t.entries;
    const next = this.t.paths.next;
    unlink(E.head, e, next, p);
    if (!this.opts.alwaysCompareMed && E.head[e] !== NONE) {
      const list = this.collect(e);
      if (this.sharesNeighborAs(list) || !this.inPlainOrder(list)) {
        this.rank(list);
        this.relink(e, list);
      }
    }
  }

  /** Whether `list` is ordered by compareNoMed (one pass, no sort). */
  private inPlainOrder(list: PathId[]): boolean {
    for (let i = 1; i < list.length; i++) {
      if (this.compareNoMed(list[i - 1]!, list[i]!) > 0) return false;
    }
    return true;
  }
}

/** Removes `p` from the singly linked list starting at heads[e]. */
export function unlink(heads: Int32Array, e: EntryId, next: Int32Array, p: PathId): void {
  let q = heads[e]!;
  if (q === p) {
    heads[e] = next[p]!;
    next[p] = NONE;
    return;
  }
  while (q !== NONE) {
    const n = next[q]!;
    if (n === p) {
      next[q] = next[p]!;
      next[p] = NONE;
      return;
    }
    q = n;
  }
}
