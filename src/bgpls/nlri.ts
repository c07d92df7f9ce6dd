// BGP-LS NLRI (RFC 9552 §5.2; RFC 9086 §4 for Protocol-ID 7 and sub-TLVs
// 516/517): Node (1) and Link (2) in full, Prefix (3, 4) and unknown types
// opaque. Pure, no I/O.
//
//   encodeNlri(n)            LsNlri -> bytes (type, length, value); TLVs sorted
//                            by type then value (RFC 9552 §5.1)
//   encodeNlriView(n)        the same as a view into a scratch buffer, valid
//                            until the next call (the packer in update.ts)
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
// TLVs with no meaning at their place are kept byte-exact in `unknown`.

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

/**
 * Checks the TLV header at p inside [p, e) and returns where its value ends;
 * throws when the header or the value overruns (RFC 9552 §8.2.2).
 */
function tlvEnd(b: Uint8Array, p: number, e: number, what: string): number {
  if (p + 4 > e) throw new BgpLsError(`${what}: ${e - p} stray octets after the last TLV`, S_FAULT);
  const end = p + 4 + u16(b, p + 2);
  if (end > e) {
    throw new BgpLsError(
      `${what}: TLV ${u16(b, p)} length ${u16(b, p + 2)} overruns its container`,
      S_FAULT,
    );
  }
  return end;
}

function needLen(type: number, got: number, want: number, section: string): void {
  if (got !== want) throw new BgpLsError(`TLV ${type} length ${got}, expected ${want}`, section);
}

function needIgpRouterIdLen(got: number): void {
  if (got !== 4 && got !== 6 && got !== 7 && got !== 8) {
    throw new BgpLsError(`TLV 515 length ${got}, expected 4, 6, 7 or 8`, S_NODE);
  }
}

// ---------------------------------------------------------------- decoding

function decodeNodeDescriptor(b: Uint8Array, s: number, e: number, which: number): NodeDescriptor {
  const d: NodeDescriptor = {};
  let seen = 0; // bit (type - 512) for 512-517
  for (let p = s; p < e; ) {
    const ve = tlvEnd(b, p, e, `Node Descriptors ${which}`);
    const type = u16(b, p);
    const vs = p + 4;
    const len = ve - vs;
    p = ve;
    if (type >= TLV.AS && type <= TLV.MEMBER_ASN) {
      const bit = 1 << (type - TLV.AS);
      if (seen & bit) {
        throw new BgpLsError(`Node Descriptors ${which}: sub-TLV ${type} twice`, S_NODE);
      }
      seen |= bit;
    }
    switch (type) {
      case TLV.AS:
        needLen(type, len, 4, S_NODE);
        d.asn = u32(b, vs);
        break;
      case TLV.BGP_LS_ID:
        needLen(type, len, 4, S_NODE);
        d.bgpLsId = u32(b, vs);
        break;
      case TLV.OSPF_AREA:
        needLen(type, len, 4, S_NODE);
        d.ospfArea = u32(b, vs);
        break;
      case TLV.IGP_ROUTER_ID:
        needIgpRouterIdLen(len);
        d.igpRouterId = b.slice(vs, ve);
        break;
      case TLV.BGP_ROUTER_ID:
        needLen(type, len, 4, 'RFC 9086 §4.2');
        d.bgpRouterId = formatIPv4(b, vs);
        break;
      case TLV.MEMBER_ASN:
        needLen(type, len, 4, 'RFC 9086 §4.2');
        d.memberAsn = u32(b, vs);
        break;
      default:
        (d.unknown ??= []).push({ type, value: b.slice(vs, ve) });
    }
  }
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
      needLen(type, len, 8, S_LINK);
      d.linkIds = { local: u32(b, vs), remote: u32(b, vs + 4) };
      break;
    case TLV.IPV4_INTERFACE:
      needLen(type, len, 4, S_LINK);
      d.ipv4Interface = formatIPv4(b, vs);
      break;
    case TLV.IPV4_NEIGHBOR:
      needLen(type, len, 4, S_LINK);
      d.ipv4Neighbor = formatIPv4(b, vs);
      break;
    case TLV.IPV6_INTERFACE:
      needLen(type, len, 16, S_LINK);
      d.ipv6Interface = formatIPv6(b, vs);
      break;
    case TLV.IPV6_NEIGHBOR:
      needLen(type, len, 16, S_LINK);
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
  const hi = u32(b, p);
  const lo = u32(b, p + 4);
  if (hi === 0) return lo === 0 ? 0n : BigInt(lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
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
  const nodeUnknown: Tlv[] = [];
  let seen = 0; // bit (type - 256) for 256-263
  for (let p = vs + 9; p < e; ) {
    const te = tlvEnd(b, p, e, `NLRI type ${nlriType}`);
    const type = u16(b, p);
    const ts = p + 4;
    p = te;
    if (type >= TLV.LOCAL_NODE && type <= TLV.MULTI_TOPOLOGY) {
      const bit = 1 << (type - TLV.LOCAL_NODE);
      if (seen & bit) throw new BgpLsError(`TLV ${type} twice in one NLRI`, S_NLRI);
      seen |= bit;
    }
    if (type === TLV.LOCAL_NODE) local = decodeNodeDescriptor(b, ts, te, type);
    else if (nlriType === NLRI_TYPE.NODE) nodeUnknown.push({ type, value: b.slice(ts, te) });
    else if (type === TLV.REMOTE_NODE) remote = decodeNodeDescriptor(b, ts, te, type);
    else decodeLinkTlv(link, b, type, ts, te);
  }
  if (local === null) {
    throw new BgpLsError(`NLRI type ${nlriType} without Local Node Descriptors (256)`, S_NLRI);
  }
  if (nlriType === NLRI_TYPE.NODE) {
    const n: NodeNlri = { kind: 'node', protocolId, identifier, local };
    if (nodeUnknown.length > 0) n.unknown = nodeUnknown.sort(compareTlv);
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
//
// One pass into a scratch buffer (copied out once per NLRI): TLVs are written
// in ascending type order as they are known, unknown ones merged in by type.

const buf = new Uint8Array(4 + 0xffff);
let w = 0;

function room(n: number): void {
  if (w + n > buf.length) throw new BgpLsError('NLRI too long', S_NLRI);
}

function put16(v: number): void {
  room(2);
  buf[w] = v >> 8;
  buf[w + 1] = v & 0xff;
  w += 2;
}

function put32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new BgpLsError(`${what} ${v} is not a 32-bit unsigned integer`, S_NLRI);
  }
  room(4);
  buf[w] = v >>> 24;
  buf[w + 1] = (v >>> 16) & 0xff;
  buf[w + 2] = (v >>> 8) & 0xff;
  buf[w + 3] = v & 0xff;
  w += 4;
}

function putTlv(type: number, value: Uint8Array): void {
  if (value.length > 0xffff) throw new BgpLsError(`TLV ${type} value too long`, S_NLRI);
  put16(type);
  put16(value.length);
  room(value.length);
  buf.set(value, w);
  w += value.length;
}

/** Starts a TLV whose length is filled in by endTlv. */
function startTlv(type: number): number {
  put16(type);
  put16(0);
  return w;
}

function endTlv(start: number): void {
  const len = w - start;
  buf[start - 2] = len >> 8;
  buf[start - 1] = len & 0xff;
}

function putU32Tlv(type: number, v: number, what: string): void {
  put16(type);
  put16(4);
  put32(v, what);
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

/** Writes the unknown TLVs (sorted) whose type is below `below`; returns the next index. */
function flush(unknown: Tlv[] | undefined, i: number, below: number): number {
  if (unknown === undefined) return i;
  while (i < unknown.length && unknown[i]!.type < below) {
    putTlv(unknown[i]!.type, unknown[i]!.value);
    i++;
  }
  return i;
}

function sortedUnknown(list: Tlv[] | undefined): Tlv[] | undefined {
  if (list === undefined || list.length === 0) return undefined;
  return list.length === 1 ? list : [...list].sort(compareTlv);
}

function writeNodeDescriptor(type: number, d: NodeDescriptor): void {
  const start = startTlv(type);
  const u = sortedUnknown(d.unknown);
  let i = 0;
  i = flush(u, i, TLV.AS + 1);
  if (d.asn !== undefined) putU32Tlv(TLV.AS, d.asn, 'AS');
  i = flush(u, i, TLV.BGP_LS_ID + 1);
  if (d.bgpLsId !== undefined) putU32Tlv(TLV.BGP_LS_ID, d.bgpLsId, 'BGP-LS Identifier');
  i = flush(u, i, TLV.OSPF_AREA + 1);
  if (d.ospfArea !== undefined) putU32Tlv(TLV.OSPF_AREA, d.ospfArea, 'OSPF Area');
  i = flush(u, i, TLV.IGP_ROUTER_ID + 1);
  if (d.igpRouterId !== undefined) {
    needIgpRouterIdLen(d.igpRouterId.length);
    putTlv(TLV.IGP_ROUTER_ID, d.igpRouterId);
  }
  i = flush(u, i, TLV.BGP_ROUTER_ID + 1);
  if (d.bgpRouterId !== undefined) {
    putTlv(TLV.BGP_ROUTER_ID, addressBytes(d.bgpRouterId, 4, 'BGP Router-ID'));
  }
  i = flush(u, i, TLV.MEMBER_ASN + 1);
  if (d.memberAsn !== undefined) putU32Tlv(TLV.MEMBER_ASN, d.memberAsn, 'Member-ASN');
  flush(u, i, 0x10000);
  endTlv(start);
}

function writeLinkDescriptor(d: LinkDescriptor, u: Tlv[] | undefined, i: number): void {
  i = flush(u, i, TLV.LINK_IDS + 1);
  if (d.linkIds !== undefined) {
    put16(TLV.LINK_IDS);
    put16(8);
    put32(d.linkIds.local, 'Link Local Identifier');
    put32(d.linkIds.remote, 'Link Remote Identifier');
  }
  i = flush(u, i, TLV.IPV4_INTERFACE + 1);
  if (d.ipv4Interface !== undefined) {
    putTlv(TLV.IPV4_INTERFACE, addressBytes(d.ipv4Interface, 4, 'IPv4 interface address'));
  }
  i = flush(u, i, TLV.IPV4_NEIGHBOR + 1);
  if (d.ipv4Neighbor !== undefined) {
    putTlv(TLV.IPV4_NEIGHBOR, addressBytes(d.ipv4Neighbor, 4, 'IPv4 neighbor address'));
  }
  i = flush(u, i, TLV.IPV6_INTERFACE + 1);
  if (d.ipv6Interface !== undefined) {
    putTlv(TLV.IPV6_INTERFACE, addressBytes(d.ipv6Interface, 16, 'IPv6 interface address'));
  }
  i = flush(u, i, TLV.IPV6_NEIGHBOR + 1);
  if (d.ipv6Neighbor !== undefined) {
    putTlv(TLV.IPV6_NEIGHBOR, addressBytes(d.ipv6Neighbor, 16, 'IPv6 neighbor address'));
  }
  i = flush(u, i, TLV.MULTI_TOPOLOGY + 1);
  if (d.multiTopology !== undefined) {
    const ids = d.multiTopology;
    if (ids.length === 0) throw new BgpLsError('TLV 263 without an MT-ID', S_LINK);
    put16(TLV.MULTI_TOPOLOGY);
    put16(2 * ids.length);
    for (const x of ids) {
      if (!Number.isInteger(x) || x < 0 || x > 0xffff) {
        throw new BgpLsError(`MT-ID field ${x} is not 16 bits`, S_LINK);
      }
      put16(x);
    }
  }
  flush(u, i, 0x10000);
}

/** Encode one NLRI (type, length, value). Throws BgpLsError on values that cannot be sent. */
export function encodeNlri(n: LsNlri): Uint8Array {
  return encodeNlriView(n).slice();
}

/**
 * encodeNlri without the copy: a view into a scratch buffer, valid until the
 * next call (for packers that copy it into a message at once).
 */
export function encodeNlriView(n: LsNlri): Uint8Array {
  w = 0;
  if (n.kind === 'opaque') {
    put16(n.nlriType);
    put16(n.value.length);
    room(n.value.length);
    buf.set(n.value, w);
    w += n.value.length;
    return buf.subarray(0, w);
  }
  if (!Number.isInteger(n.protocolId) || n.protocolId < 0 || n.protocolId > 255) {
    throw new BgpLsError(`Protocol-ID ${n.protocolId} is not one octet`, S_NLRI);
  }
  const id = n.identifier;
  const zero = id === 0n; // the common case, without BigInt arithmetic
  if (!zero && (typeof id !== 'bigint' || id < 0n || id > 0xffffffffffffffffn)) {
    throw new BgpLsError(`Identifier ${id} is not 64 bits`, S_NLRI);
  }
  put16(n.kind === 'node' ? NLRI_TYPE.NODE : NLRI_TYPE.LINK);
  const start = w + 2;
  put16(0);
  buf[w++] = n.protocolId;
  put32(zero ? 0 : Number(id >> 32n), 'Identifier');
  put32(zero ? 0 : Number(id & 0xffffffffn), 'Identifier');
  // Link descriptor unknown TLVs may sort before 256 (types 0-255): write them first.
  const u = sortedUnknown(n.kind === 'link' ? n.link.unknown : n.unknown);
  let i = flush(u, 0, TLV.LOCAL_NODE + 1);
  writeNodeDescriptor(TLV.LOCAL_NODE, n.local);
  if (n.kind === 'link') {
    i = flush(u, i, TLV.REMOTE_NODE + 1);
    writeNodeDescriptor(TLV.REMOTE_NODE, n.remote);
    writeLinkDescriptor(n.link, u, i);
  } else flush(u, i, 0x10000);
  endTlv(start);
  return buf.subarray(0, w);
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
