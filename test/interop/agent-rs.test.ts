// RS-BFD end to end with real routers (issue 11, docs/rs-bfd-profile.md §5-§6):
// `ixrs run` as the route server on an IXP LAN of network namespaces; four
// clients that are real routers (A = BIRD 2, B = FRR, C = GoBGP, D = OpenBGPD),
// each with an `ixrs agent` beside it in its namespace, on its LAN addresses.
// No router runs BFD: UDP 3784 is the agent's.
//
// B (FRR) and C (GoBGP, AS path prepended twice) both announce SHARED; B's
// path is the best. The data plane between A and B is cut with nftables in the
// switch namespace (bridge family: A<->B frames only, BGP to the route server
// untouched), both ways and one way. Then A's router (read through birdc) loses
// B's prefixes and takes C's path for SHARED, B's router (vtysh) loses A's,
// C and D keep everything, and every BGP session stays Established. Healed,
// everything comes back. Cut again and A's agent SIGKILLed: the route server
// fails open and A gets B's prefixes back. IPv6 next hops are checked the same
// way (every expectation below holds both families).
//
// The time from the cut to the withdraw reaching A's router (birdc polled in a
// tight loop) is printed at BFD 300 ms x 3 and 100 ms x 3 (agents restarted).

import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from './lib/agent.ts';
import {
  type Bird,
  canonicalIp,
  DAEMON_PROGRAMS,
  type Daemon,
  type FamilyName,
  nsRun,
  type RouteSpec,
} from './lib/daemons.ts';
import { Lan, type Member, requirePrograms, waitFor } from './lib/netns.ts';
import { createRsClient, RouteServerProcess } from './lib/rs.ts';

type Kind = 'bird' | 'frr' | 'gobgp' | 'openbgpd';
const KINDS: readonly Kind[] = ['bird', 'frr', 'gobgp', 'openbgpd'];
/** A, B, C, D. */
const A: Kind = 'bird';
const B: Kind = 'frr';
const C: Kind = 'gobgp';

const RS = { as: 64500, v4: '192.0.2.100', v6: '2001:db8::100' };
const IDX: Record<Kind, number> = { bird: 1, frr: 2, gobgp: 3, openbgpd: 4 };
const asOf = (k: Kind) => 65000 + IDX[k];
const v4 = (k: Kind) => `192.0.2.${IDX[k]}`;
const v6 = (k: Kind) => `2001:db8::${IDX[k]}`;
const rsAddr = (f: FamilyName) => (f === 'ipv4' ? RS.v4 : RS.v6);
const MULT = 3;

/** Announced by B (AS path 65002) and C (65003 65003 65003): B's is the best. */
const SHARED = '203.0.113.0/24';

function ownRoutes(k: Kind): RouteSpec[] {
  const i = IDX[k];
  return [
    { prefix: `198.51.100.${(i - 1) * 32}/27`, med: 10 * i },
    { prefix: `2001:db8:${i}00::/48`, med: 20 * i },
  ];
}
function routesOf(k: Kind): RouteSpec[] {
  const own = ownRoutes(k);
  if (k === B) return [...own, { prefix: SHARED, med: 5 }];
  if (k === C) return [...own, { prefix: SHARED, med: 7, prepend: 2 }];
  return own;
}

/** prefix -> next hop (canonical) that k should have from the route server. */
function expected(k: Kind, cut: boolean): Map<string, string> {
  const m = new Map<string, string>();
  const blocked = (o: Kind) => cut && ((k === A && o === B) || (k === B && o === A));
  for (const o of KINDS) {
    if (o === k || blocked(o)) continue;
    for (const r of ownRoutes(o))
      m.set(r.prefix, canonicalIp(r.prefix.includes(':') ? v6(o) : v4(o)));
  }
  const shared = k === B || blocked(B) ? C : B;
  if (shared !== k) m.set(SHARED, v4(shared));
  return m;
}

describe('RS-BFD end to end: ixrs run, BIRD/FRR/GoBGP/OpenBGPD clients, an ixrs agent beside each', () => {
  let lan: Lan | undefined;
  let rs: RouteServerProcess;
  const members = new Map<Kind, Member>();
  const routers = new Map<Kind, Daemon>();
  const agents = new Map<Kind, AgentProcess>();
  const figures: string[] = [];

  function startAgentFor(k: Kind, interval: number): AgentProcess {
    const m = members.get(k)!;
    const ag = startAgent({
      netns: m.ns,
      control: `${lan!.logDir}/agent-${k}.sock`,
      args: [
        '--rs',
        RS.v4,
        '--rs6',
        RS.v6,
        '--asn',
        String(asOf(k)),
        '--local',
        v4(k),
        '--local',
        v6(k),
        '--bfd-interval',
        String(interval),
        '--bfd-multiplier',
        String(MULT),
      ],
    });
    agents.set(k, ag);
    return ag;
  }

  /** Routes k has from the route server (both families): prefix -> next hop. */
  async function fromRs(k: Kind): Promise<Map<string, string>> {
    const d = routers.get(k)!;
    const out = new Map<string, string>();
    for (const f of ['ipv4', 'ipv6'] as const)
      for (const r of await d.routesFrom(f, rsAddr(f))) out.set(r.prefix, r.nextHop);
    return out;
  }

  function diff(want: Map<string, string>, got: Map<string, string>): string[] {
    const d: string[] = [];
    for (const [p, nh] of want)
      if (got.get(p) !== nh) d.push(`${p}: want ${nh}, has ${got.get(p)}`);
    for (const [p, nh] of got) if (!want.has(p)) d.push(`${p}: unexpected (via ${nh})`);
    return d;
  }

  /** Waits until every router has exactly what expected(k, cut) says. */
  async function allConverged(what: string, cut: boolean, timeoutMs = 30_000): Promise<void> {
    let last: string[] = [];
    await waitFor(
      what,
      async () => {
        last = [];
        for (const k of KINDS) {
          for (const l of diff(expected(k, cut), await fromRs(k))) last.push(`${k}: ${l}`);
        }
        return last.length === 0;
      },
      timeoutMs,
      300,
    ).catch(async (err: unknown) => {
      const matrix = await rs.show(['nhib', '--matrix']).catch((e: unknown) => String(e));
      const agentErr = [...agents].map(([k, a]) => `${k}: ${a.stderr().slice(-800)}`).join('\n');
      throw new Error(
        `${String(err)}\n--- differences:\n${last.join('\n')}\n--- nhib matrix: ${matrix}\n--- agents' stderr:\n${agentErr}\n--- ixrs log:\n${rs.logTail()}`,
      );
    });
  }

  /** Every router's IPv4 and IPv6 session with the route server is Established. */
  async function sessionsEstablished(): Promise<void> {
    for (const k of KINDS) {
      const s = await routers.get(k)!.sessions();
      for (const f of ['ipv4', 'ipv6'] as const) {
        const row = s.find((x) => canonicalIp(x.neighbor) === canonicalIp(rsAddr(f)));
        expect(row?.established, `${k}: ${f} session with the route server`).toBe(true);
      }
    }
  }

  /** Every agent's BGP-LS sessions (IPv4 and IPv6) with the route server are up. */
  async function agentsConnected(): Promise<void> {
    await waitFor(
      'every agent connected to the route server',
      async () => {
        for (const a of agents.values()) {
          const st = await a.status();
          if (!st.sessions.every((s) => s.established) || st.sessions.length !== 2) return false;
        }
        return true;
      },
      30_000,
      300,
    );
  }

  /**
   * Polls A's router (birdc) in a tight loop until B's IPv4 prefix is gone;
   * returns the time since t0 (ms). Each poll is one birdc run (a few ms).
   */
  async function timeToWithdrawAtA(t0: number, timeoutMs = 10_000): Promise<number> {
    const bird = routers.get(A) as Bird;
    const prefix = ownRoutes(B)[0]!.prefix;
    for (;;) {
      // birdc exits non-zero on "Network not found": read its output anyway.
      const out = await nsRun(bird.ns, 'sh', [
        '-c',
        `birdc -s ${bird.socket} 'show route ${prefix} table master4'; true`,
      ]);
      if (!/BIRD|Network not found/.test(out)) throw new Error(`birdc: ${out}`);
      const now = Date.now();
      if (!out.includes(prefix)) return now - t0;
      if (now - t0 > timeoutMs) throw new Error(`${prefix} still at ${A} after ${timeoutMs} ms`);
    }
  }

  /**
   * Waits until A's agent checks B's addresses and B's agent A's, Up, at the
   * negotiated detection time (RFC 5880 §6.8.4: intervals change only after a
   * Poll sequence once Up, so right after a restart detection is slower).
   */
  async function detectionInForce(ms: number): Promise<void> {
    const pairs: [Kind, Kind][] = [
      [A, B],
      [B, A],
    ];
    await waitFor(
      `A<->B BFD Up with detection ${ms} ms`,
      async () => {
        for (const [x, y] of pairs) {
          const st = await agents.get(x)!.status();
          for (const nh of [v4(y), v6(y)]) {
            const e = st.nextHops.find((n) => canonicalIp(n.nextHop) === canonicalIp(nh));
            if (e?.bfd !== 'Up' || e.detectMs !== ms) return false;
          }
        }
        return true;
      },
      20_000,
      200,
    );
  }

  /**
   * `rounds` cuts both ways and one cut one way, each healed: the time from the
   * cut to the withdraw reaching A's router, printed with the goal (detection
   * time + 50 ms, issue 11) and asserted with a margin for a loaded machine.
   */
  async function measureCuts(interval: number, rounds: number): Promise<void> {
    const detect = interval * MULT;
    const both: number[] = [];
    const bfdDown: number[] = [];
    const once = async (cut: () => void, out: number[]) => {
      await detectionInForce(detect);
      const t0 = Date.now();
      cut();
      out.push(await timeToWithdrawAtA(t0));
      // A's agent's own line for its BFD session to B going Down (same clock).
      const down = agents
        .get(A)!
        .lines.find(
          (l) =>
            l.event === 'bfd' &&
            l.state === 'Down' &&
            l.passive !== true &&
            l.peer === v4(B) &&
            Date.parse(l.time) >= t0,
        );
      bfdDown.push(down === undefined ? Number.NaN : Date.parse(down.time) - t0);
      await allConverged('the cut seen by A and B', true);
      lan!.heal(A, B);
      await allConverged('healed', false);
    };
    for (let i = 0; i < rounds; i++) await once(() => lan!.cut(A, B), both);
    const oneWay: number[] = [];
    await once(cutOneWay, oneWay);
    const all = [...both, ...oneWay];
    const goal = detect + 50;
    figures.push(
      `agent-rs ${interval} ms x ${MULT}: cut -> withdraw at A's router: both ways ${both.join(', ')} ms; one way ${oneWay.join(', ')} ms; range ${Math.min(...all)}-${Math.max(...all)} ms (goal <= ${goal} ms: ${Math.max(...all) <= goal ? 'met' : 'NOT met'}); of which cut -> BFD Down at A's agent ${bfdDown.join(', ')} ms`,
    );
    await sessionsEstablished();
    for (const v of all)
      expect(v, `cut to withdraw at ${interval} ms x ${MULT}`).toBeLessThan(detect + 700);
  }

  /** Drops A -> B frames only (Lan.heal(A, B) heals both directions). */
  function cutOneWay(): void {
    lan!.cut(A, B, true);
  }

  beforeAll(async () => {
    requirePrograms(...KINDS.flatMap((k) => DAEMON_PROGRAMS[k]), 'nft');
    lan = new Lan('ixe-');
    const mrs = lan.add({ name: 'rs', v4: `${RS.v4}/24`, v6: `${RS.v6}/64` });
    for (const k of KINDS)
      members.set(k, lan.add({ name: k, v4: `${v4(k)}/24`, v6: `${v6(k)}/64` }));
    rs = new RouteServerProcess(lan, mrs, {
      rsAs: RS.as,
      routerId: RS.v4,
      controlSocket: `${lan.logDir}/ixrs.sock`,
      clients: KINDS.map((k) => ({ asn: asOf(k), addresses: [v4(k), v6(k)], description: k })),
    });
    // The test cuts and heals the same pair several times within a minute:
    // no flap damping at the route server (it would rightly hold B unreachable).
    writeFileSync(
      rs.generalFile,
      readFileSync(rs.generalFile, 'utf8').replace(
        /^ {2}ixrs:\n/m,
        '  ixrs:\n    rs_bfd:\n      damping:\n        enabled: False\n',
      ),
    );
    await rs.start();
    for (const k of KINDS) {
      routers.set(
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
          routes: routesOf(k),
        }),
      );
    }
    await Promise.all([...routers.values()].map((d) => d.start()));
    await Promise.all(
      [...routers.values()].flatMap((d) => [RS.v4, RS.v6].map((a) => d.waitEstablished(a, 60_000))),
    );
    for (const k of KINDS) startAgentFor(k, 300);
  }, 120_000);

  afterAll(async () => {
    if (figures.length > 0) process.stdout.write(`${figures.join('\n')}\n`);
    if (process.env.IXR_KEEP) {
      console.log(`agent-rs: IXR_KEEP set, namespaces and processes kept; logs in ${lan?.logDir}`);
      return;
    }
    for (const a of agents.values()) a.kill();
    await rs?.stop().catch(() => undefined);
    await Promise.all([...routers.values()].map((d) => d.stop().catch(() => undefined)));
    lan?.destroy(); // also kills whatever is left in the namespaces, the nft rules go with them
  }, 30_000);

  it('profile §5: every agent connects beside its router, every next hop is reported reachable, every router has every route', async () => {
    await agentsConnected();
    await waitFor(
      'every requested next hop reachable in the NHIB',
      async () => {
        const m = JSON.parse(await rs.show(['nhib', '--matrix'])) as {
          counts: { requested: number; reachable: number; sessionsUp: number };
        };
        return m.counts.sessionsUp === KINDS.length &&
          m.counts.requested > 0 &&
          m.counts.reachable === m.counts.requested
          ? m
          : false;
      },
      30_000,
      300,
    );
    await allConverged('every router converged', false);
    await sessionsEstablished();
  });

  it('profile §6: A-B cut both ways: A loses B (takes C for the shared prefix), B loses A, the others keep all; healed: all back', async () => {
    await detectionInForce(300 * MULT);
    const t0 = Date.now();
    lan!.cut(A, B);
    const ms = await timeToWithdrawAtA(t0);
    figures.push(`agent-rs 300 ms x ${MULT}: cut both ways -> withdraw at A's router ${ms} ms`);
    expect(ms).toBeLessThan(300 * MULT + 700);
    await allConverged('the cut seen by A and B only', true);
    await sessionsEstablished();
    const t1 = Date.now();
    lan!.heal(A, B);
    await allConverged('healed', false);
    figures.push(`agent-rs 300 ms x ${MULT}: healed -> all routes back in ${Date.now() - t1} ms`);
    await sessionsEstablished();
  });

  it('profile §6: A-B cut one way (A to B dropped): the same on both sides; healed: all back', async () => {
    await detectionInForce(300 * MULT);
    const t0 = Date.now();
    cutOneWay();
    const ms = await timeToWithdrawAtA(t0);
    figures.push(`agent-rs 300 ms x ${MULT}: cut A->B only -> withdraw at A's router ${ms} ms`);
    expect(ms).toBeLessThan(300 * MULT + 700);
    await allConverged('the one-way cut seen by A and B', true);
    await sessionsEstablished();
    lan!.heal(A, B);
    await allConverged('healed', false);
  });

  it('detection at BFD 300 ms x 3: cut to withdraw at A within the detection time plus a margin', async () => {
    await measureCuts(300, 1);
  });

  it("profile §2 fail open: cut again, A's agent killed (SIGKILL): A gets B's prefixes back", async () => {
    lan!.cut(A, B);
    await timeToWithdrawAtA(Date.now());
    await allConverged('the cut seen by A and B', true);
    const t0 = Date.now();
    agents.get(A)!.kill();
    // A's view fails open; B's agent still reports A unreachable.
    await waitFor(
      "A has B's routes again",
      async () => diff(expected(A, false), await fromRs(A)).length === 0,
      15_000,
      100,
    );
    figures.push(`agent-rs: A's agent killed -> B's routes back at A in ${Date.now() - t0} ms`);
    // A's next hops are no longer checked either (their owner runs no agent:
    // nobody answers BFD for them, the route server stops requesting them), so
    // B gets A's routes back too: everything fails open, nothing is lost.
    await allConverged('everyone has everything with no agent beside A', false);
    await sessionsEstablished();
    lan!.heal(A, B);
    await allConverged('healed', false);
  });

  it('detection at BFD 100 ms x 3: cut to withdraw at A within the detection time plus a margin', async () => {
    lan!.heal(A, B); // in case an earlier test failed while cut
    for (const [k, a] of agents) {
      if (a.child.exitCode === null) await a.stop();
      startAgentFor(k, 100);
    }
    await agentsConnected();
    await allConverged('all back with the 100 ms agents', false);
    await measureCuts(100, 3);
  });
});
