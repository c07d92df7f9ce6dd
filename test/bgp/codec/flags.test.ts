// Attribute flags as received and as sent (RFC 4271 §4.3, §5), and the RFC
// 7606 rules that depend on the peer being external (§7.5, §7.9, §7.10).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeAttributes, sendFlags } from '../../../src/bgp/attributes.ts';
import {
  AttrInterner,
  decodeMessage,
  encodeMessage,
  encodeUpdates,
  worstAction,
} from '../../../src/bgp/codec.ts';
import { buildOpen, negotiate } from '../../../src/bgp/negotiate.ts';
import type { CodecOptions, UpdateMessage } from '../../../src/bgp/types.ts';
import { hex, msg, thrown, toHex } from './helpers.ts';

const EXT: CodecOptions = { as4: true, external: true };
const INT: CodecOptions = { as4: true };

function attr(flags: number, type: number, value: string): string {
  const v = hex(value);
  const len =
    flags & 0x10
      ? `${(v.length >> 8).toString(16).padStart(2, '0')}${(v.length & 0xff).toString(16).padStart(2, '0')}`
      : v.length.toString(16).padStart(2, '0');
  return `${flags.toString(16).padStart(2, '0')}${type.toString(16).padStart(2, '0')}${len}${toHex(v)}`;
}

function update(attrs: string, nlri = '18 c63364'): Uint8Array {
  const a = hex(attrs);
  return msg(2, `0000${a.length.toString(16).padStart(4, '0')}${attrs}${nlri}`);
}

const dec = (b: Uint8Array, o: CodecOptions = EXT, i?: AttrInterner): UpdateMessage =>
  decodeMessage(b, o, i) as UpdateMessage;

const ORIGIN = attr(0x40, 1, '00');
const AS_PATH = attr(0x40, 2, '02 02 0000fbf4 0000fbf5');
const NEXT_HOP = attr(0x40, 3, 'c0000201');
const BASE = ORIGIN + AS_PATH + NEXT_HOP;

describe('RFC 4271 §4.3: flags octets in attrs.wire are as they must be sent', () => {
  it('sendFlags: unused bits cleared, O/T by type, Partial only when optional transitive, Extended Length by size', () => {
    expect(sendFlags(0x4f, 1, 1)).toBe(0x40);
    expect(sendFlags(0x60, 2, 10)).toBe(0x40);
    expect(sendFlags(0xa0, 4, 4)).toBe(0x80);
    expect(sendFlags(0xe0, 8, 4)).toBe(0xe0);
    expect(sendFlags(0xd0, 8, 4)).toBe(0xc0);
    expect(sendFlags(0xc0, 8, 400)).toBe(0xd0);
    expect(sendFlags(0xe7, 250, 3)).toBe(0xe0); // unknown: O/T as received
    expect(sendFlags(0x80, 1, 1)).toBe(0x40); // a known type gets its own O/T
  });

  const cases: [string, string, string][] = [
    [
      'unused low-order bits are cleared',
      attr(0x4f, 1, '00') + attr(0x41, 2, '02 02 0000fbf4 0000fbf5') + NEXT_HOP,
      BASE,
    ],
    [
      'Partial on a well-known attribute is cleared',
      ORIGIN + AS_PATH + attr(0x60, 3, 'c0000201'),
      BASE,
    ],
    [
      'Partial on an optional non-transitive attribute is cleared',
      BASE + attr(0xa0, 4, '00000001'),
      BASE + attr(0x80, 4, '00000001'),
    ],
    [
      'Extended Length on a short attribute becomes a one-octet length',
      ORIGIN + attr(0x50, 2, '02 02 0000fbf4 0000fbf5') + NEXT_HOP + attr(0xd0, 8, 'fbf40001'),
      BASE + attr(0xc0, 8, 'fbf40001'),
    ],
    [
      'RFC 4271 §5: Partial on an optional transitive attribute is kept',
      BASE + attr(0xe0, 8, 'fbf40001'),
      BASE + attr(0xe0, 8, 'fbf40001'),
    ],
    [
      'RFC 4271 §5: an unknown optional transitive attribute keeps Partial, loses the rest',
      BASE + attr(0xfa, 250, '0102'),
      BASE + attr(0xe0, 250, '0102'),
    ],
  ];
  for (const [title, received, sent] of cases) {
    it(title, () => {
      const u = dec(update(received));
      expect(u.errors).toEqual([]);
      expect(toHex(u.attrs!.wire)).toBe(toHex(hex(sent)));
      // the same attributes as a correct speaker sends them decode to equal values
      const ref = dec(update(sent));
      expect({ ...u.attrs, wire: null }).toEqual({ ...ref.attrs, wire: null });
    });
  }

  it('a section with bad flags shares the interned set of the correct one', () => {
    const i = new AttrInterner();
    const good = dec(update(BASE + attr(0x80, 4, '00000001')), EXT, i);
    const bad = dec(
      update(attr(0x4f, 1, '00') + AS_PATH + NEXT_HOP + attr(0xa3, 4, '00000001')),
      EXT,
      i,
    );
    expect(bad.attrs).toBe(good.attrs);
    expect(i.size).toBe(1);
  });

  it('RFC 4271 §5: Partial stays on a recognised optional transitive attribute that is re-encoded', () => {
    // a 2-octet-AS session: the section is re-encoded (4-octet AS_PATH)
    const u = dec(
      update(ORIGIN + attr(0x40, 2, '02 01 fbf4') + NEXT_HOP + attr(0xe0, 8, 'fbf40001')),
      { as4: false },
    );
    expect(u.attrs!.partial).toEqual([8]);
    expect(toHex(u.attrs!.wire)).toBe(
      toHex(hex(ORIGIN + attr(0x40, 2, '02 01 0000fbf4') + NEXT_HOP + attr(0xe0, 8, 'fbf40001'))),
    );
    // and toward a 2-octet-AS peer
    const [m] = encodeUpdates(
      { as4: false },
      { afi: 1, safi: 1, attrs: u.attrs!, nlri: [{ prefix: '198.51.100.0/24' }], withdrawn: [] },
    );
    expect(toHex(m!)).toContain(attr(0xe0, 8, 'fbf40001'));
    const made = makeAttributes({ origin: 0, communities: [1], partial: [8] });
    expect(toHex(made.wire)).toContain(attr(0xe0, 8, '00000001'));
  });

  it('property: whatever the flags bits a speaker may get wrong without a §3.c conflict, the wire carries the right ones and the same values', () => {
    // per attribute: [low bits, Partial, Extended Length]
    const junk = fc.tuple(fc.integer({ min: 0, max: 15 }), fc.boolean(), fc.boolean());
    fc.assert(
      fc.property(fc.array(junk, { minLength: 6, maxLength: 6 }), (js) => {
        const spec: [number, number, string][] = [
          [0x40, 1, '02'],
          [0x40, 2, '02 02 0000fbf4 0000fbf5'],
          [0x40, 3, 'c0000201'],
          [0x80, 4, '00000009'],
          [0xc0, 8, 'fbf40001 fbf40002'],
          [0xc0, 32, '0000fbf4 00000001 00000002'],
        ];
        const received = spec
          .map(([f, t, v], k) => {
            const [low, partial, ext] = js[k]!;
            return attr(f | low | (partial ? 0x20 : 0) | (ext ? 0x10 : 0), t, v);
          })
          .join('');
        const sent = spec
          .map(([f, t, v], k) => attr(f === 0xc0 && js[k]![1] ? 0xe0 : f, t, v))
          .join('');
        const u = dec(update(received));
        expect(u.errors).toEqual([]);
        expect(toHex(u.attrs!.wire)).toBe(toHex(hex(sent)));
      }),
    );
  });
});

describe('RFC 7606 §7.5, §7.9, §7.10: attributes an external peer must not send', () => {
  const cases: [string, string, number][] = [
    ['RFC 7606 §7.5: LOCAL_PREF', attr(0x40, 5, '00000064'), 5],
    ['RFC 7606 §7.5: LOCAL_PREF of length 0', attr(0x40, 5, ''), 5],
    ['RFC 7606 §7.5: LOCAL_PREF of length 5', attr(0x40, 5, '0000006400'), 5],
    ['RFC 7606 §7.5: LOCAL_PREF flagged optional', attr(0x80, 5, '00000064'), 5],
    ['RFC 7606 §7.9: ORIGINATOR_ID of length 2', attr(0x80, 9, '0001'), 9],
    ['RFC 7606 §7.9: ORIGINATOR_ID flagged transitive', attr(0xc0, 9, 'c0000203'), 9],
    ['RFC 7606 §7.10: CLUSTER_LIST of length 6', attr(0x80, 10, '000000010002'), 10],
    ['RFC 7606 §7.10: CLUSTER_LIST of length 0', attr(0x80, 10, ''), 10],
  ];
  for (const [title, bad, type] of cases) {
    it(`${title} from an external peer is attribute-discard, not treat-as-withdraw`, () => {
      const u = dec(update(BASE + bad));
      expect(worstAction(u.errors)).toBe('attribute-discard');
      expect(u.errors.map((e) => e.discarded)).toEqual([[type]]);
      expect(u.errors[0]!.reason).toMatch(/external peer \(RFC 7606 §7\.(5|9|10)\)/);
      expect(u.nlri).toEqual([{ prefix: '198.51.100.0/24' }]);
      expect(toHex(u.attrs!.wire)).toBe(toHex(hex(BASE)));
      expect(u.attrs!.localPref).toBeUndefined();
    });
  }

  it('RFC 7606 §7.5: a malformed LOCAL_PREF from an internal peer stays treat-as-withdraw', () => {
    expect(worstAction(dec(update(BASE + attr(0x40, 5, '')), INT).errors)).toBe(
      'treat-as-withdraw',
    );
    expect(dec(update(BASE + attr(0x40, 5, '00000064')), INT).attrs!.localPref).toBe(100);
  });

  it('RFC 7606 §7.5 / §5.2: a malformed LOCAL_PREF from an external peer in an UPDATE without NLRI is no session reset', () => {
    // MP_UNREACH_NLRI (IPv6, one prefix) + a malformed LOCAL_PREF
    const body = attr(0x80, 15, '0002 01 20 20010db8') + ORIGIN + attr(0x40, 5, '00');
    const u = dec(update(body, ''));
    expect(worstAction(u.errors)).toBe('attribute-discard');
    expect(u.mpUnreach!.nlri).toEqual([{ prefix: '2001:db8::/32' }]);
    // from an internal peer the same is a session reset (§5.2)
    expect(thrown(() => dec(update(body, ''), INT)).code).toBe(3);
  });

  it('the interner fast path never serves a section holding LOCAL_PREF to an external peer', () => {
    const i = new AttrInterner();
    const withLp = BASE + attr(0x40, 5, '00000064');
    const internal = dec(update(withLp), INT, i);
    expect(internal.attrs!.localPref).toBe(100);
    const external = dec(update(withLp), EXT, i);
    expect(external.attrs!.localPref).toBeUndefined();
    expect(worstAction(external.errors)).toBe('attribute-discard');
  });

  it('negotiate() marks a session with a peer in another AS as external, not one in ours', () => {
    const local = { localAs: 64500, routerId: 1, peerAs: 64501, families: [{ afi: 1, safi: 1 }] };
    const ours = buildOpen(local);
    const theirs = buildOpen({ ...local, localAs: 64501, routerId: 2, peerAs: 64500 });
    expect(negotiate(local, ours, theirs).codec.external).toBe(true);
    const ibgp = { ...local, peerAs: 64500 };
    const them = buildOpen({ ...ibgp, routerId: 2 });
    expect(negotiate(ibgp, buildOpen(ibgp), them).codec.external).toBe(false);
  });

  it('encodeMessage round-trips an UPDATE decoded from an external peer', () => {
    const u = dec(update(BASE + attr(0x40, 5, '00000064')));
    const again = dec(encodeMessage(u, EXT));
    expect(toHex(again.attrs!.wire)).toBe(toHex(hex(BASE)));
  });
});

describe('RFC 7606 §7: rules the main table did not test yet', () => {
  it('RFC 7606 §7.2: AS_PATH with a single octet after the last segment is treat-as-withdraw', () => {
    const u = dec(update(ORIGIN + attr(0x40, 2, '02 01 0000fbf4 02') + NEXT_HOP));
    expect(worstAction(u.errors)).toBe('treat-as-withdraw');
    expect(u.errors[0]!.subcode).toBe(11);
  });

  it('RFC 7606 §7.13, §7.15: Traffic Engineering (24) and IPv6 Address Specific Extended Community (25) are not recognised: passed on with the Partial bit, unchecked', () => {
    // lengths the RFC calls malformed for a speaker that recognises them
    const u = dec(update(BASE + attr(0xc0, 24, '0102') + attr(0xc0, 25, '01020304')));
    expect(u.errors).toEqual([]);
    expect(toHex(u.attrs!.wire)).toBe(
      toHex(hex(BASE + attr(0xe0, 24, '0102') + attr(0xe0, 25, '01020304'))),
    );
  });

  it('RFC 9552 §8.2.2: an empty BGP-LS attribute is attribute-discard', () => {
    const u = dec(update(BASE + attr(0x80, 29, '')));
    expect(worstAction(u.errors)).toBe('attribute-discard');
    expect(u.errors[0]!.discarded).toEqual([29]);
    expect(toHex(u.attrs!.wire)).toBe(toHex(hex(BASE)));
  });
});
