// The shared vocabulary of the BGP codec (RFC 4271 and extensions).
// Everything above the codec (session, route server, agent) speaks these types.
// The codec imports nothing from outside src/bgp/.

export const AFI = { IPV4: 1, IPV6: 2, BGPLS: 16388 } as const;
export const SAFI = { UNICAST: 1, BGPLS: 71 } as const;

export const MSG = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4, ROUTE_REFRESH: 5 } as const;

/** Maximum message size without (4096) and with (65535) RFC 8654 Extended Message. */
export const MAX_MESSAGE = 4096;
export const MAX_EXTENDED_MESSAGE = 65535;
export const AS_TRANS = 23456;

export interface Family {
  afi: number;
  safi: number;
}

// ---------------------------------------------------------------- capabilities

/** ADD-PATH Send/Receive field (RFC 7911 §4): 1 receive, 2 send, 3 both. */
export type AddPathMode = 1 | 2 | 3;

export type Capability =
  | { kind: 'multiprotocol'; afi: number; safi: number } // code 1, RFC 4760
  | { kind: 'route-refresh' } // code 2, RFC 2918
  | { kind: 'extended-next-hop'; entries: { afi: number; safi: number; nextHopAfi: number }[] } // code 5, RFC 8950
  | { kind: 'extended-message' } // code 6, RFC 8654
  | {
      kind: 'graceful-restart'; // code 64, RFC 4724
      restarting: boolean; // R bit
      notification: boolean; // N bit (RFC 8538)
      restartTime: number; // seconds, 12 bits
      families: { afi: number; safi: number; forwardingPreserved: boolean }[];
    }
  | { kind: 'as4'; asn: number } // code 65, RFC 6793
  | { kind: 'add-path'; entries: { afi: number; safi: number; mode: AddPathMode }[] } // code 69, RFC 7911
  | { kind: 'enhanced-route-refresh' } // code 70, RFC 7313
  | { kind: 'unknown'; code: number; value: Uint8Array }; // kept and shown, never dropped

// ---------------------------------------------------------------- messages

export interface OpenMessage {
  type: 'open';
  version: number; // 4
  /** The 2-octet My Autonomous System field as sent (AS_TRANS for 4-octet ASNs). */
  myAs: number;
  holdTime: number;
  /** BGP Identifier as an unsigned 32-bit integer. */
  bgpId: number;
  capabilities: Capability[];
  /** Optional parameters other than Capabilities (type 2), kept as received. */
  otherParams: { type: number; value: Uint8Array }[];
  /** RFC 9072: encode with the extended optional parameters length (decode sets it when seen). */
  extendedParams?: boolean;
}

export interface KeepaliveMessage {
  type: 'keepalive';
}

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Uint8Array;
  /** RFC 8203/9003 shutdown communication (Cease / Administrative Shutdown or Reset), UTF-8. */
  shutdownMessage?: string;
}

export interface RouteRefreshMessage {
  type: 'route-refresh';
  afi: number;
  safi: number;
  /** RFC 7313 message subtype: 0 normal request, 1 BoRR, 2 EoRR. */
  subtype: number;
}

/**
 * A prefix in canonical text form, "192.0.2.0/24" or "2001:db8::/32" (RFC 5952),
 * host bits zero. pathId is the RFC 7911 path identifier when ADD-PATH is in use.
 */
export interface Nlri {
  prefix: string;
  pathId?: number;
}

/** A next hop as carried in NEXT_HOP or MP_REACH_NLRI. */
export interface NextHop {
  /** IPv4 or global IPv6 address, canonical text. */
  global: string;
  /** IPv6 link-local address when the next hop field was 32 octets. */
  linkLocal?: string;
}

export interface AsPathSegment {
  /** 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET. */
  type: 1 | 2 | 3 | 4;
  asns: number[];
}

/** An attribute kept byte-exact (unknown or not decoded). */
export interface RawAttribute {
  flags: number;
  type: number;
  value: Uint8Array;
}

/**
 * The path attributes of an UPDATE, other than MP_REACH_NLRI and MP_UNREACH_NLRI
 * (those are per message and live in UpdateMessage).
 *
 * `wire` holds the attribute section as it should be re-sent to a 4-octet-AS peer
 * (after AS4_PATH reconstruction, attribute discard, and Partial-bit marking of
 * optional transitive attributes this speaker does not recognise), without
 * MP_REACH/MP_UNREACH. It is the key for interning: two paths with equal `wire`
 * share one PathAttributes object.
 */
export interface PathAttributes {
  wire: Uint8Array;
  origin?: 0 | 1 | 2; // IGP, EGP, INCOMPLETE
  asPath: AsPathSegment[]; // always 4-octet ASNs after decode
  nextHop?: string; // NEXT_HOP attribute (IPv4 unicast)
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[]; // RFC 1997, each a uint32
  extCommunities?: Uint8Array[]; // RFC 4360, 8 octets each
  largeCommunities?: [number, number, number][]; // RFC 8092
  originatorId?: number;
  clusterList?: number[];
  /** BGP-LS attribute (type 29), value bytes; decoded in src/bgpls. */
  bgpLs?: Uint8Array;
  /** Attributes not decoded above (unknown or not used), byte-exact, in received order. */
  other: RawAttribute[];
  /**
   * Types of recognised optional transitive attributes received with the
   * Partial bit set. RFC 4271 §5: once set by some AS it is never cleared, so
   * encodeAttributes sets it again when it re-encodes them. Usually undefined.
   */
  partial?: number[];
}

export interface MpReach {
  afi: number;
  safi: number;
  nextHop: NextHop;
  /** For IPv4/IPv6 unicast. */
  nlri: Nlri[];
  /** For other families (BGP-LS): the NLRI field bytes, decoded elsewhere. */
  raw?: Uint8Array;
}

export interface MpUnreach {
  afi: number;
  safi: number;
  nlri: Nlri[];
  raw?: Uint8Array;
}

/** RFC 7606 §2 approaches, from least to most drastic. */
export type ErrorAction =
  | 'attribute-discard'
  | 'treat-as-withdraw'
  | 'afi-safi-disable'
  | 'session-reset';

export interface UpdateError {
  action: ErrorAction;
  /** NOTIFICATION subcode (code 3, UPDATE Message Error) for logging or session reset. */
  subcode: number;
  data: Uint8Array;
  /** Human-readable reason, names the attribute and the RFC section. */
  reason: string;
  /** Attribute type codes discarded (action 'attribute-discard' and worse). */
  discarded?: number[];
}

export interface UpdateMessage {
  type: 'update';
  /** IPv4 unicast withdrawn routes field. */
  withdrawn: Nlri[];
  /** Null when the UPDATE carries no path attributes (a pure withdraw or End-of-RIB). */
  attrs: PathAttributes | null;
  /** IPv4 unicast NLRI field. */
  nlri: Nlri[];
  mpReach: MpReach | null;
  mpUnreach: MpUnreach | null;
  /**
   * RFC 7606 outcome. With 'treat-as-withdraw' every NLRI in the message (the
   * NLRI field and MP_REACH) must be handled as withdrawn. With
   * 'attribute-discard' attrs is usable and `discarded` lists what was dropped.
   * 'session-reset' is never returned here: it is thrown as BgpError.
   */
  errors: UpdateError[];
}

export type BgpMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

/** What the decoder needs to know of the session (negotiated options). */
export interface CodecOptions {
  /** Both sides announced the 4-octet AS capability (RFC 6793). */
  as4: boolean;
  /** Families for which we RECEIVE path identifiers (ADD-PATH negotiated in that direction), key `${afi}/${safi}`. */
  addPathRx?: ReadonlySet<string>;
  /** Families for which we SEND path identifiers, key `${afi}/${safi}`. */
  addPathTx?: ReadonlySet<string>;
  /** RFC 8654 negotiated: messages up to 65535 octets. */
  extendedMessage?: boolean;
  /**
   * The peer is external (its AS differs from ours): LOCAL_PREF, ORIGINATOR_ID
   * and CLUSTER_LIST are discarded whatever their form (RFC 7606 §7.5, §7.9,
   * §7.10) instead of being checked as from an internal peer.
   */
  external?: boolean;
}

/** `"afi/safi"`; the common families are constants (no string built per call). */
export function familyKey(afi: number, safi: number): string {
  if (safi === 1) {
    if (afi === 1) return '1/1';
    if (afi === 2) return '2/1';
  }
  return `${afi}/${safi}`;
}

/**
 * The codec's only error type. `code`/`subcode`/`data` are the NOTIFICATION to
 * send (RFC 4271 §6) when the error ends the session.
 */
export class BgpError extends Error {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  constructor(
    code: number,
    subcode: number,
    message: string,
    data: Uint8Array = new Uint8Array(0),
  ) {
    super(message);
    this.name = 'BgpError';
    this.code = code;
    this.subcode = subcode;
    this.data = data;
  }
}
