// `ixrs session enable|disable|reset|refresh C` and control socket access
// (issue #16 "A NOC's toolkit"): a reset touches only C, a max-prefix stop is
// cleared without a restart, state changes only on the owner's admin socket.

import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BgpPeer, BgpSpeaker, PeerConfig, PeerDown } from '../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import {
  adminSocketPath,
  ControlError,
  ControlSocketError,
  controlRequest,
  type SessionActionResult,
} from '../../src/ops/control.ts';
import { type Daemon, startDaemon } from '../../src/ops/daemon.ts';
import { renderSessionStatus } from '../../src/ops/show.ts';
import {
  announce,
  GENERAL,
  silent,
  simClient,
  sleep,
  startLoopbackDaemon,
  until,
} from './lib/loopback.ts';
import { ixrsArgv, NODE } from './subprocess.ts';

describe('ixrs session (admin socket)', () => {
  let daemon: Daemon | null = null;
  let dir: string;
  let sock: string;
  const speakers: BgpSpeaker[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ixrs-session-'));
    sock = join(dir, 'ixrs.sock');
  });
  afterEach(async () => {
    await daemon?.stop('test over');
    daemon = null;
    for (const s of speakers.splice(0)) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(clients: string, general = GENERAL): Promise<number> {
    daemon = await startLoopbackDaemon(clients, { general, controlSocket: sock });
    return daemon.addresses()[0]!.port;
  }

  function sim(asn: number, ip: string, port: number, extra: Partial<PeerConfig> = {}): BgpPeer {
    return simClient(speakers, port, asn, ip, {
      fsm: { idleHoldTime: 0.2, idleHoldMax: 1 },
      ...extra,
    });
  }

  const established = (p: BgpPeer): Promise<unknown> =>
    p.state === 'Established' ? Promise.resolve() : new Promise((r) => p.once('established', r));

  function session(action: string, client: string, message?: string) {
    return controlRequest(adminSocketPath(sock), {
      cmd: 'session',
      action: action as 'reset',
      client,
      ...(message !== undefined ? { message } : {}),
    }) as Promise<SessionActionResult>;
  }

  const CLIENTS = `clients:
  - asn: 64601
    ip: "127.0.0.61"
  - asn: 64602
    ip: "127.0.0.62"
  - asn: 64603
    ip: "127.0.0.63"
`;

  it('RFC 9003: reset C sends Cease 6/4 with the message to C only; C comes back, the others see no UPDATE', async () => {
    const port = await start(CLIENTS);
    const a = sim(64601, '127.0.0.61', port);
    const b = sim(64602, '127.0.0.62', port);
    const c = sim(64603, '127.0.0.63', port);
    await Promise.all([established(a), established(b), established(c)]);
    const cGot = new Set<string>();
    c.on('update', (u: UpdateMessage) => {
      for (const n of u.nlri) cGot.add(n.prefix);
    });
    a.sendUpdate(announce('193.0.10.0/24', 64601, '127.0.0.61'));
    await until(() => cGot.has('193.0.10.0/24'));
    await sleep(200);
    const seen = { a: 0, b: 0 };
    a.on('update', () => seen.a++);
    b.on('update', () => seen.b++);
    let aDown = false;
    a.on('down', () => {
      aDown = true;
    });
    const cDown = new Promise<PeerDown>((r) => c.once('down', r));
    cGot.clear();
    const r = await session('reset', 'AS64603', 'maintenance of AS64603, back in a minute');
    expect(r.sessions).toEqual([
      {
        address: '127.0.0.63',
        done: 'sent Cease 6/4 (Administrative Reset), restarted',
        bgpState: expect.any(String),
      },
    ]);
    const d = await cDown;
    expect(d.received).toMatchObject({
      code: 6,
      subcode: 4,
      shutdownMessage: 'maintenance of AS64603, back in a minute',
    });
    await established(c);
    await until(() => cGot.has('193.0.10.0/24')); // C gets its routes again
    const st = (await controlRequest(sock, { cmd: 'client', client: 'AS64603' })).status![0]!;
    expect(st.negotiated).toMatchObject({ holdTime: 90, families: ['1/1'], as4: true });
    expect(st.lastDown!.sent).toBe(
      '6/4 (Cease / Administrative Reset): "maintenance of AS64603, back in a minute"',
    );
    await sleep(500);
    expect(seen).toEqual({ a: 0, b: 0 });
    expect(aDown).toBe(false);
    expect(daemon!.bgpState('127.0.0.61')).toBe('Established');
  });

  it('RFC 9003: disable sends Cease 6/2 with the message and keeps C down; enable brings it back', async () => {
    const port = await start(CLIENTS);
    const c = sim(64603, '127.0.0.63', port);
    await established(c);
    const down = new Promise<PeerDown>((r) => c.once('down', r));
    const r = await session('disable', '127.0.0.63', 'moved to the new port');
    expect(r.sessions[0]!.done).toBe('sent Cease 6/2 (Administrative Shutdown), disabled');
    expect((await down).received).toMatchObject({
      code: 6,
      subcode: 2,
      shutdownMessage: 'moved to the new port',
    });
    await sleep(1500); // C keeps trying: refused while disabled
    expect(daemon!.bgpState('127.0.0.63')).toBe('Idle');
    expect(c.state).not.toBe('Established');
    // ixrs show client: why it is not Established.
    const info = await controlRequest(sock, { cmd: 'client', client: 'AS64603' });
    expect(info.status).toEqual([
      expect.objectContaining({
        address: '127.0.0.63',
        bgpState: 'Idle',
        admin: 'disabled',
        lastDown: expect.objectContaining({
          sent: '6/2 (Cease / Administrative Shutdown): "moved to the new port"',
          received: null,
        }),
        negotiated: null,
      }),
    ]);
    const text = renderSessionStatus(info.status!);
    expect(text).toMatch(/\n {2}state: +Idle, disabled\n/);
    expect(text).toMatch(
      /NOTIFICATION sent: +6\/2 \(Cease \/ Administrative Shutdown\): "moved to the new port"/,
    );
    expect((await session('enable', '64603')).sessions[0]!.done).toBe('started');
    await established(c);
  });

  it('RFC 4486 §4: a max-prefix stop (action shutdown) is cleared with enable, without restarting ixrs', async () => {
    const port = await start(`clients:
  - asn: 64611
    ip: "127.0.0.71"
    cfg:
      filtering:
        max_prefix: { action: "shutdown", limit_ipv4: 1 }
`);
    const p = sim(64611, '127.0.0.71', port);
    await established(p);
    const down = new Promise<PeerDown>((r) => p.once('down', r));
    p.sendUpdate(announce('193.0.10.0/24', 64611, '127.0.0.71'));
    p.sendUpdate(announce('193.0.11.0/24', 64611, '127.0.0.71'));
    expect((await down).received).toMatchObject({ code: 6, subcode: 1 });
    await sleep(1500);
    expect(daemon!.bgpState('127.0.0.71')).toBe('Idle');
    const info = await controlRequest(sock, { cmd: 'client', client: 'AS64611' });
    expect(info.status![0]).toMatchObject({
      admin: 'max-prefix stop',
      maxPrefixStop: { afi: 1, limit: 1, restartAt: null },
    });
    expect(info.status![0]!.lastDown!.sent).toMatch(/^6\/1 /);
    expect(renderSessionStatus(info.status!)).toMatch(
      /max-prefix stop: +ipv4 limit 1, since \S+, until 'ixrs session enable'/,
    );
    const r = await session('enable', 'AS64611');
    expect(r.sessions[0]!.done).toBe('max-prefix stop cleared, started');
    await established(p);
    await until(() => daemon!.bgpState('127.0.0.71') === 'Established');
  });

  it('RFC 2918: refresh sends ROUTE-REFRESH to C and re-sends its routes; nothing goes down', async () => {
    const port = await start(CLIENTS);
    const a = sim(64601, '127.0.0.61', port);
    const c = sim(64603, '127.0.0.63', port);
    await Promise.all([established(a), established(c)]);
    a.sendUpdate(announce('193.0.10.0/24', 64601, '127.0.0.61'));
    let got = 0;
    c.on('update', (u: UpdateMessage) => {
      if (u.nlri.some((n) => n.prefix === '193.0.10.0/24')) got++;
    });
    await until(() => got === 1);
    const asked = new Promise<{ afi: number }>((r) => c.once('route-refresh', r));
    const r = await session('refresh', 'AS64603');
    expect(r.sessions[0]!.done).toBe('ROUTE-REFRESH sent, routes re-sent');
    expect((await asked).afi).toBe(1);
    await until(() => got === 2);
    expect(c.state).toBe('Established');
  });

  it('the query socket is read-only: session actions are refused there, with where to go', async () => {
    await start(CLIENTS);
    await expect(
      controlRequest(sock, { cmd: 'session', action: 'reset', client: 'AS64601' }),
    ).rejects.toThrow(ControlError);
    await expect(
      controlRequest(sock, { cmd: 'session', action: 'reset', client: 'AS64601' }),
    ).rejects.toThrow(/only on the admin socket, by the ixrs user/);
    // The admin socket answers the read-only commands too.
    expect(await controlRequest(adminSocketPath(sock), { cmd: 'sessions' })).toHaveLength(3);
    await expect(session('explode', 'AS64601')).rejects.toThrow(/needs 'action'/);
  });

  it('socket modes: the query socket 0660 with cfg.ixrs.control group, the admin socket 0600', async () => {
    const general = `${GENERAL}  ixrs:\n    control: { path: "/unused/ixrs.sock", mode: "0640", group: "nogroup" }\n`;
    await start(CLIENTS, general);
    const q = statSync(sock);
    expect(q.mode & 0o777).toBe(0o640);
    expect(q.gid).toBe(65534);
    expect(statSync(adminSocketPath(sock)).mode & 0o777).toBe(0o600);
  });

  it('a control socket that cannot be created: the error names its path (not a port)', async () => {
    const { config } = parseConfig(GENERAL, CLIENTS);
    writeFileSync(join(dir, 'a-file'), '');
    const bad = join(dir, 'a-file', 'ixrs.sock'); // its "directory" is a file
    await expect(
      startDaemon({
        config,
        logger: silent,
        listen: [{ address: '127.0.0.1', port: 0 }],
        controlSocket: bad,
      }),
    ).rejects.toThrow(/^control socket path \/\S+\/a-file\/ixrs\.sock: E[A-Z]+: /);
    await expect(
      startDaemon({ config, logger: silent, listen: [], controlSocket: bad }),
    ).rejects.toThrow(ControlSocketError);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'a member of the group (another user) runs ixrs show, and is refused ixrs session reset',
    async () => {
      chmodSync(dir, 0o755);
      const general = `${GENERAL}  ixrs:\n    control: { group: "nogroup" }\n`;
      await start(CLIENTS, general);
      const run = (args: string[]) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn(NODE, ixrsArgv(args[0]!, args.slice(1)), {
            uid: 65534,
            gid: 65534,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
          });
          child.stderr.on('data', (d: Buffer) => {
            err += d.toString();
          });
          child.on('close', (code) => resolve({ code, out, err }));
        });
      const shown = await run(['show', 'sessions', '--socket', sock]);
      expect(shown.err).toBe('');
      expect(shown.code).toBe(0);
      expect(shown.out).toMatch(/AS64601 +64601 +127\.0\.0\.61/);
      const reset = await run(['session', 'reset', 'AS64601', '--socket', sock]);
      expect(reset.code).toBe(1);
      expect(reset.err).toMatch(
        /permission denied \(state-changing commands are for the ixrs user only\)/,
      );
    },
  );
});
