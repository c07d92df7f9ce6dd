// The agent's BFD runs in its own worker thread (node:worker_threads), so that
// no BGP-LS work on the main thread (decoding a whole request set, encoding
// reports, the control socket) can delay a BFD packet: the worker's event loop
// holds nothing but the BfdManager, its sockets and its timer.
//
// This module is both sides: imported on the main thread it exports
// BfdThread, the proxy the agent talks to; loaded as the worker (by
// BfdThread itself) it runs the manager and answers messages.
//
//   main -> worker: init, add, remove, sessions, close
//   worker -> main: ready | init-error, state (a BfdStateEvent), added (the
//                   session's state when it was added: it may already be Up
//                   as a passive session), sessions (a reply), error, closed

import { getPriority, setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { AuthConfig } from '../bfd/auth.ts';
import { BfdManager, type BfdStateEvent, type SessionInfo } from '../bfd/manager.ts';
import type { UdpSocketFactory } from '../bfd/transport.ts';

export interface BfdThreadOptions {
  local: string[];
  /**
   * Run the BFD thread this many nice levels above the process (Linux: the
   * priority is per thread). Raising needs CAP_SYS_NICE; see `boosted`.
   */
  priorityBoost?: number;
  port?: number;
  intervalMs: number;
  multiplier: number;
  allow: string[];
  maxPassive?: number;
  auth?: AuthConfig;
}

/** The workerData key that marks a BfdThread worker. */
const MARK = 'ixrsAgentBfdThread';

type ToWorker =
  | { t: 'add'; peer: string; local: string }
  | { t: 'remove'; peer: string; local: string }
  | { t: 'sessions'; id: number }
  | { t: 'stats'; id: number; reset: boolean }
  | { t: 'close'; adminDown: boolean };

export interface BfdThreadStats {
  packetsIn: number;
  packetsOut: number;
  sessions: number;
  /** Times the worker's timer fired more than 20 ms late (BfdManager.stalls). */
  stalls: number;
  passiveRefused: number;
  /** The worker's event-loop delay since the last stats() call with reset, ms. */
  loopDelayMs: { p50: number; p99: number; max: number };
  /** The worker thread's CPU time since it started, ms (user + system). */
  cpuMs: number;
}

type FromWorker =
  | { t: 'ready'; boosted: boolean }
  | { t: 'init-error'; message: string; code?: string; local?: string }
  | { t: 'state'; ev: BfdStateEvent }
  | { t: 'added'; info: SessionInfo }
  | { t: 'sessions'; id: number; list: SessionInfo[] }
  | { t: 'stats'; id: number; stats: BfdThreadStats }
  | { t: 'error'; message: string; peer?: string; local?: string }
  | { t: 'closed' };

/** An error starting BFD: `code` EADDRINUSE means UDP 3784 is taken on `local`. */
export class BfdStartError extends Error {
  readonly code: string | undefined;
  readonly local: string | undefined;
  constructor(message: string, code?: string, local?: string) {
    super(message);
    this.name = 'BfdStartError';
    this.code = code;
    this.local = local;
  }
}

/** Main-thread proxy of a BfdManager running in a worker thread. */
export class BfdThread {
  private readonly worker: Worker;
  private readonly listeners = new Set<(e: BfdStateEvent) => void>();
  private readonly addedListeners = new Set<(i: SessionInfo) => void>();
  private readonly replies = new Map<number, (v: unknown) => void>();
  private nextId = 1;
  private closedPromise: Promise<void> | null = null;
  private exited = false;
  onError: ((message: string, ctx: { peer?: string; local?: string }) => void) | null = null;
  /** The worker ended without being asked to (an exception in it). */
  onCrash: ((reason: string) => void) | null = null;
  private crashReason: string | undefined;
  /** The worker raised its own scheduling priority (priorityBoost). */
  boosted = false;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => {
      this.crashReason = err.message;
    });
    worker.on('exit', (code) => {
      this.exited = true;
      if (this.closedPromise === null) this.onCrash?.(this.crashReason ?? `exit code ${code}`);
      for (const r of this.replies.values()) r(undefined);
      this.replies.clear();
    });
  }

  /** Start the worker and its receiving sockets; rejects with BfdStartError. */
  static start(opts: BfdThreadOptions): Promise<BfdThread> {
    const self = new URL(import.meta.url);
    const worker = new Worker(self, { workerData: { [MARK]: opts } });
    const t = new BfdThread(worker);
    return new Promise((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.t === 'ready') {
          worker.off('message', onMsg);
          t.boosted = m.boosted;
          resolve(t);
        } else if (m.t === 'init-error') {
          worker.off('message', onMsg);
          void worker.terminate();
          reject(new BfdStartError(m.message, m.code, m.local));
        }
      };
      worker.on('message', onMsg);
      worker.once('error', (err) => reject(new BfdStartError(err.message)));
    });
  }

  subscribe(fn: (e: BfdStateEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called with a session's state when it is added (it may be Up already). */
  onAdded(fn: (i: SessionInfo) => void): void {
    this.addedListeners.add(fn);
  }

  addPeer(peer: string, local: string): void {
    this.post({ t: 'add', peer, local });
  }

  removePeer(peer: string, local: string): void {
    this.post({ t: 'remove', peer, local });
  }

  sessions(): Promise<SessionInfo[]> {
    const id = this.nextId++;
    return this.ask<SessionInfo[]>({ t: 'sessions', id }, id).then((v) => v ?? []);
  }

  /** The worker's counters; `reset` restarts the event-loop delay histogram. */
  stats(reset = false): Promise<BfdThreadStats | undefined> {
    const id = this.nextId++;
    return this.ask<BfdThreadStats>({ t: 'stats', id, reset }, id);
  }

  /** AdminDown to every peer (unless told not to), close the sockets, end the worker. */
  close(o: { adminDown?: boolean } = {}): Promise<void> {
    if (this.closedPromise) return this.closedPromise;
    this.closedPromise = new Promise<void>((resolve) => {
      if (this.exited) {
        resolve();
        return;
      }
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 2000);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.post({ t: 'close', adminDown: o.adminDown ?? true });
    });
    return this.closedPromise;
  }

  /** End the worker at once: sockets closed, nothing sent (no AdminDown). */
  async terminate(): Promise<void> {
    this.closedPromise ??= this.worker.terminate().then(() => undefined);
    await this.closedPromise;
  }

  private ask<T>(m: ToWorker, id: number): Promise<T | undefined> {
    if (this.exited) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.replies.set(id, resolve as (v: unknown) => void);
      this.post(m);
    });
  }

  private post(m: ToWorker): void {
    if (!this.exited) this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'state':
        for (const fn of this.listeners) fn(m.ev);
        return;
      case 'added':
        for (const fn of this.addedListeners) fn(m.info);
        return;
      case 'sessions':
      case 'stats': {
        const r = this.replies.get(m.id);
        this.replies.delete(m.id);
        r?.(m.t === 'sessions' ? m.list : m.stats);
        return;
      }
      case 'error':
        this.onError?.(m.message, { peer: m.peer, local: m.local });
        return;
      case 'closed':
        void this.worker.terminate();
        return;
      default:
        return;
    }
  }
}

// ------------------------------------------------------------- worker side

async function runWorker(opts: BfdThreadOptions): Promise<void> {
  const port = parentPort!;
  const send = (m: FromWorker) => port.postMessage(m);
  const mgr = new BfdManager({
    local: opts.local,
    port: opts.port,
    intervalMs: opts.intervalMs,
    multiplier: opts.multiplier,
    allow: opts.allow,
    maxPassive: opts.maxPassive,
    auth: opts.auth,
    onError: (err, ctx) => send({ t: 'error', message: err.message, ...ctx }),
  });
  for (const local of opts.local) {
    try {
      await mgr.addLocal(local);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      send({ t: 'init-error', message: e.message, code: e.code, local });
      await mgr.close({ adminDown: false });
      port.close();
      return;
    }
  }
  mgr.subscribe((ev) => send({ t: 'state', ev }));
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'add':
        try {
          send({ t: 'added', info: mgr.addPeer(m.peer, { local: m.local }) });
        } catch (err) {
          send({ t: 'error', message: (err as Error).message, peer: m.peer, local: m.local });
        }
        return;
      case 'remove':
        mgr.removePeer(m.peer, m.local);
        return;
      case 'sessions':
        send({ t: 'sessions', id: m.id, list: mgr.sessions() });
        return;
      case 'stats':
        send({
          t: 'stats',
          id: m.id,
          stats: {
            packetsIn: mgr.stats.packetsIn,
            packetsOut: mgr.stats.packetsOut,
            sessions: mgr.sessions().length,
            stalls: mgr.stalls,
            passiveRefused: mgr.stats.passiveRefused,
            loopDelayMs: {
              p50: ms(eld.percentile(50)),
              p99: ms(eld.percentile(99)),
              max: ms(eld.max),
            },
            cpuMs: (() => {
              const c = process.threadCpuUsage(); // this thread's CPU only
              return Math.round((c.user + c.system) / 1000);
            })(),
          },
        });
        if (m.reset) eld.reset();
        return;
      case 'close':
        void mgr.close({ adminDown: m.adminDown }).then(() => {
          send({ t: 'closed' });
          port.close();
        });
        return;
    }
  });
  // BFD first when the host is busy: this thread above the agent's main
  // thread (on Linux setpriority(2) with pid 0 applies to the calling thread).
  let boosted = false;
  const boost = opts.priorityBoost ?? 0;
  if (boost > 0) {
    try {
      setPriority(0, Math.max(-20, getPriority(0) - boost));
      boosted = true;
    } catch {
      // no CAP_SYS_NICE: the main thread lowers itself instead (agent.ts)
    }
  }
  send({ t: 'ready', boosted });
}

if (!isMainThread && parentPort !== null) {
  const opts = (workerData as Record<string, BfdThreadOptions> | null)?.[MARK];
  if (opts !== undefined) void runWorker(opts);
}

// ------------------------------------------------------------- in-thread

/** What the agent needs of its BFD (BfdThread, or BfdInThread for drills). */
export type BfdBackend = Pick<
  BfdThread,
  | 'subscribe'
  | 'onAdded'
  | 'addPeer'
  | 'removePeer'
  | 'sessions'
  | 'stats'
  | 'close'
  | 'terminate'
  | 'boosted'
  | 'onCrash'
  | 'onError'
>;

/**
 * The same BfdManager on the calling thread, with an injected socket factory
 * (`ixrs scenario run` in loopback mode: a simulated datagram fabric whose
 * links can be cut). Not for production: the point of BfdThread is that no
 * main-thread work delays a BFD packet.
 */
export class BfdInThread implements BfdBackend {
  private readonly mgr: BfdManager;
  private readonly addedListeners = new Set<(i: SessionInfo) => void>();
  private closed: Promise<void> | null = null;
  onError: ((message: string, ctx: { peer?: string; local?: string }) => void) | null = null;
  onCrash: ((reason: string) => void) | null = null;
  boosted = false;

  private constructor(mgr: BfdManager) {
    this.mgr = mgr;
  }

  static async start(
    opts: BfdThreadOptions & { socketFactory: UdpSocketFactory },
  ): Promise<BfdInThread> {
    let self: BfdInThread | null = null;
    const mgr = new BfdManager({
      local: opts.local,
      port: opts.port,
      intervalMs: opts.intervalMs,
      multiplier: opts.multiplier,
      allow: opts.allow,
      maxPassive: opts.maxPassive,
      auth: opts.auth,
      socketFactory: opts.socketFactory,
      onError: (err, ctx) => self?.onError?.(err.message, ctx),
    });
    self = new BfdInThread(mgr);
    for (const local of opts.local) {
      try {
        await mgr.addLocal(local);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        await mgr.close({ adminDown: false });
        throw new BfdStartError(e.message, e.code, local);
      }
    }
    return self;
  }

  subscribe(fn: (e: BfdStateEvent) => void): () => void {
    return this.mgr.subscribe(fn);
  }

  onAdded(fn: (i: SessionInfo) => void): void {
    this.addedListeners.add(fn);
  }

  addPeer(peer: string, local: string): void {
    if (this.closed !== null) return;
    try {
      const info = this.mgr.addPeer(peer, { local });
      // Asynchronously, as from the worker.
      queueMicrotask(() => {
        for (const fn of this.addedListeners) fn(info);
      });
    } catch (err) {
      this.onError?.((err as Error).message, { peer, local });
    }
  }

  removePeer(peer: string, local: string): void {
    if (this.closed === null) this.mgr.removePeer(peer, local);
  }

  sessions(): Promise<SessionInfo[]> {
    return Promise.resolve(this.closed === null ? this.mgr.sessions() : []);
  }

  stats(): Promise<BfdThreadStats | undefined> {
    return Promise.resolve({
      packetsIn: this.mgr.stats.packetsIn,
      packetsOut: this.mgr.stats.packetsOut,
      sessions: this.mgr.sessions().length,
      stalls: this.mgr.stalls,
      passiveRefused: this.mgr.stats.passiveRefused,
      loopDelayMs: { p50: 0, p99: 0, max: 0 },
      cpuMs: 0,
    });
  }

  close(o: { adminDown?: boolean } = {}): Promise<void> {
    this.closed ??= this.mgr.close({ adminDown: o.adminDown ?? true });
    return this.closed;
  }

  /** As if BFD died: sockets closed, nothing sent. */
  terminate(): Promise<void> {
    return this.close({ adminDown: false });
  }
}
