// Interop of the ixrs BGP-4 speaker (src/bgp/speaker.ts, driven by
// test/interop/bin/speaker.ts) with BIRD 2, FRR, GoBGP, OpenBGPD and ExaBGP.
//
// One LAN, all daemons at once. Two ixrs speakers: `ixa` connects to every
// daemon (the daemons are passive towards it), `ixp` only listens (the daemons
// connect to it). Each daemon has an IPv4 and an IPv6 session with both: 20
// sessions. Checks, per daemon: sessions Established on both sides; the routes
// the daemon announces decode to what it was configured with and to what its
// own CLI shows; the routes ixrs announces appear in the daemon's RIB with the
// same attributes; a Cease with a shutdown message from ixrs (RFC 9003) is
// shown by the daemon.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asPathText,
  canonicalIp,
  createDaemon,
  DAEMON_KINDS,
  DAEMON_PROGRAMS,
  type Daemon,
  type DaemonKind,
  type FamilyName,
  type RibRoute,
  type RouteSpec,
} from './lib/daemons.ts';
import { adjRibIn, IxrsSpeaker, type SpeakerSpec } from './lib/ixrs.ts';
import { Lan, requirePrograms, waitFor } from './lib/netns.ts';

const IDX: Record<DaemonKind, number> = { bird: 1, frr: 2, gobgp: 3, openbgpd: 4, exabgp: 5 };
const asOf = (k: DaemonKind) => 65000 + IDX[k];
const v4 = (k: DaemonKind) => `192.0.2.${IDX[k]}`;
const v6 = (k: DaemonKind) => `2001:db8::${IDX[k]}`;

const IXA = { name: 'ixa', as: 65010, v4: '192.0.2.10', v6: '2001:db8::10' };
const IXP = { name: 'ixp', as: 65011, v4: '192.0.2.11', v6: '2001:db8::11' };
type Ix = typeof IXA;

function daemonRoutes(k: DaemonKind): RouteSpec[] {
  const i = IDX[k];
  return [
    {
      prefix: `198.51.100.${i * 32}/27`,
      med: 10 * i,
      communities: [
        [asOf(k), 100],
        [65535, 666],
      ],
      largeCommunities: [[asOf(k), 1, i]],
      prepend: 1,
    },
    {
      prefix: `2001:db8:${i}00::/48`,
      med: 20 * i,
      communities: [[asOf(k), 600]],
      largeCommunities: [[asOf(k), 6, i]],
    },
  ];
}

/** What ixrs announces: one IPv4 and one IPv6 prefix per speaker. */
function ixRoutes(ix: Ix) {
  const n = ix === IXA ? 0 : 1;
  return [
    {
      prefix: `198.51.100.${n * 16}/28`,
      med: 7 + n,
      communities: [[ix.as, 1] as [number, number]],
      largeCommunities: [[ix.as, 7, 7] as [number, number, number]],
      asPath: [ix.as, ix.as],
    },
    {
      prefix: `2001:db8:${n === 0 ? 'a' : 'b'}00::/48`,
      med: 70 + n,
      communities: [[ix.as, 6] as [number, number]],
      largeCommunities: [[ix.as, 6, 6] as [number, number, number]],
      asPath: [ix.as],
    },
  ];
}

function speakerSpec(ix: Ix): SpeakerSpec {
  const passive = ix === IXP;
  return {
    listen: passive
      ? [
          { address: ix.v4, port: 179 },
          { address: ix.v6, port: 179 },
        ]
      : [],
    peers: DAEMON_KINDS.flatMap((k) =>
      (['ipv4', 'ipv6'] as const).map((fam) => ({
        localAs: ix.as,
        routerId: ix.v4,
        peerAddress: fam === 'ipv4' ? v4(k) : v6(k),
        peerAs: asOf(k),
        localAddress: fam === 'ipv4' ? ix.v4 : ix.v6,
        passive,
        families: [fam],
        connectRetryTime: 2,
        // RFC 7911 both ways on the sessions of the active speaker.
        addPath: !passive,
      })),
    ),
    routes: ixRoutes(ix),
  };
}

const sortStr = (a: string[]) => [...a].sort();

describe('BGP-4 speaker interop: BIRD 2, FRR, GoBGP, OpenBGPD, ExaBGP (issue 2)', () => {
  let lan: Lan | undefined;
  const daemons = new Map<DaemonKind, Daemon>();
  let ixa: IxrsSpeaker;
  let ixp: IxrsSpeaker;

  beforeAll(async () => {
    requirePrograms(...DAEMON_KINDS.flatMap((k) => DAEMON_PROGRAMS[k]), 'nft');
    lan = new Lan('ixb-');
    const ma = lan.add({ name: 'ixa', v4: `${IXA.v4}/24`, v6: `${IXA.v6}/64` });
    const mp = lan.add({ name: 'ixp', v4: `${IXP.v4}/24`, v6: `${IXP.v6}/64` });
    const members = new Map(
      DAEMON_KINDS.map((k) => [
        k,
        (lan as Lan).add({ name: k, v4: `${v4(k)}/24`, v6: `${v6(k)}/64` }),
      ]),
    );
    // The listening speaker first, so that daemons find it on their first try.
    ixp = new IxrsSpeaker(lan, mp, 'ixp', speakerSpec(IXP));
    await ixp.waitEvent('listening', (e) => e.event === 'listening', 20_000);
    for (const k of DAEMON_KINDS) {
      const d = createDaemon(lan, {
        kind: k,
        name: k,
        member: members.get(k)!,
        as: asOf(k),
        routerId: v4(k),
        neighbors: [IXA, IXP].flatMap((ix) => [
          { address: ix.v4, as: ix.as, passive: ix === IXA, addPath: ix === IXA },
          { address: ix.v6, as: ix.as, passive: ix === IXA, addPath: ix === IXA },
        ]),
        routes: daemonRoutes(k),
      });
      daemons.set(k, d);
    }
    await Promise.all([...daemons.values()].map((d) => d.start()));
    ixa = new IxrsSpeaker(lan, ma, 'ixa', speakerSpec(IXA));
    // Every session Established on the ixrs side.
    await Promise.all(
      [ixa, ixp].flatMap((sp) =>
        DAEMON_KINDS.flatMap((k) =>
          [v4(k), v6(k)].map((a) =>
            sp.waitEvent(
              `established with ${k} ${a}`,
              (e) => e.event === 'established' && e.peer === a,
              90_000,
            ),
          ),
        ),
      ),
    );
  });

  afterAll(async () => {
    if (process.env.IXB_KEEP) {
      console.log(`bgp-speaker: IXB_KEEP set, namespaces and daemons kept; logs in ${lan?.logDir}`);
      return;
    }
    for (const d of daemons.values()) await d.stop().catch(() => undefined);
    lan?.destroy();
  });

  describe.each(DAEMON_KINDS.map((k) => [k] as const))('%s', (k) => {
    const d = () => daemons.get(k)!;
    const sessions: [string, () => IxrsSpeaker, Ix, FamilyName][] = [
      ['ixrs active, IPv4', () => ixa, IXA, 'ipv4'],
      ['ixrs active, IPv6', () => ixa, IXA, 'ipv6'],
      ['ixrs passive, IPv4', () => ixp, IXP, 'ipv4'],
      ['ixrs passive, IPv6', () => ixp, IXP, 'ipv6'],
    ];

    it('RFC 4271 §8: IPv4 and IPv6 sessions Established with ixrs active and passive', async () => {
      for (const [, sp, ix, fam] of sessions) {
        const peer = fam === 'ipv4' ? v4(k) : v6(k);
        const est = sp().established(peer);
        expect(est, `${sp().name} ${peer}`).toBeDefined();
        const n = est?.negotiated as { as4: boolean; peerAs: number; families: string[] };
        expect(n.as4).toBe(true);
        expect(n.peerAs).toBe(asOf(k));
        expect(n.families).toContain(fam === 'ipv4' ? '1/1' : '2/1');
        await d().waitEstablished(fam === 'ipv4' ? ix.v4 : ix.v6, 30_000);
      }
    });

    it('RFC 7911 §4: ADD-PATH negotiated both ways with the active speaker; received paths carry identifiers', () => {
      for (const [label, sp, ix, fam] of sessions) {
        const peer = fam === 'ipv4' ? v4(k) : v6(k);
        const key = fam === 'ipv4' ? '1/1' : '2/1';
        const n = sp().established(peer)?.negotiated as {
          addPathRx: string[];
          addPathTx: string[];
        };
        const r = daemonRoutes(k).find((x) => x.prefix.includes(':') === (fam === 'ipv6'))!;
        const got = adjRibIn(sp().events, peer).get(r.prefix);
        if (ix === IXA) {
          expect({ rx: n.addPathRx, tx: n.addPathTx }, label).toEqual({ rx: [key], tx: [key] });
          expect(got?.pathId, `${label}: path id of ${r.prefix}`).toBeTypeOf('number');
        } else {
          expect({ rx: n.addPathRx, tx: n.addPathTx }, label).toEqual({ rx: [], tx: [] });
          expect(got?.pathId, label).toBeUndefined();
        }
      }
    });

    it('RFC 4271 §4.3, RFC 4760, RFC 1997, RFC 8092: routes the daemon announces decode to its configuration and CLI', async () => {
      const own = daemonRoutes(k);
      const cli = new Map<string, RibRoute>();
      for (const fam of ['ipv4', 'ipv6'] as const)
        for (const r of await d().rib(fam)) if (r.from === undefined) cli.set(r.prefix, r);
      for (const [label, sp, , fam] of sessions) {
        const peer = fam === 'ipv4' ? v4(k) : v6(k);
        const r = own.find((x) => x.prefix.includes(':') === (fam === 'ipv6'))!;
        const got = await waitFor(`${label}: ${r.prefix} from ${k}`, () =>
          adjRibIn(sp().events, peer).get(r.prefix),
        );
        const expAsPath = Array(1 + (r.prepend ?? 0))
          .fill(asOf(k))
          .join(' ');
        expect(
          {
            nextHop: canonicalIp(got.nextHop),
            asPath: asPathText(got.asPath),
            med: got.med,
            communities: got.communities,
            largeCommunities: got.largeCommunities,
          },
          `${label}: ${r.prefix}`,
        ).toEqual({
          nextHop: fam === 'ipv4' ? v4(k) : v6(k),
          asPath: expAsPath,
          med: r.med,
          communities: sortStr((r.communities ?? []).map(([a, b]) => `${a}:${b}`)),
          largeCommunities: sortStr((r.largeCommunities ?? []).map((c) => c.join(':'))),
        });
        // The daemon's own view of the route it originates: the AS path it
        // shows plus its AS on export (ExaBGP's path is literal), same MED and
        // communities.
        const mine = cli.get(r.prefix);
        expect(mine, `${k} CLI shows its own ${r.prefix}`).toBeDefined();
        expect(asPathText(got.asPath), `${k} CLI AS path of ${r.prefix}`).toBe(
          k === 'exabgp' ? mine?.asPath : `${asOf(k)} ${mine?.asPath ?? ''}`.trim(),
        );
        expect(
          {
            med: mine?.med,
            communities: mine?.communities,
            largeCommunities: mine?.largeCommunities,
          },
          `${k} CLI attributes of ${r.prefix}`,
        ).toEqual({
          med: got.med,
          communities: got.communities,
          largeCommunities: got.largeCommunities,
        });
      }
    });

    it('RFC 4271 §5, RFC 4760: routes ixrs announces appear in the daemon RIB with the same attributes', async () => {
      for (const [label, , ix, fam] of sessions) {
        const from = fam === 'ipv4' ? ix.v4 : ix.v6;
        const r = ixRoutes(ix).find((x) => x.prefix.includes(':') === (fam === 'ipv6'))!;
        const got = await waitFor(
          `${label}: ${r.prefix} in ${k} RIB`,
          async () => (await d().routesFrom(fam, from)).find((x) => x.prefix === r.prefix),
          30_000,
          500,
        );
        expect(
          {
            nextHop: got.nextHop,
            asPath: got.asPath,
            med: got.med,
            communities: got.communities,
            largeCommunities: got.largeCommunities,
          },
          `${label}: ${k} RIB ${r.prefix}`,
        ).toEqual({
          nextHop: canonicalIp(from),
          asPath: r.asPath.join(' '),
          med: r.med,
          communities: sortStr(r.communities.map(([a, b]) => `${a}:${b}`)),
          largeCommunities: sortStr(r.largeCommunities.map((c) => c.join(':'))),
        });
      }
    });

    it('RFC 9003 §2: the daemon shows the shutdown message of ixrs Cease/Administrative Shutdown', async () => {
      const msg = `ixrs maintenance for ${k}`;
      ixa.command({ cmd: 'stop', peer: v4(k), message: msg });
      await ixa.waitEvent(
        `stopped ${v4(k)}`,
        (e) => e.event === 'stopped' && e.peer === v4(k),
        15_000,
      );
      const down = ixa.events.find((e) => e.event === 'down' && e.peer === v4(k));
      expect(down?.sent).toMatchObject({ code: 6, subcode: 2, shutdownMessage: msg });
      // ExaBGP 4.2.21 cannot parse a Cease with a shutdown communication
      // (notification.py formats bytes with a str: TypeError), answers with
      // NOTIFICATION 1/0 and says so in its down reason: that is what it shows.
      const expected = k === 'exabgp' ? 'can not decode update message of type "3"' : msg;
      const shown = await waitFor(
        `${k} shows "${expected}"`,
        async () => {
          const t = await d().lastError(IXA.v4);
          return t.includes(expected) ? t : undefined;
        },
        15_000,
        500,
      ).catch(async (err: unknown) => {
        const t = await d()
          .lastError(IXA.v4)
          .catch((e: unknown) => String(e));
        throw new Error(`${String(err)}\n--- ${k} shows:\n${t}`);
      });
      expect(shown).toContain(expected);
    });
  });
});
