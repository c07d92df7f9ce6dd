// End to end on loopback, no root: a scripted RS-BFD route server and two
// agents (127.0.77.2 and 127.0.77.3) that check each other with BFD at
// 100 ms x 3 and report over BGP-LS.

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.ts';
import { bgplsCodec } from '../../src/agent/bgpls-codec.ts';
import type { CheckLink } from '../../src/agent/core.ts';
import { checkLink, type RsClient, ScriptedRs } from './lib/scripted-rs.ts';

const BFD_PORT = 30000 + ((process.pid * 13) % 20000);
const RS = '127.0.77.1';
const A: RsClient = { address: '127.0.77.2', asn: 64502, routerId: '127.0.77.2' };
const B: RsClient = { address: '127.0.77.3', asn: 64503, routerId: '127.0.77.3' };
const INTERVAL = 100;
const MULT = 3;

function makeAgent(c: RsClient, rsPort: number, lines: string[]): Agent {
  return new Agent({
    asn: c.asn,
    local: c.address,
    rs: RS,
    rsPort,
    lan: ['127.0.77.0/24'],
    bfdPort: BFD_PORT,
    bfdIntervalMs: INTERVAL,
    bfdMultiplier: MULT,
    bringUpMs: 3000,
    connectRetryS: 1,
    codec: bgplsCodec,
    out: (l) => lines.push(l),
    logger: pino({ level: process.env.IXRS_TEST_LOG ?? 'silent' }),
    lowerMainPriority: false,
  });
}

describe('ixrs agent end to end on loopback (profile §5-§7)', () => {
  const rs = new ScriptedRs({ address: RS, asn: 64500, codec: bgplsCodec });
  const linesA: string[] = [];
  const linesB: string[] = [];
  let a: Agent;
  let b: Agent;
  const ab: CheckLink = checkLink(A, B);
  const ba: CheckLink = checkLink(B, A);

  beforeAll(async () => {
    await rs.start();
    rs.addClient(A);
    rs.addClient(B);
    a = makeAgent(A, rs.port, linesA);
    b = makeAgent(B, rs.port, linesB);
    await a.start();
    await b.start();
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await rs.stop();
  });

  it('profile §3, §5.1-5.3: requests arrive, BFD comes Up, reachable is reported, then End-of-RIB', async () => {
    await rs.waitFor(
      () => rs.established(A.address) && rs.established(B.address),
      10_000,
      'sessions',
    );
    // Initial End-of-RIB from each agent after its (empty) initial reports.
    await rs.waitFor(
      () => rs.events.filter((e) => e.kind === 'end-of-rib').length >= 2,
      5000,
      'End-of-RIB',
    );
    rs.request(A.address, [ab]);
    rs.request(B.address, [ba]);
    await rs.waitFor(
      () => rs.report(A.address, ab) === 'reachable' && rs.report(B.address, ba) === 'reachable',
      5000,
      'reachable reports',
    );
    const st = a.status();
    expect(st.sessions[0]).toMatchObject({
      channel: 'ipv4',
      established: true,
      notConnected: null,
    });
    expect(st.nextHops[0]).toMatchObject({
      nextHop: B.address,
      asns: [B.asn],
      bfd: 'Up',
      verdict: 'reachable',
      reported: ['reachable'],
    });
    expect(
      linesA.some((l) => l.includes(`bfd ${B.address} AS${B.asn}`) && l.includes('-> Up')),
    ).toBe(true);
  });

  it('BFD runs in its own thread: a main thread busy for 4 detection times causes no Down', async () => {
    const downsBefore =
      linesA.filter((l) => l.includes('-> Down')).length +
      linesB.filter((l) => l.includes('-> Down')).length;
    // Both agents' main threads (this one) blocked, as by a burst of BGP-LS work.
    const until = performance.now() + 4 * INTERVAL * MULT;
    while (performance.now() < until) {
      // busy
    }
    await new Promise((r) => setTimeout(r, 2 * INTERVAL * MULT));
    const downsAfter =
      linesA.filter((l) => l.includes('-> Down')).length +
      linesB.filter((l) => l.includes('-> Down')).length;
    expect(downsAfter).toBe(downsBefore);
    expect(rs.report(A.address, ab)).toBe('reachable');
    const s = await a.bfdStats();
    expect(s?.packetsIn).toBeGreaterThan(0);
  });

  it('profile §6: when the peer stops answering, unreachable is reported within the detection time', async () => {
    const t0 = performance.now();
    await b.killBfd(); // no AdminDown: as if B's BFD had died
    await rs.waitFor(() => rs.report(A.address, ab) === 'unreachable', 5000, 'unreachable');
    const ev = rs.events.find(
      (e) => e.kind === 'report' && e.state === 'unreachable' && e.at >= t0,
    );
    const ms = ev!.at - t0;
    // Detection time (300 ms) plus scheduling; never much more.
    expect(ms).toBeLessThan(INTERVAL * MULT + 700);
    expect(ms).toBeGreaterThan(INTERVAL * (MULT - 1));
    expect(linesA.some((l) => l.includes('control-detection-time-expired'))).toBe(true);
    process.stdout.write(
      `agent e2e: unreachable reported ${ms.toFixed(0)} ms after B's BFD died\n`,
    );
  });

  it('profile §5.3: a withdrawn request withdraws its report', async () => {
    rs.withdraw(A.address, [ab]);
    await rs.waitFor(() => rs.report(A.address, ab) === undefined, 3000, 'withdraw');
    expect(rs.events.at(-1)).toMatchObject({ kind: 'withdraw', client: A.address });
    expect(a.core.size).toBe(0);
  });

  it('profile §7: after the RS session drops and comes back, everything is reported again, then End-of-RIB', async () => {
    // A checks B again (B is silent now: reported unreachable after bring-up).
    rs.request(A.address, [ab]);
    await rs.waitFor(
      () => rs.report(A.address, ab) === 'unreachable',
      12_000, // the 3 s bring-up timeout, with room for a loaded machine
      'unreachable after bring-up',
    );
    const mark = rs.events.length;
    rs.bounce(A.address);
    await rs.waitFor(
      () => rs.events.slice(mark).some((e) => e.client === A.address && e.kind === 'end-of-rib'),
      15_000,
      'End-of-RIB after reconnect',
    );
    const after = rs.events.slice(mark).filter((e) => e.client === A.address);
    const kinds = after.map((e) => e.kind);
    expect(kinds).toContain('down');
    expect(kinds).toContain('established');
    const rep = after.findIndex((e) => e.kind === 'report' && e.state === 'unreachable');
    const eor = after.findIndex((e) => e.kind === 'end-of-rib');
    expect(rep).toBeGreaterThan(-1);
    expect(rep).toBeLessThan(eor);
    expect(rs.report(A.address, ab)).toBe('unreachable');
  });

  it('profile §6: AdminDown from a stopping agent withdraws the report (maintenance)', async () => {
    // B back with fresh BFD: A sees B Up, then B stops cleanly.
    await b.stop();
    b = makeAgent(B, rs.port, linesB);
    await b.start();
    await rs.waitFor(() => rs.report(A.address, ab) === 'reachable', 5000, 'reachable again');
    await b.stop();
    await rs.waitFor(() => rs.report(A.address, ab) === undefined, 3000, 'withdraw on AdminDown');
    expect(a.status().nextHops[0]).toMatchObject({ verdict: 'maintenance' });
  });
});
