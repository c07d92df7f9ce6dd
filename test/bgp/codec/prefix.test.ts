import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalAddress,
  formatAddress,
  formatPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
} from '../../../src/bgp/prefix.ts';

describe('addresses', () => {
  it('IPv4 dotted quad round-trips', () => {
    for (const a of ['0.0.0.0', '192.0.2.1', '255.255.255.255', '10.0.0.10']) {
      expect(formatAddress(parseAddress(a).bytes)).toBe(a);
    }
  });

  it('RFC 5952 §4: IPv6 canonical text', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:DB8::1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 first longest run
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 single zero not compressed
      ['0:0:0:0:0:0:0:0', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['2001:db8::0:1', '2001:db8::1'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // §5 mixed notation
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ];
    for (const [input, canon] of cases)
      expect(formatAddress(parseAddress(input).bytes)).toBe(canon);
  });

  it('bad addresses throw a plain Error naming the input', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1..2.3',
      '1:2:3',
      '1::2::3',
      '12345::1',
      ':1:2',
      '1:2:3:4:5:6:7:8:9',
      'g::1',
    ]) {
      expect(() => parseAddress(bad), bad).toThrow(Error);
    }
    expect(() => parseAddress('300.1.1.1')).toThrow(/300\.1\.1\.1/);
  });
});

describe('prefixes', () => {
  it('parse and format round-trip', () => {
    for (const p of [
      '0.0.0.0/0',
      '192.0.2.0/24',
      '192.0.2.1/32',
      '2001:db8::/32',
      '::/0',
      '2001:db8:1::/48',
    ]) {
      const x = parsePrefix(p);
      expect(formatPrefix(x)).toBe(p);
    }
    expect(parsePrefix('2001:db8::/32')).toMatchObject({ afi: 2, len: 32 });
    expect(parsePrefix('192.0.2.0/24').bytes).toEqual(new Uint8Array([192, 0, 2, 0]));
  });

  it('bad prefixes throw clear errors', () => {
    expect(() => parsePrefix('192.0.2.1/24')).toThrow(/host bits set.*192\.0\.2\.0\/24/);
    expect(() => parsePrefix('192.0.2.0')).toThrow(/missing "\/length"/);
    expect(() => parsePrefix('192.0.2.0/33')).toThrow(/exceeds 32/);
    expect(() => parsePrefix('2001:db8::/129')).toThrow(/exceeds 128/);
    expect(() => parsePrefix('192.0.2.0/x')).toThrow(/not a number/);
    expect(() => parsePrefix('192.0.2/24')).toThrow(/bad IPv4/);
  });

  it('prefixContains', () => {
    expect(prefixContains('192.0.2.0/24', '192.0.2.128/25')).toBe(true);
    expect(prefixContains('192.0.2.0/24', '192.0.2.0/24')).toBe(true);
    expect(prefixContains('192.0.2.0/25', '192.0.2.128/25')).toBe(false);
    expect(prefixContains('192.0.2.0/25', '192.0.2.0/24')).toBe(false);
    expect(prefixContains('0.0.0.0/0', '198.51.100.0/24')).toBe(true);
    expect(prefixContains('2001:db8::/32', '2001:db8:ffff::/48')).toBe(true);
    expect(prefixContains('2001:db8::/33', '2001:db8:8000::/48')).toBe(false);
    expect(prefixContains('::/0', '192.0.2.0/24')).toBe(false);
  });
});

describe('property: address text', () => {
  it('RFC 5952 §4: IPv6 text matches the WHATWG URL serializer and parses back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(8), (b, zeros) => {
        b.fill(0, 0, Math.min(16, zeros * 2)); // runs of zero groups are the interesting part
        const text = formatAddress(b);
        expect(parseAddress(text).bytes).toEqual(b);
        if (!text.startsWith('::ffff:') || text.split(':').length > 4) {
          expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv4 text parses back and prefixes round-trip', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 32 }),
        (b, len) => {
          expect(parseAddress(formatAddress(b)).bytes).toEqual(b);
          const p = formatPrefix({ afi: 1, len, bytes: b });
          expect(formatPrefix(parsePrefix(p))).toBe(p);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('canonicalAddress: the one address canonicaliser', () => {
  it('RFC 5952 §4: IPv6 lower case, leading zeros dropped, the longest zero run compressed', () => {
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalAddress('2001:0db8:0000:0001:0000:0000:0000:0001')).toBe('2001:db8:0:1::1');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80::1');
  });

  it('IPv4 dotted quad; an IPv4-mapped IPv6 address (a dual-stack socket) is the IPv4 address', () => {
    expect(canonicalAddress('192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalAddress('::FFFF:c000:0201')).toBe('192.0.2.1');
  });

  it('null for what is no address', () => {
    for (const t of ['', 'x', '192.0.2', '192.0.2.01', '1::2::3', '256.0.0.1']) {
      expect(canonicalAddress(t)).toBeNull();
    }
  });
});
