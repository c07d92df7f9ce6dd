// The NHIB's inputs, outputs and operator views. Plain JSON-safe data: the
// views travel over the control socket as they are.

import type { DampingParams } from './damping.ts';

export type ReportedState = 'reachable' | 'unreachable';
export type NextHopState = 'unknown' | ReportedState;

/** A node as BGP-LS Node Descriptors carry it (rs-bfd-profile §4). */
export interface ReportNode {
  asn: number;
  /** BGP Router-ID (sub-TLV 516), dotted quad. */
  routerId: string;
}

/**
 * One reachability report (rs-bfd-profile §5.3): a Link NLRI with its IGP
 * Metric, as the BGP-LS codec parses it. Addresses are canonical text.
 */
export interface ReachabilityReport {
  /** BGP-LS Identifier (the NLRI's Identifier field). */
  instanceId: number;
  local: ReportNode;
  remote: ReportNode;
  /** Link descriptor 259/261: the reporting client's LAN address. */
  localAddress: string;
  /** Link descriptor 260/262: the next hop the report is about. */
  nextHop: string;
  state: ReportedState;
}

/** What a withdrawn report names: the next hop, with the NLRI's fields when the codec has them. */
export type ReportWithdraw =
  | string
  | (Partial<Omit<ReachabilityReport, 'nextHop' | 'state'>> & { nextHop: string });

/** RS-BFD settings of one client (cfg.ixrs.rs_bfd, general.yml merged with clients.yml). */
export interface NhibSettings {
  /** False: BGP-LS from this client is refused, its NHIB stays empty (plain RFC 7947). */
  enabled: boolean;
  /** BGP-LS Identifier of the LAN: reports with another one are dropped. */
  instanceId: number;
  damping: DampingParams;
}

/** A client as the NHIB needs it: the wiring passes the configured ones. */
export interface NhibClientSpec {
  id: string;
  asn: number;
  /** The client's LAN addresses, canonical text. */
  addresses: readonly string[];
  settings?: NhibSettings;
}

/** Why an entry changed. */
export type ChangeCause =
  | 'report'
  | 'withdraw'
  | 'session-down'
  | 'damping-released'
  | 'damping-disabled'
  | 'client-removed';

/**
 * One change of one (client, next hop): its reported state or its damping.
 * `effectiveChanged` says whether the core must be told: then `unreachable` is
 * what `setNextHopReachability(client, nextHop, unreachable)` takes.
 */
export interface NhibChange {
  kind: 'change';
  client: string;
  nextHop: string;
  /** The client the next hop belongs to, when it is a configured address. */
  owner: string | null;
  old: NextHopState;
  new: NextHopState;
  wasDamped: boolean;
  damped: boolean;
  /** Effectively unreachable after the change: reported unreachable or damped, while the session is up. */
  unreachable: boolean;
  effectiveChanged: boolean;
  cause: ChangeCause;
  /** One line for the log. */
  message: string;
}

export type DropReason =
  /** The client's RS-BFD is disabled in the configuration. */
  | 'disabled'
  /** No reachability session is up for the client. */
  | 'no-session'
  /** The NLRI's Identifier is not this LAN's instance id. */
  | 'foreign-instance'
  /** The local node's ASN or the local interface address is not the reporting client's (rs-bfd-profile §7). */
  | 'spoofed'
  /** The next hop is the client's own address, or not of the local address's family. */
  | 'invalid'
  /** Too many unrequested next hops kept for the client already. */
  | 'limit';

/** A report that was dropped, or kept although it was not requested. */
export interface NhibNotice {
  kind: 'dropped' | 'unrequested';
  reason: DropReason | 'unrequested';
  client: string;
  nextHop: string;
  message: string;
}

export type NhibEvent = NhibChange | NhibNotice;

export interface NhibCounters {
  /** Reports (announcements) received. */
  reports: number;
  /** Report withdrawals received. */
  withdraws: number;
  /** Reports that changed an entry's state. */
  applied: number;
  spoofed: number;
  foreignInstance: number;
  noSession: number;
  disabled: number;
  invalid: number;
  overLimit: number;
  /** Reports kept for next hops that were not requested. */
  unrequested: number;
  /** Transitions to unreachable. */
  flaps: number;
  /** Times an entry became damped. */
  suppressions: number;
  /** Reachability sessions lost (every entry back to unknown). */
  sessionLosses: number;
}

// ---------------------------------------------------------------- views

export type SessionStatus = 'up' | 'down' | 'disabled';

export interface NhibEntryRow {
  nextHop: string;
  owner: string | null;
  requested: boolean;
  state: NextHopState;
  /** Effectively unreachable (paths hidden from the client). */
  unreachable: boolean;
  /** When the reported state last changed, ISO 8601 (null: never reported). */
  since: string | null;
  /** The client's paths this next hop currently hides (from the core). */
  hiddenPaths: number;
  /** The prefixes of the first of them (at most HIDDEN_LISTED; hiddenPaths counts them all). */
  hiddenPrefixes: string[];
  flaps: number;
  damped: boolean;
  /** Current damping penalty, rounded. */
  penalty: number;
  /** When a damped next hop is released, ISO 8601. */
  reuseAt: string | null;
  /** The report that set the state, as received. */
  report: ReachabilityReport | null;
}

export interface NhibClientView {
  client: string;
  asn: number;
  session: SessionStatus;
  /** Last reachability session change, ISO 8601 (null: never up). */
  sessionSince: string | null;
  instanceId: number;
  damping: DampingParams;
  counters: NhibCounters;
  entries: NhibEntryRow[];
}

/** One client's NHIB in numbers (Nhib.tally(): metrics). */
export interface NhibTally {
  client: string;
  asn: number;
  session: SessionStatus;
  /** Entries by reported state. */
  unknown: number;
  reachable: number;
  unreachable: number;
  /** Entries held unreachable by damping. */
  damped: number;
  /** Entries effectively unreachable (paths hidden from the client). */
  effective: number;
  /** The client's paths hidden by them. */
  hiddenPaths: number;
  counters: Readonly<NhibCounters>;
}

/** Legend of the matrix cells. */
export const MATRIX_LEGEND: Readonly<Record<string, string>> = Object.freeze({
  '.': 'reachable',
  '?': 'unknown (requested, no report yet, or session down)',
  X: 'unreachable',
  x: "some of the owner's next hops unreachable",
  D: 'damped: held unreachable although reported reachable or withdrawn',
  '-': 'nothing requested or reported',
  '\\': 'the client itself',
});

export interface NhibMatrixRow {
  client: string;
  asn: number;
  session: SessionStatus;
  /** One character per owner column (MATRIX_LEGEND). */
  cells: string;
  /** Entries effectively unreachable. */
  unreachable: number;
}

export interface NhibMatrixProblem {
  client: string;
  owner: string | null;
  nextHop: string;
  state: NextHopState;
  damped: boolean;
  since: string | null;
}

export interface NhibMatrixView {
  /** Column order: next-hop owners (client ids); '(other)' for addresses no client has. */
  owners: string[];
  rows: NhibMatrixRow[];
  counts: {
    clients: number;
    sessionsUp: number;
    entries: number;
    requested: number;
    reachable: number;
    unreachable: number;
    unknown: number;
    damped: number;
  };
  /** Every effectively unreachable (client, next hop). */
  problems: NhibMatrixProblem[];
  legend: Readonly<Record<string, string>>;
}
