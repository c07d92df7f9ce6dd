// RS-BFD interop (docs/rs-bfd-profile.md §3-7): the real `ixrs run` process
// on an IXP LAN of network namespaces with BIRD 2 and FRR as its clients, and
// beside each client a scripted BGP-LS reporter standing in for its agent
// (test/interop/bin/ls-speaker.ts: a BGP-LS-only session from the client's LAN
// address, in the client's namespace, built on src/bgp + src/bgpls).
//
//   A1 = BIRD (AS65001), A2 = FRR (AS65002): the clients that report;
//   B  = BIRD (AS65003): announces SHARED (shortest path: best) and B_OWN;
//   C  = FRR  (AS65004): announces SHARED (prepended) and C_OWN.
//
// For A = BIRD and then A = FRR: A's reporter is asked about B's and C's next
// hops; it reports B's next hop unreachable, and A's real router (its own CLI)
// loses B_OWN and takes C's path for SHARED while every other router keeps
// what it had and every BGP session stays Established; the report is
// withdrawn: A gets everything back; reported again and the reporter's session
// dropped (fail open, §7): the same. Needs root.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LsNlri, parseRequest } from '../../src/bgpls/codec.ts';
import type { LsHalfLinkSpec } from './bin/ls-speaker.ts';
import { LsSpeaker } from './lib/bgpls.ts';
import {
  canonicalIp,
  DAEMON_PROGRAMS,
  type Daemon,
  type RibRoute,
  type RouteSpec,
} from './lib/daemons.ts';
import { Lan, type Member, requirePrograms, waitFor } from './lib/netns.ts';
import { createRsClient, RouteServerProcess } from './lib/rs.ts';

const RS = { as: 64500, v4: '192.0.2.100' };
type Name = 'a1' | 'a2' | 'b' | 'c';
const NAMES: readonly Name[] = ['a1', 'a2', 'b', 'c'];
const CLIENT: Record<Name, { kind: 'bird' | 'frr'; as: number; v4: string }> = {
  a1: { kind: 'bird', as: 65001, v4: '192.0.2.1' },
  a2: { kind: 'frr', as: 65002, v4: '192.0.2.2' },
  b: { kind: 'bird', as: 65003, v4: '192.0.2.3' },
  c: { kind: 'frr', as: 65004, v4: '192.0.2.4' },
};
const SHARED = '203.0.113.0/24';
const OWN: Record<Name, string> = {
  a1: '198.51.100.64/27',
  a2: '198.51.100.96/27',
  b: '198.51.100.0/27',
  c: '198.51.100.32/27',
};

interface JsonLs {
  announced: (Record<string, unknown> & { identifier: string })[];
  withdrawn: (Record<string, unknown> & { identifier: string })[];
  attribute: Record<string, unknown> | null;
  problems: unknown[];
}

const nlriOf = (j: Record<string, unknown> & { identifier: string }): LsNlri =>
  ({ ...j, identifier: BigInt(j.identifier) }) as unknown as LsNlri;

/** The requests a reporter currently holds from the route server: next hop -> half link. */
function requestsOf(s: LsSpeaker): Map<string, LsHalfLinkSpec> {
  const out = new Map<string, LsHalfLinkSpec>();
  for (const e of s.events) {
    if (e.event !== 'update') continue;
    const ls = e.ls as JsonLs | null;
    if (!ls) continue;
    for (const w of ls.withdrawn) {
      const p = parseRequest(nlriOf(w), null);
      if (p.ok) out.delete(p.value.nextHop);
    }
    for (const a of ls.announced) {
      const p = parseRequest(nlriOf(a), null);
      if (!p.ok) continue;
      const h = p.value;
      out.set(h.nextHop, {
        instanceId: h.instanceId.toString(),
        local: h.local,
        remote: h.remote,
        localAddress: h.localAddress,
        nextHop: h.nextHop,
      });
    }
  }
  return out;
}

/** A route as compared between snapshots. */
const brief = (r: RibRoute) => `${r.prefix} via ${r.nextHop} [${r.asPath}]`;

describe('RS-BFD interop: ixrs run with BIRD 2 and FRR as clients and scripted BGP-LS reporters', () => {
  let lan: Lan | undefined;
  let rs: RouteServerProcess;
  const members = new Map<Name, Member>();
  const daemons = new Map<Name, Daemon>();
  const reporters = new Map<Name, LsSpeaker>();

  async function fromRs(n: Name): Promise<string[]> {
    const d = daemons.get(n)!;
    return (await d.routesFrom('ipv4', RS.v4)).map(brief).sort();
  }

  async function all(): Promise<Record<Name, string[]>> {
    const out = {} as Record<Name, string[]>;
    for (const n of NAMES) out[n] = await fromRs(n);
    return out;
  }

  /** What n receives from the route server while every next hop is fine. */
  function normal(n: Name): string[] {
    const l: string[] = [];
    for (const o of NAMES) {
      if (o === n) continue;
      const c = CLIENT[o];
      l.push(`${OWN[o]} via ${c.v4} [${c.as}]`);
    }
    if (n === 'b') l.push(`${SHARED} via ${CLIENT.c.v4} [65004 65004 65004]`);
    else l.push(`${SHARED} via ${CLIENT.b.v4} [65003]`);
    return l.sort();
  }

  /** What a (A1 or A2) receives while B's next hop is unreachable for it. */
  function withoutB(a: Name): string[] {
    return normal(a)
      .filter((r) => !r.startsWith(OWN.b) && !r.startsWith(SHARED))
      .concat(`${SHARED} via ${CLIENT.c.v4} [65004 65004 65004]`)
      .sort();
  }

  async function expectSessionsUp(): Promise<void> {
    for (const n of NAMES) {
      const s = await daemons.get(n)!.sessions();
      const rsS = s.find((x) => canonicalIp(x.neighbor) === RS.v4);
      expect(rsS?.established, `${n}: session with the route server`).toBe(true);
    }
    const rows = await rs.sessions();
    expect(
      rows.filter((r) => r.state === 'up' && r.bgpState === 'Established').length,
      JSON.stringify(rows),
    ).toBeGreaterThanOrEqual(NAMES.length);
  }

  function startReporter(n: Name): LsSpeaker {
    const c = CLIENT[n];
    const s = new LsSpeaker(lan!, members.get(n)!, `rep-${n}-${Date.now() % 100000}`, {
      peers: [
        {
          localAs: c.as,
          routerId: c.v4,
          peerAddress: RS.v4,
          peerAs: RS.as,
          localAddress: c.v4,
          announce: [],
        },
      ],
    });
    reporters.set(n, s);
    return s;
  }

  async function converge(what: string, want: Partial<Record<Name, string[]>>, ms = 60_000) {
    let last: Record<Name, string[]> | undefined;
    await waitFor(
      what,
      async () => {
        last = await all();
        for (const [n, w] of Object.entries(want) as [Name, string[]][])
          if (JSON.stringify(last[n]) !== JSON.stringify(w)) return false;
        return true;
      },
      ms,
      500,
    ).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\n--- routers have: ${JSON.stringify(last, null, 1)}\n--- ixrs log:\n${rs.logTail()}`,
      );
    });
    return last!;
  }

  beforeAll(async () => {
    requirePrograms(...DAEMON_PROGRAMS.bird, ...DAEMON_PROGRAMS.frr, 'nft');
    lan = new Lan('ixr-');
    const mrs = lan.add({ name: 'rs', v4: `${RS.v4}/24` });
    rs = new RouteServerProcess(lan, mrs, {
      rsAs: RS.as,
      routerId: RS.v4,
      controlSocket: `${lan.logDir}/ixrs.sock`,
      clients: NAMES.map((n) => ({
        asn: CLIENT[n].as,
        addresses: [CLIENT[n].v4],
        description: n,
      })),
    });
    for (const n of NAMES) members.set(n, lan.add({ name: n, v4: `${CLIENT[n].v4}/24` }));
    await rs.start();
    for (const n of NAMES) {
      const c = CLIENT[n];
      const routes: RouteSpec[] = [{ prefix: OWN[n] }];
      if (n === 'b') routes.push({ prefix: SHARED });
      if (n === 'c') routes.push({ prefix: SHARED, prepend: 2 });
      daemons.set(
        n,
        createRsClient(lan, {
          kind: c.kind,
          name: n,
          member: members.get(n)!,
          as: c.as,
          routerId: c.v4,
          neighbors: [{ address: RS.v4, as: RS.as }],
          routes,
        }),
      );
    }
    await Promise.all([...daemons.values()].map((d) => d.start()));
    await Promise.all([...daemons.values()].map((d) => d.waitEstablished(RS.v4, 60_000)));
    for (const n of NAMES) {
      const s = startReporter(n);
      await s.waitEvent('established with the route server', (e) => e.event === 'established');
    }
  }, 120_000);

  afterAll(async () => {
    if (process.env.IXR_KEEP) {
      console.log(`rsbfd: IXR_KEEP set, namespaces and processes kept; logs in ${lan?.logDir}`);
      return;
    }
    for (const s of reporters.values()) s.command({ cmd: 'exit' });
    await rs?.stop().catch(() => undefined);
    await Promise.all([...daemons.values()].map((d) => d.stop().catch(() => undefined)));
    lan?.destroy();
  }, 30_000);

  it('every router has every other client path; each reporter is asked (§5.1) about the other clients next hops, its own excluded', async () => {
    const want = Object.fromEntries(NAMES.map((n) => [n, normal(n)])) as Record<Name, string[]>;
    await converge('every router has its routes', want);
    for (const n of NAMES) {
      const s = reporters.get(n)!;
      const others = NAMES.filter((o) => o !== n)
        .map((o) => CLIENT[o].v4)
        .sort();
      const got = await waitFor(`${n}: requests for ${others.join(', ')}`, () => {
        const r = requestsOf(s);
        return r.size === others.length ? r : false;
      });
      expect([...got.keys()].sort()).toEqual(others);
      for (const [nh, h] of got) {
        const owner = NAMES.find((o) => CLIENT[o].v4 === nh)!;
        expect(h).toMatchObject({
          local: { asn: CLIENT[n].as },
          remote: { asn: CLIENT[owner].as },
          localAddress: CLIENT[n].v4,
          nextHop: nh,
        });
      }
      expect(
        s.events.filter((e) => e.event === 'update' && (e.ls as JsonLs | null)?.problems.length),
      ).toEqual([]);
    }
    await expectSessionsUp();
  });

  describe.each([['a1'], ['a2']] as const)('A = %s', (a) => {
    const kind = CLIENT[a].kind;

    it(`§5.3, §6: ${kind} A reports B unreachable: A (its own CLI) loses B's prefix and takes C's path for the shared one; nobody else changes; the withdrawn report gives it all back`, async () => {
      const base = Object.fromEntries(NAMES.map((n) => [n, normal(n)])) as Record<Name, string[]>;
      await converge('baseline', base);
      const rep = reporters.get(a)!;
      const req = requestsOf(rep).get(CLIENT.b.v4);
      expect(req, `${a} was asked about B`).toBeDefined();
      const item = { halfLink: req!, state: 'unreachable' as const };
      rep.command({ cmd: 'announce', peer: RS.v4, items: [item] });
      const got = await converge(`${a} loses B`, { ...base, [a]: withoutB(a) });
      // Everyone else unchanged, a while later too.
      await new Promise((r) => setTimeout(r, 2000));
      expect(await all()).toEqual(got);
      await expectSessionsUp();
      const nhib = JSON.parse(await rs.show(['nhib', `AS${CLIENT[a].as}`])) as unknown;
      expect(JSON.stringify(nhib)).toContain('unreachable');

      rep.command({ cmd: 'withdraw', peer: RS.v4, items: [item] });
      await converge(`${a} gets B back`, base);
      await expectSessionsUp();
    });

    it(`§7: ${kind} A reports B unreachable again, then its reporter's session drops: A gets everything back (fail open)`, async () => {
      const base = Object.fromEntries(NAMES.map((n) => [n, normal(n)])) as Record<Name, string[]>;
      const rep = reporters.get(a)!;
      const item = { halfLink: requestsOf(rep).get(CLIENT.b.v4)!, state: 'unreachable' as const };
      rep.command({ cmd: 'announce', peer: RS.v4, items: [item] });
      await converge(`${a} loses B again`, { ...base, [a]: withoutB(a) });
      rep.command({ cmd: 'exit' });
      await waitFor(`${a}'s reporter gone`, () => rep.child.exitCode !== null, 15_000);
      await converge(`${a} gets B back after its reporter left`, base);
      await expectSessionsUp();
      // Nobody is asked about A's next hop any more (no active reachability session).
      for (const o of NAMES.filter((x) => x !== a && reporters.get(x)!.child.exitCode === null))
        await waitFor(
          `${o} no longer asked about ${a}`,
          () => !requestsOf(reporters.get(o)!).has(CLIENT[a].v4),
        );
    });
  });
});
