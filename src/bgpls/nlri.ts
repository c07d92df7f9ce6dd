// BGP-LS NLRI (RFC 9552 §5.2; RFC 9086 §4 for Protocol-ID 7 and sub-TLVs
// 516/517): Node (1) and Link (2) in full, Prefix (3, 4) and unknown types
// opaque. Pure, no I/O.
//
//   encodeNlri(n)            LsNlri -> bytes (type, length, value); TLVs sorted
//                            by type then value (RFC 9552 §5.1)
//   decodeNlri(b, s?, e?)    one NLRI -> LsNlri; throws BgpLsError only
//   decodeNlriField(raw, where) the NLRI field of MP_REACH/MP_UNREACH ->
//                            { nlri, problems } (RFC 9552 §8.2.2: a malformed
//                            NLRI is left out, the others stand)
//   nlriKey(n)               a string equal for NLRI that match on parsed
//                            fields (TLV order and a 513 of 0 do not count)
//
// Decoding is liberal where real encoders vary: TLVs and sub-TLVs in any order,
// a BGP-LS Identifier (513) of 0 kept but ignored by nlriKey. It is strict on
// framing and field sizes: a TLV overrunning its container, a known (sub-)TLV
// of the wrong length, a duplicate known (sub-)TLV, or a Node/Link NLRI
// without its Node Descriptors is malformed (RFC 9552 §8.2.2 items 3-5).

import { formatIPv4, formatIPv6, parseAddress } from '../bgp/prefix.ts';
import {
  BgpLsError,
  type LinkDescriptor,
  type LinkNlri,
  type LsNlri,
  type LsProblem,
  NLRI_TYPE,
  type NodeDescriptor,
  type NodeNlri,
  TLV,
  type Tlv,
} from './types.ts';

const S_NLRI = 'RFC 9552 §5.2';
const S_NODE = 'RFC 9552 §5.2.1.4';
const S_LINK = 'RFC 9552 §5.2.2';
const S_FAULT = 'RFC 9552 §8.2.2';

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** Compare two TLVs as RFC 9552 §5.1 orders them: type, then value octets left to right. */
export function compareTlv(a: Tlv, b: Tlv): number {
  if (a.type !== b.type) return a.type - b.type;
  const n = Math.min(a.value.length, b.value.length);
  for (let i = 0; i < n; i++) if (a.value[i] !== b.value[i]) return a.value[i]! - b.value[i]!;
  return a.value.length - b.value.length;
}

/** Calls fn(type, valueStart, valueEnd) for each TLV in [s, e); throws when one overruns. */
function eachTlv(
  b: Uint8Array,
  s: number,
  e: number,
  what: string,
  fn: (type: number, vs: number, ve: number) => void,
): void {
  let p = s;
  while (p < e) {
    if (p + 4 > e)
      throw new BgpLsError(`${what}: ${e - p} stray octets after the last TLV`, S_FAULT);
    const type = u16(b, p);
    const len = u16(b, p + 2);
    if (p + 4 + len > e) {
      throw new BgpLsError(`${what}: TLV ${type} length ${len} overruns its container`, S_FAULT);
    }
    fn(type, p + 4, p + 4 + len);
    p += 4 + len;
  }
}

function needLen(type: number, got: number, ok: readonly number[], section: string): void {
  if (!ok.includes(got)) {
    throw new BgpLsError(`TLV ${type} length ${got}, expected ${ok.join(' or ')}`, section);
  }
}

// ---------------------------------------------------------------- decoding

function decodeNodeDescriptor(b: Uint8Array, s: number, e: number, which: number): NodeDescriptor {
  const d: NodeDescriptor = {};
  const seen = new Set<number>();
  eachTlv(b, s, e, `Node Descriptors ${which}`, (type, vs, ve) => {
    const len = ve - vs;
    if (type >= TLV.AS && type <= TLV.MEMBER_ASN) {
      if (seen.has(type)) {
        throw new BgpLsError(`Node Descriptors ${which}: sub-TLV ${type} twice`, S_NODE);
      }
      seen.add(type);
    }
    switch (type) {
      case TLV.AS:
        needLen(type, len, [4], S_NODE);
        d.asn = u32(b, vs);
        break;
      case TLV.BGP_LS_ID:
        needLen(type, len, [4], S_NODE);
        d.bgpLsId = u32(b, vs);
        break;
      case TLV.OSPF_AREA:
        needLen(type, len, [4], S_NODE);
        d.ospfArea = u32(b, vs);
        break;
      case TLV.IGP_ROUTER_ID:
        needLen(type, len, [4, 6, 7, 8], S_NODE);
        d.igpRouterId = b.slice(vs, ve);
        break;
      case TLV.BGP_ROUTER_ID:
        needLen(type, len, [4], 'RFC 9086 §4.2');
        d.bgpRouterId = formatIPv4(b, vs);
        break;
      case TLV.MEMBER_ASN:
        needLen(type, len, [4], 'RFC 9086 §4.2');
        d.memberAsn = u32(b, vs);
        break;
      default:
        (d.unknown ??= []).push({ type, value: b.slice(vs, ve) });
    }
  });
  d.unknown?.sort(compareTlv);
  return d;
}

function decodeLinkTlv(
  d: LinkDescriptor,
  b: Uint8Array,
  type: number,
  vs: number,
  ve: number,
): void {
  const len = ve - vs;
  switch (type) {
    case TLV.LINK_IDS:
      needLen(type, len, [8], S_LINK);
      d.linkIds = { local: u32(b, vs), remote: u32(b, vs + 4) };
      break;
    case TLV.IPV4_INTERFACE:
      needLen(type, len, [4], S_LINK);
      d.ipv4Interface = formatIPv4(b, vs);
      break;
    case TLV.IPV4_NEIGHBOR:
      needLen(type, len, [4], S_LINK);
      d.ipv4Neighbor = formatIPv4(b, vs);
      break;
    case TLV.IPV6_INTERFACE:
      needLen(type, len, [16], S_LINK);
      d.ipv6Interface = formatIPv6(b, vs);
      break;
    case TLV.IPV6_NEIGHBOR:
      needLen(type, len, [16], S_LINK);
      d.ipv6Neighbor = formatIPv6(b, vs);
      break;
    case TLV.MULTI_TOPOLOGY: {
      if (len === 0 || len % 2 !== 0) {
        throw new BgpLsError(`TLV 263 length ${len}, expected a positive multiple of 2`, S_LINK);
      }
      const ids: number[] = [];
      for (let p = vs; p < ve; p += 2) ids.push(u16(b, p));
      d.multiTopology = ids;
      break;
    }
    default:
      (d.unknown ??= []).push({ type, value: b.slice(vs, ve) });
  }
}

function readIdentifier(b: Uint8Array, p: number): bigint {
  return (BigInt(u32(b, p)) << 32n) | BigInt(u32(b, p + 4));
}

/**
 * Decode one NLRI (4-octet type/length header included) at [s, e); the NLRI
 * must fill the range exactly. Throws BgpLsError, nothing else.
 */
export function decodeNlri(b: Uint8Array, s = 0, e = b.length): LsNlri {
  if (e - s < 4) throw new BgpLsError(`NLRI of ${e - s} octets, shorter than its header`, S_FAULT);
  const nlriType = u16(b, s);
  const len = u16(b, s + 2);
  if (s + 4 + len !== e) {
    throw new BgpLsError(
      `NLRI length ${len} does not match the ${e - s - 4} octets given`,
      S_FAULT,
    );
  }
  const vs = s + 4;
  if (nlriType !== NLRI_TYPE.NODE && nlriType !== NLRI_TYPE.LINK) {
    return { kind: 'opaque', nlriType, value: b.slice(vs, e) };
  }
  if (len < 9) throw new BgpLsError(`NLRI type ${nlriType} value of ${len} octets`, S_NLRI);
  const protocolId = b[vs]!;
  const identifier = readIdentifier(b, vs + 1);
  let local: NodeDescriptor | null = null;
  let remote: NodeDescriptor | null = null;
  const link: LinkDescriptor = {};
  const seen = new Set<number>();
  eachTlv(b, vs + 9, e, `NLRI type ${nlriType}`, (type, ts, te) => {
    const known =
      type === TLV.LOCAL_NODE ||
      type === TLV.REMOTE_NODE ||
      (type >= TLV.LINK_IDS && type <= TLV.MULTI_TOPOLOGY);
    if (known) {
      if (seen.has(type)) throw new BgpLsError(`TLV ${type} twice in one NLRI`, S_NLRI);
      seen.add(type);
    }
    if (type === TLV.LOCAL_NODE) local = decodeNodeDescriptor(b, ts, te, type);
    else if (type === TLV.REMOTE_NODE && nlriType === NLRI_TYPE.LINK) {
      remote = decodeNodeDescriptor(b, ts, te, type);
    } else if (nlriType === NLRI_TYPE.LINK) decodeLinkTlv(link, b, type, ts, te);
    else throw new BgpLsError(`Node NLRI with TLV ${type}`, S_NLRI);
  });
  if (local === null) {
    throw new BgpLsError(`NLRI type ${nlriType} without Local Node Descriptors (256)`, S_NLRI);
  }
  if (nlriType === NLRI_TYPE.NODE) {
    const n: NodeNlri = { kind: 'node', protocolId, identifier, local };
    return n;
  }
  if (remote === null) {
    throw new BgpLsError('Link NLRI without Remote Node Descriptors (257)', S_NLRI);
  }
  link.unknown?.sort(compareTlv);
  const l: LinkNlri = { kind: 'link', protocolId, identifier, local, remote, link };
  return l;
}

/**
 * Split and decode the NLRI field of an MP_REACH_NLRI / MP_UNREACH_NLRI
 * (RFC 9552 §8.2.2): a malformed NLRI whose length fits is left out with an
 * 'nlri-discard' problem and the next one is read; a length overrunning the
 * field ends the reading with an 'afi-safi-disable' problem (the NLRI before
 * it are returned). Never throws.
 */
export function decodeNlriField(
  raw: Uint8Array,
  where: 'mp-reach' | 'mp-unreach',
): { nlri: LsNlri[]; problems: LsProblem[] } {
  const nlri: LsNlri[] = [];
  const problems: LsProblem[] = [];
  let p = 0;
  while (p < raw.length) {
    if (p + 4 > raw.length || p + 4 + u16(raw, p + 2) > raw.length) {
      problems.push({
        action: 'afi-safi-disable',
        where,
        reason: `NLRI at octet ${p} overruns the ${where} NLRI field of ${raw.length} octets (${S_FAULT})`,
        bytes: raw.slice(p),
      });
      break;
    }
    const e = p + 4 + u16(raw, p + 2);
    try {
      nlri.push(decodeNlri(raw, p, e));
    } catch (err) {
      problems.push({
        action: 'nlri-discard',
        where,
        reason: `malformed NLRI discarded: ${err instanceof Error ? err.message : String(err)}`,
        bytes: raw.slice(p, e),
      });
    }
    p = e;
  }
  return { nlri, problems };
}

// ---------------------------------------------------------------- encoding

function tlv(type: number, value: Uint8Array): Tlv {
  return { type, value };
}

function u32Bytes(v: number, what: string): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new BgpLsError(`${what} ${v} is not a 32-bit unsigned integer`, S_NLRI);
  }
  return new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}

function addressBytes(text: string, octets: 4 | 16, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = parseAddress(text).bytes;
  } catch (err) {
    throw new BgpLsError(`${what}: ${err instanceof Error ? err.message : String(err)}`, S_LINK);
  }
  if (bytes.length !== octets) {
    throw new BgpLsError(`${what} ${text} is not an IPv${octets === 4 ? 4 : 6} address`, S_LINK);
  }
  return bytes;
}

/** Serialise TLVs sorted as RFC 9552 §5.1 requires. */
function writeTlvs(list: Tlv[]): Uint8Array {
  list.sort(compareTlv);
  let n = 0;
  for (const t of list) {
    if (t.value.length > 0xffff) throw new BgpLsError(`TLV ${t.type} value too long`, S_NLRI);
    n += 4 + t.value.length;
  }
  const out = new Uint8Array(n);
  let p = 0;
  for (const t of list) {
    out[p] = t.type >> 8;
    out[p + 1] = t.type & 0xff;
    out[p + 2] = t.value.length >> 8;
    out[p + 3] = t.value.length & 0xff;
    out.set(t.value, p + 4);
    p += 4 + t.value.length;
  }
  return out;
}

function nodeDescriptorTlvs(d: NodeDescriptor): Tlv[] {
  const l: Tlv[] = [];
  if (d.asn !== undefined) l.push(tlv(TLV.AS, u32Bytes(d.asn, 'AS')));
  if (d.bgpLsId !== undefined) l.push(tlv(TLV.BGP_LS_ID, u32Bytes(d.bgpLsId, 'BGP-LS Identifier')));
  if (d.ospfArea !== undefined) l.push(tlv(TLV.OSPF_AREA, u32Bytes(d.ospfArea, 'OSPF Area')));
  if (d.igpRouterId !== undefined) {
    needLen(TLV.IGP_ROUTER_ID, d.igpRouterId.length, [4, 6, 7, 8], S_NODE);
    l.push(tlv(TLV.IGP_ROUTER_ID, d.igpRouterId));
  }
  if (d.bgpRouterId !== undefined) {
    l.push(tlv(TLV.BGP_ROUTER_ID, addressBytes(d.bgpRouterId, 4, 'BGP Router-ID')));
  }
  if (d.memberAsn !== undefined) l.push(tlv(TLV.MEMBER_ASN, u32Bytes(d.memberAsn, 'Member-ASN')));
  for (const u of d.unknown ?? []) l.push(u);
  return l;
}

function linkDescriptorTlvs(d: LinkDescriptor): Tlv[] {
  const l: Tlv[] = [];
  if (d.linkIds !== undefined) {
    const v = new Uint8Array(8);
    v.set(u32Bytes(d.linkIds.local, 'Link Local Identifier'), 0);
    v.set(u32Bytes(d.linkIds.remote, 'Link Remote Identifier'), 4);
    l.push(tlv(TLV.LINK_IDS, v));
  }
  if (d.ipv4Interface !== undefined) {
    l.push(tlv(TLV.IPV4_INTERFACE, addressBytes(d.ipv4Interface, 4, 'IPv4 interface address')));
  }
  if (d.ipv4Neighbor !== undefined) {
    l.push(tlv(TLV.IPV4_NEIGHBOR, addressBytes(d.ipv4Neighbor, 4, 'IPv4 neighbor address')));
  }
  if (d.ipv6Interface !== undefined) {
    l.push(tlv(TLV.IPV6_INTERFACE, addressBytes(d.ipv6Interface, 16, 'IPv6 interface address')));
  }
  if (d.ipv6Neighbor !== undefined) {
    l.push(tlv(TLV.IPV6_NEIGHBOR, addressBytes(d.ipv6Neighbor, 16, 'IPv6 neighbor address')));
  }
  if (d.multiTopology !== undefined) {
    const ids = d.multiTopology;
    if (ids.length === 0) throw new BgpLsError('TLV 263 without an MT-ID', S_LINK);
    const v = new Uint8Array(2 * ids.length);
    ids.forEach((x, i) => {
      if (!Number.isInteger(x) || x < 0 || x > 0xffff) {
        throw new BgpLsError(`MT-ID field ${x} is not 16 bits`, S_LINK);
      }
      v[2 * i] = x >> 8;
      v[2 * i + 1] = x & 0xff;
    });
    l.push(tlv(TLV.MULTI_TOPOLOGY, v));
  }
  for (const u of d.unknown ?? []) l.push(u);
  return l;
}

/** Encode one NLRI (type, length, value). Throws BgpLsError on values that cannot be sent. */
export function encodeNlri(n: LsNlri): Uint8Array {
  let value: Uint8Array;
  let type: number;
  if (n.kind === 'opaque') {
    type = n.nlriType;
    value = n.value;
  } else {
    if (!Number.isInteger(n.protocolId) || n.protocolId < 0 || n.protocolId > 255) {
      throw new BgpLsError(`Protocol-ID ${n.protocolId} is not one octet`, S_NLRI);
    }
    if (n.identifier < 0n || n.identifier > 0xffffffffffffffffn) {
      throw new BgpLsError(`Identifier ${n.identifier} is not 64 bits`, S_NLRI);
    }
    const top: Tlv[] = [tlv(TLV.LOCAL_NODE, writeTlvs(nodeDescriptorTlvs(n.local)))];
    if (n.kind === 'link') {
      top.push(tlv(TLV.REMOTE_NODE, writeTlvs(nodeDescriptorTlvs(n.remote))));
      top.push(...linkDescriptorTlvs(n.link));
    }
    const body = writeTlvs(top);
    type = n.kind === 'node' ? NLRI_TYPE.NODE : NLRI_TYPE.LINK;
    value = new Uint8Array(9 + body.length);
    value[0] = n.protocolId;
    const id = n.identifier;
    for (let i = 0; i < 8; i++) value[1 + i] = Number((id >> BigInt(56 - 8 * i)) & 0xffn);
    value.set(body, 9);
  }
  if (value.length > 0xffff) throw new BgpLsError('NLRI too long', S_NLRI);
  const out = new Uint8Array(4 + value.length);
  out[0] = type >> 8;
  out[1] = type & 0xff;
  out[2] = value.length >> 8;
  out[3] = value.length & 0xff;
  out.set(value, 4);
  return out;
}

/**
 * A key equal for two NLRI that match on parsed fields: the canonical
 * encoding in hex, without a BGP-LS Identifier (513) of 0.
 */
export function nlriKey(n: LsNlri): string {
  if (n.kind === 'opaque') return Buffer.from(encodeNlri(n)).toString('hex');
  const strip = (d: NodeDescriptor): NodeDescriptor => {
    if (d.bgpLsId !== 0) return d;
    const { bgpLsId: _, ...rest } = d;
    return rest;
  };
  const c: LsNlri =
    n.kind === 'node'
      ? { ...n, local: strip(n.local) }
      : { ...n, local: strip(n.local), remote: strip(n.remote) };
  return Buffer.from(encodeNlri(c)).toString('hex');
}
