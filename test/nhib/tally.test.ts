// Nhib.tally(): every client's entries in numbers, in one pass (the metrics),
// agreeing with the per-client view (ixrs show nhib CLIENT).

import { describe, expect, it } from 'vitest';
import { A, B, C, report, rig } from './helpers.ts';

describe('NHIB tally (metrics)', () => {
  it('§5.4: counts entries by reported state, damped, effective, and the paths they hide, per client', () => {
    const r = rig({}, { hiddenPaths: (c, nh) => (c === A.id && nh === '192.0.2.12' ? 7 : 0) });
    for (const id of [A.id, B.id]) r.nhib.sessionUp(id);
    r.nhib.setRequested(A.id, '192.0.2.12', true);
    r.nhib.setRequested(A.id, '192.0.2.13', true);
    r.nhib.setRequested(A.id, '2001:db8::12', true);
    r.nhib.setRequested(B.id, '192.0.2.11', true);
    r.nhib.report(A.id, report(A, '192.0.2.12', 'unreachable'));
    r.nhib.report(A.id, report(A, '192.0.2.13', 'reachable'));
    r.nhib.report(B.id, report(B, '192.0.2.11', 'reachable'));
    const t = Object.fromEntries(r.nhib.tally().map((x) => [x.client, x]));
    expect(t[A.id]).toMatchObject({
      session: 'up',
      unknown: 1,
      reachable: 1,
      unreachable: 1,
      damped: 0,
      effective: 1,
      hiddenPaths: 7,
    });
    expect(t[A.id]!.counters.reports).toBe(2);
    expect(t[B.id]).toMatchObject({ unknown: 0, reachable: 1, unreachable: 0, effective: 0 });
    expect(t[C.id]).toMatchObject({ session: 'down', unknown: 0, reachable: 0, hiddenPaths: 0 });
    // The same as the per-client view.
    const v = r.nhib.nhibClient(A.id)!;
    expect(v.entries.filter((e) => e.state === 'unknown')).toHaveLength(t[A.id]!.unknown);
    expect(v.entries.reduce((n, e) => n + e.hiddenPaths, 0)).toBe(t[A.id]!.hiddenPaths);
  });
});
