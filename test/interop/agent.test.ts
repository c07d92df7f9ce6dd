// `ixrs agent` in network namespaces on a bridge, beside three members (no
// routers yet: the route server's RS-BFD side is not in `ixrs run`; a scripted
// route server in its own namespace sends the requests and records the
// reports). The data plane between A and B is cut with nftables in the switch
// namespace, both ways and one way; the time from the cut to each
// unreachable report reaching the route server is printed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckLink } from '../../src/agent/core.ts';
import type { RsClient } from '../agent/lib/scripted-rs.ts';
import { type AgentProcess, NsScriptedRs, startAgent } from './lib/agent.ts';
import { Lan, type Member, nsExec, requirePrograms } from './lib/netns.ts';

const MULT = 3;

function node(m: Member, asn: number): RsClient {
  return { address: m.v4!, asn, routerId: m.v4! };
}

function link(from: RsClient, to: RsClient, v6?: [string, string]): CheckLink {
  return {
    instanceId: 0,
    local: { asn: from.asn, routerId: from.routerId },
    remote: { asn: to.asn, routerId: to.routerId },
    localAddress: v6 ? v6[0] : from.address,
    nextHop: v6 ? v6[1] : to.address,
  };
}

describe.each([300, 100])(
  'RS-BFD agent in namespaces, BFD %i ms x 3 (profile §5-§6)',
  (interval) => {
    let lan: Lan;
    let rs: NsScriptedRs;
    const agents: AgentProcess[] = [];
    let a: Member;
    let b: Member;
    let c: Member;
    let A: RsClient;
    let B: RsClient;
    let C: RsClient;
    // Directed checks and the client address (session) they are requested on.
    const checks: { name: string; client: string; link: CheckLink }[] = [];

    beforeAll(async () => {
      requirePrograms('ip', 'nft');
      lan = new Lan('ixa-');
      const r = lan.add({ name: 'rs', v4: '192.0.2.254/24', v6: '2001:db8::fe/64' });
      a = lan.add({ name: 'a', v4: '192.0.2.1/24', v6: '2001:db8::1/64' });
      b = lan.add({ name: 'b', v4: '192.0.2.2/24', v6: '2001:db8::2/64' });
      c = lan.add({ name: 'c', v4: '192.0.2.3/24', v6: '2001:db8::3/64' });
      A = node(a, 64501);
      B = node(b, 64502);
      C = node(c, 64503);
      rs = new NsScriptedRs(lan, r, { asn: 64500 });
      await rs.waitFor('listening', () => rs.lines.some((l) => l.event === 'listening'), 20_000);
      for (const [m, n] of [
        [a, A],
        [b, B],
        [c, C],
      ] as const) {
        rs.client(n);
        rs.client({ ...n, address: m.v6! });
      }
      const v6 = (x: Member, y: Member): [string, string] => [x.v6!, y.v6!];
      checks.push(
        { name: 'A->B', client: A.address, link: link(A, B) },
        { name: 'B->A', client: B.address, link: link(B, A) },
        { name: 'A->B v6', client: a.v6!, link: link(A, B, v6(a, b)) },
        { name: 'B->A v6', client: b.v6!, link: link(B, A, v6(b, a)) },
        { name: 'A->C', client: A.address, link: link(A, C) },
        { name: 'C->A', client: C.address, link: link(C, A) },
        { name: 'B->C', client: B.address, link: link(B, C) },
        { name: 'C->B', client: C.address, link: link(C, B) },
      );
      for (const k of checks) rs.request(k.client, [k.link]);
      for (const [m, n] of [
        [a, A],
        [b, B],
        [c, C],
      ] as const) {
        agents.push(
          startAgent({
            netns: m.ns,
            control: `${lan.logDir}/agent-${m.name}.sock`,
            args: [
              '--rs',
              '192.0.2.254',
              '--rs6',
              '2001:db8::fe',
              '--asn',
              String(n.asn),
              '--local',
              m.v4!,
              '--local',
              m.v6!,
              '--bfd-interval',
              String(interval),
              '--bfd-multiplier',
              String(MULT),
              '--bring-up-timeout',
              '10',
            ],
          }),
        );
      }
    });

    afterAll(async () => {
      for (const ag of agents) ag.kill();
      rs?.stop();
      lan?.destroy();
    });

    const allReachable = () => checks.every((k) => rs.report(k.client, k.link) === 'reachable');

    it('profile §5: every agent connects from its LAN address, BFD comes Up, every check is reported reachable', async () => {
      await rs.waitFor('all reachable', allReachable, 30_000);
      const st = await agents[0]!.status();
      expect(st.sessions.map((s) => [s.channel, s.established])).toEqual([
        ['ipv4', true],
        ['ipv6', true],
      ]);
      expect(st.lan).toEqual(['192.0.2.0/24', '2001:db8::1/64']);
    });

    async function timeToUnreachable(names: string[], t0: number): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      for (const n of names) {
        const k = checks.find((x) => x.name === n)!;
        const e = await rs.waitFor(
          `${n} unreachable`,
          () =>
            rs.lines.find(
              (l) =>
                l.event === 'rs' &&
                l.kind === 'report' &&
                l.state === 'unreachable' &&
                l.client === k.client &&
                l.link?.nextHop === k.link.nextHop &&
                (l.time ?? 0) >= t0,
            ),
          10_000,
        );
        out[n] = e.time! - t0;
      }
      return out;
    }

    function untouched(): void {
      for (const n of ['A->C', 'C->A', 'B->C', 'C->B']) {
        const k = checks.find((x) => x.name === n)!;
        expect(rs.report(k.client, k.link), n).toBe('reachable');
      }
      expect(rs.lines.filter((l) => l.kind === 'down')).toEqual([]);
    }

    it('profile §6: a cut between A and B (both ways) is reported unreachable by both within the detection time', async () => {
      const t0 = Date.now();
      lan.cut('a', 'b');
      const ms = await timeToUnreachable(['A->B', 'B->A', 'A->B v6', 'B->A v6'], t0);
      process.stdout.write(
        `agent netns ${interval} ms x ${MULT}: cut both ways -> unreachable at the RS ${JSON.stringify(ms)} ms\n`,
      );
      for (const v of Object.values(ms)) expect(v).toBeLessThan(interval * MULT + 500);
      untouched();
    });

    it('profile §6: healed, both report reachable again', async () => {
      const t0 = Date.now();
      lan.heal('a', 'b');
      await rs.waitFor('reachable again', allReachable, 15_000);
      process.stdout.write(
        `agent netns ${interval} ms x ${MULT}: healed -> all reachable after ${Date.now() - t0} ms\n`,
      );
    });

    it('profile §6: a one-way cut (A to B dropped) is reported by both sides', async () => {
      const t0 = Date.now();
      nsExec(lan.switchNs, 'nft', [
        'add',
        'rule',
        'bridge',
        'ixcut',
        'cut',
        'iifname',
        a.port,
        'oifname',
        b.port,
        'drop',
      ]);
      const ms = await timeToUnreachable(['B->A', 'A->B', 'B->A v6', 'A->B v6'], t0);
      process.stdout.write(
        `agent netns ${interval} ms x ${MULT}: cut A->B only -> unreachable at the RS ${JSON.stringify(ms)} ms\n`,
      );
      // B stops hearing A: detection time. A hears B signal Down (§6.8.6) just after.
      expect(ms['B->A']!).toBeLessThan(interval * MULT + 500);
      untouched();
      lan.heal('a', 'b'); // flushes the chain
      await rs.waitFor('reachable again', allReachable, 15_000);
    });
  },
);
