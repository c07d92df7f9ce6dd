// Per-client decision (RFC 7947 §2.3, path hiding solved): a client's best path
// for a prefix is the first path of the prefix's ranking that is eligible for
// it — accepted, not its own, let through by export policy, next hop not
// unreachable in the client's NHIB. Nothing per client is materialised except
// what was last sent (the compact Adj-RIB-Out kept on the prefix entry).

import type { PathAttributes } from '../bgp/types.ts';
import type { NextHopOracle } from '../nhib/oracle.ts';
import type { Client, OutRef, Path, PrefixEntry, Session } from './model.ts';
import type { Policy } from './policy-api.ts';
import { nextHopKey } from './rib.ts';

const NO_SEND = 255;

/** Interns OutRefs: one per (outbound attribute object, next hop). */
export class OutInterner {
  private readonly map = new WeakMap<PathAttributes, OutRef[]>();
  private nextId = 1;

  get(attrs: PathAttributes, p: Path): OutRef {
    const nhKey = nextHopKey(p.nextHop);
    let l = this.map.get(attrs);
    if (l === undefined) this.map.set(attrs, (l = []));
    for (const o of l) if (o.nhKey === nhKey) return o;
    const o: OutRef = { id: this.nextId++, attrs, nextHop: p.nextHop, nhKey };
    l.push(o);
    return o;
  }
}

export class Decision {
  readonly policy: Policy;
  readonly oracle: NextHopOracle;
  readonly outs = new OutInterner();
  /** Number of export-policy evaluations (cache misses), for tests and stats. */
  exportCalls = 0;

  constructor(policy: Policy, oracle: NextHopOracle) {
    this.policy = policy;
    this.oracle = oracle;
  }

  /** Export verdict of `p` toward `to`, cached per (announcing client, attribute set, target). */
  exportCode(p: Path, to: Client): number {
    const use = p.use;
    let exp = use.exp;
    if (to.idx >= exp.length) {
      const grown = new Uint8Array(Math.max(to.idx + 1, exp.length * 2));
      grown.set(exp);
      use.exp = exp = grown;
    }
    let v = exp[to.idx]!;
    if (v === 0) {
      this.exportCalls++;
      const from = p.session.client;
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
  exportExceptions(p: Path, clients: readonly Client[]): Client[] {
    const use = p.use;
    if (use.expExc !== null && use.expExcN === clients.length) return use.expExc;
    const exc: Client[] = [];
    for (const c of clients) if (this.exportCode(p, c) !== 1) exc.push(c);
    use.expExc = exc;
    use.expExcN = clients.length;
    return exc;
  }

  /** 0 when `p` is not eligible for session `s`, else 1 + the prepend count to apply. */
  eligible(p: Path, s: Session): number {
    const to = s.client;
    if (p.session.client === to) return 0;
    const v = this.exportCode(p, to);
    if (v === NO_SEND) return 0;
    if (to.nhibActive && this.oracle.isUnreachable(to.cfg.id, p.nextHop.global)) return 0;
    // RFC 8950: an IPv4 route with an IPv6 next hop only to sessions that negotiated it.
    if (p.afi === 1 && p.nextHop.global.includes(':') && !s.up?.extendedNextHop.has(p.fam))
      return 0;
    return v;
  }

  outRef(p: Path, prependPlusOne: number): OutRef {
    const use = p.use;
    const nh = p.nextHop;
    let cache = use.outCache;
    if (cache === null) use.outCache = cache = [];
    for (let i = 0; i < cache.length; i++) {
      const c = cache[i]!;
      if (
        c.pp === prependPlusOne &&
        (c.nh === nh || (c.nh.global === nh.global && c.nh.linkLocal === nh.linkLocal))
      ) {
        return c.o;
      }
    }
    const attrs = this.policy.outbound(use.attrs, prependPlusOne - 1, p.session.client.cfg.asn);
    const o = this.outs.get(attrs, p);
    cache.push({ pp: prependPlusOne, nh, o });
    return o;
  }

  /** The best eligible path for `s`, as what would be sent, or null. */
  desired(e: PrefixEntry, s: Session): OutRef | null {
    const paths = e.paths;
    for (let i = 0; i < paths.length; i++) {
      const p = paths[i]!;
      const v = this.eligible(p, s);
      if (v !== 0) return this.outRef(p, v);
    }
    return null;
  }

  /** The best eligible path for `s` (the Path itself), or null. */
  bestPath(e: PrefixEntry, s: Session): Path | null {
    for (const p of e.paths) if (this.eligible(p, s) !== 0) return p;
    return null;
  }

  /** Every eligible path for `s` keyed by the RS's path id (ADD-PATH send, RFC 7911). */
  desiredAll(e: PrefixEntry, s: Session): Map<number, OutRef> {
    const m = new Map<number, OutRef>();
    for (const p of e.paths) {
      const v = this.eligible(p, s);
      if (v !== 0) m.set(p.txId, this.outRef(p, v));
    }
    return m;
  }
}

// ---------------------------------------------------------------- compact Adj-RIB-Out

/** What was last sent to `s` for `e` (non-ADD-PATH sessions that the entry is synced for). */
export function sentTo(e: PrefixEntry, s: Session): OutRef | null {
  if (e.xs === s) return e.xo;
  const xm = e.xm;
  if (xm !== null) {
    for (let i = 0; i < xm.length; i += 2) if (xm[i] === s) return xm[i + 1] as OutRef | null;
  }
  return e.outDefault;
}

/** Forgets every exception (all synced sessions hold outDefault). */
export function clearSent(e: PrefixEntry): void {
  e.xs = null;
  e.xo = null;
  e.xm = null;
}

/** Calls `fn` for every session with an exception. */
export function forEachException(e: PrefixEntry, fn: (s: Session) => void): void {
  if (e.xs !== null) fn(e.xs);
  const xm = e.xm;
  if (xm !== null) for (let i = 0; i < xm.length; i += 2) fn(xm[i] as Session);
}

/** Drops the exception of `s`, if any. */
export function forgetSent(e: PrefixEntry, s: Session): void {
  const xm = e.xm;
  if (e.xs === s) {
    if (xm !== null) {
      e.xs = xm[xm.length - 2] as Session;
      e.xo = xm[xm.length - 1] as OutRef | null;
      xm.length -= 2;
      if (xm.length === 0) e.xm = null;
    } else {
      e.xs = null;
      e.xo = null;
    }
    return;
  }
  if (xm === null) return;
  for (let i = 0; i < xm.length; i += 2) {
    if (xm[i] !== s) continue;
    xm[i] = xm[xm.length - 2]!;
    xm[i + 1] = xm[xm.length - 1]!;
    xm.length -= 2;
    if (xm.length === 0) e.xm = null;
    return;
  }
}

/** Records that `s` was sent `out` for `e`. */
export function setSent(e: PrefixEntry, s: Session, out: OutRef | null): void {
  if (out === e.outDefault) {
    forgetSent(e, s);
    return;
  }
  if (e.xs === s) {
    e.xo = out;
    return;
  }
  const xm = e.xm;
  if (xm !== null) {
    for (let i = 0; i < xm.length; i += 2) {
      if (xm[i] === s) {
        xm[i + 1] = out;
        return;
      }
    }
  }
  if (e.xs === null) {
    e.xs = s;
    e.xo = out;
    return;
  }
  if (xm === null) e.xm = [s, out];
  else xm.push(s, out);
}
