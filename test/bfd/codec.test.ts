import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AuthConfig, newAuthState, signPacket, verifyPacket } from '../../src/bfd/auth.ts';
import {
  type AuthSection,
  BfdError,
  type ControlPacket,
  controlPacket,
  decode,
  encode,
  isReject,
  State,
  type StateValue,
  tryDecode,
} from '../../src/bfd/codec.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function rejectOf(buf: Uint8Array): string {
  const r = tryDecode(buf);
  if (!isReject(r)) throw new Error('expected a rejection');
  expect(() => decode(buf)).toThrow(BfdError);
  return r.check;
}

describe('BFD codec: RFC 5880 §4.1 Control packet', () => {
  it('RFC 5880 §4.1: encodes a known Up packet byte for byte', () => {
    const p = controlPacket({
      state: State.Up,
      detectMult: 3,
      myDiscriminator: 0x11223344,
      yourDiscriminator: 0x55667788,
      desiredMinTx: 100_000,
      requiredMinRx: 100_000,
    });
    // 0x20 = version 1 diag 0; 0xc0 = Up, no flags; 0x03 mult; 0x18 length 24
    expect(hex(encode(p))).toBe(
      '20c00318' + '11223344' + '55667788' + '000186a0' + '000186a0' + '00000000',
    );
    expect(decode(encode(p))).toEqual(p);
  });

  it('RFC 5880 §4.1: decodes a first Down packet (Your Discriminator 0, mult 5)', () => {
    // Hand-assembled: Down, mult 5, My Disc 1, Your 0, 1 s intervals.
    const b = fromHex('20 40 05 18 00000001 00000000 000f4240 000f4240 00000000');
    const p = decode(b);
    expect(p).toMatchObject({
      version: 1,
      state: State.Down,
      detectMult: 5,
      myDiscriminator: 1,
      yourDiscriminator: 0,
      desiredMinTx: 1_000_000,
      requiredMinRx: 1_000_000,
      requiredMinEchoRx: 0,
    });
  });

  it('RFC 5880 §4.1: every flag and field round-trips on its own', () => {
    const flags = ['poll', 'final', 'cpi', 'demand'] as const;
    for (const f of flags) {
      const p = controlPacket({ [f]: true, yourDiscriminator: 9, state: State.Up });
      const b = encode(p);
      expect(decode(b)).toEqual(p);
      // each flag occupies its own bit of octet 1
      expect(b[1]! & 0x3f).toBe({ poll: 0x20, final: 0x10, cpi: 0x08, demand: 0x02 }[f]);
    }
    for (let diag = 0; diag < 32; diag++) {
      expect(decode(encode(controlPacket({ diag }))).diag).toBe(diag);
    }
    for (const state of [0, 1, 2, 3] as StateValue[]) {
      const p = controlPacket({ state, yourDiscriminator: 7 });
      expect(decode(encode(p)).state).toBe(state);
    }
    const big = controlPacket({
      detectMult: 255,
      myDiscriminator: 0xffffffff,
      yourDiscriminator: 0xffffffff,
      desiredMinTx: 0xffffffff,
      requiredMinRx: 0xfffffffe,
      requiredMinEchoRx: 0xfffffffd,
    });
    expect(decode(encode(big))).toEqual(big);
  });

  it('RFC 5880 §4.1: the A bit and Length follow the auth section', () => {
    const auth: AuthSection = { type: 1, keyId: 7, password: new TextEncoder().encode('secret') };
    const p = controlPacket({ auth });
    const b = encode(p);
    expect(b.length).toBe(24 + 3 + 6);
    expect(b[3]).toBe(33);
    expect(b[1]! & 0x04).toBe(0x04);
    expect(decode(b)).toEqual(p);
  });

  it('RFC 5880 §4.2-4.4: every auth type round-trips', () => {
    const sections: AuthSection[] = [
      { type: 1, keyId: 1, password: new Uint8Array([0x61]) },
      { type: 1, keyId: 255, password: new Uint8Array(16).fill(0x7a) },
      { type: 2, keyId: 2, sequence: 0, digest: new Uint8Array(16).fill(1) },
      { type: 3, keyId: 3, sequence: 0xffffffff, digest: new Uint8Array(16).fill(2) },
      { type: 4, keyId: 4, sequence: 12345, digest: new Uint8Array(20).fill(3) },
      { type: 5, keyId: 5, sequence: 1, digest: new Uint8Array(20).fill(4) },
    ];
    for (const auth of sections) {
      const p = controlPacket({ auth });
      const b = encode(p);
      expect(b.length).toBe(
        auth.type === 1 ? 27 + auth.password.length : 24 + 8 + (auth.type < 4 ? 16 : 20),
      );
      expect(decode(b)).toEqual(p);
    }
  });

  it('encode refuses values that do not fit with BfdError("encode")', () => {
    expect(() => encode(controlPacket({ detectMult: 256 }))).toThrow(BfdError);
    expect(() => encode(controlPacket({ myDiscriminator: -1 }))).toThrow(BfdError);
    expect(() =>
      encode(controlPacket({ auth: { type: 1, keyId: 1, password: new Uint8Array(17) } })),
    ).toThrow(BfdError);
  });
});

describe('BFD codec: RFC 5880 §6.8.6 reception checks', () => {
  const good = () => encode(controlPacket());

  it('RFC 5880 §6.8.6: version other than 1 is discarded', () => {
    const b = good();
    b[0] = (2 << 5) | (b[0]! & 0x1f);
    expect(rejectOf(b)).toBe('version');
    b[0] = 0;
    expect(rejectOf(b)).toBe('version');
  });

  it('RFC 5880 §6.8.6: Length < 24 is discarded', () => {
    const b = good();
    b[3] = 23;
    expect(rejectOf(b)).toBe('length');
    expect(rejectOf(b.subarray(0, 10))).toBe('length');
  });

  it('RFC 5880 §6.8.6: Length < 26 with the A bit set is discarded', () => {
    const b = new Uint8Array(26);
    b.set(good());
    b[1] = b[1]! | 0x04;
    b[3] = 25;
    expect(rejectOf(b)).toBe('length');
  });

  it('RFC 5880 §6.8.6: Length greater than the payload is discarded', () => {
    const b = good();
    b[3] = 25;
    expect(rejectOf(b)).toBe('length');
  });

  it('RFC 5880 §6.8.6: Detect Mult zero is discarded', () => {
    const b = good();
    b[2] = 0;
    expect(rejectOf(b)).toBe('detect-mult');
  });

  it('RFC 5880 §6.8.6: Multipoint bit set is discarded', () => {
    expect(rejectOf(encode(controlPacket({ multipoint: true })))).toBe('multipoint');
  });

  it('RFC 5880 §6.8.6: My Discriminator zero is discarded', () => {
    expect(rejectOf(encode(controlPacket({ myDiscriminator: 0 })))).toBe('my-discriminator');
  });

  it('RFC 5880 §6.8.6: Your Discriminator zero with State Init or Up is discarded', () => {
    for (const state of [State.Init, State.Up]) {
      expect(rejectOf(encode(controlPacket({ state, yourDiscriminator: 0 })))).toBe(
        'your-discriminator',
      );
    }
    for (const state of [State.Down, State.AdminDown]) {
      expect(isReject(tryDecode(encode(controlPacket({ state, yourDiscriminator: 0 }))))).toBe(
        false,
      );
    }
  });

  it('RFC 5880 §6.8.6: a malformed auth section is an auth rejection', () => {
    const b = encode(
      controlPacket({ auth: { type: 2, keyId: 1, sequence: 1, digest: new Uint8Array(16) } }),
    );
    b[25] = 20; // Auth Len must be 24 for Keyed MD5
    expect(rejectOf(b)).toBe('auth');
    const c = encode(controlPacket({ auth: { type: 1, keyId: 1, password: new Uint8Array(4) } }));
    c[24] = 9; // unknown type
    expect(rejectOf(c)).toBe('auth');
  });

  it('RFC 5880 §6.8.6: A bit set but no authentication in use is discarded', () => {
    const cfg: AuthConfig = { type: 1, keyId: 1, secret: new TextEncoder().encode('pw') };
    const bytes = signPacket(controlPacket(), cfg, newAuthState());
    const p = decode(bytes);
    expect(verifyPacket(p, bytes, undefined, newAuthState(), 3)?.check).toBe('auth-mismatch');
    const plain = encode(controlPacket());
    expect(verifyPacket(decode(plain), plain, cfg, newAuthState(), 3)?.check).toBe('auth-mismatch');
  });
});

describe('BFD codec: property tests', () => {
  it('random bytes only ever yield a packet or a typed rejection; decode throws only BfdError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (bytes) => {
        const r = tryDecode(bytes);
        if (isReject(r)) {
          expect(typeof r.check).toBe('string');
          try {
            decode(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(BfdError);
          }
        } else {
          expect(r.version).toBe(1);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('random header-shaped bytes (version 1, length 24) never throw anything but BfdError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 24, maxLength: 60 }), (bytes) => {
        bytes[0] = (1 << 5) | (bytes[0]! & 0x1f);
        bytes[3] = Math.min(bytes.length, Math.max(24, bytes[3]!));
        try {
          decode(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(BfdError);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  const authArb: fc.Arbitrary<AuthSection | undefined> = fc.oneof(
    fc.constant(undefined),
    fc.record({
      type: fc.constant(1 as const),
      keyId: fc.integer({ min: 0, max: 255 }),
      password: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
    fc
      .record({
        type: fc.constantFrom(2 as const, 3 as const, 4 as const, 5 as const),
        keyId: fc.integer({ min: 0, max: 255 }),
        sequence: fc.integer({ min: 0, max: 0xffffffff }),
        seed: fc.integer({ min: 0, max: 255 }),
      })
      .map(({ type, keyId, sequence, seed }) => ({
        type,
        keyId,
        sequence,
        digest: new Uint8Array(type < 4 ? 16 : 20).fill(seed),
      })),
  );

  it('RFC 5880 §4.1: random valid packets round-trip', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const arb = fc
      .record({
        diag: fc.integer({ min: 0, max: 31 }),
        state: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<StateValue>,
        poll: fc.boolean(),
        final: fc.boolean(),
        cpi: fc.boolean(),
        demand: fc.boolean(),
        detectMult: fc.integer({ min: 1, max: 255 }),
        myDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
        yourDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
        desiredMinTx: u32,
        requiredMinRx: u32,
        requiredMinEchoRx: u32,
        auth: authArb,
      })
      .map((r): ControlPacket => {
        const { auth, ...rest } = r;
        const p: ControlPacket = { version: 1, multipoint: false, ...rest };
        if (auth !== undefined) p.auth = auth;
        return p;
      });
    fc.assert(
      fc.property(arb, (p) => {
        expect(decode(encode(p))).toEqual(p);
      }),
      { numRuns: 5_000 },
    );
  });
});
