// `ixrs scenario run --mode netns` (root, real daemons; the interop project):
// announce and withdraw through each real daemon's own CLI (GoBGP, OpenBGPD,
// BIRD, FRR) and a builtin client, an agent paused (SIGSTOP) and resumed;
// IPv6 sessions and next hops with every daemon kind and a cut; and
// SIGINT mid-scenario, after which no namespace, process or nftables rule of
// the run is left. The shipped scenarios in netns mode: `npm run
// scenarios:netns` (.ci/run).

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requirePrograms } from '../../src/lab/netns.ts';
import { finished, ROOT, spawnScenario } from './run-lib.ts';

requirePrograms('ip', 'nft', 'bird', 'birdc', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra', 'vtysh');
requirePrograms('gobgpd', 'gobgp', 'bgpd', 'bgpctl');

const dir = mkdtempSync(join(tmpdir(), 'ixrs-scn-netns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Each client announces (or withdraws) 198.18.1N.0/24, then E must see
 * A-D's and A E's: `what(owner)` is the expectation's end.
 */
function roundTrip(step: 'announce' | 'withdraw', what: (c: string) => string): string {
  const names = ['A', 'B', 'C', 'D', 'E'];
  const p = (i: number) => `198.18.1${i + 1}.0/24`;
  return [
    ...names.map((c, i) => `  - ${step}: { client: ${c}, prefixes: [${p(i)}] }`),
    '  - expect:',
    ...names.map((c, i) => `      - { at: ${c === 'E' ? 'A' : 'E'}, prefix: ${p(i)}, ${what(c)} }`),
  ].join('\n');
}

const ROUTES = `name: announce, withdraw and a paused agent with real daemons
modes: [netns]
route_server: { asn: 64500 }
clients:
  - { name: A, kind: gobgp, asn: 64501, ipv4: 192.0.2.11, prefixes: [198.18.1.0/24], agent: true }
  - { name: B, kind: openbgpd, asn: 64502, ipv4: 192.0.2.12, prefixes: [198.18.2.0/24], agent: true }
  - { name: C, kind: bird, asn: 64503, ipv4: 192.0.2.13, prefixes: [198.18.3.0/24], agent: true }
  - { name: D, kind: frr, asn: 64504, ipv4: 192.0.2.14, prefixes: [198.18.4.0/24], agent: true }
  - { name: E, asn: 64505, ipv4: 192.0.2.15, prefixes: [198.18.5.0/24], agent: true }
steps:
  - converge:
  - expect:
      - { at: [B, C, D, E], prefix: 198.18.1.0/24, via: A }
      - { at: A, prefix: 198.18.2.0/24, via: B }
      - { at: A, prefix: 198.18.3.0/24, via: C }
      - { at: A, prefix: 198.18.4.0/24, via: D }
      - { at: A, prefix: 198.18.5.0/24, via: E }
${roundTrip('announce', (c) => `via: ${c}`)}
${roundTrip('withdraw', () => 'absent: true')}
  - agent: { client: A, action: pause }
  - expect:
      - { at: [B, C, D, E], prefix: 198.18.1.0/24, absent: true }
      - { at: B, prefix: 198.18.5.0/24, via: E }
    within: 5
  - agent: { client: A, action: resume }
  - expect:
      - { at: [B, C, D, E], prefix: 198.18.1.0/24, via: A }
      - { sessions_up: true }
    within: 15
`;

const IPV6 = `name: IPv6 with real daemons
modes: [netns]
route_server: { asn: 64500 }
clients:
  - { name: A, kind: bird, asn: 64501, ipv4: 192.0.2.11, ipv6: "2001:db8::11", prefixes: [198.18.1.0/24, "2001:db8:a::/48"], agent: true }
  - { name: B, kind: frr, asn: 64502, ipv4: 192.0.2.12, ipv6: "2001:db8::12", prefixes: [198.18.2.0/24, "2001:db8:b::/48"], agent: true }
  - { name: C, kind: gobgp, asn: 64503, ipv4: 192.0.2.13, ipv6: "2001:db8::13", prefixes: ["2001:db8:c::/48"], agent: true }
  - { name: D, kind: openbgpd, asn: 64504, ipv4: 192.0.2.14, ipv6: "2001:db8::14", prefixes: ["2001:db8:d::/48"], agent: true }
  - { name: E, asn: 64505, ipv4: 192.0.2.15, ipv6: "2001:db8::15", prefixes: ["2001:db8:e::/48"], agent: true }
steps:
  - converge:
  - expect:
      - { at: [B, C, D, E], prefix: "2001:db8:a::/48", via: A }
      - { at: [A, C, D, E], prefix: "2001:db8:b::/48", via: B }
      - { at: [A, B, D, E], prefix: "2001:db8:c::/48", via: C }
      - { at: [A, B, C, E], prefix: "2001:db8:d::/48", via: D }
      - { at: [A, B, C, D], prefix: "2001:db8:e::/48", via: E }
  - cut: [A, B]
  - expect:
      - { at: A, prefix: "2001:db8:b::/48", absent: true }
      - { at: B, prefix: "2001:db8:a::/48", absent: true }
      - { at: A, prefix: 198.18.2.0/24, absent: true }
    within: 5
  - heal: [A, B]
  - expect:
      - { at: A, prefix: "2001:db8:b::/48", via: B }
    within: 10
`;

/** Namespaces whose name carries tag. */
function namespaces(tag: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.includes(tag));
}

describe('ixrs scenario run --mode netns', () => {
  it('announce/withdraw through GoBGP, OpenBGPD, BIRD, FRR and a builtin client; a paused agent', async () => {
    const file = join(dir, 'routes.yml');
    writeFileSync(file, ROUTES);
    const r = await finished(spawnScenario(['run', '--mode', 'netns', file]));
    expect(r.stdout, r.stderr).toMatch(/\n(\d+) passed, 0 failed\n$/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('step 7 announce E 198.18.15.0/24: ok');
  }, 120_000);

  it('IPv6 sessions and next hops with BIRD, FRR, GoBGP, OpenBGPD and a builtin client; a cut', async () => {
    const file = join(dir, 'ipv6.yml');
    writeFileSync(file, IPV6);
    const r = await finished(spawnScenario(['run', '--mode', 'netns', file]));
    expect(r.stdout, r.stderr).toMatch(/\n24 passed, 0 failed\n$/);
    expect(r.code).toBe(0);
  }, 120_000);

  it('SIGINT mid-scenario: exit 130; no namespace, process or nftables rule of the run left', async () => {
    const child = spawnScenario([
      'run',
      '--mode',
      'netns',
      `${ROOT}fixtures/scenarios/real-routers.yml`,
    ]);
    const done = finished(child);
    const tag = `ixs-${child.pid}`;
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('step 1 converge')) resolve();
      });
    });
    // Mid-scenario: every namespace, daemon, agent and the cut table exist.
    const nss = namespaces(tag);
    expect(nss.length).toBe(6); // switch, route server, four clients
    const sw = nss.find((n) => n.endsWith('-sw'))!;
    expect(
      execFileSync('ip', ['netns', 'exec', sw, 'nft', 'list', 'ruleset'], { encoding: 'utf8' }),
    ).toContain('table bridge ixcut');
    const ps = () =>
      spawnSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((l) => l.includes(tag));
    expect(ps().length).toBeGreaterThan(0);
    // Every process living in the run's namespaces, daemons' forked children included.
    const pids = nss.flatMap((ns) =>
      execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number),
    );
    expect(pids.length).toBeGreaterThanOrEqual(10); // ixrs run, 3 daemons (+zebra), 4 agents, 1 client
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toContain('interrupted: tearing down');
    expect(namespaces(tag)).toEqual([]);
    expect(ps()).toEqual([]);
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
    for (const ns of nss) {
      const nft = spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'], {
        encoding: 'utf8',
      });
      expect(nft.status, `${ns} still holds nftables rules: ${nft.stdout}`).not.toBe(0);
    }
    expect(() => process.kill(child.pid!, 0)).toThrow();
  }, 120_000);
});
