// BFD Control packet codec (RFC 5880 §4.1-4.4) and the packet-level reception
// checks of §6.8.6. Self-contained: imports only node builtins, nothing of ixrs.

/** Session states as carried in the Sta field (RFC 5880 §4.1). */
export const State = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type StateValue = (typeof State)[keyof typeof State];
export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type StateName = (typeof STATE_NAMES)[number];

/** Diagnostic codes (RFC 5880 §4.1). */
export const Diag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
export type DiagValue = number; // 0..31; values above 8 are carried through untouched
export const DIAG_NAMES: readonly string[] = [
  'none',
  'control-detection-time-expired',
  'echo-function-failed',
  'neighbor-signaled-session-down',
  'forwarding-plane-reset',
  'path-down',
  'concatenated-path-down',
  'administratively-down',
  'reverse-concatenated-path-down',
];
export function diagName(d: number): string {
  return DIAG_NAMES[d] ?? `diag-${d}`;
}

/** Authentication types (RFC 5880 §4.1, §4.2). */
export const AuthType = {
  SimplePassword: 1,
  KeyedMD5: 2,
  MeticulousKeyedMD5: 3,
  KeyedSHA1: 4,
  MeticulousKeyedSHA1: 5,
} as const;
export type AuthTypeValue = (typeof AuthType)[keyof typeof AuthType];

/** §4.2 Simple Password Authentication Section. */
export interface SimplePasswordAuth {
  type: 1;
  keyId: number;
  /** 1 to 16 octets. */
  password: Uint8Array;
}
/** §4.3 / §4.4 Keyed MD5 / SHA1 sections (meticulous or not). */
export interface DigestAuth {
  type: 2 | 3 | 4 | 5;
  keyId: number;
  sequence: number;
  /** 16 octets for MD5, 20 for SHA1: the digest as carried on the wire. */
  digest: Uint8Array;
}
export type AuthSection = SimplePasswordAuth | DigestAuth;

/** A BFD Control packet, every field of §4.1. The A bit is `auth !== undefined`. */
export interface ControlPacket {
  version: number;
  diag: number;
  state: StateValue;
  poll: boolean;
  final: boolean;
  cpi: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** Microseconds. */
  desiredMinTx: number;
  /** Microseconds. */
  requiredMinRx: number;
  /** Microseconds. */
  requiredMinEchoRx: number;
  auth?: AuthSection;
}

/** Which reception check of RFC 5880 §6.8.6 (or codec rule) rejected a packet. */
export type BfdCheck =
  | 'version'
  | 'length'
  | 'detect-mult'
  | 'multipoint'
  | 'my-discriminator'
  | 'your-discriminator'
  | 'no-session'
  | 'auth-mismatch'
  | 'auth'
  | 'encode';

/** A typed rejection: the packet is to be discarded, for this reason. */
export interface BfdReject {
  check: BfdCheck;
  message: string;
}

/** The only error this codec throws. */
export class BfdError extends Error implements BfdReject {
  readonly check: BfdCheck;
  constructor(check: BfdCheck, message: string) {
    super(message);
    this.name = 'BfdError';
    this.check = check;
  }
}

export const BFD_VERSION = 1;
export const MIN_LENGTH = 24;
export const MIN_LENGTH_AUTH = 26;

const P = 0x20;
const F = 0x10;
const C = 0x08;
const A = 0x04;
const D = 0x02;
const M = 0x01;

function digestLength(type: number): number {
  return type === 2 || type === 3 ? 16 : 20;
}

/** Length in octets of the auth section as the codec will encode it. */
export function authLength(auth: AuthSection): number {
  if (auth.type === 1) return 3 + auth.password.length;
  return 8 + digestLength(auth.type);
}

/** Octets `encode` will produce for this packet. */
export function encodingLength(p: ControlPacket): number {
  return MIN_LENGTH + (p.auth === undefined ? 0 : authLength(p.auth));
}

function u8(name: string, v: number, max = 255): void {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new BfdError('encode', `${name} out of range: ${v}`);
}
function u32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new BfdError('encode', `${name} out of range: ${v}`);
  }
}

/**
 * Encode a Control packet. Field values are written as given (so a test can
 * build packets the receiver must reject); only values that do not fit their
 * field raise BfdError('encode').
 */
export function encode(p: ControlPacket, out?: Uint8Array, offset = 0): Uint8Array {
  u8('version', p.version, 7);
  u8('diag', p.diag, 31);
  u8('state', p.state, 3);
  u8('detectMult', p.detectMult);
  u32('myDiscriminator', p.myDiscriminator);
  u32('yourDiscriminator', p.yourDiscriminator);
  u32('desiredMinTx', p.desiredMinTx);
  u32('requiredMinRx', p.requiredMinRx);
  u32('requiredMinEchoRx', p.requiredMinEchoRx);
  const len = encodingLength(p);
  if (len > 255) throw new BfdError('encode', `packet too long: ${len}`);
  const buf = out ?? new Uint8Array(len);
  if (buf.length - offset < len) throw new BfdError('encode', 'output buffer too small');
  const o = offset;
  buf[o] = (p.version << 5) | p.diag;
  let flags = p.state << 6;
  if (p.poll) flags |= P;
  if (p.final) flags |= F;
  if (p.cpi) flags |= C;
  if (p.auth !== undefined) flags |= A;
  if (p.demand) flags |= D;
  if (p.multipoint) flags |= M;
  buf[o + 1] = flags;
  buf[o + 2] = p.detectMult;
  buf[o + 3] = len;
  wr32(buf, o + 4, p.myDiscriminator);
  wr32(buf, o + 8, p.yourDiscriminator);
  wr32(buf, o + 12, p.desiredMinTx);
  wr32(buf, o + 16, p.requiredMinRx);
  wr32(buf, o + 20, p.requiredMinEchoRx);
  const a = p.auth;
  if (a !== undefined) {
    u8('auth.keyId', a.keyId);
    buf[o + 24] = a.type;
    buf[o + 25] = authLength(a);
    buf[o + 26] = a.keyId;
    if (a.type === 1) {
      if (a.password.length < 1 || a.password.length > 16) {
        throw new BfdError(
          'encode',
          `simple password must be 1-16 octets, got ${a.password.length}`,
        );
      }
      buf.set(a.password, o + 27);
    } else {
      u8('auth.type', a.type, 5);
      u32('auth.sequence', a.sequence);
      const dl = digestLength(a.type);
      if (a.digest.length !== dl) {
        throw new BfdError('encode', `auth digest must be ${dl} octets, got ${a.digest.length}`);
      }
      buf[o + 27] = 0;
      wr32(buf, o + 28, a.sequence);
      buf.set(a.digest, o + 32);
    }
  }
  return offset === 0 && buf.length === len ? buf : buf.subarray(offset, offset + len);
}

function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function rd32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function reject(check: BfdCheck, message: string): BfdReject {
  return { check, message };
}

/** True when `x` is a rejection rather than a packet. */
export function isReject(x: ControlPacket | BfdReject): x is BfdReject {
  return (x as BfdReject).check !== undefined;
}

/**
 * Decode and apply the packet-level reception checks of RFC 5880 §6.8.6
 * (version, length, Detect Mult, M bit, My Discriminator, Your Discriminator
 * zero outside Down/AdminDown, auth section well formed). Never throws: returns
 * the packet or a typed rejection. Session-level checks (no session for Your
 * Discriminator, auth present-mismatch, auth failure) belong to the receiver.
 */
export function tryDecode(buf: Uint8Array): ControlPacket | BfdReject {
  const n = buf.length;
  if (n < 4) return reject('length', `payload of ${n} octets is shorter than a BFD header`);
  const b0 = buf[0]!;
  const version = b0 >>> 5;
  if (version !== BFD_VERSION) return reject('version', `version ${version} is not 1`);
  const flags = buf[1]!;
  const hasAuth = (flags & A) !== 0;
  const len = buf[3]!;
  if (len < MIN_LENGTH) return reject('length', `Length ${len} < 24`);
  if (hasAuth && len < MIN_LENGTH_AUTH)
    return reject('length', `Length ${len} < 26 with A bit set`);
  if (len > n) return reject('length', `Length ${len} > payload ${n}`);
  const detectMult = buf[2]!;
  if (detectMult === 0) return reject('detect-mult', 'Detect Mult is zero');
  if ((flags & M) !== 0) return reject('multipoint', 'Multipoint (M) bit is set');
  const myDiscriminator = rd32(buf, 4);
  if (myDiscriminator === 0) return reject('my-discriminator', 'My Discriminator is zero');
  const yourDiscriminator = rd32(buf, 8);
  const state = (flags >>> 6) as StateValue;
  if (yourDiscriminator === 0 && state !== State.Down && state !== State.AdminDown) {
    return reject(
      'your-discriminator',
      'Your Discriminator is zero and State is not Down or AdminDown',
    );
  }
  const p: ControlPacket = {
    version,
    diag: b0 & 0x1f,
    state,
    poll: (flags & P) !== 0,
    final: (flags & F) !== 0,
    cpi: (flags & C) !== 0,
    demand: (flags & D) !== 0,
    multipoint: false,
    detectMult,
    myDiscriminator,
    yourDiscriminator,
    desiredMinTx: rd32(buf, 12),
    requiredMinRx: rd32(buf, 16),
    requiredMinEchoRx: rd32(buf, 20),
  };
  if (hasAuth) {
    const type = buf[24]!;
    const alen = buf[25]!;
    if (24 + alen > len) return reject('length', `Auth Len ${alen} overruns Length ${len}`);
    if (type === 1) {
      if (alen < 4 || alen > 19)
        return reject('auth', `simple password Auth Len ${alen} not in 4-19`);
      p.auth = { type: 1, keyId: buf[26]!, password: buf.slice(27, 24 + alen) };
    } else if (type >= 2 && type <= 5) {
      const want = 8 + digestLength(type);
      if (alen !== want)
        return reject('auth', `auth type ${type} needs Auth Len ${want}, got ${alen}`);
      p.auth = {
        type: type as 2 | 3 | 4 | 5,
        keyId: buf[26]!,
        sequence: rd32(buf, 28),
        digest: buf.slice(32, 24 + alen),
      };
    } else {
      return reject('auth', `unknown auth type ${type}`);
    }
  }
  return p;
}

/** Decode; throws BfdError (and nothing else) on any rejection. */
export function decode(buf: Uint8Array): ControlPacket {
  const r = tryDecode(buf);
  if (isReject(r)) throw new BfdError(r.check, r.message);
  return r;
}

/** A packet with every field at its neutral value; override what you need. */
export function controlPacket(fields: Partial<ControlPacket> = {}): ControlPacket {
  return {
    version: 1,
    diag: 0,
    state: State.Down,
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    myDiscriminator: 1,
    yourDiscriminator: 0,
    desiredMinTx: 1_000_000,
    requiredMinRx: 1_000_000,
    requiredMinEchoRx: 0,
    ...fields,
  };
}
