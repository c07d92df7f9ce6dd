// Capabilities Optional Parameter (RFC 5492) and the capabilities ixrs knows.
// Unknown capabilities are kept byte-exact.

import { type AddPathMode, BgpError, type Capability } from './types.ts';

export const CAP = {
  MULTIPROTOCOL: 1,
  ROUTE_REFRESH: 2,
  EXTENDED_NEXT_HOP: 5,
  EXTENDED_MESSAGE: 6,
  GRACEFUL_RESTART: 64,
  AS4: 65,
  ADD_PATH: 69,
  ENHANCED_ROUTE_REFRESH: 70,
} as const;

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}
function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function malformed(code: number, why: string, tlv: Uint8Array): never {
  // RFC 4271 §6.2: a recognized but malformed optional parameter is OPEN
  // Message Error, subcode 0 (Unspecific).
  throw new BgpError(2, 0, `malformed capability ${code}: ${why}`, tlv);
}

/** Decode one capability value. */
export function decodeCapability(code: number, v: Uint8Array): Capability {
  const tlv = (): Uint8Array => {
    const t = new Uint8Array(2 + v.length);
    t[0] = code;
    t[1] = v.length;
    t.set(v, 2);
    return t;
  };
  switch (code) {
    case CAP.MULTIPROTOCOL:
      if (v.length !== 4) malformed(code, `length ${v.length}, expected 4 (RFC 4760 §8)`, tlv());
      return { kind: 'multiprotocol', afi: u16(v, 0), safi: v[3]! };
    case CAP.ROUTE_REFRESH:
      if (v.length !== 0) malformed(code, `length ${v.length}, expected 0 (RFC 2918 §3)`, tlv());
      return { kind: 'route-refresh' };
    case CAP.EXTENDED_NEXT_HOP: {
      if (v.length % 6 !== 0) {
        malformed(code, `length ${v.length} not a multiple of 6 (RFC 8950 §3)`, tlv());
      }
      const entries: { afi: number; safi: number; nextHopAfi: number }[] = [];
      for (let p = 0; p < v.length; p += 6) {
        entries.push({ afi: u16(v, p), safi: u16(v, p + 2), nextHopAfi: u16(v, p + 4) });
      }
      return { kind: 'extended-next-hop', entries };
    }
    case CAP.EXTENDED_MESSAGE:
      if (v.length !== 0) malformed(code, `length ${v.length}, expected 0 (RFC 8654 §3)`, tlv());
      return { kind: 'extended-message' };
    case CAP.GRACEFUL_RESTART: {
      if (v.length < 2 || (v.length - 2) % 4 !== 0) {
        malformed(code, `length ${v.length}, expected 2 + 4n (RFC 4724 §3)`, tlv());
      }
      const h = u16(v, 0);
      const families: { afi: number; safi: number; forwardingPreserved: boolean }[] = [];
      for (let p = 2; p < v.length; p += 4) {
        families.push({
          afi: u16(v, p),
          safi: v[p + 2]!,
          forwardingPreserved: (v[p + 3]! & 0x80) !== 0,
        });
      }
      return {
        kind: 'graceful-restart',
        restarting: (h & 0x8000) !== 0,
        notification: (h & 0x4000) !== 0,
        restartTime: h & 0x0fff,
        families,
      };
    }
    case CAP.AS4:
      if (v.length !== 4) malformed(code, `length ${v.length}, expected 4 (RFC 6793 §3)`, tlv());
      return { kind: 'as4', asn: u32(v, 0) };
    case CAP.ADD_PATH: {
      if (v.length % 4 !== 0) {
        malformed(code, `length ${v.length} not a multiple of 4 (RFC 7911 §4)`, tlv());
      }
      const entries: { afi: number; safi: number; mode: AddPathMode }[] = [];
      for (let p = 0; p < v.length; p += 4) {
        const mode = v[p + 3]!;
        if (mode < 1 || mode > 3) continue; // reserved Send/Receive value: entry ignored
        entries.push({ afi: u16(v, p), safi: v[p + 2]!, mode: mode as AddPathMode });
      }
      return { kind: 'add-path', entries };
    }
    case CAP.ENHANCED_ROUTE_REFRESH:
      if (v.length !== 0) malformed(code, `length ${v.length}, expected 0 (RFC 7313 §3)`, tlv());
      return { kind: 'enhanced-route-refresh' };
    default:
      return { kind: 'unknown', code, value: v.slice() };
  }
}

/** Decode a Capabilities optional parameter value (one or more TLVs). */
export function decodeCapabilities(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Capability[],
): void {
  let p = start;
  while (p < end) {
    if (p + 2 > end) {
      throw new BgpError(2, 0, 'capability header overruns the optional parameter');
    }
    const code = buf[p]!;
    const len = buf[p + 1]!;
    if (p + 2 + len > end) {
      throw new BgpError(2, 0, `capability ${code} length ${len} overruns the optional parameter`);
    }
    out.push(decodeCapability(code, buf.subarray(p + 2, p + 2 + len)));
    p += 2 + len;
  }
}

/** Encode one capability as a TLV (code, length, value). */
export function encodeCapability(c: Capability): Uint8Array {
  let code: number;
  let v: Uint8Array;
  switch (c.kind) {
    case 'multiprotocol':
      code = CAP.MULTIPROTOCOL;
      v = new Uint8Array([c.afi >> 8, c.afi & 0xff, 0, c.safi]);
      break;
    case 'route-refresh':
      code = CAP.ROUTE_REFRESH;
      v = new Uint8Array(0);
      break;
    case 'extended-next-hop':
      code = CAP.EXTENDED_NEXT_HOP;
      v = new Uint8Array(6 * c.entries.length);
      c.entries.forEach((e, i) => {
        const p = 6 * i;
        v[p] = e.afi >> 8;
        v[p + 1] = e.afi & 0xff;
        v[p + 2] = e.safi >> 8;
        v[p + 3] = e.safi & 0xff;
        v[p + 4] = e.nextHopAfi >> 8;
        v[p + 5] = e.nextHopAfi & 0xff;
      });
      break;
    case 'extended-message':
      code = CAP.EXTENDED_MESSAGE;
      v = new Uint8Array(0);
      break;
    case 'graceful-restart': {
      code = CAP.GRACEFUL_RESTART;
      v = new Uint8Array(2 + 4 * c.families.length);
      const h =
        (c.restarting ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | (c.restartTime & 0x0fff);
      v[0] = h >> 8;
      v[1] = h & 0xff;
      c.families.forEach((f, i) => {
        const p = 2 + 4 * i;
        v[p] = f.afi >> 8;
        v[p + 1] = f.afi & 0xff;
        v[p + 2] = f.safi;
        v[p + 3] = f.forwardingPreserved ? 0x80 : 0;
      });
      break;
    }
    case 'as4':
      code = CAP.AS4;
      v = new Uint8Array([c.asn >>> 24, (c.asn >>> 16) & 0xff, (c.asn >>> 8) & 0xff, c.asn & 0xff]);
      break;
    case 'add-path':
      code = CAP.ADD_PATH;
      v = new Uint8Array(4 * c.entries.length);
      c.entries.forEach((e, i) => {
        const p = 4 * i;
        v[p] = e.afi >> 8;
        v[p + 1] = e.afi & 0xff;
        v[p + 2] = e.safi;
        v[p + 3] = e.mode;
      });
      break;
    case 'enhanced-route-refresh':
      code = CAP.ENHANCED_ROUTE_REFRESH;
      v = new Uint8Array(0);
      break;
    case 'unknown':
      code = c.code;
      v = c.value;
      break;
  }
  if (v.length > 255) throw new RangeError(`capability ${code} value too long (${v.length} > 255)`);
  const out = new Uint8Array(2 + v.length);
  out[0] = code;
  out[1] = v.length;
  out.set(v, 2);
  return out;
}
