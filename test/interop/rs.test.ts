// Route server interop (RFC 7947): the real `ixrs run` process on an IXP LAN
// of network namespaces, with BIRD 2, FRR, GoBGP, OpenBGPD and ExaBGP as its
// clients. Each client has its own namespace and ASN, an IPv4 and an IPv6
// session with the route server, and announces its own IPv4 and IPv6 prefixes
// with MED, standard and large communities. BIRD and FRR also announce one
// shared prefix (BIRD's path is shorter, and tagged "do not announce to
// AS65003", so GoBGP must get FRR's path instead: path hiding, RFC 7947 §2.3.2);
// ExaBGP tags one prefix "do not announce to AS65001" (BIRD). GoBGP has an IPv4
// max-prefix limit of 3 (action shutdown) and goes over it at the end.
//
// Every check reads the daemons' own CLIs (daemons.ts rib()) and the route
// server's control socket (`ixrs show ... --json`).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalIp,
  DAEMON_KINDS,
  DAEMON_PROGRAMS,
  type Daemon,
  type DaemonKind,
  type FamilyName,
  type GoBgp,
  type RibRoute,
  type RouteSpec,
} from './lib/daemons.ts';
import { Lan, requirePrograms, waitFor } from './lib/netns.ts';
import { createRsClient, RouteServerProcess, type ShowSession } from './lib/rs.ts';

const RS = { as: 64500, v4: '192.0.2.100', v6: '2001:db8::100' };
const IDX: Record<DaemonKind, number> = { bird: 1, frr: 2, gobgp: 3, openbgpd: 4, exabgp: 5 };
const asOf = (k: DaemonKind) => 65000 + IDX[k];
const v4 = (k: DaemonKind) => `192.0.2.${IDX[k]}`;
const v6 = (k: DaemonKind) => `2001:db8::${IDX[k]}`;
const addrOf = (k: DaemonKind, fam: FamilyName) => (fam === 'ipv4' ? v4(k) : v6(k));
const rsAddr = (fam: FamilyName) => (fam === 'ipv4' ? RS.v4 : RS.v6);
const famOf = (prefix: string): FamilyName => (prefix.includes(':') ? 'ipv6' : 'ipv4');

/** Announced by BIRD (AS path 65001, tagged 0:65003) and FRR (65002 65002 65002). */
const SHARED = '203.0.113.0/24';
/** Announced by ExaBGP, tagged 0:65001: BIRD must not get it. */
const DNA = '198.51.100.224/27';
/** Announced by ExaBGP: longer than the /28 limit, rejected (reason 13) and kept tagged (reject_policy 'tag'). */
const TOO_LONG = '198.51.100.248/29';
/** GoBGP announces these at the end: 4 IPv4 prefixes with a limit of 3. */
const OVER_LIMIT = ['198.51.100.160/27', '198.51.100.192/27', '203.0.113.128/25'];
const GOBGP_V4_LIMIT = 3;

/** Each daemon's own prefixes: one IPv4, one IPv6. */
function ownRoutes(k: DaemonKind): RouteSpec[] {
  const i = IDX[k];
  return [
    {
      prefix: `198.51.100.${(i - 1) * 32}/27`,
      med: 10 * i,
      communities: [[asOf(k), 100]],
      largeCommunities: [[asOf(k), 1, i]],
    },
    {
      prefix: `2001:db8:${i}00::/48`,
      med: 20 * i,
      communities: [[asOf(k), 600]],
      largeCommunities: [[asOf(k), 6, i]],
    },
  ];
}

function extraRoutes(k: DaemonKind): RouteSpec[] {
  if (k === 'bird')
    return [
      {
        prefix: SHARED,
        med: 5,
        communities: [
          [0, asOf('gobgp')],
          [asOf(k), 203],
        ],
        largeCommunities: [[asOf(k), 203, 1]],
      },
    ];
  if (k === 'frr')
    return [
      {
        prefix: SHARED,
        med: 7,
        communities: [[asOf(k), 203]],
        largeCommunities: [[asOf(k), 203, 2]],
        prepend: 2,
      },
    ];
  if (k === 'exabgp')
    return [
      {
        prefix: DNA,
        med: 55,
        communities: [
          [0, asOf('bird')],
          [asOf(k), 224],
        ],
        largeCommunities: [[asOf(k), 224, 5]],
      },
      { prefix: TOO_LONG, med: 66, communities: [[asOf(k), 248]] },
    ];
  return [];
}

/** An announced route as a client of the route server should see it. */
interface Expected {
  from: DaemonKind;
  route: RouteSpec;
}

function expectedAsPath(e: Expected): string {
  return Array(1 + (e.route.prepend ?? 0))
    .fill(asOf(e.from))
    .join(' ');
}

/** Communities that reach clients: the route server's own (0:peer_as here) are removed (RFC 7947 §2.2 leaves the rest). */
function expectedCommunities(r: RouteSpec): string[] {
  return (r.communities ?? [])
    .filter(([a]) => a !== 0)
    .map(([a, b]) => `${a}:${b}`)
    .sort();
}

function view(r: RibRoute) {
  return {
    nextHop: r.nextHop,
    asPath: r.asPath,
    med: r.med,
    communities: r.communities,
    largeCommunities: r.largeCommunities,
  };
}

function expectedView(e: Expected) {
  return {
    nextHop: canonicalIp(addrOf(e.from, famOf(e.route.prefix))),
    asPath: expectedAsPath(e),
    med: e.route.med,
    communities: expectedCommunities(e.route),
    largeCommunities: (e.route.largeCommunities ?? []).map((c) => c.join(':')).sort(),
  };
}

/**
 * What `k` should receive from the route server while everyone is up: every
 * other client's own prefixes; for SHARED the best path it may get; DNA unless k
 * is BIRD.
 */
function expectedFor(k: DaemonKind): Map<string, Expected> {
  const m = new Map<string, Expected>();
  for (const o of DAEMON_KINDS) {
    if (o === k) continue;
    for (const r of ownRoutes(o)) m.set(r.prefix, { from: o, route: r });
  }
  // SHARED: BIRD's path is best (shorter); hidden from GoBGP by 0:65003, and
  // never sent back to BIRD itself: both get FRR's.
  const shared: DaemonKind = k === 'bird' || k === 'gobgp' ? 'frr' : 'bird';
  if (k !== shared) m.set(SHARED, { from: shared, route: extraRoutes(shared)[0]! });
  if (k !== 'bird' && k !== 'exabgp')
    m.set(DNA, { from: 'exabgp', route: extraRoutes('exabgp')[0]! });
  return m;
}

describe('route server interop: ixrs run with BIRD 2, FRR, GoBGP, OpenBGPD and ExaBGP as clients', () => {
  let lan: Lan | undefined;
  let rs: RouteServerProcess;
  const daemons = new Map<DaemonKind, Daemon>();

  /** Routes k has from the route server (both families), by prefix. */
  async function fromRs(k: DaemonKind): Promise<Map<string, RibRoute>> {
    const d = daemons.get(k)!;
    const out = new Map<string, RibRoute>();
    for (const fam of ['ipv4', 'ipv6'] as const)
      for (const r of await d.routesFrom(fam, rsAddr(fam))) out.set(r.prefix, r);
    return out;
  }

  async function converged(k: DaemonKind, want: Map<string, Expected>, timeoutMs = 60_000) {
    return waitFor(
      `${k} has ${want.size} routes from the route server`,
      async () => {
        const got = await fromRs(k);
        for (const [p, e] of want) {
          const r = got.get(p);
          if (r === undefined || r.nextHop !== expectedView(e).nextHop) return false;
        }
        return got;
      },
      timeoutMs,
      500,
    ).catch(async (err: unknown) => {
      const got = await fromRs(k).catch(() => new Map());
      throw new Error(
        `${String(err)}\n--- ${k} has: ${[...got.keys()].join(', ')}\n--- ixrs log:\n${rs.logTail()}`,
      );
    });
  }

  beforeAll(async () => {
    requirePrograms(...DAEMON_KINDS.flatMap((k) => DAEMON_PROGRAMS[k]), 'nft');
    lan = new Lan('ixr-');
    const mrs = lan.add({ name: 'rs', v4: `${RS.v4}/24`, v6: `${RS.v6}/64` });
    rs = new RouteServerProcess(lan, mrs, {
      rsAs: RS.as,
      routerId: RS.v4,
      controlSocket: `${lan.logDir}/ixrs.sock`,
      clients: DAEMON_KINDS.map((k) => ({
        asn: asOf(k),
        addresses: [v4(k), v6(k)],
        description: k,
        ...(k === 'gobgp'
          ? { maxPrefix: { limitIpv4: GOBGP_V4_LIMIT, action: 'shutdown' as const } }
          : {}),
      })),
    });
    // The route server first: the clients connect to it (it is passive).
    const members = new Map(
      DAEMON_KINDS.map((k) => [
        k,
        (lan as Lan).add({ name: k, v4: `${v4(k)}/24`, v6: `${v6(k)}/64` }),
      ]),
    );
    await rs.start();
    for (const k of DAEMON_KINDS) {
      daemons.set(
        k,
        createRsClient(lan, {
          kind: k,
          name: k,
          member: members.get(k)!,
          as: asOf(k),
          routerId: v4(k),
          neighbors: [
            { address: RS.v4, as: RS.as },
            { address: RS.v6, as: RS.as },
          ],
          routes: [...ownRoutes(k), ...extraRoutes(k)],
        }),
      );
    }
    await Promise.all([...daemons.values()].map((d) => d.start()));
    await Promise.all(
      [...daemons.values()].flatMap((d) => [RS.v4, RS.v6].map((a) => d.waitEstablished(a, 60_000))),
    );
  }, 120_000);

  afterAll(async () => {
    if (process.env.IXR_KEEP) {
      console.log(`rs: IXR_KEEP set, namespaces and processes kept; logs in ${lan?.logDir}`);
      return;
    }
    await rs?.stop().catch(() => undefined);
    await Promise.all([...daemons.values()].map((d) => d.stop().catch(() => undefined)));
    lan?.destroy();
  }, 30_000);

  it('ixrs show sessions --json: ten sessions up, one IPv4 and one IPv6 per client', async () => {
    const rows = await waitFor(
      'ten sessions up in ixrs show sessions',
      async () => {
        const s = await rs.sessions();
        return s.filter((r) => r.state === 'up').length === 10 ? s : false;
      },
      30_000,
      500,
    );
    for (const k of DAEMON_KINDS) {
      for (const fam of ['ipv4', 'ipv6'] as const) {
        const row = rows.find((r) => canonicalIp(r.address) === canonicalIp(addrOf(k, fam)));
        expect(row, `${k} ${fam}`).toMatchObject({
          asn: asOf(k),
          state: 'up',
          bgpState: 'Established',
        });
        expect(row!.families, `${k} ${fam}`).toContain(fam === 'ipv4' ? '1/1' : '2/1');
      }
    }
  });

  describe.each(DAEMON_KINDS.map((k) => [k] as const))('%s', (k) => {
    it("RFC 7947 §2.2: receives every other client's prefixes, next hop, AS path (no RS AS), MED and communities unchanged", async () => {
      const want = expectedFor(k);
      const got = await converged(k, want);
      for (const [p, e] of want) {
        const r = got.get(p)!;
        expect(view(r), `${k}: ${p} from ${e.from}`).toEqual(expectedView(e));
        expect(r.asPath.split(' '), `${k}: ${p} AS path`).not.toContain(String(RS.as));
      }
      // Its own prefixes never come back from the route server.
      for (const r of ownRoutes(k)) expect(got.has(r.prefix), `${k}: own ${r.prefix}`).toBe(false);
    });

    if (k === 'bird') {
      it('do_not_announce_to_peer 0:65001: the tagged prefix is not received by BIRD, the others get it', async () => {
        await converged(k, expectedFor(k));
        expect((await fromRs('bird')).has(DNA)).toBe(false);
        for (const o of DAEMON_KINDS.filter((x) => x !== 'bird' && x !== 'exabgp')) {
          const r = (await converged(o, expectedFor(o))).get(DNA);
          expect(r?.communities, `${o}: ${DNA}`).toEqual([`${asOf('exabgp')}:224`]);
        }
      });
    }

    if (k === 'gobgp') {
      it('RFC 7947 §2.3.2: the best path of the shared prefix is hidden from GoBGP (0:65003), which gets the other client path', async () => {
        const got = await converged(k, expectedFor(k));
        expect(view(got.get(SHARED)!)).toEqual(
          expectedView({ from: 'frr', route: extraRoutes('frr')[0]! }),
        );
        // The others get BIRD's shorter path (FRR gets it, BIRD gets FRR's).
        for (const o of ['frr', 'openbgpd', 'exabgp'] as const) {
          const r = (await converged(o, expectedFor(o))).get(SHARED);
          expect(r?.asPath, `${o}: ${SHARED}`).toBe(String(asOf('bird')));
        }
      });
    }
  });

  it('ixrs show routes --json: both paths of the shared prefix ranked, the hidden one not eligible for AS65003', async () => {
    const all = await rs.routes(SHARED);
    expect(
      all.map((r) => ({
        from: r.fromAsn,
        rank: r.rank,
        accepted: r.accepted,
        len: r.asPathLength,
      })),
    ).toEqual([
      { from: asOf('bird'), rank: 1, accepted: true, len: 1 },
      { from: asOf('frr'), rank: 2, accepted: true, len: 3 },
    ]);
    expect(all[0]!.communities.sort()).toEqual([`0:${asOf('gobgp')}`, `${asOf('bird')}:203`]);
    expect(all[0]!.nextHop).toBe(v4('bird'));
    const forGobgp = await rs.routes(SHARED, String(asOf('gobgp')));
    expect(forGobgp.map((r) => ({ from: r.fromAsn, best: r.best, eligible: r.eligible }))).toEqual([
      { from: asOf('bird'), best: false, eligible: false },
      { from: asOf('frr'), best: true, eligible: true },
    ]);
    const v6r = await rs.routes(ownRoutes('openbgpd')[1]!.prefix);
    expect(v6r).toHaveLength(1);
    expect(v6r[0]).toMatchObject({ fromAsn: asOf('openbgpd'), nextHop: v6('openbgpd'), med: 80 });
  });

  it("reject_policy 'tag': a rejected route is shown with its reject-reason communities and sent to nobody", async () => {
    const [r] = await waitFor(`${TOO_LONG} in ixrs show routes`, async () => {
      const rows = await rs.routes(TOO_LONG);
      return rows.length > 0 ? rows : false;
    });
    expect(r).toMatchObject({ fromAsn: asOf('exabgp'), accepted: false, rank: null });
    expect(r!.largeCommunities.sort()).toEqual([`${RS.as}:65520:0`, `${RS.as}:65520:13`]);
    expect(r!.communities).toEqual([`${asOf('exabgp')}:248`]);
    for (const k of DAEMON_KINDS.filter((x) => x !== 'exabgp')) {
      expect((await fromRs(k)).has(TOO_LONG), `${k} must not get ${TOO_LONG}`).toBe(false);
    }
  });

  it('RFC 4486 §4: GoBGP over its IPv4 max-prefix (3, shutdown) gets Cease 6/1 and stays down; the others keep their routes', async () => {
    const gobgp = daemons.get('gobgp') as GoBgp;
    for (const prefix of OVER_LIMIT) await gobgp.announce({ prefix, med: 1 });
    // The route server's view: the IPv4 session is down and stays down.
    const isDown = (s: ShowSession[]) =>
      s.find((r) => r.address === v4('gobgp') && r.state === 'idle');
    const rows = await waitFor('GoBGP IPv4 session down in ixrs show sessions', async () =>
      isDown(await rs.sessions()),
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- ixrs log:\n${rs.logTail()}`);
    });
    expect(rows).toMatchObject({ asn: asOf('gobgp'), state: 'idle' });
    const log = rs.logTail(200_000);
    expect(log).toMatch(/max-prefix|maximum/i);
    // GoBGP's view: the session with the route server's IPv4 address is not
    // Established, and it was told Cease / Maximum Number of Prefixes Reached.
    const told = await waitFor(
      'GoBGP shows the Cease 6/1',
      async () => {
        const s = await gobgp.sessions();
        const v4s = s.find((x) => canonicalIp(x.neighbor) === RS.v4);
        const err = await gobgp.lastError(RS.v4);
        // GoBGP logs the NOTIFICATION (data: AFI 1, SAFI 1, limit 3 = AAEBAAAAAw==) and the reason.
        return v4s !== undefined &&
          !v4s.established &&
          /code 6\(cease\) subcode 1\(maximum number of prefixes reached\)/i.test(err)
          ? err
          : false;
      },
      20_000,
      500,
    );
    expect(told).toContain('"Data":"AAEBAAAAAw=="');
    // Its IPv6 session stays up.
    const s = await rs.sessions();
    expect(s.find((r) => r.address === v6('gobgp'))?.state).toBe('up');
    // The others lose GoBGP's IPv4 routes (none of the extra ones got through
    // to them beyond the limit) and keep every other route.
    for (const o of DAEMON_KINDS.filter((x) => x !== 'gobgp')) {
      const want = expectedFor(o);
      want.delete(ownRoutes('gobgp')[0]!.prefix);
      const got = await waitFor(
        `${o} lost GoBGP's IPv4 routes`,
        async () => {
          const g = await fromRs(o);
          const gone = ![ownRoutes('gobgp')[0]!.prefix, ...OVER_LIMIT].some((p) => g.has(p));
          return gone ? g : false;
        },
        30_000,
        500,
      );
      for (const [p, e] of want) {
        expect(got.has(p), `${o} still has ${p}`).toBe(true);
        expect(view(got.get(p)!), `${o}: ${p}`).toEqual(expectedView(e));
      }
    }
    // Still down a few seconds later (GoBGP keeps trying to connect).
    await new Promise((r) => setTimeout(r, 3000));
    expect(isDown(await rs.sessions())).toBeDefined();
  });

  // The NOC walk-through of docs/operations.md with real clients: "X does not
  // receive P from Y", each cause found with `ixrs show` alone (--json here).
  it('NOC walk-through: filtered at Y with reason, not best for X, session down with its NOTIFICATION, never sent', async () => {
    type Row = {
      prefix: string;
      from: string;
      accepted: boolean;
      best?: boolean;
      notSent?: string;
      reasons: { code: number; text: string }[];
      receivedAt: string;
    };
    type Routes = { routes: Row[]; match?: string; truncated?: boolean };
    const show = async <T>(...a: string[]): Promise<T> => JSON.parse(await rs.show(a)) as T;
    // 1. Filtered at ExaBGP, with the arouteserver code and text; listed by --filtered.
    const one = await show<Routes>('routes', TOO_LONG, '--client', String(asOf('bird')));
    expect(one.routes[0]).toMatchObject({ from: `AS${asOf('exabgp')}`, accepted: false });
    expect(one.routes[0]!.reasons[0]).toMatchObject({ code: 13 });
    expect(Date.parse(one.routes[0]!.receivedAt)).toBeLessThanOrEqual(Date.now());
    const filtered = await show<Routes>('routes', '--client', String(asOf('exabgp')), '--filtered');
    expect(filtered.routes.map((r) => r.prefix)).toContain(TOO_LONG);
    // Longest match of an address inside the rejected /29 lands on it (no accepted cover)
    // or on an accepted covering prefix; either way the answer names the match.
    const lm = await show<Routes>('routes', '198.51.100.249');
    expect(lm.match).toBe('longest');
    expect(lm.routes.length).toBeGreaterThan(0);
    // 2. Not best for OpenBGPD: BIRD's shorter path wins over FRR's; its Adj-RIB-Out says so.
    const two = await show<Routes>('routes', SHARED, '--client', String(asOf('openbgpd')));
    const frr = two.routes.find((r) => r.from === `AS${asOf('frr')}`)!;
    const bird = two.routes.find((r) => r.from === `AS${asOf('bird')}`)!;
    expect(bird.best).toBe(true);
    expect(frr).toMatchObject({ accepted: true, best: false });
    const rib = await show<{ routes: { prefix: string; nextHop: string; address: string }[] }>(
      'rib',
      '--client',
      v4('openbgpd'),
    );
    expect(rib.routes.find((r) => r.prefix === SHARED)?.nextHop).toBe(v4('bird'));
    // For GoBGP, BIRD's path is excluded by its 0:65003 community.
    const hidden = await show<Routes>('routes', SHARED, '--client', String(asOf('gobgp')));
    expect(hidden.routes.find((r) => r.from === `AS${asOf('bird')}`)?.notSent).toBe(
      'export-policy',
    );
    // 3. GoBGP's IPv4 session is down: no path of its over-limit prefixes, and
    // show client says why, with the NOTIFICATION sent.
    expect((await show<Routes>('routes', OVER_LIMIT[0]!)).routes).toEqual([]);
    const c = await show<{
      pathsAccepted: number;
      acceptedByAfi: Record<string, number>;
      status: { address: string; admin: string; lastDown: { sent: string | null } | null }[];
    }>('client', String(asOf('gobgp')));
    const st = c.status.find((x) => x.address === v4('gobgp'))!;
    expect(st.admin).toBe('max-prefix stop');
    expect(st.lastDown?.sent).toMatch(/^6\/1 /);
    expect(c.acceptedByAfi['1'] ?? 0).toBe(0);
    expect(c.pathsAccepted).toBe(Object.values(c.acceptedByAfi).reduce((a, b) => a + b, 0));
    // 4. Never sent: no path anywhere, FRR's sessions are up, not among what it sent.
    const never = '203.0.113.64/26';
    expect((await show<Routes>('routes', never)).routes).toEqual([]);
    const got = await show<Routes>('routes', '--client', String(asOf('frr')), '--received');
    expect(got.routes.map((r) => r.prefix)).toContain(SHARED);
    expect(got.routes.map((r) => r.prefix)).not.toContain(never);
    const sess = await rs.sessions();
    expect(sess.filter((r) => r.asn === asOf('frr')).every((r) => r.state === 'up')).toBe(true);
  });
});
