import { describe, expect, it } from 'vitest';
import {
  addrOf,
  announce,
  attrs,
  client,
  FakePeer,
  info,
  lab,
  noExportTo,
  REJECT_ME,
  withdraw,
} from './helpers.ts';

function clock(start: number) {
  const t = { now: start };
  return {
    t,
    timers: {
      now: () => t.now,
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
    },
  };
}

/** Paths now agree with the sessions' Adj-RIB-In whatever was announced. */
function agree(l: ReturnType<typeof lab>, id: string): void {
  const sum = l.rs.clientSummary(id);
  const accepted = Object.values(sum.acceptedByAfi).reduce((a, b) => a + b, 0);
  const adjIn = l.rs
    .sessions()
    .filter((s) => s.client === id)
    .reduce((a, s) => a + s.adjIn, 0);
  expect(accepted + sum.rejectedKept).toBe(adjIn);
}

describe('operator route views (ixrs show routes / rib)', () => {
  it('longest match, --longer, --shorter over the prefix table', () => {
    const l = lab();
    l.up(65010);
    l.up(65001);
    const a = attrs({ asPath: [65001], nextHop: addrOf(65001) });
    l.send(65001, announce(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '11.0.0.0/8'], a));
    const pfx = (q: Parameters<typeof l.rs.findRoutes>[0]) =>
      l.rs.findRoutes(q).routes.map((r) => r.prefix);
    expect(pfx({ prefix: '10.1.2.3/32', match: 'longest' })).toEqual(['10.1.2.0/24']);
    expect(pfx({ prefix: '10.1.9.9/32', match: 'longest' })).toEqual(['10.1.0.0/16']);
    expect(pfx({ prefix: '10.200.0.1/32', match: 'longest' })).toEqual(['10.0.0.0/8']);
    expect(pfx({ prefix: '12.0.0.1/32', match: 'longest' })).toEqual([]);
    expect(pfx({ prefix: '10.1.0.0/16', match: 'longer' }).sort()).toEqual([
      '10.1.0.0/16',
      '10.1.2.0/24',
    ]);
    expect(pfx({ prefix: '10.1.2.0/24', match: 'shorter' })).toEqual([
      '10.1.2.0/24',
      '10.1.0.0/16',
      '10.0.0.0/8',
    ]);
    const lim = l.rs.findRoutes({ prefix: '10.0.0.0/8', match: 'longer', limit: 2 });
    expect(lim.routes).toHaveLength(2);
    expect(lim.truncated).toBe(true);
  });

  it('longest match skips a more specific prefix that has only rejected paths', () => {
    const l = lab();
    l.up(65001);
    l.send(65001, announce(['10.0.0.0/8'], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.send(
      65001,
      announce(
        ['10.1.0.0/16'],
        attrs({ asPath: [65001], nextHop: addrOf(65001), communities: [REJECT_ME] }),
      ),
    );
    const r = l.rs.findRoutes({ prefix: '10.1.0.1/32', match: 'longest' }).routes;
    expect(r.map((x) => [x.prefix, x.accepted])).toEqual([['10.0.0.0/8', true]]);
  });

  it('--received / --filtered by announcing client, with reason and received-at time', () => {
    const c = clock(Date.parse('2026-01-01T00:00:00Z'));
    const l = lab({ timers: c.timers });
    l.up(65001);
    l.up(65002);
    l.send(65001, announce(['10.0.0.0/8'], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    c.t.now += 60_000;
    l.send(
      65001,
      announce(
        ['10.9.0.0/16'],
        attrs({ asPath: [65001], nextHop: addrOf(65001), communities: [REJECT_ME] }),
      ),
    );
    l.send(65002, announce(['10.0.0.0/8'], attrs({ asPath: [65002], nextHop: addrOf(65002) })));
    const rec = l.rs.findRoutes({ from: 'AS65001', only: 'received' }).routes;
    expect(rec.map((r) => [r.prefix, r.from, r.receivedAt])).toEqual([
      ['10.0.0.0/8', 'AS65001', Date.parse('2026-01-01T00:00:00Z')],
    ]);
    const fil = l.rs.findRoutes({ from: 'AS65001', only: 'filtered' }).routes;
    expect(fil.map((r) => [r.prefix, r.reasons, r.receivedAt])).toEqual([
      ['10.9.0.0/16', [14], Date.parse('2026-01-01T00:01:00Z')],
    ]);
    agree(l, 'AS65001');
  });

  it("reject_policy 'reject' keeps rejected paths up to the bound per client and counts the rest", () => {
    const l = lab({ keepRejected: false, rejectedLimit: 2 });
    l.up(65001);
    const bad = attrs({ asPath: [65001], nextHop: addrOf(65001), communities: [REJECT_ME] });
    l.send(65001, announce(['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16'], bad));
    expect(l.rs.findRoutes({ from: 'AS65001', only: 'filtered' }).routes).toHaveLength(2);
    expect(l.rs.clientSummary('AS65001')).toMatchObject({
      rejected: 3,
      rejectedKept: 2,
      rejectedNotKept: 1,
    });
    agree(l, 'AS65001');
    // A withdrawn rejected path frees a place.
    l.send(65001, withdraw(['10.1.0.0/16']));
    l.send(65001, announce(['10.4.0.0/16'], bad));
    expect(l.rs.clientSummary('AS65001').rejectedKept).toBe(2);
    agree(l, 'AS65001');
  });

  it('exported: what was last announced to the client (show rib --client C)', () => {
    const l = lab();
    l.up(65010);
    l.up(65011);
    l.up(65001);
    l.send(
      65001,
      announce(['10.0.0.0/8', '11.0.0.0/8'], attrs({ asPath: [65001], nextHop: addrOf(65001) })),
    );
    l.send(
      65001,
      announce(
        ['12.0.0.0/8'],
        attrs({ asPath: [65001], nextHop: addrOf(65001), communities: [noExportTo(65010)] }),
      ),
    );
    const to10 = l.rs
      .exported('AS65010')
      .routes.map((r) => r.prefix)
      .sort();
    expect(to10).toEqual(['10.0.0.0/8', '11.0.0.0/8']);
    const to11 = l.rs
      .exported('AS65011')
      .routes.map((r) => r.prefix)
      .sort();
    expect(to11).toEqual(['10.0.0.0/8', '11.0.0.0/8', '12.0.0.0/8']);
    expect(l.rs.exported('AS65001').routes).toEqual([]);
  });

  it("the Adj-RIB-Out of a session in its initial dump is what was written to it so far (show rib --client, BMP's dump)", () => {
    const l = lab({ batch: 4 });
    l.up(65001);
    const prefixes = Array.from({ length: 20 }, (_, i) => `10.${i}.0.0/16`);
    l.send(65001, announce(prefixes, attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    // AS65010 comes up; the core dumps the table to it a batch at a time.
    l.rs.addClient(client(65010, [addrOf(65010)]));
    const peer = new FakePeer(l.wire);
    l.rs.sessionUp('AS65010', info({ bgpId: 65010 }), peer);
    l.rs.step();
    const held = (): string[] => [...peer.rib.keys()].sort();
    const exported = (): string[] =>
      l.rs
        .exported('AS65010')
        .routes.map((r) => r.prefix)
        .sort();
    expect(held().length).toBeGreaterThan(0);
    expect(held().length).toBeLessThan(20);
    expect(exported()).toEqual(held());
    l.rs.flush();
    expect(exported()).toEqual([...prefixes].sort());
    expect(exported()).toEqual(held());
  });

  it('counters agree: max-prefix stop leaves accepted paths now 0 beside the announcements counted', () => {
    const l = lab();
    l.up(65001, {}, { filtering: { maxPrefix: { ipv4: 2, action: 'shutdown' } } } as never);
    l.send(
      65001,
      announce(
        ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16'],
        attrs({ asPath: [65001], nextHop: addrOf(65001) }),
      ),
    );
    agree(l, 'AS65001');
    // The session layer closes on the max-prefix stop (onMaxPrefix).
    l.rs.sessionDown('AS65001');
    l.rs.flush();
    const sum = l.rs.clientSummary('AS65001');
    expect(sum.accepted).toBe(2);
    expect(Object.values(sum.acceptedByAfi).reduce((a, b) => a + b, 0)).toBe(0);
    agree(l, 'AS65001');
  });
});
