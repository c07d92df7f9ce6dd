// BGP-4 message codec: the 19-octet header (RFC 4271 §4.1) and dispatch to the
// per-message codecs. Pure: bytes in, typed values out; the only error type is
// BgpError, carrying the NOTIFICATION to send.
//
// Public API (everything above the codec imports from here):
//   readHeader(buf, off, max)         stream framing; null until 19 octets
//   decodeMessage(msg, opts, interner?) one message -> BgpMessage; UPDATE
//                                     RFC 7606 outcomes in `errors`
//   encodeMessage(msg, opts)          BgpMessage -> bytes (header included)
//   KEEPALIVE, encodeRouteRefresh, encodeEndOfRib, encodeUpdates (packer)
//   makeAttributes, encodeAttributes, decodeAttributes, stripAttributes,
//   AttrInterner                      path attributes, interned by wire bytes
//   applyExternalPeerRules            RFC 7606 rules for external peers
//   worstAction, endOfRibFamily, describeNotification, encodeShutdownData
// Address and prefix text: src/bgp/prefix.ts.

import type { AttrInterner } from './attributes.ts';
import { decodeNotification, encodeNotificationBody } from './notification.ts';
import { decodeOpen, encodeOpenBody } from './open.ts';
import {
  BgpError,
  type BgpMessage,
  type CodecOptions,
  MAX_EXTENDED_MESSAGE,
  MAX_MESSAGE,
  MSG,
  type RouteRefreshMessage,
} from './types.ts';
import { decodeUpdate, encodeUpdateBody } from './update.ts';

export {
  AttrInterner,
  decodeAttributes,
  encodeAttributes,
  makeAttributes,
  stripAttributes,
} from './attributes.ts';
export { describeNotification, encodeShutdownData } from './notification.ts';
export {
  applyExternalPeerRules,
  encodeEndOfRib,
  encodeUpdates,
  endOfRibFamily,
  type UpdateParams,
  worstAction,
} from './update.ts';

export const HEADER_LENGTH = 19;

function header(length: number, type: number): Uint8Array {
  const b = new Uint8Array(length);
  b.fill(0xff, 0, 16);
  b[16] = length >> 8;
  b[17] = length & 0xff;
  b[18] = type;
  return b;
}

/** The complete KEEPALIVE message (RFC 4271 §4.4). Do not modify. */
export const KEEPALIVE: Uint8Array = header(19, MSG.KEEPALIVE);

function u16(n: number): Uint8Array {
  return new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
}

/** Minimum lengths per message type (RFC 4271 §6.1). */
const MIN_LENGTH = [0, 29, 23, 21, 19, 19];

/**
 * Read a message header at buf[offset] for a stream framer. Returns null when
 * fewer than 19 octets are available. Throws BgpError (1,1) when the marker is
 * not all ones, (1,2) on a bad length (data: the length field), (1,3) on an
 * unknown type (data: the type octet). `maxLength` is 4096, or 65535 once
 * RFC 8654 Extended Message is negotiated.
 */
export function readHeader(
  buf: Uint8Array,
  offset: number,
  maxLength: number,
): { length: number; type: number } | null {
  if (buf.length - offset < HEADER_LENGTH) return null;
  for (let i = 0; i < 16; i++) {
    if (buf[offset + i] !== 0xff) {
      throw new BgpError(1, 1, 'Connection Not Synchronized: marker is not all ones');
    }
  }
  const length = (buf[offset + 16]! << 8) | buf[offset + 17]!;
  const type = buf[offset + 18]!;
  if (length < HEADER_LENGTH || length > maxLength) {
    throw new BgpError(1, 2, `bad message length ${length} (max ${maxLength})`, u16(length));
  }
  if (type < 1 || type > 5) {
    throw new BgpError(1, 3, `bad message type ${type}`, new Uint8Array([type]));
  }
  // RFC 4271 §6.1 per-type length checks; OPEN never exceeds 4096 (RFC 8654 §4).
  if (
    length < MIN_LENGTH[type]! ||
    (type === MSG.KEEPALIVE && length !== 19) ||
    (type === MSG.OPEN && length > MAX_MESSAGE)
  ) {
    throw new BgpError(1, 2, `bad length ${length} for message type ${type}`, u16(length));
  }
  return { length, type };
}

/**
 * Decode one complete message (header included). Throws only BgpError. With
 * `interner`, UPDATE path attributes are looked up by their wire bytes first
 * and decoded only when new (the route server fast path).
 */
export function decodeMessage(
  msg: Uint8Array,
  opts: CodecOptions,
  interner?: AttrInterner,
): BgpMessage {
  const max = opts.extendedMessage ? MAX_EXTENDED_MESSAGE : MAX_MESSAGE;
  const h = readHeader(msg, 0, max);
  if (h === null) {
    throw new BgpError(1, 2, `message shorter than the header (${msg.length})`, u16(msg.length));
  }
  if (h.length !== msg.length) {
    throw new BgpError(
      1,
      2,
      `length field ${h.length} does not match the message (${msg.length})`,
      u16(h.length),
    );
  }
  switch (h.type) {
    case MSG.OPEN:
      return decodeOpen(msg);
    case MSG.UPDATE:
      return decodeUpdate(msg, opts, interner);
    case MSG.NOTIFICATION:
      return decodeNotification(msg);
    case MSG.KEEPALIVE:
      return { type: 'keepalive' };
    default:
      return decodeRouteRefresh(msg);
  }
}

function decodeRouteRefresh(msg: Uint8Array): RouteRefreshMessage {
  // RFC 2918 §3 / RFC 7313 §5: AFI (2), subtype (1), SAFI (1). A normal
  // request (subtype 0) may carry ORF entries (RFC 5291), not decoded here.
  if (msg.length < 23) {
    throw new BgpError(7, 1, `ROUTE-REFRESH too short (${msg.length})`, msg.slice());
  }
  const subtype = msg[21]!;
  if ((subtype === 1 || subtype === 2) && msg.length !== 23) {
    // RFC 7313 §5: BoRR/EoRR must have a 4-octet body.
    throw new BgpError(7, 1, `ROUTE-REFRESH subtype ${subtype} length ${msg.length}`, msg.slice());
  }
  return { type: 'route-refresh', afi: (msg[19]! << 8) | msg[20]!, safi: msg[22]!, subtype };
}

function withHeader(type: number, body: Uint8Array, max: number): Uint8Array {
  const length = HEADER_LENGTH + body.length;
  if (length > max) throw new RangeError(`message too long (${length} > ${max})`);
  const out = header(length, type);
  out.set(body, HEADER_LENGTH);
  return out;
}

/** ROUTE-REFRESH (RFC 2918) with the RFC 7313 subtype: 0 request, 1 BoRR, 2 EoRR. */
export function encodeRouteRefresh(
  afi: number,
  safi: number,
  subtype = 0,
  _opts?: CodecOptions,
): Uint8Array {
  return withHeader(
    MSG.ROUTE_REFRESH,
    new Uint8Array([afi >> 8, afi & 0xff, subtype, safi]),
    MAX_MESSAGE,
  );
}

/** Encode one message, header included. */
export function encodeMessage(msg: BgpMessage, opts: CodecOptions): Uint8Array {
  const max = opts.extendedMessage ? MAX_EXTENDED_MESSAGE : MAX_MESSAGE;
  switch (msg.type) {
    case 'keepalive':
      return KEEPALIVE.slice();
    case 'open':
      return withHeader(MSG.OPEN, encodeOpenBody(msg), MAX_MESSAGE);
    case 'notification':
      return withHeader(MSG.NOTIFICATION, encodeNotificationBody(msg), max);
    case 'route-refresh':
      return encodeRouteRefresh(msg.afi, msg.safi, msg.subtype);
    case 'update':
      return withHeader(MSG.UPDATE, encodeUpdateBody(msg, opts), max);
  }
}
