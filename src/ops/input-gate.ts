// Input flow control of the daemon: when the route-server core's input queue
// is full (receiveUpdate returned false) every client socket stops being read
// (BgpPeer.pauseInput: the kernel buffers, then TCP flow control holds the
// senders back) until the core has drained (onInputDrain). UPDATEs are thus
// decoded about as fast as the core applies them, instead of all at once when
// many clients send full tables together.
//
//   const gate = new InputGate(peers, { maxPauseMs: 1000 });
//   if (!core.receiveUpdate(id, msg)) gate.full(peer);   // the peer that filled it
//   onInputDrain: () => gate.drained()
//
// Fairness: input opens again starting with the member after the one whose
// UPDATE closed it, so a client early in the list cannot keep the others
// waiting over many drain cycles.
//
// The bound: nothing is read while closed, KEEPALIVEs included, and the hold
// timers keep running. Input is never closed for longer than `maxPauseMs`
// (default 1 s; the daemon uses a third of the smallest negotiated hold time,
// 1 to 30 s) counted from the first pause after the last read round in
// which every member got its turn (a drain that closes input again at once
// does not restart it). When it passes, every member is resumed for one read
// round (each delivers what its socket has buffered; pauses wait for the end
// of the round), then input closes again if the core is still full: the core
// simply queues more. 1 s is at most a third of any hold time in use (RFC 4271
// §4.2: 0 or at least 3 s), so no session loses its hold timer to flow
// control. The core normally drains in a few ms (1024 NLRI), so the bound
// only matters if it is stalled.

import type pino from 'pino';

/** What the gate pauses: a BgpPeer. */
export interface Pausable {
  pauseInput(): void;
  resumeInput(): void;
}

export interface InputGateOptions {
  /** Longest time input stays closed, milliseconds (default 1000); a function is asked at each pause. */
  maxPauseMs?: number | (() => number);
  /** Debug lines (one per forced read round, none per pause). */
  log?: pino.Logger;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

export const DEFAULT_MAX_PAUSE_MS = 1000;

export class InputGate {
  private readonly members: readonly Pausable[];
  private readonly maxPauseMs: number | (() => number);
  private readonly log: pino.Logger | undefined;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  /** Members are paused now. */
  private closed = false;
  /** The core said full and has not drained since. */
  private coreFull = false;
  /** A forced read round is running: pauses wait for its end. */
  private inRound = false;
  private stopped = false;
  /** Index of the member resumed first next time. */
  private next = 0;
  private bound: unknown = null;
  /** Times input was closed, and read rounds forced by the bound (for tests and ops). */
  readonly stats = { pauses: 0, forcedRounds: 0 };

  constructor(members: readonly Pausable[], opts: InputGateOptions = {}) {
    this.members = members;
    this.maxPauseMs = opts.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS;
    this.log = opts.log;
    this.setTimer = opts.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer =
      opts.clearTimeout ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** Input is paused now. */
  get paused(): boolean {
    return this.closed;
  }

  /** The core's input queue is full (receiveUpdate returned false for an UPDATE of `from`). */
  full(from: Pausable): void {
    this.coreFull = true;
    if (this.closed || this.inRound || this.stopped) return;
    const i = this.members.indexOf(from);
    this.next = i < 0 ? 0 : (i + 1) % Math.max(1, this.members.length);
    this.close();
  }

  /** The core's input queue is back down (onInputDrain). */
  drained(): void {
    this.coreFull = false;
    if (!this.closed || this.stopped) return;
    this.open();
    // The resumed sockets deliver on the next ticks (stream resume), before
    // this one: if none of them closed input again, every member had its turn.
    process.nextTick(() => {
      if (!this.closed) this.clearBound();
    });
  }

  /** Stop for good (daemon shutdown): timers cleared, members resumed. */
  stop(): void {
    this.stopped = true;
    this.clearBound();
    if (this.closed) this.open();
  }

  private close(): void {
    this.closed = true;
    this.stats.pauses++;
    for (const m of this.members) m.pauseInput();
    if (this.bound === null) this.bound = this.setTimer(() => this.forceRound(), this.pauseMs());
  }

  private open(): void {
    this.closed = false;
    const n = this.members.length;
    for (let k = 0; k < n; k++) this.members[(this.next + k) % n]!.resumeInput();
  }

  private pauseMs(): number {
    return typeof this.maxPauseMs === 'function' ? this.maxPauseMs() : this.maxPauseMs;
  }

  private clearBound(): void {
    if (this.bound !== null) this.clearTimer(this.bound);
    this.bound = null;
  }

  /** The bound passed with input closed: one read round for every member. */
  private forceRound(): void {
    this.bound = null;
    if (!this.closed || this.stopped) return;
    this.stats.forcedRounds++;
    this.log?.debug({ maxPauseMs: this.pauseMs() }, 'input paused for the bound: read round');
    this.inRound = true;
    this.open();
    process.nextTick(() => {
      this.inRound = false;
      if (this.coreFull && !this.closed && !this.stopped) this.close();
    });
  }
}
