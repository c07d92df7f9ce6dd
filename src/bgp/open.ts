// OPEN message (RFC 4271 §4.2) with optional parameters, including the
// extended optional parameters length (RFC 9072).

import { decodeCapabilities, encodeCapability } from './capabilities.ts';
import { BgpError, type Capability, type OpenMessage } from './types.ts';

const HEADER = 19;

/** Decode the OPEN message `msg` (header included, length already checked). */
export function decodeOpen(msg: Uint8Array): OpenMessage {
  const end = msg.length;
  if (end < 29) throw new BgpError(1, 2, `OPEN too short (${end})`, u16bytes(end));
  const p = HEADER;
  const version = msg[p]!;
  if (version !== 4) {
    // RFC 4271 §6.2: data is the largest supported version number (2 octets).
    throw new BgpError(2, 1, `unsupported BGP version ${version}`, new Uint8Array([0, 4]));
  }
  const myAs = (msg[p + 1]! << 8) | msg[p + 2]!;
  const holdTime = (msg[p + 3]! << 8) | msg[p + 4]!;
  if (holdTime === 1 || holdTime === 2) {
    throw new BgpError(2, 6, `unacceptable hold time ${holdTime} (RFC 4271 §6.2)`);
  }
  const bgpId =
    ((msg[p + 5]! << 24) | (msg[p + 6]! << 16) | (msg[p + 7]! << 8) | msg[p + 8]!) >>> 0;
  if (bgpId === 0) throw new BgpError(2, 3, 'BGP Identifier 0 (RFC 6286 §2.2)');
  const capabilities: Capability[] = [];
  const otherParams: { type: number; value: Uint8Array }[] = [];
  let q = p + 10;
  let optLen = msg[p + 9]!;
  let extended = false;
  // RFC 9072 §2: Non-Ext OP Len 255 and Non-Ext OP Type 255 mark the extended form.
  if (optLen === 255 && end > q && msg[q] === 255) {
    if (end < q + 3) throw new BgpError(2, 0, 'extended optional parameters length truncated');
    extended = true;
    optLen = (msg[q + 1]! << 8) | msg[q + 2]!;
    q += 3;
  }
  if (q + optLen !== end) {
    throw new BgpError(
      2,
      0,
      `optional parameters length ${optLen} does not match the message (${end - q} octets)`,
    );
  }
  const hdr = extended ? 3 : 2;
  while (q < end) {
    if (q + hdr > end) throw new BgpError(2, 0, 'optional parameter header overruns the message');
    const type = msg[q]!;
    const len = extended ? (msg[q + 1]! << 8) | msg[q + 2]! : msg[q + 1]!;
    const vs = q + hdr;
    if (vs + len > end) {
      throw new BgpError(2, 0, `optional parameter ${type} length ${len} overruns the message`);
    }
    if (type === 2) decodeCapabilities(msg, vs, vs + len, capabilities);
    else otherParams.push({ type, value: msg.slice(vs, vs + len) });
    q = vs + len;
  }
  // RFC 7607 §2: AS 0 as the peer AS is Bad Peer AS.
  if (myAs === 0 || capabilities.some((c) => c.kind === 'as4' && c.asn === 0)) {
    throw new BgpError(2, 2, 'peer AS 0 (RFC 7607 §2)', new Uint8Array([0, 0]));
  }
  const m: OpenMessage = {
    type: 'open',
    version,
    myAs,
    holdTime,
    bgpId,
    capabilities,
    otherParams,
  };
  if (extended) m.extendedParams = true;
  return m;
}

function u16bytes(n: number): Uint8Array {
  return new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
}

/** Encode an OPEN message body (after the header). */
export function encodeOpenBody(m: OpenMessage): Uint8Array {
  const caps = m.capabilities.map(encodeCapability);
  // Parameters as (type, value) pairs. Capabilities are packed into as few
  // Capabilities parameters as fit in 255 octets each (RFC 5492 §4).
  const params: { type: number; value: Uint8Array }[] = [];
  let extended = m.extendedParams === true;
  if (!extended) {
    const tooBig =
      m.otherParams.some((o) => o.value.length > 255) || caps.some((c) => c.length > 255);
    let total = m.otherParams.reduce((s, o) => s + 2 + o.value.length, 0);
    total += packCaps(caps, 255).reduce((s, v) => s + 2 + v.length, 0);
    if (total > 255 || tooBig) extended = true;
  }
  if (caps.length > 0) {
    for (const v of extended ? [concat(caps)] : packCaps(caps, 255))
      params.push({ type: 2, value: v });
  }
  for (const o of m.otherParams) params.push(o);
  const hdr = extended ? 3 : 2;
  const optLen = params.reduce((s, x) => s + hdr + x.value.length, 0);
  if (extended && optLen > 65535) throw new RangeError('optional parameters too long');
  const body = new Uint8Array(10 + (extended ? 3 : 0) + optLen);
  body[0] = m.version;
  body[1] = (m.myAs >> 8) & 0xff;
  body[2] = m.myAs & 0xff;
  body[3] = (m.holdTime >> 8) & 0xff;
  body[4] = m.holdTime & 0xff;
  body[5] = m.bgpId >>> 24;
  body[6] = (m.bgpId >>> 16) & 0xff;
  body[7] = (m.bgpId >>> 8) & 0xff;
  body[8] = m.bgpId & 0xff;
  let q = 10;
  if (extended) {
    body[9] = 255;
    body[10] = 255;
    body[11] = optLen >> 8;
    body[12] = optLen & 0xff;
    q = 13;
  } else {
    body[9] = optLen;
  }
  for (const x of params) {
    body[q] = x.type;
    if (extended) {
      body[q + 1] = x.value.length >> 8;
      body[q + 2] = x.value.length & 0xff;
    } else body[q + 1] = x.value.length;
    body.set(x.value, q + hdr);
    q += hdr + x.value.length;
  }
  return body;
}

function packCaps(caps: Uint8Array[], max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let cur: Uint8Array[] = [];
  let size = 0;
  for (const c of caps) {
    if (size + c.length > max && cur.length > 0) {
      out.push(concat(cur));
      cur = [];
      size = 0;
    }
    cur.push(c);
    size += c.length;
  }
  if (cur.length > 0) out.push(concat(cur));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
