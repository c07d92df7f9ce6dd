// Memory given back after a mass release: when the route-server core settles
// (RouteServerOptions.onSettled) after dropping many paths (sessions lost,
// big withdrawals), one full garbage collection, so that what those paths
// held (attribute sets, array buffers, the V8 pages they filled) goes back to
// the system now, and V8 sizes its next collection on what is live.
//
// Why: V8 starts its next major GC when the old generation has grown by a
// factor over what the last one left alive. After every client is lost at
// once, the dead routes still fill the heap; when they all reconnect, the
// new routes are added on top until that limit, and the process peaks ~40-60
// MiB above its converged size (docs/benchmarks.md, the reconnect phase).
// A collection at the moment the routes died costs little (almost nothing is
// live) and makes the reconnect look like the first convergence.
//
// The collector is V8's `gc` function, exposed by `--expose-gc` (bin/ixrs.js
// adds it for `ixrs run`); without it this does nothing. At most one
// collection per `minIntervalMs`, so a large client flapping does not turn
// into a GC loop.

import { performance } from 'node:perf_hooks';
import type { SettledEvent } from '../rs/api.ts';

export interface ReclaimLog {
  debug(obj: object, msg: string): void;
}

export interface ReclaimOptions {
  /** The collector (default: globalThis.gc when exposed). */
  gc?: (() => void) | undefined;
  /** Collect only once at least this many paths were released (default 50,000). */
  minPaths?: number;
  /** ... and at least this fraction of what is left (default 0.25). */
  minFraction?: number;
  /** Least time between two collections, ms (default 10,000). */
  minIntervalMs?: number;
  now?: () => number;
  log?: ReclaimLog;
}

export class MemoryReclaimer {
  private readonly gc: (() => void) | undefined;
  private readonly minPaths: number;
  private readonly minFraction: number;
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private readonly log: ReclaimLog | undefined;
  /** Paths released and not yet collected after. */
  private pending = 0;
  private last = Number.NEGATIVE_INFINITY;

  constructor(opts: ReclaimOptions = {}) {
    this.gc = 'gc' in opts ? opts.gc : exposedGc();
    this.minPaths = opts.minPaths ?? 50_000;
    this.minFraction = opts.minFraction ?? 0.25;
    this.minIntervalMs = opts.minIntervalMs ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
    this.log = opts.log;
  }

  /** Whether a collector is there to call. */
  get enabled(): boolean {
    return this.gc !== undefined;
  }

  /** The core settled (RouteServerOptions.onSettled). Returns whether it collected. */
  settled(ev: SettledEvent): boolean {
    if (this.gc === undefined) return false;
    this.pending += ev.pathsReleased;
    if (this.pending < this.minPaths || this.pending < ev.paths * this.minFraction) return false;
    const t = this.now();
    if (t - this.last < this.minIntervalMs) return false;
    const released = this.pending;
    this.pending = 0;
    this.last = t;
    this.gc();
    this.log?.debug(
      { pathsReleased: released, paths: ev.paths, ms: Math.round(this.now() - t) },
      'full garbage collection after paths were released',
    );
    return true;
  }
}

/** V8's collector when the process runs with --expose-gc. */
function exposedGc(): (() => void) | undefined {
  const g: unknown = (globalThis as { gc?: unknown }).gc;
  return typeof g === 'function' ? (g as () => void) : undefined;
}
