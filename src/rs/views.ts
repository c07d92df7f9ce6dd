// Operator queries (`ixrs show`, the control socket): routes of a prefix
// with each path's rank and eligibility for a client, client and session
// summaries, counters. Read only.

import type { ClientSummary, RouteView, SessionSnapshot } from './api.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { PathId, Session } from './model.ts';
import type { RejectCode } from './policy-api.ts';
import type { CoreState } from './state.ts';
import { ACCEPTED, NONE, STALE } from './store.ts';

const NO_REASONS: RejectCode[] = [];

export class Views {
  private readonly s: CoreState;
  private readonly life: Lifecycle;

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
