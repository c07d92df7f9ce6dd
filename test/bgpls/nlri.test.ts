// BGP-LS NLRI and attribute codec: round trips for every TLV, exact bytes of a
// hand-built profile NLRI, ordering and tolerance rules.

import { describe, expect, it } from 'vitest';
import {
  BgpLsError,
  compareTlv,
  decodeLsAttribute,
  decodeNlri,
  encodeLsAttribute,
  encodeNlri,
  type LinkNlri,
  type LsAttribute,
  type LsNlri,
  nlriKey,
} from '../../src/bgpls/codec.ts';
import { hex, unhex } from './helpers.ts';

function roundTrip(n: LsNlri): void {
  const b = encodeNlri(n);
  const d = decodeNlri(b);
  expect(d).toEqual(n);
  expect(encodeNlri(d)).toEqual(b);
}

const profileV4: LinkNlri = {
  kind: 'link',
  protocolId: 7,
  identifier: 0n,
  local: { asn: 65001, bgpRouterId: '192.0.2.1' },
  remote: { asn: 65002, bgpRouterId: '192.0.2.2' },
  link: { ipv4Interface: '192.0.2.1', ipv4Neighbor: '192.0.2.2' },
};

// Type 2, length; Protocol-ID 7; Identifier 0; 256 {512, 516}; 257 {512, 516}; 259; 260.
const profileV4Hex = `
  0002 0041 07 0000000000000000
  0100 0010 0200 0004 0000fde9 0204 0004 c0000201
  0101 0010 0200 0004 0000fdea 0204 0004 c0000202
  0103 0004 c0000201
  0104 0004 c0000202`;

describe('BGP-LS NLRI', () => {
  it('RFC 9552 §5.2.2: the profile Link NLRI has the expected bytes', () => {
    expect(hex(encodeNlri(profileV4))).toBe(hex(unhex(profileV4Hex)));
    expect(decodeNlri(unhex(profileV4Hex))).toEqual(profileV4);
  });

  it('RFC 9552 §5.2.1.4 / RFC 9086 §4.2: every node descriptor sub-TLV round-trips', () => {
    roundTrip({
      kind: 'node',
      protocolId: 2,
      identifier: 0xfedcba9876543210n,
      local: {
        asn: 4200000000,
        bgpLsId: 7,
        ospfArea: 0xffffffff,
        igpRouterId: unhex('1920 0000 2001'),
        bgpRouterId: '198.51.100.7',
        memberAsn: 64512,
        unknown: [{ type: 600, value: unhex('abcd') }],
      },
    });
    for (const len of [4, 6, 7, 8]) {
      roundTrip({
        kind: 'node',
        protocolId: 3,
        identifier: 1n,
        local: { igpRouterId: new Uint8Array(len).fill(len) },
      });
    }
  });

  it('RFC 9552 §5.2.2: every link descriptor TLV round-trips', () => {
    roundTrip({
      kind: 'link',
      protocolId: 1,
      identifier: 42n,
      local: { asn: 1, igpRouterId: unhex('01020304') },
      remote: { asn: 2, igpRouterId: unhex('05060708') },
      link: {
        linkIds: { local: 0xffffffff, remote: 3 },
        ipv4Interface: '192.0.2.1',
        ipv4Neighbor: '192.0.2.2',
        ipv6Interface: '2001:db8::1',
        ipv6Neighbor: '2001:db8::2',
        multiTopology: [0, 2, 0x0fff],
        unknown: [
          { type: 264, value: unhex('01') },
          { type: 1000, value: new Uint8Array(0) },
        ],
      },
    });
  });

  it('RFC 9552 §5.2: Prefix NLRI (3, 4) and unknown types are kept opaque, byte-exact', () => {
    for (const t of [3, 4, 5, 65535]) {
      const b = unhex(`${t.toString(16).padStart(4, '0')}0005 0102030405`);
      const d = decodeNlri(b);
      expect(d).toEqual({ kind: 'opaque', nlriType: t, value: unhex('0102030405') });
      expect(encodeNlri(d)).toEqual(b);
    }
  });

  it('RFC 9552 §5.1: encode sorts TLVs by type, then by value', () => {
    const n: LsNlri = {
      kind: 'link',
      protocolId: 7,
      identifier: 0n,
      local: {
        bgpRouterId: '192.0.2.1',
        asn: 1,
        unknown: [
          { type: 600, value: unhex('02') },
          { type: 600, value: unhex('0100') },
        ],
      },
      remote: { asn: 2, bgpRouterId: '192.0.2.2' },
      link: { ipv4Neighbor: '192.0.2.2', ipv4Interface: '192.0.2.1' },
    };
    const b = encodeNlri(n);
    const types: number[] = [];
    for (let p = 13; p < b.length; ) {
      types.push((b[p]! << 8) | b[p + 1]!);
      p += 4 + ((b[p + 2]! << 8) | b[p + 3]!);
    }
    expect(types).toEqual([256, 257, 259, 260]);
    // local node descriptor sub-TLVs: 512, 516, 600 (0100), 600 (02)
    const local = b.subarray(17, 17 + ((b[15]! << 8) | b[16]!));
    expect(hex(local)).toBe('020000040000000102040004c00002010258000201000258000102');
    expect(
      compareTlv({ type: 1, value: unhex('0100') }, { type: 1, value: unhex('02') }),
    ).toBeLessThan(0);
  });

  it('RFC 9552 §5.1 tolerated: descriptors and sub-TLVs in any order decode to the same NLRI', () => {
    const swapped = unhex(`
      0002 0041 07 0000000000000000
      0104 0004 c0000202
      0101 0010 0204 0004 c0000202 0200 0004 0000fdea
      0103 0004 c0000201
      0100 0010 0200 0004 0000fde9 0204 0004 c0000201`);
    const d = decodeNlri(swapped);
    expect(d).toEqual(profileV4);
    expect(nlriKey(d)).toBe(nlriKey(profileV4));
  });

  it('RFC 9552 §5.2.1.4: a 513 BGP-LS Identifier of 0 is kept but does not change the key', () => {
    const with513: LinkNlri = {
      ...profileV4,
      local: { ...profileV4.local, bgpLsId: 0 },
      remote: { ...profileV4.remote, bgpLsId: 0 },
    };
    const d = decodeNlri(encodeNlri(with513)) as LinkNlri;
    expect(d.local.bgpLsId).toBe(0);
    expect(nlriKey(d)).toBe(nlriKey(profileV4));
    expect(nlriKey({ ...profileV4, local: { ...profileV4.local, bgpLsId: 9 } })).not.toBe(
      nlriKey(profileV4),
    );
  });

  it('encoding values that cannot be sent raises BgpLsError', () => {
    const bad: LsNlri[] = [
      { ...profileV4, protocolId: 256 },
      { ...profileV4, identifier: -1n },
      { ...profileV4, local: { asn: 2 ** 32 } },
      { ...profileV4, local: { bgpRouterId: '2001:db8::1' } },
      { ...profileV4, link: { ipv4Interface: '2001:db8::1' } },
      { ...profileV4, link: { ipv6Neighbor: 'nonsense' } },
      { ...profileV4, link: { multiTopology: [] } },
      { ...profileV4, local: { igpRouterId: new Uint8Array(5) } },
    ];
    for (const n of bad) expect(() => encodeNlri(n)).toThrow(BgpLsError);
  });
});

describe('BGP-LS attribute (path attribute 29)', () => {
  it('RFC 9552 §5.3.2.4: IGP Metric of 1, 2 and 3 octets round-trips; 1-octet metrics are 6 bits', () => {
    for (const [m, len, h] of [
      [0x3f, 1, '0447 0001 3f'],
      [0x1234, 2, '0447 0002 1234'],
      [0xffffff, 3, '0447 0003 ffffff'],
      [1, 3, '0447 0003 000001'],
    ] as const) {
      const a: LsAttribute = { igpMetric: m, igpMetricLength: len };
      expect(hex(encodeLsAttribute(a))).toBe(hex(unhex(h)));
      expect(decodeLsAttribute(unhex(h))).toEqual(a);
    }
    expect(decodeLsAttribute(unhex('0447 0001 ff')).igpMetric).toBe(0x3f);
    expect(() => encodeLsAttribute({ igpMetric: 0x40, igpMetricLength: 1 })).toThrow(BgpLsError);
  });

  it('RFC 9552 §5.3.2.7: Link Name round-trips as UTF-8; empty or over 255 octets is refused', () => {
    const a: LsAttribute = { linkName: 'AS65002 Exämple' };
    expect(decodeLsAttribute(encodeLsAttribute(a))).toEqual(a);
    expect(() => encodeLsAttribute({ linkName: '' })).toThrow(BgpLsError);
    expect(() => encodeLsAttribute({ linkName: 'x'.repeat(256) })).toThrow(BgpLsError);
  });

  it('RFC 9552 §5.3: unknown TLVs are kept byte-exact; encode sorts by type', () => {
    const v = unhex('0448 0002 0001 044a 0003 414243 0447 0003 000001 ffff 0000');
    const a = decodeLsAttribute(v);
    expect(a).toEqual({
      igpMetric: 1,
      igpMetricLength: 3,
      linkName: 'ABC',
      unknown: [
        { type: 0x448, value: unhex('0001') },
        { type: 0xffff, value: new Uint8Array(0) },
      ],
    });
    expect(hex(encodeLsAttribute(a))).toBe(
      hex(unhex('0447 0003 000001 0448 0002 0001 044a 0003 414243 ffff 0000')),
    );
  });
});
