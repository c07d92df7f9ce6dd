// `ixrs run` as a subprocess: bad configuration stops it before anything
// starts; a client session comes up; SIGTERM sends every client a Cease with a
// shutdown message (RFC 9003) and exits 0.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Negotiated } from '../../src/bgp/negotiate.ts';
import { BgpSpeaker, type PeerDown } from '../../src/bgp/speaker.ts';
import { controlRequest } from '../../src/ops/control.ts';
import { ipv4ToU32 } from '../../src/ops/daemon.ts';
import { freePort, sleep } from './lib/loopback.ts';
import { finished, ROOT, runIxrs, spawnIxrs } from './subprocess.ts';

describe('ixrs run (subprocess)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ixrs-run-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--help describes the options', async () => {
    const r = await runIxrs('run', ['--help']);
    expect(r.code).toBe(0);
    for (const w of ['--general', '--clients', '--log-level', '--check', 'SIGTERM', 'SIGHUP']) {
      expect(r.stdout).toContain(w);
    }
  });

  it('bad configuration: the error names file, key and problem; exit 2, nothing started', async () => {
    const sock = join(dir, 'never.sock');
    const general = join(dir, 'bad-general.yml');
    writeFileSync(
      general,
      `cfg:\n  rs_as: 64500\n  router_id: "192.0.2.2"\n  ixrs:\n    control_socket: "${sock}"\n    hold_time: 2\n`,
    );
    const r = await runIxrs('run', [
      '--general',
      general,
      '--clients',
      `${ROOT}fixtures/config/minimal-clients.yml`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^ixrs run: configuration error: \/\S+\/bad-general\.yml: cfg\.ixrs\.hold_time/,
    );
    expect(r.stdout).toBe('');
    expect(existsSync(sock)).toBe(false);
    const missing = await runIxrs('run', ['--general', join(dir, 'nope.yml'), '--clients', 'x']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read file');
  });

  it('a listen address that cannot be bound: exit 1 at once, nothing left listening', async () => {
    const port = await freePort();
    const sock = join(dir, 'fail.sock');
    const general = join(dir, 'unbindable.yml');
    writeFileSync(
      general,
      [
        'cfg:',
        '  rs_as: 64500',
        '  router_id: "127.0.0.1"',
        '  filtering:',
        '    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }',
        '  ixrs:',
        '    listen:',
        `      - { address: "127.0.0.1", port: ${port} }`,
        `      - { address: "198.51.100.254", port: ${port} }`,
        `    control_socket: "${sock}"`,
        '',
      ].join('\n'),
    );
    const r = await runIxrs(
      'run',
      ['--general', general, '--clients', `${ROOT}fixtures/config/minimal-clients.yml`],
      10_000,
    );
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ixrs run: cannot start: listen EADDRNOTAVAIL');
    expect(r.stderr).toContain('not configured on this host');
    expect(existsSync(sock)).toBe(false);
  });

  it('usage errors exit 2', async () => {
    expect((await runIxrs('run', ['--clients', 'x.yml'])).code).toBe(2);
    expect(
      (await runIxrs('run', ['--general', 'a', '--clients', 'b', '--log-level', 'loud'])).code,
    ).toBe(2);
  });

  it('RFC 9003: SIGTERM shuts down gracefully, the client gets Cease 6/2 with the message', async () => {
    const port = await freePort();
    const sock = join(dir, 'ixrs.sock');
    const general = join(dir, 'general.yml');
    const clients = join(dir, 'clients.yml');
    writeFileSync(
      general,
      [
        'cfg:',
        '  rs_as: 64500',
        '  router_id: "127.0.0.1"',
        '  filtering:',
        '    reject_invalid_as_in_as_path: False',
        '    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }',
        '  ixrs:',
        '    listen:',
        `      - { address: "127.0.0.1", port: ${port} }`,
        `    control_socket: "${sock}"`,
        '    hold_time: 30',
        '',
      ].join('\n'),
    );
    writeFileSync(clients, 'clients:\n  - asn: 64521\n    ip: "127.0.0.21"\n');
    const child = spawnIxrs('run', [
      '--general',
      general,
      '--clients',
      clients,
      '--log-level',
      'info',
    ]);
    const done = finished(child, 30_000);
    const client = new BgpSpeaker({ listen: [], logger: pino({ level: 'silent' }) });
    try {
      // Wait for the control socket.
      let sessions: Awaited<ReturnType<typeof controlRequest<'sessions'>>> | null = null;
      for (let i = 0; i < 100 && sessions === null; i++) {
        try {
          sessions = await controlRequest(sock, { cmd: 'sessions' });
        } catch {
          await sleep(100);
        }
      }
      expect(sessions).toMatchObject([{ client: 'AS64521', address: '127.0.0.21', state: 'idle' }]);
      // bin/ixrs.js re-executed `ixrs run` (same pid) with its start-up memory
      // settings: the young-generation cap, optimising on the main thread and
      // glibc's fixed mmap threshold.
      if (process.platform === 'linux') {
        const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
        expect(argv).toContain('--max-semi-space-size=8');
        expect(argv).toContain('--no-concurrent-recompilation');
        const env = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
        const want = process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072';
        expect(env).toContain(`MALLOC_MMAP_THRESHOLD_=${want}`);
      }

      const peer = client.addPeer({
        peerAddress: '127.0.0.1',
        port,
        localAddress: '127.0.0.21',
        localAs: 64521,
        peerAs: 64500,
        routerId: ipv4ToU32('127.0.0.21'),
        families: [{ afi: 1, safi: 1 }],
        connectRetryTime: 1,
      });
      const up = new Promise<Negotiated>((resolve) => peer.once('established', resolve));
      const down = new Promise<PeerDown>((resolve) => peer.once('down', resolve));
      await client.start();
      const n = await up;
      // What the route server offered (RFC 6793, 2918, 7313, 8654, 4724).
      expect(n.as4).toBe(true);
      expect(n.routeRefresh).toBe(true);
      expect(n.enhancedRouteRefresh).toBe(true);
      expect(n.extendedMessage).toBe(false); // we did not offer it
      expect(n.peerCapabilities.map((c) => c.kind)).toEqual(
        expect.arrayContaining(['multiprotocol', 'graceful-restart', 'extended-message', 'as4']),
      );

      let st = await controlRequest(sock, { cmd: 'sessions' });
      for (let i = 0; i < 50 && st[0]!.state !== 'up'; i++) {
        await sleep(50);
        st = await controlRequest(sock, { cmd: 'sessions' });
      }
      expect(st[0]).toMatchObject({ state: 'up', bgpState: 'Established', families: ['1/1'] });

      const shown = await runIxrs('show', ['sessions', '--socket', sock]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/AS64521 +64521 +127\.0\.0\.21 +Established/);

      child.kill('SIGTERM');
      const d = await down;
      expect(d.received).toMatchObject({ code: 6, subcode: 2 });
      expect(d.received?.shutdownMessage).toBe('route server shutting down (SIGTERM)');
      const r = await done;
      expect(r.code).toBe(0);
      // Structured logs on stderr: the session change at warn, one line, ISO time.
      const logs = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; peer?: string; time: string });
      const upLines = logs.filter((l) => /session up|established/.test(l.msg));
      expect(upLines).toEqual([
        expect.objectContaining({ level: 40, msg: 'session up', peer: 'AS64521@127.0.0.21' }),
      ]);
      expect(upLines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(existsSync(sock)).toBe(false);
    } finally {
      await client.stop();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
