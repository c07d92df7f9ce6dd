import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePrefix, tryParsePrefix } from '../../../src/bgp/prefix.ts';

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
