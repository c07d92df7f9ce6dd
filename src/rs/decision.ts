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
    return v;
  }

  outRef(p: Path, prependPlusOne: number): OutRef {
    let outs = p.outs;
    if (outs === null) p.outs = outs = [];
    let o = outs[prependPlusOne];
    if (o === undefined) {
      const attrs = this.policy.outbound(p.use.attrs, prependPlusOne - 1, p.session.client.cfg.asn);
      o = outs[prependPlusOne] = this.outs.get(attrs, p);
    }
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
  const excS = e.excS;
  if (excS !== null) {
    const i = excS.indexOf(s);
    if (i >= 0) return e.excO![i]!;
  }
  return e.outDefault;
}

/** Records that `s` was sent `out` for `e`. */
export function setSent(e: PrefixEntry, s: Session, out: OutRef | null): void {
  let excS = e.excS;
  const i = excS === null ? -1 : excS.indexOf(s);
  if (out === e.outDefault) {
    if (i >= 0) {
      excS!.splice(i, 1);
      e.excO!.splice(i, 1);
      if (excS!.length === 0) e.excS = e.excO = null;
    }
    return;
  }
  if (i >= 0) {
    e.excO![i] = out;
    return;
  }
  if (excS === null) {
    e.excS = excS = [];
    e.excO = [];
  }
  excS.push(s);
  e.excO!.push(out);
}

/** Drops a session's exception (it is not synced for the entry any more). */
export function forgetSent(e: PrefixEntry, s: Session): void {
  const excS = e.excS;
  if (excS === null) return;
  const i = excS.indexOf(s);
  if (i < 0) return;
  excS.splice(i, 1);
  e.excO!.splice(i, 1);
  if (excS.length === 0) e.excS = e.excO = null;
}
