import { describe, expect, it } from 'vitest';
import {
  type AgentAction,
  AgentCore,
  type AgentCoreOptions,
  type BfdStateName,
  type CheckLink,
} from '../../src/agent/core.ts';

const A = { asn: 64501, routerId: '192.0.2.1' };
const B = { asn: 64502, routerId: '192.0.2.2' };
const C = { asn: 64503, routerId: '192.0.2.3' };

function link(nextHop: string, remote = B, instanceId = 0): CheckLink {
  return { instanceId, local: A, remote, localAddress: '192.0.2.1', nextHop };
}

/** A core on a virtual clock, with the actions it emitted (verdicts left out unless asked). */
function harness(o: AgentCoreOptions = {}) {
  const core = new AgentCore(o);
  let now = 1000;
  const log: AgentAction[] = [];
  const take = (acts: AgentAction[]) => {
    log.push(...acts);
    return acts.filter((a) => a.type !== 'verdict');
  };
  return {
    core,
    log,
    get now() {
      return now;
    },
    /** Advance the clock, firing the deadlines passed on the way. */
    advance(ms: number): AgentAction[] {
      const end = now + ms;
      const out: AgentAction[] = [];
      for (;;) {
        const d = core.nextDeadline();
        if (d > end) break;
        now = Math.max(now, d);
        out.push(...take(core.timer(now)));
      }
      now = end;
      return out;
    },
    up: (ch = 'ipv4') => take(core.sessionUp(ch, now)),
    down: (ch = 'ipv4') => take(core.sessionDown(ch, now)),
    eor: (ch = 'ipv4') => take(core.endOfRib(ch, now)),
    req: (l: CheckLink, ch = 'ipv4') => take(core.request(ch, l, now)),
    unreq: (l: CheckLink, ch = 'ipv4') => take(core.withdrawRequest(ch, l, now)),
    bfd: (
      peer: string,
      state: BfdStateName,
      previous: BfdStateName,
      diag = 'none',
      remoteState: BfdStateName = state === 'Up' ? 'Up' : 'Down',
    ) => take(core.bfd({ peer, state, previous, diag, remoteState }, now)),
  };
}

const N1 = '192.0.2.11';
const N2 = '192.0.2.12';

function reports(acts: AgentAction[]) {
  return acts.map((a) =>
    a.type === 'report'
      ? `report ${a.channel} ${a.link.nextHop} ${a.state}`
      : a.type === 'withdraw'
        ? `withdraw ${a.channel} ${a.link.nextHop}`
        : a.type === 'verdict'
          ? `verdict ${a.nextHop} ${a.verdict}`
          : a.type === 'end-of-rib'
            ? `end-of-rib ${a.channel}`
            : `${a.type} ${a.nextHop}`,
  );
}

describe('agent core: requests (profile §5.1-5.2)', () => {
  it('profile §5.2: a request starts one active BFD session and reports nothing yet', () => {
    const h = harness();
    expect(reports(h.up())).toEqual(['end-of-rib ipv4']);
    expect(reports(h.req(link(N1)))).toEqual([`bfd-start ${N1}`]);
    expect(h.core.status()[0]).toMatchObject({ nextHop: N1, verdict: 'pending', report: 'none' });
  });

  it('profile §5.2: the same next hop requested twice is checked once, each request reported', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    // Same NLRI again (the RS re-sending its set): nothing at all.
    expect(h.req(link(N1))).toEqual([]);
    // Another NLRI naming the same next hop (other remote node): no second BFD session.
    expect(reports(h.req(link(N1, C)))).toEqual([]);
    expect(h.core.size).toBe(1);
    expect(reports(h.bfd(N1, 'Up', 'Init'))).toEqual([
      `report ipv4 ${N1} reachable`,
      `report ipv4 ${N1} reachable`,
    ]);
    // One of them withdrawn: its report goes, the session stays.
    expect(reports(h.unreq(link(N1, C)))).toEqual([`withdraw ipv4 ${N1}`]);
    expect(h.core.isChecked(N1)).toBe(true);
    // The last one: report withdrawn and the BFD session stopped.
    expect(reports(h.unreq(link(N1)))).toEqual([`withdraw ipv4 ${N1}`, `bfd-stop ${N1}`]);
    expect(h.core.size).toBe(0);
  });

  it('profile §5.3: a request for a next hop already Up is reported reachable at once', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    h.bfd(N1, 'Up', 'Init');
    expect(reports(h.req(link(N1, C)))).toEqual([`report ipv4 ${N1} reachable`]);
  });

  it('profile §5.3: a request withdrawn withdraws the report (no opinion) and stops BFD', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    h.bfd(N1, 'Up', 'Init');
    expect(reports(h.unreq(link(N1)))).toEqual([`withdraw ipv4 ${N1}`, `bfd-stop ${N1}`]);
    // A withdraw for something never requested is ignored.
    expect(h.unreq(link(N2))).toEqual([]);
  });

  it('profile §5.3: a request withdrawn before any report sends no withdraw', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    expect(reports(h.unreq(link(N1)))).toEqual([`bfd-stop ${N1}`]);
    // Its bring-up timer is gone with it.
    expect(h.advance(20_000)).toEqual([]);
  });

  it('profile §5.2: BFD changes of sessions nobody requested (passive) are ignored', () => {
    const h = harness();
    h.up();
    expect(h.bfd(N2, 'Up', 'Init')).toEqual([]);
  });
});

describe('agent core: report rules (profile §6)', () => {
  it('profile §6: reachable once the session is Up (hold-down 0)', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    expect(h.bfd(N1, 'Init', 'Down')).toEqual([]);
    expect(reports(h.bfd(N1, 'Up', 'Init'))).toEqual([`report ipv4 ${N1} reachable`]);
    expect(h.core.status()[0]).toMatchObject({
      bfd: 'Up',
      verdict: 'reachable',
      report: 'reachable',
    });
  });

  it('profile §6: unreachable when an Up session goes Down (detection time expired)', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    h.bfd(N1, 'Up', 'Init');
    expect(reports(h.bfd(N1, 'Down', 'Up', 'control-detection-time-expired'))).toEqual([
      `report ipv4 ${N1} unreachable`,
    ]);
    const v = h.log.filter((a) => a.type === 'verdict').at(-1);
    expect(v).toMatchObject({ verdict: 'unreachable', asn: 64502 });
    expect(v?.type === 'verdict' && v.reason).toContain('control-detection-time-expired');
  });

  it('profile §6: unreachable when the neighbour signals Down', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    h.bfd(N1, 'Up', 'Init');
    expect(reports(h.bfd(N1, 'Down', 'Up', 'neighbor-signaled-session-down', 'Down'))).toEqual([
      `report ipv4 ${N1} unreachable`,
    ]);
  });

  it('profile §6: unreachable when a requested session is not Up within the bring-up timeout (10 s default)', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    expect(h.advance(9_999)).toEqual([]);
    expect(reports(h.advance(1))).toEqual([`report ipv4 ${N1} unreachable`]);
    // It comes Up later: reachable.
    expect(reports(h.bfd(N1, 'Up', 'Init'))).toEqual([`report ipv4 ${N1} reachable`]);
  });

  it('profile §6: the bring-up timeout is settable, and does not fire once Up', () => {
    const h = harness({ bringUpMs: 3000 });
    h.up();
    h.req(link(N1));
    h.req(link(N2));
    h.advance(1000);
    h.bfd(N1, 'Up', 'Init');
    expect(reports(h.advance(2000))).toEqual([`report ipv4 ${N2} unreachable`]);
    expect(h.core.status().find((s) => s.nextHop === N1)?.verdict).toBe('reachable');
  });

  it('profile §6: Down from Init keeps the bring-up timer (not an Up to Down)', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    h.bfd(N1, 'Init', 'Down');
    expect(h.bfd(N1, 'Down', 'Init', 'control-detection-time-expired')).toEqual([]);
    expect(reports(h.advance(10_000))).toEqual([`report ipv4 ${N1} unreachable`]);
  });

  it('profile §6: AdminDown from the peer is maintenance: the report is withdrawn', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    h.bfd(N1, 'Up', 'Init');
    expect(reports(h.bfd(N1, 'Down', 'Up', 'neighbor-signaled-session-down', 'AdminDown'))).toEqual(
      [`withdraw ipv4 ${N1}`],
    );
    expect(h.core.status()[0]?.verdict).toBe('maintenance');
    // No bring-up timeout while in maintenance.
    expect(h.advance(60_000)).toEqual([]);
    // Back from maintenance.
    h.bfd(N1, 'Init', 'Down');
    expect(reports(h.bfd(N1, 'Up', 'Init'))).toEqual([`report ipv4 ${N1} reachable`]);
  });

  it('profile §6: local AdminDown is maintenance too, also over an unreachable report', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    h.advance(10_000);
    expect(h.core.status()[0]?.report).toBe('unreachable');
    expect(reports(h.bfd(N1, 'AdminDown', 'Down', 'administratively-down', 'Down'))).toEqual([
      `withdraw ipv4 ${N1}`,
    ]);
  });

  it('profile §6: AdminDown before the first Up cancels the bring-up timer', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    expect(h.bfd(N1, 'Down', 'Down', 'neighbor-signaled-session-down', 'AdminDown')).toEqual([]);
    expect(h.advance(30_000)).toEqual([]);
  });

  it('profile §6: with a hold-down, reachable only after Up has lasted that long', () => {
    const h = harness({ holdDownMs: 5000 });
    h.up();
    h.req(link(N1));
    expect(h.bfd(N1, 'Up', 'Init')).toEqual([]);
    expect(h.core.status()[0]).toMatchObject({ verdict: 'holding', holdUntil: h.now + 5000 });
    expect(h.advance(4999)).toEqual([]);
    expect(reports(h.advance(1))).toEqual([`report ipv4 ${N1} reachable`]);
  });

  it('profile §6: a flap within the hold-down keeps the unreachable report', () => {
    const h = harness({ holdDownMs: 5000 });
    h.up();
    h.req(link(N1));
    h.bfd(N1, 'Up', 'Init');
    h.advance(5000);
    expect(reports(h.bfd(N1, 'Down', 'Up', 'control-detection-time-expired'))).toEqual([
      `report ipv4 ${N1} unreachable`,
    ]);
    h.advance(1000);
    expect(h.bfd(N1, 'Up', 'Init')).toEqual([]);
    h.advance(2000);
    expect(h.bfd(N1, 'Down', 'Up', 'control-detection-time-expired')).toEqual([]);
    // The hold-down of the flap that went Down again never completes.
    expect(h.advance(10_000)).toEqual([]);
    expect(h.core.status()[0]).toMatchObject({ verdict: 'unreachable', report: 'unreachable' });
    h.bfd(N1, 'Up', 'Init');
    expect(reports(h.advance(5000))).toEqual([`report ipv4 ${N1} reachable`]);
  });

  it('profile §6: a Down while held down after a first Up is reported unreachable', () => {
    const h = harness({ holdDownMs: 5000 });
    h.up();
    h.req(link(N1));
    h.bfd(N1, 'Up', 'Init');
    expect(reports(h.bfd(N1, 'Down', 'Up', 'control-detection-time-expired'))).toEqual([
      `report ipv4 ${N1} unreachable`,
    ]);
  });
});

describe('agent core: the BGP-LS session (profile §5.3, §7)', () => {
  it('profile §7: reports wait for the session; on Up all are sent, then End-of-RIB', () => {
    const h = harness();
    h.req(link(N1));
    h.req(link(N2));
    expect(h.bfd(N1, 'Up', 'Init')).toEqual([]);
    expect(reports(h.advance(10_000))).toEqual([]);
    expect(reports(h.up())).toEqual([
      `report ipv4 ${N1} reachable`,
      `report ipv4 ${N2} unreachable`,
      'end-of-rib ipv4',
    ]);
  });

  it('profile §7: after a reconnect everything is reported again, then End-of-RIB', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    h.req(link(N2));
    h.bfd(N1, 'Up', 'Init');
    h.bfd(N2, 'Up', 'Init');
    h.bfd(N2, 'Down', 'Up', 'control-detection-time-expired');
    expect(h.down()).toEqual([]);
    // Changes while down are not sent...
    expect(h.bfd(N2, 'Up', 'Init')).toEqual([]);
    // ...the state at reconnect is.
    expect(reports(h.up())).toEqual([
      `report ipv4 ${N1} reachable`,
      `report ipv4 ${N2} reachable`,
      'end-of-rib ipv4',
    ]);
    // The RS announces its requests again: nothing new to send.
    expect(h.req(link(N1))).toEqual([]);
    expect(h.req(link(N2))).toEqual([]);
    expect(h.eor()).toEqual([]);
    expect(h.core.size).toBe(2);
  });

  it('profile §7: requests not announced again after a reconnect are dropped at the RS End-of-RIB', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    h.req(link(N2));
    h.bfd(N1, 'Up', 'Init');
    h.down();
    h.up();
    h.req(link(N1));
    expect(reports(h.eor())).toEqual([`bfd-stop ${N2}`]);
    expect(h.core.status().map((s) => s.nextHop)).toEqual([N1]);
  });

  it('profile §7: without an RS End-of-RIB, stale requests go after the stale time', () => {
    const h = harness({ staleMs: 30_000 });
    h.up();
    h.req(link(N1));
    h.bfd(N1, 'Up', 'Init');
    h.down();
    h.up();
    expect(h.advance(29_999)).toEqual([]);
    expect(reports(h.advance(1))).toEqual([`withdraw ipv4 ${N1}`, `bfd-stop ${N1}`]);
  });

  it('profile §3: two channels (IPv4 and IPv6 sessions) report each request on its own session', () => {
    const h = harness();
    h.up('ipv4');
    const n6 = '2001:db8::12';
    const l6: CheckLink = { ...link(n6), localAddress: '2001:db8::1' };
    h.req(l6, 'ipv6');
    h.req(link(N1), 'ipv4');
    expect(h.bfd(n6, 'Up', 'Init')).toEqual([]);
    expect(reports(h.up('ipv6'))).toEqual([`report ipv6 ${n6} reachable`, 'end-of-rib ipv6']);
    h.down('ipv4');
    expect(reports(h.bfd(n6, 'Down', 'Up', 'control-detection-time-expired'))).toEqual([
      `report ipv6 ${n6} unreachable`,
    ]);
  });

  it('profile §5.3: the status lists what was reported, the timers and the last change', () => {
    const h = harness();
    h.up();
    h.req(link(N1));
    const t0 = h.now;
    expect(h.core.status()[0]).toMatchObject({
      nextHop: N1,
      asns: [64502],
      bfd: 'Down',
      verdict: 'pending',
      bringUpAt: t0 + 10_000,
      holdUntil: null,
      requests: [{ channel: 'ipv4', reported: 'none', stale: false }],
    });
    h.advance(500);
    h.bfd(N1, 'Up', 'Init');
    expect(h.core.status()[0]).toMatchObject({
      verdict: 'reachable',
      since: t0 + 500,
      lastReason: 'BFD Up',
      bringUpAt: null,
      requests: [{ reported: 'reachable' }],
    });
    expect(h.core.asnOf(N1)).toBe(64502);
  });
});
