import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePrefix, tryParsePrefix, tryParsePrefixInto } from '../../../src/bgp/prefix.ts';

function viaThrowing(text: string): ReturnType<typeof tryParsePrefix> {
  try {
    return parsePrefix(text);
  } catch {
    return null;
  }
}

describe('tryParsePrefix', () => {
  it('agrees with parsePrefix on fixed cases', () => {
    for (const t of [
      '10.0.0.0/8',
      '10.0.0.1/8',
      '0.0.0.0/0',
      '1.2.3.4/32',
      '1.2.3.0/33',
      '1.2.3.0/024',
      '1.2.3.0/',
      '1.2.3.0',
      '2001:db8::/32',
      '2001:db8::1/32',
      '::/0',
      '2001:db8::/129',
      '300.1.1.0/24',
      'x/1',
    ]) {
      expect(tryParsePrefix(t), t).toEqual(viaThrowing(t));
    }
  });

  it('agrees with parsePrefix on random text of prefix characters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f.:]{0,12}\/[0-9]{0,4}$/), (t) => {
        expect(tryParsePrefix(t)).toEqual(viaThrowing(t));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with parsePrefix on random IPv4 addresses and lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(40), (b, len) => {
        const t = `${b.join('.')}/${len}`;
        expect(tryParsePrefix(t)).toEqual(viaThrowing(t));
      }),
    );
  });
});

describe('tryParsePrefixInto', () => {
  const v4 = { afi: 1 as const, len: 0, bytes: new Uint8Array(4) };
  const v6 = { afi: 2 as const, len: 0, bytes: new Uint8Array(16) };

  it('agrees with tryParsePrefix on random text, parsing into the caller-owned object of the family', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.stringMatching(/^[0-9a-f.:]{0,12}\/[0-9]{0,4}$/),
          fc
            .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(40))
            .map(([b, len]) => `${b.join('.')}/${len}`),
        ),
        (t) => {
          const want = tryParsePrefix(t);
          const got = tryParsePrefixInto(t, v4, v6);
          if (want === null) expect(got).toBeNull();
          else {
            expect(got).toBe(want.afi === 1 ? v4 : v6);
            expect({ afi: got!.afi, len: got!.len, bytes: got!.bytes }).toEqual(want);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('leaves no bytes of an earlier, longer prefix behind', () => {
    expect(tryParsePrefixInto('2001:db8:ffff:ffff::/64', v4, v6)!.bytes[5]).toBe(0xff);
    const p = tryParsePrefixInto('2001:db8::/32', v4, v6)!;
    expect([...p.bytes]).toEqual([0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)]);
    expect(tryParsePrefixInto('10.1.2.0/24', v4, v6)).toEqual({
      afi: 1,
      len: 24,
      bytes: Uint8Array.of(10, 1, 2, 0),
    });
  });
});
