// `ixrs agent` as a process (bin/ixrs.js), against the scripted route server
// and a BFD peer simulated by ixrs's own BFD manager, on loopback.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bgplsCodec } from '../../src/agent/bgpls-codec.ts';
import { AuthType } from '../../src/bfd/codec.ts';
import { BfdManager, type BfdStateEvent } from '../../src/bfd/manager.ts';
import { startAgent } from './lib/agent-proc.ts';
import { checkLink, type RsClient, ScriptedRs } from './lib/scripted-rs.ts';

const BIN = fileURLToPath(new URL('../../bin/ixrs.js', import.meta.url));
const BFD_PORT = 30000 + ((process.pid * 17 + 5) % 20000);
const RS = '127.0.76.1';
const A: RsClient = { address: '127.0.76.2', asn: 64502, routerId: '127.0.76.2' };
const B: RsClient = { address: '127.0.76.3', asn: 64503, routerId: '127.0.76.3' };

describe('ixrs agent, the process', () => {
  const rs = new ScriptedRs({ address: RS, asn: 64500, codec: bgplsCodec });
  const b = new BfdManager({
    local: B.address,
    port: BFD_PORT,
    intervalMs: 100,
    allow: ['127.0.76.0/24'],
  });
  const events: BfdStateEvent[] = [];
  b.subscribe((e) => events.push(e));
  let agent: ReturnType<typeof startAgent> | undefined;

  afterAll(async () => {
    agent?.kill();
    await b.close({ adminDown: false });
    await rs.stop();
  });

  it('profile §5: reports over BGP-LS, status over the control socket, SIGTERM sends AdminDown and a Cease', async () => {
    await rs.start();
    await b.start();
    rs.addClient(A);
    const ab = checkLink(A, B);
    rs.request(A.address, [ab]);
    agent = startAgent({
      args: [
        '--rs',
        RS,
        '--rs-port',
        String(rs.port),
        '--asn',
        String(A.asn),
        '--local',
        A.address,
        '--bfd-port',
        String(BFD_PORT),
        '--bfd-interval',
        '100',
        '--lan',
        '127.0.76.0/24',
      ],
    });
    await rs.waitFor(() => rs.report(A.address, ab) === 'reachable', 15_000, 'reachable');
    await agent.waitLine('report line', (l) => l.event === 'report' && l.state === 'reachable');
    const bfdLine = await agent.waitLine('bfd line', (l) => l.event === 'bfd' && l.state === 'Up');
    expect(bfdLine).toMatchObject({
      peer: B.address,
      asn: B.asn,
      previous: expect.any(String),
      diag: 'none',
    });

    const st = await agent.status();
    expect(st.sessions[0]).toMatchObject({ rs: RS, established: true, requestsReceived: 1 });
    expect(st.nextHops[0]).toMatchObject({
      nextHop: B.address,
      bfd: 'Up',
      verdict: 'reachable',
      reported: ['reachable'],
      detectMs: 300,
    });
    expect(st.timers).toEqual({
      bfdIntervalMs: 100,
      bfdMultiplier: 3,
      detectMs: 300,
      bringUpS: 10,
      holdDownS: 0,
    });

    // The text view, from the command.
    const text = await new Promise<string>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'agent', 'status', '--control', agent!.control]);
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('close', () => resolve(out));
    });
    expect(text).toMatch(/127\.0\.76\.3\s+AS64503\s+Up\s+300ms\s+reachable\s+reachable/);
    expect(text).toContain(`route server ${RS} (ipv4, from ${A.address}): Established`);

    const mark = rs.events.length;
    expect(await agent.stop()).toBe(0);
    await rs.waitFor(
      () => rs.events.slice(mark).some((e) => e.kind === 'down'),
      5000,
      'session down',
    );
    // §6.8.16: the peer heard AdminDown (it goes Down with diag 3, not by timeout).
    const down = events.find((e) => e.state === 'Down' && e.previous === 'Up');
    expect(down).toMatchObject({
      diag: 'neighbor-signaled-session-down',
      remoteState: 'AdminDown',
    });
  });

  it('RFC 5880 §6.7: --auth reaches the BFD thread (the right key comes Up, a wrong one is reported unreachable after the bring-up timeout)', async () => {
    const C: RsClient = { address: '127.0.76.4', asn: 64504, routerId: '127.0.76.4' };
    const D: RsClient = { address: '127.0.76.5', asn: 64505, routerId: '127.0.76.5' };
    const auth = (k: string) => ({
      type: AuthType.MeticulousKeyedSHA1,
      keyId: 7,
      secret: new TextEncoder().encode(k),
    });
    const port = BFD_PORT + 1;
    const right = new BfdManager({
      local: B.address,
      port,
      intervalMs: 100,
      auth: auth('agent-secret'),
      allow: ['127.0.76.0/24'],
    });
    const wrong = new BfdManager({
      local: D.address,
      port,
      intervalMs: 100,
      auth: auth('other-secret'),
      allow: ['127.0.76.0/24'],
    });
    await right.start();
    await wrong.start();
    rs.addClient(C);
    const good = checkLink(C, B);
    const bad = checkLink(C, D);
    rs.request(C.address, [good, bad]);
    const ag = startAgent({
      args: [
        '--rs',
        RS,
        '--rs-port',
        String(rs.port),
        '--asn',
        String(C.asn),
        '--local',
        C.address,
        '--bfd-port',
        String(port),
        '--bfd-interval',
        '100',
        '--bring-up-timeout',
        '2',
        '--auth',
        'meticulous-keyed-sha1',
        '--key-id',
        '7',
        '--key-env',
        'AGENT_KEY',
        '--lan',
        '127.0.76.0/24',
      ],
      env: { AGENT_KEY: 'agent-secret' },
    });
    try {
      await rs.waitFor(
        () =>
          rs.report(C.address, good) === 'reachable' && rs.report(C.address, bad) === 'unreachable',
        15_000,
        'reachable with the right key, unreachable with the wrong one',
      );
      expect(wrong.stats.rejected.auth ?? 0).toBeGreaterThan(0);
    } finally {
      await ag.stop();
      await right.close({ adminDown: false });
      await wrong.close({ adminDown: false });
    }
  });
});
