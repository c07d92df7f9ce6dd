// RS-BFD on /metrics: NHIB entries by state, paths hidden, report counters,
// the report-to-UPDATE latency histogram (rs-bfd-profile §5.3: a report
// changes what the client is sent), on loopback with a scripted agent.

import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/ops/daemon.ts';
import { startLoopbackDaemon } from './lib/loopback.ts';
import { RsBfdSim, until } from './lib/rsbfd-sim.ts';
import { sample } from './prom.ts';

const CLIENTS = `clients:
  - { asn: 64501, ip: "127.0.0.21" }
  - { asn: 64502, ip: "127.0.0.22" }
`;

describe('HTTP /metrics: NHIB and RS-BFD (rs-bfd-profile §5.3, §7)', () => {
  let daemon: Daemon | null = null;
  let sim: RsBfdSim | null = null;
  afterEach(async () => {
    await daemon?.stop('test over');
    daemon = null;
    await sim?.stop();
    sim = null;
  });

  it('§5.3: a report of B unreachable shows as an unreachable entry hiding two paths, counted and timed', async () => {
    daemon = await startLoopbackDaemon(CLIENTS, {
      http: { listen: '127.0.0.1', port: 0, maxConnections: 8 },
    });
    const base = `http://127.0.0.1:${daemon.http!.address().port}`;
    const scrape = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
    sim = new RsBfdSim(daemon.addresses()[0]!.port);
    const A = sim.client('127.0.0.21', 64501);
    const B = sim.client('127.0.0.22', 64502);
    for (const c of [A, B]) await until('sessions', () => c.peer.state === 'Established');
    B.announce(['193.0.0.0/24', '193.0.1.0/24']);
    await until('A has both', () => A.rib.size === 2);
    const agA = sim.agent('127.0.0.21', 64501);
    sim.agent('127.0.0.22', 64502);
    await until('A is asked about B', () => agA.requested.has('127.0.0.22'));

    const a = { client: 'AS64501' };
    let t = await scrape();
    expect(sample(t, 'ixrs_nhib_entries', { ...a, state: 'unknown' })).toBe(1);
    expect(sample(t, 'ixrs_nhib_session_up', a)).toBe(1);
    expect(sample(t, 'ixrs_rsbfd_channels', {})).toBe(2);
    expect(sample(t, 'ixrs_rsbfd_report_to_update_seconds_count', {})).toBe(0);

    agA.report('127.0.0.22', 'unreachable');
    await until('A loses both', () => A.rib.size === 0);
    await daemon.core.idle();
    t = await scrape();
    expect(sample(t, 'ixrs_nhib_entries', { ...a, state: 'unreachable' })).toBe(1);
    expect(sample(t, 'ixrs_nhib_entries', { ...a, state: 'unknown' })).toBe(0);
    expect(sample(t, 'ixrs_nhib_unreachable', a)).toBe(1);
    expect(sample(t, 'ixrs_nhib_hidden_paths', a)).toBe(2);
    expect(sample(t, 'ixrs_nhib_hidden_paths', { client: 'AS64502' })).toBe(0);
    expect(sample(t, 'ixrs_nhib_reports_total', a)).toBe(1);
    expect(sample(t, 'ixrs_nhib_flaps_total', a)).toBe(1);
    expect(sample(t, 'ixrs_nhib_damped', a)).toBe(0);
    expect(sample(t, 'ixrs_nhib_reports_dropped_total', { ...a, reason: 'spoofed' })).toBe(0);
    expect(sample(t, 'ixrs_rsbfd_reports_total', {})).toBe(1);
    expect(sample(t, 'ixrs_rsbfd_report_to_update_seconds_count', {})).toBe(1);
    const within1s = sample(t, 'ixrs_rsbfd_report_to_update_seconds_bucket', { le: '1' });
    expect(within1s).toBe(1);

    await agA.peer.stop(); // fail open (§7)
    await until('A gets both back', () => A.rib.size === 2);
    t = await scrape();
    expect(sample(t, 'ixrs_nhib_session_up', a)).toBe(0);
    expect(sample(t, 'ixrs_nhib_hidden_paths', a)).toBe(0);
    expect(sample(t, 'ixrs_nhib_session_losses_total', a)).toBe(1);
  });
});
