// The RS-BFD profile mapping (docs/rs-bfd-profile.md §4-5).

import { describe, expect, it } from 'vitest';
import {
  BgpLsError,
  decodeLsAttribute,
  decodeNlri,
  encodeLsAttribute,
  encodeNlri,
  type HalfLink,
  halfLinkKey,
  halfLinkNlri,
  type LinkNlri,
  type LsNlri,
  METRIC_UNREACHABLE,
  parseHalfLink,
  parseReport,
  parseRequest,
  reportItem,
  requestItem,
} from '../../src/bgpls/codec.ts';
import { hex } from './helpers.ts';

const v4: HalfLink = {
  instanceId: 0n,
  local: { asn: 65001, routerId: '192.0.2.1' },
  remote: { asn: 65002, routerId: '192.0.2.2' },
  localAddress: '192.0.2.1',
  nextHop: '192.0.2.2',
};
const v6: HalfLink = {
  instanceId: 77n,
  local: { asn: 4200000001, routerId: '10.0.0.1' },
  remote: { asn: 65002, routerId: '10.0.0.2' },
  localAddress: '2001:db8::1',
  nextHop: '2001:db8::2:0:0:2',
};

const wire = (n: LsNlri): LsNlri => decodeNlri(encodeNlri(n));

describe('RS-BFD half-link NLRI', () => {
  it('profile §4: IPv4 next hop: Protocol-ID 7, 256 {512, 516}, 257 {512, 516}, 259/260', () => {
    expect(halfLinkNlri(v4)).toEqual({
      kind: 'link',
      protocolId: 7,
      identifier: 0n,
      local: { asn: 65001, bgpRouterId: '192.0.2.1' },
      remote: { asn: 65002, bgpRouterId: '192.0.2.2' },
      link: { ipv4Interface: '192.0.2.1', ipv4Neighbor: '192.0.2.2' },
    });
    expect(hex(encodeNlri(halfLinkNlri(v4)))).toBe(
      '000200410700000000000000000100001002000004' +
        '0000fde902040004c00002010101001002000004' +
        '0000fdea02040004c000020201030004c000020101040004c0000202',
    );
  });

  it('profile §4: IPv6 next hop: 261/262 with global addresses, Identifier = instance id', () => {
    const n = halfLinkNlri(v6);
    expect(n.identifier).toBe(77n);
    expect(n.link).toEqual({ ipv6Interface: '2001:db8::1', ipv6Neighbor: '2001:db8::2:0:0:2' });
    expect(parseHalfLink(wire(n))).toEqual({ ok: true, value: v6 });
  });

  it('profile §4: link-local IPv6 or mixed families are refused on encode', () => {
    expect(() => halfLinkNlri({ ...v6, nextHop: 'fe80::2' })).toThrow(BgpLsError);
    expect(() => halfLinkNlri({ ...v6, localAddress: 'febf::1' })).toThrow(BgpLsError);
    expect(() => halfLinkNlri({ ...v4, nextHop: '2001:db8::2' })).toThrow(BgpLsError);
    expect(() => halfLinkNlri({ ...v4, nextHop: 'x' })).toThrow(BgpLsError);
  });

  it('profile §5.1: a request carries Link Name naming B, and parses back', () => {
    const r = requestItem(v4, 'AS65002 Example');
    const back = parseRequest(wire(r.nlri), decodeLsAttribute(encodeLsAttribute(r.attribute!)));
    expect(back).toEqual({ ok: true, value: { ...v4, name: 'AS65002 Example' } });
    expect(requestItem(v4).attribute).toBeUndefined();
    expect(parseRequest(wire(r.nlri), null)).toEqual({ ok: true, value: v4 });
  });

  it('profile §5.3: reports carry IGP Metric of 3 octets: 1 reachable, 0xFFFFFF unreachable', () => {
    const up = reportItem(v4, 'reachable');
    const down = reportItem(v6, 'unreachable');
    expect(hex(encodeLsAttribute(up.attribute))).toBe('04470003000001');
    expect(hex(encodeLsAttribute(down.attribute))).toBe('04470003ffffff');
    expect(parseReport(wire(up.nlri), up.attribute)).toEqual({
      ok: true,
      value: { ...v4, state: 'reachable', metric: 1 },
    });
    expect(parseReport(wire(down.nlri), down.attribute)).toEqual({
      ok: true,
      value: { ...v6, state: 'unreachable', metric: METRIC_UNREACHABLE },
    });
  });

  it('profile §5.3: metrics 0 to 0xFFFFFE, of any length, mean reachable', () => {
    for (const [igpMetric, igpMetricLength] of [
      [0, 3],
      [0xfffffe, 3],
      [0x3f, 1],
      [0xffff, 2],
    ] as const) {
      const r = parseReport(halfLinkNlri(v4), { igpMetric, igpMetricLength });
      expect(r.ok && r.value.state).toBe('reachable');
    }
  });

  it('profile §5.3: a report without IGP Metric is not a report', () => {
    const r = parseReport(halfLinkNlri(v4), { linkName: 'x' });
    expect(r.ok).toBe(false);
    expect(parseReport(halfLinkNlri(v4), null).ok).toBe(false);
  });

  it('profile §4: matching ignores 513 (any value), 517, 258, 263 and unknown TLVs', () => {
    const n = halfLinkNlri(v4);
    const noisy: LinkNlri = {
      ...n,
      local: {
        ...n.local,
        bgpLsId: 0,
        memberAsn: 65001,
        unknown: [{ type: 600, value: new Uint8Array(1) }],
      },
      remote: { ...n.remote, bgpLsId: 12345 },
      link: { ...n.link, linkIds: { local: 1, remote: 2 }, multiTopology: [0] },
    };
    expect(parseHalfLink(wire(noisy))).toEqual({ ok: true, value: v4 });
  });

  it('profile §4: what is not a half link says why', () => {
    const n = halfLinkNlri(v4);
    const cases: [LsNlri, RegExp][] = [
      [{ kind: 'node', protocolId: 7, identifier: 0n, local: n.local }, /not a Link NLRI/],
      [{ kind: 'opaque', nlriType: 3, value: new Uint8Array(3) }, /NLRI type 3/],
      [{ ...n, protocolId: 3 }, /Protocol-ID 3/],
      [{ ...n, local: { bgpRouterId: '192.0.2.1' } }, /Local .* AS \(512\)/],
      [{ ...n, remote: { asn: 1 } }, /Remote .* BGP Router-ID \(516\)/],
      [{ ...n, link: {} }, /no interface\/neighbor/],
      [{ ...n, link: { ipv4Interface: '192.0.2.1' } }, /without neighbor address \(260\)/],
      [{ ...n, link: { ipv4Neighbor: '192.0.2.2' } }, /without interface address \(259\)/],
      [{ ...n, link: { ipv6Interface: '2001:db8::1' } }, /without neighbor address \(262\)/],
      [{ ...n, link: { ...n.link, ipv6Neighbor: '2001:db8::2' } }, /both IPv4/],
      [{ ...n, link: { ipv6Interface: '2001:db8::1', ipv6Neighbor: 'fe80::2' } }, /link-local/],
      [{ ...n, link: { ipv4Interface: '192.0.2.2', ipv4Neighbor: '192.0.2.2' } }, /both 192.0.2.2/],
    ];
    for (const [nlri, why] of cases) {
      const r = parseHalfLink(nlri);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(why);
    }
    const wrongInstance = parseHalfLink(n, { instanceId: 5n });
    expect(wrongInstance.ok).toBe(false);
    expect(parseHalfLink(n, { instanceId: 0n }).ok).toBe(true);
  });

  it('halfLinkKey: one key per (local address, next hop), canonical text', () => {
    const a = parseHalfLink(wire(halfLinkNlri(v6)));
    expect(a.ok && halfLinkKey(a.value.localAddress, a.value.nextHop)).toBe(
      halfLinkKey('2001:db8::1', '2001:db8::2:0:0:2'),
    );
    expect(halfLinkKey('192.0.2.1', '192.0.2.2')).not.toBe(halfLinkKey('192.0.2.2', '192.0.2.1'));
  });
});
