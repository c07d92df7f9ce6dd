// The NOC walk-through of docs/operations.md, run on a live `ixrs run` with
// simulated clients on loopback (src/bgp speakers at 127.0.0.6x): "X does not
// receive P from Y", diagnosed with `ixrs show` alone for four causes. With
// NOC_PRINT=1 the outputs are printed (that is how the doc's were made).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BgpPeer, BgpSpeaker, PeerDown } from '../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import type { Daemon } from '../../src/ops/daemon.ts';
import type { RibListResult, RoutesResult } from '../../src/ops/model.ts';
import { main as show } from '../../src/ops/show.ts';
import { announce, simClient, sleep, startLoopbackDaemon } from './lib/loopback.ts';

const CLIENTS = `clients:
  - asn: 64601
    ip: "127.0.0.61"
    description: "X"
  - asn: 64602
    ip: "127.0.0.62"
    description: "Y"
  - asn: 64603
    ip: "127.0.0.63"
    description: "Z"
  - asn: 64604
    ip: "127.0.0.64"
    description: "W"
    cfg:
      filtering:
        max_prefix: { action: "shutdown", limit_ipv4: 1 }
`;

describe('NOC walk-through: X does not receive P from Y (docs/operations.md)', () => {
  let daemon: Daemon;
  let dir: string;
  let sock: string;
  const speakers: BgpSpeaker[] = [];
  const peers = new Map<number, BgpPeer>();

  async function ixrs(...args: string[]): Promise<string> {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out += String(s);
      return true;
    });
    try {
      expect(await show([...args, '--socket', sock])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    if (process.env.NOC_PRINT) process.stdout.write(`$ ixrs show ${args.join(' ')}\n${out}\n`);
    return out;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ixrs-noc-'));
    sock = join(dir, 'ixrs.sock');
    daemon = await startLoopbackDaemon(CLIENTS, { controlSocket: sock });
    const port = daemon.addresses()[0]!.port;
    for (const asn of [64601, 64602, 64603, 64604]) {
      const ip = `127.0.0.${asn - 64540}`;
      const fsm = { idleHoldTime: 0.2, idleHoldMax: 1 };
      peers.set(asn, simClient(speakers, port, asn, ip, { fsm }));
    }
    await Promise.all([...peers.values()].map((p) => new Promise((r) => p.once('established', r))));
    const X = peers.get(64601)!;
    const got = new Set<string>();
    X.on('update', (u: UpdateMessage) => {
      for (const n of u.nlri) got.add(n.prefix);
    });
    const Y = peers.get(64602)!;
    const Z = peers.get(64603)!;
    const W = peers.get(64604)!;
    // Cause 1: Y announces P1 with an AS path that does not start with its ASN.
    Y.sendUpdate(announce('193.0.21.0/24', [64999], '127.0.0.62'));
    // Cause 2: Y and Z announce P2; Z's AS path is shorter.
    Y.sendUpdate(announce('193.0.22.0/24', [64602, 64610, 64611], '127.0.0.62'));
    Z.sendUpdate(announce('193.0.22.0/24', [64603], '127.0.0.63'));
    // Cause 3: W goes over its max-prefix limit (1) while announcing P3.
    const down = new Promise<PeerDown>((r) => W.once('down', r));
    W.sendUpdate(announce('193.0.24.0/24', [64604], '127.0.0.64'));
    W.sendUpdate(announce('193.0.23.0/24', [64604], '127.0.0.64'));
    await down;
    // Cause 4: nobody announces P4 (193.0.25.0/24).
    const end = Date.now() + 8000;
    while (!got.has('193.0.22.0/24')) {
      if (Date.now() > end) throw new Error('X never got P2');
      await sleep(20);
    }
    await sleep(300);
  }, 30_000);

  afterAll(async () => {
    await daemon?.stop('test over');
    for (const s of speakers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cause 1: P filtered at Y, with the arouteserver reject code and text', async () => {
    const t = await ixrs('routes', '193.0.21.0/24', '--client', '64601');
    expect(t).toMatch(/- +AS64602 +127\.0\.0\.62 +64999 .*rejected: .*\(\d+\)/);
    const f = await ixrs('routes', '--client', '64602', '--filtered');
    expect(f).toContain('193.0.21.0/24');
    const j = JSON.parse(await ixrs('routes', '193.0.21.1', '--json')) as RoutesResult;
    expect(j.match).toBe('longest');
    expect(j.routes[0]).toMatchObject({ prefix: '193.0.21.0/24', accepted: false });
    expect(j.routes[0]!.reasons[0]!.code).toBeGreaterThan(0);
  });

  it('cause 2: P not best for X: another client path wins', async () => {
    const t = await ixrs('routes', '193.0.22.0/24', '--client', '64601');
    expect(t).toMatch(/\*1 +AS64603 .*best for AS64601/);
    expect(t).toMatch(/ 2 +AS64602 .*not best for AS64601/);
    const rib = await ixrs('rib', '--client', '64601');
    expect(rib).toMatch(/193\.0\.22\.0\/24 +127\.0\.0\.61 +127\.0\.0\.63 +64603/);
    const j = JSON.parse(await ixrs('rib', '--client', '64601', '--json')) as RibListResult;
    expect(j.routes.map((r) => r.prefix)).toContain('193.0.22.0/24');
  });

  it('cause 3: the session from Y is down, with its last NOTIFICATION (RFC 4486 max-prefix)', async () => {
    const r = await ixrs('routes', '193.0.23.0/24', '--client', '64601');
    expect(r).toContain('no paths');
    const s = await ixrs('sessions');
    expect(s).toMatch(/AS64604 +64604 +127\.0\.0\.64 +(Idle|Active|Connect)/);
    const c = await ixrs('client', '64604');
    expect(c).toMatch(/max-prefix stop: +ipv4 limit 1/);
    expect(c).toMatch(/NOTIFICATION sent: +6\/1 /);
    expect(c).toMatch(/paths now: +0 \(accepted 0, rejected 0\)/);
  });

  it('cause 4: P never sent by Y: nothing received, session Established', async () => {
    const r = await ixrs('routes', '193.0.25.0/24');
    expect(r).toContain('no paths');
    const rec = await ixrs('routes', '--client', '64602', '--received');
    expect(rec).not.toContain('193.0.25.0/24');
    expect(rec).toContain('193.0.22.0/24');
    const c = await ixrs('client', '64602');
    expect(c).toMatch(/state: +Established/);
    expect(c).toMatch(/paths now: +2 \(accepted 1, rejected 1\)/);
  });
});
