// Small address/prefix helpers for configuration and policy: parsing IPv4/IPv6
// text into bytes, canonical text (RFC 5952 for IPv6), and prefix containment.
// Kept local so configuration does not wait on the codec; the text forms agree
// with src/bgp/prefix.ts (canonical, lowercase, host bits zero).

export interface ParsedPrefix {
  /** 1 IPv4, 2 IPv6 (AFI numbers). */
  afi: 1 | 2;
  /** Network bytes (4 or 16), host bits zero. */
  bytes: Uint8Array;
  len: number;
}

const V4_PART = /^(0|[1-9][0-9]{0,2})$/;

function parseV4(text: string, out: Uint8Array, at: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!V4_PART.test(p)) return false;
    const n = Number(p);
    if (n > 255) return false;
    out[at + i] = n;
  }
  return true;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseV6(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  const dbl = text.indexOf('::');
  if (dbl !== -1 && text.indexOf('::', dbl + 1) !== -1) return null;
  const head = dbl === -1 ? text : text.slice(0, dbl);
  const tail = dbl === -1 ? '' : text.slice(dbl + 2);
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const groups: number[] = [];
  const tailGroups: number[] = [];
  const fill = (parts: string[], into: number[], last: boolean): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (last && i === parts.length - 1 && p.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseV4(p, v4, 0)) return false;
        into.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!HEX_GROUP.test(p)) return false;
      into.push(Number.parseInt(p, 16));
    }
    return true;
  };
  if (!fill(headParts, groups, dbl === -1)) return null;
  if (!fill(tailParts, tailGroups, true)) return null;
  if (dbl === -1) {
    if (groups.length !== 8) return null;
  } else if (groups.length + tailGroups.length > 7) {
    return null;
  }
  const all =
    dbl === -1
      ? groups
      : [
          ...groups,
          ...new Array<number>(8 - groups.length - tailGroups.length).fill(0),
          ...tailGroups,
        ];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i]! >> 8;
    out[2 * i + 1] = all[i]! & 0xff;
  }
  return out;
}

/** Parse an IPv4 or IPv6 address; null when invalid. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(':')) return parseV6(text);
  const out = new Uint8Array(4);
  return parseV4(text, out, 0) ? out : null;
}

/** Canonical text: dotted quad, or RFC 5952 §4 for IPv6. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  // RFC 5952 §4.2: compress the longest run (>= 2) of zero groups, the first on a tie.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestAt === -1) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Canonical form of an address text, or null when invalid. */
export function canonicalIp(text: string): string | null {
  const b = parseIp(text);
  return b === null ? null : formatIp(b);
}

/**
 * Parse "addr/len". With `strict`, host bits must be zero (returns an error
 * string); otherwise they are cleared.
 */
export function parsePrefixText(text: string, strict = true): ParsedPrefix | string {
  const slash = text.indexOf('/');
  if (slash === -1) return `'${text}' is not a prefix (expected address/length)`;
  const bytes = parseIp(text.slice(0, slash));
  if (bytes === null) return `'${text}' does not start with a valid IPv4 or IPv6 address`;
  const lenText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return `'${text}' has an invalid prefix length`;
  const len = Number(lenText);
  if (len > bytes.length * 8) return `'${text}' has a prefix length above ${bytes.length * 8}`;
  return makePrefix(bytes, len, strict, text);
}

export function makePrefix(
  bytes: Uint8Array,
  len: number,
  strict: boolean,
  text: string,
): ParsedPrefix | string {
  const masked = bytes.slice();
  for (let bit = len; bit < masked.length * 8; bit++) {
    const byte = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if ((masked[byte]! & m) !== 0) {
      if (strict)
        return `'${text}' has host bits set (network is ${formatIp(maskBytes(bytes, len))}/${len})`;
      masked[byte] = masked[byte]! & ~m;
    }
  }
  return { afi: masked.length === 4 ? 1 : 2, bytes: masked, len };
}

function maskBytes(bytes: Uint8Array, len: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, len - i * 8));
    out[i] = out[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

export function formatPrefixText(p: ParsedPrefix): string {
  return `${formatIp(p.bytes)}/${p.len}`;
}

/** True when the first `len` bits of `a` and `b` are equal (same length arrays). */
export function sameBits(a: Uint8Array, b: Uint8Array, len: number): boolean {
  const full = len >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = len & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (a[full]! & m) === (b[full]! & m);
}

/** True when prefix `inner` lies inside (or equals) prefix `outer`. */
export function prefixCovers(outer: ParsedPrefix, inner: ParsedPrefix): boolean {
  return (
    outer.afi === inner.afi &&
    inner.len >= outer.len &&
    sameBits(outer.bytes, inner.bytes, outer.len)
  );
}
