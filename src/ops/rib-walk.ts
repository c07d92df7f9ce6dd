// A walk over every prefix of the route-server table, in slices so the event
// loop keeps serving BGP (keepalives, input) in between: the RIB dumps (MRT),
// the looking-glass snapshots (birdwatcher API) and the BMP initial dump use it.
// It reads only what the core exposes: the prefix table's ids (EntryStore:
// limit, live, prefix) and routes(prefix), the query behind `ixrs show routes`.
// A walk that spans slices sees each prefix as it is when visited.

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
  /** Prefixes per slice (default 2000). */
  slice?: number;
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
export async function walkRib(
  src: RibSource,
  fn: (prefix: string, views: RouteView[]) => void,
  opts: WalkOptions = {},
): Promise<number> {
  const slice = opts.slice ?? 2000;
  const yieldTo = opts.yieldTo ?? nextTurn;
  let visited = 0;
  let inSlice = 0;
  for (let id = 0; id < src.entries.limit; id++) {
    if (!src.entries.live(id)) continue;
    const prefix = src.entries.prefix(id);
    const views = src.routes(prefix);
    if (views.length > 0) {
      fn(prefix, views);
      visited++;
    }
    if (++inSlice >= slice) {
      inSlice = 0;
      await yieldTo();
      if (opts.cancelled?.()) break;
    }
  }
  return visited;
}
