// End to end: `ixrs demo` as a subprocess (route server + four simulated
// clients on loopback, then an RS-BFD cut with an agent beside each client),
// checked from its output.

import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLIENTS, type DemoOutcome, HIDDEN } from '../../src/ops/demo.ts';
import { type Finished, runIxrs } from './subprocess.ts';

const BOGON = '192.168.0.0/16';

/** What client `to` should receive for `prefix`: the best path among the other announcers it may get. */
function expectedFrom(prefix: string, toAsn: number): (typeof DEMO_CLIENTS)[number] | null {
  const offers = DEMO_CLIENTS.filter(
    (c) => c.asn !== toAsn && c.routes.some((r) => r.prefix === prefix),
  ).filter((c) => {
    const r = c.routes.find((x) => x.prefix === prefix)!;
    return !(r.communities ?? []).includes(`0:${toAsn}`);
  });
  offers.sort(
    (a, b) =>
      a.routes.find((r) => r.prefix === prefix)!.asPath.length -
      b.routes.find((r) => r.prefix === prefix)!.asPath.length,
  );
  return offers[0] ?? null;
}

describe('ixrs demo (subprocess)', () => {
  let json: Finished;
  let text: Finished;
  let o: DemoOutcome;

  beforeAll(async () => {
    [json, text] = await Promise.all([
      runIxrs('demo', ['--json'], 40_000),
      runIxrs('demo', [], 40_000),
    ]);
    o = JSON.parse(json.stdout) as DemoOutcome;
  }, 60_000);

  it('converges, shuts down cleanly and exits 0', () => {
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(text.code).toBe(0);
    expect(o.clients.map((c) => c.asn)).toEqual(DEMO_CLIENTS.map((c) => c.asn));
  });

  it('RFC 7947 §2.2: every client gets the others’ prefixes with the original next hop and AS path', () => {
    for (const to of DEMO_CLIENTS) {
      const got = new Map(
        o.clients.find((c) => c.asn === to.asn)!.received.map((r) => [r.prefix, r]),
      );
      for (const from of DEMO_CLIENTS) {
        if (from.asn === to.asn) continue;
        for (const r of from.routes) {
          if (r.prefix === BOGON) continue;
          const want = expectedFrom(r.prefix, to.asn);
          if (want !== from) continue; // another announcer wins for this client
          const rx = got.get(r.prefix);
          expect(rx, `AS${to.asn} should receive ${r.prefix} from AS${from.asn}`).toBeDefined();
          expect(rx!.nextHop).toBe(r.prefix.includes(':') ? from.nextHop6 : from.ip);
          expect(rx!.asPath).toBe(r.asPath.join(' '));
        }
      }
    }
  });

  it('no client receives its own prefixes', () => {
    for (const c of o.clients) {
      const def = DEMO_CLIENTS.find((d) => d.asn === c.asn)!;
      for (const r of c.received) {
        expect(r.asPath.split(' ')[0]).not.toBe(String(c.asn));
        expect([def.ip, def.nextHop6]).not.toContain(r.nextHop);
      }
      const onlyMine = def.routes
        .map((r) => r.prefix)
        .filter((p) =>
          DEMO_CLIENTS.every((d) => d === def || !d.routes.some((r) => r.prefix === p)),
        );
      for (const p of onlyMine) expect(c.received.map((r) => r.prefix)).not.toContain(p);
    }
  });

  it('RFC 7947 §2.3.2.1: the client the best path is hidden from gets the second best', () => {
    const hiddenFrom = o.clients.find((c) => c.asn === HIDDEN.client)!;
    const rx = hiddenFrom.received.find((r) => r.prefix === HIDDEN.prefix);
    expect(rx).toMatchObject({ nextHop: '127.0.0.12', asPath: '64502 64510' });
    // Everyone else gets the shorter path, the RS-addressed community removed.
    for (const c of o.clients.filter((x) => x.asn !== HIDDEN.client && x.asn !== 64501)) {
      expect(c.received.find((r) => r.prefix === HIDDEN.prefix)).toMatchObject({
        nextHop: '127.0.0.11',
        asPath: '64501',
        communities: [],
      });
    }
    expect(o.hidden).toEqual({
      prefix: HIDDEN.prefix,
      client: HIDDEN.client,
      overallBest: 'AS64501 (AS path 64501)',
      got: 'AS64502 (AS path 64502 64510)',
    });
  });

  it('the bogon is rejected with its reason and reaches nobody', () => {
    expect(o.rejected).toEqual([
      {
        prefix: BOGON,
        from: 'AS64504',
        fromAsn: 64504,
        reasons: [{ code: 2, text: 'Prefix is bogon' }],
      },
    ]);
    for (const c of o.clients) expect(c.received.map((r) => r.prefix)).not.toContain(BOGON);
  });

  it('other communities pass unchanged (transparency)', () => {
    const a = o.clients.find((c) => c.asn === 64501)!;
    expect(a.received.find((r) => r.prefix === '203.0.113.0/24')).toMatchObject({
      asPath: '64503 64503 64503',
      communities: ['64503:100', '64503:1:2'],
    });
  });

  it('text output: per-client tables, the rejection, the Cease each client got', () => {
    expect(text.stdout).toMatch(
      /^ixrs demo: route server AS64500 on 127\.0\.0\.1 port \d+, 4 clients/,
    );
    expect(text.stdout).toMatch(
      /AS64503 \(127\.0\.0\.13\) received 8 routes:\n {2}PREFIX +NEXT HOP +AS PATH +COMMUNITIES\n/,
    );
    expect(text.stdout).toMatch(/ {2}198\.51\.100\.0\/24 +127\.0\.0\.12 +64502 64510 +-\n/);
    expect(text.stdout).toContain('192.168.0.0/16 from AS64504: Prefix is bogon (reason 2)');
    expect(text.stdout).toContain('Path hiding mitigation:');
    for (const c of DEMO_CLIENTS) {
      expect(text.stdout).toContain(`AS${c.asn}: Cease 6/2 "ixrs demo finished"`);
    }
  });

  it('rs-bfd-profile §6: the cut hides AS64502’s next hop from AS64501 only; the shared prefix falls back to AS64504', () => {
    const c = o.rsBfd!;
    expect(c).not.toBeNull();
    expect(c.cut).toEqual({
      between: ['127.0.0.11', '127.0.0.12'],
      affected: 64501,
      other: 64502,
    });
    expect(c.agents).toEqual(DEMO_CLIENTS.map((d) => d.ip));
    // Before: what the convergence part showed for AS64501.
    const a = o.clients.find((x) => x.asn === 64501)!;
    expect(c.before).toEqual(
      a.received.map((r) => ({ prefix: r.prefix, nextHop: r.nextHop, asPath: r.asPath })),
    );
    expect(c.before.find((r) => r.prefix === '192.0.2.0/24')?.nextHop).toBe('127.0.0.12');
    // During: every IPv4 path via 127.0.0.12 gone or replaced.
    expect(c.vanished).toEqual(['198.18.2.0/24', '198.51.100.0/24']);
    expect(c.fellBack).toEqual([
      {
        prefix: '192.0.2.0/24',
        from: '127.0.0.12 (AS path 64502)',
        to: '127.0.0.14 (AS path 64504 64520)',
      },
    ]);
    expect(c.during.filter((r) => r.nextHop === '127.0.0.12')).toEqual([]);
    // The other way round: AS64502 loses what only AS64501 gives it.
    expect(c.otherVanished).toEqual(['198.18.1.0/24', '198.51.100.0/24']);
    // Nobody else hears of it.
    expect(c.othersUpdates).toEqual({ AS64503: 0, AS64504: 0 });
  });

  it('rs-bfd-profile §6: everything comes back after the heal; the times are within reason', () => {
    const c = o.rsBfd!;
    expect(c.recovered).toBe(true);
    expect(c.after).toEqual(c.before);
    const t = c.times;
    // Detection is 300 ms; generous bounds for a loaded machine.
    expect(t.cutToBfdDown).toBeGreaterThan(c.bfd.intervalMs);
    expect(t.cutToWithdraw).toBeGreaterThanOrEqual(t.cutToReport!);
    expect(t.cutToWithdraw).toBeLessThan(3000);
    expect(t.healToBack).toBeGreaterThanOrEqual(t.healToReport!);
    expect(t.healToBack).toBeLessThan(6000);
  });

  it('what the route server says during the cut: the NHIB and show routes --client', () => {
    const c = o.rsBfd!;
    const e = c.nhib!.entries.find((x) => x.nextHop === '127.0.0.12')!;
    expect(e).toMatchObject({ owner: 'AS64502', state: 'unreachable', hiddenPaths: 3 });
    for (const ip of ['127.0.0.13', '127.0.0.14']) {
      expect(c.nhib!.entries.find((x) => x.nextHop === ip)?.state).toBe('reachable');
    }
    const shared = c.routes.find((r) => r.prefix === '192.0.2.0/24')!;
    expect(shared.routes.find((r) => r.fromAsn === 64502)).toMatchObject({
      notSent: 'next-hop-unreachable',
    });
    expect(shared.routes.find((r) => r.fromAsn === 64504)).toMatchObject({ best: true });
    expect(text.stdout).toContain('skipped for AS64501: next hop unreachable (RS-BFD)');
    expect(text.stdout).toContain('AS64501 after the heal: the same routes as before the cut');
    expect(text.stdout).toMatch(/fell back \(was 127\.0\.0\.12 \(AS path 64502\)\)/);
  });
});
