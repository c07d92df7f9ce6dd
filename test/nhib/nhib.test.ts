import { describe, expect, it } from 'vitest';
import { DEFAULT_DAMPING } from '../../src/nhib/damping.ts';
import { Nhib } from '../../src/nhib/nhib.ts';
import type { NhibNotice } from '../../src/nhib/types.ts';
import { A, B, C, changes, effective, report, rig } from './helpers.ts';

const NH_B = '192.0.2.12';
const NH_C = '192.0.2.13';

function up(r: ReturnType<typeof rig>, ...ids: string[]): void {
  for (const id of ids) r.nhib.sessionUp(id);
}

describe('NHIB states (rs-bfd-profile §5.4)', () => {
  it('§5.4: an entry starts unknown; only unreachable hides, for the reporting client only', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    expect(r.nhib.stateOf(A.id, NH_B)).toBe('unknown');
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(false);

    const ev = r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    expect(effective(ev)).toEqual([`${A.id} ${NH_B} true`]);
    const [ch] = changes(ev);
    expect(ch).toMatchObject({
      client: A.id,
      nextHop: NH_B,
      owner: B.id,
      old: 'unknown',
      new: 'unreachable',
      unreachable: true,
      cause: 'report',
    });
    expect(ch!.message).toBe(
      'AS64501: next hop 192.0.2.12 (AS64502) unknown -> unreachable: paths hidden [report]',
    );
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(true);
    // Another client's view of the same next hop is untouched.
    expect(r.nhib.isUnreachable(C.id, NH_B)).toBe(false);

    r.clock.now += 1000;
    const back = r.nhib.report(A.id, report(A, NH_B, 'reachable'));
    expect(effective(back)).toEqual([`${A.id} ${NH_B} false`]);
    expect(r.nhib.stateOf(A.id, NH_B)).toBe('reachable');
  });

  it('§5.3: a withdrawn report means no opinion: unknown, paths back', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    const ev = r.nhib.withdrawReport(A.id, NH_B);
    expect(effective(ev)).toEqual([`${A.id} ${NH_B} false`]);
    expect(changes(ev)[0]).toMatchObject({ old: 'unreachable', new: 'unknown', cause: 'withdraw' });
    expect(r.nhib.stateOf(A.id, NH_B)).toBe('unknown');
    // The requested entry stays; a second withdraw changes nothing.
    expect(r.nhib.size).toBe(1);
    expect(r.nhib.withdrawReport(A.id, NH_B)).toEqual([]);
  });

  it('§5.4: unknown -> reachable is a logged change, not an effective one', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    const ev = r.nhib.report(A.id, report(A, NH_B, 'reachable'));
    expect(changes(ev)).toHaveLength(1);
    expect(changes(ev)[0]!.effectiveChanged).toBe(false);
    // The same state again: nothing at all.
    expect(r.nhib.report(A.id, report(A, NH_B, 'reachable'))).toEqual([]);
    expect(r.nhib.counters(A.id)).toMatchObject({ reports: 2, applied: 1 });
  });

  it('§5.4: IPv6 next hops, RFC 5952 text as given', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, '2001:db8::12', true);
    const ev = r.nhib.report(A.id, report(A, '2001:db8::12', 'unreachable'));
    expect(effective(ev)).toEqual([`${A.id} 2001:db8::12 true`]);
    expect(changes(ev)[0]!.owner).toBe(B.id);
  });

  it('§7: after an RS restart every entry is unknown (a new NHIB holds nothing)', () => {
    const n = new Nhib();
    n.addClient(A);
    n.sessionUp(A.id);
    expect(n.stateOf(A.id, NH_B)).toBe('unknown');
    expect(n.isUnreachable(A.id, NH_B)).toBe(false);
    expect(n.nextDeadline()).toBeNull();
  });

  it('keeps the report that set the state, and how many paths it hides (from the core)', () => {
    const r = rig({}, { hiddenPaths: (c, nh) => (c === A.id && nh === NH_B ? 42 : 0) });
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    r.nhib.setRequested(A.id, NH_C, true);
    const rep = report(A, NH_B, 'unreachable', { remote: { asn: 64502, routerId: '10.9.9.9' } });
    r.nhib.report(A.id, rep);
    const v = r.nhib.nhibClient(A.id)!;
    expect(v.session).toBe('up');
    expect(v.entries.map((e) => e.nextHop)).toEqual([NH_B, NH_C]);
    expect(v.entries[0]).toMatchObject({
      owner: B.id,
      requested: true,
      state: 'unreachable',
      unreachable: true,
      since: '2026-12-01T00:00:00.000Z',
      hiddenPaths: 42,
      flaps: 1,
      damped: false,
      penalty: 1000,
      report: rep,
    });
    expect(v.entries[1]).toMatchObject({ state: 'unknown', since: null, report: null });
    expect(r.nhib.nhibClient('AS65000')).toBeNull();
  });
});

describe('safety rules (rs-bfd-profile §7)', () => {
  it('§7: a report whose local node ASN is not the client’s is dropped and counted', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    const ev = r.nhib.report(A.id, report(C, NH_B, 'unreachable', { localAddress: '192.0.2.11' }));
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ kind: 'dropped', reason: 'spoofed', client: A.id });
    expect((ev[0] as NhibNotice).message).toContain('local node AS64503');
    expect(r.nhib.stateOf(A.id, NH_B)).toBe('unknown');
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(false);
    expect(r.nhib.counters(A.id).spoofed).toBe(1);
  });

  it('§7: a report whose local interface address is not the client’s is dropped and counted', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    const ev = r.nhib.report(A.id, report(A, NH_B, 'unreachable', { localAddress: '192.0.2.13' }));
    expect(ev[0]).toMatchObject({ kind: 'dropped', reason: 'spoofed' });
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(false);
    // A withdraw naming another client's local node is dropped as well.
    r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    const w = r.nhib.withdrawReport(A.id, {
      nextHop: NH_B,
      local: { asn: 64503, routerId: '1.1.1.1' },
    });
    expect(w[0]).toMatchObject({ kind: 'dropped', reason: 'spoofed' });
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(true);
    expect(r.nhib.counters(A.id).spoofed).toBe(2);
    // ... and one with the client's own fields applies.
    const ok = r.nhib.withdrawReport(A.id, {
      nextHop: NH_B,
      local: { asn: A.asn, routerId: '10.0.0.1' },
      localAddress: '192.0.2.11',
    });
    expect(effective(ok)).toEqual([`${A.id} ${NH_B} false`]);
  });

  it('§4: a report with another LAN’s BGP-LS Identifier is dropped and counted', () => {
    const r = rig({ instanceId: 7 });
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    expect(r.nhib.report(A.id, report(A, NH_B, 'unreachable', { instanceId: 0 }))[0]).toMatchObject(
      {
        kind: 'dropped',
        reason: 'foreign-instance',
      },
    );
    expect(r.nhib.counters(A.id).foreignInstance).toBe(1);
    expect(
      effective(r.nhib.report(A.id, report(A, NH_B, 'unreachable', { instanceId: 7 }))),
    ).toEqual([`${A.id} ${NH_B} true`]);
  });

  it('§7: a report about the client’s own address, or across families, is dropped as invalid', () => {
    const r = rig();
    up(r, A.id);
    expect(r.nhib.report(A.id, report(A, '192.0.2.11', 'unreachable'))[0]).toMatchObject({
      reason: 'invalid',
    });
    expect(
      r.nhib.report(A.id, report(A, NH_B, 'unreachable', { localAddress: '2001:db8::11' }))[0],
    ).toMatchObject({ reason: 'invalid' });
    expect(r.nhib.counters(A.id).invalid).toBe(2);
    expect(r.nhib.size).toBe(0);
  });

  it('§5.1: a report for a next hop that was not requested is kept, counted and noticed', () => {
    const r = rig();
    up(r, A.id);
    const ev = r.nhib.report(A.id, report(A, NH_C, 'unreachable'));
    expect(ev.map((e) => e.kind)).toEqual(['unrequested', 'change']);
    expect(ev[0]!.message).toBe('AS64501: report for 192.0.2.13, which was not requested: kept');
    expect(r.nhib.isUnreachable(A.id, NH_C)).toBe(true);
    expect(r.nhib.isRequested(A.id, NH_C)).toBe(false);
    expect(r.nhib.counters(A.id).unrequested).toBe(1);
    // Once requested, reports about it are no longer noticed.
    r.nhib.setRequested(A.id, NH_C, true);
    expect(r.nhib.report(A.id, report(A, NH_C, 'reachable')).map((e) => e.kind)).toEqual([
      'change',
    ]);
    expect(r.nhib.counters(A.id).unrequested).toBe(1);
  });

  it('unrequested entries are bounded per client; the excess is dropped and counted', () => {
    const r = rig({}, { maxUnrequested: 2 });
    up(r, A.id);
    r.nhib.report(A.id, report(A, '192.0.2.100', 'reachable'));
    r.nhib.report(A.id, report(A, '192.0.2.101', 'reachable'));
    expect(r.nhib.report(A.id, report(A, '192.0.2.102', 'reachable'))[0]).toMatchObject({
      reason: 'limit',
    });
    expect(r.nhib.counters(A.id).overLimit).toBe(1);
    // A withdraw frees the slot (unknown and not requested: nothing kept).
    r.nhib.withdrawReport(A.id, '192.0.2.100');
    expect(r.nhib.size).toBe(1);
    expect(r.nhib.report(A.id, report(A, '192.0.2.102', 'reachable'))[0]!.kind).toBe('unrequested');
  });

  it('§7 fail open: losing the session returns every entry to unknown at once, with events for the unreachable ones', () => {
    const r = rig();
    up(r, A.id, C.id);
    for (const nh of [NH_B, NH_C, '2001:db8::12']) r.nhib.setRequested(A.id, nh, true);
    r.nhib.setRequested(C.id, NH_B, true);
    r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    r.nhib.report(A.id, report(A, '2001:db8::12', 'unreachable'));
    r.nhib.report(A.id, report(A, NH_C, 'reachable'));
    r.nhib.report(C.id, report(C, NH_B, 'unreachable'));
    r.clock.now += 5000;
    const ev = r.nhib.sessionDown(A.id);
    expect(effective(ev).sort()).toEqual([
      `${A.id} 192.0.2.12 false`,
      `${A.id} 2001:db8::12 false`,
    ]);
    // The reachable one is logged too (reachable -> unknown), without an effective change.
    expect(changes(ev)).toHaveLength(3);
    expect(changes(ev).every((e) => e.new === 'unknown' && e.cause === 'session-down')).toBe(true);
    for (const nh of [NH_B, NH_C, '2001:db8::12']) {
      expect(r.nhib.stateOf(A.id, nh)).toBe('unknown');
      expect(r.nhib.isUnreachable(A.id, nh)).toBe(false);
    }
    // Other clients keep their view.
    expect(r.nhib.isUnreachable(C.id, NH_B)).toBe(true);
    // Reports without a session are dropped and counted.
    expect(r.nhib.report(A.id, report(A, NH_B, 'unreachable'))[0]).toMatchObject({
      reason: 'no-session',
    });
    expect(r.nhib.counters(A.id)).toMatchObject({ noSession: 1, sessionLosses: 1 });
    // Back up: everything starts unknown, nothing changes by itself.
    expect(r.nhib.sessionUp(A.id)).toEqual([]);
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(false);
    expect(r.nhib.nhibClient(A.id)!.sessionSince).toBe('2026-12-01T00:00:05.000Z');
  });

  it('enabled: false refuses BGP-LS from the client: no session, reports dropped', () => {
    const r = rig();
    r.nhib.addClient({
      ...A,
      settings: { enabled: false, instanceId: 0, damping: DEFAULT_DAMPING },
    });
    expect(r.nhib.isEnabled(A.id)).toBe(false);
    r.nhib.sessionUp(A.id);
    expect(r.nhib.isSessionUp(A.id)).toBe(false);
    expect(r.nhib.report(A.id, report(A, NH_B, 'unreachable'))[0]).toMatchObject({
      reason: 'disabled',
    });
    expect(r.nhib.nhibClient(A.id)!.session).toBe('disabled');
  });

  it('disabling a client whose session is up fails open at once', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    const ev = r.nhib.addClient({
      ...A,
      settings: { enabled: false, instanceId: 0, damping: DEFAULT_DAMPING },
    });
    expect(effective(ev)).toEqual([`${A.id} ${NH_B} false`]);
    expect(r.nhib.isSessionUp(A.id)).toBe(false);
  });

  it('removing a client fails open and frees its entries', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_C, true);
    r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    const ev = r.nhib.removeClient(A.id);
    expect(effective(ev)).toEqual([`${A.id} ${NH_B} false`]);
    expect(r.nhib.size).toBe(0);
    expect(() => r.nhib.report(A.id, report(A, NH_B, 'unreachable'))).toThrow(/unknown client/);
  });

  it('the request set: entries come and go; a kept report outlives its request', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    r.nhib.setRequested(A.id, NH_C, true);
    expect(r.nhib.size).toBe(2);
    r.nhib.setRequested(A.id, NH_C, false);
    expect(r.nhib.size).toBe(1);
    r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    r.nhib.setRequested(A.id, NH_B, false);
    // Still reported unreachable: kept (the agent should withdraw it).
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(true);
    r.nhib.withdrawReport(A.id, NH_B);
    expect(r.nhib.size).toBe(0);
  });
});

describe('damping (RFC 2439 style, rs-bfd-profile §7)', () => {
  /** Down, then Up a second later, `n` times. Returns the time of the last Down. */
  function flap(r: ReturnType<typeof rig>, n: number, nh = NH_B): number {
    let last = 0;
    for (let i = 0; i < n; i++) {
      last = r.clock.now;
      r.nhib.report(A.id, report(A, nh, 'unreachable'));
      r.clock.now += 500;
      r.nhib.report(A.id, report(A, nh, 'reachable'));
      r.clock.now += 500;
    }
    return last;
  }

  it('RFC 2439 §4.2: the first Down is never delayed, with the defaults or any parameters', () => {
    for (const damping of [
      DEFAULT_DAMPING,
      { ...DEFAULT_DAMPING, penalty: 5000 },
      { ...DEFAULT_DAMPING, enabled: false },
    ]) {
      const r = rig({ damping });
      up(r, A.id);
      r.nhib.setRequested(A.id, NH_B, true);
      expect(effective(r.nhib.report(A.id, report(A, NH_B, 'unreachable')))).toEqual([
        `${A.id} ${NH_B} true`,
      ]);
    }
  });

  it('RFC 2439 §4.2: defaults: one or two flaps are not damped, a third is', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    flap(r, 2);
    expect(r.nhib.isDamped(A.id, NH_B)).toBe(false);
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(false);
    expect(r.nhib.nextDeadline()).toBeNull();
    const third = r.clock.now;
    const down = r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    expect(changes(down)[0]).toMatchObject({ damped: true, unreachable: true });
    expect(r.nhib.counters(A.id)).toMatchObject({ flaps: 3, suppressions: 1 });
    // Penalty: 1000·2^(-2/15) + 1000·2^(-1/15) + 1000 = 2867; 750 reached 29.0 s later.
    const d = r.nhib.nextDeadline()!;
    expect(d - third).toBeGreaterThan(28_900);
    expect(d - third).toBeLessThan(29_100);
    expect(r.nhib.nhibClient(A.id)!.entries[0]).toMatchObject({
      damped: true,
      penalty: 2867,
      reuseAt: new Date(d).toISOString(),
      flaps: 3,
    });
  });

  it('RFC 2439 §4.2: a damped next hop reported reachable stays unreachable until the penalty decays to reuse', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    flap(r, 3);
    // Reported reachable again, but damped: still unreachable for A, no effective change.
    expect(r.nhib.stateOf(A.id, NH_B)).toBe('reachable');
    expect(r.nhib.isDamped(A.id, NH_B)).toBe(true);
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(true);
    const d = r.nhib.nextDeadline()!;
    expect(r.nhib.tick(d - 1)).toEqual([]);
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(true);
    r.clock.now = d;
    const ev = r.nhib.tick(d);
    expect(effective(ev)).toEqual([`${A.id} ${NH_B} false`]);
    expect(changes(ev)[0]).toMatchObject({
      old: 'reachable',
      new: 'reachable',
      wasDamped: true,
      damped: false,
      cause: 'damping-released',
    });
    expect(r.nhib.nextDeadline()).toBeNull();
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(false);
  });

  it('RFC 2439 §4.2: released while reported unreachable: stays unreachable (the report rules)', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    flap(r, 3);
    r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    const d = r.nhib.nextDeadline()!;
    const ev = r.nhib.tick(d);
    expect(changes(ev)[0]).toMatchObject({
      damped: false,
      effectiveChanged: false,
      unreachable: true,
    });
  });

  it('RFC 2439 §4.2: a withdraw while damped keeps the next hop unreachable until reuse', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    flap(r, 3);
    const w = r.nhib.withdrawReport(A.id, NH_B);
    expect(changes(w)[0]).toMatchObject({ new: 'unknown', damped: true, effectiveChanged: false });
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(true);
    expect(effective(r.nhib.tick(r.nhib.nextDeadline()!))).toEqual([`${A.id} ${NH_B} false`]);
  });

  it('RFC 2439 §4.2: max suppress time bounds the hold-down after the last flap', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    const last = flap(r, 40);
    const d = r.nhib.nextDeadline()!;
    expect(d - last).toBeLessThanOrEqual(DEFAULT_DAMPING.maxSuppressMs);
    expect(d - last).toBeGreaterThan(DEFAULT_DAMPING.maxSuppressMs - 2);
    expect(r.nhib.nhibClient(A.id)!.entries[0]!.flaps).toBe(40);
  });

  it('RFC 2439: damping disabled never holds a next hop', () => {
    const r = rig({ damping: { ...DEFAULT_DAMPING, enabled: false } });
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    flap(r, 10);
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(false);
    expect(r.nhib.nextDeadline()).toBeNull();
    expect(r.nhib.counters(A.id)).toMatchObject({ flaps: 10, suppressions: 0 });
  });

  it('§7: losing the session clears damping (fail open); turning damping off releases', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    r.nhib.setRequested(A.id, NH_C, true);
    flap(r, 3);
    const ev = r.nhib.sessionDown(A.id);
    expect(effective(ev)).toEqual([`${A.id} ${NH_B} false`]);
    expect(r.nhib.nextDeadline()).toBeNull();
    r.nhib.sessionUp(A.id);
    expect(r.nhib.isUnreachable(A.id, NH_B)).toBe(false);
    // A fresh start: one Down does not damp.
    r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    r.nhib.report(A.id, report(A, NH_B, 'reachable'));
    expect(r.nhib.isDamped(A.id, NH_B)).toBe(false);

    flap(r, 3, NH_C);
    expect(r.nhib.isDamped(A.id, NH_C)).toBe(true);
    const off = r.nhib.addClient({
      ...A,
      settings: { enabled: true, instanceId: 0, damping: { ...DEFAULT_DAMPING, enabled: false } },
    });
    expect(effective(off)).toEqual([`${A.id} ${NH_C} false`]);
    expect(changes(off)[0]!.cause).toBe('damping-disabled');
  });

  it('a changed half-life keeps the current penalty', () => {
    const r = rig();
    up(r, A.id);
    r.nhib.setRequested(A.id, NH_B, true);
    flap(r, 3);
    const before = r.nhib.nhibClient(A.id)!.entries[0]!.penalty;
    r.nhib.addClient({
      ...A,
      settings: {
        enabled: true,
        instanceId: 0,
        damping: { ...DEFAULT_DAMPING, halfLifeMs: 30_000 },
      },
    });
    expect(r.nhib.nhibClient(A.id)!.entries[0]!.penalty).toBe(before);
    expect(r.nhib.isDamped(A.id, NH_B)).toBe(true);
  });
});

describe('matrix view', () => {
  it('one character per (client, owner), counts and the unreachable entries', () => {
    const r = rig();
    up(r, A.id, B.id);
    r.nhib.setRequested(A.id, NH_B, true);
    r.nhib.setRequested(A.id, '2001:db8::12', true);
    r.nhib.setRequested(A.id, NH_C, true);
    r.nhib.setRequested(B.id, '192.0.2.11', true);
    r.nhib.report(A.id, report(A, NH_B, 'unreachable'));
    r.nhib.report(A.id, report(A, '2001:db8::12', 'reachable'));
    r.nhib.report(A.id, report(A, NH_C, 'unreachable'));
    r.nhib.report(B.id, report(B, '192.0.2.11', 'reachable'));
    r.nhib.report(B.id, report(B, '192.0.2.99', 'reachable'));
    const m = r.nhib.nhibMatrix();
    expect(m.owners).toEqual([A.id, B.id, C.id, '(other)']);
    expect(m.rows.map((x) => [x.client, x.session, x.cells, x.unreachable])).toEqual([
      [A.id, 'up', '\\xX-', 2],
      [B.id, 'up', '.\\-.', 0],
      [C.id, 'down', '--\\-', 0],
    ]);
    expect(m.counts).toMatchObject({
      clients: 3,
      sessionsUp: 2,
      entries: 5,
      requested: 4,
      reachable: 3,
      unreachable: 2,
    });
    expect(m.problems.map((p) => `${p.client} ${p.nextHop} ${p.owner}`)).toEqual([
      `${A.id} ${NH_B} ${B.id}`,
      `${A.id} ${NH_C} ${C.id}`,
    ]);
  });
});
