// The BFD session state machine of RFC 5880 (asynchronous mode, no Demand,
// no Echo). Pure: events in (packet, timer, admin, timers), actions out (send,
// state change); the clock is passed in (`now`, milliseconds) and the driver
// arms one timer at `nextDeadline()`.

import { type AuthConfig, type AuthState, newAuthState, signPacket, verifyPacket } from './auth.ts';
import {
  type BfdReject,
  type ControlPacket,
  Diag,
  encode,
  MIN_LENGTH,
  State,
  type StateValue,
} from './codec.ts';

export interface SessionConfig {
  /** bfd.LocalDiscr: nonzero, unique among the driver's sessions. */
  localDiscriminator: number;
  /** Desired Min TX Interval, microseconds (used once Up; at least 1 s before). */
  desiredMinTx: number;
  /** Required Min RX Interval, microseconds. */
  requiredMinRx: number;
  /** Detect Mult. */
  detectMult: number;
  /** Passive role (§6.1): send nothing until the peer has been heard. */
  passive?: boolean;
  /** Authentication in use, if any (§6.7). */
  auth?: AuthConfig;
  /** Uniform [0, 1) source for jitter; Math.random by default. */
  random?: () => number;
  /** Start in AdminDown. */
  adminDown?: boolean;
}

export interface SendAction {
  type: 'send';
  packet: ControlPacket;
  /** Encoded octets (signed when authentication is in use). */
  bytes: Uint8Array;
}
export interface StateAction {
  type: 'state';
  state: StateValue;
  previous: StateValue;
  /** bfd.LocalDiag after the change. */
  diag: number;
  /** Diag of the last packet received from the peer. */
  remoteDiag: number;
  /** State last reported by the peer. */
  remoteState: StateValue;
  at: number;
  /** Detection time in ms at the moment of the change (0 if not known). */
  detectMs: number;
}
export interface RejectAction extends BfdReject {
  type: 'reject';
}
export type SessionAction = SendAction | StateAction | RejectAction;

const ONE_SECOND_US = 1_000_000;
const NONE: SessionAction[] = [];

export class BfdSession {
  readonly localDiscriminator: number;
  /** Passive role (§6.1); the driver may turn it active later. */
  passive: boolean;
  readonly auth: AuthConfig | undefined;
  readonly authState: AuthState;
  private readonly random: () => number;

  /** bfd.SessionState */
  state: StateValue = State.Down;
  /** bfd.RemoteSessionState */
  remoteState: StateValue = State.Down;
  /** bfd.RemoteDemandMode (we never ask for Demand mode ourselves). */
  remoteDemand = false;
  /** bfd.RemoteDiscr */
  remoteDiscriminator = 0;
  /** bfd.LocalDiag */
  diag = 0;
  remoteDiag = 0;
  /** bfd.DetectMult */
  detectMult: number;
  remoteDetectMult = 0;
  /** Configured intervals (µs). */
  configuredMinTx: number;
  configuredMinRx: number;
  /** bfd.DesiredMinTxInterval / bfd.RequiredMinRxInterval: what packets carry (µs). */
  desiredMinTx: number;
  requiredMinRx: number;
  /** Intervals in operational use until a Poll Sequence completes (µs). */
  usedMinTx: number;
  usedMinRx: number;
  /** bfd.RemoteMinRxInterval (µs), initialised to 1. */
  remoteMinRx = 1;
  /** Remote Desired Min TX (µs). */
  remoteDesiredMinTx = 0;
  /** A Poll Sequence is in progress (§6.5). */
  polling = false;
  /** Absolute deadlines (ms); Infinity when unarmed. */
  txAt = Number.POSITIVE_INFINITY;
  detectAt = Number.POSITIVE_INFINITY;
  lastRxAt = Number.NEGATIVE_INFINITY;
  /** Detection time (ms) in force when the last packet was accepted. */
  lastDetectMs = 0;
  /** Counters. */
  txCount = 0;
  rxCount = 0;
  rejectCount = 0;
  private started = false;

  constructor(cfg: SessionConfig) {
    if (!Number.isInteger(cfg.localDiscriminator) || cfg.localDiscriminator < 1) {
      throw new RangeError('localDiscriminator must be a nonzero 32-bit integer');
    }
    if (!Number.isInteger(cfg.detectMult) || cfg.detectMult < 1 || cfg.detectMult > 255) {
      throw new RangeError('detectMult must be 1-255');
    }
    checkInterval('desiredMinTx', cfg.desiredMinTx, 1);
    checkInterval('requiredMinRx', cfg.requiredMinRx, 0);
    this.localDiscriminator = cfg.localDiscriminator >>> 0;
    this.passive = cfg.passive ?? false;
    this.auth = cfg.auth;
    this.authState = newAuthState();
    this.random = cfg.random ?? Math.random;
    this.detectMult = cfg.detectMult;
    this.configuredMinTx = cfg.desiredMinTx;
    this.configuredMinRx = cfg.requiredMinRx;
    this.desiredMinTx = Math.max(cfg.desiredMinTx, ONE_SECOND_US);
    this.requiredMinRx = cfg.requiredMinRx;
    this.usedMinTx = this.desiredMinTx;
    this.usedMinRx = this.requiredMinRx;
    if (cfg.adminDown) {
      this.state = State.AdminDown;
      this.diag = Diag.AdministrativelyDown;
    }
  }

  /** Detection time in ms (§6.8.4), 0 before anything was heard. */
  detectionTimeMs(): number {
    if (this.remoteDetectMult === 0) return 0;
    return (this.remoteDetectMult * Math.max(this.usedMinRx, this.remoteDesiredMinTx)) / 1000;
  }

  /** Transmit interval before jitter, ms (§6.8.7); 0 when periodic sending is off. */
  transmitIntervalMs(): number {
    if (this.remoteMinRx === 0) return 0;
    return Math.max(this.usedMinTx, this.remoteMinRx) / 1000;
  }

  /** The earliest deadline the driver must call `timer` at. */
  nextDeadline(): number {
    return Math.min(this.txAt, this.detectAt);
  }

  /** Begin: an active session sends its first packet now. */
  start(now: number): SessionAction[] {
    this.started = true;
    if (!this.mayTransmit()) return NONE;
    const out: SessionAction[] = [];
    this.sendPeriodic(now, out);
    return out;
  }

  /** The packet this session would send now (§6.8.7). */
  packet(final = false): ControlPacket {
    return {
      version: 1,
      diag: this.diag,
      state: this.state,
      poll: this.polling && !final,
      final,
      cpi: false,
      demand: false,
      multipoint: false,
      detectMult: this.detectMult,
      myDiscriminator: this.localDiscriminator,
      yourDiscriminator: this.remoteDiscriminator,
      desiredMinTx: this.desiredMinTx,
      requiredMinRx: this.requiredMinRx,
      requiredMinEchoRx: 0,
    };
  }

  /**
   * A packet that passed the codec's checks arrives (RFC 5880 §6.8.6, from
   * the Your Discriminator check on). `bytes` are the received octets, needed
   * to verify a digest.
   */
  receive(p: ControlPacket, now: number, bytes?: Uint8Array): SessionAction[] {
    if (p.yourDiscriminator !== 0 && p.yourDiscriminator !== this.localDiscriminator) {
      return this.reject('no-session', `Your Discriminator ${p.yourDiscriminator} is not ours`);
    }
    if (p.yourDiscriminator === 0 && p.state !== State.Down && p.state !== State.AdminDown) {
      return this.reject('your-discriminator', 'Your Discriminator zero outside Down/AdminDown');
    }
    if (this.auth !== undefined || p.auth !== undefined) {
      // §6.7.1: forget the sequence after two Detection Times of silence.
      // (The detection time in force when the last packet came: expiry clears
      // the remote variables it is computed from.)
      const dt = this.lastDetectMs;
      if (this.authState.seqKnown && dt > 0 && now - this.lastRxAt > 2 * dt) {
        this.authState.seqKnown = false;
      }
      const r = verifyPacket(p, bytes ?? encode(p), this.auth, this.authState, this.detectMult);
      if (r !== null) return this.reject(r.check, r.message);
    }
    this.rxCount++;
    this.lastRxAt = now;
    this.remoteDiscriminator = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteDiag = p.diag;
    this.remoteDemand = p.demand;
    this.remoteDetectMult = p.detectMult;
    const oldRemoteMinRx = this.remoteMinRx;
    this.remoteMinRx = p.requiredMinRx;
    this.remoteDesiredMinTx = p.desiredMinTx;
    let out: SessionAction[] = NONE;
    if (p.final && this.polling) {
      // §6.5: the Poll Sequence is over; the new intervals take effect.
      this.polling = false;
      this.usedMinTx = this.desiredMinTx;
      this.usedMinRx = this.requiredMinRx;
    }
    // §6.8.4: detection timer restarts on every valid packet.
    this.lastDetectMs = this.detectionTimeMs();
    this.detectAt = now + this.lastDetectMs;
    if (this.state === State.AdminDown) return NONE;

    const prev = this.state;
    if (p.state === State.AdminDown) {
      if (this.state !== State.Down) {
        this.diag = Diag.NeighborSignaledSessionDown;
        this.state = State.Down;
      }
    } else if (this.state === State.Down) {
      if (p.state === State.Down) this.state = State.Init;
      else if (p.state === State.Init) this.state = State.Up;
    } else if (this.state === State.Init) {
      if (p.state === State.Init || p.state === State.Up) this.state = State.Up;
    } else if (p.state === State.Down) {
      this.diag = Diag.NeighborSignaledSessionDown;
      this.state = State.Down;
    }

    if (prev !== this.state) {
      out = [];
      this.changed(prev, now, out);
    } else if (this.started && this.txAt === Number.POSITIVE_INFINITY && this.mayTransmit()) {
      // A passive session heard its peer, or the peer re-enabled sending.
      out = [];
      this.sendPeriodic(now, out);
    } else if (oldRemoteMinRx !== this.remoteMinRx && this.txAt !== Number.POSITIVE_INFINITY) {
      // §6.8.7: a changed RemoteMinRx changes the interval from now on.
      const ivl = this.transmitIntervalMs();
      if (ivl === 0) this.txAt = Number.POSITIVE_INFINITY;
      else if (this.txAt - now > ivl) this.txAt = now + this.jittered(ivl);
    }
    if (!this.mayTransmit()) this.txAt = Number.POSITIVE_INFINITY;
    if (p.poll) {
      // §6.5: answer a Poll with a Final at once, outside the periodic schedule.
      if (out === NONE) out = [];
      this.emit(this.packet(true), out);
    }
    return out;
  }

  /** The driver's timer reached `nextDeadline()` (or later). */
  timer(now: number): SessionAction[] {
    let out: SessionAction[] = NONE;
    if (now >= this.detectAt) {
      // §6.8.4 detection time passed without a packet.
      this.detectAt = Number.POSITIVE_INFINITY;
      this.remoteDiscriminator = 0; // §6.8.1 bfd.RemoteDiscr
      this.remoteState = State.Down;
      this.remoteDemand = false;
      this.remoteDetectMult = 0;
      this.remoteMinRx = 1;
      if (this.polling) {
        this.polling = false;
        this.usedMinTx = this.desiredMinTx;
        this.usedMinRx = this.requiredMinRx;
      }
      if (this.state === State.Init || this.state === State.Up) {
        const prev = this.state;
        this.state = State.Down;
        this.diag = Diag.ControlDetectionTimeExpired;
        out = [];
        this.changed(prev, now, out);
        return out;
      }
      if (!this.mayTransmit()) this.txAt = Number.POSITIVE_INFINITY;
    }
    if (now >= this.txAt) {
      if (out === NONE) out = [];
      this.sendPeriodic(now, out);
    }
    return out;
  }

  /**
   * Driver stall guard: when the driver's own timer ran late (its event loop
   * was stalled), packets that arrived meanwhile may still be queued unread.
   * Holding detection until `until` lets them be read before declaring Down.
   */
  holdDetection(until: number): void {
    if (this.detectAt !== Number.POSITIVE_INFINITY && this.detectAt < until) this.detectAt = until;
  }

  /** Administrative down (§6.8.16). */
  adminDown(now: number, diag: number = Diag.AdministrativelyDown): SessionAction[] {
    if (this.state === State.AdminDown) return NONE;
    const prev = this.state;
    this.state = State.AdminDown;
    this.diag = diag;
    const out: SessionAction[] = [];
    this.changed(prev, now, out);
    return out;
  }

  /** Leave AdminDown for Down (§6.8.16). */
  adminUp(now: number): SessionAction[] {
    if (this.state !== State.AdminDown) return NONE;
    this.state = State.Down;
    this.diag = Diag.None;
    const out: SessionAction[] = [];
    this.changed(State.AdminDown, now, out);
    return out;
  }

  /**
   * Change timers (§6.8.3). While Up a Poll Sequence starts and the new
   * intervals come into use only when the Final arrives.
   */
  setTimers(
    now: number,
    t: { desiredMinTx?: number; requiredMinRx?: number; detectMult?: number },
  ): SessionAction[] {
    if (t.desiredMinTx !== undefined) {
      checkInterval('desiredMinTx', t.desiredMinTx, 1);
      this.configuredMinTx = t.desiredMinTx;
    }
    if (t.requiredMinRx !== undefined) {
      checkInterval('requiredMinRx', t.requiredMinRx, 0);
      this.configuredMinRx = t.requiredMinRx;
    }
    if (t.detectMult !== undefined) {
      if (!Number.isInteger(t.detectMult) || t.detectMult < 1 || t.detectMult > 255) {
        throw new RangeError('detectMult must be 1-255');
      }
      this.detectMult = t.detectMult;
    }
    const out: SessionAction[] = [];
    this.applyIntervals(now, out);
    if (out.length === 0 && t.detectMult !== undefined && this.txAt !== Number.POSITIVE_INFINITY) {
      this.emit(this.packet(), out);
    }
    return out;
  }

  // --- internals ---------------------------------------------------------

  private mayTransmit(): boolean {
    // §6.8.7: not when passive and the peer is unknown, not when RemoteMinRx
    // is 0, not when the peer runs Demand mode and both ends are Up (§6.6).
    if (this.passive && this.remoteDiscriminator === 0) return false;
    if (this.remoteDemand && this.state === State.Up && this.remoteState === State.Up) return false;
    return this.remoteMinRx !== 0;
  }

  private reject(check: BfdReject['check'], message: string): SessionAction[] {
    this.rejectCount++;
    return [{ type: 'reject', check, message }];
  }

  private changed(prev: StateValue, now: number, out: SessionAction[]): void {
    if (this.state === State.Up) this.diag = Diag.None;
    out.push({
      type: 'state',
      state: this.state,
      previous: prev,
      diag: this.diag,
      remoteDiag: this.remoteDiag,
      remoteState: this.remoteState,
      at: now,
      detectMs: this.detectionTimeMs(),
    });
    if (!this.applyIntervals(now, out) && this.started && this.mayTransmit()) {
      // Tell the peer about the new state at once rather than at the next tick.
      this.sendPeriodic(now, out);
    }
  }

  /**
   * Recompute the advertised intervals (1 s floor while not Up, §6.8.3).
   * Returns true when a packet was sent (a Poll started).
   */
  private applyIntervals(now: number, out: SessionAction[]): boolean {
    const tx =
      this.state === State.Up
        ? this.configuredMinTx
        : Math.max(this.configuredMinTx, ONE_SECOND_US);
    const rx = this.configuredMinRx;
    if (tx === this.desiredMinTx && rx === this.requiredMinRx) return false;
    const oldRx = this.usedMinRx;
    this.desiredMinTx = tx;
    this.requiredMinRx = rx;
    if (this.state === State.Up && this.remoteDiscriminator !== 0) {
      // §6.8.3: Poll Sequence; keep the old TX interval and the larger RX
      // interval for detection until the Final.
      // A faster TX is safe at once (the peer's detection time shrinks with
      // what we advertise); a slower one waits for the Final.
      this.polling = true;
      this.usedMinTx = Math.min(this.usedMinTx, tx);
      this.usedMinRx = Math.max(oldRx, rx);
      if (this.started && this.mayTransmit()) {
        this.sendPeriodic(now, out);
        return true;
      }
      return false;
    }
    this.polling = false;
    this.usedMinTx = tx;
    this.usedMinRx = rx;
    return false;
  }

  /** Send now and schedule the next periodic packet with jitter (§6.8.7). */
  private sendPeriodic(now: number, out: SessionAction[]): void {
    this.emit(this.packet(), out);
    const ivl = this.transmitIntervalMs();
    this.txAt =
      ivl === 0 || !this.mayTransmit() ? Number.POSITIVE_INFINITY : now + this.jittered(ivl);
  }

  /** §6.8.7: reduce by 0-25%, or 10-25% when Detect Mult is 1. */
  jittered(ivlMs: number): number {
    const r = this.random();
    const reduction = this.detectMult === 1 ? 0.1 + 0.15 * r : 0.25 * r;
    return ivlMs * (1 - reduction);
  }

  private emit(p: ControlPacket, out: SessionAction[]): void {
    const bytes =
      this.auth === undefined
        ? encode(p, Buffer.allocUnsafe(MIN_LENGTH))
        : signPacket(p, this.auth, this.authState);
    this.txCount++;
    out.push({ type: 'send', packet: p, bytes });
  }
}

function checkInterval(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 0xffffffff) {
    throw new RangeError(`${name} must be an integer number of microseconds >= ${min}`);
  }
}
