// The BGP finite state machine of RFC 4271 §8, pure.
//
//   fsmInit(config)                  -> FsmState (Idle, stopped)
//   fsmStep(state, event, now)       -> { state, actions }
//
// No I/O and no clock of its own: `now` (milliseconds) is passed in, timers are
// absolute deadlines kept in `state.timers` and announced by 'timer' actions;
// the driver (session.ts) arms one OS timer for the earliest deadline
// (nextDeadline) and feeds the events of dueTimerEvents when it passes. A timer
// event whose timer is not armed (stale) is ignored. `state.timers` is the
// truth: on the hot path (UPDATE in Established) the hold deadline moves
// without a 'timer' action.
//
// One FsmState follows one connection at a time. Connection collision (§6.8)
// is decided by the driver, which has both connections; it ends the losing one
// with OpenCollisionDump (when it is the FSM's) or closes it directly.
//
// Deviations and choices, all allowed by RFC 4271 §8.1.1 optional attributes:
//  - DelayOpen is chosen per connection by the driver (the `delayOpen` flag of
//    TcpConnectionConfirmed/Acknowledged); the speaker uses it for inbound
//    connections so it can see the peer's OPEN before sending its own.
//  - SendNOTIFICATIONwithoutOPEN is on: header/OPEN errors while DelayOpen runs
//    are answered with a NOTIFICATION.
//  - AllowAutomaticStart + DampPeerOscillations: after a session ends a
//    started FSM goes Idle, arms IdleHoldTimer and restarts itself
//    (AutomaticStart) when it expires. Only failures are damped: an end before
//    Established, or from Established with a NOTIFICATION we sent or a
//    received one other than Cease. Each counts in `failures` and the idle
//    hold is idleHoldTime doubled per consecutive failure, capped at
//    idleHoldMax; the FSM is then `damped` (the driver refuses inbound
//    connections until the hold ends). An Established session closed by the
//    peer with a Cease or a plain TCP close (a restart, RFC 4724 graceful
//    restart) is no failure: not damped, an inbound connection is taken at
//    once (Event 5). The failure count is forgotten once a session stayed
//    Established for `stableTime` (default one hold time).
//  - ConnectRetryTimer backs off exponentially too (connectRetryTime doubling
//    per expiry since the last start, capped at connectRetryMax).
//  - A passive FSM (ManualStart_Passive) never initiates a connection: it waits
//    in Active without a ConnectRetryTimer.
//  - A NOTIFICATION received in OpenSent is not answered with an FSM-error
//    NOTIFICATION (the peer is closing anyway); the connection is just dropped.
//  - Unexpected messages are answered with NOTIFICATION 5 and the RFC 6608
//    subcode of the state (1 OpenSent, 2 OpenConfirm, 3 Established).
//  - Jitter (RFC 4271 §10) on KeepaliveTimer and ConnectRetryTimer, from a
//    seeded generator kept in the state (config.jitter, on by default).
//  - Sending UPDATEs does not restart the KeepaliveTimer: keepalives keep a
//    fixed cadence (allowed: they only must not be sent more often than 1/s).

import { encodeShutdownData, describeNotification as notificationName } from './notification.ts';
import type { NotificationMessage } from './types.ts';

export type FsmStateName =
  | 'Idle'
  | 'Connect'
  | 'Active'
  | 'OpenSent'
  | 'OpenConfirm'
  | 'Established';

export type TimerName = 'connectRetry' | 'hold' | 'keepalive' | 'delayOpen' | 'idleHold';

export interface FsmConfig {
  /** Hold time we propose, seconds (used only for reporting; negotiation is outside). */
  holdTime: number;
  /** Initial ConnectRetryTime, seconds (RFC 4271 §10 suggests 120). */
  connectRetryTime: number;
  /** Cap of the connect-retry backoff, seconds. */
  connectRetryMax: number;
  /** Hold time while waiting for the peer's OPEN (RFC 4271 §8.2.2 "large value", 4 minutes). */
  largeHoldTime: number;
  /** DelayOpenTime, seconds. */
  delayOpenTime: number;
  /** First IdleHoldTime after a failure, seconds. */
  idleHoldTime: number;
  /** Cap of the idle-hold backoff, seconds. */
  idleHoldMax: number;
  /**
   * After this long in Established (seconds) earlier failures are forgotten;
   * 0 (the default): one hold time, the negotiated one (holdTime when 0 was
   * negotiated).
   */
  stableTime: number;
  /** Restart automatically after a failure (AllowAutomaticStart). */
  autoRestart: boolean;
  /**
   * RFC 4271 §10: multiply KeepaliveTimer and ConnectRetryTimer by a random
   * factor in [0.75, 1] so that many sessions do not fire in step. The random
   * sequence comes from `state.seed`, so the FSM stays a pure function.
   */
  jitter: boolean;
}

export const DEFAULT_FSM_CONFIG: FsmConfig = {
  holdTime: 90,
  connectRetryTime: 120,
  connectRetryMax: 480,
  largeHoldTime: 240,
  delayOpenTime: 5,
  idleHoldTime: 5,
  idleHoldMax: 120,
  stableTime: 0,
  autoRestart: true,
  jitter: true,
};

export interface FsmState {
  readonly name: FsmStateName;
  readonly config: FsmConfig;
  /** Started with ManualStart_Passive: never initiate connections. */
  readonly passive: boolean;
  /** Between ManualStart* and ManualStop: automatic restarts allowed. */
  readonly started: boolean;
  readonly connectRetryCounter: number;
  /** ConnectRetryTimer expiries since the last start (backoff exponent). */
  readonly retries: number;
  /** Consecutive failures (idle-hold backoff exponent). */
  readonly failures: number;
  /**
   * Idle after a failure, waiting out IdleHoldTimer: the driver refuses the
   * peer's connections until it expires (DampPeerOscillations).
   */
  readonly damped: boolean;
  /** Hold time in force, seconds (large value in OpenSent, negotiated after). */
  readonly holdTime: number;
  readonly keepaliveTime: number;
  /** Absolute deadlines (ms, same clock as `now`), null = stopped. */
  readonly timers: Readonly<Record<TimerName, number | null>>;
  /** When Established was entered (ms), or null. */
  readonly establishedAt: number | null;
  /** xorshift32 state for timer jitter. */
  readonly seed: number;
}

export interface Notification {
  code: number;
  subcode: number;
  data?: Uint8Array;
  shutdownMessage?: string;
}

export type FsmEvent =
  | { type: 'ManualStart' } // 1
  | { type: 'ManualStop'; shutdownMessage?: string } // 2
  | { type: 'AutomaticStart' } // 3
  /**
   * 5: AutomaticStart_with_PassiveTcpEstablishment. The driver raises it when
   * a started FSM waiting in Idle (idle hold) gets an inbound connection: go
   * to Active to take it, without changing whether we also connect out.
   */
  | { type: 'AutomaticStart_Passive' } // 5
  | { type: 'ManualStart_Passive' } // 4
  | { type: 'AutomaticStop'; notification: Notification } // 8 (e.g. max prefix, Cease)
  | { type: 'ConnectRetryTimer_Expires' } // 9
  | { type: 'HoldTimer_Expires' } // 10
  | { type: 'KeepaliveTimer_Expires' } // 11
  | { type: 'DelayOpenTimer_Expires' } // 12
  | { type: 'IdleHoldTimer_Expires' } // 13
  | { type: 'TcpConnectionAcknowledged'; delayOpen?: boolean } // 16: our connect() succeeded
  | { type: 'TcpConnectionConfirmed'; delayOpen?: boolean } // 17: we accepted the peer's connection
  | { type: 'TcpConnectionFails' } // 18
  | { type: 'BGPOpen'; holdTime: number; keepaliveTime: number } // 19/20: valid OPEN, negotiated timers
  | { type: 'BGPHeaderErr'; notification: Notification } // 21
  | { type: 'BGPOpenMsgErr'; notification: Notification } // 22
  /**
   * 23. With `keepListening` (our extension for §6.8 "accepts the BGP
   * connection initiated by the remote system"): the FSM's connection lost a
   * collision to a newer one; it is dumped with Cease 7 and the FSM waits in
   * Active for the winner, which the driver hands over with TcpConnectionConfirmed.
   */
  | { type: 'OpenCollisionDump'; keepListening?: boolean }
  | { type: 'NotifMsgVerErr'; notification: NotificationMessage } // 24
  | { type: 'NotifMsg'; notification: NotificationMessage } // 25
  | { type: 'KeepAliveMsg' } // 26
  | { type: 'UpdateMsg' } // 27 (also ROUTE-REFRESH: any message restarts the hold timer)
  | { type: 'UpdateMsgErr'; notification: Notification } // 28
  /**
   * Our extension: an inbound connection the driver held for the peer's OPEN
   * (DelayOpen) failed before reaching the FSM: a header or OPEN error, or no
   * OPEN in time. In Connect/Active it is the §8.2.2 error with DelayOpen
   * running (Events 21/22): Idle, a failure (damped). Ignored elsewhere.
   */
  | { type: 'InboundConnectionFails'; reason: string };

export type FsmAction =
  /** Initiate a TCP connection to the peer. */
  | { type: 'connect' }
  /** Drop the TCP connection (after any send-notification before it is flushed). */
  | { type: 'close' }
  | { type: 'send-open' }
  | { type: 'send-keepalive' }
  | { type: 'send-notification'; notification: Notification }
  /** Arm (deadline in ms) or stop (null) a timer. */
  | { type: 'timer'; timer: TimerName; deadline: number | null }
  | { type: 'established' }
  /** Left a connected state (OpenSent or later) for Idle, or closed a connection with a NOTIFICATION. */
  | {
      type: 'down';
      reason: string;
      wasEstablished: boolean;
      sent?: Notification;
      received?: NotificationMessage;
    };

export interface FsmResult {
  state: FsmState;
  actions: FsmAction[];
}

const NO_TIMERS: Record<TimerName, number | null> = {
  connectRetry: null,
  hold: null,
  keepalive: null,
  delayOpen: null,
  idleHold: null,
};

/** `seed`: any non-zero 32-bit value (drivers pass a random one; tests a fixed one). */
export function fsmInit(config: Partial<FsmConfig> = {}, seed = 0x9e3779b9): FsmState {
  return {
    name: 'Idle',
    config: { ...DEFAULT_FSM_CONFIG, ...config },
    passive: false,
    started: false,
    connectRetryCounter: 0,
    retries: 0,
    failures: 0,
    damped: false,
    holdTime: 0,
    keepaliveTime: 0,
    timers: NO_TIMERS,
    establishedAt: null,
    seed: seed >>> 0 || 1,
  };
}

/** RFC 8203/9003: Cease / Administrative Shutdown data = length octet + UTF-8 (at most 255 octets). */
export function shutdownData(message: string | undefined): Uint8Array {
  return message ? encodeShutdownData(message) : new Uint8Array(0);
}

/** Human-readable '6/2 (Cease / Administrative Shutdown): "message"'. */
export function describeNotification(n: Notification): string {
  const msg = n.shutdownMessage ? `: "${n.shutdownMessage}"` : '';
  return `${n.code}/${n.subcode} (${notificationName(n.code, n.subcode)})${msg}`;
}

const TIMER_EVENTS: Partial<Record<FsmEvent['type'], TimerName>> = {
  ConnectRetryTimer_Expires: 'connectRetry',
  HoldTimer_Expires: 'hold',
  KeepaliveTimer_Expires: 'keepalive',
  DelayOpenTimer_Expires: 'delayOpen',
  IdleHoldTimer_Expires: 'idleHold',
};

/** The timer events due at `now`, in a stable order (hold first). */
export function dueTimerEvents(state: FsmState, now: number): FsmEvent[] {
  const out: FsmEvent[] = [];
  const t = state.timers;
  if (t.hold !== null && t.hold <= now) out.push({ type: 'HoldTimer_Expires' });
  if (t.keepalive !== null && t.keepalive <= now) out.push({ type: 'KeepaliveTimer_Expires' });
  if (t.delayOpen !== null && t.delayOpen <= now) out.push({ type: 'DelayOpenTimer_Expires' });
  if (t.connectRetry !== null && t.connectRetry <= now)
    out.push({ type: 'ConnectRetryTimer_Expires' });
  if (t.idleHold !== null && t.idleHold <= now) out.push({ type: 'IdleHoldTimer_Expires' });
  return out;
}

/** The earliest armed deadline, or null. */
export function nextDeadline(state: FsmState): number | null {
  let min: number | null = null;
  for (const v of Object.values(state.timers)) if (v !== null && (min === null || v < min)) min = v;
  return min;
}

/** RFC 6608 subcode for an unexpected message in a state. */
function fsmErrorSubcode(name: FsmStateName): number {
  return name === 'OpenSent' ? 1 : name === 'OpenConfirm' ? 2 : name === 'Established' ? 3 : 0;
}

class Step {
  s: {
    -readonly [K in keyof FsmState]: FsmState[K];
  };
  timers: Record<TimerName, number | null>;
  actions: FsmAction[] = [];
  readonly now: number;
  readonly from: FsmStateName;

  constructor(state: FsmState, now: number) {
    this.s = { ...state };
    this.timers = { ...state.timers };
    this.now = now;
    this.from = state.name;
  }

  arm(timer: TimerName, seconds: number): void {
    const deadline = this.now + Math.round(seconds * 1000);
    this.timers[timer] = deadline;
    this.actions.push({ type: 'timer', timer, deadline });
  }

  stop(timer: TimerName): void {
    if (this.timers[timer] === null) return;
    this.timers[timer] = null;
    this.actions.push({ type: 'timer', timer, deadline: null });
  }

  stopAll(): void {
    for (const t of Object.keys(this.timers) as TimerName[]) this.stop(t);
  }

  do(a: FsmAction): void {
    this.actions.push(a);
  }

  /** A factor in [0.75, 1] (RFC 4271 §10), or 1 without jitter. */
  jitter(): number {
    if (!this.s.config.jitter) return 1;
    let x = this.s.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s.seed = x >>> 0;
    return 0.75 + 0.25 * (this.s.seed / 0x100000000);
  }

  armConnectRetry(): void {
    const c = this.s.config;
    const base = Math.min(c.connectRetryTime * 2 ** this.s.retries, c.connectRetryMax);
    this.arm('connectRetry', base * this.jitter());
  }

  /** Start (ManualStart / AutomaticStart) from Idle. */
  start(passive: boolean): void {
    this.s.passive = passive;
    this.s.started = true;
    this.s.damped = false;
    this.s.retries = 0;
    this.stop('idleHold');
    if (passive) {
      this.s.name = 'Active';
    } else {
      this.armConnectRetry();
      this.do({ type: 'connect' });
      this.s.name = 'Connect';
    }
  }

  sendOpen(): void {
    this.stop('connectRetry');
    this.stop('delayOpen');
    this.do({ type: 'send-open' });
    this.s.holdTime = this.s.config.largeHoldTime;
    this.s.keepaliveTime = 0;
    this.arm('hold', this.s.holdTime);
    this.s.name = 'OpenSent';
  }

  /** Negotiated timers from a valid OPEN; sends KEEPALIVE; -> OpenConfirm. */
  openReceived(holdTime: number, keepaliveTime: number): void {
    this.stop('connectRetry');
    this.stop('delayOpen');
    this.s.holdTime = holdTime;
    this.s.keepaliveTime = keepaliveTime;
    this.do({ type: 'send-keepalive' });
    if (holdTime > 0) {
      this.arm('keepalive', keepaliveTime * this.jitter());
      this.arm('hold', holdTime);
    } else {
      this.stop('keepalive');
      this.stop('hold');
    }
    this.s.name = 'OpenConfirm';
  }

  /**
   * Go Idle. `failure` counts towards ConnectRetryCounter and, unless the
   * session was Established and the peer ended it with a Cease or a plain TCP
   * close, towards the idle-hold backoff (damped). A started FSM then arms
   * IdleHoldTimer to restart itself.
   */
  idle(
    reason: string,
    opts: { failure: boolean; sent?: Notification; received?: NotificationMessage; stop?: boolean },
  ): void {
    // A 'down' for every session that got as far as an OPEN exchange or a NOTIFICATION.
    const connected =
      this.from === 'OpenSent' ||
      this.from === 'OpenConfirm' ||
      this.from === 'Established' ||
      opts.sent !== undefined ||
      opts.received !== undefined;
    if (opts.sent) this.do({ type: 'send-notification', notification: opts.sent });
    this.do({ type: 'close' });
    this.stopAll();
    if (connected) {
      this.do({
        type: 'down',
        reason,
        wasEstablished: this.from === 'Established',
        ...(opts.sent ? { sent: opts.sent } : {}),
        ...(opts.received ? { received: opts.received } : {}),
      });
    }
    const c = this.s.config;
    if (this.from === 'Established' && this.s.establishedAt !== null) {
      const stable = c.stableTime > 0 ? c.stableTime : this.s.holdTime || c.holdTime;
      if (this.now - this.s.establishedAt >= stable * 1000) this.s.failures = 0;
    }
    // The peer ended an Established session the ordinary way: Cease, or TCP
    // closed without a NOTIFICATION (a restart, RFC 4724 graceful restart).
    const peerClosed =
      this.from === 'Established' &&
      opts.sent === undefined &&
      (opts.received === undefined || opts.received.code === 6);
    const damp = opts.failure && !peerClosed;
    this.s.establishedAt = null;
    this.s.holdTime = 0;
    this.s.keepaliveTime = 0;
    this.s.name = 'Idle';
    this.s.damped = false;
    if (opts.stop) {
      this.s.started = false;
      this.s.connectRetryCounter = 0;
      this.s.failures = 0;
      return;
    }
    if (opts.failure) this.s.connectRetryCounter++;
    if (damp) this.s.failures++;
    if (this.s.started && c.autoRestart) {
      const n = Math.max(this.s.failures, 1);
      const hold = Math.min(c.idleHoldTime * 2 ** (n - 1), c.idleHoldMax);
      this.arm('idleHold', hold);
      this.s.damped = damp && hold > 0;
    }
  }

  result(): FsmResult {
    this.s.timers = this.timers;
    return { state: this.s, actions: this.actions };
  }
}

function adminShutdown(msg: string | undefined): Notification {
  return {
    code: 6,
    subcode: 2,
    data: shutdownData(msg),
    ...(msg ? { shutdownMessage: msg } : {}),
  };
}

const COLLISION: Notification = { code: 6, subcode: 7 };
const HOLD_EXPIRED: Notification = { code: 4, subcode: 0 };

/** One transition of the RFC 4271 §8.2.2 FSM. */
export function fsmStep(state: FsmState, event: FsmEvent, now: number): FsmResult {
  const timer = TIMER_EVENTS[event.type];
  if (timer !== undefined && state.timers[timer] === null) return { state, actions: [] };
  const st = new Step(state, now);
  if (timer !== undefined) st.timers[timer] = null; // it fired
  switch (state.name) {
    case 'Idle':
      idle(st, event);
      break;
    case 'Connect':
    case 'Active':
      connectOrActive(st, event);
      break;
    case 'OpenSent':
    case 'OpenConfirm':
    case 'Established':
      connected(st, event);
      break;
  }
  return st.result();
}

function idle(st: Step, ev: FsmEvent): void {
  switch (ev.type) {
    case 'ManualStart':
      st.s.connectRetryCounter = 0;
      st.s.failures = 0;
      st.start(false);
      return;
    case 'ManualStart_Passive':
      st.s.connectRetryCounter = 0;
      st.s.failures = 0;
      st.start(true);
      return;
    case 'AutomaticStart':
    case 'IdleHoldTimer_Expires':
      if (st.s.started || ev.type === 'AutomaticStart') st.start(st.s.passive);
      return;
    case 'AutomaticStart_Passive':
      if (!st.s.started) return;
      st.stop('idleHold');
      st.s.damped = false;
      st.s.retries = 0;
      if (!st.s.passive) st.armConnectRetry();
      st.s.name = 'Active';
      return;
    case 'ManualStop':
      st.stopAll();
      st.s.started = false;
      st.s.damped = false;
      st.s.connectRetryCounter = 0;
      st.s.failures = 0;
      return;
    case 'TcpConnectionConfirmed':
    case 'TcpConnectionAcknowledged':
      // §8.2.2 Idle: connections are refused.
      st.do({ type: 'close' });
      return;
    default:
      // §8.2.2: any other event in Idle is ignored.
      return;
  }
}

function connectOrActive(st: Step, ev: FsmEvent): void {
  const delayOpenRunning = st.timers.delayOpen !== null;
  switch (ev.type) {
    case 'ManualStart':
    case 'ManualStart_Passive':
    case 'AutomaticStart':
    case 'AutomaticStart_Passive':
      return;
    case 'ManualStop':
      st.idle('administrative stop', { failure: false, stop: true });
      return;
    case 'AutomaticStop':
      st.idle('automatic stop', { failure: true });
      return;
    case 'ConnectRetryTimer_Expires':
      st.stop('delayOpen');
      st.s.retries++;
      if (st.s.name === 'Connect') st.do({ type: 'close' });
      st.armConnectRetry();
      st.do({ type: 'connect' });
      st.s.name = 'Connect';
      return;
    case 'DelayOpenTimer_Expires':
      st.sendOpen();
      return;
    case 'TcpConnectionAcknowledged':
    case 'TcpConnectionConfirmed':
      if (ev.delayOpen) {
        st.stop('connectRetry');
        st.arm('delayOpen', st.s.config.delayOpenTime);
      } else {
        st.sendOpen();
      }
      return;
    case 'TcpConnectionFails':
      if (delayOpenRunning || st.s.passive) {
        // §8.2.2 Connect/Active: keep listening.
        st.stop('delayOpen');
        st.do({ type: 'close' });
        if (!st.s.passive) st.armConnectRetry();
        st.s.name = 'Active';
        return;
      }
      st.idle('TCP connection failed', { failure: true });
      return;
    case 'BGPOpen':
      if (delayOpenRunning) {
        // §8.2.2 Connect/Active with DelayOpenTimer running: OPEN and KEEPALIVE.
        st.do({ type: 'send-open' });
        st.openReceived(ev.holdTime, ev.keepaliveTime);
        return;
      }
      st.idle('OPEN before our OPEN', { failure: true, sent: { code: 5, subcode: 0 } });
      return;
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      st.idle(`error in received message: ${describeNotification(ev.notification)}`, {
        failure: true,
        sent: ev.notification,
      });
      return;
    case 'NotifMsgVerErr':
      st.idle(`received NOTIFICATION ${describeNotification(ev.notification)}`, {
        failure: !delayOpenRunning,
        received: ev.notification,
      });
      return;
    case 'InboundConnectionFails':
      st.idle(ev.reason, { failure: true });
      return;
    case 'IdleHoldTimer_Expires':
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
      return; // cannot be armed here
    default:
      // §8.2.2: any other event -> Idle, ConnectRetryCounter + 1.
      st.idle(`unexpected ${ev.type} in ${st.s.name}`, {
        failure: true,
        ...(ev.type === 'NotifMsg' ? { received: ev.notification } : {}),
      });
      return;
  }
}

function connected(st: Step, ev: FsmEvent): void {
  const name = st.s.name;
  switch (ev.type) {
    case 'ManualStart':
    case 'ManualStart_Passive':
    case 'AutomaticStart':
    case 'AutomaticStart_Passive':
      return;
    case 'ManualStop':
      st.idle(
        ev.shutdownMessage
          ? `administrative shutdown: "${ev.shutdownMessage}"`
          : 'administrative shutdown',
        { failure: false, stop: true, sent: adminShutdown(ev.shutdownMessage) },
      );
      return;
    case 'AutomaticStop':
      st.idle(`stopped: ${describeNotification(ev.notification)}`, {
        failure: true,
        sent: ev.notification,
      });
      return;
    case 'HoldTimer_Expires':
      st.idle('hold timer expired', { failure: true, sent: HOLD_EXPIRED });
      return;
    case 'KeepaliveTimer_Expires':
      if (name === 'OpenSent') return; // not armed in OpenSent
      st.do({ type: 'send-keepalive' });
      if (st.s.keepaliveTime > 0) st.arm('keepalive', st.s.keepaliveTime * st.jitter());
      return;
    case 'TcpConnectionAcknowledged':
    case 'TcpConnectionConfirmed':
    case 'InboundConnectionFails':
      // A second connection: the driver tracks it for collision detection (§6.8).
      return;
    case 'TcpConnectionFails':
      if (name === 'OpenSent') {
        // §8.2.2 OpenSent: close, restart ConnectRetryTimer, continue to listen, -> Active.
        st.do({ type: 'close' });
        st.stopAll();
        st.s.holdTime = 0;
        st.s.keepaliveTime = 0;
        st.do({ type: 'down', reason: 'TCP connection closed', wasEstablished: false });
        if (!st.s.passive) st.armConnectRetry();
        st.s.name = 'Active';
        return;
      }
      st.idle('TCP connection closed', { failure: true });
      return;
    case 'BGPOpen':
      if (name === 'OpenSent') {
        st.openReceived(ev.holdTime, ev.keepaliveTime);
        return;
      }
      st.idle(`unexpected OPEN in ${name}`, {
        failure: true,
        sent: { code: 5, subcode: fsmErrorSubcode(name) },
      });
      return;
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
    case 'UpdateMsgErr':
      st.idle(`error in received message: ${describeNotification(ev.notification)}`, {
        failure: true,
        sent: ev.notification,
      });
      return;
    case 'OpenCollisionDump':
      if (ev.keepListening) {
        st.do({ type: 'send-notification', notification: COLLISION });
        st.do({ type: 'close' });
        st.stopAll();
        st.do({
          type: 'down',
          reason: 'connection collision (RFC 4271 §6.8): switching to the other connection',
          wasEstablished: name === 'Established',
          sent: COLLISION,
        });
        st.s.holdTime = 0;
        st.s.keepaliveTime = 0;
        st.s.establishedAt = null;
        st.s.name = 'Active';
        return;
      }
      st.idle('connection collision (RFC 4271 §6.8)', { failure: true, sent: COLLISION });
      return;
    case 'NotifMsgVerErr':
      st.idle(`received NOTIFICATION ${describeNotification(ev.notification)}`, {
        failure: name !== 'OpenSent',
        received: ev.notification,
      });
      return;
    case 'NotifMsg':
      st.idle(`received NOTIFICATION ${describeNotification(ev.notification)}`, {
        failure: true,
        received: ev.notification,
      });
      return;
    case 'KeepAliveMsg':
      if (name === 'OpenSent') break;
      if (st.s.holdTime > 0) st.arm('hold', st.s.holdTime);
      if (name === 'OpenConfirm') {
        st.s.name = 'Established';
        st.s.establishedAt = st.now;
        st.do({ type: 'established' });
      }
      return;
    case 'UpdateMsg':
      if (name !== 'Established') break;
      if (st.s.holdTime > 0) {
        // Fast path for the hot case: move the deadline without an action per message.
        st.timers.hold = st.now + st.s.holdTime * 1000;
      }
      return;
    default:
      break;
  }
  // §8.2.2: any other event -> NOTIFICATION FSM Error (RFC 6608 subcode), Idle.
  st.idle(`unexpected ${ev.type} in ${name}`, {
    failure: true,
    sent: { code: 5, subcode: fsmErrorSubcode(name) },
  });
}
