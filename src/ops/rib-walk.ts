// A walk over every prefix of the route-server table, in slices so the event
// loop keeps serving BGP (keepalives, input) in between: the RIB dumps (MRT),
// the looking-glass snapshots (birdwatcher API) and the BMP initial dump use it.
// It reads only what the core exposes: the prefix table's ids (EntryStore:
// limit, live, prefix) and routes(prefix), the query behind `ixrs show routes`.
// A walk that spans slices sees each prefix as it is when visited.

import { performance } from 'node:perf_hooks';
import type { RouteView } from '../rs/server.ts';

/** The part of the prefix table a walk needs (RouteServer.entries). */
export interface RibTable {
  readonly limit: number;
  live(id: number): boolean;
  prefix(id: number): string;
}

/** What a walk reads (RouteServer implements it). */
export interface RibSource {
  readonly entries: RibTable;
  routes(prefix: string): RouteView[];
}

export interface WalkOptions {
  /** Most prefixes per slice (default 2000). */
  slice?: number;
  /** Longest slice, milliseconds (default 5): the event loop is never held longer. */
  sliceMs?: number;
  /** How to wait between slices (default setImmediate). */
  yieldTo?: () => Promise<void>;
  /** Stop early when this returns true (checked between slices). */
  cancelled?: () => boolean;
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Calls `fn(prefix, views)` for every prefix with at least one path (accepted
 * or kept rejected). Resolves with the number of prefixes visited.
 */
export function walkRib(
  src: RibSource,
  fn: (prefix: string, views: RouteView[]) => void,
  opts: WalkOptions = {},
): Promise<number> {
  return walkEntries(
    src.entries,
    (id) => {
      const prefix = src.entries.prefix(id);
      const views = src.routes(prefix);
      if (views.length === 0) return false;
      fn(prefix, views);
      return true;
    },
    opts,
  );
}

/**
 * Calls `fn(id)` for every live prefix entry of `table`, in id order, in
 * slices. Resolves with the number of calls that returned true.
 */
export async function walkEntries(
  table: RibTable,
  fn: (id: number) => boolean,
  opts: WalkOptions = {},
): Promise<number> {
  const slice = opts.slice ?? 2000;
  const sliceMs = opts.sliceMs ?? 5;
  const yieldTo = opts.yieldTo ?? nextTurn;
  let visited = 0;
  let inSlice = 0;
  let started = performance.now();
  for (let id = 0; id < table.limit; id++) {
    if (!table.live(id)) continue;
    if (fn(id)) visited++;
    // The clock is read every 32 prefixes.
    if (++inSlice >= slice || ((inSlice & 31) === 0 && performance.now() - started >= sliceMs)) {
      inSlice = 0;
      await yieldTo();
      if (opts.cancelled?.()) break;
      started = performance.now();
    }
  }
  return visited;
}
