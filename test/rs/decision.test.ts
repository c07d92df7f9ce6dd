import { describe, expect, it } from 'vitest';
import {
  addrOf,
  announce,
  attrs,
  lab,
  noExportTo,
  prependTo,
  REJECT_ME,
  withdraw,
} from './helpers.ts';

const P = '203.0.113.0/24';

describe('decision process, ranked once per prefix', () => {
  it('RFC 4271 §9.1.2.2 (a): shortest AS_PATH wins; AS_SET counts 1, confed segments 0', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    l.up(65002);
    l.up(65003);
    l.send(65001, announce([P], attrs({ asPath: [65001, 1, 2], nextHop: addrOf(65001) })));
    l.send(
      65002,
      announce(
        [P],
        attrs({
          asPath: [
            { type: 2, asns: [65002] },
            { type: 1, asns: [7, 8, 9] },
            { type: 3, asns: [1, 2, 3, 4] },
          ],
          nextHop: addrOf(65002),
        }),
      ),
    );
    l.send(65003, announce([P], attrs({ asPath: [65003, 5, 6, 7], nextHop: addrOf(65003) })));
    // 65002: 1 + 1 (set) + 0 (confed) = 2 beats 3 and 4.
    expect(x.from(P)).toBe(65002);
    expect(l.rs.routes(P).map((r) => [r.from, r.rank])).toEqual([
      ['AS65002', 1],
      ['AS65001', 2],
      ['AS65003', 3],
    ]);
  });

  it('RFC 4271 §9.1.2.2 (b): lowest ORIGIN; LOCAL_PREF is not used between RS clients', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    l.up(65002);
    const a = attrs({ asPath: [65001, 9], origin: 2, nextHop: addrOf(65001) });
    a.localPref = 1000;
    l.send(65001, announce([P], a));
    l.send(65002, announce([P], attrs({ asPath: [65002, 9], origin: 0, nextHop: addrOf(65002) })));
    expect(x.from(P)).toBe(65002);
  });

  it('RFC 4271 §9.1.2.2 (c): MED compared only within the same neighbour AS, unless always-compare-med', () => {
    for (const always of [false, true]) {
      const l = lab({ alwaysCompareMed: always });
      const x = l.up(65010);
      l.up(65001);
      l.up(65002);
      l.up(65003);
      // 65001 (bgpId lowest) has MED 50; 65002 and 65003 both send paths whose neighbour AS is 65099.
      l.send(65001, announce([P], attrs({ asPath: [65001, 9], med: 50, nextHop: addrOf(65001) })));
      l.send(65002, announce([P], attrs({ asPath: [65099, 9], med: 30, nextHop: addrOf(65002) })));
      l.send(65003, announce([P], attrs({ asPath: [65099, 9], med: 10, nextHop: addrOf(65003) })));
      const order = l.rs.routes(P).map((r) => r.from);
      if (always) {
        expect(order).toEqual(['AS65003', 'AS65002', 'AS65001']);
      } else {
        // 65003 beats 65002 on MED (same neighbour AS); 65001 vs 65003 falls to the BGP identifier.
        expect(order).toEqual(['AS65001', 'AS65003', 'AS65002']);
      }
      expect(x.from(P)).toBe(always ? 65099 : 65001);
    }
  });

  it('RFC 4271 §9.1.2.2 (f)(g): lowest BGP Identifier, then lowest peer address', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001, { bgpId: 20 });
    l.up(65002, { bgpId: 10 });
    l.send(65001, announce([P], attrs({ asPath: [65001, 9], nextHop: addrOf(65001) })));
    l.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    expect(x.from(P)).toBe(65002);

    const m = lab();
    const y = m.up(65010);
    m.up(65002, { bgpId: 7 }); // 192.0.2.2
    m.up(65001, { bgpId: 7 }); // 192.0.2.1
    m.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    m.send(65001, announce([P], attrs({ asPath: [65001, 9], nextHop: addrOf(65001) })));
    expect(y.from(P)).toBe(65001);
  });
});

describe('per-client best path', () => {
  it('RFC 7947 §2.3: path hiding — a client whose best path is filtered for it still gets the second best', () => {
    const l = lab();
    const a = l.up(65001);
    const b = l.up(65002);
    const c = l.up(65003);
    const d = l.up(65004);
    // A's path is best (shorter) but tagged do-not-announce-to AS65003.
    l.send(
      65001,
      announce(
        [P],
        attrs({ asPath: [65001], nextHop: addrOf(65001), communities: [noExportTo(65003)] }),
      ),
    );
    l.send(65002, announce([P], attrs({ asPath: [65002, 9, 9], nextHop: addrOf(65002) })));
    expect(c.from(P)).toBe(65002);
    expect(d.from(P)).toBe(65001);
    expect(b.from(P)).toBe(65001);
    expect(a.from(P)).toBe(65002);
    const view = l.rs.routes(P, 'AS65003');
    expect(view.find((r) => r.best)?.from).toBe('AS65002');
    expect(view.find((r) => r.from === 'AS65001')?.eligible).toBe(false);
  });

  it('RFC 7947 §2.3: a client never receives its own path back', () => {
    const l = lab();
    const a = l.up(65001);
    const b = l.up(65002);
    l.send(65001, announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    expect(a.get(P)).toBeUndefined();
    expect(a.updates()).toHaveLength(0);
    expect(b.from(P)).toBe(65001);
  });

  it('RFC 7947 §2.2: transparency — NEXT_HOP, AS_PATH, MED, communities and unknown transitive pass unchanged, no RS AS', () => {
    const l = lab();
    const b = l.up(65002);
    l.up(65001);
    const unknown = { flags: 0xc0, type: 99, value: new Uint8Array([1, 2, 3]) };
    const sent = attrs({
      asPath: [65001, 64999],
      med: 77,
      nextHop: '192.0.2.201', // a third-party next hop, kept as is
      communities: [(65001 << 16) | 42],
      largeCommunities: [[65001, 1, 2]],
      other: [unknown],
    });
    l.send(65001, announce([P], sent));
    const got = b.get(P)!;
    expect(got.attrs).toBe(sent); // the very same (interned) attribute set: nothing re-encoded
    expect(got.attrs.asPath).toEqual([{ type: 2, asns: [65001, 64999] }]);
    expect(got.attrs.asPath.flatMap((s) => s.asns)).not.toContain(64500);
    expect(got.attrs.nextHop).toBe('192.0.2.201');
    expect(got.attrs.med).toBe(77);
    expect(got.attrs.communities).toEqual([(65001 << 16) | 42]);
    expect(got.attrs.other).toEqual([unknown]);
  });

  it('RFC 7947 §2.2: only RS-addressed control communities are stripped and the requested prepend applied', () => {
    const l = lab();
    const b = l.up(65002);
    const c = l.up(65003);
    l.up(65001);
    const keep = (65001 << 16) | 42;
    l.send(
      65001,
      announce(
        [P],
        attrs({ asPath: [65001], nextHop: addrOf(65001), communities: [keep, prependTo(65003)] }),
      ),
    );
    expect(b.get(P)!.attrs.communities).toEqual([keep]);
    expect(b.get(P)!.attrs.asPath[0]!.asns).toEqual([65001]);
    expect(c.get(P)!.attrs.asPath[0]!.asns).toEqual([65001, 65001]);
  });

  it('RFC 4271 §3.1: implicit withdraw to the next best, then withdraw when no path is left', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    l.up(65002);
    l.send(65001, announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    expect(x.from(P)).toBe(65001);
    x.clear();
    l.send(65001, withdraw([P]));
    // One announcement replacing the route (implicit withdraw), no withdraw.
    expect(x.updates()).toHaveLength(1);
    expect(x.updates()[0]!.nlri).toEqual([{ prefix: P }]);
    expect(x.from(P)).toBe(65002);
    x.clear();
    l.send(65002, withdraw([P]));
    expect(x.updates()).toHaveLength(1);
    expect(x.updates()[0]!.withdrawn).toEqual([{ prefix: P }]);
    expect(x.get(P)).toBeUndefined();
    expect(l.rs.stats().prefixes).toBe(0);
    expect(l.rs.ribCount('AS65010')).toBe(0);
  });

  it('RFC 4271 §9.1.4: an unchanged best path is not re-sent; a new best from a changed attribute set is', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    l.up(65002);
    l.send(65001, announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    x.clear();
    l.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    expect(x.updates()).toHaveLength(0);
    l.send(65001, announce([P], attrs({ asPath: [65001], med: 5, nextHop: addrOf(65001) })));
    expect(x.updates()).toHaveLength(1);
    expect(x.get(P)!.attrs.med).toBe(5);
  });

  it('RFC 7947 §2.1: rejected paths stay in Adj-RIB-In for the looking glass, never ranked nor sent', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    l.send(
      65001,
      announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001), communities: [REJECT_ME] })),
    );
    expect(x.get(P)).toBeUndefined();
    const r = l.rs.routes(P);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ accepted: false, rank: null, reasons: [14] });
    expect(l.rs.clientSummary('AS65001')).toMatchObject({
      received: 1,
      rejected: 1,
      rejectedByReason: { 14: 1 },
    });
    l.send(65001, withdraw([P]));
    expect(l.rs.routes(P)).toHaveLength(0);
  });

  it('RFC 7947 §2.1: over the kept-rejected bound, rejected paths are counted but not kept', () => {
    const l = lab({ keepRejected: false, rejectedLimit: 0 });
    l.up(65010);
    l.up(65001);
    l.send(65001, announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.send(
      65001,
      announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001), communities: [REJECT_ME] })),
    );
    expect(l.rs.routes(P)).toHaveLength(0);
    expect(l.peers.get(65010)!.get(P)).toBeUndefined();
    expect(l.rs.clientSummary('AS65001')).toMatchObject({
      rejected: 1,
      rejectedKept: 0,
      rejectedNotKept: 1,
      rejectedByReason: { 14: 1 },
    });
    expect(l.rs.stats().prefixes).toBe(0);
  });

  it('rs-bfd-profile §5: an unreachable next hop hides the path for that client only, touching only it', () => {
    const l = lab();
    const x = l.up(65010);
    const y = l.up(65011);
    l.up(65001);
    l.up(65002);
    const Q = '198.51.100.0/24';
    l.send(65001, announce([P, Q], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    l.send(65002, announce(['192.0.2.128/25'], attrs({ asPath: [65002], nextHop: addrOf(65002) })));
    x.clear();
    y.clear();
    const others = [...l.peers.entries()].filter(([asn]) => asn !== 65010);
    for (const [, p] of others) p.clear();
    const exportBefore = l.policy.exportCalls;

    l.rs.setNextHopReachability('AS65010', addrOf(65001), true);
    l.rs.flush();
    expect(x.from(P)).toBe(65002); // next best via a reachable next hop
    expect(x.get(Q)).toBeUndefined(); // no alternative: withdrawn
    expect(
      x
        .updates()
        .flatMap((u) => [...u.nlri, ...u.withdrawn])
        .map((n) => n.prefix)
        .sort(),
    ).toEqual([P, Q].sort());
    for (const [, p] of others) expect(p.sent).toHaveLength(0);
    // Export verdicts are cached per (announcer, attribute set, target): only the newly
    // considered pair (65002's attribute set toward 65010) is evaluated.
    expect(l.policy.exportCalls).toBe(exportBefore + 1);
    expect(y.from(P)).toBe(65001);

    l.rs.setNextHopReachability('AS65010', addrOf(65001), false);
    l.rs.flush();
    expect(x.from(P)).toBe(65001);
    expect(x.from(Q)).toBe(65001);
  });

  it('rs-bfd-profile §5: a next hop announced by two clients (a third-party next hop) — a change reaches the paths of both', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    l.up(65002);
    l.up(65003);
    const Q = '198.51.100.0/24';
    // 65001 announces P via 65003's address (next_hop authorized_addresses allows it).
    l.send(65001, announce([P], attrs({ asPath: [65001], nextHop: addrOf(65003) })));
    l.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    l.send(65003, announce([Q], attrs({ asPath: [65003], nextHop: addrOf(65003) })));
    expect(x.from(P)).toBe(65001);
    expect(x.from(Q)).toBe(65003);

    l.rs.setNextHopReachability('AS65010', addrOf(65003), true);
    l.rs.flush();
    expect(x.from(P)).toBe(65002);
    expect(x.get(Q)).toBeUndefined();

    // 65001 moves P to its own next hop: the index follows the path.
    l.send(65001, announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    expect(x.from(P)).toBe(65001);
    l.rs.setNextHopReachability('AS65010', addrOf(65003), false);
    l.rs.flush();
    expect(x.from(P)).toBe(65001);
    expect(x.from(Q)).toBe(65003);
  });

  it('RFC 4760 §3: IPv6 paths carry their MP_REACH next hop (global and link-local) unchanged', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    const nh = { global: '2001:db8::1', linkLocal: 'fe80::1' };
    l.send(65001, announce(['2001:db8:1000::/36'], attrs({ asPath: [65001] }), nh));
    expect(x.get('2001:db8:1000::/36')!.nextHop).toEqual(nh);
    expect(x.updates()[0]).toMatchObject({ afi: 2, safi: 1 });
  });
});

describe('ranking after a removal (RFC 4271 §9.1.2.2 (c), deterministic MED)', () => {
  it('RFC 4271 §9.1.2.2: removing the last path that shared a neighbour AS leaves the order a fresh ranking gives', () => {
    // AS65001: neighbour AS 65300, MED 1; AS65002: neighbour AS 65100; AS65003:
    // neighbour AS 65300, no MED. With all three, 65003 beats 65001 within AS
    // 65300 and 65002 sits between them by BGP identifier; once 65003 goes, 65001
    // and 65002 compare by BGP identifier alone (fast-check found this one).
    const rank = (seq: number[], drop?: number) => {
      const l = lab();
      l.up(65010);
      const spec: Record<number, { nas: number; med?: number }> = {
        65001: { nas: 65300, med: 1 },
        65002: { nas: 65100 },
        65003: { nas: 65300 },
      };
      for (const asn of seq) {
        l.up(asn);
        const sp = spec[asn]!;
        l.send(
          asn,
          announce(
            [P],
            attrs({
              asPath: [sp.nas, 9],
              ...(sp.med === undefined ? {} : { med: sp.med }),
              nextHop: addrOf(asn),
            }),
          ),
        );
      }
      if (drop !== undefined) l.send(drop, withdraw([P]));
      return l.rs.routes(P).map((r) => r.from);
    };
    expect(rank([65001, 65002, 65003], 65003)).toEqual(rank([65001, 65002]));
    expect(rank([65003, 65002, 65001], 65003)).toEqual(['AS65001', 'AS65002']);
  });
});

describe('ranking is independent of arrival order (property)', () => {
  it('RFC 4271 §9.1.2.2: the same set of paths ranks the same whatever the order of arrival, with and without always-compare-med', async () => {
    const fc = (await import('fast-check')).default;
    const pathArb = fc.record({
      nas: fc.constantFrom(65100, 65200, 65300),
      len: fc.nat(2),
      origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
      med: fc.option(fc.nat(3)),
    });
    fc.assert(
      fc.property(
        fc.array(pathArb, { minLength: 1, maxLength: 7 }),
        fc.boolean(),
        fc.infiniteStream(fc.nat()),
        (specs, always, rnd) => {
          const order = specs.map((_, i) => i);
          const it = rnd[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = it.next().value! % (i + 1);
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          const rank = (seq: number[], drop?: number) => {
            const l = lab({ alwaysCompareMed: always });
            l.up(65010);
            for (const i of seq) {
              const asn = 65001 + i;
              const sp = specs[i]!;
              l.up(asn);
              l.send(
                asn,
                announce(
                  [P],
                  attrs({
                    asPath: [sp.nas, ...new Array<number>(sp.len).fill(9)],
                    origin: sp.origin,
                    ...(sp.med === null ? {} : { med: sp.med }),
                    nextHop: addrOf(asn),
                  }),
                ),
              );
            }
            if (drop !== undefined) l.send(65001 + drop, withdraw([P]));
            return l.rs.routes(P).map((r) => r.from);
          };
          const fresh = specs.map((_, i) => i);
          expect(rank(order)).toEqual(rank(fresh));
          // Removing a path leaves the ranking a fresh computation would give.
          const k = order[0]!;
          expect(rank(order, k)).toEqual(rank(fresh.filter((i) => i !== k)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('attribute interning', () => {
  it('RFC 7947 §2.2 / docs/architecture.md: equal attribute sets in separate UPDATEs share one object; nothing is re-sent; none leak', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    const mk = () => attrs({ asPath: [65001], med: 1, nextHop: addrOf(65001) });
    l.send(65001, announce(['198.51.100.0/25'], mk()));
    l.send(65001, announce(['198.51.100.128/25'], mk()));
    expect(l.rs.stats().attrSets).toBe(1);
    expect(x.get('198.51.100.0/25')!.attrs).toBe(x.get('198.51.100.128/25')!.attrs);
    x.clear();
    l.send(65001, announce(['198.51.100.0/25'], mk())); // the same route again
    expect(x.sent).toHaveLength(0);
    l.send(65001, withdraw(['198.51.100.0/25', '198.51.100.128/25']));
    expect(l.rs.stats()).toMatchObject({ attrSets: 0, prefixes: 0 });
  });
});

describe('extended next hop', () => {
  it('RFC 8950 §4: an IPv4 route with an IPv6 next hop goes only to sessions that negotiated it; others get the next best', () => {
    const l = lab();
    const enh = l.up(65010, { extendedNextHop: new Set(['1/1']) });
    const plain = l.up(65011);
    l.up(65001);
    l.up(65002);
    const v4 = (asn: number, len: number) =>
      attrs({ asPath: [asn, ...new Array<number>(len).fill(9)] });
    l.send(65001, {
      type: 'update',
      withdrawn: [],
      attrs: v4(65001, 0),
      nlri: [],
      mpReach: { afi: 1, safi: 1, nextHop: { global: '2001:db8::1' }, nlri: [{ prefix: P }] },
      mpUnreach: null,
      errors: [],
    });
    expect(enh.get(P)!.nextHop).toEqual({ global: '2001:db8::1' });
    expect(plain.get(P)).toBeUndefined();
    l.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    expect(plain.from(P)).toBe(65002);
    expect(enh.from(P)).toBe(65001);
  });
});
