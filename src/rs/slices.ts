// Scheduling: all work runs in slices on an injectable scheduler (default
// setImmediate). A slice applies the reachability reports queued since the
// last one, then round robin: input, cleanups, changed prefixes,
// reachability walks, per-session work, for a few milliseconds, and yields.

import { performance } from 'node:perf_hooks';
import type { RouteServerOptions, Scheduler } from './api.ts';
import type { Input } from './input.ts';
import type { Output } from './output.ts';
import type { CoreState } from './state.ts';

export class Slices {
  private readonly s: CoreState;
  private readonly input: Input;
  private readonly output: Output;

  readonly scheduler: Scheduler | null;

  readonly sliceMs: number;

  scheduled = false;

  idleWaiters: (() => void)[] = [];

  /** Number of slices run (scheduler turns). */
  slices = 0;

  /** Longest slice so far, ms (the event loop was busy with route work that long). */
  maxSliceMs = 0;

  private readonly onSettled: RouteServerOptions['onSettled'];

  /** PathStore.released at the last onSettled. */
  private releasedSeen = 0;

  hasWork(): boolean {
    return (
      this.input.hasWork() ||
      this.s.dirty.size > 0 ||
      this.s.reach.hasWork() ||
      this.s.pumpQueue.size > 0
    );
  }

  kick(): void {
    if (this.scheduled || this.scheduler === null || this.s.closed) return;
    this.scheduled = true;
    this.scheduler.schedule(() => {
      this.scheduled = false;
      if (this.s.closed) return;
      this.runSlice(this.sliceMs);
      if (this.hasWork()) this.kick();
      else this.wakeIdle();
    });
  }

  wakeIdle(): void {
    const released = this.s.paths.released - this.releasedSeen;
    if (released > 0 && this.onSettled !== undefined) {
      this.releasedSeen = this.s.paths.released;
      this.onSettled({ pathsReleased: released, paths: this.s.paths.size });
    }
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /**
   * One unit of each kind of pending work, round robin; units stop early at
   * `deadline` (performance.now() time). Returns false when idle.
   */
  step(deadline = Number.POSITIVE_INFINITY): boolean {
    let did = false;
    // Reachability reports: applied once per slice (runSlice), or all at once here by flush().
    if (deadline === Number.POSITIVE_INFINITY && this.s.reach.hasOps) {
      this.s.reach.apply(deadline);
      did = true;
    }
    if (this.input.step(deadline)) did = true;
    if (this.input.stepCleanups()) did = true;
    if (this.s.dirty.size > 0) {
      this.output.processDirtyBatch(deadline);
      did = true;
    }
    if (this.s.reach.hasWork()) {
      this.s.reach.step(this.s.batchSize, deadline, this.s.pumpQueue);
      did = true;
    }
    if (this.s.pumpQueue.size > 0) {
      const s = this.s.pumpQueue.values().next().value!;
      this.s.pumpQueue.delete(s);
      if (this.output.pumpSession(s, deadline)) this.s.pumpQueue.add(s);
      did = true;
    }
    return did;
  }

  runSlice(ms: number): void {
    this.slices++;
    const start = performance.now();
    const end = start + ms;
    let now = start;
    this.s.tick();
    this.s.reach.apply(end);
    while (this.step(end)) {
      now = performance.now();
      if (now >= end) break;
    }
    this.s.reach.flushEvents();
    if (now - start > this.maxSliceMs) this.maxSliceMs = now - start;
  }

  /** Runs all pending work now, synchronously (tests, shutdown). */
  flush(): void {
    this.s.tick();
    while (this.step()) {}
    this.s.reach.flushEvents();
    this.wakeIdle();
  }

  /** Resolves when no work is pending (with the default scheduler). */
  idle(): Promise<void> {
    if (!this.hasWork()) return Promise.resolve();
    if (this.scheduler === null) {
      this.flush();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick();
    });
  }

  constructor(s: CoreState, input: Input, output: Output, opts: RouteServerOptions) {
    this.s = s;
    this.onSettled = opts.onSettled;
    this.input = input;
    this.output = output;
    this.scheduler =
      opts.scheduler === 'manual'
        ? null
        : (opts.scheduler ?? { schedule: (fn: () => void) => void setImmediate(fn) });
    this.sliceMs = opts.sliceMs ?? 5;
    s.kick = () => this.kick();
  }
}
