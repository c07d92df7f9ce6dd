// The operator's view of the route server: JSON-safe rows built from the
// core's query results (src/rs/server.ts), and the resolution of a client
// named by ASN, id or IP. One data path: the control socket serves these rows,
// and show.ts only renders them (text tables or JSON).

import { canonicalAddress } from '../bgp/prefix.ts';
import type { AsPathSegment, PathAttributes } from '../bgp/types.ts';
import type { NhibClientView, NhibMatrixView } from '../nhib/types.ts';
import { sessionKey } from '../rs/model.ts';
import type { ClientConfig } from '../rs/policy-api.ts';
import type {
  ClientSummary,
  ExportView,
  RouteQuery,
  RouteView,
  SessionSnapshot,
} from '../rs/server.ts';

export type {
  NhibClientView,
  NhibEntryRow,
  NhibMatrixView,
} from '../nhib/types.ts';

/** What the control socket needs of the core (RouteServer implements it; tests fake it). */
export interface CoreQueries {
  routes(prefix: string, clientId?: string): RouteView[];
  findRoutes(q: RouteQuery): { routes: RouteView[]; truncated: boolean };
  exported(clientId: string, limit?: number): { routes: ExportView[]; truncated: boolean };
  clientSummary(clientId: string): ClientSummary;
  ribCount(clientId: string): number;
  sessions(): SessionSnapshot[];
}

/**
 * What the control socket needs of the NHIB (src/nhib/nhib.ts `Nhib`
 * implements it; the daemon passes it when RS-BFD runs).
 */
export interface NhibQueries {
  /** One client's NHIB (`ixrs show nhib C`), null when the NHIB does not know the client. */
  nhibClient(clientId: string): NhibClientView | null;
  /** Client × next-hop owner (`ixrs show nhib --matrix`). */
  nhibMatrix(): NhibMatrixView;
}

/** Reject reason texts (code -> text); the policy's table is passed in by the daemon. */
export type ReasonTexts = Readonly<Record<number, string>>;

export interface Reason {
  code: number;
  text: string;
}

export interface SessionRow {
  client: string;
  asn: number;
  description: string;
  address: string;
  /** Core state: 'up', 'idle', or 'stale' (graceful restart). */
  state: string;
  /** BGP FSM state of the session (RFC 4271 §8), when the daemon knows it. */
  bgpState: string | null;
  /** Last state change, ISO 8601. */
  since: string;
  families: string[];
  /** Paths in the session's Adj-RIB-In now (accepted and rejected kept); `ixrs show sessions` PATHS IN. */
  received: number;
  /** Prefixes (paths, with ADD-PATH) the route server currently announces to the session. */
  sent: number;
  blocked: boolean;
  dumping: string[];
}

export interface RouteRow {
  prefix: string;
  from: string;
  fromAsn: number;
  fromAddress: string;
  pathId: number;
  /** 1-based position in the ranking; null for rejected paths. */
  rank: number | null;
  accepted: boolean;
  reasons: Reason[];
  stale: boolean;
  nextHop: string;
  nextHopLinkLocal?: string;
  /** AS_PATH as text: sequences space separated, sets in braces. */
  asPath: string;
  asPathLength: number;
  origin: 'IGP' | 'EGP' | 'INCOMPLETE' | null;
  med: number | null;
  localPref: number | null;
  communities: string[];
  largeCommunities: string[];
  extCommunities: string[];
  /** When the route server received the path (ISO time, second resolution). */
  receivedAt: string;
  /** Only when the query named a client: the path is that client's best. */
  best?: boolean;
  /** Only when the query named a client: the path may be sent to that client. */
  eligible?: boolean;
  /**
   * Only when not eligible: why — 'own', 'export-policy', 'next-hop-unreachable'
   * (the client reported the next hop unreachable, RS-BFD), 'extended-next-hop'.
   */
  notSent?: string;
}

export interface RoutesResult {
  /** The prefix asked (canonical; an address is asked as its /32 or /128), or null (all prefixes). */
  prefix: string | null;
  /** How `prefix` matches: 'exact', 'longest' (an address: longest match), 'longer', 'shorter'. */
  match?: 'exact' | 'longest' | 'longer' | 'shorter';
  /** The client the query was for (id), or null. */
  client: string | null;
  /** Only paths received from this client (id), when asked (--received / --filtered). */
  from?: string | null;
  /** 'received': accepted paths only; 'filtered': rejected ones only. */
  only?: 'received' | 'filtered' | null;
  routes: RouteRow[];
  /** More routes matched than the limit. */
  truncated?: boolean;
}

/** A route as last announced to a client (`ixrs show rib --client C --json`). */
export interface ExportRow {
  prefix: string;
  /** The client's address the session uses. */
  address: string;
  pathId: number;
  nextHop: string;
  nextHopLinkLocal?: string;
  asPath: string;
  asPathLength: number;
  origin: 'IGP' | 'EGP' | 'INCOMPLETE' | null;
  med: number | null;
  localPref: number | null;
  communities: string[];
  largeCommunities: string[];
  extCommunities: string[];
}

export interface RibListResult {
  client: string;
  address: string | null;
  routes: ExportRow[];
  truncated: boolean;
}

/** The core's counters of a client (ClientSummary), with its configuration and reject reasons named. */
/**
 * Two kinds of counters, never mixed: `received`, `accepted`, `rejected`,
 * `withdrawnReceived` count announcements since start (a re-announcement
 * counts again); `pathsAccepted` (= the sum of `acceptedByAfi`) and
 * `rejectedKept` are the client's paths now (their sum is the sessions'
 * `received`, paths in Adj-RIB-In).
 */
export interface ClientResult extends Omit<ClientSummary, 'rejectedByReason'> {
  /** Accepted paths now (the sum of acceptedByAfi). */
  pathsAccepted: number;
  asn: number;
  description: string;
  addresses: string[];
  passive: boolean;
  addPath: boolean;
  rejectedByReason: (Reason & { count: number })[];
  /** Prefixes currently announced to the client. */
  rib: number;
  sessions: SessionRow[];
}

export interface RibResult {
  client: string;
  /** The address when the query named one session, else null. */
  address: string | null;
  count: number;
}

// ---------------------------------------------------------------- formatting

export function formatAsPath(path: readonly AsPathSegment[]): string {
  return path
    .map((s) => {
      const a = s.asns.join(' ');
      if (s.type === 1) return `{${a}}`;
      if (s.type === 3) return `(${a})`;
      if (s.type === 4) return `[${a}]`;
      return a;
    })
    .filter((t) => t !== '')
    .join(' ');
}

export function asPathLength(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) {
    if (s.type === 2) n += s.asns.length;
    else if (s.type === 1) n += 1;
  }
  return n;
}

export function formatCommunity(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

const ORIGINS = ['IGP', 'EGP', 'INCOMPLETE'] as const;

export function reasonOf(code: number, texts: ReasonTexts): Reason {
  return { code, text: texts[code] ?? `reason ${code}` };
}

export function attrsFields(
  a: PathAttributes,
): Pick<
  RouteRow,
  | 'asPath'
  | 'asPathLength'
  | 'origin'
  | 'med'
  | 'localPref'
  | 'communities'
  | 'largeCommunities'
  | 'extCommunities'
> {
  return {
    asPath: formatAsPath(a.asPath),
    asPathLength: asPathLength(a.asPath),
    origin: a.origin === undefined ? null : ORIGINS[a.origin],
    med: a.med ?? null,
    localPref: a.localPref ?? null,
    communities: (a.communities ?? []).map(formatCommunity),
    largeCommunities: (a.largeCommunities ?? []).map(([g, l1, l2]) => `${g}:${l1}:${l2}`),
    extCommunities: (a.extCommunities ?? []).map(hex),
  };
}

export function routeRow(
  prefix: string,
  v: RouteView,
  clients: ReadonlyMap<string, ClientConfig>,
  texts: ReasonTexts,
): RouteRow {
  const from = clients.get(v.from);
  const at = v.session.lastIndexOf('@');
  const row: RouteRow = {
    prefix,
    from: v.from,
    fromAsn: from?.asn ?? 0,
    fromAddress: at >= 0 ? v.session.slice(at + 1) : '',
    pathId: v.pathId,
    rank: v.rank,
    accepted: v.accepted,
    reasons: v.reasons.map((c) => reasonOf(c, texts)),
    stale: v.stale,
    nextHop: v.nextHop.global,
    ...attrsFields(v.attrs),
    receivedAt: new Date(v.receivedAt).toISOString(),
  };
  if (v.nextHop.linkLocal !== undefined) row.nextHopLinkLocal = v.nextHop.linkLocal;
  if (v.best !== undefined) row.best = v.best;
  if (v.eligible !== undefined) row.eligible = v.eligible;
  if (v.notSent !== undefined) row.notSent = v.notSent;
  return row;
}

export function exportRow(v: ExportView): ExportRow {
  const at = v.session.lastIndexOf('@');
  const row: ExportRow = {
    prefix: v.prefix,
    address: at >= 0 ? v.session.slice(at + 1) : '',
    pathId: v.pathId,
    nextHop: v.nextHop.global,
    ...attrsFields(v.attrs),
  };
  if (v.nextHop.linkLocal !== undefined) row.nextHopLinkLocal = v.nextHop.linkLocal;
  return row;
}

export function sessionRow(
  s: SessionSnapshot,
  clients: ReadonlyMap<string, ClientConfig>,
  bgpState: string | null,
): SessionRow {
  const c = clients.get(s.client);
  return {
    client: s.client,
    asn: c?.asn ?? 0,
    description: c?.description ?? '',
    address: s.address,
    state: s.state,
    bgpState,
    since: new Date(s.since).toISOString(),
    families: [...s.families].sort(),
    received: s.adjIn,
    sent: s.held,
    blocked: s.blocked,
    dumping: s.dumping,
  };
}

// ---------------------------------------------------------------- naming clients

/** A client named by the operator: the client, and the session when an address was given. */
export interface Selected {
  client: ClientConfig;
  address: string | null;
  /** What the core takes: the client id, or `id@address` for one session. */
  coreId: string;
}

/**
 * Resolve "64501", "AS64501", a client id ("AS64501-2") or one of the client's
 * addresses. Throws an Error with an operator-readable message.
 */
export function selectClient(clients: readonly ClientConfig[], name: string): Selected {
  const t = name.trim();
  const byId = clients.find((c) => c.id === t || c.id.toLowerCase() === t.toLowerCase());
  if (byId !== undefined) return { client: byId, address: null, coreId: byId.id };
  const asText = /^(?:AS)?(\d+)$/i.exec(t);
  if (asText !== null) {
    const asn = Number(asText[1]);
    const all = clients.filter((c) => c.asn === asn);
    if (all.length === 1) return { client: all[0]!, address: null, coreId: all[0]!.id };
    if (all.length > 1) {
      throw new Error(
        `AS${asn} has ${all.length} client entries (${all.map((c) => `${c.id} ${c.addresses.join(',')}`).join('; ')}): name one by id or IP`,
      );
    }
    throw new Error(`no client with ASN ${asn}`);
  }
  const ip = canonicalAddress(t);
  if (ip !== null) {
    for (const c of clients) {
      if (c.addresses.includes(ip)) return { client: c, address: ip, coreId: sessionKey(c.id, ip) };
    }
    throw new Error(`no client with address ${ip}`);
  }
  throw new Error(`'${name}' is neither an ASN, a client id nor an IP address`);
}
