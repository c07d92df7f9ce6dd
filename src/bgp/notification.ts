// NOTIFICATION (RFC 4271 §4.5) with the shutdown communication (RFC 8203,
// RFC 9003) and a name table for logs.

import type { NotificationMessage } from './types.ts';

const NAMES: Record<number, [string, Record<number, string>]> = {
  1: [
    'Message Header Error',
    { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  ],
  2: [
    'OPEN Message Error',
    {
      1: 'Unsupported Version Number',
      2: 'Bad Peer AS',
      3: 'Bad BGP Identifier',
      4: 'Unsupported Optional Parameter',
      5: 'Authentication Failure (deprecated)',
      6: 'Unacceptable Hold Time',
      7: 'Unsupported Capability',
      8: 'Deprecated',
      9: 'Deprecated',
      10: 'Deprecated',
      11: 'Role Mismatch',
    },
  ],
  3: [
    'UPDATE Message Error',
    {
      1: 'Malformed Attribute List',
      2: 'Unrecognized Well-known Attribute',
      3: 'Missing Well-known Attribute',
      4: 'Attribute Flags Error',
      5: 'Attribute Length Error',
      6: 'Invalid ORIGIN Attribute',
      7: 'AS Routing Loop (deprecated)',
      8: 'Invalid NEXT_HOP Attribute',
      9: 'Optional Attribute Error',
      10: 'Invalid Network Field',
      11: 'Malformed AS_PATH',
    },
  ],
  4: ['Hold Timer Expired', {}],
  5: [
    'Finite State Machine Error',
    {
      1: 'Receive Unexpected Message in OpenSent State',
      2: 'Receive Unexpected Message in OpenConfirm State',
      3: 'Receive Unexpected Message in Established State',
    },
  ],
  6: [
    'Cease',
    {
      1: 'Maximum Number of Prefixes Reached',
      2: 'Administrative Shutdown',
      3: 'Peer De-configured',
      4: 'Administrative Reset',
      5: 'Connection Rejected',
      6: 'Other Configuration Change',
      7: 'Connection Collision Resolution',
      8: 'Out of Resources',
      9: 'Hard Reset',
      10: 'BFD Down',
    },
  ],
  7: ['ROUTE-REFRESH Message Error', { 1: 'Invalid Message Length' }],
  8: ['Send Hold Timer Expired', {}],
};

/** "Cease / Administrative Shutdown", "UPDATE Message Error / Malformed AS_PATH", ... */
export function describeNotification(code: number, subcode: number): string {
  const entry = NAMES[code];
  if (!entry) return `Unknown error code ${code} / subcode ${subcode}`;
  if (subcode === 0) return `${entry[0]} / Unspecific`;
  const sub = entry[1][subcode];
  return `${entry[0]} / ${sub ?? `subcode ${subcode}`}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8enc = new TextEncoder();

/** Cease subcodes that carry a shutdown communication (RFC 9003 §2). */
export function hasShutdownCommunication(code: number, subcode: number): boolean {
  return code === 6 && (subcode === 2 || subcode === 4);
}

/** Decode a NOTIFICATION body buf[19..]. */
export function decodeNotification(msg: Uint8Array): NotificationMessage {
  const code = msg[19]!;
  const subcode = msg[20]!;
  const data = msg.slice(21);
  const m: NotificationMessage = { type: 'notification', code, subcode, data };
  if (hasShutdownCommunication(code, subcode) && data.length > 0) {
    // RFC 9003 §2: length octet then UTF-8; a bad length or encoding means
    // the data is not a shutdown communication (kept in `data` anyway).
    const n = data[0]!;
    if (n > 0 && 1 + n <= data.length) {
      try {
        m.shutdownMessage = utf8.decode(data.subarray(1, 1 + n));
      } catch {
        // not valid UTF-8: leave shutdownMessage unset
      }
    }
  }
  return m;
}

/** Encode a shutdown communication: length octet + UTF-8, cut to 255 octets at a character boundary. */
export function encodeShutdownData(text: string): Uint8Array {
  let bytes = utf8enc.encode(text);
  if (bytes.length > 255) {
    let n = 255;
    while (n > 0 && (bytes[n]! & 0xc0) === 0x80) n--; // don't split a UTF-8 sequence
    bytes = bytes.subarray(0, n);
  }
  const out = new Uint8Array(1 + bytes.length);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/** Encode a NOTIFICATION body (after the header). */
export function encodeNotificationBody(m: NotificationMessage): Uint8Array {
  let data = m.data;
  if (
    data.length === 0 &&
    m.shutdownMessage !== undefined &&
    hasShutdownCommunication(m.code, m.subcode)
  ) {
    data = encodeShutdownData(m.shutdownMessage);
  }
  const out = new Uint8Array(2 + data.length);
  out[0] = m.code;
  out[1] = m.subcode;
  out.set(data, 2);
  return out;
}

/** RFC 4486 §4: Cease / Maximum Number of Prefixes Reached, with the AFI, SAFI and the limit as data. */
export function maxPrefixCease(
  afi: number,
  safi: number,
  limit: number,
): Pick<NotificationMessage, 'code' | 'subcode' | 'data'> {
  const data = new Uint8Array(7);
  const dv = new DataView(data.buffer);
  dv.setUint16(0, afi);
  data[2] = safi;
  dv.setUint32(3, limit);
  return { code: 6, subcode: 1, data };
}
