import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/bgp/prefix.ts';
import { DEFAULT_BOGONS, PrefixRuleSet, parseRangedPrefix } from '../../src/rs/bogons.ts';

const set = new PrefixRuleSet(DEFAULT_BOGONS);
const hit = (s: PrefixRuleSet, p: string): boolean => s.matches(parsePrefix(p));

describe('default bogons (IANA special-purpose registries, RFC 6890)', () => {
  it('matches special-purpose prefixes and their more specifics', () => {
    for (const p of [
      '10.0.0.0/8',
      '10.1.2.0/24',
      '100.64.0.0/10',
      '127.0.0.0/8',
      '169.254.1.0/24',
      '192.168.0.0/16',
      '224.0.0.0/4',
      '240.0.0.0/5',
      '192.0.2.0/24',
      'fe80::/10',
      'fc00::/7',
      'fd00::/8',
      '2001:db8:1::/48',
      '2002::/16',
      'ff02::/16',
      '::/8',
      '64:ff9b::/96',
    ]) {
      expect(hit(set, p), p).toBe(true);
    }
  });

  it('the default route only exactly', () => {
    expect(hit(set, '0.0.0.0/0')).toBe(true);
    expect(hit(set, '::/0')).toBe(true);
    expect(hit(set, '1.0.0.0/8')).toBe(false);
  });

  it('leaves global unicast alone', () => {
    for (const p of [
      '193.0.0.0/21',
      '8.8.8.0/24',
      '100.0.0.0/10',
      '2001:67c:2e8::/48',
      '2a00::/12',
      '2001:4860::/32',
    ]) {
      expect(hit(set, p), p).toBe(false);
    }
  });
});

describe('prefix rules: exact, or-longer, {ge,le} ranges', () => {
  it('arouteserver IRR notation 192.0.2.0/24{24,32}', () => {
    const r = parseRangedPrefix('193.0.10.0/23{23,24}');
    expect(r).toEqual({ prefix: '193.0.10.0/23', ge: 23, le: 24 });
    const s = new PrefixRuleSet([r as { prefix: string }]);
    expect(hit(s, '193.0.10.0/23')).toBe(true);
    expect(hit(s, '193.0.11.0/24')).toBe(true);
    expect(hit(s, '193.0.11.0/25')).toBe(false);
    expect(hit(s, '193.0.8.0/22')).toBe(false);
    expect(parseRangedPrefix('193.0.10.0/23')).toEqual({ prefix: '193.0.10.0/23', exact: true });
    expect(parseRangedPrefix('193.0.10.1/23')).toMatch(/host bits/);
  });

  it('empty set matches nothing', () => {
    expect(hit(new PrefixRuleSet([]), '10.0.0.0/8')).toBe(false);
  });
});
