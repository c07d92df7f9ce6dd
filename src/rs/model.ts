// The route-server core's data model, shared by rib.ts (Adj-RIB-In, prefix
// table, ranking), decision.ts (per-client best path), adj-out.ts (what was
// sent) and the sections of server.ts (state.ts and the modules over it).
// Plain objects, no behaviour.
// Paths and prefix entries are not objects: they are ids into the columns of
// store.ts (PathStore, EntryStore). The one function: how a session is named.

import type { CodecOptions, NextHop, PathAttributes } from '../bgp/types.ts';
import type { ClientConfig, RejectCode } from './policy-api.ts';
import type { IdQueue, NextHopRec } from './store.ts';

/** A received path: an id into PathStore. */
export type PathId = number;
/** A prefix of the route-server table: an id into EntryStore. */
export type EntryId = number;

/** One distinct attribute set as used by one announcing client, with what the core derives from it once. */
export interface AttrUse {
  /** Index in RouteServer.uses (PathStore.use). */
  id: number;
  attrs: PathAttributes;
  /** Paths (of this client) holding it. */
  refs: number;
  /** RFC 4271 §9.1.2.2 (a): AS_SET counts 1, confederation segments 0. */
  asPathLen: number;
  origin: number;
  /** Missing MED counts as 0 (RFC 4271 §9.1.2.2 (c)). */
  med: number;
  /** Leftmost AS of the AS_PATH (the neighbouring AS, for MED comparison). */
  neighborAs: number;
  /**
   * Export verdict cache indexed by target Client.idx: 0 not computed yet,
   * 1..4 send with prepend (value - 1), 255 do not send.
   */
  exp: Uint8Array;
  /** Clients for which a path with these attributes is not sent as is (no-send or prepend); null = not computed. */
  expExc: Client[] | null;
  /** Number of clients when expExc was computed (recomputed when clients are added). */
  expExcN: number;
  /** OutRefs derived from it, per (prepend + 1, next-hop record: the object, as ids are reused). */
  outCache: { pp: number; nh: NextHopRec; o: OutRef }[] | null;
}

/** The name of a client's session (Session.key, `ixrs show` selections): `id@address`. */
export function sessionKey(clientId: string, address: string): string {
  return `${clientId}@${address}`;
}

/** A configured client (one clients.yml entry); it may have several sessions (one per address). */
export interface Client {
  cfg: ClientConfig;
  idx: number;
  uses: Map<PathAttributes, AttrUse>;
  /** Accepted paths in Adj-RIB-In per AFI, across the client's sessions (max-prefix). */
  acceptedByAfi: Map<number, number>;
  /** Max-prefix already triggered for the AFI (so the action fires once). */
  maxPrefixHit: Set<number>;
  /** NextHopTable.globals ids this client reported unreachable (reach.ts), to clear them all at once. */
  nhDown: Set<number>;
  sessions: Map<string, Session>;
  stats: ClientStats;
}

export interface ClientStats {
  received: number;
  accepted: number;
  rejected: number;
  rejectedByReason: Map<RejectCode, number>;
  /** Rejected paths kept now (for `ixrs show routes --filtered`), at most CoreState.rejectedLimit. */
  rejectedKept: number;
  /** Rejected paths not kept because the client had rejectedLimit kept already. */
  rejectedNotKept: number;
  /** Prefixes dropped because max-prefix 'block' was reached. */
  blocked: number;
  withdrawnReceived: number;
  treatAsWithdraw: number;
  /** UPDATE messages and NLRI (announce + withdraw) written to the client's sessions. */
  sentUpdates: number;
  sentNlri: number;
}

export interface Sink {
  write(bytes: Uint8Array): boolean;
  onDrain(cb: () => void): void;
}

/**
 * Per family of a session: a dump (initial, or a route refresh) walks the
 * table in entry-id order; `cursor` is the id of the last entry visited.
 * During an initial dump, entries not visited yet count as "nothing sent
 * yet" and are left to the dump. (An entry created among the visited ids, in
 * a reused id, counts as visited: it is new, so nothing was sent for it, and
 * the normal change processing sends it.)
 *
 * An initial dump that joined the shared walk of its output group (output.ts
 * pumpSession) at id `start` visits (start, limit) first, then laps: (start,
 * limit) and [0, cursor] are visited. A dump from the beginning has start -1
 * and never laps.
 */
export type FamilyState =
  | { kind: 'dump'; cursor: number; refresh: boolean; start: number; lapped: boolean }
  | { kind: 'synced' };

/** One BGP session (client, address). Holds its Adj-RIB-In; Adj-RIB-Out lives on the prefix entries. */
export interface Session {
  key: string;
  client: Client;
  address: string;
  bgpId: number;
  /** Small integer, unique among sessions, for bucket keys. */
  slot: number;
  /** Scratch stamp used while processing one prefix. */
  mark: number;
  /** Adj-RIB-In: the session's paths, a list through PathStore.sPrev/sNext. */
  adjHead: PathId;
  adjCount: number;
  state: 'idle' | 'up' | 'stale';
  since: number;
  /** Bumped at every sessionUp/sessionDown; queued input of an older epoch is dropped. */
  epoch: number;
  /** Graceful-restart timer (restart time, then stale-path time) while stale paths exist. */
  grTimer: unknown;
  /** Set while established. */
  up: SessionUp | null;
}

export interface SessionUp {
  codec: CodecOptions;
  families: Set<string>;
  addPathTx: Set<string>;
  /** Families whose NLRI may carry an IPv6 next hop (RFC 8950 negotiated), e.g. '1/1'. */
  extendedNextHop: Set<string>;
  enhancedRefresh: boolean;
  group: Group;
  sink: Sink;
  blocked: boolean;
  /** Families of the RS table being sent: dump in progress or synced. */
  fam: Map<string, FamilyState>;
  /** Entries whose state for this session must be recomputed (back-pressure, NHIB change). */
  dirty: IdQueue;
  /** ADD-PATH Adj-RIB-Out: path ids sent per entry, for families in addPathTx. */
  apOut: Map<EntryId, Map<number, OutRef>>;
  /** Families for which End-of-RIB from the client is awaited after a graceful restart. */
  grPending: Set<string>;
  /** Input from this session is ignored (max-prefix shutdown in progress). */
  muted: boolean;
  /** Families disabled by an RFC 7606 AFI/SAFI-disable outcome: their input is ignored. */
  disabled: Set<string>;
  /** Prefixes (paths with ADD-PATH) the client currently holds from us. */
  held: number;
}

export interface Group {
  id: number;
  key: string;
  codec: CodecOptions;
  members: Set<Session>;
}

/** What is sent for a prefix: the outbound attributes and the next hop. Interned. */
export interface OutRef {
  id: number;
  attrs: PathAttributes;
  nextHop: NextHop;
  nhKey: string;
  /** AdjOut slot while its outDefault/xo columns hold it, else 0. */
  slot: number;
  /** Columns holding the slot. */
  refs: number;
}
