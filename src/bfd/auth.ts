// BFD authentication (RFC 5880 §4.2-4.4, §6.7): signing, verification and the
// sequence-number rules. Self-contained: node builtins and ./codec.ts only.

import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import {
  type AuthSection,
  type AuthTypeValue,
  BfdError,
  type BfdReject,
  type ControlPacket,
  encode,
  type StateValue,
} from './codec.ts';

/** What one end of a session authenticates with. */
export interface AuthConfig {
  type: AuthTypeValue;
  keyId: number;
  /** Password (1-16 octets) for type 1; key for MD5 (≤ 16) or SHA1 (≤ 20). */
  secret: Uint8Array;
}

/** Per-session authentication variables of §6.8.1. */
export interface AuthState {
  /** bfd.XmitAuthSeq */
  xmitSeq: number;
  /** bfd.RcvAuthSeq */
  rcvSeq: number;
  /** bfd.AuthSeqKnown */
  seqKnown: boolean;
  /** State carried by the last packet sent (keyed, non-meticulous: bump on change). */
  lastState: StateValue | -1;
}

export function newAuthState(xmitSeq: number = randomInt(0, 0x1_0000_0000)): AuthState {
  return { xmitSeq: xmitSeq >>> 0, rcvSeq: 0, seqKnown: false, lastState: -1 };
}

function digestLen(type: number): number {
  return type === 2 || type === 3 ? 16 : 20;
}
function isMeticulous(type: number): boolean {
  return type === 3 || type === 5;
}

export function validateAuthConfig(cfg: AuthConfig): void {
  if (cfg.type < 1 || cfg.type > 5) throw new BfdError('encode', `unknown auth type ${cfg.type}`);
  if (!Number.isInteger(cfg.keyId) || cfg.keyId < 0 || cfg.keyId > 255) {
    throw new BfdError('encode', `auth key id out of range: ${cfg.keyId}`);
  }
  const max = cfg.type === 1 ? 16 : digestLen(cfg.type);
  if (cfg.secret.length < 1 || cfg.secret.length > max) {
    throw new BfdError('encode', `auth secret must be 1-${max} octets for type ${cfg.type}`);
  }
}

function computeDigest(type: number, bytes: Uint8Array, secret: Uint8Array): Uint8Array {
  // §6.7.3/§6.7.4: digest over the whole packet with the key (zero padded) in
  // the digest field.
  const dl = digestLen(type);
  const copy = Uint8Array.from(bytes);
  copy.fill(0, 32, 32 + dl);
  copy.set(secret, 32);
  const h = createHash(type === 2 || type === 3 ? 'md5' : 'sha1');
  h.update(copy);
  return new Uint8Array(h.digest());
}

/**
 * Encode `p` with the authentication section for `cfg`, advancing
 * bfd.XmitAuthSeq as §6.7.3/§6.7.4 require: every packet for the meticulous
 * types, on each change of carried state for the plain keyed types.
 */
export function signPacket(p: ControlPacket, cfg: AuthConfig, st: AuthState): Uint8Array {
  let section: AuthSection;
  if (cfg.type === 1) {
    section = { type: 1, keyId: cfg.keyId, password: cfg.secret };
  } else {
    if (isMeticulous(cfg.type) || (st.lastState !== -1 && st.lastState !== p.state)) {
      st.xmitSeq = (st.xmitSeq + 1) >>> 0;
    }
    section = {
      type: cfg.type,
      keyId: cfg.keyId,
      sequence: st.xmitSeq,
      digest: new Uint8Array(digestLen(cfg.type)),
    };
  }
  st.lastState = p.state;
  const bytes = encode({ ...p, auth: section });
  if (cfg.type !== 1) bytes.set(computeDigest(cfg.type, bytes, cfg.secret), 32);
  return bytes;
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The authentication part of the reception checks of RFC 5880 §6.8.6 and
 * §6.7: A bit against configuration, then the type's own verification and
 * sequence window. `bytes` are the received octets (at least Length long).
 * Returns null when the packet is accepted (and updates bfd.RcvAuthSeq).
 */
export function verifyPacket(
  p: ControlPacket,
  bytes: Uint8Array,
  cfg: AuthConfig | undefined,
  st: AuthState,
  detectMult: number,
): BfdReject | null {
  const a = p.auth;
  if (a === undefined) {
    return cfg === undefined
      ? null
      : { check: 'auth-mismatch', message: 'A bit clear but authentication is in use' };
  }
  if (cfg === undefined) {
    return { check: 'auth-mismatch', message: 'A bit set but no authentication is in use' };
  }
  if (a.type !== cfg.type) return { check: 'auth', message: `auth type ${a.type} != ${cfg.type}` };
  if (a.keyId !== cfg.keyId) return { check: 'auth', message: `auth key id ${a.keyId} unknown` };
  if (a.type === 1) {
    return eq(a.password, cfg.secret) ? null : { check: 'auth', message: 'password mismatch' };
  }
  const seq = a.sequence;
  if (st.seqKnown) {
    // Circular unsigned 32-bit window (§6.7.3, §6.7.4).
    const lo = isMeticulous(a.type) ? 1 : 0;
    const off = (seq - st.rcvSeq) >>> 0;
    if (off < lo || off > 3 * detectMult) {
      return { check: 'auth', message: `sequence ${seq} outside window after ${st.rcvSeq}` };
    }
  }
  const len = bytes[3]!;
  const want = computeDigest(a.type, bytes.subarray(0, len), cfg.secret);
  if (!eq(a.digest, want)) return { check: 'auth', message: 'digest mismatch' };
  st.rcvSeq = seq;
  st.seqKnown = true;
  return null;
}
