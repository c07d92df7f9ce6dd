import { describe, expect, it } from 'vitest';
import { makeAttributes } from '../../../src/bgp/attributes.ts';
import {
  AttrInterner,
  applyExternalPeerRules,
  decodeMessage,
  encodeEndOfRib,
  encodeMessage,
  endOfRibFamily,
  stripAttributes,
  worstAction,
} from '../../../src/bgp/codec.ts';
import type { CodecOptions, UpdateMessage } from '../../../src/bgp/types.ts';
import { hex, msg, thrown, toHex } from './helpers.ts';

const as4: CodecOptions = { as4: true };
const as2: CodecOptions = { as4: false };

function attr(flags: number, type: number, value: string): string {
  const v = hex(value);
  const ext = flags & 0x10;
  const len = ext
    ? `${(v.length >> 8).toString(16).padStart(2, '0')}${(v.length & 0xff).toString(16).padStart(2, '0')}`
    : v.length.toString(16).padStart(2, '0');
  return `${flags.toString(16).padStart(2, '0')}${type.toString(16).padStart(2, '0')}${len}${toHex(v)}`;
}

/** UPDATE body from withdrawn, attribute and NLRI hex. */
function update(attrs: string, nlri = '', withdrawn = ''): Uint8Array {
  const w = hex(withdrawn);
  const a = hex(attrs);
  const wl = w.length.toString(16).padStart(4, '0');
  const al = a.length.toString(16).padStart(4, '0');
  return msg(2, `${wl}${withdrawn}${al}${attrs}${nlri}`);
}

const ORIGIN = attr(0x40, 1, '00');
const AS_PATH = attr(0x40, 2, '02 02 0000fbf4 0000fbf5');
const NEXT_HOP = attr(0x40, 3, 'c0000201');
const BASE = ORIGIN + AS_PATH + NEXT_HOP;
const NLRI = '18 c63364'; // 198.51.100.0/24

function dec(b: Uint8Array, o: CodecOptions = as4): UpdateMessage {
  return decodeMessage(b, o) as UpdateMessage;
}

describe('UPDATE decode', () => {
  it('RFC 4271 §4.3: a plain IPv4 UPDATE decodes', () => {
    const u = dec(update(BASE + attr(0x80, 4, '00000064') + attr(0xc0, 8, 'fbf40001'), NLRI));
    expect(u.errors).toEqual([]);
    expect(u.nlri).toEqual([{ prefix: '198.51.100.0/24' }]);
    expect(u.attrs).toMatchObject({
      origin: 0,
      asPath: [{ type: 2, asns: [64500, 64501] }],
      nextHop: '192.0.2.1',
      med: 100,
      communities: [0xfbf40001],
    });
    // wire is the section byte-exact
    expect(toHex(u.attrs!.wire)).toBe(
      toHex(hex(BASE + attr(0x80, 4, '00000064') + attr(0xc0, 8, 'fbf40001'))),
    );
  });

  it('RFC 4271 §4.3: withdrawn routes and host bits are canonicalised', () => {
    const u = dec(update('', '', '18 c63364 20 c0000201 00 19 c63365ff'));
    expect(u.withdrawn.map((n) => n.prefix)).toEqual([
      '198.51.100.0/24',
      '192.0.2.1/32',
      '0.0.0.0/0',
      '198.51.101.128/25',
    ]);
    expect(u.attrs).toBeNull();
  });

  it('RFC 7911 §3: IPv4 NLRI with path identifiers', () => {
    const o: CodecOptions = { as4: true, addPathRx: new Set(['1/1']), addPathTx: new Set(['1/1']) };
    const u = dec(update(BASE, '00000007 18 c63364 00000008 18 c63364'), o);
    expect(u.nlri).toEqual([
      { prefix: '198.51.100.0/24', pathId: 7 },
      { prefix: '198.51.100.0/24', pathId: 8 },
    ]);
    expect(toHex(encodeMessage(u, o))).toBe(
      toHex(update(BASE, '00000007 18 c63364 00000008 18 c63364')),
    );
  });

  it('RFC 4760 §3 / RFC 2545 §3: IPv6 MP_REACH with global and link-local next hop', () => {
    const mp = attr(
      0x90,
      14,
      '0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 20 20010db8',
    );
    const u = dec(update(mp + ORIGIN + AS_PATH));
    expect(u.errors).toEqual([]);
    expect(u.mpReach).toEqual({
      afi: 2,
      safi: 1,
      nextHop: { global: '2001:db8::1', linkLocal: 'fe80::1' },
      nlri: [{ prefix: '2001:db8::/32' }],
    });
    expect(toHex(u.attrs!.wire)).toBe(toHex(hex(ORIGIN + AS_PATH)));
    expect(toHex(encodeMessage(u, as4))).toBe(toHex(update(mp + ORIGIN + AS_PATH)));
  });

  it('RFC 8950 §3: IPv4 NLRI with an IPv6 next hop', () => {
    const mp = attr(0x90, 14, '0001 01 10 20010db8000000000000000000000001 00 18 c63364');
    const u = dec(update(mp + ORIGIN + AS_PATH));
    expect(u.mpReach?.nextHop).toEqual({ global: '2001:db8::1' });
    expect(u.mpReach?.nlri).toEqual([{ prefix: '198.51.100.0/24' }]);
  });

  it('RFC 9552 §5.3: BGP-LS NLRI and attribute are kept as bytes', () => {
    const mp = attr(0x90, 14, '4004 47 04 c0000201 00 0002 0005 0102030405');
    const u = dec(update(mp + ORIGIN + AS_PATH + attr(0x80, 29, '04470002abcd')));
    expect(u.errors).toEqual([]);
    expect(u.mpReach?.afi).toBe(16388);
    expect(toHex(u.mpReach!.raw!)).toBe('000200050102030405');
    expect(toHex(u.attrs!.bgpLs!)).toBe('04470002abcd');
  });

  it('RFC 4724 §2: End-of-RIB markers', () => {
    expect(endOfRibFamily(dec(encodeEndOfRib(1, 1)))).toEqual({ afi: 1, safi: 1 });
    expect(encodeEndOfRib(1, 1).length).toBe(23);
    const v6 = dec(encodeEndOfRib(2, 1));
    expect(v6.errors).toEqual([]);
    expect(endOfRibFamily(v6)).toEqual({ afi: 2, safi: 1 });
    expect(endOfRibFamily(dec(encodeEndOfRib(16388, 71)))).toEqual({ afi: 16388, safi: 71 });
    expect(endOfRibFamily(dec(update(BASE, NLRI)))).toBeNull();
  });

  it('RFC 4271 §5: unknown optional transitive attribute is kept with the Partial bit set', () => {
    const u = dec(update(BASE + attr(0xc0, 99, 'aabbcc'), NLRI));
    expect(u.errors).toEqual([]);
    expect(u.attrs!.other).toEqual([{ flags: 0xe0, type: 99, value: hex('aabbcc') }]);
    expect(toHex(u.attrs!.wire)).toContain('e06303aabbcc');
  });

  it('RFC 4271 §5: unknown optional non-transitive attribute is dropped', () => {
    const u = dec(update(BASE + attr(0x80, 99, 'aabbcc'), NLRI));
    expect(u.errors).toEqual([]);
    expect(u.attrs!.other).toEqual([]);
    expect(toHex(u.attrs!.wire)).toBe(toHex(hex(BASE)));
  });

  it('RFC 4271 §6.3: unknown well-known attribute is Unrecognized Well-known Attribute', () => {
    const e = thrown(() => dec(update(BASE + attr(0x40, 99, 'aa'), NLRI)));
    expect([e.code, e.subcode]).toEqual([3, 2]);
    expect(toHex(e.data)).toBe('406301aa');
  });

  it('RFC 8092 / RFC 4360: large and extended communities, ORIGINATOR_ID, CLUSTER_LIST', () => {
    const u = dec(
      update(
        BASE +
          attr(0x40, 5, '00000064') +
          attr(0x40, 6, '') +
          attr(0xc0, 7, '0000fbf4 c0000202') +
          attr(0x80, 9, 'c0000203') +
          attr(0x80, 10, 'c0000204 c0000205') +
          attr(0xc0, 16, '0002fbf400000001') +
          attr(0xc0, 32, '0000fbf4 00000001 00000002'),
        NLRI,
      ),
    );
    expect(u.errors).toEqual([]);
    expect(u.attrs).toMatchObject({
      localPref: 100,
      atomicAggregate: true,
      aggregator: { asn: 64500, address: '192.0.2.2' },
      originatorId: 0xc0000203,
      clusterList: [0xc0000204, 0xc0000205],
      extCommunities: [hex('0002fbf400000001')],
      largeCommunities: [[64500, 1, 2]],
    });
  });
});

describe('RFC 6793: 2-octet AS peers', () => {
  it('RFC 6793 §4.2.3: AS_PATH and AS4_PATH are merged into a 4-octet path', () => {
    // AS_PATH: 64500 23456 23456 (2-octet); AS4_PATH: 4200000001 4200000002
    const b = update(
      ORIGIN +
        attr(0x40, 2, '02 03 fbf4 5ba0 5ba0') +
        NEXT_HOP +
        attr(0xc0, 17, '02 02 fa56ea01 fa56ea02'),
      NLRI,
    );
    const u = dec(b, as2);
    expect(u.errors).toEqual([]);
    expect(u.attrs!.asPath).toEqual([{ type: 2, asns: [64500, 4200000001, 4200000002] }]);
    // wire is the 4-octet form without AS4_PATH
    expect(toHex(u.attrs!.wire)).toBe(
      toHex(hex(ORIGIN + attr(0x40, 2, '02 03 0000fbf4 fa56ea01 fa56ea02') + NEXT_HOP)),
    );
    // re-encoding for a 2-octet peer keeps AS_TRANS in AS_PATH and the whole path in AS4_PATH
    const again = encodeMessage(u, as2);
    expect(toHex(again)).toContain(toHex(hex(attr(0x40, 2, '02 03 fbf4 5ba0 5ba0'))));
    expect((decodeMessage(again, as2) as UpdateMessage).attrs!.asPath).toEqual(u.attrs!.asPath);
  });

  it('RFC 6793 §4.2.3: AS4_PATH longer than AS_PATH is ignored', () => {
    const u = dec(
      update(
        ORIGIN + attr(0x40, 2, '02 01 5ba0') + NEXT_HOP + attr(0xc0, 17, '02 02 fa56ea01 fa56ea02'),
        NLRI,
      ),
      as2,
    );
    expect(u.attrs!.asPath).toEqual([{ type: 2, asns: [23456] }]);
  });

  it('RFC 6793 §4.2.3: AS4_AGGREGATOR replaces an AGGREGATOR of AS_TRANS', () => {
    const u = dec(
      update(
        BASE.replace(AS_PATH, attr(0x40, 2, '02 01 fbf4')) +
          attr(0xc0, 7, '5ba0 c0000202') +
          attr(0xc0, 18, 'fa56ea01 c0000202'),
        NLRI,
      ),
      as2,
    );
    expect(u.attrs!.aggregator).toEqual({ asn: 4200000001, address: '192.0.2.2' });
  });

  it('RFC 6793 §4.2.3: AGGREGATOR not AS_TRANS means AS4_AGGREGATOR and AS4_PATH are ignored', () => {
    const u = dec(
      update(
        ORIGIN +
          attr(0x40, 2, '02 02 fbf4 5ba0') +
          NEXT_HOP +
          attr(0xc0, 7, 'fbf4 c0000202') +
          attr(0xc0, 17, '02 01 fa56ea01') +
          attr(0xc0, 18, 'fa56ea01 c0000202'),
        NLRI,
      ),
      as2,
    );
    expect(u.attrs!.aggregator).toEqual({ asn: 64500, address: '192.0.2.2' });
    expect(u.attrs!.asPath).toEqual([{ type: 2, asns: [64500, 23456] }]);
  });

  it('RFC 6793 §6: malformed AS4_PATH is attribute-discard', () => {
    const u = dec(
      update(
        BASE.replace(AS_PATH, attr(0x40, 2, '02 01 fbf4')) + attr(0xc0, 17, '02 05 fa56ea01'),
        NLRI,
      ),
      as2,
    );
    expect(u.errors.map((e) => [e.action, e.discarded])).toEqual([['attribute-discard', [17]]]);
  });

  it('RFC 6793 §4.2.2: encoding for a 2-octet peer uses AS_TRANS and AS4_PATH / AS4_AGGREGATOR', () => {
    const a = makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns: [4200000001, 64500] }],
      nextHop: '192.0.2.1',
      aggregator: { asn: 4200000001, address: '192.0.2.9' },
    });
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attrs: a,
      nlri: [{ prefix: '198.51.100.0/24' }],
      mpReach: null,
      mpUnreach: null,
      errors: [],
    };
    const b = encodeMessage(m, as2);
    const s = toHex(b);
    expect(s).toContain(toHex(hex(attr(0x40, 2, '02 02 5ba0 fbf4'))));
    expect(s).toContain(toHex(hex(attr(0xc0, 17, '02 02 fa56ea01 0000fbf4'))));
    expect(s).toContain(toHex(hex(attr(0xc0, 7, '5ba0 c0000209'))));
    expect(s).toContain(toHex(hex(attr(0xc0, 18, 'fa56ea01 c0000209'))));
    const back = dec(b, as2);
    expect(back.attrs!.asPath).toEqual(a.asPath);
    expect(back.attrs!.aggregator).toEqual(a.aggregator);
    expect(toHex(back.attrs!.wire)).toBe(toHex(a.wire));
  });

  it('RFC 6793 §4.1: AS4_PATH from a 4-octet peer is discarded', () => {
    const u = dec(update(BASE + attr(0xc0, 17, '02 01 fa56ea01'), NLRI));
    expect(u.errors).toEqual([]);
    expect(toHex(u.attrs!.wire)).toBe(toHex(hex(BASE)));
  });
});

describe('RFC 7606 error handling', () => {
  const cases: [string, string, string, number][] = [
    [
      'RFC 7606 §7.1: ORIGIN of length 2',
      attr(0x40, 1, '0000') + AS_PATH + NEXT_HOP,
      'treat-as-withdraw',
      5,
    ],
    [
      'RFC 7606 §7.1: ORIGIN value 3',
      attr(0x40, 1, '03') + AS_PATH + NEXT_HOP,
      'treat-as-withdraw',
      6,
    ],
    [
      'RFC 7606 §7.2: AS_PATH segment overrun',
      ORIGIN + attr(0x40, 2, '02 03 0000fbf4') + NEXT_HOP,
      'treat-as-withdraw',
      11,
    ],
    [
      'RFC 7606 §7.2: AS_PATH zero-length segment',
      ORIGIN + attr(0x40, 2, '02 00') + NEXT_HOP,
      'treat-as-withdraw',
      11,
    ],
    [
      'RFC 7606 §7.2: AS_PATH unknown segment type',
      ORIGIN + attr(0x40, 2, '05 01 0000fbf4') + NEXT_HOP,
      'treat-as-withdraw',
      11,
    ],
    [
      'RFC 7607 §2: AS 0 in AS_PATH',
      ORIGIN + attr(0x40, 2, '02 02 0000fbf4 00000000') + NEXT_HOP,
      'treat-as-withdraw',
      11,
    ],
    [
      'RFC 7607 §2: AS 0 in AGGREGATOR',
      BASE + attr(0xc0, 7, '00000000 c0000201'),
      'attribute-discard',
      9,
    ],
    [
      'RFC 7606 §7.3: NEXT_HOP of length 5',
      ORIGIN + AS_PATH + attr(0x40, 3, 'c000020100'),
      'treat-as-withdraw',
      5,
    ],
    [
      'RFC 7606 §7.3 / RFC 4271 §6.3: NEXT_HOP 0.0.0.0',
      ORIGIN + AS_PATH + attr(0x40, 3, '00000000'),
      'treat-as-withdraw',
      8,
    ],
    [
      'RFC 7606 §7.4: MULTI_EXIT_DISC of length 3',
      BASE + attr(0x80, 4, '000001'),
      'treat-as-withdraw',
      5,
    ],
    [
      'RFC 7606 §7.5: LOCAL_PREF of length 0 from an internal peer',
      BASE + attr(0x40, 5, ''),
      'treat-as-withdraw',
      5,
    ],
    [
      'RFC 7606 §7.6: ATOMIC_AGGREGATE of length 1',
      BASE + attr(0x40, 6, '00'),
      'attribute-discard',
      5,
    ],
    [
      'RFC 7606 §7.7: AGGREGATOR of length 6 on a 4-octet session',
      BASE + attr(0xc0, 7, 'fbf4c0000201'),
      'attribute-discard',
      5,
    ],
    [
      'RFC 7606 §7.8: COMMUNITIES of length 5',
      BASE + attr(0xc0, 8, '0000000001'),
      'treat-as-withdraw',
      5,
    ],
    ['RFC 7606 §7.8: COMMUNITIES of length 0', BASE + attr(0xc0, 8, ''), 'treat-as-withdraw', 5],
    [
      'RFC 7606 §7.9: ORIGINATOR_ID of length 2 from an internal peer',
      BASE + attr(0x80, 9, '0001'),
      'treat-as-withdraw',
      5,
    ],
    [
      'RFC 7606 §7.10: CLUSTER_LIST of length 6 from an internal peer',
      BASE + attr(0x80, 10, '000000010002'),
      'treat-as-withdraw',
      5,
    ],
    [
      'RFC 7606 §7.14: EXTENDED_COMMUNITIES of length 7',
      BASE + attr(0xc0, 16, '00000000000001'),
      'treat-as-withdraw',
      5,
    ],
    [
      'RFC 8092 §6: LARGE_COMMUNITY of length 8',
      BASE + attr(0xc0, 32, '0000000100000002'),
      'treat-as-withdraw',
      5,
    ],
    [
      'RFC 7606 §3.c: ORIGIN flagged optional',
      attr(0xc0, 1, '00') + AS_PATH + NEXT_HOP,
      'treat-as-withdraw',
      4,
    ],
    [
      'RFC 7606 §3.c: MULTI_EXIT_DISC flagged transitive',
      BASE + attr(0xc0, 4, '00000001'),
      'treat-as-withdraw',
      4,
    ],
    ['RFC 7606 §3.d: missing ORIGIN', AS_PATH + NEXT_HOP, 'treat-as-withdraw', 3],
    ['RFC 7606 §3.d: missing AS_PATH', ORIGIN + NEXT_HOP, 'treat-as-withdraw', 3],
    ['RFC 7606 §3.d: missing NEXT_HOP with NLRI present', ORIGIN + AS_PATH, 'treat-as-withdraw', 3],
    [
      'RFC 7606 §3.g: duplicate ORIGIN: later copy discarded',
      BASE + attr(0x40, 1, '02'),
      'attribute-discard',
      1,
    ],
    ['RFC 7606 §4: attribute length overruns the section', `${BASE}400104`, 'treat-as-withdraw', 5],
    [
      'RFC 7606 §4: fewer than 3 octets left for an attribute',
      `${BASE}4001`,
      'treat-as-withdraw',
      1,
    ],
  ];
  for (const [title, attrs, action, subcode] of cases) {
    it(`${title} is ${action}`, () => {
      const u = dec(update(attrs, NLRI));
      expect(worstAction(u.errors)).toBe(action);
      expect(u.errors.some((e) => e.action === action && e.subcode === subcode)).toBe(true);
      expect(u.nlri).toEqual([{ prefix: '198.51.100.0/24' }]);
      for (const e of u.errors) expect(e.reason).toMatch(/RFC/);
    });
  }

  it('RFC 7606 §7.6: the discarded attribute is gone from attrs and wire', () => {
    const u = dec(update(BASE + attr(0x40, 6, '00'), NLRI));
    expect(u.errors[0]!.discarded).toEqual([6]);
    expect(u.attrs!.atomicAggregate).toBeUndefined();
    expect(toHex(u.attrs!.wire)).toBe(toHex(hex(BASE)));
  });

  it('RFC 7606 §3.g: the first of duplicate attributes is kept', () => {
    const u = dec(update(BASE + attr(0x40, 1, '02'), NLRI));
    expect(u.attrs!.origin).toBe(0);
  });

  it('RFC 7606 §7.7: AGGREGATOR of length 6 is right on a 2-octet session', () => {
    const u = dec(
      update(
        BASE.replace(AS_PATH, attr(0x40, 2, '02 01 fbf4')) + attr(0xc0, 7, 'fbf4c0000201'),
        NLRI,
      ),
      as2,
    );
    expect(u.errors).toEqual([]);
  });

  it('RFC 7606 §3.h: with several errors the strongest action wins', () => {
    const u = dec(update(BASE + attr(0x40, 6, '00') + attr(0x80, 4, '01'), NLRI));
    expect(u.errors.map((e) => e.action).sort()).toEqual([
      'attribute-discard',
      'treat-as-withdraw',
    ]);
    expect(worstAction(u.errors)).toBe('treat-as-withdraw');
  });

  it('RFC 7606 §3.g: MP_REACH_NLRI twice is a session reset (Malformed Attribute List)', () => {
    const mp = attr(0x90, 14, '0002 01 10 20010db8000000000000000000000001 00 20 20010db8');
    const e = thrown(() => dec(update(mp + mp + ORIGIN + AS_PATH)));
    expect([e.code, e.subcode]).toEqual([3, 1]);
  });

  it('RFC 7606 §3.b: total attribute length overrunning the message is Malformed Attribute List', () => {
    const b = update(BASE, NLRI);
    b[22] = 0xff;
    const e = thrown(() => dec(b));
    expect([e.code, e.subcode]).toEqual([3, 1]);
    const w = update(BASE, NLRI);
    w[19] = 0x10;
    expect(thrown(() => dec(w)).subcode).toBe(1);
  });

  it('RFC 7606 §5.3 / §3.j: NLRI prefix length over 32 is a session reset', () => {
    const e = thrown(() => dec(update(BASE, '21 c0000201 00')));
    expect([e.code, e.subcode]).toEqual([3, 10]);
  });

  it('RFC 7606 §5.3 / §3.j: last NLRI overrunning the field is a session reset', () => {
    expect(thrown(() => dec(update(BASE, '18 c633'))).code).toBe(3);
  });

  it('RFC 7606 §3.i: the Withdrawn Routes field is checked like the NLRI field', () => {
    expect(thrown(() => dec(update('', '', '21 c0000201 00'))).subcode).toBe(10);
  });

  it('RFC 7606 §5.3: MP_REACH_NLRI shorter than 5 octets is a session reset', () => {
    const e = thrown(() => dec(update(attr(0x90, 14, '000201 00') + ORIGIN + AS_PATH)));
    expect(e.code).toBe(3);
  });

  it('RFC 7606 §5.3: MP_UNREACH_NLRI shorter than 3 octets is a session reset', () => {
    expect(thrown(() => dec(update(attr(0x90, 15, '0002')))).code).toBe(3);
  });

  it('RFC 7606 §5.3: MP_REACH_NLRI NLRI overrunning the attribute is a session reset', () => {
    const mp = attr(0x90, 14, '0002 01 10 20010db8000000000000000000000001 00 40 20010db8');
    expect(thrown(() => dec(update(mp + ORIGIN + AS_PATH))).code).toBe(3);
  });

  it('RFC 7606 §5.3: IPv6 prefix length over 128 is a session reset', () => {
    const mp = attr(0x90, 14, '0002 01 10 20010db8000000000000000000000001 00 81 20010db8');
    expect(thrown(() => dec(update(mp + ORIGIN + AS_PATH))).code).toBe(3);
  });

  it('RFC 7606 §5.3: MP_REACH_NLRI with flags not optional non-transitive is a session reset', () => {
    const mp = attr(0xd0, 14, '0002 01 10 20010db8000000000000000000000001 00 20 20010db8');
    expect(thrown(() => dec(update(mp + ORIGIN + AS_PATH))).code).toBe(3);
  });

  it('RFC 7606 §7.11: IPv6 MP_REACH_NLRI next hop of 12 octets is a session reset', () => {
    const mp = attr(0x90, 14, '0002 01 0c 20010db80000000000000000 00 20 20010db8');
    expect(thrown(() => dec(update(mp + ORIGIN + AS_PATH))).code).toBe(3);
  });

  it('RFC 7606 §5.2: no reachable NLRI and a treat-as-withdraw error is a session reset', () => {
    const e = thrown(() => dec(update(attr(0x40, 1, '07') + AS_PATH + NEXT_HOP, '', NLRI)));
    expect([e.code, e.subcode]).toEqual([3, 6]);
  });

  it('RFC 7606 §5.2: no reachable NLRI and only attribute discard is not escalated', () => {
    const u = dec(update(BASE + attr(0x40, 6, '00'), '', NLRI));
    expect(worstAction(u.errors)).toBe('attribute-discard');
  });

  it('RFC 7606 §5.2: End-of-RIB (MP_UNREACH_NLRI alone) is not an error', () => {
    expect(dec(update(attr(0x80, 15, '000201'))).errors).toEqual([]);
  });

  it('RFC 7606 §5.1: MP_REACH_NLRI after other attributes is accepted', () => {
    const mp = attr(0x90, 14, '0002 01 10 20010db8000000000000000000000001 00 20 20010db8');
    const u = dec(update(ORIGIN + mp + AS_PATH));
    expect(u.errors).toEqual([]);
    expect(toHex(u.attrs!.wire)).toBe(toHex(hex(ORIGIN + AS_PATH)));
  });

  it('RFC 7606 §7.14: an unrecognised extended community type is not an error', () => {
    expect(dec(update(BASE + attr(0xc0, 16, 'ffff000000000001'), NLRI)).errors).toEqual([]);
  });
});

describe('UPDATE round trips and interning', () => {
  it('RFC 4271 §4.3: makeAttributes + encodeMessage + decodeMessage round-trip', () => {
    const a = makeAttributes({
      origin: 2,
      asPath: [
        { type: 2, asns: [64500, 4200000001] },
        { type: 1, asns: [1, 2, 3] },
      ],
      nextHop: '192.0.2.1',
      med: 5,
      communities: [1, 2],
      largeCommunities: [[1, 2, 3]],
      other: [{ flags: 0xe0, type: 99, value: hex('01') }],
    });
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: [{ prefix: '203.0.113.0/24' }],
      attrs: a,
      nlri: [{ prefix: '198.51.100.0/24' }, { prefix: '10.0.0.0/8' }],
      mpReach: null,
      mpUnreach: null,
      errors: [],
    };
    expect(dec(encodeMessage(m, as4))).toEqual(m);
  });

  it('AttrInterner shares one object per distinct wire', () => {
    const i = new AttrInterner();
    const b = update(BASE, NLRI);
    const u1 = decodeMessage(b, as4, i) as UpdateMessage;
    const u2 = decodeMessage(update(BASE, '18 c63365'), as4, i) as UpdateMessage;
    expect(u1.attrs).toBe(u2.attrs);
    expect(i.size).toBe(1);
    const u3 = decodeMessage(
      update(BASE + attr(0x80, 4, '00000001'), NLRI),
      as4,
      i,
    ) as UpdateMessage;
    expect(u3.attrs).not.toBe(u1.attrs);
    expect(i.size).toBe(2);
    expect(
      i.intern(
        makeAttributes({
          origin: 0,
          asPath: [{ type: 2, asns: [64500, 64501] }],
          nextHop: '192.0.2.1',
        }),
      ),
    ).toBe(u1.attrs);
  });

  it('AttrInterner fast path: MP_REACH first, attributes already interned', () => {
    const i = new AttrInterner();
    const mp = (p: string) => attr(0x90, 14, `0002 01 10 20010db8000000000000000000000001 00 ${p}`);
    const u1 = decodeMessage(update(mp('20 20010db8') + ORIGIN + AS_PATH), as4, i) as UpdateMessage;
    const u2 = decodeMessage(
      update(mp('30 20010db80001') + ORIGIN + AS_PATH),
      as4,
      i,
    ) as UpdateMessage;
    expect(u2.attrs).toBe(u1.attrs);
    expect(u2.mpReach!.nlri).toEqual([{ prefix: '2001:db8:1::/48' }]);
    expect(u2.errors).toEqual([]);
    // a malformed set is never served from the interner
    const bad = decodeMessage(update(mp('20 20010db8') + ORIGIN), as4, i) as UpdateMessage;
    expect(worstAction(bad.errors)).toBe('treat-as-withdraw');
  });

  it('RFC 7606 §7.5, §7.9, §7.10: LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST from an external peer are discarded', () => {
    const i = new AttrInterner();
    const u = dec(
      update(
        BASE +
          attr(0x80, 4, '00000005') +
          attr(0x40, 5, '00000064') +
          attr(0x80, 9, 'c0000203') +
          attr(0x80, 10, 'c0000204'),
        NLRI,
      ),
    );
    applyExternalPeerRules(u, i);
    expect(u.errors.map((e) => [e.action, e.discarded])).toEqual([
      ['attribute-discard', [5]],
      ['attribute-discard', [9]],
      ['attribute-discard', [10]],
    ]);
    expect(u.attrs!.localPref).toBeUndefined();
    expect(u.attrs!.originatorId).toBeUndefined();
    expect(u.attrs!.clusterList).toBeUndefined();
    expect(u.attrs!.med).toBe(5);
    expect(toHex(u.attrs!.wire)).toBe(toHex(hex(BASE + attr(0x80, 4, '00000005'))));
    expect(i.size).toBe(1);
    // the result is what a clean decode of the stripped bytes gives
    expect(dec(update(BASE + attr(0x80, 4, '00000005'), NLRI)).attrs).toEqual(u.attrs);
  });

  it('RFC 5065 §5.3: confederation segments from an external peer are treat-as-withdraw', () => {
    const u = dec(update(ORIGIN + attr(0x40, 2, '03 01 0000fbf4 02 01 0000fbf5') + NEXT_HOP, NLRI));
    expect(u.errors).toEqual([]);
    applyExternalPeerRules(u);
    expect(worstAction(u.errors)).toBe('treat-as-withdraw');
  });

  it('stripAttributes keeps the rest byte-exact and clears the fields', () => {
    const a = dec(
      update(
        BASE +
          attr(0xc0, 8, '00000001') +
          attr(0xc0, 32, '000000010000000200000003') +
          attr(0xe0, 99, '01'),
        NLRI,
      ),
    ).attrs!;
    const s = stripAttributes(a, [8, 32, 99]);
    expect(toHex(s.wire)).toBe(toHex(hex(BASE)));
    expect(s.communities).toBeUndefined();
    expect(s.largeCommunities).toBeUndefined();
    expect(s.other).toEqual([]);
    expect(a.communities).toEqual([1]);
    expect(stripAttributes(a, [4])).toBe(a);
  });

  it('makeAttributes: empty lists are left out, so the object equals its wire decoded', () => {
    const a = makeAttributes({
      origin: 0,
      asPath: [],
      nextHop: '192.0.2.1',
      communities: [],
      largeCommunities: [],
    });
    expect(a.communities).toBeUndefined();
    const u = dec(update(toHex(a.wire), NLRI));
    expect(u.attrs).toEqual(a);
  });
});
