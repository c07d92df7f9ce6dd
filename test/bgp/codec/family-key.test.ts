import { describe, expect, it } from 'vitest';
import { familyKey } from '../../../src/bgp/types.ts';

describe('familyKey', () => {
  it('RFC 4760 §5: AFI/SAFI pair as "afi/safi", constant for IPv4/IPv6 unicast', () => {
    expect(familyKey(1, 1)).toBe('1/1');
    expect(familyKey(2, 1)).toBe('2/1');
    expect(familyKey(16388, 71)).toBe('16388/71');
    expect(familyKey(1, 2)).toBe('1/2');
  });
});
