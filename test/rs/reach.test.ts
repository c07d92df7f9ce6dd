import { describe, expect, it } from 'vitest';
import type { NextHopUsageEvent } from '../../src/rs/server.ts';
import { addrOf, announce, attrs, type FakePeer, lab, noExportTo, withdraw } from './helpers.ts';

const P = '192.0.2.0/25';
const Q = '198.51.100.0/24';

/** 65010 and 65011 receive; 65001 announces P and Q, 65002 announces P with a longer AS path. */
function setup() {
  const events: NextHopUsageEvent[] = [];
  const l = lab({ onNextHopUsage: (ev) => events.push(...ev) });
  const x = l.up(65010);
  const y = l.up(65011);
  l.up(65001);
  l.up(65002);
  l.send(65001, announce([P, Q], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
  l.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
  for (const p of l.peers.values()) p.clear();
  events.length = 0;
  return { l, x, y, events };
}

const prefixesIn = (p: FakePeer) =>
  p
    .updates()
    .flatMap((u) => [...u.nlri, ...u.withdrawn])
    .map((n) => n.prefix)
    .sort();

describe('reachability input (rs-bfd-profile §5)', () => {
  it('§5: set — the client gets the next best path as an implicit withdraw, a withdraw when none is left; nobody else sees anything', () => {
    const { l, x, y } = setup();
    l.rs.setNextHopReachability('AS65010', addrOf(65001), true);
    expect(x.sent).toHaveLength(0); // queued until the next slice
    l.rs.flush();
    expect(x.from(P)).toBe(65002);
    expect(x.get(Q)).toBeUndefined();
    expect(prefixesIn(x)).toEqual([P, Q].sort());
    for (const [asn, p] of l.peers) if (asn !== 65010) expect(p.sent).toHaveLength(0);
    expect(y.from(P)).toBe(65001);
    expect(l.rs.unreachableNextHops('AS65010')).toEqual([addrOf(65001)]);
    expect(l.rs.hiddenPaths('AS65010', addrOf(65001))).toBe(2);
    expect(l.rs.hiddenPaths('AS65011', addrOf(65001))).toBe(0);
    expect(l.rs.routes(P, 'AS65010').find((r) => r.from === 'AS65001')?.eligible).toBe(false);

    // Reachable again: the same path comes back.
    l.rs.setNextHopReachability('AS65010', addrOf(65001), false);
    l.rs.flush();
    expect(x.from(P)).toBe(65001);
    expect(x.from(Q)).toBe(65001);
    expect(l.rs.hiddenPaths('AS65010', addrOf(65001))).toBe(0);
  });

  it('§7: clear — every report of the client ends at once (fail open), then nothing more is sent', () => {
    const { l, x } = setup();
    l.rs.setNextHopReachability('AS65010', addrOf(65001), true);
    l.rs.setNextHopReachability('AS65010', addrOf(65002), true);
    l.rs.flush();
    expect(x.get(P)).toBeUndefined();
    expect(x.get(Q)).toBeUndefined();
    l.rs.clearNextHopReachability('AS65010');
    l.rs.flush();
    expect(x.from(P)).toBe(65001);
    expect(x.from(Q)).toBe(65001);
    expect(l.rs.unreachableNextHops('AS65010')).toEqual([]);
    x.clear();
    l.rs.clearNextHopReachability('AS65010');
    l.rs.setNextHopReachability('AS65010', addrOf(65001), false);
    l.rs.flush();
    expect(x.sent).toHaveLength(0);
    // The order of the queue holds: a report after a clear stays.
    l.rs.clearNextHopReachability('AS65010');
    l.rs.setNextHopReachability('AS65010', addrOf(65002), true);
    l.rs.flush();
    expect(l.rs.unreachableNextHops('AS65010')).toEqual([addrOf(65002)]);
    expect(x.from(P)).toBe(65001);
  });

  it('§5: reports are coalesced per slice — many reports, each next hop walked once', () => {
    const { l, x, y } = setup();
    const before = l.rs.reachWalks;
    for (let i = 0; i < 50; i++) {
      l.rs.setNextHopReachability('AS65010', addrOf(65001), i % 2 === 0);
      l.rs.setNextHopReachability('AS65011', addrOf(65001), true);
    }
    l.rs.setNextHopReachability('AS65010', addrOf(65001), true);
    l.rs.flush();
    expect(l.rs.reachWalks - before).toBe(1);
    expect(x.get(Q)).toBeUndefined();
    expect(y.get(Q)).toBeUndefined();
    // Down then up within one slice: no net change, no walk, nothing sent.
    x.clear();
    l.rs.setNextHopReachability('AS65010', addrOf(65002), true);
    l.rs.setNextHopReachability('AS65010', addrOf(65002), false);
    l.rs.flush();
    expect(l.rs.reachWalks - before).toBe(1);
    expect(x.sent).toHaveLength(0);
  });

  it('§5: a report that comes before the route is remembered', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65003);
    l.rs.setNextHopReachability('AS65010', addrOf(65003), true);
    l.rs.flush();
    l.send(65003, announce([Q], attrs({ asPath: [65003], nextHop: addrOf(65003) })));
    expect(x.get(Q)).toBeUndefined();
    expect(l.peers.get(65003)!.get(Q)).toBeUndefined(); // its own, as always
    l.rs.setNextHopReachability('AS65010', addrOf(65003), false);
    l.rs.flush();
    expect(x.from(Q)).toBe(65003);
  });

  it('addresses are canonicalised at the boundary (RFC 5952 text, IPv4-mapped)', () => {
    const { l, x } = setup();
    l.rs.setNextHopReachability('AS65010', `::ffff:${addrOf(65001)}`, true);
    l.rs.flush();
    expect(x.get(Q)).toBeUndefined();
    expect(() => l.rs.setNextHopReachability('AS65010', 'not-an-address', true)).toThrow(
      /not an address/,
    );
    expect(() => l.rs.setNextHopReachability('AS9', addrOf(65001), true)).toThrow(/unknown client/);
  });

  it('usage events: coalesced per slice, when a next hop starts or stops being used and when its users change', () => {
    const { l, events } = setup();
    const nh = addrOf(65003);
    l.up(65003);
    l.rs.receiveUpdate(
      'AS65003',
      announce(['203.0.113.0/24'], attrs({ asPath: [65003], nextHop: nh })),
    );
    l.rs.receiveUpdate(
      'AS65003',
      announce(['203.0.113.128/25'], attrs({ asPath: [65003], nextHop: nh })),
    );
    l.rs.flush();
    expect(events).toEqual([{ nextHop: nh, kind: 'used' }]);
    events.length = 0;
    // Another attribute set via it: 'changed' (the clients it is eligible for may differ).
    l.send(65003, announce(['203.0.113.64/26'], attrs({ asPath: [65003, 7], nextHop: nh })));
    expect(events).toEqual([{ nextHop: nh, kind: 'changed' }]);
    events.length = 0;
    // Withdrawn and announced again within one slice: still used (at most a 'changed').
    l.rs.receiveUpdate('AS65003', withdraw(['203.0.113.64/26']));
    l.rs.receiveUpdate(
      'AS65003',
      announce(['203.0.113.64/26'], attrs({ asPath: [65003, 7], nextHop: nh })),
    );
    l.rs.flush();
    expect(events.filter((e) => e.kind !== 'changed')).toEqual([]);
    events.length = 0;
    l.rs.receiveUpdate(
      'AS65003',
      withdraw(['203.0.113.0/24', '203.0.113.128/25', '203.0.113.64/26']),
    );
    l.rs.flush();
    expect(events).toEqual([{ nextHop: nh, kind: 'unused' }]);
  });

  it('§5.1: the next hops eligible for a client — policy and announcement control applied, own addresses excluded', () => {
    const { l } = setup();
    l.up(65003);
    // 65003 announces only with "do not announce to 65010".
    l.send(
      65003,
      announce(
        ['203.0.113.0/24'],
        attrs({ asPath: [65003], nextHop: addrOf(65003), communities: [noExportTo(65010)] }),
      ),
    );
    const sorted = (a: string[]) => [...a].sort();
    expect(sorted(l.rs.nextHopsEligibleFor('AS65010'))).toEqual(
      sorted([addrOf(65001), addrOf(65002)]),
    );
    expect(sorted(l.rs.nextHopsEligibleFor('AS65011'))).toEqual(
      sorted([addrOf(65001), addrOf(65002), addrOf(65003)]),
    );
    expect(sorted(l.rs.nextHopsEligibleFor('AS65001'))).toEqual(
      sorted([addrOf(65002), addrOf(65003)]),
    );
    expect(l.rs.nextHopEligibleFor('AS65010', addrOf(65003))).toBe(false);
    expect(l.rs.nextHopEligibleFor('AS65011', addrOf(65003))).toBe(true);
    expect(l.rs.nextHopEligibleFor('AS65001', addrOf(65001))).toBe(false);
    expect(l.rs.nextHopAnnouncers(addrOf(65001))).toEqual(['AS65001']);
    // A path that policy already hides from 65010 is not counted as hidden by reachability.
    l.rs.setNextHopReachability('AS65010', addrOf(65003), true);
    l.rs.flush();
    expect(l.rs.hiddenPaths('AS65010', addrOf(65003))).toBe(0);
  });

  it('§5: the walk follows a session loss (paths of a detached list) and a path moving to another next hop', () => {
    const { l, x } = setup();
    l.rs.setNextHopReachability('AS65010', addrOf(65001), true);
    l.rs.sessionDown('AS65002');
    l.rs.flush();
    expect(x.get(P)).toBeUndefined();
    expect(x.get(Q)).toBeUndefined();
    l.rs.setNextHopReachability('AS65010', addrOf(65001), false);
    l.rs.flush();
    expect(x.from(P)).toBe(65001);
    expect(x.from(Q)).toBe(65001);
  });
});
