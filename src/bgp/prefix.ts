// Addresses and prefixes: canonical text <-> bytes, and the NLRI wire encoding
// (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3). Text forms are canonical: IPv4
// dotted quad, IPv6 per RFC 5952 (lower case, longest zero run compressed,
// mixed notation for IPv4-mapped addresses), prefixes with host bits zero.

import type { Nlri } from './types.ts';

export interface ParsedPrefix {
  afi: 1 | 2;
  len: number;
  /** The full address (4 or 16 octets) with host bits zero. */
  bytes: Uint8Array;
}

export interface ParsedAddress {
  afi: 1 | 2;
  bytes: Uint8Array;
}

// ---------------------------------------------------------------- formatting

const DEC: string[] = [];
for (let i = 0; i < 256; i++) DEC.push(String(i));
const SLASH: string[] = [];
for (let i = 0; i <= 128; i++) SLASH.push(`/${i}`);
// IPv6 group texts, made on first use: a route server meets a few thousand
// distinct group values, and a full table of 65,536 strings cost 2 MiB of heap
// in every process.
const HEX: (string | undefined)[] = new Array(65536);
const hex = (g: number): string => (HEX[g] ??= g.toString(16));

/** Format 4 octets at `off` as a dotted quad. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${DEC[b[off]!]}.${DEC[b[off + 1]!]}.${DEC[b[off + 2]!]}.${DEC[b[off + 3]!]}`;
}

const groups = new Uint16Array(8);

/** Format 16 octets at `off` as an IPv6 address (RFC 5952). */
export function formatIPv6(b: Uint8Array, off = 0): string {
  for (let i = 0; i < 8; i++) groups[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  // RFC 5952 §5: IPv4-mapped addresses in mixed notation.
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    return `::ffff:${formatIPv4(b, off + 12)}`;
  }
  // Longest run of two or more zero groups, first one on a tie (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLen = 1;
  let i = 0;
  while (i < 8) {
    if (groups[i] === 0) {
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    } else i++;
  }
  let s = '';
  if (bestStart < 0) {
    s = hex(groups[0]!);
    for (let k = 1; k < 8; k++) s += `:${hex(groups[k]!)}`;
    return s;
  }
  for (let k = 0; k < bestStart; k++) s += k === 0 ? hex(groups[k]!) : `:${hex(groups[k]!)}`;
  s += '::';
  for (let k = bestStart + bestLen; k < 8; k++) {
    s += k === bestStart + bestLen ? hex(groups[k]!) : `:${hex(groups[k]!)}`;
  }
  return s;
}

/** Format an address of 4 or 16 octets. */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIPv4(bytes, 0);
  if (bytes.length === 16) return formatIPv6(bytes, 0);
  throw new Error(`address must be 4 or 16 octets, got ${bytes.length}`);
}

const scratch = new Uint8Array(16);

/** Format a prefix; `bytes` may be the full address or just the significant octets. */
export function formatPrefix(p: { afi: number; len: number; bytes: Uint8Array }): string {
  const full = p.afi === 1 ? 4 : 16;
  scratch.fill(0);
  const n = (p.len + 7) >> 3;
  for (let i = 0; i < n && i < p.bytes.length; i++) scratch[i] = p.bytes[i]!;
  maskInPlace(scratch, full, p.len);
  return (p.afi === 1 ? formatIPv4(scratch, 0) : formatIPv6(scratch, 0)) + SLASH[p.len];
}

function maskInPlace(b: Uint8Array, size: number, len: number): void {
  const whole = len >> 3;
  const rem = len & 7;
  let i = whole;
  if (rem !== 0 && i < size) {
    b[i] = b[i]! & (0xff << (8 - rem));
    i++;
  }
  for (; i < size; i++) b[i] = 0;
}

// ---------------------------------------------------------------- parsing

/** Parse a dotted quad into out[off..off+4]; returns false when malformed. */
function parseIPv4Into(
  s: string,
  start: number,
  end: number,
  out: Uint8Array,
  off: number,
): boolean {
  let part = 0;
  let val = 0;
  let digits = 0;
  let lead0 = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return false;
      out[off + part++] = val;
      val = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return false;
    if (digits === 0) lead0 = c === 48;
    else if (lead0) return false; // no leading zeros (octal ambiguity)
    val = val * 10 + (c - 48);
    if (++digits > 3 || val > 255) return false;
  }
  if (digits === 0 || part !== 3) return false;
  out[off + 3] = val;
  return true;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parse an IPv6 address into out[off..off+16]; returns false when malformed. */
function parseIPv6Into(
  s: string,
  start: number,
  end: number,
  out: Uint8Array,
  off: number,
): boolean {
  const head: number[] = [];
  const tail: number[] = [];
  let cur = head;
  let seenDouble = false;
  let i = start;
  if (end - start < 2) return false;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    seenDouble = true;
    cur = tail;
    i += 2;
    if (i === end) {
      for (let k = 0; k < 16; k++) out[off + k] = 0;
      return true;
    }
  }
  let groupsCount = 0;
  while (i < end) {
    // a group: hex digits, or an embedded IPv4 address at the end
    let j = i;
    let v = 0;
    while (j < end && j - i < 5) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = (v << 4) | h;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      // embedded IPv4: must be last
      const tmp = new Uint8Array(4);
      if (!parseIPv4Into(s, i, end, tmp, 0)) return false;
      cur.push((tmp[0]! << 8) | tmp[1]!, (tmp[2]! << 8) | tmp[3]!);
      groupsCount += 2;
      i = end;
      break;
    }
    if (j === i || j - i > 4) return false;
    cur.push(v);
    groupsCount++;
    i = j;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (seenDouble) return false;
      seenDouble = true;
      cur = tail;
      i++;
      if (i === end) break;
    } else if (i === end) return false; // trailing single colon
  }
  if (seenDouble ? groupsCount > 7 : groupsCount !== 8) return false;
  for (let k = 0; k < 16; k++) out[off + k] = 0;
  for (let k = 0; k < head.length; k++) {
    out[off + 2 * k] = head[k]! >> 8;
    out[off + 2 * k + 1] = head[k]! & 0xff;
  }
  const base = 8 - tail.length;
  for (let k = 0; k < tail.length; k++) {
    out[off + 2 * (base + k)] = tail[k]! >> 8;
    out[off + 2 * (base + k) + 1] = tail[k]! & 0xff;
  }
  return true;
}

/** Parse an IPv4 or IPv6 address. Throws a plain Error on bad input. */
export function parseAddress(text: string): ParsedAddress {
  if (typeof text !== 'string') throw new Error(`address must be a string, got ${typeof text}`);
  if (text.includes(':')) {
    const bytes = new Uint8Array(16);
    if (!parseIPv6Into(text, 0, text.length, bytes, 0)) {
      throw new Error(`invalid IPv6 address "${text}"`);
    }
    return { afi: 2, bytes };
  }
  const bytes = new Uint8Array(4);
  if (!parseIPv4Into(text, 0, text.length, bytes, 0)) {
    throw new Error(
      `invalid IPv4 address "${text}" (expected four decimal octets, e.g. 192.0.2.1)`,
    );
  }
  return { afi: 1, bytes };
}

const addrScratch = new Uint8Array(16);

/**
 * THE address canonicaliser: every boundary that takes an address as text
 * (configuration, BGP NEXT_HOP and socket peers, BFD peers, BGP-LS
 * descriptors, the reachability input) goes through it, so that the same
 * address is always the same string. IPv4 as a dotted quad, IPv6 as RFC 5952
 * text; an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack socket
 * reports an IPv4 peer) becomes the IPv4 address, and a zone (%eth0) is
 * dropped. Returns null when the text is no address.
 */
export function canonicalAddress(text: string): string | null {
  if (typeof text !== 'string') return null;
  let end = text.length;
  const pct = text.indexOf('%');
  if (text.includes(':')) {
    if (pct >= 0) end = pct;
    const b = addrScratch;
    if (!parseIPv6Into(text, 0, end, b, 0)) return null;
    let mapped = b[10] === 0xff && b[11] === 0xff;
    for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
    return mapped ? formatIPv4(b, 12) : formatIPv6(b, 0);
  }
  if (!parseIPv4Into(text, 0, end, addrScratch, 0)) return null;
  return formatIPv4(addrScratch, 0);
}

/**
 * Parse "192.0.2.0/24" or "2001:db8::/32". Host bits must be zero. Throws a
 * plain Error with a clear message on bad input (used by config validation).
 */
export function parsePrefix(text: string): ParsedPrefix {
  if (typeof text !== 'string') throw new Error(`prefix must be a string, got ${typeof text}`);
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`invalid prefix "${text}": missing "/length"`);
  const lenText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) {
    throw new Error(`invalid prefix "${text}": length "${lenText}" is not a number`);
  }
  const len = Number(lenText);
  const v6 = text.lastIndexOf(':', slash) >= 0;
  const size = v6 ? 16 : 4;
  const bytes = new Uint8Array(size);
  const ok = v6 ? parseIPv6Into(text, 0, slash, bytes, 0) : parseIPv4Into(text, 0, slash, bytes, 0);
  if (!ok) {
    throw new Error(`invalid prefix "${text}": bad ${v6 ? 'IPv6' : 'IPv4'} address`);
  }
  if (len > size * 8) {
    throw new Error(`invalid prefix "${text}": length ${len} exceeds ${size * 8}`);
  }
  const copy = bytes.slice();
  maskInPlace(copy, size, len);
  for (let i = 0; i < size; i++) {
    if (copy[i] !== bytes[i]) {
      const canon = formatPrefix({ afi: v6 ? 2 : 1, len, bytes: copy });
      throw new Error(`invalid prefix "${text}": host bits set (did you mean ${canon}?)`);
    }
  }
  return { afi: v6 ? 2 : 1, len, bytes };
}

/**
 * parsePrefix without the error text: null for anything parsePrefix rejects.
 * One allocation (the result); tryParsePrefixInto makes none.
 */
export function tryParsePrefix(text: string): ParsedPrefix | null {
  return parseInto(text, null, null);
}

/**
 * tryParsePrefix into caller-owned results, for hot paths that parse every
 * prefix received (cheaper than caching the result keyed by the text): IPv4
 * text is parsed into `v4` (bytes of 4 octets), IPv6 text into `v6` (16), and
 * that object is returned, valid until the next call with it; null for bad text.
 */
export function tryParsePrefixInto(
  text: string,
  v4: ParsedPrefix & { afi: 1 },
  v6: ParsedPrefix & { afi: 2 },
): ParsedPrefix | null {
  return parseInto(text, v4, v6);
}

function parseInto(
  text: string,
  out4: ParsedPrefix | null,
  out6: ParsedPrefix | null,
): ParsedPrefix | null {
  const slash = text.indexOf('/');
  const n = text.length - slash - 1;
  if (slash < 0 || n < 1 || n > 3) return null;
  let len = 0;
  for (let i = slash + 1; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9 || (d === 0 && i === slash + 1 && n > 1)) return null;
    len = len * 10 + d;
  }
  const v6 = text.lastIndexOf(':', slash) >= 0;
  const size = v6 ? 16 : 4;
  if (len > size * 8) return null;
  const out = v6
    ? (out6 ?? { afi: 2, len: 0, bytes: new Uint8Array(16) })
    : (out4 ?? { afi: 1, len: 0, bytes: new Uint8Array(4) });
  const bytes = out.bytes;
  if (bytes.length !== size)
    throw new RangeError(`tryParsePrefixInto: ${size}-octet bytes expected`);
  bytes.fill(0);
  const ok = v6 ? parseIPv6Into(text, 0, slash, bytes, 0) : parseIPv4Into(text, 0, slash, bytes, 0);
  if (!ok) return null;
  let i = len >> 3;
  const rem = len & 7;
  if (rem !== 0 && (bytes[i]! & (0xff >> rem)) !== 0) return null;
  if (rem !== 0) i++;
  for (; i < size; i++) if (bytes[i] !== 0) return null;
  out.len = len;
  return out;
}

/** True when `inner` is equal to or more specific than `outer` (same family). */
export function prefixContains(
  outer: string | ParsedPrefix,
  inner: string | ParsedPrefix,
): boolean {
  const o = typeof outer === 'string' ? parsePrefix(outer) : outer;
  const n = typeof inner === 'string' ? parsePrefix(inner) : inner;
  if (o.afi !== n.afi || n.len < o.len) return false;
  const whole = o.len >> 3;
  for (let i = 0; i < whole; i++) if (o.bytes[i] !== n.bytes[i]) return false;
  const rem = o.len & 7;
  if (rem === 0) return true;
  const m = 0xff << (8 - rem);
  return (o.bytes[whole]! & m) === (n.bytes[whole]! & m);
}

// ---------------------------------------------------------------- NLRI wire

/**
 * Decode an NLRI field (RFC 4271 §4.3 / RFC 4760 §5 / RFC 7911 §3) of `afi`
 * (1 or 2) in buf[start..end) and push to `out`. Returns null on success, or a
 * reason string when the field is syntactically incorrect (RFC 7606 §5.3).
 */
export function decodeNlri(
  buf: Uint8Array,
  start: number,
  end: number,
  afi: number,
  addPath: boolean,
  out: Nlri[],
): string | null {
  let p = start;
  const maxLen = afi === 1 ? 32 : 128;
  while (p < end) {
    let pathId = 0;
    if (addPath) {
      if (p + 5 > end) return 'path identifier overruns the field';
      pathId = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      p += 4;
    }
    const len = buf[p++]!;
    if (len > maxLen) return `prefix length ${len} exceeds ${maxLen}`;
    const n = (len + 7) >> 3;
    if (p + n > end) return `prefix of length ${len} overruns the field`;
    let prefix: string;
    if (afi === 1) {
      let a = 0;
      let b = 0;
      let c = 0;
      let d = 0;
      if (n > 0) a = buf[p]!;
      if (n > 1) b = buf[p + 1]!;
      if (n > 2) c = buf[p + 2]!;
      if (n > 3) d = buf[p + 3]!;
      if (len < 32) {
        // zero host bits: canonical form
        const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
        const v = ((((a << 24) | (b << 16) | (c << 8) | d) >>> 0) & m) >>> 0;
        a = v >>> 24;
        b = (v >>> 16) & 0xff;
        c = (v >>> 8) & 0xff;
        d = v & 0xff;
      }
      prefix = `${DEC[a]}.${DEC[b]}.${DEC[c]}.${DEC[d]}${SLASH[len]}`;
    } else {
      scratch.fill(0);
      for (let i = 0; i < n; i++) scratch[i] = buf[p + i]!;
      maskInPlace(scratch, 16, len);
      prefix = formatIPv6(scratch, 0) + SLASH[len];
    }
    p += n;
    out.push(addPath ? { prefix, pathId } : { prefix });
  }
  return null;
}

const encScratch = new Uint8Array(16);

/**
 * Write one NLRI (with path id when `addPath`) at out[off]; returns the new
 * offset, or -1 when it does not fit before `limit`. Throws Error on bad text.
 */
export function writeNlri(
  nlri: Nlri,
  addPath: boolean,
  out: Uint8Array,
  off: number,
  limit: number,
): number {
  const text = nlri.prefix;
  const slash = text.indexOf('/');
  let len = -1;
  if (slash > 0) {
    len = 0;
    for (let i = slash + 1; i < text.length; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9 || i - slash > 3) {
        len = -1;
        break;
      }
      len = len * 10 + c;
    }
    if (slash + 1 === text.length) len = -1;
  }
  let v6 = false;
  let ok = false;
  if (len >= 0) {
    v6 = text.lastIndexOf(':', slash) >= 0;
    ok = v6
      ? len <= 128 && parseIPv6Into(text, 0, slash, encScratch, 0)
      : len <= 32 && parseIPv4Into(text, 0, slash, encScratch, 0);
  }
  if (!ok) throw new Error(`invalid prefix "${text}"`);
  const n = (len + 7) >> 3;
  const need = (addPath ? 4 : 0) + 1 + n;
  if (off + need > limit) return -1;
  if (addPath) {
    const id = nlri.pathId ?? 0;
    out[off] = id >>> 24;
    out[off + 1] = (id >>> 16) & 0xff;
    out[off + 2] = (id >>> 8) & 0xff;
    out[off + 3] = id & 0xff;
    off += 4;
  }
  out[off++] = len;
  for (let i = 0; i < n; i++) out[off + i] = encScratch[i]!;
  if (len & 7) out[off + n - 1] = out[off + n - 1]! & (0xff << (8 - (len & 7)));
  return off + n;
}

/** The family (1 IPv4, 2 IPv6) of a prefix or address text, by its form. */
export function afiOf(text: string): 1 | 2 {
  return text.includes(':') ? 2 : 1;
}
