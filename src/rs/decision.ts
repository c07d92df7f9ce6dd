// Per-client decision (RFC 7947 §2.3, path hiding solved): a client's best path
// for a prefix is the first path of the prefix's ranking that is eligible for
// it — accepted, not its own, let through by export policy, next hop not
// unreachable in the client's NHIB. Nothing per client is materialised except
// what was last sent (the compact Adj-RIB-Out kept on the prefix entry).

import type { NextHop, PathAttributes } from '../bgp/types.ts';
import type { AttrUse, Client, EntryId, OutRef, PathId, Session } from './model.ts';
import type { Policy } from './policy-api.ts';
import type { Tables } from './rib.ts';
import { NONE } from './store.ts';

/** Export verdict: not sent (else 1 + the prepend count). */
export const NO_SEND = 255;

/** Interns OutRefs: one per (outbound attribute object, next hop). */
export class OutInterner {
  private readonly map = new WeakMap<PathAttributes, OutRef[]>();
  private nextId = 1;

  get(attrs: PathAttributes, nextHop: NextHop, nhKey: string): OutRef {
    let l = this.map.get(attrs);
    if (l === undefined) this.map.set(attrs, (l = []));
    for (const o of l) if (o.nhKey === nhKey) return o;
    const o: OutRef = { id: this.nextId++, attrs, nextHop, nhKey, slot: 0, refs: 0 };
    l.push(o);
    return o;
  }
}

export class Decision {
  readonly policy: Policy;
  readonly outs = new OutInterner();
  /** Number of export-policy evaluations (cache misses), for tests and stats. */
  exportCalls = 0;
  private readonly t: Tables;

  constructor(policy: Policy, t: Tables) {
    this.policy = policy;
    this.t = t;
  }

  use(p: PathId): AttrUse {
    return this.t.uses[this.t.paths.use[p]!]!;
  }

  client(p: PathId): Client {
    return this.t.bySlot[this.t.paths.sess[p]!]!.client;
  }

  /** Export verdict of `p` toward `to`, cached per (announcing client, attribute set, target). */
  exportCode(p: PathId, to: Client): number {
    return this.exportCodeUse(this.use(p), this.client(p), to);
  }

  /** Export verdict of attribute set `use` of client `from` toward `to` (cached): NO_SEND or 1 + prepend. */
  exportCodeUse(use: AttrUse, from: Client, to: Client): number {
    let exp = use.exp;
    if (to.idx >= exp.length) {
      const grown = new Uint8Array(Math.max(to.idx + 1, exp.length * 2));
      grown.set(exp);
      use.exp = exp = grown;
    }
    let v = exp[to.idx]!;
    if (v === 0) {
      this.exportCalls++;
      const verdict = this.policy.exportPath(from.cfg, to.cfg, use.attrs);
      v = verdict.send ? 1 + Math.max(0, Math.min(3, verdict.prepend | 0)) : NO_SEND;
      exp[to.idx] = v;
    }
    return v;
  }

  /**
   * The clients toward which `p`'s attribute set is not sent as is (export
   * policy says no, or asks for a prepend): the exceptions to the shared answer.
   * Computed once per (announcing client, attribute set).
   */
  exportExceptions(p: PathId, clients: readonly Client[]): Client[] {
    const use = this.use(p);
    if (use.expExc !== null && use.expExcN === clients.length) return use.expExc;
    const exc: Client[] = [];
    for (const c of clients) if (this.exportCode(p, c) !== 1) exc.push(c);
    use.expExc = exc;
    use.expExcN = clients.length;
    return exc;
  }

  /** 0 when `p` is not eligible for session `s`, else 1 + the prepend count to apply. */
  eligible(p: PathId, s: Session): number {
    const to = s.client;
    if (this.client(p) === to) return 0;
    const v = this.exportCode(p, to);
    if (v === NO_SEND) return 0;
    const T = this.t;
    const g = T.nhs.globalOf(T.paths.nh[p]!);
    // rs-bfd-profile §5: the client reported the next hop unreachable (reach.ts).
    const down = g.down;
    if (down !== null && down[to.idx] === 1) return 0;
    // RFC 8950: an IPv4 route with an IPv6 next hop only to sessions that negotiated it.
    const f = T.entries.famOf(T.paths.entry[p]!);
    if (g.v6 && T.entries.famAfi[f] === 1) {
      if (!s.up?.extendedNextHop.has(T.entries.famNames[f]!)) return 0;
    }
    return v;
  }

  outRef(p: PathId, prependPlusOne: number): OutRef {
    const use = this.use(p);
    const rec = this.t.nhs.recs[this.t.paths.nh[p]!]!;
    let cache = use.outCache;
    if (cache === null) use.outCache = cache = [];
    for (let i = 0; i < cache.length; i++) {
      const c = cache[i]!;
      if (c.pp === prependPlusOne && c.nh === rec) return c.o;
    }
    const attrs = this.policy.outbound(use.attrs, prependPlusOne - 1, this.client(p).cfg.asn);
    const o = this.outs.get(attrs, rec.nh, rec.key);
    cache.push({ pp: prependPlusOne, nh: rec, o });
    return o;
  }

  /** The best eligible path for `s`, as what would be sent, or null. */
  desired(e: EntryId, s: Session): OutRef | null {
    const next = this.t.paths.next;
    for (let p = this.t.entries.head[e]!; p !== NONE; p = next[p]!) {
      const v = this.eligible(p, s);
      if (v !== 0) return this.outRef(p, v);
    }
    return null;
  }

  /** The best eligible path for `s`, or NONE. */
  bestPath(e: EntryId, s: Session): PathId {
    const next = this.t.paths.next;
    for (let p = this.t.entries.head[e]!; p !== NONE; p = next[p]!) {
      if (this.eligible(p, s) !== 0) return p;
    }
    return NONE;
  }

  /** Every eligible path for `s` keyed by the RS's path id (ADD-PATH send, RFC 7911). */
  desiredAll(e: EntryId, s: Session): Map<number, OutRef> {
    const m = new Map<number, OutRef>();
    const P = this.t.paths;
    for (let p = this.t.entries.head[e]!; p !== NONE; p = P.next[p]!) {
      const v = this.eligible(p, s);
      if (v === 0) continue;
      let id = P.txId(p);
      if (id === 0) P.setTxId(p, (id = this.t.entries.takeTxId(e)));
      m.set(id, this.outRef(p, v));
    }
    return m;
  }
}

// ---------------------------------------------------------------- compact Adj-RIB-Out

/**
 * What each synced non-ADD-PATH session was last sent for each entry: the
 * entry's outDefault, except for the sessions recorded as exceptions
 * (EntryStore.xs/xo, then the pairs of EntryStore.xm).
 */
export class AdjOut {
  private readonly t: Tables;

  constructor(t: Tables) {
    this.t = t;
  }

  /** What was last sent to `s` for `e`. */
  sentTo(e: EntryId, s: Session): OutRef | null {
    const E = this.t.entries;
    if (E.xs[e] === s.slot + 1) return E.xo(e);
    const xm = E.xm.get(e);
    if (xm !== undefined) {
      for (let i = 0; i < xm.length; i += 2) if (xm[i] === s) return xm[i + 1] as OutRef | null;
    }
    return E.outDefault(e);
  }

  /** Forgets every exception (all synced sessions hold outDefault). */
  clear(e: EntryId): void {
    const E = this.t.entries;
    E.xs[e] = 0;
    E.setXo(e, null);
    E.xm.delete(e);
  }

  /** Calls `fn` for every session with an exception. */
  forEach(e: EntryId, fn: (s: Session) => void): void {
    const E = this.t.entries;
    const xs = E.xs[e]!;
    if (xs !== 0) fn(this.t.bySlot[xs - 1]!);
    const xm = E.xm.get(e);
    if (xm !== undefined) for (let i = 0; i < xm.length; i += 2) fn(xm[i] as Session);
  }

  /** Drops the exception of `s`, if any. */
  forget(e: EntryId, s: Session): void {
    const E = this.t.entries;
    const xm = E.xm.get(e);
    if (E.xs[e] === s.slot + 1) {
      if (xm !== undefined) {
        E.xs[e] = (xm[xm.length - 2] as Session).slot + 1;
        E.setXo(e, xm[xm.length - 1] as OutRef | null);
        xm.length -= 2;
        if (xm.length === 0) E.xm.delete(e);
      } else {
        E.xs[e] = 0;
        E.setXo(e, null);
      }
      return;
    }
    if (xm === undefined) return;
    for (let i = 0; i < xm.length; i += 2) {
      if (xm[i] !== s) continue;
      xm[i] = xm[xm.length - 2]!;
      xm[i + 1] = xm[xm.length - 1]!;
      xm.length -= 2;
      if (xm.length === 0) E.xm.delete(e);
      return;
    }
  }

  /** Records that `s` was sent `out` for `e`. */
  set(e: EntryId, s: Session, out: OutRef | null): void {
    const E = this.t.entries;
    if (out === E.outDefault(e)) {
      this.forget(e, s);
      return;
    }
    if (E.xs[e] === s.slot + 1) {
      E.setXo(e, out);
      return;
    }
    const xm = E.xm.get(e);
    if (xm !== undefined) {
      for (let i = 0; i < xm.length; i += 2) {
        if (xm[i] === s) {
          xm[i + 1] = out;
          return;
        }
      }
    }
    if (E.xs[e] === 0) {
      E.xs[e] = s.slot + 1;
      E.setXo(e, out);
      return;
    }
    if (xm === undefined) E.xm.set(e, [s, out]);
    else xm.push(s, out);
  }
}
