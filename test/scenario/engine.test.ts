// The scenario engine (src/scenario/run.ts) against a World of its own: the
// seam loopback and netns mode plug into. A fake world whose clients see each
// other's prefixes unless their link is cut, with no change log of its own
// (as a real router read through its CLI): the engine infers the changes and
// their times from successive views, and its messages name what was seen.

import { describe, expect, it } from 'vitest';
import type { RibEntry } from '../../src/scenario/client.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { type ExpectationResult, ScenarioRun, type StepEvent } from '../../src/scenario/run.ts';
import type { LinkRef, Scenario } from '../../src/scenario/types.ts';
import type { AgentAction, ClientView, Clock, World } from '../../src/scenario/world.ts';

class FakeWorld implements World {
  readonly calls: string[] = [];
  private readonly cuts = new Set<string>();
  private readonly s: Scenario;
  private readonly clock: Clock;

  constructor(s: Scenario, clock: Clock) {
    this.s = s;
    this.clock = clock;
  }

  async setUp(): Promise<void> {
    this.calls.push('setUp');
  }

  async tearDown(): Promise<void> {
    this.calls.push('tearDown');
  }

  clientNames(): string[] {
    return this.s.clients.map((c) => c.name);
  }

  async observe(): Promise<Map<string, ClientView>> {
    const out = new Map<string, ClientView>();
    for (const x of this.s.clients) {
      const rib = new Map<string, RibEntry>();
      for (const y of this.s.clients) {
        if (y === x || this.cuts.has(`${x.name}>${y.name}`)) continue;
        for (const p of y.prefixes) rib.set(p, { nextHop: y.ipv4!, asPath: [y.asn] });
      }
      out.set(x.name, {
        rib,
        updates: null,
        changes: null,
        readAt: this.clock.now(),
        sessionsUp: true,
        agentChecks: '',
        agentSettled: true,
      });
    }
    return out;
  }

  async setLink(l: LinkRef, cut: boolean): Promise<void> {
    this.calls.push(`${cut ? 'cut' : 'heal'} ${l.a} ${l.b}`);
    for (const k of [`${l.a}>${l.b}`, `${l.b}>${l.a}`]) {
      if (cut) this.cuts.add(k);
      else this.cuts.delete(k);
    }
  }

  async agent(client: string, action: AgentAction): Promise<void> {
    this.calls.push(`agent ${client} ${action}`);
  }

  async routes(client: string, prefixes: string[], announce: boolean): Promise<void> {
    this.calls.push(`${announce ? 'announce' : 'withdraw'} ${client} ${prefixes.join(' ')}`);
  }

  async restartRouteServer(): Promise<void> {
    this.calls.push('restart');
  }

  addressOf(client: string, family: 'ipv4' | 'ipv6'): string | null {
    const c = this.s.clients.find((x) => x.name === client)!;
    return (family === 'ipv4' ? c.ipv4 : c.ipv6) ?? null;
  }

  ownerOf(nextHop: string): string {
    const c = this.s.clients.find((x) => x.ipv4 === nextHop);
    return c === undefined ? nextHop : `${c.name} (${nextHop})`;
  }
}

const SCENARIO = `name: fake
route_server: { asn: 64500 }
clients:
  - { name: A, asn: 64501, ipv4: 192.0.2.11, prefixes: [198.18.1.0/24], agent: true }
  - { name: B, asn: 64502, ipv4: 192.0.2.12, prefixes: [198.18.2.0/24] }
steps:
  - converge:
  - cut: [A, B]
  - expect:
      - { at: A, prefix: 198.18.2.0/24, absent: true }
  - agent: { client: A, action: pause }
  - restart_route_server:
  - heal: [A, B]
  - expect:
      - { at: A, prefix: 198.18.2.0/24, via: A }
    within: 0.2
`;

describe('the scenario engine drives a World', () => {
  it('plays the steps on the world, infers changes from its views, names what was seen', async () => {
    const s = parseScenario(SCENARIO, 'fake.yml');
    let world: FakeWorld | undefined;
    const steps: StepEvent[] = [];
    const results: ExpectationResult[] = [];
    const ok = await new ScenarioRun(
      s,
      {
        keepGoing: false,
        onStep: (e) => steps.push(e),
        onExpectation: (r) => results.push(r),
      },
      (sc, clock) => {
        world = new FakeWorld(sc, clock);
        return world;
      },
    ).run();
    expect(ok).toBe(false);
    expect(world!.calls).toEqual([
      'setUp',
      'cut A B',
      'agent A pause',
      'restart',
      'heal A B',
      'tearDown',
    ]);
    expect(steps.map((e) => `${e.step} ${e.text} ${e.ok}`)).toEqual([
      '1 converge true',
      '2 cut A <-> B true',
      '3 expect (within 10 s) true',
      '4 agent A pause true',
      '5 restart route server true',
      '6 heal A <-> B true',
      '7 expect (within 0.2 s) false',
    ]);
    const [absent, via] = results;
    expect(absent!.ok).toBe(true);
    // Inferred from the views: stamped when the read that showed it ended, after the cut.
    expect(absent!.timings).toHaveLength(1);
    expect(absent!.timings[0]!.sinceStep).toBe(2);
    expect(via!.message).toBe(
      'step 7 (line 14): at A: expected 198.18.2.0/24 via A within 0.2 s; saw 198.18.2.0/24 via B (192.0.2.12)',
    );
  });
});
