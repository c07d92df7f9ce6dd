// The route-server core's public types: what RouteServer (server.ts) takes
// and gives. Strings at this boundary (client ids as in clients.yml, address
// text); handles for sessions once resolved.

import type { CodecOptions, NextHop, PathAttributes } from '../bgp/types.ts';
import type { IneligibleReason } from './decision.ts';
import type { WireEncoder } from './packer.ts';
import type { MaxPrefixAction, Policy, RejectCode } from './policy-api.ts';
import type { NextHopUsageEvent } from './reach.ts';

/** A client's BGP session as the core's callers hold it (from sessionHandle); opaque. */
export interface SessionHandle {
  /** `id@address`: names the session in logs and views. */
  readonly key: string;
  readonly address: string;
}

/** A session: its handle, its key (`id@address`), or a client id when the client has one session. */
export type SessionRef = SessionHandle | string;

export interface Scheduler {
  /** Runs `fn` soon, after pending I/O (default: setImmediate). */
  schedule(fn: () => void): void;
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface MaxPrefixEvent {
  clientId: string;
  session: string;
  afi: number;
  limit: number;
  action: MaxPrefixAction;
}

export interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface RouteServerOptions {
  policy: Policy;
  /** Default: the real codec (src/bgp/codec.ts). */
  encoder?: WireEncoder;
  /**
   * Next-hop usage events (the RS-BFD request sets): an address started or
   * stopped being used by some accepted path, or its announcers or attribute
   * sets changed. Coalesced per slice (called once at the end of a slice).
   */
  onNextHopUsage?: (events: NextHopUsageEvent[]) => void;
  /** Compare MED across neighbour ASes (default false, RFC 4271 §9.1.2.2 (c)). */
  alwaysCompareMed?: boolean;
  /** 'manual': nothing runs until flush() (tests). Default: setImmediate. */
  scheduler?: Scheduler | 'manual';
  /** Length of a work slice in ms (default 5). */
  sliceMs?: number;
  /** Prefixes handled per output batch (default 1024; a batch is packed into as few UPDATEs as fit). */
  batch?: number;
  timers?: Timers;
  /** RFC 4724 §4.2 stale-path time after re-establishment, seconds (default 360). */
  stalePathTime?: number;
  /**
   * Keep rejected paths in Adj-RIB-In for the looking glass (reject_policy
   * 'tag', the default). False (reject_policy 'reject') only counts them.
   */
  keepRejected?: boolean;
  /**
   * Most rejected paths kept per client (the oldest stay, later ones are only
   * counted: ClientSummary.rejectedNotKept). Default: unbounded with
   * keepRejected, 1000 without (reject_policy 'reject' keeps a sample so a
   * filtered route can still be looked at).
   */
  rejectedLimit?: number;
  /** Families the route server carries (default IPv4 and IPv6 unicast). */
  families?: string[];
  /** Max-prefix 'shutdown'/'restart': the session layer sends Cease subcode 1 (RFC 4486) and closes. */
  onMaxPrefix?: (ev: MaxPrefixEvent) => void;
  /**
   * Input flow control: once this many NLRI are queued and not yet applied,
   * receiveUpdate returns false and the session layer should stop reading its
   * sockets until onInputDrain (called when the queue is down to half). Keeps
   * a burst of full tables from being decoded into memory all at once.
   * Default 1024, about one full 4096-octet UPDATE (docs/benchmarks.md: decoded
   * NLRI queued longer reach V8's old space; 1024 against 4096: 30 -> 19 MiB
   * promoted, peak RSS 150-157 -> 135-146 MiB at 100x5000, no slower).
   */
  inputHighWater?: number;
  onInputDrain?: () => void;
  /**
   * Called when the core runs out of work after some paths were released
   * (session loss, withdrawals): how many since the last call, and how many
   * are left. The process can give memory back after a mass session loss
   * (ops/memory.ts) instead of waiting for the garbage collector's next turn.
   */
  onSettled?: (ev: SettledEvent) => void;
  log?: Log;
}

export interface SettledEvent {
  /** Paths released since the last onSettled. */
  pathsReleased: number;
  /** Paths held now (accepted and kept rejected). */
  paths: number;
}

export interface SessionInfo {
  codec: CodecOptions;
  /** Negotiated families, `${afi}/${safi}`. */
  families: Set<string>;
  /** Families with ADD-PATH send negotiated toward this client. */
  addPathTx: Set<string>;
  /** Sessions with the same key get byte-identical output (same codec options). */
  groupKey: string;
  /** The client's BGP Identifier (decision tie-break), default 0. */
  bgpId?: number;
  /** Which of the client's addresses this session uses (default: the first). */
  address?: string;
  /** RFC 7313 negotiated. */
  enhancedRouteRefresh?: boolean;
  /** RFC 8950: families whose NLRI may be sent with an IPv6 next hop (e.g. '1/1'). Default none. */
  extendedNextHop?: Set<string>;
  /** The client announced Graceful Restart in this session (default true). False drops stale paths at once. */
  gracefulRestart?: boolean;
  /**
   * RFC 4724 §4.2: families listed in the client's new Graceful Restart
   * capability with the Forwarding State bit set. When given, stale paths of
   * any other family are removed at once; the rest wait for End-of-RIB.
   */
  gracefulRestartFamilies?: Set<string>;
}

/** A route query (Views.findRoutes). */
export interface RouteQuery {
  /** With `match`: 'exact' (default), 'longest' (the most specific covering prefix with paths; give a /32 or /128 for an address), 'shorter' (covering prefixes, itself included), 'longer' (itself and more specifics). */
  prefix?: string;
  match?: 'exact' | 'longest' | 'shorter' | 'longer';
  /** The client whose view is shown (best, eligible, notSent), as routes(prefix, client). */
  client?: string;
  /** Only paths received from this client (or session). */
  from?: string;
  /** Only accepted ('received') or only rejected ('filtered') paths. */
  only?: 'received' | 'filtered';
  /** Most routes returned (default 1000). */
  limit?: number;
}

/** A route as last announced to a client's session (Adj-RIB-Out). */
export interface ExportView {
  prefix: string;
  session: string;
  /** ADD-PATH path id sent, 0 without ADD-PATH. */
  pathId: number;
  nextHop: NextHop;
  attrs: PathAttributes;
}

export interface RouteView {
  prefix: string;
  /** When the path was received, ms since the Unix epoch (second resolution, the start of the slice that applied it). */
  receivedAt: number;
  from: string;
  session: string;
  pathId: number;
  /** 1-based position in the ranking, null for rejected paths. */
  rank: number | null;
  accepted: boolean;
  reasons: RejectCode[];
  stale: boolean;
  nextHop: NextHop;
  attrs: PathAttributes;
  /** Whether it is the asked client's best path, when a client was given. */
  best?: boolean;
  /** Whether it may be sent to the asked client (export policy, NHIB, not its own). */
  eligible?: boolean;
  /** Why it may not be sent to the asked client, when it may not. */
  notSent?: IneligibleReason;
}

export interface ClientSummary {
  id: string;
  received: number;
  accepted: number;
  rejected: number;
  /** Rejected paths kept now (shown by `ixrs show routes --filtered`). */
  rejectedKept: number;
  /** Rejected paths not kept: the client had RouteServerOptions.rejectedLimit kept already. */
  rejectedNotKept: number;
  rejectedByReason: Record<string, number>;
  blocked: number;
  withdrawnReceived: number;
  treatAsWithdraw: number;
  acceptedByAfi: Record<string, number>;
  sentUpdates: number;
  sentNlri: number;
}

export interface SessionSnapshot {
  client: string;
  session: string;
  address: string;
  state: 'idle' | 'up' | 'stale';
  since: number;
  families: string[];
  group: string | null;
  blocked: boolean;
  dumping: string[];
  held: number;
  adjIn: number;
}
