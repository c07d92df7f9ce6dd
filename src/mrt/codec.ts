// MRT (RFC 6396) records written by ixrs: TABLE_DUMP_V2 (type 13)
// PEER_INDEX_TABLE and RIB_IPV4_UNICAST / RIB_IPV6_UNICAST, and BGP4MP (type
// 16) BGP4MP_MESSAGE_AS4 and BGP4MP_STATE_CHANGE_AS4. Encoders only, plus a
// decoder of the same subset (tests, and whoever wants to read ixrs' files
// back); anything else raises MrtError.

import { encodeAttributes } from '../bgp/attributes.ts';
import { formatAddress, parseAddress, parsePrefix } from '../bgp/prefix.ts';
import type { PathAttributes } from '../bgp/types.ts';

export const MRT_TYPE = { TABLE_DUMP_V2: 13, BGP4MP: 16 } as const;
export const TD2 = { PEER_INDEX_TABLE: 1, RIB_IPV4_UNICAST: 2, RIB_IPV6_UNICAST: 4 } as const;
export const BGP4MP = { STATE_CHANGE_AS4: 5, MESSAGE_AS4: 4 } as const;

/** RFC 6396 §4.4.2 peer entry. */
export interface MrtPeer {
  bgpId: number;
  address: string;
  asn: number;
}

/** One path of a RIB entry (RFC 6396 §4.3.4). */
export interface MrtRibEntry {
  peerIndex: number;
  /** Seconds since the epoch. */
  originated: number;
  /** The path attribute section as written: RFC 6396 §4.3.4 (MP_REACH_NLRI holds only the next hop). */
  attributes: Uint8Array;
}

export class MrtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MrtError';
  }
}

class Out {
  buf: Uint8Array;
  dv: DataView;
  n = 0;
  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
  }
  private need(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }
  u8(v: number): void {
    this.need(1);
    this.buf[this.n++] = v;
  }
  u16(v: number): void {
    this.need(2);
    this.dv.setUint16(this.n, v);
    this.n += 2;
  }
  u32(v: number): void {
    this.need(4);
    this.dv.setUint32(this.n, v >>> 0);
    this.n += 4;
  }
  bytes(b: Uint8Array): void {
    this.need(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

/** The 12-octet MRT common header (RFC 6396 §2) and the message. */
export function mrtRecord(
  timestamp: number,
  type: number,
  subtype: number,
  body: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, Math.floor(timestamp) >>> 0);
  dv.setUint16(4, type);
  dv.setUint16(6, subtype);
  dv.setUint32(8, body.length);
  out.set(body, 12);
  return out;
}

/** RFC 6396 §4.3.1 PEER_INDEX_TABLE; every peer written with a 4-octet AS. */
export function peerIndexTable(
  timestamp: number,
  collectorBgpId: number,
  viewName: string,
  peers: readonly MrtPeer[],
): Uint8Array {
  if (peers.length > 0xffff) throw new MrtError(`too many peers for one table: ${peers.length}`);
  const o = new Out(64 + peers.length * 24);
  o.u32(collectorBgpId);
  const name = Buffer.from(viewName, 'utf8');
  o.u16(name.length);
  o.bytes(name);
  o.u16(peers.length);
  for (const p of peers) {
    const a = parseAddress(p.address).bytes;
    // Peer Type: bit 0 (0x01) IPv6 address, bit 1 (0x02) 4-octet AS.
    o.u8((a.length === 16 ? 1 : 0) | 2);
    o.u32(p.bgpId);
    o.bytes(a);
    o.u32(p.asn);
  }
  return mrtRecord(timestamp, MRT_TYPE.TABLE_DUMP_V2, TD2.PEER_INDEX_TABLE, o.done());
}

/**
 * The attribute section of a RIB entry (RFC 6396 §4.3.4): 4-octet AS_PATH; for
 * IPv4 the NEXT_HOP attribute, for IPv6 an MP_REACH_NLRI carrying only the
 * next-hop length and address(es).
 */
export function ribAttributes(
  attrs: PathAttributes,
  afi: number,
  nextHop: { global: string; linkLocal?: string },
): Uint8Array {
  const nhBytes = parseAddress(nextHop.global).bytes;
  if (afi === 1 && nhBytes.length === 4) {
    return encodeAttributes({ ...attrs, nextHop: nextHop.global }, true);
  }
  const base = encodeAttributes({ ...attrs, nextHop: undefined }, true);
  const ll = nextHop.linkLocal === undefined ? null : parseAddress(nextHop.linkLocal).bytes;
  const nhLen = nhBytes.length + (ll?.length ?? 0);
  // MP_REACH_NLRI (14), optional non-transitive, abbreviated value.
  const mp = new Uint8Array(3 + 1 + nhLen);
  mp[0] = 0x80;
  mp[1] = 14;
  mp[2] = 1 + nhLen;
  mp[3] = nhLen;
  mp.set(nhBytes, 4);
  if (ll !== null) mp.set(ll, 4 + nhBytes.length);
  const out = new Uint8Array(mp.length + base.length);
  out.set(mp, 0);
  out.set(base, mp.length);
  return out;
}

/** RFC 6396 §4.3.2 RIB_IPV4_UNICAST / RIB_IPV6_UNICAST for one prefix. */
export function ribRecord(
  timestamp: number,
  sequence: number,
  prefix: string,
  entries: readonly MrtRibEntry[],
): Uint8Array {
  const p = parsePrefix(prefix);
  if (entries.length > 0xffff) throw new MrtError(`too many paths for ${prefix}`);
  let size = 7 + ((p.len + 7) >> 3);
  for (const e of entries) size += 8 + e.attributes.length;
  const o = new Out(size);
  o.u32(sequence);
  o.u8(p.len);
  o.bytes(p.bytes.subarray(0, (p.len + 7) >> 3));
  o.u16(entries.length);
  for (const e of entries) {
    if (e.attributes.length > 0xffff) throw new MrtError(`attributes too long for ${prefix}`);
    o.u16(e.peerIndex);
    o.u32(e.originated);
    o.u16(e.attributes.length);
    o.bytes(e.attributes);
  }
  return mrtRecord(
    timestamp,
    MRT_TYPE.TABLE_DUMP_V2,
    p.afi === 1 ? TD2.RIB_IPV4_UNICAST : TD2.RIB_IPV6_UNICAST,
    o.done(),
  );
}

export interface Bgp4mpEndpoints {
  peerAs: number;
  localAs: number;
  peerAddress: string;
  localAddress: string;
}

function bgp4mpHead(o: Out, e: Bgp4mpEndpoints): void {
  const peer = parseAddress(e.peerAddress).bytes;
  const local = parseAddress(e.localAddress).bytes;
  if (peer.length !== local.length) {
    throw new MrtError(`peer ${e.peerAddress} and local ${e.localAddress} differ in family`);
  }
  o.u32(e.peerAs);
  o.u32(e.localAs);
  o.u16(0); // interface index
  o.u16(peer.length === 4 ? 1 : 2);
  o.bytes(peer);
  o.bytes(local);
}

/** RFC 6396 §4.4.3 BGP4MP_MESSAGE_AS4: a whole BGP message (header included) as exchanged. */
export function bgp4mpMessage(
  timestamp: number,
  e: Bgp4mpEndpoints,
  message: Uint8Array,
): Uint8Array {
  const o = new Out(44 + message.length);
  bgp4mpHead(o, e);
  o.bytes(message);
  return mrtRecord(timestamp, MRT_TYPE.BGP4MP, BGP4MP.MESSAGE_AS4, o.done());
}

/** RFC 6396 §4.4.4 BGP4MP_STATE_CHANGE_AS4; states numbered as RFC 6396 §4.4.1 (1 Idle .. 6 Established). */
export function bgp4mpStateChange(
  timestamp: number,
  e: Bgp4mpEndpoints,
  oldState: number,
  newState: number,
): Uint8Array {
  const o = new Out(48);
  bgp4mpHead(o, e);
  o.u16(oldState);
  o.u16(newState);
  return mrtRecord(timestamp, MRT_TYPE.BGP4MP, BGP4MP.STATE_CHANGE_AS4, o.done());
}

export const FSM_STATE_NUMBER: Readonly<Record<string, number>> = {
  Idle: 1,
  Connect: 2,
  Active: 3,
  OpenSent: 4,
  OpenConfirm: 5,
  Established: 6,
};

// ---------------------------------------------------------------- decoding

export type MrtDecoded =
  | {
      kind: 'peer-index';
      timestamp: number;
      collectorBgpId: number;
      viewName: string;
      peers: MrtPeer[];
    }
  | {
      kind: 'rib';
      timestamp: number;
      afi: 1 | 2;
      sequence: number;
      prefix: { len: number; bytes: Uint8Array };
      entries: MrtRibEntry[];
    }
  | { kind: 'bgp4mp-message'; timestamp: number; endpoints: Bgp4mpEndpoints; message: Uint8Array }
  | {
      kind: 'bgp4mp-state';
      timestamp: number;
      endpoints: Bgp4mpEndpoints;
      oldState: number;
      newState: number;
    };

class In {
  readonly b: Uint8Array;
  readonly dv: DataView;
  p: number;
  readonly end: number;
  constructor(b: Uint8Array, p: number, end: number) {
    this.b = b;
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.p = p;
    this.end = end;
  }
  private need(k: number): void {
    if (this.p + k > this.end) throw new MrtError(`record truncated at offset ${this.p}`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.p++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.p);
    this.p += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.p);
    this.p += 4;
    return v;
  }
  bytes(k: number): Uint8Array {
    this.need(k);
    const v = this.b.slice(this.p, this.p + k);
    this.p += k;
    return v;
  }
}

function endpoints(r: In): Bgp4mpEndpoints {
  const peerAs = r.u32();
  const localAs = r.u32();
  r.u16();
  const afi = r.u16();
  if (afi !== 1 && afi !== 2) throw new MrtError(`BGP4MP address family ${afi}`);
  const n = afi === 1 ? 4 : 16;
  return {
    peerAs,
    localAs,
    peerAddress: formatAddress(r.bytes(n)),
    localAddress: formatAddress(r.bytes(n)),
  };
}

/** Decode every record of a file's bytes (the subset ixrs writes). */
export function decodeMrt(data: Uint8Array): MrtDecoded[] {
  const out: MrtDecoded[] = [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  while (p < data.length) {
    if (p + 12 > data.length) throw new MrtError(`header truncated at offset ${p}`);
    const timestamp = dv.getUint32(p);
    const type = dv.getUint16(p + 4);
    const subtype = dv.getUint16(p + 6);
    const len = dv.getUint32(p + 8);
    const end = p + 12 + len;
    if (end > data.length) throw new MrtError(`record at offset ${p} runs past the end`);
    const r = new In(data, p + 12, end);
    if (type === MRT_TYPE.TABLE_DUMP_V2 && subtype === TD2.PEER_INDEX_TABLE) {
      const collectorBgpId = r.u32();
      const viewName = Buffer.from(r.bytes(r.u16())).toString('utf8');
      const n = r.u16();
      const peers: MrtPeer[] = [];
      for (let i = 0; i < n; i++) {
        const t = r.u8();
        const bgpId = r.u32();
        const address = formatAddress(r.bytes(t & 1 ? 16 : 4));
        const asn = t & 2 ? r.u32() : r.u16();
        peers.push({ bgpId, address, asn });
      }
      out.push({ kind: 'peer-index', timestamp, collectorBgpId, viewName, peers });
    } else if (
      type === MRT_TYPE.TABLE_DUMP_V2 &&
      (subtype === TD2.RIB_IPV4_UNICAST || subtype === TD2.RIB_IPV6_UNICAST)
    ) {
      const afi = subtype === TD2.RIB_IPV4_UNICAST ? 1 : 2;
      const sequence = r.u32();
      const plen = r.u8();
      if (plen > (afi === 1 ? 32 : 128)) throw new MrtError(`prefix length ${plen}`);
      const bytes = new Uint8Array(afi === 1 ? 4 : 16);
      bytes.set(r.bytes((plen + 7) >> 3));
      const n = r.u16();
      const entries: MrtRibEntry[] = [];
      for (let i = 0; i < n; i++) {
        const peerIndex = r.u16();
        const originated = r.u32();
        const attributes = r.bytes(r.u16());
        entries.push({ peerIndex, originated, attributes });
      }
      out.push({ kind: 'rib', timestamp, afi, sequence, prefix: { len: plen, bytes }, entries });
    } else if (type === MRT_TYPE.BGP4MP && subtype === BGP4MP.MESSAGE_AS4) {
      const e = endpoints(r);
      out.push({ kind: 'bgp4mp-message', timestamp, endpoints: e, message: r.bytes(end - r.p) });
    } else if (type === MRT_TYPE.BGP4MP && subtype === BGP4MP.STATE_CHANGE_AS4) {
      const e = endpoints(r);
      out.push({
        kind: 'bgp4mp-state',
        timestamp,
        endpoints: e,
        oldState: r.u16(),
        newState: r.u16(),
      });
    } else {
      throw new MrtError(`MRT type ${type} subtype ${subtype} is not one ixrs writes`);
    }
    if (r.p !== end) throw new MrtError(`record at offset ${p} has ${end - r.p} octets left over`);
    p = end;
  }
  return out;
}
