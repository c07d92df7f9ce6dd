import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type AuthConfig, newAuthState, signPacket, verifyPacket } from '../../src/bfd/auth.ts';
import { type AuthTypeValue, controlPacket, decode, State } from '../../src/bfd/codec.ts';

const key = (s: string) => new TextEncoder().encode(s);

function cfg(type: AuthTypeValue, secret = 'k3y'): AuthConfig {
  return { type, keyId: 9, secret: key(secret) };
}

describe('BFD authentication (RFC 5880 §6.7)', () => {
  it('RFC 5880 §6.7.2: simple password is accepted when equal, rejected otherwise', () => {
    const tx = newAuthState();
    const b = signPacket(controlPacket(), cfg(1, 'pw'), tx);
    expect(verifyPacket(decode(b), b, cfg(1, 'pw'), newAuthState(), 3)).toBeNull();
    expect(verifyPacket(decode(b), b, cfg(1, 'px'), newAuthState(), 3)?.check).toBe('auth');
    expect(
      verifyPacket(decode(b), b, { ...cfg(1, 'pw'), keyId: 1 }, newAuthState(), 3)?.check,
    ).toBe('auth');
  });

  for (const type of [2, 3, 4, 5] as const) {
    const name = {
      2: 'Keyed MD5',
      3: 'Meticulous Keyed MD5',
      4: 'Keyed SHA1',
      5: 'Meticulous Keyed SHA1',
    }[type];
    const section = type < 4 ? '§6.7.3' : '§6.7.4';
    it(`RFC 5880 ${section}: ${name} digest verifies and detects tampering`, () => {
      const tx = newAuthState(100);
      const b = signPacket(controlPacket({ myDiscriminator: 42 }), cfg(type), tx);
      const rx = newAuthState();
      expect(verifyPacket(decode(b), b, cfg(type), rx, 3)).toBeNull();
      expect(rx.seqKnown).toBe(true);
      // digest is over the packet with the key in the digest field
      const copy = Uint8Array.from(b);
      const dl = type < 4 ? 16 : 20;
      copy.fill(0, 32, 32 + dl);
      copy.set(key('k3y'), 32);
      const want = createHash(type < 4 ? 'md5' : 'sha1')
        .update(copy)
        .digest();
      expect(Buffer.from(b.subarray(32)).equals(want)).toBe(true);
      const bad = Uint8Array.from(b);
      bad[10] = bad[10]! ^ 1;
      expect(verifyPacket(decode(bad), bad, cfg(type), newAuthState(), 3)?.check).toBe('auth');
      expect(verifyPacket(decode(b), b, cfg(type, 'other'), newAuthState(), 3)?.check).toBe('auth');
    });

    it(`RFC 5880 ${section}: ${name} sequence numbers follow the rules`, () => {
      const meticulous = type === 3 || type === 5;
      const tx = newAuthState(0xfffffffe);
      const p = controlPacket({ state: State.Down });
      const seqs: number[] = [];
      for (let i = 0; i < 4; i++)
        seqs.push((decode(signPacket(p, cfg(type), tx)).auth as { sequence: number }).sequence);
      if (meticulous) {
        // every packet increments, wrapping at 2^32
        expect(seqs).toEqual([0xffffffff, 0, 1, 2]);
      } else {
        // unchanged content keeps the number; a new state increments it
        expect(new Set(seqs).size).toBe(1);
        const s2 = decode(
          signPacket(controlPacket({ state: State.Init, yourDiscriminator: 5 }), cfg(type), tx),
        ).auth!;
        expect((s2 as { sequence: number }).sequence).toBe((seqs[0]! + 1) >>> 0);
      }
      // receiver window: meticulous needs > last, keyed accepts equal; both ≤ last + 3×mult
      const rx = newAuthState();
      const send = (seq: number) => {
        const st = newAuthState(seq);
        st.lastState = State.Down;
        // signPacket pre-increments for the meticulous types
        return signPacket(p, cfg(type), st);
      };
      const base = 1000;
      const first = send(meticulous ? base - 1 : base);
      expect(verifyPacket(decode(first), first, cfg(type), rx, 3)).toBeNull();
      expect(rx.rcvSeq).toBe(base);
      const same = send(meticulous ? base - 1 : base);
      const sameResult = verifyPacket(decode(same), same, cfg(type), rx, 3);
      if (meticulous) expect(sameResult?.check).toBe('auth');
      else expect(sameResult).toBeNull();
      const far = send(meticulous ? base + 9 : base + 10); // base + 10 > base + 3*3
      expect(verifyPacket(decode(far), far, cfg(type), rx, 3)?.check).toBe('auth');
      const edge = send(meticulous ? base + 8 : base + 9); // exactly base + 9
      expect(verifyPacket(decode(edge), edge, cfg(type), rx, 3)).toBeNull();
      expect(rx.rcvSeq).toBe(base + 9);
    });
  }
});

describe('BFD authentication against BIRD 2 captures (fixtures/bfd)', () => {
  // Keys as configured by scripts/capture-bfd-fixtures.ts (key id 7).
  const captures: [string, AuthTypeValue, string][] = [
    ['simple', 1, 'ixrs-simple'],
    ['keyed-md5', 2, 'ixrs-md5'],
    ['meticulous-keyed-md5', 3, 'ixrs-mmd5'],
    ['keyed-sha1', 4, 'ixrs-sha1'],
    ['meticulous-keyed-sha1', 5, 'ixrs-msha1'],
  ];
  const dir = new URL('../../fixtures/bfd/', import.meta.url);
  for (const [slug, type, secret] of captures) {
    for (const fam of ['v4', 'v6']) {
      const file = new URL(`bird-down-${fam}-${slug}.hex`, dir);
      const section = type === 1 ? '§6.7.2' : type <= 3 ? '§6.7.3' : '§6.7.4';
      it(`RFC 5880 ${section}: BIRD's ${slug} packet (${fam}) verifies with its key, not another`, () => {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          throw new Error(`missing fixture ${file.pathname}`);
        }
        const bytes = new Uint8Array(Buffer.from(text.replace(/[^0-9a-f]/gi, ''), 'hex'));
        const p = decode(bytes);
        const good: AuthConfig = { type, keyId: 7, secret: key(secret) };
        expect(verifyPacket(p, bytes, good, newAuthState(), 3)).toBeNull();
        const bad: AuthConfig = { type, keyId: 7, secret: key(`${secret}x`) };
        expect(verifyPacket(p, bytes, bad, newAuthState(), 3)?.check).toBe('auth');
      });
    }
  }
});
