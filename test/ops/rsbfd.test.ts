// RS-BFD end to end in `ixrs run`'s wiring, on loopback: simulated clients
// (routing sessions) and, beside some of them, a scripted agent (a BGP-LS-only
// session from the client's address, rs-bfd-profile §3) that receives the
// requests and sends reports (test/ops/lib/rsbfd-sim.ts).

import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/bgp/codec.ts';
import type { Daemon } from '../../src/ops/daemon.ts';
import { startLoopbackDaemon } from './lib/loopback.ts';
import { announce, RsBfdSim, sleep, until } from './lib/rsbfd-sim.ts';

const CLIENTS = `clients:
  - { asn: 64501, ip: "127.0.0.11" }
  - { asn: 64502, ip: "127.0.0.12" }
  - { asn: 64503, ip: "127.0.0.13" }
`;
const P = '193.0.0.0/21'; // B (best) and C
const Q = '193.0.8.0/24'; // B only

describe('RS-BFD in ixrs run (rs-bfd-profile §3-7)', () => {
  let daemon: Daemon | null = null;
  let sim: RsBfdSim | null = null;

  afterEach(async () => {
    await daemon?.stop('test over');
    daemon = null;
    await sim?.stop();
    sim = null;
  });

  it('§5: A reports B unreachable: A loses B-only prefixes and falls back to C for a shared one; B and C see nothing; all back on withdraw and on agent loss', async () => {
    daemon = await startLoopbackDaemon(CLIENTS);
    sim = new RsBfdSim(daemon.addresses()[0]!.port);
    const A = sim.client('127.0.0.11', 64501);
    const B = sim.client('127.0.0.12', 64502);
    const C = sim.client('127.0.0.13', 64503);
    for (const c of [A, B, C]) await until('sessions', () => c.peer.state === 'Established');
    B.peer.sendRaw(
      encodeMessage(announce([P, Q], [64502], '127.0.0.12'), B.peer.negotiated!.codec),
    );
    C.peer.sendRaw(
      encodeMessage(announce([P], [64503, 64999], '127.0.0.13'), C.peer.negotiated!.codec),
    );
    await until('A has P and Q via B', () => A.rib.get(P) === 64502 && A.rib.get(Q) === 64502);

    const agA = sim.agent('127.0.0.11', 64501);
    const agB = sim.agent('127.0.0.12', 64502);
    await until('A is asked about B', () => agA.requested.has('127.0.0.12'));
    expect(agA.endOfRib).toBe(1);
    expect(agA.requested.get('127.0.0.12')).toMatchObject({
      local: { asn: 64501, routerId: '127.0.0.11' },
      remote: { asn: 64502, routerId: '127.0.0.12' },
      localAddress: '127.0.0.11',
    });
    // C runs no agent: nobody is asked about C's next hop.
    expect([...agA.requested.keys()]).toEqual(['127.0.0.12']);
    expect(daemon.rsbfd.requested('AS64501')).toEqual(['127.0.0.12']);
    // Every session stays up beside the reachability sessions.
    expect([A, B, C].map((c) => c.peer.state)).toEqual([
      'Established',
      'Established',
      'Established',
    ]);

    const bBefore = B.updates;
    const cBefore = C.updates;
    agA.report('127.0.0.12', 'unreachable');
    await until('A falls back', () => A.rib.get(P) === 64503 && !A.rib.has(Q));
    expect(daemon.nhib.stateOf('AS64501', '127.0.0.12')).toBe('unreachable');
    expect(daemon.core.hiddenPaths('AS64501', '127.0.0.12')).toBe(2);
    await sleep(100);
    expect([B.updates, C.updates]).toEqual([bBefore, cBefore]);

    agA.report('127.0.0.12', null); // withdrawn: no opinion
    await until('A gets B back', () => A.rib.get(P) === 64502 && A.rib.get(Q) === 64502);

    agA.report('127.0.0.12', 'unreachable');
    await until('A loses Q again', () => !A.rib.has(Q));
    await agA.peer.stop(); // the agent goes away: fail open (§7)
    await until(
      'A gets B back after agent loss',
      () => A.rib.get(Q) === 64502 && A.rib.get(P) === 64502,
    );
    expect(daemon.nhib.stateOf('AS64501', '127.0.0.12')).toBe('unknown');
    // B's agent going away removes the reason to ask about B.
    await agB.peer.stop();
    expect([A, B, C].map((c) => c.peer.state)).toEqual([
      'Established',
      'Established',
      'Established',
    ]);
  });
});
