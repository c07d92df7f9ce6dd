// BMP (RFC 7854) messages ixrs sends to a monitoring station: Initiation,
// Termination, Peer Up, Peer Down and Route Monitoring, with the per-peer
// header's O flag for Adj-RIB-Out (RFC 8671). Encoders, and a decoder of the
// same subset for tests; malformed input raises BmpError.

import { formatAddress, parseAddress } from '../bgp/prefix.ts';

export const BMP_VERSION = 3;
export const BMP_TYPE = {
  ROUTE_MONITORING: 0,
  STATISTICS: 1,
  PEER_DOWN: 2,
  PEER_UP: 3,
  INITIATION: 4,
  TERMINATION: 5,
} as const;

/** RFC 7854 §4.9 Peer Down reasons. */
export const PEER_DOWN = {
  LOCAL_NOTIFICATION: 1,
  LOCAL_NO_NOTIFICATION: 2,
  REMOTE_NOTIFICATION: 3,
  REMOTE_NO_DATA: 4,
  DECONFIGURED: 5,
} as const;

export class BmpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BmpError';
  }
}

/** RFC 7854 §4.2 per-peer header fields. */
export interface PeerHeader {
  address: string;
  asn: number;
  bgpId: number;
  /** ms since the epoch. */
  timestamp: number;
  /** L flag: post-policy (RFC 7854); with `adjRibOut`, post-policy Adj-RIB-Out. */
  postPolicy?: boolean;
  /** O flag (RFC 8671): the routes are Adj-RIB-Out. */
  adjRibOut?: boolean;
}

function message(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + body.length);
  out[0] = BMP_VERSION;
  new DataView(out.buffer).setUint32(1, out.length);
  out[5] = type;
  out.set(body, 6);
  return out;
}

function address16(text: string): Uint8Array {
  const a = parseAddress(text).bytes;
  if (a.length === 16) return a;
  const out = new Uint8Array(16);
  out.set(a, 12);
  return out;
}

function peerHeader(p: PeerHeader): Uint8Array {
  const h = new Uint8Array(42);
  const dv = new DataView(h.buffer);
  const v6 = parseAddress(p.address).bytes.length === 16;
  h[0] = 0; // Global Instance Peer
  h[1] = (v6 ? 0x80 : 0) | (p.postPolicy ? 0x40 : 0) | (p.adjRibOut ? 0x10 : 0);
  // Peer Distinguisher (8 octets) zero for a global instance peer.
  h.set(address16(p.address), 10);
  dv.setUint32(26, p.asn >>> 0);
  dv.setUint32(30, p.bgpId >>> 0);
  dv.setUint32(34, Math.floor(p.timestamp / 1000));
  dv.setUint32(38, (p.timestamp % 1000) * 1000);
  return h;
}

function tlvs(items: readonly [number, Uint8Array][]): Uint8Array {
  const n = items.reduce((a, [, v]) => a + 4 + v.length, 0);
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const [t, v] of items) {
    dv.setUint16(p, t);
    dv.setUint16(p + 2, v.length);
    out.set(v, p + 4);
    p += 4 + v.length;
  }
  return out;
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** RFC 7854 §4.3 Initiation: sysDescr (type 1) and sysName (type 2) are required. */
export function initiation(sysDescr: string, sysName: string): Uint8Array {
  return message(
    BMP_TYPE.INITIATION,
    tlvs([
      [1, utf8(sysDescr)],
      [2, utf8(sysName)],
    ]),
  );
}

/** RFC 7854 §4.5 Termination with a reason code (0 administratively closed) and a string. */
export function termination(reason: number, text: string): Uint8Array {
  const r = new Uint8Array(2);
  new DataView(r.buffer).setUint16(0, reason);
  return message(
    BMP_TYPE.TERMINATION,
    tlvs([
      [0, utf8(text)],
      [1, r],
    ]),
  );
}

/** RFC 7854 §4.10 Peer Up: the OPENs are whole BGP messages (header included). */
export function peerUp(
  p: PeerHeader,
  local: { address: string; port: number },
  remotePort: number,
  sentOpen: Uint8Array,
  receivedOpen: Uint8Array,
): Uint8Array {
  const body = new Uint8Array(42 + 20 + sentOpen.length + receivedOpen.length);
  body.set(peerHeader(p), 0);
  // The local address field takes the peer's family (RFC 7854 §4.10).
  const v6 = parseAddress(p.address).bytes.length === 16;
  const la = parseAddress(local.address).bytes;
  body.set(v6 === (la.length === 16) ? address16(local.address) : new Uint8Array(16), 42);
  const dv = new DataView(body.buffer);
  dv.setUint16(58, local.port);
  dv.setUint16(60, remotePort);
  body.set(sentOpen, 62);
  body.set(receivedOpen, 62 + sentOpen.length);
  return message(BMP_TYPE.PEER_UP, body);
}

/** RFC 7854 §4.9 Peer Down; `data` is the NOTIFICATION (reasons 1, 3) or the FSM event code (2). */
export function peerDown(
  p: PeerHeader,
  reason: number,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const body = new Uint8Array(42 + 1 + data.length);
  body.set(peerHeader(p), 0);
  body[42] = reason;
  body.set(data, 43);
  return message(BMP_TYPE.PEER_DOWN, body);
}

/** RFC 7854 §4.6 Route Monitoring: one whole BGP UPDATE message. */
export function routeMonitoring(p: PeerHeader, update: Uint8Array): Uint8Array {
  const body = new Uint8Array(42 + update.length);
  body.set(peerHeader(p), 0);
  body.set(update, 42);
  return message(BMP_TYPE.ROUTE_MONITORING, body);
}

// ---------------------------------------------------------------- decoding

export interface BmpDecoded {
  type: number;
  peer?: PeerHeader & { flags: number };
  /** Route Monitoring: the UPDATE; Peer Up: the sent and received OPENs; Peer Down: the data. */
  pdus: Uint8Array[];
  tlvs?: [number, Uint8Array][];
  reason?: number;
}

function decodePeer(b: Uint8Array, dv: DataView, p: number): PeerHeader & { flags: number } {
  const flags = b[p + 1]!;
  const addr = b.subarray(p + 10, p + 26);
  return {
    flags,
    address: formatAddress(flags & 0x80 ? addr.slice() : addr.slice(12)),
    asn: dv.getUint32(p + 26),
    bgpId: dv.getUint32(p + 30),
    timestamp: dv.getUint32(p + 34) * 1000 + Math.floor(dv.getUint32(p + 38) / 1000),
    postPolicy: (flags & 0x40) !== 0,
    adjRibOut: (flags & 0x10) !== 0,
  };
}

function bgpLength(b: Uint8Array, p: number, end: number): number {
  if (p + 19 > end) throw new BmpError(`BGP message truncated at ${p}`);
  const len = (b[p + 16]! << 8) | b[p + 17]!;
  if (len < 19 || p + len > end) throw new BmpError(`bad BGP message length ${len} at ${p}`);
  return len;
}

/** Decode a stream of BMP messages (the subset ixrs sends). */
export function decodeBmp(data: Uint8Array): BmpDecoded[] {
  const out: BmpDecoded[] = [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  while (p < data.length) {
    if (p + 6 > data.length) throw new BmpError(`header truncated at ${p}`);
    if (data[p] !== BMP_VERSION) throw new BmpError(`BMP version ${data[p]}`);
    const len = dv.getUint32(p + 1);
    const type = data[p + 5]!;
    const end = p + len;
    if (len < 6 || end > data.length) throw new BmpError(`bad message length ${len} at ${p}`);
    const q = p + 6;
    if (type === BMP_TYPE.INITIATION || type === BMP_TYPE.TERMINATION) {
      const items: [number, Uint8Array][] = [];
      let t = q;
      while (t < end) {
        if (t + 4 > end) throw new BmpError(`TLV truncated at ${t}`);
        const l = dv.getUint16(t + 2);
        if (t + 4 + l > end) throw new BmpError(`TLV runs past the message at ${t}`);
        items.push([dv.getUint16(t), data.slice(t + 4, t + 4 + l)]);
        t += 4 + l;
      }
      out.push({ type, pdus: [], tlvs: items });
    } else if (
      type === BMP_TYPE.ROUTE_MONITORING ||
      type === BMP_TYPE.PEER_UP ||
      type === BMP_TYPE.PEER_DOWN
    ) {
      if (q + 42 > end) throw new BmpError(`per-peer header truncated at ${q}`);
      const peer = decodePeer(data, dv, q);
      let t = q + 42;
      const pdus: Uint8Array[] = [];
      let reason: number | undefined;
      if (type === BMP_TYPE.ROUTE_MONITORING) {
        const l = bgpLength(data, t, end);
        pdus.push(data.slice(t, t + l));
        t += l;
      } else if (type === BMP_TYPE.PEER_UP) {
        if (t + 20 > end) throw new BmpError(`Peer Up truncated at ${t}`);
        t += 20;
        for (let i = 0; i < 2; i++) {
          const l = bgpLength(data, t, end);
          pdus.push(data.slice(t, t + l));
          t += l;
        }
        t = end; // information TLVs, if any
      } else {
        if (t + 1 > end) throw new BmpError(`Peer Down truncated at ${t}`);
        reason = data[t]!;
        pdus.push(data.slice(t + 1, end));
        t = end;
      }
      if (t !== end) throw new BmpError(`${end - t} octets left over in message at ${p}`);
      out.push({ type, peer, pdus, ...(reason !== undefined ? { reason } : {}) });
    } else {
      throw new BmpError(`BMP message type ${type} is not one ixrs sends`);
    }
    p = end;
  }
  return out;
}
