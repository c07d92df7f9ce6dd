import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dueTimerEvents,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  fsmInit,
  fsmStep,
  nextDeadline,
  shutdownData,
} from '../../src/bgp/fsm.ts';

/** A virtual clock driving one FSM, collecting actions. */
class Harness {
  state: FsmState;
  now = 1_000_000;
  log: FsmAction[] = [];
  constructor(cfg: Partial<FsmConfig> = {}) {
    this.state = fsmInit({ jitter: false, ...cfg });
  }
  ev(e: FsmEvent): FsmAction[] {
    const r = fsmStep(this.state, e, this.now);
    this.state = r.state;
    this.log.push(...r.actions);
    return r.actions;
  }
  /** Advance the clock by ms, firing due timers in deadline order. */
  advance(ms: number): FsmAction[] {
    const end = this.now + ms;
    const out: FsmAction[] = [];
    for (;;) {
      const d = nextDeadline(this.state);
      if (d === null || d > end) break;
      this.now = Math.max(this.now, d);
      for (const e of dueTimerEvents(this.state, this.now)) out.push(...this.ev(e));
    }
    this.now = end;
    return out;
  }
  get name() {
    return this.state.name;
  }
}

const types = (a: FsmAction[]) => a.filter((x) => x.type !== 'timer').map((x) => x.type);
const sentNotif = (a: FsmAction[]) => {
  const n = a.find((x) => x.type === 'send-notification');
  return n && n.type === 'send-notification' ? [n.notification.code, n.notification.subcode] : null;
};

function established(cfg: Partial<FsmConfig> = {}, hold = 90): Harness {
  const h = new Harness(cfg);
  h.ev({ type: 'ManualStart' });
  h.ev({ type: 'TcpConnectionAcknowledged' });
  h.ev({ type: 'BGPOpen', holdTime: hold, keepaliveTime: Math.floor(hold / 3) });
  h.ev({ type: 'KeepAliveMsg' });
  expect(h.name).toBe('Established');
  return h;
}

describe('FSM (RFC 4271 §8)', () => {
  it('RFC 4271 §8.2.2 Idle: ManualStart initiates a connection and arms ConnectRetryTimer', () => {
    const h = new Harness({ connectRetryTime: 10 });
    const a = h.ev({ type: 'ManualStart' });
    expect(h.name).toBe('Connect');
    expect(types(a)).toEqual(['connect']);
    expect(h.state.timers.connectRetry).toBe(h.now + 10_000);
    expect(h.state.connectRetryCounter).toBe(0);
  });

  it('RFC 4271 §8.2.2 Idle: ManualStart_Passive waits in Active without connecting', () => {
    const h = new Harness();
    const a = h.ev({ type: 'ManualStart_Passive' });
    expect(h.name).toBe('Active');
    expect(types(a)).toEqual([]);
    expect(h.advance(3_600_000)).toEqual([]);
    expect(h.name).toBe('Active');
  });

  it('RFC 4271 §8.2.2 Idle: connections are refused, other events ignored', () => {
    const h = new Harness();
    expect(types(h.ev({ type: 'TcpConnectionConfirmed' }))).toEqual(['close']);
    expect(h.ev({ type: 'KeepAliveMsg' })).toEqual([]);
    expect(h.name).toBe('Idle');
  });

  it('RFC 4271 §8.2.2 Connect: TCP up sends OPEN, arms the large (4 min) hold timer', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    const a = h.ev({ type: 'TcpConnectionAcknowledged' });
    expect(types(a)).toEqual(['send-open']);
    expect(h.name).toBe('OpenSent');
    expect(h.state.timers.hold).toBe(h.now + 240_000);
    expect(h.state.timers.connectRetry).toBeNull();
  });

  it('RFC 4271 §8.2.2 Connect: ConnectRetryTimer expiry retries with exponential backoff, capped', () => {
    const h = new Harness({ connectRetryTime: 10, connectRetryMax: 35 });
    h.ev({ type: 'ManualStart' });
    const starts: number[] = [];
    let t0 = h.now;
    for (let i = 0; i < 4; i++) {
      const d = nextDeadline(h.state)!;
      starts.push(d - t0);
      h.advance(d - h.now);
      t0 = h.now;
      expect(types(h.log.slice(-3))).toContain('connect');
      expect(h.name).toBe('Connect');
    }
    expect(starts).toEqual([10_000, 20_000, 35_000, 35_000]);
  });

  it('RFC 4271 §8.2.2 Connect: TcpConnectionFails goes Idle; IdleHoldTimer restarts with backoff (DampPeerOscillations)', () => {
    const h = new Harness({ idleHoldTime: 2, idleHoldMax: 5 });
    h.ev({ type: 'ManualStart' });
    const holds: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.ev({ type: 'TcpConnectionFails' });
      expect(h.name).toBe('Idle');
      holds.push(h.state.timers.idleHold! - h.now);
      h.advance(h.state.timers.idleHold! - h.now);
      expect(h.name).toBe('Connect');
    }
    expect(holds).toEqual([2000, 4000, 5000, 5000]);
    expect(h.state.connectRetryCounter).toBe(4);
  });

  it('RFC 4271 §8.2.2 OpenSent: valid OPEN sends KEEPALIVE, negotiated hold and keepalive timers', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    const a = h.ev({ type: 'BGPOpen', holdTime: 30, keepaliveTime: 10 });
    expect(types(a)).toEqual(['send-keepalive']);
    expect(h.name).toBe('OpenConfirm');
    expect(h.state.timers.hold).toBe(h.now + 30_000);
    expect(h.state.timers.keepalive).toBe(h.now + 10_000);
  });

  it('RFC 4271 §8.2.2 OpenConfirm: KEEPALIVE -> Established', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 });
    const a = h.ev({ type: 'KeepAliveMsg' });
    expect(types(a)).toEqual(['established']);
    expect(h.name).toBe('Established');
  });

  it('RFC 4271 §8.2.2 Established: hold timer expiry sends NOTIFICATION 4/0 and goes Idle', () => {
    const h = established({}, 9);
    const a = h.advance(9_000);
    expect(sentNotif(a)).toEqual([4, 0]);
    expect(types(a)).toContain('close');
    const down = a.find((x) => x.type === 'down');
    expect(down).toMatchObject({ reason: 'hold timer expired', wasEstablished: true });
    expect(h.name).toBe('Idle');
    expect(h.state.connectRetryCounter).toBe(1);
  });

  it('RFC 4271 §8.2.2 OpenSent: the large hold timer expiry sends 4/0', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    expect(h.advance(239_999)).toEqual([]);
    expect(sentNotif(h.advance(1))).toEqual([4, 0]);
  });

  it('RFC 4271 §4.4: keepalives every hold/3 while UPDATEs keep the hold timer from expiring', () => {
    const h = established({}, 3);
    let keepalives = 0;
    for (let i = 0; i < 100; i++) {
      for (const a of h.advance(100)) if (a.type === 'send-keepalive') keepalives++;
      h.ev({ type: 'UpdateMsg' });
    }
    expect(h.name).toBe('Established');
    expect(keepalives).toBe(10); // 10 s at one per second
  });

  it('RFC 4271 §4.2: negotiated hold time 0 runs no hold or keepalive timers', () => {
    const h = established({}, 0);
    expect(h.state.timers.hold).toBeNull();
    expect(h.state.timers.keepalive).toBeNull();
    expect(h.advance(24 * 3600_000)).toEqual([]);
    expect(h.name).toBe('Established');
  });

  it('RFC 4271 §8.2.2 Established: KEEPALIVE restarts the hold timer', () => {
    const h = established({}, 9);
    h.advance(8_000);
    h.ev({ type: 'KeepAliveMsg' });
    h.advance(8_000);
    expect(h.name).toBe('Established');
    expect(sentNotif(h.advance(1_000))).toEqual([4, 0]);
  });

  it('RFC 4271 §8.2.2 / RFC 8203: ManualStop sends Cease 6/2 with the shutdown message, no restart', () => {
    const h = established();
    const a = h.ev({ type: 'ManualStop', shutdownMessage: 'maintenance' });
    expect(sentNotif(a)).toEqual([6, 2]);
    const n = a.find((x) => x.type === 'send-notification');
    expect(n?.type === 'send-notification' && [...n.notification.data!]).toEqual([
      11,
      ...new TextEncoder().encode('maintenance'),
    ]);
    expect(h.name).toBe('Idle');
    expect(h.state.started).toBe(false);
    expect(h.advance(3600_000)).toEqual([]);
  });

  it('RFC 8203 §2: shutdown communication is cut at 255 octets on a UTF-8 boundary', () => {
    const d = shutdownData('é'.repeat(200));
    expect(d[0]).toBe(254);
    expect(new TextDecoder('utf-8', { fatal: true }).decode(d.subarray(1))).toBe('é'.repeat(127));
  });

  it('RFC 4271 §8.2.2 Established: NOTIFICATION received closes, reports it, restarts after idle hold', () => {
    const h = established({ idleHoldTime: 1 });
    const notification = {
      type: 'notification' as const,
      code: 6,
      subcode: 2,
      data: new Uint8Array(0),
    };
    const a = h.ev({ type: 'NotifMsg', notification });
    expect(sentNotif(a)).toBeNull();
    expect(a.find((x) => x.type === 'down')).toMatchObject({ received: notification });
    expect(h.name).toBe('Idle');
    h.advance(1000);
    expect(h.name).toBe('Connect');
  });

  it('RFC 4271 §8.2.2 Established: UPDATE error sends NOTIFICATION 3/x', () => {
    const h = established();
    const a = h.ev({ type: 'UpdateMsgErr', notification: { code: 3, subcode: 1 } });
    expect(sentNotif(a)).toEqual([3, 1]);
    expect(h.name).toBe('Idle');
  });

  it('RFC 4271 §8.2.2 / RFC 6608: unexpected UPDATE in OpenConfirm gives FSM error 5/2', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 });
    expect(sentNotif(h.ev({ type: 'UpdateMsg' }))).toEqual([5, 2]);
  });

  it('RFC 6608 §4: KEEPALIVE in OpenSent gives FSM error 5/1', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    expect(sentNotif(h.ev({ type: 'KeepAliveMsg' }))).toEqual([5, 1]);
  });

  it('RFC 6608 §4: UPDATE in OpenSent gives FSM error 5/1', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    expect(sentNotif(h.ev({ type: 'UpdateMsg' }))).toEqual([5, 1]);
  });

  it('RFC 6608 §4: OPEN in OpenConfirm gives FSM error 5/2', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 });
    expect(sentNotif(h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 }))).toEqual([5, 2]);
  });

  it('RFC 6608 §4: OPEN in Established gives FSM error 5/3', () => {
    const h = established();
    expect(sentNotif(h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 }))).toEqual([5, 3]);
    expect(h.name).toBe('Idle');
  });

  it('RFC 4271 §8.2.2 OpenSent: OPEN error sends its NOTIFICATION (e.g. 2/6)', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    const a = h.ev({ type: 'BGPOpenMsgErr', notification: { code: 2, subcode: 6 } });
    expect(sentNotif(a)).toEqual([2, 6]);
    expect(h.name).toBe('Idle');
  });

  it('RFC 4271 §8.2.2 OpenSent: TCP failure returns to Active', () => {
    const h = new Harness({ connectRetryTime: 5 });
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    h.ev({ type: 'TcpConnectionFails' });
    expect(h.name).toBe('Active');
    h.advance(5000);
    expect(h.name).toBe('Connect');
  });

  it('RFC 4271 §6.8 / §8.2.2: OpenCollisionDump sends Cease 6/7 and goes Idle', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 });
    const a = h.ev({ type: 'OpenCollisionDump' });
    expect(sentNotif(a)).toEqual([6, 7]);
    expect(h.name).toBe('Idle');
  });

  it('RFC 4271 §6.8: a dumped connection can hand over to the collision winner', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionAcknowledged' });
    h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 });
    const a = h.ev({ type: 'OpenCollisionDump', keepListening: true });
    expect(sentNotif(a)).toEqual([6, 7]);
    expect(h.name).toBe('Active');
    expect(h.state.connectRetryCounter).toBe(0);
    h.ev({ type: 'TcpConnectionConfirmed', delayOpen: true });
    expect(types(h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 }))).toEqual([
      'send-open',
      'send-keepalive',
    ]);
    expect(h.name).toBe('OpenConfirm');
  });

  it('RFC 4271 §8.1.1 DelayOpen: inbound connection waits for the OPEN, then sends OPEN + KEEPALIVE', () => {
    const h = new Harness({ delayOpenTime: 5 });
    h.ev({ type: 'ManualStart_Passive' });
    h.ev({ type: 'TcpConnectionConfirmed', delayOpen: true });
    expect(h.name).toBe('Active');
    const a = h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 });
    expect(types(a)).toEqual(['send-open', 'send-keepalive']);
    expect(h.name).toBe('OpenConfirm');
  });

  it('RFC 4271 §8.2.2 Active: DelayOpenTimer expiry sends OPEN', () => {
    const h = new Harness({ delayOpenTime: 5 });
    h.ev({ type: 'ManualStart_Passive' });
    h.ev({ type: 'TcpConnectionConfirmed', delayOpen: true });
    expect(types(h.advance(5000))).toEqual(['send-open']);
    expect(h.name).toBe('OpenSent');
  });

  it('RFC 4271 §8.2.2: stale timer events are ignored', () => {
    const h = established();
    expect(h.ev({ type: 'ConnectRetryTimer_Expires' })).toEqual([]);
    expect(h.name).toBe('Established');
  });

  it('RFC 4271 §8.2.2 Idle: ManualStop cancels a pending automatic restart', () => {
    const h = new Harness();
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionFails' });
    expect(h.state.timers.idleHold).not.toBeNull();
    h.ev({ type: 'ManualStop' });
    expect(h.state.timers.idleHold).toBeNull();
    expect(h.advance(3600_000)).toEqual([]);
  });

  it('RFC 4271 §8.1.2 Event 5: AutomaticStart with passive TCP establishment takes an inbound connection during idle hold', () => {
    const h = new Harness({ idleHoldTime: 60, connectRetryTime: 10 });
    h.ev({ type: 'ManualStart' });
    h.ev({ type: 'TcpConnectionFails' });
    expect(h.name).toBe('Idle');
    expect(types(h.ev({ type: 'AutomaticStart_Passive' }))).toEqual([]);
    expect(h.name).toBe('Active');
    expect(h.state.passive).toBe(false);
    expect(h.state.timers.idleHold).toBeNull();
    expect(h.state.timers.connectRetry).toBe(h.now + 10_000);
    // not after ManualStop
    h.ev({ type: 'ManualStop' });
    h.ev({ type: 'AutomaticStart_Passive' });
    expect(h.name).toBe('Idle');
  });

  it('RFC 4271 §10: keepalive and connect-retry timers get jitter in [0.75, 1]', () => {
    const h = new Harness({ jitter: true, connectRetryTime: 100, connectRetryMax: 100 });
    h.ev({ type: 'ManualStart' });
    const retries = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const d = h.state.timers.connectRetry! - h.now;
      expect(d).toBeGreaterThanOrEqual(75_000);
      expect(d).toBeLessThanOrEqual(100_000);
      retries.add(d);
      h.advance(d);
    }
    expect(retries.size).toBeGreaterThan(40); // not in step
    h.ev({ type: 'TcpConnectionAcknowledged' });
    h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 });
    const k = h.state.timers.keepalive! - h.now;
    expect(k).toBeGreaterThanOrEqual(22_500);
    expect(k).toBeLessThanOrEqual(30_000);
    // deterministic for a given seed
    const a = fsmStep(fsmInit({}, 7), { type: 'ManualStart' }, 0).state.timers.connectRetry;
    const b = fsmStep(fsmInit({}, 7), { type: 'ManualStart' }, 0).state.timers.connectRetry;
    expect(a).toBe(b);
  });

  it('failures are forgotten after a stable Established period (stableTime)', () => {
    const h = established({ stableTime: 60, idleHoldTime: 1 });
    h.ev({ type: 'UpdateMsgErr', notification: { code: 3, subcode: 1 } });
    expect(h.state.failures).toBe(1);
    h.advance(1000);
    h.ev({ type: 'TcpConnectionAcknowledged' });
    h.ev({ type: 'BGPOpen', holdTime: 0, keepaliveTime: 0 });
    h.ev({ type: 'KeepAliveMsg' });
    h.advance(61_000);
    h.ev({ type: 'UpdateMsgErr', notification: { code: 3, subcode: 1 } });
    expect(h.state.failures).toBe(1);
    expect(h.state.timers.idleHold! - h.now).toBe(1000);
  });

  it('RFC 4271 §8.1.1 DampPeerOscillations: failures are forgotten once a session stayed Established for one hold time', () => {
    const h = established({ idleHoldTime: 5 }, 30);
    for (let i = 0; i < 3; i++) {
      h.ev({ type: 'HoldTimer_Expires' });
      h.advance(h.state.timers.idleHold! - h.now);
      h.ev({ type: 'TcpConnectionAcknowledged' });
      h.ev({ type: 'BGPOpen', holdTime: 30, keepaliveTime: 10 });
      h.ev({ type: 'KeepAliveMsg' });
    }
    expect(h.state.failures).toBe(3);
    h.advance(29_000);
    h.ev({ type: 'UpdateMsgErr', notification: { code: 3, subcode: 1 } });
    expect(h.state.failures).toBe(4); // 29 s < one hold time: still counting
    expect(h.state.timers.idleHold! - h.now).toBe(40_000);
    h.advance(40_000);
    h.ev({ type: 'TcpConnectionAcknowledged' });
    h.ev({ type: 'BGPOpen', holdTime: 30, keepaliveTime: 10 });
    h.ev({ type: 'KeepAliveMsg' });
    for (let t = 0; t < 30; t += 5) {
      h.advance(5000);
      h.ev({ type: 'KeepAliveMsg' });
    }
    h.ev({ type: 'UpdateMsgErr', notification: { code: 3, subcode: 1 } });
    expect(h.state.failures).toBe(1); // forgotten, then this one
    expect(h.state.timers.idleHold! - h.now).toBe(5000);
  });

  it('RFC 4271 §8.1.1 DampPeerOscillations: an Established session the peer ends with a Cease or a TCP close is not damped', () => {
    const cease = { type: 'notification' as const, code: 6, subcode: 4, data: new Uint8Array(0) };
    const h = established({ idleHoldTime: 5 });
    for (let i = 0; i < 5; i++) {
      h.ev(
        i % 2 === 0 ? { type: 'NotifMsg', notification: cease } : { type: 'TcpConnectionFails' },
      );
      expect(h.name).toBe('Idle');
      expect(h.state.damped).toBe(false);
      expect(h.state.failures).toBe(0);
      // the peer reconnects at once (Event 5)
      h.ev({ type: 'AutomaticStart_Passive' });
      h.ev({ type: 'TcpConnectionConfirmed', delayOpen: true });
      h.ev({ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 });
      h.ev({ type: 'KeepAliveMsg' });
      expect(h.name).toBe('Established');
    }
    expect(h.state.connectRetryCounter).toBe(5);
  });

  it('RFC 4271 §8.1.1 DampPeerOscillations: errors and sessions that never reach Established are damped, doubling to idleHoldMax', () => {
    const h = new Harness({ idleHoldTime: 5, idleHoldMax: 120 });
    h.ev({ type: 'ManualStart_Passive' });
    const holds: number[] = [];
    const nonCease = {
      type: 'notification' as const,
      code: 3,
      subcode: 1,
      data: new Uint8Array(0),
    };
    const ends: FsmEvent[][] = [
      [{ type: 'BGPOpenMsgErr', notification: { code: 2, subcode: 2 } }], // bad OPEN
      [{ type: 'InboundConnectionFails', reason: 'garbage before OPEN' }],
      [{ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 }, { type: 'UpdateMsg' }], // 5/2
      [
        { type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 },
        { type: 'KeepAliveMsg' },
        { type: 'UpdateMsgErr', notification: { code: 3, subcode: 1 } },
      ],
      [
        { type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 },
        { type: 'KeepAliveMsg' },
        { type: 'NotifMsg', notification: nonCease },
      ],
      [{ type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 }, { type: 'TcpConnectionFails' }], // OpenConfirm
      [
        { type: 'BGPOpen', holdTime: 90, keepaliveTime: 30 },
        { type: 'KeepAliveMsg' },
        { type: 'HoldTimer_Expires' },
      ],
    ];
    for (const evs of ends) {
      if (evs[0]!.type !== 'InboundConnectionFails')
        h.ev({ type: 'TcpConnectionConfirmed', delayOpen: true });
      for (const e of evs) h.ev(e);
      expect(h.name).toBe('Idle');
      expect(h.state.damped).toBe(true);
      holds.push((h.state.timers.idleHold! - h.now) / 1000);
      // a reconnect during the hold is not taken by the FSM (the driver refuses it)
      h.advance(h.state.timers.idleHold! - h.now - 1);
      expect(h.name).toBe('Idle');
      h.advance(1);
      expect(h.name).toBe('Active');
      expect(h.state.damped).toBe(false);
    }
    expect(holds).toEqual([5, 10, 20, 40, 80, 120, 120]);
  });

  it('InboundConnectionFails is ignored while the FSM has a connection of its own', () => {
    const h = established();
    expect(h.ev({ type: 'InboundConnectionFails', reason: 'x' })).toEqual([]);
    expect(h.name).toBe('Established');
  });

  it('RFC 4271 §8.2.2: random event sequences keep the FSM invariants', () => {
    const notif = { code: 6, subcode: 2 };
    const nm = { type: 'notification' as const, code: 6, subcode: 2, data: new Uint8Array(0) };
    const arbEvent: fc.Arbitrary<FsmEvent> = fc.oneof(
      fc.constantFrom<FsmEvent>(
        { type: 'ManualStart' },
        { type: 'ManualStart_Passive' },
        { type: 'ManualStop' },
        { type: 'AutomaticStart' },
        { type: 'AutomaticStart_Passive' },
        { type: 'AutomaticStop', notification: notif },
        { type: 'TcpConnectionAcknowledged' },
        { type: 'TcpConnectionConfirmed' },
        { type: 'TcpConnectionConfirmed', delayOpen: true },
        { type: 'TcpConnectionFails' },
        { type: 'BGPOpen', holdTime: 9, keepaliveTime: 3 },
        { type: 'BGPOpen', holdTime: 0, keepaliveTime: 0 },
        { type: 'BGPHeaderErr', notification: { code: 1, subcode: 1 } },
        { type: 'BGPOpenMsgErr', notification: { code: 2, subcode: 2 } },
        { type: 'OpenCollisionDump' },
        { type: 'OpenCollisionDump', keepListening: true },
        { type: 'NotifMsg', notification: nm },
        { type: 'NotifMsgVerErr', notification: nm },
        { type: 'KeepAliveMsg' },
        { type: 'UpdateMsg' },
        { type: 'UpdateMsgErr', notification: { code: 3, subcode: 1 } },
        { type: 'InboundConnectionFails', reason: 'x' },
      ),
      fc
        .integer({ min: 1, max: 300_000 })
        .map((ms) => ({ type: 'advance', ms }) as unknown as FsmEvent),
    );
    fc.assert(
      fc.property(fc.array(arbEvent, { maxLength: 60 }), (events) => {
        const h = new Harness({ idleHoldTime: 1, connectRetryTime: 2 });
        for (const e of events) {
          const adv = (e as unknown as { type: string; ms?: number }).ms;
          const actions = adv !== undefined ? h.advance(adv) : h.ev(e);
          const s = h.state;
          const t = s.timers;
          if (actions.some((a) => a.type === 'connect')) expect(s.passive).toBe(false);
          if (!s.started) {
            expect(s.name).toBe('Idle');
            expect(nextDeadline(s)).toBeNull();
          }
          if (s.name === 'Idle') {
            expect([t.hold, t.keepalive, t.connectRetry, t.delayOpen]).toEqual([
              null,
              null,
              null,
              null,
            ]);
          } else {
            expect(t.idleHold).toBeNull();
          }
          if (s.name === 'OpenSent') expect(t.hold).not.toBeNull();
          if (s.name === 'OpenConfirm' || s.name === 'Established') {
            expect(t.hold !== null).toBe(s.holdTime > 0);
            expect(t.keepalive !== null).toBe(s.holdTime > 0);
          }
          if (s.name === 'Active' && s.passive) expect(t.connectRetry).toBeNull();
          if (s.damped) expect([s.name, t.idleHold !== null]).toEqual(['Idle', true]);
          const d = nextDeadline(s);
          if (d !== null) expect(d).toBeGreaterThanOrEqual(h.now);
        }
      }),
      { numRuns: 500 },
    );
  });
});
