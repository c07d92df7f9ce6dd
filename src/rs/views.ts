// Operator queries (`ixrs show`, the control socket): routes of a prefix
// with each path's rank and eligibility for a client, client and session
// summaries, counters. Read only.

import { formatPrefix, parsePrefix } from '../bgp/prefix.ts';
import type { ClientSummary, ExportView, RouteQuery, RouteView, SessionSnapshot } from './api.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { PathId, Session } from './model.ts';
import { reached } from './output.ts';
import type { RejectCode } from './policy-api.ts';
import type { CoreState } from './state.ts';
import { ACCEPTED, NONE, STALE } from './store.ts';

const NO_REASONS: RejectCode[] = [];

export class Views {
  private readonly s: CoreState;
  private readonly life: Lifecycle;

  /**
   * Routes by prefix relation and/or by announcing client (`ixrs show routes`
   * IP, PREFIX --longer|--shorter, --client C --received|--filtered). Walks
   * the prefix table (longer, by client) or looks up each shorter prefix;
   * stops after `limit` routes (truncated: true).
   */
  findRoutes(q: RouteQuery): { routes: RouteView[]; truncated: boolean } {
    const limit = q.limit ?? 1000;
    const out: RouteView[] = [];
    let truncated = false;
    const fromSessions = q.from === undefined ? null : this.sessionsOf(q.from);
    const fromSlots = fromSessions === null ? null : new Set(fromSessions.map((s) => s.slot));
    const fromKeys = fromSessions === null ? null : new Set(fromSessions.map((s) => s.key));
    const keep = (v: RouteView[]): boolean => {
      for (const r of v) {
        if (q.only === 'received' && !r.accepted) continue;
        if (q.only === 'filtered' && r.accepted) continue;
        if (fromKeys !== null && !fromKeys.has(r.session)) continue;
        if (out.length >= limit) {
          truncated = true;
          return false;
        }
        out.push(r);
      }
      return true;
    };
    const E = this.s.entries;
    if (q.prefix !== undefined && (q.match ?? 'exact') !== 'longer') {
      const p = parsePrefix(q.prefix);
      const match = q.match ?? 'exact';
      if (match === 'exact') {
        keep(this.routes(formatPrefix(p), q.client));
        return { routes: out, truncated };
      }
      // Every covering prefix, most specific first.
      for (let len = p.len; len >= 0; len--) {
        const v = this.routes(formatPrefix({ afi: p.afi, len, bytes: p.bytes }), q.client);
        if (v.length === 0) continue;
        if (match === 'longest') {
          // The longest prefix with an accepted path (else the longest with any).
          if (!v.some((r) => r.accepted) && out.length === 0) {
            keep(v);
            continue;
          }
          out.length = 0;
          keep(v);
          return { routes: out, truncated };
        }
        if (!keep(v)) break;
      }
      return { routes: out, truncated };
    }
    const within = q.prefix === undefined ? null : parsePrefix(q.prefix);
    for (let e = 0; e < E.limit; e++) {
      if (!E.live(e)) continue;
      const text = E.prefix(e);
      if (within !== null && !covers(within, text)) continue;
      if (fromSlots !== null && !this.entryHasFrom(e, fromSlots)) continue;
      if (!keep(this.routes(text, q.client))) break;
    }
    return { routes: out, truncated };
  }

  /** What the route server last announced to client `ref` (`ixrs show rib --client C`). */
  exported(ref: string, limit = 1000): { routes: ExportView[]; truncated: boolean } {
    const out: ExportView[] = [];
    const E = this.s.entries;
    for (const s of this.sessionsOf(ref)) {
      if (s.up === null) continue;
      for (let e = 0; e < E.limit; e++) {
        if (!E.live(e)) continue;
        this.sentFor(e, s, out);
        if (out.length >= limit) return { routes: out.slice(0, limit), truncated: true };
      }
    }
    return { routes: out, truncated: false };
  }

  /**
   * What session `key` holds now for prefix entry `e` (its Adj-RIB-Out: one
   * route, one per path id with ADD-PATH send, none), as the bytes written to
   * it so far say: an entry its initial dump has not reached holds nothing.
   */
  exportedAt(e: number, key: string): ExportView[] {
    const out: ExportView[] = [];
    const s = this.s.sessionsByKey.get(key);
    if (s !== undefined && this.s.entries.live(e)) this.sentFor(e, s, out);
    return out;
  }

  private sentFor(e: number, s: Session, out: ExportView[]): void {
    const up = s.up;
    const E = this.s.entries;
    if (up === null || !reached(this.s, s, e)) return;
    const fam = E.fam(e);
    if (up.addPathTx.has(fam)) {
      const m = up.apOut.get(e);
      if (m === undefined) return;
      const prefix = E.prefix(e);
      for (const [tx, o] of m)
        out.push({ prefix, session: s.key, pathId: tx, nextHop: o.nextHop, attrs: o.attrs });
      return;
    }
    const o = this.s.adjOut.sentTo(e, s);
    if (o !== null)
      out.push({
        prefix: E.prefix(e),
        session: s.key,
        pathId: 0,
        nextHop: o.nextHop,
        attrs: o.attrs,
      });
  }

  private sessionsOf(ref: string): Session[] {
    const c = this.s.clients.get(ref);
    return c === undefined ? [this.life.session(ref)] : [...c.sessions.values()];
  }

  private entryHasFrom(e: number, slots: Set<number>): boolean {
    const P = this.s.paths;
    for (let p = this.s.entries.head[e]!; p !== NONE; p = P.next[p]!) {
      if (slots.has(P.sess[p]!)) return true;
    }
    for (let p = this.s.entries.rej(e); p !== NONE; p = P.next[p]!) {
      if (slots.has(P.sess[p]!)) return true;
    }
    return false;
  }

  routes(prefix: string, clientId?: string): RouteView[] {
    const asked = clientId === undefined ? undefined : this.viewSession(clientId);
    const out: RouteView[] = [];
    const E = this.s.entries;
    const P = this.s.paths;
    for (let f = 0; f < E.famNames.length; f++) {
      const e = E.get(f, prefix);
      if (e === NONE) continue;
      const best = asked !== undefined ? this.s.decision.bestPath(e, asked) : NONE;
      let rank = 0;
      for (let p = E.head[e]!; p !== NONE; p = P.next[p]!) {
        const v = this.view(p, ++rank);
        if (asked !== undefined) {
          v.best = p === best;
          const why = this.s.decision.whyNot(p, asked);
          v.eligible = why === null;
          if (why !== null) v.notSent = why;
        }
        out.push(v);
      }
      for (let p = E.rej(e); p !== NONE; p = P.next[p]!) {
        const v = this.view(p, null);
        if (asked !== undefined) {
          v.best = false;
          v.eligible = false;
        }
        out.push(v);
      }
    }
    return out;
  }

  /** The session a view asks about: as session(), or a client's first established session (else its first). */
  viewSession(ref: string): Session {
    const c = this.s.clients.get(ref);
    if (c === undefined || c.sessions.size === 1) return this.life.session(ref);
    let first: Session | undefined;
    for (const s of c.sessions.values()) {
      if (s.up !== null) return s;
      first ??= s;
    }
    return first!;
  }

  view(p: PathId, rank: number | null): RouteView {
    const P = this.s.paths;
    const s = this.s.bySlot[P.sess[p]!]!;
    const flags = P.flags[p]!;
    return {
      prefix: this.s.entries.prefix(P.entry[p]!),
      receivedAt: P.at[p]! * 1000,
      from: s.client.cfg.id,
      session: s.key,
      pathId: P.rxId(p),
      rank,
      accepted: (flags & ACCEPTED) !== 0,
      reasons: P.reasons.get(p) ?? NO_REASONS,
      stale: (flags & STALE) !== 0,
      nextHop: this.s.nhs.nextHop(P.nh[p]!),
      attrs: this.s.uses[P.use[p]!]!.attrs,
    };
  }

  clientSummary(clientId: string): ClientSummary {
    const c = this.s.clients.get(clientId) ?? this.life.session(clientId).client;
    const st = c.stats;
    return {
      id: c.cfg.id,
      received: st.received,
      accepted: st.accepted,
      rejected: st.rejected,
      rejectedKept: st.rejectedKept,
      rejectedNotKept: st.rejectedNotKept,
      rejectedByReason: Object.fromEntries(
        [...st.rejectedByReason].map(([k, v]) => [String(k), v]),
      ),
      blocked: st.blocked,
      withdrawnReceived: st.withdrawnReceived,
      treatAsWithdraw: st.treatAsWithdraw,
      acceptedByAfi: Object.fromEntries([...c.acceptedByAfi].map(([k, v]) => [String(k), v])),
      sentUpdates: st.sentUpdates,
      sentNlri: st.sentNlri,
    };
  }

  /** Prefixes (paths, with ADD-PATH) the client's sessions currently hold from the RS. */
  ribCount(clientId: string): number {
    const c = this.s.clients.get(clientId);
    if (c === undefined) return this.life.session(clientId).up?.held ?? 0;
    let n = 0;
    for (const s of c.sessions.values()) n += s.up?.held ?? 0;
    return n;
  }

  sessions(): SessionSnapshot[] {
    const out: SessionSnapshot[] = [];
    for (const s of this.s.sessionsByKey.values()) {
      const up = s.up;
      out.push({
        client: s.client.cfg.id,
        session: s.key,
        address: s.address,
        state: s.state,
        since: s.since,
        families: up === null ? [] : [...up.families],
        group: up === null ? null : up.group.key,
        blocked: up?.blocked ?? false,
        dumping:
          up === null ? [] : [...up.fam].filter(([, st]) => st.kind === 'dump').map(([f]) => f),
        held: up?.held ?? 0,
        adjIn: s.adjCount,
      });
    }
    return out;
  }

  /** Internal counters for tests and `show` (interned attribute sets, table size). */
  stats(): { prefixes: number; attrSets: number; exportCalls: number; encodes: number } {
    return {
      prefixes: this.s.entries.size,
      attrSets: this.s.interner.size,
      exportCalls: this.s.decision.exportCalls,
      encodes: this.s.encodes,
    };
  }

  constructor(s: CoreState, life: Lifecycle) {
    this.s = s;
    this.life = life;
  }
}

/** Whether prefix text `t` is `outer` or more specific than it (same family). */
function covers(outer: { afi: number; len: number; bytes: Uint8Array }, t: string): boolean {
  const p = parsePrefix(t);
  if (p.afi !== outer.afi || p.len < outer.len) return false;
  const full = outer.len >> 3;
  for (let i = 0; i < full; i++) if (p.bytes[i] !== outer.bytes[i]) return false;
  const rest = outer.len & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (p.bytes[full]! & mask) === outer.bytes[full];
}
