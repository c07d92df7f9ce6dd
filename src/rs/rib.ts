// Adj-RIB-In storage and the prefix table (RFC 7947 §2.1), with the decision
// process run once per prefix (RFC 4271 §9.1.2.2 adapted to a route server).
//
// Every accepted path of a prefix, from every client, sits in one ranked list
// (PrefixEntry.paths). Clients do not get a RIB of their own: decision.ts walks
// that ranking to find the first path eligible for a client.

import type { NextHop, PathAttributes } from '../bgp/types.ts';
import type { AttrUse, Client, Path, PrefixEntry } from './model.ts';

// ---------------------------------------------------------------- interning

/**
 * One PathAttributes object per distinct attribute section (`wire`), shared by
 * every path and client that uses it. Reference counted by AttrUse.
 */
export class AttrInternTable {
  private readonly map = new Map<string, { attrs: PathAttributes; refs: number }>();
  /** Interning key of every object seen (weak: received copies do not stay alive). */
  private readonly keys = new WeakMap<PathAttributes, string>();

  get size(): number {
    return this.map.size;
  }

  private key(attrs: PathAttributes): string {
    let key = this.keys.get(attrs);
    if (key === undefined) {
      const w = attrs.wire;
      key = Buffer.from(w.buffer, w.byteOffset, w.byteLength).toString('latin1');
      this.keys.set(attrs, key);
    }
    return key;
  }

  /** The shared object equal to `attrs` (by wire bytes), or `attrs` itself when none is held. */
  canonical(attrs: PathAttributes): PathAttributes {
    return this.map.get(this.key(attrs))?.attrs ?? attrs;
  }

  /** Holds one reference to the shared object equal to `attrs` and returns it. */
  intern(attrs: PathAttributes): PathAttributes {
    const key = this.key(attrs);
    const hit = this.map.get(key);
    if (hit !== undefined) {
      hit.refs++;
      return hit.attrs;
    }
    this.map.set(key, { attrs, refs: 1 });
    return attrs;
  }

  release(attrs: PathAttributes): void {
    const key = this.keys.get(attrs);
    if (key === undefined) return;
    const hit = this.map.get(key);
    if (hit === undefined || hit.attrs !== attrs) return;
    if (--hit.refs === 0) this.map.delete(key);
  }
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

/** The AttrUse of `attrs` for `client` (created on first use), one more reference held. */
export function acquireUse(
  client: Client,
  attrs: PathAttributes,
  interner: AttrInternTable,
  clientCap: number,
): AttrUse {
  let u = client.uses.get(attrs);
  if (u === undefined) {
    const canonical = interner.canonical(attrs);
    u = client.uses.get(canonical);
    if (u === undefined) {
      const shared = interner.intern(canonical);
      u = {
        attrs: shared,
        refs: 0,
        asPathLen: asPathLength(shared),
        origin: shared.origin ?? 2,
        med: shared.med ?? 0,
        neighborAs: neighborAs(shared, client.cfg.asn),
        exp: new Uint8Array(clientCap),
        expExc: null,
        expExcN: -1,
        outCache: null,
      };
      client.uses.set(shared, u);
    }
  }
  u.refs++;
  return u;
}

export function releaseUse(client: Client, use: AttrUse, interner: AttrInternTable): void {
  if (--use.refs > 0) return;
  client.uses.delete(use.attrs);
  interner.release(use.attrs);
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

function tieBreak(a: Path, b: Path): number {
  // RFC 4271 §9.1.2.2 (f) lowest BGP Identifier, (g) lowest peer address.
  const sa = a.session;
  const sb = b.session;
  if (sa !== sb) {
    if (sa.bgpId !== sb.bgpId) return sa.bgpId < sb.bgpId ? -1 : 1;
    const ka = sessionAddrKey(sa.address);
    const kb = sessionAddrKey(sb.address);
    if (ka !== kb) return ka < kb ? -1 : 1;
  }
  return a.rxId - b.rxId;
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

/** RFC 4271 §9.1.2.2 without LOCAL_PREF (RS clients are all eBGP) and without the MED step. */
function compareNoMed(a: Path, b: Path): number {
  const ua = a.use;
  const ub = b.use;
  if (ua.asPathLen !== ub.asPathLen) return ua.asPathLen - ub.asPathLen;
  if (ua.origin !== ub.origin) return ua.origin - ub.origin;
  return tieBreak(a, b);
}

function compareWithMed(a: Path, b: Path): number {
  const ua = a.use;
  const ub = b.use;
  if (ua.asPathLen !== ub.asPathLen) return ua.asPathLen - ub.asPathLen;
  if (ua.origin !== ub.origin) return ua.origin - ub.origin;
  if (ua.med !== ub.med) return ua.med - ub.med;
  return tieBreak(a, b);
}

/**
 * Orders `paths` best first. MED is compared only between paths from the same
 * neighbour AS (RFC 4271 §9.1.2.2 (c)) unless alwaysCompareMed; to keep the
 * result independent of arrival order, paths are first ranked within their
 * neighbour AS (MED applies there) and the per-AS lists are then merged by the
 * remaining criteria ("deterministic MED").
 */
export function rankPaths(paths: Path[], opts: RankOptions): void {
  if (paths.length < 2) return;
  if (opts.alwaysCompareMed) {
    paths.sort(compareWithMed);
    return;
  }
  const nas = paths[0]!.use.neighborAs;
  let single = true;
  for (let i = 1; i < paths.length; i++) {
    if (paths[i]!.use.neighborAs !== nas) {
      single = false;
      break;
    }
  }
  if (single) {
    paths.sort(compareWithMed);
    return;
  }
  const byAs = new Map<number, Path[]>();
  for (const p of paths) {
    const l = byAs.get(p.use.neighborAs);
    if (l === undefined) byAs.set(p.use.neighborAs, [p]);
    else l.push(p);
  }
  const lists = [...byAs.values()];
  for (const l of lists) l.sort(compareWithMed);
  const heads = new Array<number>(lists.length).fill(0);
  for (let out = 0; out < paths.length; out++) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const cand = lists[i]![heads[i]!];
      if (cand === undefined) continue;
      if (best < 0 || compareNoMed(cand, lists[best]![heads[best]!]!) < 0) best = i;
    }
    paths[out] = lists[best]![heads[best]!++]!;
  }
}

// ---------------------------------------------------------------- prefix table

export function nextHopKey(nh: NextHop): string {
  return nh.linkLocal === undefined ? nh.global : `${nh.global}%${nh.linkLocal}`;
}

/** The prefix table: one Map per family, prefix text -> entry. */
export class PrefixTable {
  readonly families = new Map<string, Map<string, PrefixEntry>>();
  private seq = 0;

  family(fam: string): Map<string, PrefixEntry> {
    let t = this.families.get(fam);
    if (t === undefined) this.families.set(fam, (t = new Map()));
    return t;
  }

  get(fam: string, prefix: string): PrefixEntry | undefined {
    return this.families.get(fam)?.get(prefix);
  }

  getOrCreate(fam: string, afi: number, safi: number, prefix: string): PrefixEntry {
    const t = this.family(fam);
    let e = t.get(prefix);
    if (e === undefined) {
      e = {
        prefix,
        fam,
        afi,
        safi,
        seq: ++this.seq,
        paths: [],
        rejected: null,
        nextTxId: 1,
        outDefault: null,
        xs: null,
        xo: null,
        xm: null,
        apRefs: 0,
      };
      t.set(prefix, e);
    }
    return e;
  }

  /** Removes the entry when nothing references it any more (no path, nothing sent). */
  maybeDelete(e: PrefixEntry): void {
    if (e.paths.length > 0 || e.outDefault !== null || e.apRefs > 0) return;
    if (e.rejected !== null && e.rejected.length > 0) return;
    if (e.xo !== null) return;
    if (e.xm !== null) for (let i = 1; i < e.xm.length; i += 2) if (e.xm[i] !== null) return;
    const t = this.families.get(e.fam);
    if (t?.get(e.prefix) === e) t.delete(e.prefix);
  }

  get size(): number {
    let n = 0;
    for (const t of this.families.values()) n += t.size;
    return n;
  }
}

/** True when two paths of the list share a neighbour AS (then MED matters and order is not a plain sort). */
function sharesNeighborAs(paths: Path[], p: Path | null): boolean {
  const n = paths.length;
  if (p !== null) {
    const a = p.use.neighborAs;
    for (let i = 0; i < n; i++) if (paths[i] !== p && paths[i]!.use.neighborAs === a) return true;
    return false;
  }
  if (n < 2) return false;
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const a = paths[i]!.use.neighborAs;
    if (seen.has(a)) return true;
    seen.add(a);
  }
  return false;
}

/**
 * Inserts an accepted path into its entry. When every path comes from a
 * different neighbour AS (the common case at an IXP), MED never applies and the
 * ranking is a plain order: binary insertion. Otherwise the entry is re-ranked.
 */
export function insertPath(e: PrefixEntry, p: Path, opts: RankOptions): void {
  p.entry = e;
  const paths = e.paths;
  if (paths.length === 0) {
    e.paths = [p]; // a literal of one: V8 gives a pushed-to empty array room for 17
    return;
  }
  if (!opts.alwaysCompareMed && (sharesNeighborAs(paths, p) || sharesNeighborAs(paths, null))) {
    paths.push(p);
    rankPaths(paths, opts);
    return;
  }
  const cmp = opts.alwaysCompareMed ? compareWithMed : compareNoMed;
  let lo = 0;
  let hi = paths.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(paths[mid]!, p) <= 0) lo = mid + 1;
    else hi = mid;
  }
  paths.splice(lo, 0, p);
}

/** Removes a path from its entry; re-ranks only when MED grouping can change the order. */
export function removePath(p: Path, opts: RankOptions): void {
  const e = p.entry;
  if (e === null) return;
  const i = e.paths.indexOf(p);
  if (i >= 0) e.paths.splice(i, 1);
  p.entry = null;
  if (!opts.alwaysCompareMed && sharesNeighborAs(e.paths, null)) rankPaths(e.paths, opts);
}
