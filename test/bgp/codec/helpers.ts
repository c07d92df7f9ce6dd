import { BgpError } from '../../../src/bgp/types.ts';

export const MARKER = 'ffffffffffffffffffffffffffffffff';

/** Bytes from hex text; spaces and other separators are ignored. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A whole message from its type and body hex, with the right length. */
export function msg(type: number, body: string): Uint8Array {
  const b = hex(body);
  const out = new Uint8Array(19 + b.length);
  out.fill(0xff, 0, 16);
  out[16] = out.length >> 8;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(b, 19);
  return out;
}

export function thrown(f: () => unknown): BgpError {
  try {
    f();
  } catch (e) {
    if (e instanceof BgpError) return e;
    throw e;
  }
  throw new Error('expected a BgpError');
}
