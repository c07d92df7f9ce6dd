// BGP-LS through src/bgp UPDATEs: decodeLsUpdate with every RFC 9552 §8.2.2
// case, and the packer (buildLsUpdates / encodeLsUpdates).

import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, makeAttributes } from '../../src/bgp/codec.ts';
import type { CodecOptions, UpdateMessage } from '../../src/bgp/types.ts';
import {
  decodeLsUpdate,
  encodeLsAttribute,
  encodeLsUpdates,
  encodeNlri,
  type HalfLink,
  type LinkNlri,
  type LsNlri,
  nlriKey,
  requestItem,
} from '../../src/bgpls/codec.ts';
import { unhex } from './helpers.ts';

const OPTS: CodecOptions = { as4: true };

function link(i: number): LinkNlri {
  return {
    kind: 'link',
    protocolId: 7,
    identifier: 0n,
    local: { asn: 65001, bgpRouterId: '192.0.2.1' },
    remote: { asn: 65000 + i, bgpRouterId: `192.0.2.${i % 250}` },
    link: { ipv4Interface: '192.0.2.1', ipv4Neighbor: `198.51.100.${i % 250}` },
  };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** An UPDATE with the given BGP-LS MP_REACH/MP_UNREACH NLRI fields and attribute 29, through the wire. */
function wire(
  p: { reach?: Uint8Array; unreach?: Uint8Array; bgpLs?: Uint8Array; origin?: boolean },
  opts = OPTS,
): UpdateMessage {
  const m: UpdateMessage = {
    type: 'update',
    withdrawn: [],
    attrs:
      p.reach !== undefined
        ? makeAttributes({
            ...(p.origin === false ? {} : { origin: 0 as const }),
            asPath: [{ type: 2, asns: [65001] }],
            ...(p.bgpLs !== undefined ? { bgpLs: p.bgpLs } : {}),
          })
        : null,
    nlri: [],
    mpReach:
      p.reach !== undefined
        ? { afi: 16388, safi: 71, nextHop: { global: '192.0.2.1' }, nlri: [], raw: p.reach }
        : null,
    mpUnreach: p.unreach !== undefined ? { afi: 16388, safi: 71, nlri: [], raw: p.unreach } : null,
    errors: [],
  };
  const d = decodeMessage(encodeMessage(m, opts), opts);
  if (d.type !== 'update') throw new Error('not an update');
  return d;
}

const keys = (l: LsNlri[]): string[] => l.map(nlriKey);

describe('decodeLsUpdate', () => {
  it('RFC 9552 §5.4: announcements with an IPv4 or IPv6 next hop, attribute decoded', () => {
    const attr = encodeLsAttribute({ linkName: 'B' });
    const u = wire({ reach: concat(encodeNlri(link(1)), encodeNlri(link(2))), bgpLs: attr });
    const ls = decodeLsUpdate(u)!;
    expect(ls.problems).toEqual([]);
    expect(ls.nextHop).toBe('192.0.2.1');
    expect(keys(ls.announced)).toEqual(keys([link(1), link(2)]));
    expect(ls.attribute).toEqual({ linkName: 'B' });
    const [v6] = encodeLsUpdates(OPTS, {
      nextHop: '2001:db8::1',
      asPath: [65001],
      announce: [{ nlri: link(3) }],
      withdraw: [],
    });
    const d = decodeMessage(v6!, OPTS) as UpdateMessage;
    expect(decodeLsUpdate(d)!.nextHop).toBe('2001:db8::1');
    expect(decodeLsUpdate(d)!.attribute).toBeNull();
  });

  it('RFC 9552 §5.4: src/bgp takes a BGP-LS next hop of 0, 4, 16 or 32 octets; the NLRI decode the same', () => {
    for (const nextHop of [
      { global: '' },
      { global: '192.0.2.1' },
      { global: '2001:db8::1' },
      { global: '2001:db8::1', linkLocal: 'fe80::1' },
    ]) {
      const m: UpdateMessage = {
        type: 'update',
        withdrawn: [],
        attrs: makeAttributes({ origin: 0, asPath: [{ type: 2, asns: [65001] }] }),
        nlri: [],
        mpReach: { afi: 16388, safi: 71, nextHop, nlri: [], raw: encodeNlri(link(1)) },
        mpUnreach: null,
        errors: [],
      };
      const ls = decodeLsUpdate(decodeMessage(encodeMessage(m, OPTS), OPTS) as UpdateMessage)!;
      expect(ls.nextHop).toBe(nextHop.global);
      expect(keys(ls.announced)).toEqual(keys([link(1)]));
    }
  });

  it('other families: an UPDATE without BGP-LS gives null', () => {
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: [{ prefix: '198.51.100.0/24' }],
      attrs: null,
      nlri: [],
      mpReach: null,
      mpUnreach: null,
      errors: [],
    };
    expect(decodeLsUpdate(decodeMessage(encodeMessage(m, OPTS), OPTS) as UpdateMessage)).toBeNull();
  });

  it('RFC 9552 §8.2.2 (1): NLRI overrunning the MP_REACH_NLRI length is afi-safi-disable; NLRI before it stand', () => {
    const good = encodeNlri(link(1));
    const cut = encodeNlri(link(2)).subarray(0, 20);
    const ls = decodeLsUpdate(wire({ reach: concat(good, cut) }))!;
    expect(keys(ls.announced)).toEqual(keys([link(1)]));
    expect(ls.problems.map((p) => [p.action, p.where])).toEqual([['afi-safi-disable', 'mp-reach']]);
    expect(ls.problems[0]!.reason).toContain('RFC 9552 §8.2.2');
  });

  it('RFC 9552 §8.2.2 (2): NLRI overrunning the MP_UNREACH_NLRI length is afi-safi-disable', () => {
    const ls = decodeLsUpdate(wire({ unreach: concat(encodeNlri(link(1)), unhex('0002 00')) }))!;
    expect(keys(ls.withdrawn)).toEqual(keys([link(1)]));
    expect(ls.problems.map((p) => [p.action, p.where])).toEqual([
      ['afi-safi-disable', 'mp-unreach'],
    ]);
  });

  it('RFC 9552 §8.2.2 (3): TLVs not adding up to the NLRI length discard that NLRI only', () => {
    const bad = encodeNlri(link(1));
    bad[bad.length - 5] = 5; // last TLV (260) claims 5 octets, the NLRI holds 4
    const ls = decodeLsUpdate(
      wire({ reach: concat(encodeNlri(link(2)), bad, encodeNlri(link(3))) }),
    )!;
    expect(keys(ls.announced)).toEqual(keys([link(2), link(3)]));
    expect(ls.problems.map((p) => p.action)).toEqual(['nlri-discard']);
    expect(ls.problems[0]!.bytes).toEqual(bad);
  });

  it('RFC 9552 §8.2.2 (4): a (sub-)TLV of an invalid length discards that NLRI only', () => {
    // 512 AS of 5 octets inside a Remote Node Descriptors whose length is adjusted to match.
    const n = link(1);
    const b = encodeNlri(n);
    const at = 4 + 9 + 20; // the 257 TLV
    const sub = at + 4; // its 512 sub-TLV
    const fixed = concat(
      b.subarray(0, at),
      unhex('0101 0011'),
      unhex('0200 0005 0000fdea00'),
      b.subarray(sub + 8, at + 20),
      b.subarray(at + 20),
    );
    fixed[3] = fixed.length - 4;
    const ls = decodeLsUpdate(wire({ reach: concat(fixed, encodeNlri(link(2))) }))!;
    expect(keys(ls.announced)).toEqual(keys([link(2)]));
    expect(ls.problems.map((p) => p.action)).toEqual(['nlri-discard']);
    expect(ls.problems[0]!.reason).toMatch(/TLV 512 length 5/);
  });

  it('RFC 9552 §8.2.2 (5): a Link NLRI without Remote Node Descriptors discards that NLRI only', () => {
    const b = encodeNlri(link(1));
    const at = 4 + 9 + 20;
    const noRemote = concat(b.subarray(0, at), b.subarray(at + 20));
    noRemote[3] = noRemote.length - 4;
    const ls = decodeLsUpdate(wire({ reach: concat(noRemote, encodeNlri(link(2))) }))!;
    expect(keys(ls.announced)).toEqual(keys([link(2)]));
    expect(ls.problems.map((p) => p.action)).toEqual(['nlri-discard']);
    expect(ls.problems[0]!.reason).toMatch(/Remote Node Descriptors/);
  });

  it('RFC 9552 §8.2.2 (6): TLV order is not held against the NLRI (liberal; matched on parsed fields)', () => {
    const b = encodeNlri(link(1));
    const at = 4 + 9;
    // local and remote node descriptors swapped places
    const swapped = concat(
      b.subarray(0, at),
      b.subarray(at + 20, at + 40),
      b.subarray(at, at + 20),
      b.subarray(at + 40),
    );
    const ls = decodeLsUpdate(wire({ reach: swapped }))!;
    expect(ls.problems).toEqual([]);
    expect(keys(ls.announced)).toEqual(keys([link(1)]));
  });

  it('RFC 9552 §8.2.2: a duplicate known TLV discards that NLRI only', () => {
    const b = encodeNlri(link(1));
    const dup = concat(b, unhex('0104 0004 c6336401'));
    dup[3] = dup.length - 4;
    const ls = decodeLsUpdate(wire({ reach: concat(dup, encodeNlri(link(2))) }))!;
    expect(keys(ls.announced)).toEqual(keys([link(2)]));
    expect(ls.problems.map((p) => p.action)).toEqual(['nlri-discard']);
  });

  it('RFC 9552 §8.2.2 (attribute 1): TLVs not adding up to the attribute length: attribute discarded, its NLRI treated as withdrawn', () => {
    const attr = unhex('0447 0003 000001 0448 0009 00');
    const ls = decodeLsUpdate(
      wire({ reach: concat(encodeNlri(link(1)), encodeNlri(link(2))), bgpLs: attr }),
    )!;
    expect(ls.attribute).toBeNull();
    expect(ls.announced).toEqual([]);
    expect(keys(ls.withdrawn)).toEqual(keys([link(1), link(2)]));
    expect(ls.problems.map((p) => [p.action, p.where])).toEqual([
      ['attribute-discard', 'attribute'],
    ]);
    expect(ls.problems[0]!.bytes).toEqual(attr);
  });

  it('RFC 9552 §8.2.2 (attribute 2): a known TLV of a bad length (IGP Metric of 4 octets): attribute discarded, treat-as-withdraw', () => {
    const ls = decodeLsUpdate(
      wire({ reach: encodeNlri(link(1)), bgpLs: unhex('0447 0004 00ffffff') }),
    )!;
    expect(ls.announced).toEqual([]);
    expect(keys(ls.withdrawn)).toEqual(keys([link(1)]));
    expect(ls.problems[0]!.reason).toMatch(/RFC 9552 §5.3.2.4/);
  });

  it('RFC 9552 §8.2.2 (attribute 3): an empty attribute 29 (discarded by src/bgp) is treat-as-withdraw too', () => {
    const ls = decodeLsUpdate(wire({ reach: encodeNlri(link(1)), bgpLs: new Uint8Array(0) }))!;
    expect(ls.announced).toEqual([]);
    expect(keys(ls.withdrawn)).toEqual(keys([link(1)]));
    expect(ls.problems.map((p) => p.action)).toEqual(['attribute-discard']);
  });

  it('RFC 7606 §3.d via src/bgp: an UPDATE missing ORIGIN has every BGP-LS NLRI treated as withdrawn', () => {
    const ls = decodeLsUpdate(wire({ reach: encodeNlri(link(1)), origin: false }))!;
    expect(ls.announced).toEqual([]);
    expect(keys(ls.withdrawn)).toEqual(keys([link(1)]));
    expect(ls.problems.map((p) => p.action)).toEqual(['treat-as-withdraw']);
  });

  it('RFC 9552 §8.2.2: malformed BGP-LS never raises in src/bgp, so the session and its other families stay', () => {
    const bad = unhex('0002 0003 070000');
    expect(() => wire({ reach: bad })).not.toThrow();
    expect(decodeLsUpdate(wire({ reach: bad }))!.problems.map((p) => p.action)).toEqual([
      'nlri-discard',
    ]);
  });
});

describe('buildLsUpdates / encodeLsUpdates', () => {
  const h = (i: number): HalfLink => ({
    instanceId: 0n,
    local: { asn: 65001, routerId: '192.0.2.1' },
    remote: { asn: 65000 + i, routerId: `192.0.2.${i % 250}` },
    localAddress: '192.0.2.1',
    nextHop: `198.51.${i >> 8}.${i & 0xff}`,
  });

  it('RFC 4271 §4.3: 1000 requests pack into as few UPDATEs as fit 4096 octets, and decode back', () => {
    const items = Array.from({ length: 1000 }, (_, i) => requestItem(h(i)));
    const withdraw = Array.from({ length: 300 }, (_, i) => link(i));
    const msgs = encodeLsUpdates(OPTS, {
      nextHop: '192.0.2.1',
      asPath: [65001],
      announce: items,
      withdraw,
    });
    const nlriBytes = encodeNlri(items[0]!.nlri).length;
    const total = (n: number) => Math.ceil(n / Math.floor((4096 - 60) / nlriBytes));
    expect(msgs.length).toBe(total(1000) + total(300));
    const got: string[] = [];
    const gone: string[] = [];
    let sawAnnounce = false;
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(4096);
      const ls = decodeLsUpdate(decodeMessage(m, OPTS) as UpdateMessage)!;
      expect(ls.problems).toEqual([]);
      if (ls.withdrawn.length > 0) expect(sawAnnounce).toBe(false); // withdrawals first
      if (ls.announced.length > 0) sawAnnounce = true;
      got.push(...keys(ls.announced));
      gone.push(...keys(ls.withdrawn));
    }
    expect(got).toEqual(keys(items.map((x) => x.nlri)));
    expect(gone).toEqual(keys(withdraw));
  });

  it('RFC 8654: with Extended Message the same batch takes fewer, larger UPDATEs', () => {
    const items = Array.from({ length: 1000 }, (_, i) => requestItem(h(i)));
    const ext: CodecOptions = { as4: true, extendedMessage: true };
    const msgs = encodeLsUpdates(ext, {
      nextHop: '192.0.2.1',
      asPath: [65001],
      announce: items,
      withdraw: [],
    });
    expect(msgs.length).toBe(2);
    for (const m of msgs) expect(m.length).toBeLessThanOrEqual(65535);
  });

  it('NLRI with different attributes go in different UPDATEs, equal ones share', () => {
    const items = [requestItem(h(1), 'B'), requestItem(h(2), 'C'), requestItem(h(3), 'B')];
    const msgs = encodeLsUpdates(OPTS, {
      nextHop: '192.0.2.1',
      asPath: [65001],
      announce: items,
      withdraw: [],
    });
    expect(msgs.length).toBe(2);
    const first = decodeLsUpdate(decodeMessage(msgs[0]!, OPTS) as UpdateMessage)!;
    expect(first.attribute).toEqual({ linkName: 'B' });
    expect(keys(first.announced)).toEqual(keys([items[0]!.nlri, items[2]!.nlri]));
  });

  it('RFC 9552 §8.2.2: an attribute without TLVs is not sent (an empty attribute 29 is malformed)', () => {
    const [m] = encodeLsUpdates(OPTS, {
      nextHop: '192.0.2.1',
      asPath: [65001],
      announce: [{ nlri: link(1), attribute: {} }],
      withdraw: [],
    });
    const d = decodeMessage(m!, OPTS) as UpdateMessage;
    expect(d.attrs!.bgpLs).toBeUndefined();
    expect(decodeLsUpdate(d)!.problems).toEqual([]);
  });

  it('a 2-octet-AS session gets AS_TRANS handling from src/bgp', () => {
    const o: CodecOptions = { as4: false };
    const [m] = encodeLsUpdates(o, {
      nextHop: '192.0.2.1',
      asPath: [4200000000],
      announce: [requestItem(h(1))],
      withdraw: [],
    });
    const d = decodeMessage(m!, o) as UpdateMessage;
    expect(d.attrs!.asPath).toEqual([{ type: 2, asns: [4200000000] }]);
    expect(decodeLsUpdate(d)!.announced.length).toBe(1);
  });
});
