// The vocabulary of the BGP-LS codec (RFC 9552, BGP-LS for BGP peering
// topology RFC 9086): NLRI, descriptors, the BGP-LS attribute (path attribute
// 29), the codec's only error class, and the RFC 9552 §8.2.2 outcomes.
//
// Addresses are text in the forms of src/bgp/prefix.ts (IPv4 dotted quad, IPv6
// RFC 5952), so they compare equal to every other address in ixrs. Identifiers
// of 8 octets are bigint. Sub-TLVs and TLVs the codec does not know are kept
// byte-exact in `unknown` (sorted, as they are re-encoded).
//
// Imports nothing from ixrs but src/bgp/.

export const AFI_BGPLS = 16388;
export const SAFI_BGPLS = 71;

/** NLRI types (RFC 9552 §5.2). */
export const NLRI_TYPE = { NODE: 1, LINK: 2, PREFIX_V4: 3, PREFIX_V6: 4 } as const;

/** Protocol-IDs (RFC 9552 §5.2, RFC 9086 §4 for BGP). */
export const PROTOCOL = {
  ISIS_L1: 1,
  ISIS_L2: 2,
  OSPFV2: 3,
  DIRECT: 4,
  STATIC: 5,
  OSPFV3: 6,
  BGP: 7,
} as const;

/** TLV and sub-TLV code points used here (RFC 9552 §5.2-5.3, RFC 9086 §4). */
export const TLV = {
  LOCAL_NODE: 256,
  REMOTE_NODE: 257,
  LINK_IDS: 258,
  IPV4_INTERFACE: 259,
  IPV4_NEIGHBOR: 260,
  IPV6_INTERFACE: 261,
  IPV6_NEIGHBOR: 262,
  MULTI_TOPOLOGY: 263,
  AS: 512,
  BGP_LS_ID: 513,
  OSPF_AREA: 514,
  IGP_ROUTER_ID: 515,
  BGP_ROUTER_ID: 516,
  MEMBER_ASN: 517,
  IGP_METRIC: 1095,
  LINK_NAME: 1098,
} as const;

/** A TLV kept as received (type and value bytes). */
export interface Tlv {
  type: number;
  value: Uint8Array;
}

/**
 * Node Descriptors (TLV 256 local, 257 remote; RFC 9552 §5.2.1.4, RFC 9086 §4.2).
 * Every field is optional on the wire; at most one of each.
 */
export interface NodeDescriptor {
  /** 512 Autonomous System, 4 octets. */
  asn?: number;
  /**
   * 513 BGP-LS Identifier, 4 octets (deprecated by RFC 9552 §5.2.1.4). Kept
   * when received; matching code ignores it (some encoders add a 0).
   */
  bgpLsId?: number;
  /** 514 OSPF Area-ID, 4 octets. */
  ospfArea?: number;
  /** 515 IGP Router-ID: 4, 6, 7 or 8 octets (IS-IS / OSPF, pseudonode or not). */
  igpRouterId?: Uint8Array;
  /** 516 BGP Router-ID (RFC 9086 §4.2), dotted quad. */
  bgpRouterId?: string;
  /** 517 Member-ASN (RFC 9086 §4.2), 4 octets. */
  memberAsn?: number;
  /** Other sub-TLVs, byte-exact, sorted by type then value. */
  unknown?: Tlv[];
}

/** Link Descriptors (RFC 9552 §5.2.2). */
export interface LinkDescriptor {
  /** 258 Link Local/Remote Identifiers, 4 octets each. */
  linkIds?: { local: number; remote: number };
  /** 259 IPv4 interface address. */
  ipv4Interface?: string;
  /** 260 IPv4 neighbor address. */
  ipv4Neighbor?: string;
  /** 261 IPv6 interface address. */
  ipv6Interface?: string;
  /** 262 IPv6 neighbor address. */
  ipv6Neighbor?: string;
  /** 263 Multi-Topology Identifiers, the 16-bit fields as sent (MT-ID in the low 12 bits). */
  multiTopology?: number[];
  /** Other TLVs of the link descriptor part, byte-exact, sorted by type then value. */
  unknown?: Tlv[];
}

/** Node NLRI (type 1). */
export interface NodeNlri {
  kind: 'node';
  protocolId: number;
  /** The 8-octet Identifier (instance) field. */
  identifier: bigint;
  local: NodeDescriptor;
  /** TLVs other than 256 after the Node Descriptors (none defined), byte-exact, sorted. */
  unknown?: Tlv[];
}

/** Link NLRI (type 2). */
export interface LinkNlri {
  kind: 'link';
  protocolId: number;
  identifier: bigint;
  local: NodeDescriptor;
  remote: NodeDescriptor;
  link: LinkDescriptor;
}

/**
 * Prefix NLRI (types 3, 4) and unknown NLRI types: kept as received so they
 * can be withdrawn and counted, never interpreted, never forwarded to anyone.
 */
export interface OpaqueNlri {
  kind: 'opaque';
  nlriType: number;
  /** The NLRI value (after the 4-octet type/length header). */
  value: Uint8Array;
}

export type LsNlri = NodeNlri | LinkNlri | OpaqueNlri;

/** The BGP-LS attribute (path attribute 29; RFC 9552 §5.3). */
export interface LsAttribute {
  /** 1095 IGP Metric (RFC 9552 §5.3.2.4); 1-octet metrics are 6 bits. */
  igpMetric?: number;
  /** Octets used for igpMetric on the wire (default 3). */
  igpMetricLength?: 1 | 2 | 3;
  /** 1098 Link Name, 1-255 octets of UTF-8. */
  linkName?: string;
  /** Other TLVs, byte-exact, in received order (encoded sorted by type). */
  unknown?: Tlv[];
}

/**
 * The codec's only error class. `section` names the rule broken ("RFC 9552
 * §5.2.1.4"); the message says what was wrong.
 */
export class BgpLsError extends Error {
  readonly section: string;
  constructor(message: string, section: string) {
    super(`${message} (${section})`);
    this.name = 'BgpLsError';
    this.section = section;
  }
}

/**
 * RFC 9552 §8.2.2 outcome for one problem in a BGP-LS UPDATE. The other
 * families on the session are never touched.
 *  - 'nlri-discard': one malformed NLRI left out; the UPDATE's other NLRI stand.
 *  - 'attribute-discard': the BGP-LS attribute was malformed and dropped; the
 *    NLRI announced with it are in `withdrawn` (treat-as-withdraw).
 *  - 'treat-as-withdraw': src/bgp's RFC 7606 verdict on the UPDATE: every NLRI
 *    announced in it is in `withdrawn`.
 *  - 'afi-safi-disable': the NLRI field cannot be framed (a length overruns):
 *    the rest of it was lost. The session stops using BGP-LS from this peer
 *    (drops its BGP-LS routes); when BGP-LS is the session's only family it
 *    resets the session instead (UPDATE Message Error / Invalid Network
 *    Field, 3/10).
 */
export interface LsProblem {
  action: 'nlri-discard' | 'attribute-discard' | 'treat-as-withdraw' | 'afi-safi-disable';
  /** Where: the MP_REACH or MP_UNREACH NLRI field, the attribute, or the whole UPDATE. */
  where: 'mp-reach' | 'mp-unreach' | 'attribute' | 'update';
  /** Human-readable, names the RFC section. */
  reason: string;
  /** The bytes concerned (the NLRI or the attribute value), for logging. */
  bytes: Uint8Array;
}
