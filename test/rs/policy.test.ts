import { describe, expect, it } from 'vitest';
import { decodeAttributes, makeAttributes } from '../../src/bgp/attributes.ts';
import type { AsPathSegment, PathAttributes } from '../../src/bgp/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { RsClientConfig, RsConfig } from '../../src/config/types.ts';
import {
  createPolicy,
  isInvalidAsn,
  prependPath,
  REJECT,
  rejectCommunities,
} from '../../src/rs/policy.ts';
import type { ClientConfig } from '../../src/rs/policy-api.ts';

// An IXP LAN 192.0.2.0/24 + 2001:db8:1::/64 with the `arouteserver configure` community scheme.
const GENERAL = `
cfg:
  rs_as: 64500
  router_id: "192.0.2.2"
  filtering:
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
    global_black_list_pref:
      - "185.1.0.0/24"
    transit_free:
      action: reject
      asns: "174, 3356"
    never_via_route_servers:
      asns: [7922]
  communities:
    do_not_announce_to_any: { std: "0:rs_as", lrg: "rs_as:0:0" }
    do_not_announce_to_peer: { std: "0:peer_as", lrg: "rs_as:0:peer_as" }
    announce_to_peer: { std: "rs_as:peer_as", lrg: "rs_as:1:peer_as" }
    prepend_once_to_any: { std: "65501:rs_as", lrg: "rs_as:101:0" }
    prepend_twice_to_any: { std: "65502:rs_as", lrg: "rs_as:102:0" }
    prepend_thrice_to_any: { std: "65503:rs_as", lrg: "rs_as:103:0" }
    prepend_once_to_peer: { std: "65511:peer_as", lrg: "rs_as:101:peer_as" }
    prepend_twice_to_peer: { std: "65512:peer_as", lrg: "rs_as:102:peer_as" }
    prepend_thrice_to_peer: { std: "65513:peer_as", lrg: "rs_as:103:peer_as" }
    origin_present_in_as_set: { lrg: "rs_as:64512:11" }
`;
const CLIENTS = `
clients:
  - asn: 3333
    ip: ["192.0.2.11", "2001:db8:1::11"]
    cfg:
      filtering:
        irrdb:
          enforce_origin_in_as_set: True
          enforce_prefix_in_as_set: True
          prefixes: ["193.0.0.0/21", "2001:67c:2e8::/48", "193.0.10.0/23{23,24}"]
          origins: [3333]
  - asn: 10745
    ip: "192.0.2.22"
    cfg: { filtering: { next_hop: { policy: "same-as" } } }
  - asn: 10745
    ip: "192.0.2.23"
  - asn: 4608
    ip: ["192.0.2.33", "2001:db8:1::33"]
    cfg:
      filtering:
        next_hop:
          policy: "authorized_addresses"
          authorized_addresses_list: ["192.0.2.133"]
        ipv4_pref_len: { min: 8, max: 26 }
        black_list_pref:
          - prefix: "202.12.28.0"
            length: 24
        reject_invalid_as_in_as_path: False
  - asn: 28000
    ip: "2001:db8:1::44"
  - asn: 3356
    ip: "192.0.2.56"
  - asn: 6939
    ip: "192.0.2.69"
    cfg: { filtering: { max_as_path_len: 3 } }
`;

const { config } = parseConfig(GENERAL, CLIENTS);
const policy = createPolicy(config);
const byId = (id: string): RsClientConfig => config.clients.find((c) => c.id === id)!;
const C3333 = byId('AS3333');
const C10745a = byId('AS10745-1');
const C10745b = byId('AS10745-2');
const C4608 = byId('AS4608');
const C28000 = byId('AS28000');
const C3356 = byId('AS3356');
const C6939 = byId('AS6939');

const seq = (...asns: number[]): AsPathSegment => ({ type: 2, asns });
function attrs(
  path: AsPathSegment[] | number[],
  extra: {
    communities?: number[];
    largeCommunities?: [number, number, number][];
    med?: number;
    nextHop?: string;
  } = {},
): PathAttributes {
  const asPath =
    typeof path[0] === 'number' ? [seq(...(path as number[]))] : (path as AsPathSegment[]);
  return makeAttributes({ origin: 0, asPath, nextHop: extra.nextHop ?? '192.0.2.11', ...extra });
}
const std = (a: number, b: number): number => ((a << 16) | b) >>> 0;

function verdict(
  from: ClientConfig,
  prefix: string,
  nextHop: string,
  path: AsPathSegment[] | number[],
) {
  const afi = prefix.includes(':') ? 2 : 1;
  return policy.importPath(from, afi, prefix, nextHop, attrs(path));
}
const reasons = (...args: Parameters<typeof verdict>): number[] => verdict(...args).reasons;

describe('import policy (arouteserver filters, reject reasons per its "Reject policy" table)', () => {
  it('accepts a well-formed route', () => {
    const v = verdict(C3333, '193.0.0.0/21', '192.0.2.11', [3333]);
    expect(v).toEqual({ accepted: true, reasons: [] });
    expect(verdict(C3333, '2001:67c:2e8::/48', '2001:db8:1::11', [3333]).accepted).toBe(true);
  });

  it("RFC 7948 §4.8 / arouteserver next_hop strict: only the client's own address (code 5)", () => {
    expect(reasons(C3333, '193.0.0.0/21', '192.0.2.22', [3333])).toEqual([REJECT.INVALID_NEXT_HOP]);
    expect(reasons(C28000, '2a00::/16', '2001:db8:1::11', [28000])).toEqual([5]);
    expect(reasons(C28000, '2a00::/16', '2001:db8:1::44', [28000])).toEqual([]);
  });

  it('arouteserver next_hop same-as: any address of a client with the same ASN (code 5 otherwise)', () => {
    expect(reasons(C10745a, '199.5.26.0/24', '192.0.2.23', [10745])).toEqual([]);
    expect(reasons(C10745a, '199.5.26.0/24', '192.0.2.11', [10745])).toEqual([5]);
    // The second router keeps the default strict policy.
    expect(reasons(C10745b, '199.5.26.0/24', '192.0.2.22', [10745])).toEqual([5]);
  });

  it("arouteserver next_hop authorized_addresses: the listed addresses and the client's own", () => {
    expect(reasons(C4608, '202.12.29.0/24', '192.0.2.133', [4608])).toEqual([]);
    expect(reasons(C4608, '202.12.29.0/24', '192.0.2.33', [4608])).toEqual([]);
    expect(reasons(C4608, '202.12.29.0/24', '192.0.2.11', [4608])).toEqual([5]);
  });

  it('arouteserver ipv4_pref_len/ipv6_pref_len 8-24 / 12-48, with per-client override (code 13)', () => {
    expect(reasons(C10745a, '199.5.26.0/25', '192.0.2.22', [10745])).toEqual([
      REJECT.INVALID_PREFIX_LEN,
    ]);
    expect(reasons(C10745a, '6.0.0.0/7', '192.0.2.22', [10745])).toEqual([13]);
    expect(reasons(C4608, '202.12.29.0/26', '192.0.2.33', [4608])).toEqual([]);
    expect(reasons(C4608, '202.12.29.0/27', '192.0.2.33', [4608])).toEqual([13]);
    expect(reasons(C28000, '2a00:1::/49', '2001:db8:1::44', [28000])).toEqual([13]);
    expect(reasons(C28000, '2a00::/11', '2001:db8:1::44', [28000])).toEqual([13]);
  });

  it('bogons: default IPv4/IPv6 lists, prefix or more specific; default route exact (code 2)', () => {
    expect(reasons(C10745a, '10.0.0.0/8', '192.0.2.22', [10745])).toEqual([REJECT.BOGON]);
    expect(reasons(C10745a, '10.20.0.0/16', '192.0.2.22', [10745])).toEqual([2]);
    expect(reasons(C10745a, '198.51.100.0/24', '192.0.2.22', [10745])).toEqual([2]);
    expect(reasons(C28000, '2001:db8::/32', '2001:db8:1::44', [28000])).toEqual([2]);
    expect(reasons(C28000, '2002:c000::/24', '2001:db8:1::44', [28000])).toEqual([2]);
    expect(reasons(C10745a, '0.0.0.0/0', '192.0.2.22', [10745])).toEqual([13, 2]);
  });

  it('global_black_list_pref: the prefix and more specifics (code 3)', () => {
    expect(reasons(C10745a, '185.1.0.0/24', '192.0.2.22', [10745])).toEqual([
      REJECT.GLOBAL_BLACK_LIST,
    ]);
    expect(reasons(C4608, '185.1.0.128/25', '192.0.2.33', [4608])).toEqual([3]);
    expect(reasons(C10745a, '185.1.0.0/23', '192.0.2.22', [10745])).toEqual([]);
  });

  it('client black_list_pref (code 11)', () => {
    expect(reasons(C4608, '202.12.28.0/24', '192.0.2.33', [4608])).toEqual([
      REJECT.CLIENT_BLACK_LIST,
    ]);
    expect(reasons(C4608, '202.12.28.64/26', '192.0.2.33', [4608])).toEqual([11]);
    expect(reasons(C10745a, '202.12.28.0/24', '192.0.2.22', [10745])).toEqual([]);
  });

  it('IPv6 outside global unicast 2000::/3 (code 10)', () => {
    expect(reasons(C28000, '4000::/16', '2001:db8:1::44', [28000])).toEqual([
      REJECT.IPV6_NOT_GLOBAL_UNICAST,
    ]);
    expect(reasons(C28000, '2a00::/16', '2001:db8:1::44', [28000])).toEqual([]);
    expect(reasons(C28000, 'fc00::/16', '2001:db8:1::44', [28000])).toEqual([2, 10]);
  });

  it('invalid AFI: prefix family not the one announced (code 4)', () => {
    const v = policy.importPath(C3333, 2, '193.0.0.0/21', '192.0.2.11', attrs([3333]));
    expect(v.reasons[0]).toBe(REJECT.INVALID_AFI);
    expect(
      policy.importPath(C3333, 1, 'not-a-prefix', '192.0.2.11', attrs([3333])).reasons[0],
    ).toBe(4);
  });

  it('max_as_path_len (default 32, per client), AS_SET counting as one (code 1)', () => {
    const long = [10745, ...Array.from({ length: 32 }, () => 3549)];
    expect(reasons(C10745a, '199.5.26.0/24', '192.0.2.22', long)).toEqual([REJECT.AS_PATH_LEN]);
    expect(reasons(C10745a, '199.5.26.0/24', '192.0.2.22', long.slice(0, 32))).toEqual([]);
    expect(reasons(C6939, '216.218.0.0/17', '192.0.2.69', [6939, 3549, 3549])).toEqual([]);
    expect(reasons(C6939, '216.218.0.0/17', '192.0.2.69', [6939, 3549, 3549, 3549])).toEqual([1]);
    const withSet: AsPathSegment[] = [seq(6939, 3549), { type: 1, asns: [1, 2, 3, 4] }];
    expect(reasons(C6939, '216.218.0.0/17', '192.0.2.69', withSet)).toEqual([]);
  });

  it('first AS must be the peer AS (code 6), also for an empty AS_PATH', () => {
    expect(reasons(C3333, '193.0.0.0/21', '192.0.2.11', [6939, 3333])).toEqual([
      REJECT.INVALID_LEFT_MOST_ASN,
    ]);
    expect(reasons(C10745a, '199.5.26.0/24', '192.0.2.22', [])).toEqual([6]);
    expect(reasons(C10745a, '199.5.26.0/24', '192.0.2.22', [{ type: 1, asns: [10745] }])).toEqual([
      6,
    ]);
  });

  it('arouteserver reject_invalid_as_in_as_path: private, reserved, documentation, AS_TRANS (code 7)', () => {
    for (const bad of [
      0, 23456, 64496, 64512, 65534, 65535, 65551, 65552, 131071, 4200000000, 4294967295,
    ]) {
      expect(isInvalidAsn(bad)).toBe(true);
      expect(reasons(C10745a, '199.5.26.0/24', '192.0.2.22', [10745, bad, 3549])).toEqual([
        REJECT.INVALID_ASN_IN_AS_PATH,
      ]);
    }
    for (const ok of [1, 3333, 64495, 131072, 4199999999]) expect(isInvalidAsn(ok)).toBe(false);
    // Disabled for AS4608 in clients.yml.
    expect(reasons(C4608, '202.12.29.0/24', '192.0.2.33', [4608, 64512])).toEqual([]);
  });

  it('arouteserver transit_free: listed ASNs anywhere but the left-most position (code 8)', () => {
    expect(reasons(C10745a, '199.5.26.0/24', '192.0.2.22', [10745, 3356, 3549])).toEqual([
      REJECT.TRANSIT_FREE_ASN,
    ]);
    expect(reasons(C3356, '4.0.0.0/9', '192.0.2.56', [3356, 174])).toEqual([]);
    expect(reasons(C3356, '4.0.0.0/9', '192.0.2.56', [3356, 3549])).toEqual([]);
  });

  it('arouteserver never_via_route_servers asns: anywhere in AS_PATH (code 15)', () => {
    expect(reasons(C10745a, '199.5.26.0/24', '192.0.2.22', [10745, 7922])).toEqual([
      REJECT.NEVER_VIA_RS_ASN,
    ]);
  });

  it('IRR allow-lists: prefix exact or within {ge,le} (code 12), origin ASN (code 9)', () => {
    expect(reasons(C3333, '193.0.8.0/24', '192.0.2.11', [3333])).toEqual([
      REJECT.PREFIX_NOT_IN_IRR,
    ]);
    expect(reasons(C3333, '193.0.10.0/24', '192.0.2.11', [3333])).toEqual([]);
    expect(reasons(C3333, '193.0.11.0/24', '192.0.2.11', [3333])).toEqual([]);
    expect(reasons(C3333, '193.0.10.0/23', '192.0.2.11', [3333])).toEqual([]);
    expect(reasons(C3333, '193.0.0.0/21', '192.0.2.11', [3333, 12654])).toEqual([
      REJECT.ORIGIN_NOT_IN_IRR,
    ]);
    // An AS_SET at the end has no single origin: not authorised.
    expect(
      reasons(C3333, '193.0.0.0/21', '192.0.2.11', [seq(3333), { type: 1, asns: [3333] }]),
    ).toEqual([9]);
  });

  it('RFC 7999 §5 BLACKHOLE (65535:666): rejected with code 65535, never passed on as an ordinary route', () => {
    const bh = (extra: Parameters<typeof attrs>[1]) =>
      policy.importPath(C3333, 1, '193.0.0.0/21', '192.0.2.11', attrs([3333], extra));
    expect(bh({ communities: [std(65535, 666)] })).toEqual({
      accepted: false,
      reasons: [REJECT.UNKNOWN],
    });
    expect(bh({ communities: [std(65535, 666)] }).reasons).toEqual([65535]);
    expect(bh({ communities: [std(65535, 667)] }).accepted).toBe(true);
    // The configured `blackholing` community (arouteserver general.yml) too.
    const { config: c } = parseConfig(
      `${GENERAL}  # appended\n`.replace(
        '  communities:\n',
        '  communities:\n    blackholing: { std: "64500:666", lrg: "rs_as:666:0" }\n',
      ),
      CLIENTS,
    );
    const p = createPolicy(c);
    const from = c.clients[0]!;
    const v = (extra: Parameters<typeof attrs>[1]) =>
      p.importPath(from, 1, '193.0.0.0/21', '192.0.2.11', attrs([3333], extra)).reasons;
    expect(v({ communities: [std(64500, 666)] })).toEqual([65535]);
    expect(v({ largeCommunities: [[64500, 666, 0]] })).toEqual([65535]);
    expect(v({ communities: [std(65535, 666)] })).toEqual([65535]);
  });

  it('every reason that applies is reported, the primary first', () => {
    const v = verdict(C10745a, '10.0.0.0/25', '192.0.2.99', [6939, 64512]);
    expect(v.accepted).toBe(false);
    expect(v.reasons).toEqual([13, 2, 5, 6, 7]);
  });

  it('works for ClientConfig objects the core builds itself (looked up by id)', () => {
    const copy: ClientConfig = { ...C3333, filtering: { ...C3333.filtering } };
    delete (copy as Partial<RsClientConfig>).policy;
    expect(policy.importPath(copy, 1, '193.0.8.0/24', '192.0.2.11', attrs([3333])).reasons).toEqual(
      [12],
    );
  });

  it("arouteserver 'tag' reject policy communities: RS_AS:65520:0 and RS_AS:65520:<code>", () => {
    expect(rejectCommunities(64500, [5, 6])).toEqual([
      [64500, 65520, 0],
      [64500, 65520, 5],
    ]);
  });
});

describe('export policy: arouteserver announcement-control communities', () => {
  const exp = (
    comms: number[] = [],
    large: [number, number, number][] = [],
    to: ClientConfig = C28000,
  ) => policy.exportPath(C3333, to, attrs([3333], { communities: comms, largeCommunities: large }));

  it('no control community: sent unchanged', () => {
    expect(exp()).toEqual({ send: true, prepend: 0 });
    expect(policy.exportPath(C3333, C28000, attrs([3333]))).toEqual({ send: true, prepend: 0 });
    expect(exp([std(65000, 1)])).toEqual({ send: true, prepend: 0 });
  });

  it('do_not_announce_to_any 0:rs_as / rs_as:0:0', () => {
    expect(exp([std(0, 64500)])).toEqual({ send: false, prepend: 0 });
    expect(exp([], [[64500, 0, 0]])).toEqual({ send: false, prepend: 0 });
  });

  it('do_not_announce_to_peer 0:peer_as / rs_as:0:peer_as: only that peer', () => {
    expect(exp([std(0, 28000)]).send).toBe(false);
    expect(exp([std(0, 28000)], [], C4608).send).toBe(true);
    expect(exp([], [[64500, 0, 28000]]).send).toBe(false);
    expect(exp([], [[64500, 0, 28000]], C10745a).send).toBe(true);
  });

  it('announce_to_peer rs_as:peer_as overrides do_not_announce_to_any for that peer only', () => {
    const comms = [std(0, 64500), std(64500, 28000)];
    expect(exp(comms).send).toBe(true);
    expect(exp(comms, [], C4608).send).toBe(false);
    const large: [number, number, number][] = [
      [64500, 0, 0],
      [64500, 1, 4608],
    ];
    expect(exp([], large, C4608).send).toBe(true);
    expect(exp([], large).send).toBe(false);
  });

  it('announce_to_peer alone does not restrict (arouteserver route_can_be_announced_to)', () => {
    expect(exp([std(64500, 4608)]).send).toBe(true);
  });

  it('do_not_announce_to_peer wins over announce_to_peer for the same peer', () => {
    expect(exp([std(0, 64500), std(64500, 28000), std(0, 28000)]).send).toBe(false);
  });

  it('prepend_{once,twice,thrice}_to_any, standard and large', () => {
    expect(exp([std(65501, 64500)])).toEqual({ send: true, prepend: 1 });
    expect(exp([std(65502, 64500)])).toEqual({ send: true, prepend: 2 });
    expect(exp([], [[64500, 103, 0]])).toEqual({ send: true, prepend: 3 });
  });

  it('prepend_x_to_peer applies to that peer and takes precedence over _to_any', () => {
    const comms = [std(65512, 28000), std(65503, 64500)];
    expect(exp(comms)).toEqual({ send: true, prepend: 2 });
    expect(exp(comms, [], C4608)).toEqual({ send: true, prepend: 3 });
    expect(exp([], [[64500, 101, 28000]])).toEqual({ send: true, prepend: 1 });
    expect(exp([], [[64500, 101, 28000]], C4608)).toEqual({ send: true, prepend: 0 });
  });

  it('several prepend requests: once before twice before thrice (arouteserver apply_prepend order)', () => {
    expect(exp([std(65513, 28000), std(65511, 28000)]).prepend).toBe(1);
    expect(exp([std(65503, 64500), std(65502, 64500)]).prepend).toBe(2);
  });

  it('no communities configured means none honoured', () => {
    const bare = parseConfig(
      'cfg:\n  rs_as: 64500\n  router_id: "192.0.2.2"\n  filtering:\n    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }\n',
      CLIENTS,
    ).config;
    const p = createPolicy(bare);
    const a = attrs([3333], { communities: [std(0, 64500), std(65501, 64500)] });
    expect(p.exportPath(bare.clients[0]!, bare.clients[4]!, a)).toEqual({ send: true, prepend: 0 });
  });
});

describe('outbound attributes (RFC 7947 §2.2 transparency)', () => {
  const decode = (a: PathAttributes): PathAttributes => decodeAttributes(a.wire, true).attrs!;

  it('RFC 7947 §2.2: without control communities or prepend, the very same attributes go out', () => {
    const a = attrs([3333, 12654], { communities: [std(65000, 1)], med: 50 });
    expect(policy.outbound(a, 0, 3333)).toBe(a);
  });

  it('strips RS-addressed communities (standard, large, peer_as wildcards, reject reasons), keeps the rest', () => {
    const a = attrs([3333], {
      communities: [std(0, 64500), std(0, 28000), std(64500, 4608), std(65000, 1), std(65511, 9)],
      largeCommunities: [
        [64500, 0, 0],
        [64500, 1, 28000],
        [64500, 65520, 5],
        [64500, 64512, 11],
        [3333, 1, 2],
      ],
      med: 50,
    });
    const out = policy.outbound(a, 0, 3333);
    expect(out).not.toBe(a);
    expect(out.communities).toEqual([std(65000, 1)]);
    expect(out.largeCommunities).toEqual([[3333, 1, 2]]);
    const wire = decode(out);
    expect(wire.communities).toEqual([std(65000, 1)]);
    expect(wire.largeCommunities).toEqual([[3333, 1, 2]]);
  });

  it('RFC 7947 §2.2: NEXT_HOP, MED and the AS_PATH are untouched; the RS AS is never added', () => {
    const a = attrs([3333, 12654], {
      communities: [std(0, 28000)],
      med: 77,
      nextHop: '192.0.2.11',
    });
    const out = decode(policy.outbound(a, 0, 3333));
    expect(out.nextHop).toBe('192.0.2.11');
    expect(out.med).toBe(77);
    expect(out.asPath).toEqual([seq(3333, 12654)]);
    expect(out.communities).toBeUndefined();
  });

  it("prepends the announcing client's ASN, never the RS AS (RFC 7947 §2.2, arouteserver prepend)", () => {
    const a = attrs([3333, 12654], { communities: [std(65502, 64500)] });
    const out = policy.outbound(a, 2, 3333);
    expect(out.asPath).toEqual([seq(3333, 3333, 3333, 12654)]);
    const wire = decode(out);
    expect(wire.asPath).toEqual([seq(3333, 3333, 3333, 12654)]);
    expect(wire.communities).toBeUndefined();
    expect(JSON.stringify(wire.asPath)).not.toContain('64500');
    // Asked to prepend with the RS AS by mistake: the left-most (client) ASN is used.
    expect(policy.outbound(a, 1, 64500).asPath).toEqual([seq(3333, 3333, 12654)]);
  });

  it('prepend starts a new AS_SEQUENCE when the leading one is full or an AS_SET', () => {
    expect(prependPath([{ type: 1, asns: [1, 2] }], 1, 3333)).toEqual([
      seq(3333),
      { type: 1, asns: [1, 2] },
    ]);
    const full = seq(...new Array<number>(255).fill(3333));
    expect(prependPath([full], 2, 3333)).toEqual([seq(3333, 3333), full]);
  });

  it('caches: the same (attrs, prepend, fromAsn) returns the same object', () => {
    const a = attrs([3333], { communities: [std(0, 28000), std(65000, 1)] });
    const o1 = policy.outbound(a, 0, 3333);
    expect(policy.outbound(a, 0, 3333)).toBe(o1);
    const p1 = policy.outbound(a, 1, 3333);
    expect(p1).not.toBe(o1);
    expect(policy.outbound(a, 1, 3333)).toBe(p1);
    const b = attrs([3333]);
    expect(policy.outbound(b, 1, 3333)).toBe(policy.outbound(b, 1, 3333));
  });

  it('exportPath verdicts are shared objects (no allocation per target)', () => {
    const a = attrs([3333], { communities: [std(65501, 64500)] });
    expect(policy.exportPath(C3333, C4608, a)).toBe(policy.exportPath(C3333, C28000, a));
  });
});

describe('policy from the fixtures', () => {
  it('builds from fixtures/config/general.yml + clients.yml', async () => {
    const { loadConfig } = await import('../../src/config/load.ts');
    const dir = new URL('../../fixtures/config/', import.meta.url).pathname;
    const { config: c }: { config: RsConfig } = loadConfig(
      `${dir}general.yml`,
      `${dir}clients.yml`,
    );
    const p = createPolicy(c);
    const ripe = c.clients[0]!;
    expect(p.importPath(ripe, 1, '193.0.0.0/21', '192.0.2.11', attrs([3333])).accepted).toBe(true);
    // The IXP LAN is in the global black list.
    expect(p.importPath(ripe, 1, '192.0.2.0/24', '192.0.2.11', attrs([3333])).reasons).toContain(3);
  });
});
