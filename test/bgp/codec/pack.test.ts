import { describe, expect, it } from 'vitest';
import { makeAttributes } from '../../../src/bgp/attributes.ts';
import {
  decodeMessage,
  encodeEndOfRib,
  encodeRouteRefresh,
  encodeUpdates,
  endOfRibFamily,
} from '../../../src/bgp/codec.ts';
import type { CodecOptions, Nlri, UpdateMessage } from '../../../src/bgp/types.ts';
import { toHex } from './helpers.ts';

const as4: CodecOptions = { as4: true };

const attrs = makeAttributes({
  origin: 0,
  asPath: [{ type: 2, asns: [64500, 4200000001] }],
  nextHop: '192.0.2.1',
  communities: [0xfbf40001],
});
const v6attrs = makeAttributes({ origin: 0, asPath: [{ type: 2, asns: [64500] }] });

function v4(n: number): Nlri[] {
  return Array.from({ length: n }, (_, i) => ({
    prefix: `10.${(i >> 8) & 0xff}.${i & 0xff}.0/24`,
  }));
}
function v6(n: number): Nlri[] {
  return Array.from({ length: n }, (_, i) => ({ prefix: `2001:db8:${(i + 1).toString(16)}::/48` }));
}

function decodeAll(msgs: Uint8Array[], o: CodecOptions): UpdateMessage[] {
  return msgs.map((m) => decodeMessage(m, o) as UpdateMessage);
}

describe('encodeUpdates', () => {
  it('RFC 4271 §4.3: IPv4 NLRI are packed into messages of at most 4096 octets', () => {
    const nlri = v4(3000);
    const msgs = encodeUpdates(as4, { afi: 1, safi: 1, attrs, nlri, withdrawn: [] });
    expect(msgs.length).toBeGreaterThan(1);
    for (const m of msgs) expect(m.length).toBeLessThanOrEqual(4096);
    for (const m of msgs.slice(0, -1)) expect(m.length).toBeGreaterThan(4096 - 4);
    const us = decodeAll(msgs, as4);
    expect(us.flatMap((u) => u.nlri)).toEqual(nlri);
    for (const u of us) {
      expect(u.errors).toEqual([]);
      expect(toHex(u.attrs!.wire)).toBe(toHex(attrs.wire));
    }
  });

  it('RFC 8654 §4: with Extended Message, messages up to 65535 octets', () => {
    const o: CodecOptions = { as4: true, extendedMessage: true };
    const msgs = encodeUpdates(o, { afi: 1, safi: 1, attrs, nlri: v4(20000), withdrawn: [] });
    expect(msgs.length).toBe(2);
    expect(msgs[0]!.length).toBeGreaterThan(60000);
    expect(decodeAll(msgs, o).flatMap((u) => u.nlri).length).toBe(20000);
  });

  it('RFC 4271 §4.3: withdrawals go in their own messages before announcements', () => {
    const msgs = encodeUpdates(as4, { afi: 1, safi: 1, attrs, nlri: v4(2), withdrawn: v4(3) });
    const us = decodeAll(msgs, as4);
    expect(us[0]!.withdrawn.length).toBe(3);
    expect(us[0]!.attrs).toBeNull();
    expect(us[1]!.nlri.length).toBe(2);
  });

  it('RFC 4271 §5.1.3: the next hop given replaces NEXT_HOP', () => {
    const msgs = encodeUpdates(as4, {
      afi: 1,
      safi: 1,
      attrs,
      nextHop: { global: '192.0.2.77' },
      nlri: v4(1),
      withdrawn: [],
    });
    const u = decodeAll(msgs, as4)[0]!;
    expect(u.attrs!.nextHop).toBe('192.0.2.77');
    expect(u.attrs!.communities).toEqual(attrs.communities);
  });

  it('RFC 4760 §3: IPv6 goes in MP_REACH_NLRI with a link-local next hop', () => {
    const nlri = v6(1000);
    const msgs = encodeUpdates(as4, {
      afi: 2,
      safi: 1,
      attrs: v6attrs,
      nextHop: { global: '2001:db8::1', linkLocal: 'fe80::1' },
      nlri,
      withdrawn: [],
    });
    expect(msgs.length).toBeGreaterThan(1);
    const us = decodeAll(msgs, as4);
    for (const m of msgs) expect(m.length).toBeLessThanOrEqual(4096);
    for (const u of us) {
      expect(u.errors).toEqual([]);
      expect(u.mpReach!.nextHop).toEqual({ global: '2001:db8::1', linkLocal: 'fe80::1' });
    }
    expect(us.flatMap((u) => u.mpReach!.nlri)).toEqual(nlri);
  });

  it('RFC 4760 §4: IPv6 withdrawals go in MP_UNREACH_NLRI', () => {
    const msgs = encodeUpdates(as4, { afi: 2, safi: 1, attrs: null, nlri: [], withdrawn: v6(700) });
    const us = decodeAll(msgs, as4);
    expect(us.flatMap((u) => u.mpUnreach!.nlri)).toEqual(v6(700));
    for (const u of us) expect(u.attrs).toBeNull();
  });

  it('RFC 8950 §3: IPv4 with an IPv6 next hop uses MP_REACH_NLRI and drops NEXT_HOP', () => {
    const msgs = encodeUpdates(as4, {
      afi: 1,
      safi: 1,
      attrs,
      nextHop: { global: '2001:db8::5' },
      nlri: v4(3),
      withdrawn: [],
    });
    const u = decodeAll(msgs, as4)[0]!;
    expect(u.nlri).toEqual([]);
    expect(u.mpReach).toMatchObject({ afi: 1, safi: 1, nextHop: { global: '2001:db8::5' } });
    expect(u.mpReach!.nlri).toEqual(v4(3));
    expect(u.attrs!.nextHop).toBeUndefined();
    expect(u.errors).toEqual([]);
  });

  it('RFC 7911 §3: path identifiers are written when ADD-PATH send is negotiated', () => {
    const o: CodecOptions = {
      as4: true,
      addPathTx: new Set(['1/1', '2/1']),
      addPathRx: new Set(['1/1', '2/1']),
    };
    const nlri = [
      { prefix: '10.0.0.0/8', pathId: 1 },
      { prefix: '10.0.0.0/8', pathId: 2 },
    ];
    const u = decodeAll(encodeUpdates(o, { afi: 1, safi: 1, attrs, nlri, withdrawn: [] }), o)[0]!;
    expect(u.nlri).toEqual(nlri);
    const n6 = [{ prefix: '2001:db8::/32', pathId: 9 }];
    const w = decodeAll(
      encodeUpdates(o, { afi: 2, safi: 1, attrs: null, nlri: [], withdrawn: n6 }),
      o,
    );
    expect(w[0]!.mpUnreach!.nlri).toEqual(n6);
  });

  it('RFC 6793 §4.2.2: attributes are re-encoded for a 2-octet-AS peer', () => {
    const o: CodecOptions = { as4: false };
    const u = decodeAll(
      encodeUpdates(o, { afi: 1, safi: 1, attrs, nlri: v4(1), withdrawn: [] }),
      o,
    )[0]!;
    expect(u.errors).toEqual([]);
    expect(u.attrs!.asPath).toEqual(attrs.asPath);
    expect(toHex(u.attrs!.wire)).toBe(toHex(attrs.wire));
  });

  it('RFC 4724 §2: End-of-RIB for IPv4 is an empty UPDATE, for others an empty MP_UNREACH_NLRI', () => {
    expect(toHex(encodeEndOfRib(1, 1, as4))).toBe(`${'ff'.repeat(16)}001702${'00'.repeat(4)}`);
    expect(endOfRibFamily(decodeMessage(encodeEndOfRib(2, 1, as4), as4) as UpdateMessage)).toEqual({
      afi: 2,
      safi: 1,
    });
  });

  it('RFC 7313 §3.2: encodeRouteRefresh', () => {
    expect(decodeMessage(encodeRouteRefresh(2, 1, 1), as4)).toEqual({
      type: 'route-refresh',
      afi: 2,
      safi: 1,
      subtype: 1,
    });
  });
});
