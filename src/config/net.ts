// Address/prefix helpers for configuration and policy, over the codec's
// src/bgp/prefix.ts (so canonical text is the same everywhere): null/message
// returning variants for validation, and bit comparison for prefix rules.

import {
  canonicalAddress,
  formatAddress,
  formatPrefix,
  type ParsedPrefix,
  parseAddress,
  parsePrefix,
} from '../bgp/prefix.ts';

export type { ParsedPrefix } from '../bgp/prefix.ts';

/** Parse an IPv4 or IPv6 address; null when invalid. */
export function parseIp(text: string): Uint8Array | null {
  try {
    return parseAddress(text).bytes;
  } catch {
    return null;
  }
}

/** Canonical text: dotted quad, or RFC 5952 for IPv6. */
export function formatIp(bytes: Uint8Array): string {
  return formatAddress(bytes);
}

/** Canonical form of an address text, or null when invalid: the one canonicaliser, src/bgp/prefix.ts. */
export const canonicalIp: (text: string) => string | null = canonicalAddress;

/**
 * Parse "addr/len" (host bits must be zero). Returns the prefix, or a message
 * saying what is wrong. With `strict` false, host bits are cleared instead.
 */
export function parsePrefixText(text: string, strict = true): ParsedPrefix | string {
  try {
    return parsePrefix(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (!strict && msg.includes('host bits')) {
      const slash = text.indexOf('/');
      const b = parseIp(text.slice(0, slash));
      if (b !== null) {
        const len = Number(text.slice(slash + 1));
        return { afi: b.length === 4 ? 1 : 2, len, bytes: maskBytes(b, len) };
      }
    }
    return msg;
  }
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
  return formatPrefix(p);
}

/** True when the first `len` bits of `a` and `b` are equal. */
export function sameBits(a: Uint8Array, b: Uint8Array, len: number): boolean {
  const full = len >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = len & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (a[full]! & m) === (b[full]! & m);
}
