// Drives many BFD sessions: one receiving socket per local address, one
// sending socket per session, one timer (an indexed heap of deadlines and a
// single setTimeout armed at the earliest), demultiplexing of received packets
// (RFC 5880 §6.8.6, RFC 5881 §3-4) and passive sessions created on demand for
// allowed prefixes (RFC 9468 style).

import { BlockList } from 'node:net';
import { canonicalAddress } from '../bgp/prefix.ts';
import type { AuthConfig } from './auth.ts';
import {
  type BfdCheck,
  Diag,
  diagName,
  isReject,
  STATE_NAMES,
  State,
  type StateName,
  tryDecode,
} from './codec.ts';
import { DeadlineHeap, type HeapItem } from './heap.ts';
import { BfdSession, type SessionAction } from './session.ts';
import {
  BFD_CONTROL_PORT,
  BfdReceiver,
  BfdSender,
  familyOf,
  SOURCE_PORT_MAX,
  SOURCE_PORT_MIN,
} from './transport.ts';

export interface BfdStateEvent {
  peer: string;
  local: string;
  state: StateName;
  previous: StateName;
  /** Our diagnostic (RFC 5880 §4.1), by name. */
  diag: string;
  /** The peer's last diagnostic, by name. */
  remoteDiag: string;
  remoteState: StateName;
  /** Wall-clock time of the change, ms since the epoch. */
  at: number;
  /**
   * Detection time in force after the change, ms (0 when the peer was never
   * heard). On a Down from Up or Init: the one in force until the change (for
   * a detection timeout, the one that expired), not what the packet that
   * took the session Down (carrying the peer's 1 s idle interval) set.
   */
  detectMs: number;
  /** Transmit interval in use after the change, before jitter, ms (§6.8.7). */
  txMs: number;
  /**
   * bfd.RemoteDiscr (0 when the peer was never heard). On a Down by detection
   * timeout: the one the session had (the session itself has reset it to 0).
   */
  remoteDiscriminator: number;
  /** The session was created on demand for an unsolicited peer. */
  passive: boolean;
}

export interface PeerOptions {
  /** Local address to run from; the manager's first local by default. */
  local?: string;
  intervalMs?: number;
  requiredMinRxMs?: number;
  multiplier?: number;
  passive?: boolean;
  adminDown?: boolean;
  auth?: AuthConfig;
}

export interface BfdManagerOptions {
  /** Local addresses to receive on (each gets a socket on `port`). */
  local: string | string[];
  /** UDP port to receive on, 3784 by default (tests use another). */
  port?: number;
  /** UDP port to send to, `port` by default. */
  peerPort?: number;
  /** Desired Min TX Interval once Up, ms (default 1000). */
  intervalMs?: number;
  /** Required Min RX Interval, ms (default: intervalMs). */
  requiredMinRxMs?: number;
  /** Detect Mult (default 3). */
  multiplier?: number;
  /** Prefixes from which unsolicited sessions are accepted (passive role). */
  allow?: string[];
  /** Most passive sessions at once (default 1024). */
  maxPassive?: number;
  /** A passive session silent and Down this long is removed (ms, default 30000). */
  passiveIdleMs?: number;
  auth?: AuthConfig;
  sourcePortRange?: [number, number];
  /** Monotonic clock in ms (performance.now by default). */
  now?: () => number;
  /** Wall clock in ms for event timestamps (Date.now by default). */
  wallNow?: () => number;
  random?: () => number;
  onError?: (err: Error, context: { peer?: string; local?: string }) => void;
}

export interface SessionInfo {
  peer: string;
  local: string;
  state: StateName;
  remoteState: StateName;
  diag: string;
  localDiscriminator: number;
  remoteDiscriminator: number;
  passive: boolean;
  polling: boolean;
  detectMs: number;
  txIntervalMs: number;
  sourcePort: number;
  txCount: number;
  rxCount: number;
}

export interface ManagerStats {
  sessions: number;
  passiveSessions: number;
  packetsIn: number;
  packetsOut: number;
  rejected: Partial<Record<BfdCheck, number>>;
  passiveRefused: number;
}

interface Entry extends HeapItem {
  key: string;
  peer: string;
  local: string;
  session: BfdSession;
  sender: BfdSender;
  passive: boolean;
  reapAt: number;
  /** bfd.RemoteDiscr after the last accepted packet (kept across an expiry). */
  lastRemoteDisc: number;
  /** While a received packet is processed: the detection time before it (ms), else -1. */
  detectBefore: number;
}

/** A timer firing this late (ms) means the event loop stalled. */
const STALL_MS = 20;
/** Longest detection hold after a stall (ms). */
const MAX_HOLD_MS = 1000;

/** The one canonical text of an address (src/bgp/prefix.ts), so that addresses compare as configured. */
function canon(address: string): string {
  return canonicalAddress(address) ?? address;
}

function addrKey(local: string, peer: string): string {
  return `${canon(local)}|${canon(peer)}`;
}

export class BfdManager {
  private readonly opts: BfdManagerOptions;
  private readonly port: number;
  private readonly peerPort: number;
  private readonly locals: string[];
  private readonly receivers = new Map<string, BfdReceiver>();
  private readonly byDisc = new Map<number, Entry>();
  private readonly byAddr = new Map<string, Entry>();
  private readonly heap = new DeadlineHeap<Entry>();
  private readonly allow: BlockList | undefined;
  private readonly listeners = new Set<(e: BfdStateEvent) => void>();
  private readonly now: () => number;
  private readonly wallNow: () => number;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  private nextDisc: number;
  private passiveCount = 0;
  private holdUntil = Number.NEGATIVE_INFINITY;
  /** Times our own timer fired more than STALL_MS late. */
  stalls = 0;
  private closed = false;
  readonly stats: ManagerStats = {
    sessions: 0,
    passiveSessions: 0,
    packetsIn: 0,
    packetsOut: 0,
    rejected: {},
    passiveRefused: 0,
  };

  constructor(opts: BfdManagerOptions) {
    this.opts = opts;
    this.port = opts.port ?? BFD_CONTROL_PORT;
    this.peerPort = opts.peerPort ?? this.port;
    this.locals = Array.isArray(opts.local) ? [...opts.local] : [opts.local];
    if (this.locals.length === 0) throw new Error('bfd: at least one local address is needed');
    this.now = opts.now ?? (() => performance.now());
    this.wallNow = opts.wallNow ?? Date.now;
    this.nextDisc = 1 + Math.floor(Math.random() * 0x3fffffff);
    if (opts.allow !== undefined && opts.allow.length > 0) {
      this.allow = new BlockList();
      for (const prefix of opts.allow) {
        const [net, lenText] = prefix.split('/');
        const fam = familyOf(net!) === 'udp6' ? 'ipv6' : 'ipv4';
        const len = lenText === undefined ? (fam === 'ipv6' ? 128 : 32) : Number(lenText);
        if (!Number.isInteger(len) || len < 0 || len > (fam === 'ipv6' ? 128 : 32)) {
          throw new Error(`bfd: bad prefix length in allow prefix '${prefix}'`);
        }
        this.allow.addSubnet(net!, len, fam);
      }
    }
  }

  /** Open the receiving sockets. */
  async start(): Promise<void> {
    for (const local of this.locals) await this.addLocal(local);
  }

  /** Receive on one more local address. */
  async addLocal(local: string): Promise<void> {
    if (this.receivers.has(local)) return;
    const r = new BfdReceiver(
      local,
      this.port,
      (data, address) => this.onPacket(local, data, address),
      (err) => this.opts.onError?.(err, { local }),
    );
    await r.start();
    this.receivers.set(local, r);
    if (!this.locals.includes(local)) this.locals.push(local);
  }

  /** Subscribe to state changes; returns the unsubscribe function. */
  subscribe(fn: (e: BfdStateEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Add an active (or, with `passive`, waiting) session to `peer`. */
  addPeer(peer: string, o: PeerOptions = {}): SessionInfo {
    if (this.closed) throw new Error('bfd: manager is closed');
    const local = o.local ?? this.locals[0]!;
    if (familyOf(local) !== familyOf(peer)) {
      throw new Error(`bfd: peer ${peer} and local ${local} are of different address families`);
    }
    const existing = this.byAddr.get(addrKey(local, peer));
    if (existing !== undefined) {
      if (existing.passive) {
        // An on-demand session becomes one of ours: active from now on.
        existing.passive = false;
        existing.reapAt = Number.POSITIVE_INFINITY;
        this.passiveCount--;
        existing.session.passive = o.passive ?? false;
        if (existing.session.txAt === Number.POSITIVE_INFINITY) {
          this.run(existing, existing.session.start(this.now()));
        }
        this.reschedule(existing);
      }
      return this.info(existing);
    }
    return this.info(this.create(local, peer, o, false));
  }

  /** Remove a session, telling the peer AdminDown first (§6.8.16). */
  removePeer(peer: string, local: string = this.locals[0]!): boolean {
    const e = this.byAddr.get(addrKey(local, peer));
    if (e === undefined) return false;
    this.run(e, e.session.adminDown(this.now()));
    this.drop(e);
    return true;
  }

  adminDown(peer: string, local: string = this.locals[0]!): boolean {
    const e = this.byAddr.get(addrKey(local, peer));
    if (e === undefined) return false;
    this.run(e, e.session.adminDown(this.now()));
    this.reschedule(e);
    return true;
  }

  adminUp(peer: string, local: string = this.locals[0]!): boolean {
    const e = this.byAddr.get(addrKey(local, peer));
    if (e === undefined) return false;
    this.run(e, e.session.adminUp(this.now()));
    this.reschedule(e);
    return true;
  }

  /** Change a session's timers (Poll Sequence while Up, RFC 5880 §6.8.3). */
  setTimers(
    peer: string,
    t: { intervalMs?: number; requiredMinRxMs?: number; multiplier?: number },
    local: string = this.locals[0]!,
  ): boolean {
    const e = this.byAddr.get(addrKey(local, peer));
    if (e === undefined) return false;
    const us = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 1000));
    this.run(
      e,
      e.session.setTimers(this.now(), {
        desiredMinTx: us(t.intervalMs),
        requiredMinRx: us(t.requiredMinRxMs),
        detectMult: t.multiplier,
      }),
    );
    this.reschedule(e);
    return true;
  }

  sessions(): SessionInfo[] {
    return [...this.byAddr.values()].map((e) => this.info(e));
  }

  session(peer: string, local: string = this.locals[0]!): SessionInfo | undefined {
    const e = this.byAddr.get(addrKey(local, peer));
    return e === undefined ? undefined : this.info(e);
  }

  /**
   * Stop: every session sends AdminDown (unless told not to), then all
   * sockets close and the timer is cleared.
   */
  async close(o: { adminDown?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sendDown = o.adminDown ?? true;
    const flushes: Promise<void>[] = [];
    for (const e of this.byAddr.values()) {
      if (sendDown) {
        const acts = e.session.adminDown(this.now());
        for (const a of acts) {
          if (a.type === 'send') {
            flushes.push(new Promise((resolve) => e.sender.send(a.bytes, resolve)));
            this.stats.packetsOut++;
          } else if (a.type === 'state') this.emitState(e, a);
        }
      }
    }
    await Promise.race([Promise.all(flushes), new Promise((r) => setTimeout(r, 200))]);
    for (const e of this.byAddr.values()) e.sender.close();
    this.byAddr.clear();
    this.byDisc.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([...this.receivers.values()].map((r) => r.close()));
    this.receivers.clear();
  }

  // --- internals ---------------------------------------------------------

  private allocDisc(): number {
    for (;;) {
      const d = this.nextDisc;
      this.nextDisc = this.nextDisc >= 0xfffffffe ? 1 : this.nextDisc + 1;
      if (!this.byDisc.has(d)) return d;
    }
  }

  private create(localText: string, peerText: string, o: PeerOptions, onDemand: boolean): Entry {
    const local = canon(localText);
    const peer = canon(peerText);
    const intervalMs = o.intervalMs ?? this.opts.intervalMs ?? 1000;
    const rxMs = o.requiredMinRxMs ?? this.opts.requiredMinRxMs ?? intervalMs;
    const session = new BfdSession({
      localDiscriminator: this.allocDisc(),
      desiredMinTx: Math.round(intervalMs * 1000),
      requiredMinRx: Math.round(rxMs * 1000),
      detectMult: o.multiplier ?? this.opts.multiplier ?? 3,
      passive: onDemand || (o.passive ?? false),
      auth: o.auth ?? this.opts.auth,
      random: this.opts.random,
      adminDown: o.adminDown,
    });
    const range = this.opts.sourcePortRange ?? [SOURCE_PORT_MIN, SOURCE_PORT_MAX];
    const sender = new BfdSender(local, peer, this.peerPort, range);
    const e: Entry = {
      key: addrKey(local, peer),
      peer,
      local,
      session,
      sender,
      passive: onDemand,
      reapAt: Number.POSITIVE_INFINITY,
      lastRemoteDisc: 0,
      detectBefore: -1,
      deadline: Number.POSITIVE_INFINITY,
      heapIndex: -1,
    };
    this.byAddr.set(e.key, e);
    this.byDisc.set(session.localDiscriminator, e);
    this.stats.sessions++;
    if (onDemand) {
      this.passiveCount++;
      this.stats.passiveSessions++;
    }
    const now = this.now();
    this.run(e, session.start(now));
    this.reschedule(e);
    return e;
  }

  private drop(e: Entry): void {
    this.heap.remove(e);
    this.byAddr.delete(e.key);
    this.byDisc.delete(e.session.localDiscriminator);
    if (e.passive) this.passiveCount--;
    // Let a just-queued AdminDown leave before the socket closes.
    setTimeout(() => e.sender.close(), 50).unref();
  }

  private rejected(check: BfdCheck): void {
    const r = this.stats.rejected;
    r[check] = (r[check] ?? 0) + 1;
  }

  private onPacket(localText: string, data: Buffer, source: string): void {
    if (this.closed) return;
    this.stats.packetsIn++;
    const p = tryDecode(data);
    if (isReject(p)) {
      this.rejected(p.check);
      return;
    }
    const peer = canon(source);
    const local = canon(localText);
    let e: Entry | undefined;
    if (p.yourDiscriminator !== 0) {
      // §6.8.6: Your Discriminator selects the session.
      e = this.byDisc.get(p.yourDiscriminator);
      if (e === undefined || e.peer !== peer || e.local !== local) {
        this.rejected('no-session');
        return;
      }
    } else {
      // First packets: select by addresses (RFC 5881 §3).
      e = this.byAddr.get(addrKey(local, peer));
      if (e === undefined) {
        if (
          this.allow === undefined ||
          p.state === State.AdminDown ||
          !this.allow.check(peer, familyOf(peer) === 'udp6' ? 'ipv6' : 'ipv4')
        ) {
          this.rejected('no-session');
          return;
        }
        if (this.passiveCount >= (this.opts.maxPassive ?? 1024)) {
          this.stats.passiveRefused++;
          this.rejected('no-session');
          return;
        }
        e = this.create(local, peer, { local }, true);
      }
    }
    const now = this.now();
    e.detectBefore = e.session.lastDetectMs;
    const acts = e.session.receive(p, now, data);
    if (e.session.remoteDiscriminator !== 0) e.lastRemoteDisc = e.session.remoteDiscriminator;
    this.run(e, acts);
    e.detectBefore = -1;
    if (e.passive) e.reapAt = now + (this.opts.passiveIdleMs ?? 30_000);
    this.reschedule(e);
  }

  private run(e: Entry, acts: SessionAction[]): void {
    for (let i = 0; i < acts.length; i++) {
      const a = acts[i]!;
      if (a.type === 'send') {
        e.sender.send(a.bytes);
        this.stats.packetsOut++;
      } else if (a.type === 'state') {
        this.emitState(e, a);
      } else {
        this.rejected(a.check);
      }
    }
  }

  private emitState(e: Entry, a: Extract<SessionAction, { type: 'state' }>): void {
    const s = e.session;
    // §6.8.4 expiry clears the remote variables the detection time is computed
    // from: report the one that expired (set when the last packet came).
    const wentDown =
      a.state === State.Down && (a.previous === State.Up || a.previous === State.Init);
    const expired = wentDown && a.diag === Diag.ControlDetectionTimeExpired;
    let detectMs = a.detectMs;
    if (expired) detectMs = s.lastDetectMs;
    else if (wentDown && e.detectBefore > 0) detectMs = e.detectBefore;
    const ev: BfdStateEvent = {
      peer: e.peer,
      local: e.local,
      state: STATE_NAMES[a.state],
      previous: STATE_NAMES[a.previous],
      diag: diagName(a.diag),
      remoteDiag: diagName(a.remoteDiag),
      remoteState: STATE_NAMES[a.remoteState],
      at: this.wallNow(),
      detectMs,
      txMs: s.transmitIntervalMs(),
      remoteDiscriminator: expired ? e.lastRemoteDisc : s.remoteDiscriminator,
      passive: e.passive,
    };
    for (const fn of this.listeners) {
      try {
        fn(ev);
      } catch (err) {
        this.opts.onError?.(err as Error, { peer: e.peer, local: e.local });
      }
    }
  }

  private reschedule(e: Entry): void {
    if (!this.byAddr.has(e.key)) return;
    const s = e.session;
    let d = s.nextDeadline();
    if (e.passive && e.reapAt < d) d = e.reapAt;
    if (d === e.deadline && e.heapIndex >= 0) return;
    if (d === Number.POSITIVE_INFINITY) this.heap.remove(e);
    else this.heap.set(e, d);
    this.arm();
  }

  private arm(): void {
    if (this.closed) return;
    const top = this.heap.peek();
    const at = top === undefined ? Number.POSITIVE_INFINITY : top.deadline;
    // Re-arm only when the earliest deadline moved earlier than the armed one
    // (a later one is handled when the timer fires and finds nothing due).
    if (this.timer !== undefined && at >= this.armedAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    if (at === Number.POSITIVE_INFINITY) return;
    const delay = Math.max(0, at - this.now());
    this.armedAt = at;
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    const wanted = this.armedAt;
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    if (this.closed) return;
    const now = this.now();
    // A timer this late means our event loop was stalled (CPU starvation, GC,
    // a long task): the peers' packets of that period may be queued unread in
    // the socket. Hold detection for as long again, so they are read first.
    const late = now - wanted;
    if (late > STALL_MS) {
      this.stalls++;
      this.holdUntil = now + Math.min(late, MAX_HOLD_MS);
    }
    // setTimeout has 1 ms resolution: treat what is due within 1 ms as due.
    let budget = this.heap.size * 2 + 16;
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined || e.deadline > now + 1 || budget-- <= 0) break;
      const t = Math.max(now, e.deadline);
      if (e.passive && t >= e.reapAt) {
        const s = e.session;
        if (s.state !== State.Up && s.state !== State.Init && s.remoteDiscriminator === 0) {
          this.drop(e);
          continue;
        }
        e.reapAt = t + (this.opts.passiveIdleMs ?? 30_000);
      }
      if (t < this.holdUntil && e.session.detectAt <= t) e.session.holdDetection(this.holdUntil);
      this.run(e, e.session.timer(t));
      if (!this.byAddr.has(e.key)) continue;
      let d = e.session.nextDeadline();
      if (e.passive && e.reapAt < d) d = e.reapAt;
      if (d === Number.POSITIVE_INFINITY) this.heap.remove(e);
      else this.heap.set(e, d);
    }
    this.arm();
  }

  private info(e: Entry): SessionInfo {
    const s = e.session;
    return {
      peer: e.peer,
      local: e.local,
      state: STATE_NAMES[s.state],
      remoteState: STATE_NAMES[s.remoteState],
      diag: diagName(s.diag),
      localDiscriminator: s.localDiscriminator,
      remoteDiscriminator: s.remoteDiscriminator,
      passive: e.passive,
      polling: s.polling,
      detectMs: s.detectionTimeMs(),
      txIntervalMs: s.transmitIntervalMs(),
      sourcePort: e.sender.sourcePort,
      txCount: s.txCount,
      rxCount: s.rxCount,
    };
  }
}
