// One BGP peer over node:net: drives the pure FSM (fsm.ts) with sockets, the
// framer (framing.ts), the codec and capability negotiation (negotiate.ts).
//
//   const peer = new BgpPeer(config, { logger, now });   // usually via BgpSpeaker.addPeer
//   peer.on('established', (n: Negotiated) => ...);
//   peer.on('update', (u: UpdateMessage) => ...);
//   peer.on('down', ({ reason, sent, received, wasEstablished }) => ...);
//   peer.start();
//   peer.sendRaw(bytes)      // pre-encoded UPDATE; false above the high-water mark -> wait for 'drain'
//   await peer.stop('maintenance until 18:00');   // Cease 6/2 + RFC 8203/9003 message
//
// Events: 'state' (from, to), 'established' (Negotiated), 'update' (UpdateMessage),
// 'route-refresh' (RouteRefreshMessage), 'down' (PeerDown), 'drain' ().
// Also: sendUpdate(msg), sendRouteRefresh(afi, safi, subtype?) (only when
// negotiated), reset(notification) (e.g. max-prefix with restart: NOTIFICATION,
// then automatic restart after the idle hold), stopWith(notification) (no
// restart), readonly state / negotiated / stats / fsmState.
//
// Input flow control: pauseInput() stops reading the peer's socket (TCP flow
// control then pushes back on the sender) until resumeInput(); it also holds
// for a connection attached later (the peer reconnects while paused). While
// paused nothing is read, KEEPALIVEs included: the caller bounds the pause
// (the hold timer keeps running).
//
// RFC 9687 send hold timer: a peer that stops reading for `sendHoldTime`
// (default max(8 min, 2 x hold time)) is dropped with NOTIFICATION 8.
//
// Active opens (with optional local address bind) are made here; passive opens
// arrive from BgpSpeaker, which waits for the peer's OPEN (DelayOpen) and
// resolves collisions through acceptInbound(). Timers: one OS timer for the
// earliest FSM deadline. Clock injected (`now`, milliseconds, monotonic).

import { EventEmitter } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import { decodeMessage, encodeMessage, KEEPALIVE } from './codec.ts';
import { Framer } from './framing.ts';
import {
  describeNotification,
  dueTimerEvents,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type FsmStateName,
  fsmInit,
  fsmStep,
  type Notification,
  nextDeadline,
} from './fsm.ts';
import {
  buildOpen,
  collisionKeep,
  type LocalOpenConfig,
  type Negotiated,
  negotiate,
  openAs,
} from './negotiate.ts';
import { canonicalAddress } from './prefix.ts';
import {
  BgpError,
  type BgpMessage,
  type CodecOptions,
  MAX_EXTENDED_MESSAGE,
  MAX_MESSAGE,
  type NotificationMessage,
  type OpenMessage,
  type RouteRefreshMessage,
  type UpdateMessage,
} from './types.ts';

export interface PeerConfig extends LocalOpenConfig {
  /** The peer's address (IPv4 or IPv6 text). */
  peerAddress: string;
  /** TCP port to connect to (default 179). */
  port?: number;
  /** Local address to bind active opens to. */
  localAddress?: string;
  /** Never initiate connections (ManualStart_Passive). */
  passive?: boolean;
  /** Initial ConnectRetryTime, seconds (default 120 per RFC 4271 §10). */
  connectRetryTime?: number;
  /** Name used in logs (`peer` field); default the address. */
  name?: string;
  /**
   * RS-BFD profile §3: accept an inbound session from this address whose OPEN
   * offers only BGP-LS as a separate "reachability session" (speaker event
   * 'ls-session') instead of treating it as a collision. Default false.
   */
  acceptLsSession?: boolean;
  /** Other FSM timers (idle hold backoff, DelayOpenTime, ...). */
  fsm?: Partial<FsmConfig>;
  /** Bytes queued on the socket above which sendRaw returns false (default 1 MiB). */
  highWaterMark?: number;
  /**
   * RFC 9687 SendHoldTime, seconds: close the session (NOTIFICATION 8, Send
   * Hold Timer Expired) when queued output makes no progress for this long,
   * e.g. a peer that stopped reading. Default max(480, 2 x negotiated hold
   * time); 0 disables. Checked at each keepalive tick.
   */
  sendHoldTime?: number;
}

export interface PeerDown {
  reason: string;
  /** True when the session had reached Established. */
  wasEstablished: boolean;
  sent?: NotificationMessage;
  received?: NotificationMessage;
}

export interface PeerOptions {
  logger?: pino.Logger;
  /** Monotonic clock in milliseconds (default performance.now). */
  now?: () => number;
}

const CLOSE_GRACE_MS = 2000;

function toNotificationMessage(n: Notification): NotificationMessage {
  return {
    type: 'notification',
    code: n.code,
    subcode: n.subcode,
    data: n.data ?? new Uint8Array(0),
    ...(n.shutdownMessage !== undefined ? { shutdownMessage: n.shutdownMessage } : {}),
  };
}

/** A socket carrying BGP messages: framing, back-pressure, graceful close. */
export class Connection {
  readonly socket: net.Socket;
  readonly direction: 'in' | 'out';
  readonly remoteAddress: string;
  readonly framer = new Framer();
  /** Called per complete message; may throw BgpError (reported to onError). */
  onMessage: ((msg: Uint8Array) => void) | null = null;
  /** Header error or an exception from onMessage. */
  onError: ((err: unknown) => void) | null = null;
  /** The socket closed (by either side). Called once. */
  onClose: (() => void) | null = null;
  onDrain: (() => void) | null = null;
  closed = false;
  private closeFired = false;
  private readingPaused = false;
  /** Bytes read but not framed, in order, while paused (and until replayed). */
  private held: Uint8Array[] | null = null;
  private replayScheduled = false;
  private needDrain = false;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };
  highWaterMark: number;

  constructor(socket: net.Socket, direction: 'in' | 'out', highWaterMark = 1 << 20) {
    this.socket = socket;
    this.direction = direction;
    this.remoteAddress = peerKey(socket.remoteAddress ?? '');
    this.highWaterMark = Math.max(highWaterMark, socket.writableHighWaterMark);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      // 'close' follows
    });
    socket.on('close', () => this.fireClose());
    socket.on('drain', () => {
      if (this.needDrain && !this.closed) {
        this.needDrain = false;
        this.onDrain?.();
      }
    });
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.held !== null) this.held.push(chunk);
    else this.frame(chunk);
  }

  /**
   * Frames `chunk` until it ends or reading is paused: after a pause what is
   * left of the chunk is held as raw bytes, not decoded into messages nobody
   * will apply for a while (input flow control bounds the decoded backlog, not
   * just what the socket reads next).
   */
  private frame(chunk: Uint8Array): void {
    try {
      const used = this.framer.push(chunk, (m) => {
        this.onMessage?.(m);
        return !this.closed && !this.readingPaused;
      });
      if (used < chunk.length && !this.closed) (this.held ??= []).push(chunk.subarray(used));
    } catch (e) {
      if (!this.closed) this.onError?.(e);
    }
  }

  /** Frames what was held since a pause, then reads the socket again unless paused meanwhile. */
  private readonly replay = (): void => {
    this.replayScheduled = false;
    if (this.closed || this.readingPaused) return;
    const held = this.held;
    this.held = null;
    if (held !== null) {
      for (let i = 0; i < held.length; i++) {
        if (this.closed) return;
        if (this.readingPaused) {
          (this.held ??= []).push(...held.slice(i));
          return;
        }
        this.frame(held[i]!);
      }
      if (this.closed || this.readingPaused) return;
    }
    this.socket.resume();
  };

  private fireClose(): void {
    this.closed = true;
    if (this.closeFired) return;
    this.closeFired = true;
    this.onClose?.();
  }

  /**
   * Queue bytes (no copy). False when the queue is above the high-water mark.
   * The first send of a tick corks the socket and the next tick uncorks it, so
   * what one slice sends goes out in one write (writev) per connection.
   */
  send(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(bytes);
    if (this.socket.writableLength >= this.highWaterMark) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /**
   * Stop reading the socket ('data' paused; the kernel buffers, then TCP flow
   * control holds the sender back). Framing stops after the message being
   * delivered; the rest of its chunk is held raw until resumeReading.
   * Idempotent.
   */
  pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    if (!this.closed) this.socket.pause();
  }

  /**
   * Read again after pauseReading. Idempotent. What was held is framed first,
   * on a later turn of the event loop (never inside the caller, which is the
   * core draining its input), and the socket resumes after it.
   */
  resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    if (this.closed) return;
    if (this.held === null) this.socket.resume();
    else if (!this.replayScheduled) {
      this.replayScheduled = true;
      setImmediate(this.replay);
    }
  }

  /** True between pauseReading and resumeReading. */
  get paused(): boolean {
    return this.readingPaused;
  }

  /** Flush what is queued (e.g. a NOTIFICATION), then close; destroy after a grace period. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Read (and drop, see onData) what is left so the peer's FIN is seen.
    if (this.readingPaused || this.held !== null) this.socket.resume();
    this.held = null;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  /** Resolves when the socket is fully closed. */
  whenClosed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }
}

/**
 * An address as the session layer compares it: the one canonical text
 * (src/bgp/prefix.ts canonicalAddress: "::ffff:192.0.2.1" -> "192.0.2.1",
 * IPv6 per RFC 5952), or the text itself when it is no address.
 */
export function peerKey(a: string): string {
  return canonicalAddress(a) ?? a;
}

export class BgpPeer extends EventEmitter {
  readonly config: PeerConfig;
  /** Canonical peer address. */
  readonly address: string;
  readonly log: pino.Logger;
  private readonly now: () => number;
  private fsm: FsmState;
  private conn: Connection | null = null;
  private connecting: net.Socket | null = null;
  private readonly ourOpen: OpenMessage;
  private codecOpts: CodecOptions = { as4: false };
  private timer: NodeJS.Timeout | null = null;
  private timerAt: number | null = null;
  private feeding = false;
  private queue: FsmEvent[] = [];
  private closing = new Set<Connection>();
  private sendStuckSince: number | null = null;
  /** The IdleHoldTimer deadline of the damped period last logged at warn by refuseDamped. */
  private refusedDeadline: number | null = null;
  private sendFlushed = -1;
  private pausedInput = false;
  /** Wrong peer ASNs already logged at warn (the peer retries; later ones at debug). */
  private readonly badAsLogged = new Set<number>();
  /** The last connect error logged at warn (repeats go to debug). */
  private lastConnectError: string | null = null;
  /** Negotiated session parameters; null until an OPEN was accepted. */
  negotiated: Negotiated | null = null;
  /** Messages received / sent since construction (counters for ops). */
  readonly stats = { updatesIn: 0, messagesIn: 0, messagesOut: 0 };

  constructor(config: PeerConfig, opts: PeerOptions = {}) {
    super();
    const hold = config.holdTime ?? 90;
    if (hold === 1 || hold === 2 || hold < 0 || hold > 65535 || !Number.isInteger(hold)) {
      throw new Error(
        `peer ${config.peerAddress}: holdTime ${hold} must be 0 or 3..65535 (RFC 4271 §4.2)`,
      );
    }
    this.config = config;
    this.address = peerKey(config.peerAddress);
    this.now = opts.now ?? (() => performance.now());
    this.log = (opts.logger ?? pino({ level: 'warn' })).child({
      peer: config.name ?? this.address,
    });
    this.fsm = fsmInit(
      {
        holdTime: config.holdTime ?? 90,
        ...(config.connectRetryTime !== undefined
          ? { connectRetryTime: config.connectRetryTime }
          : {}),
        ...config.fsm,
      },
      (Math.random() * 0x100000000) >>> 0,
    );
    this.ourOpen = buildOpen(config);
  }

  get state(): FsmStateName {
    return this.fsm.name;
  }

  /** The OPEN we send. */
  get localOpen(): OpenMessage {
    return this.ourOpen;
  }

  /** FSM state snapshot (counters, deadlines), for operators and tests. */
  get fsmState(): FsmState {
    return this.fsm;
  }

  start(): void {
    this.feed({ type: this.config.passive ? 'ManualStart_Passive' : 'ManualStart' });
  }

  /**
   * Stop the session: Cease / Administrative Shutdown (6/2) with the RFC 8203/9003
   * shutdown message when a session is up, then no automatic restart. Resolves
   * when the connection is closed.
   */
  async stop(shutdownMessage?: string): Promise<void> {
    const conns = [...this.closing];
    if (this.conn) conns.push(this.conn);
    this.feed({ type: 'ManualStop', ...(shutdownMessage ? { shutdownMessage } : {}) });
    this.clearTimer();
    await Promise.all(conns.map((c) => c.whenClosed()));
  }

  /** Stop with a given Cease (e.g. 6/3 Peer De-configured), without restarting. */
  async stopWith(notification: Notification): Promise<void> {
    const conns = this.conn ? [this.conn] : [];
    this.feed({ type: 'AutomaticStop', notification });
    this.feed({ type: 'ManualStop' });
    this.clearTimer();
    await Promise.all(conns.map((c) => c.whenClosed()));
  }

  /**
   * End the session with a NOTIFICATION (e.g. Cease 6/1 maximum prefixes) and
   * let it restart by itself after the idle hold time (AutomaticStop, RFC 4271
   * §8.1.2 Event 8). Counts as a failure for the idle-hold backoff.
   */
  reset(notification: Notification): void {
    this.feed({ type: 'AutomaticStop', notification });
  }

  /**
   * Stop reading from the peer (input flow control): the current connection's
   * socket is paused, and so is any connection attached while paused (a
   * reconnect, an inbound connection handed over by the speaker after its
   * OPEN). Messages already framed from the chunk being handled are still
   * delivered. Nothing is read meanwhile, KEEPALIVEs included, so keep pauses
   * well below the hold time. Idempotent.
   */
  pauseInput(): void {
    if (this.pausedInput) return;
    this.pausedInput = true;
    this.conn?.pauseReading();
  }

  /** Read from the peer again after pauseInput. Idempotent. */
  resumeInput(): void {
    if (!this.pausedInput) return;
    this.pausedInput = false;
    this.conn?.resumeReading();
  }

  /** True between pauseInput and resumeInput. */
  get inputPaused(): boolean {
    return this.pausedInput;
  }

  /** Encode with the negotiated options and send. See sendRaw for the return value. */
  sendUpdate(msg: UpdateMessage): boolean {
    if (!this.negotiated || this.fsm.name !== 'Established') return true;
    return this.sendRaw(encodeMessage(msg, this.negotiated.codec));
  }

  /**
   * Send pre-encoded message bytes as they are (not copied: do not modify them
   * afterwards). Returns false when the socket queue is above the high-water
   * mark: stop sending until 'drain'. Bytes for a session that is not
   * Established are dropped (returns true; listen for 'down').
   */
  sendRaw(bytes: Uint8Array): boolean {
    if (this.fsm.name !== 'Established' || !this.conn) return true;
    this.stats.messagesOut++;
    return this.conn.send(bytes);
  }

  /**
   * ROUTE-REFRESH (RFC 2918; subtype per RFC 7313). Not sent (no-op, returns
   * true) unless the capability was negotiated (enhanced for subtypes 1, 2).
   */
  sendRouteRefresh(afi: number, safi: number, subtype = 0): boolean {
    const n = this.negotiated;
    if (!n || !(subtype === 0 ? n.routeRefresh : n.enhancedRouteRefresh)) {
      this.log.debug({ afi, safi, subtype }, 'route refresh not negotiated: not sent');
      return true;
    }
    const m: RouteRefreshMessage = { type: 'route-refresh', afi, safi, subtype };
    return this.sendRaw(encodeMessage(m, this.codecOpts));
  }

  /**
   * An inbound connection from this peer's address, with the OPEN it sent
   * (null when it sent none within DelayOpenTime; then only taken in
   * Connect/Active). Applies RFC 4271 §6.8 collision resolution. Returns
   * whether the connection was taken.
   */
  acceptInbound(conn: Connection, open: OpenMessage | null): boolean {
    // RFC 4271 §6.2: an OPEN from the wrong AS gets Bad Peer AS (2/2), in every
    // state — not a Cease because the peer happens to be Idle after earlier tries.
    if (open !== null && openAs(open) !== this.config.peerAs) {
      this.logBadPeerAs(openAs(open));
      const data = Uint8Array.of(open.myAs >> 8, open.myAs & 0xff);
      this.rejectConnection(conn, { code: 2, subcode: 2, data });
      return false;
    }
    if (this.fsm.name === 'Idle' && this.fsm.started && !this.fsm.damped) {
      // Idle after a session the peer ended normally (Cease, TCP close): a
      // peer that reconnects at once (it restarted) is taken now (Event 5).
      this.feed({ type: 'AutomaticStart_Passive' });
    }
    const name = this.fsm.name;
    if (name === 'Idle') {
      this.refuseDamped(conn);
      return false;
    }
    if (name === 'Connect' || name === 'Active') {
      this.abortConnecting();
      this.attach(conn);
      this.feed({ type: 'TcpConnectionConfirmed', delayOpen: open !== null });
      if (open) this.handleOpen(conn, open);
      return true;
    }
    if (open === null) return false;
    // Collision (§6.8): the FSM already has a connection in OpenSent or later.
    const existing = this.conn;
    const keep = collisionKeep(this.config.routerId, open.bgpId, this.config.localAs, openAs(open));
    // Both connections initiated by the peer: it gave up on the older one, keep the newer.
    const dumpExisting =
      name !== 'Established' && (existing?.direction === 'in' || keep === 'remote-initiated');
    this.log.info(
      { state: name, keep: dumpExisting ? 'new' : 'existing' },
      'connection collision (RFC 4271 §6.8)',
    );
    if (!dumpExisting) {
      this.rejectConnection(conn, { code: 6, subcode: 7 });
      return false;
    }
    this.feed({ type: 'OpenCollisionDump', keepListening: true });
    this.attach(conn);
    this.feed({ type: 'TcpConnectionConfirmed', delayOpen: true });
    this.handleOpen(conn, open);
    return true;
  }

  private logBadPeerAs(seen: number): void {
    const fields = { seenAs: seen, expectedAs: this.config.peerAs, notification: '2/2' };
    const msg = 'OPEN from a wrong peer AS: NOTIFICATION 2/2 (Bad Peer AS)';
    if (this.badAsLogged.has(seen) || this.badAsLogged.size > 16) this.log.debug(fields, msg);
    else {
      this.badAsLogged.add(seen);
      this.log.warn(fields, msg);
    }
  }

  /**
   * The peer is Idle: damped after a failure (refused until IdleHoldTimer
   * expires, logged with that time), or stopped. Cease / Connection Rejected
   * (RFC 4486).
   */
  private refuseDamped(conn: Connection): void {
    const until = this.dampedUntil();
    if (until === null) {
      this.log.info('connection refused: peer is Idle (stopped, or no automatic restart)');
    } else {
      // once per damped period (its IdleHoldTimer deadline) at warn, then info
      const first = this.refusedDeadline !== this.fsm.timers.idleHold;
      this.refusedDeadline = this.fsm.timers.idleHold;
      const fields = {
        until: until.toISOString(),
        retryIn: Math.max(0, Math.ceil((until.getTime() - Date.now()) / 1000)),
        failures: this.fsm.failures,
      };
      const text = 'connection refused: reconnect backoff after a failed session';
      if (first) this.log.warn(fields, text);
      else this.log.info(fields, text);
    }
    this.rejectConnection(conn, { code: 6, subcode: 5 });
  }

  /** When a damped peer's connections are taken again (wall clock), or null when not damped. */
  dampedUntil(): Date | null {
    const t = this.fsm.timers.idleHold;
    if (!this.fsm.damped || t === null) return null;
    return new Date(Date.now() + Math.max(0, t - this.now()));
  }

  /**
   * An inbound connection from this peer failed before it reached the FSM
   * (the speaker's DelayOpen wait): a bad header or OPEN, or no OPEN in time.
   * In Connect/Active this is the RFC 4271 §8.2.2 error with DelayOpen
   * running: Idle, counted as a failure (damped). With a connection of its
   * own in OpenSent or later, or already Idle, the FSM is left alone.
   */
  inboundFailed(reason: string): void {
    const name = this.fsm.name;
    if (name !== 'Connect' && name !== 'Active') return;
    this.feed({ type: 'InboundConnectionFails', reason });
    const until = this.dampedUntil();
    if (until !== null) {
      this.log.info(
        { reason, refuseConnectionsUntil: until.toISOString(), failures: this.fsm.failures },
        'reconnect backoff',
      );
    }
  }

  private rejectConnection(conn: Connection, n: Notification): void {
    conn.send(encodeMessage(toNotificationMessage(n), { as4: false }));
    conn.close();
  }

  // ------------------------------------------------------------------ driver

  private feed(ev: FsmEvent): void {
    this.queue.push(ev);
    if (this.feeding) return; // actions may raise events: run them in order
    this.feeding = true;
    try {
      for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
        const from = this.fsm.name;
        const r = fsmStep(this.fsm, e, this.now());
        this.fsm = r.state;
        // 'state' first, then what the transition does ('established', 'down', ...).
        if (from !== r.state.name) {
          this.log.debug({ from, to: r.state.name, event: e.type }, 'state');
          this.emit('state', from, r.state.name);
        }
        for (const a of r.actions) this.apply(a);
      }
    } finally {
      this.feeding = false;
    }
    this.schedule();
  }

  private apply(a: FsmAction): void {
    switch (a.type) {
      case 'connect':
        this.connect();
        return;
      case 'close':
        this.abortConnecting();
        if (this.conn) {
          const c = this.conn;
          this.conn = null;
          this.closing.add(c);
          void c.whenClosed().then(() => this.closing.delete(c));
          c.close();
        }
        return;
      case 'send-open':
        this.send(encodeMessage(this.ourOpen, this.codecOpts));
        return;
      case 'send-keepalive':
        this.send(KEEPALIVE);
        this.checkSendHold();
        return;
      case 'send-notification': {
        const n = toNotificationMessage(a.notification);
        const text = describeNotification(a.notification);
        // Our own Cease (shutdown, collision) is routine; errors deserve a warning.
        if (a.notification.code === 6)
          this.log.info({ notification: text }, 'sending NOTIFICATION');
        else this.log.warn({ notification: text }, 'sending NOTIFICATION');
        this.send(encodeMessage(n, this.codecOpts));
        return;
      }
      case 'timer':
        return; // state.timers is read by schedule()
      case 'established':
        this.lastConnectError = null;
        // The owner (the route server's daemon) logs the session change: one line.
        this.log.debug(
          { holdTime: this.negotiated?.holdTime, families: [...(this.negotiated?.families ?? [])] },
          'established',
        );
        this.emit('established', this.negotiated);
        return;
      case 'down': {
        const d: PeerDown = {
          reason: a.reason,
          wasEstablished: a.wasEstablished,
          ...(a.sent ? { sent: toNotificationMessage(a.sent) } : {}),
          ...(a.received ? { received: a.received } : {}),
        };
        const until = this.dampedUntil();
        const fields = {
          reason: a.reason,
          wasEstablished: a.wasEstablished,
          ...(until !== null ? { refuseConnectionsUntil: until.toISOString() } : {}),
        };
        // The owner logs an Established session going down (one line per
        // change); this layer adds a line only when connections will be
        // refused for a while (reconnect backoff), and says until when.
        if (until !== null || !a.wasEstablished) this.log.info(fields, 'session down');
        else this.log.debug(fields, 'session down');
        this.negotiated = null;
        this.codecOpts = { as4: false };
        this.emit('down', d);
        return;
      }
    }
  }

  /** RFC 9687: has queued output been stuck for longer than SendHoldTime? */
  private checkSendHold(): void {
    const conn = this.conn;
    if (!conn || this.fsm.name !== 'Established') {
      this.sendStuckSince = null;
      return;
    }
    const queued = conn.socket.writableLength;
    const flushed = conn.socket.bytesWritten - queued; // handed to the kernel so far
    const now = this.now();
    if (queued === 0 || flushed !== this.sendFlushed) {
      this.sendFlushed = flushed;
      this.sendStuckSince = queued === 0 ? null : now;
      return;
    }
    if (this.sendStuckSince === null) {
      this.sendStuckSince = now;
      return;
    }
    const limit = this.config.sendHoldTime ?? Math.max(480, 2 * (this.negotiated?.holdTime ?? 0));
    if (limit > 0 && now - this.sendStuckSince >= limit * 1000) {
      this.log.warn(
        { queued, stuckFor: Math.round((now - this.sendStuckSince) / 1000) },
        'send hold timer expired (RFC 9687)',
      );
      this.sendStuckSince = null;
      this.feed({ type: 'AutomaticStop', notification: { code: 8, subcode: 0 } });
    }
  }

  private send(bytes: Uint8Array): void {
    if (!this.conn) return;
    this.stats.messagesOut++;
    this.conn.send(bytes);
  }

  private schedule(): void {
    const d = nextDeadline(this.fsm);
    if (d === null) {
      this.clearTimer();
      return;
    }
    // A later deadline (hold timer pushed by traffic) is handled when the earlier timer fires.
    if (this.timer !== null && this.timerAt !== null && this.timerAt <= d) return;
    this.clearTimer();
    this.timerAt = d;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(d - this.now())));
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = null;
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = null;
    for (let i = 0; i < 10; i++) {
      const due = dueTimerEvents(this.fsm, this.now());
      if (due.length === 0) break;
      this.feed(due[0]!);
    }
    this.schedule();
  }

  private connect(): void {
    this.abortConnecting();
    const opts: net.TcpNetConnectOpts = {
      host: this.config.peerAddress,
      port: this.config.port ?? 179,
      ...(this.config.localAddress ? { localAddress: this.config.localAddress } : {}),
    };
    const sock = net.connect(opts);
    this.connecting = sock;
    sock.once('connect', () => {
      if (this.connecting !== sock) {
        sock.destroy();
        return;
      }
      this.connecting = null;
      this.attach(new Connection(sock, 'out', this.config.highWaterMark));
      this.feed({ type: 'TcpConnectionAcknowledged' });
    });
    sock.once('error', (err) => {
      if (this.connecting !== sock) return;
      this.connecting = null;
      // At warn when the error changes (first failure, new cause), then debug.
      if (err.message !== this.lastConnectError) {
        this.lastConnectError = err.message;
        this.log.warn({ err: err.message }, 'connect failed');
      } else this.log.debug({ err: err.message }, 'connect failed');
      this.feed({ type: 'TcpConnectionFails' });
    });
  }

  private abortConnecting(): void {
    if (this.connecting) {
      const s = this.connecting;
      this.connecting = null;
      s.destroy();
    }
  }

  private attach(conn: Connection): void {
    this.conn = conn;
    if (this.pausedInput) conn.pauseReading();
    conn.framer.maxLength = MAX_MESSAGE;
    conn.onMessage = (m) => this.onMessage(conn, m);
    conn.onError = (e) => this.onConnError(conn, e);
    conn.onClose = () => {
      if (this.conn === conn) {
        this.conn = null;
        this.feed({ type: 'TcpConnectionFails' });
      }
    };
    conn.onDrain = () => {
      if (this.conn === conn) this.emit('drain');
    };
  }

  private onConnError(conn: Connection, e: unknown): void {
    if (this.conn !== conn) return;
    if (e instanceof BgpError) {
      const notification: Notification = { code: e.code, subcode: e.subcode, data: e.data };
      this.log.warn({ err: e.message }, 'error in received message');
      this.feed({
        type: e.code === 1 ? 'BGPHeaderErr' : e.code === 2 ? 'BGPOpenMsgErr' : 'UpdateMsgErr',
        notification,
      });
      return;
    }
    // Not a protocol error but a bug (an event listener or the codec threw):
    // no protocol code fits, so Cease 6/0, restart after idle hold, log the stack.
    this.log.error({ err: e }, 'internal error handling a message');
    this.feed({ type: 'AutomaticStop', notification: { code: 6, subcode: 0 } });
  }

  private onMessage(conn: Connection, bytes: Uint8Array): void {
    if (this.conn !== conn) return;
    this.stats.messagesIn++;
    const msg: BgpMessage = decodeMessage(bytes, this.codecOpts); // BgpError -> onConnError
    switch (msg.type) {
      case 'open':
        this.handleOpen(conn, msg);
        return;
      case 'keepalive':
        this.feed({ type: 'KeepAliveMsg' });
        return;
      case 'update':
        this.feed({ type: 'UpdateMsg' });
        if (this.fsm.name === 'Established') {
          this.stats.updatesIn++;
          this.emit('update', msg);
        }
        return;
      case 'route-refresh':
        this.feed({ type: 'UpdateMsg' });
        if (this.fsm.name === 'Established') this.emit('route-refresh', msg);
        return;
      case 'notification': {
        this.log.warn(
          {
            notification: describeNotification(msg),
            ...(msg.shutdownMessage !== undefined ? { shutdownMessage: msg.shutdownMessage } : {}),
          },
          'received NOTIFICATION',
        );
        const versionError = msg.code === 2 && msg.subcode === 1;
        this.feed({ type: versionError ? 'NotifMsgVerErr' : 'NotifMsg', notification: msg });
        return;
      }
    }
  }

  private handleOpen(conn: Connection, open: OpenMessage): void {
    const name = this.fsm.name;
    const expecting =
      name === 'OpenSent' ||
      ((name === 'Connect' || name === 'Active') && this.fsm.timers.delayOpen !== null);
    if (!expecting) {
      this.feed({ type: 'BGPOpen', holdTime: 0, keepaliveTime: 0 }); // FSM error
      return;
    }
    let n: Negotiated;
    try {
      n = negotiate(this.config, this.ourOpen, open);
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      if (e.code === 2 && e.subcode === 2 && openAs(open) !== this.config.peerAs)
        this.logBadPeerAs(openAs(open));
      else this.log.warn({ err: e.message }, 'OPEN rejected');
      this.feed({
        type: 'BGPOpenMsgErr',
        notification: { code: e.code, subcode: e.subcode, data: e.data },
      });
      return;
    }
    this.negotiated = n;
    this.codecOpts = n.codec;
    conn.framer.maxLength = n.extendedMessage ? MAX_EXTENDED_MESSAGE : MAX_MESSAGE;
    this.feed({ type: 'BGPOpen', holdTime: n.holdTime, keepaliveTime: n.keepaliveTime });
  }

  /** Detach everything without sending (used by the speaker on shutdown after stop()). */
  destroy(): void {
    this.clearTimer();
    this.abortConnecting();
    this.conn?.socket.destroy();
    this.conn = null;
    for (const c of this.closing) c.socket.destroy();
  }
}
