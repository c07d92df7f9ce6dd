// contrib/systemd units verified by systemd-analyze: in the interop project the
// tool must exist (scripts/install-peers.sh installs systemd); never skipped.

import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminSocketPath } from '../../src/ops/control.ts';
import { freePort } from '../ops/lib/loopback.ts';
import { finished, ixrsArgv, NODE, ROOT } from '../ops/subprocess.ts';
import { execStartArgs, hasSystemdAnalyze, UNITS, verifyUnit } from '../ops/systemd-units.ts';

describe('contrib/systemd (systemd-analyze verify)', () => {
  it('systemd-analyze is installed', () => {
    expect(
      hasSystemdAnalyze(),
      'systemd-analyze not found: install the systemd package (apt-get install systemd) to verify contrib/systemd units',
    ).toBe(true);
  });
  for (const name of UNITS) {
    it(`${name} verifies without a warning`, () => {
      const r = verifyUnit(name);
      expect(r.output).toBe('');
      expect(r.status).toBe(0);
    });
  }
});

// What the unit sets up, without systemd (none runs here): `ixrs run` with the
// unit's ExecStart options as an unprivileged service user (uid/gid 65534,
// "nobody"/"nogroup" standing in for ixrs/ixrs-noc), a control socket in a
// directory the user owns (RuntimeDirectory=), given to the group. Another
// user of the group reads with `ixrs show` and is refused `ixrs session reset`;
// the service user may reset.
describe('the service as its own user: group reads, only the owner changes state', () => {
  const SERVICE = { uid: 65534, gid: 65534 };
  const READER = { uid: 65533, gid: 65534 };

  function as(who: { uid: number; gid: number }, command: string, args: string[]) {
    return finished(
      spawn(NODE, ixrsArgv(command, args), {
        cwd: ROOT,
        uid: who.uid,
        gid: who.gid,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
      30_000,
    );
  }

  it('ixrs show through the group socket works, ixrs session reset is refused, the owner may', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ixrs-svc-'));
    const run = join(dir, 'run');
    mkdirSync(run, { mode: 0o755 });
    chownSync(run, SERVICE.uid, SERVICE.gid);
    chmodSync(dir, 0o755);
    const general = join(dir, 'general.yml');
    const clients = join(dir, 'clients.yml');
    writeFileSync(
      general,
      [
        'cfg:',
        '  rs_as: 64500',
        '  router_id: "127.0.0.1"',
        '  filtering:',
        '    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }',
        '  ixrs:',
        `    listen: [{ address: "127.0.0.1", port: ${await freePort()} }]`,
        '    control: { mode: "0660", group: "nogroup" }',
        '',
      ].join('\n'),
    );
    writeFileSync(clients, 'clients:\n  - asn: 64521\n    ip: "127.0.0.21"\n');
    const sock = join(run, 'ixrs.sock');
    const args = execStartArgs('ixrs.service').map((a) =>
      a === '/etc/ixrs/general.yml'
        ? general
        : a === '/etc/ixrs/clients.yml'
          ? clients
          : a === '/run/ixrs/ixrs.sock'
            ? sock
            : a,
    );
    const child = spawn(NODE, ixrsArgv(args[0]!, args.slice(1)), {
      cwd: ROOT,
      uid: SERVICE.uid,
      gid: SERVICE.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const done = finished(child, 60_000);
    try {
      const end = Date.now() + 20_000;
      while (!existsSync(adminSocketPath(sock)) && Date.now() < end && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(statSync(sock).mode & 0o777).toBe(0o660);
      expect(statSync(sock).gid).toBe(65534);
      expect(statSync(sock).uid).toBe(SERVICE.uid);
      expect(statSync(adminSocketPath(sock)).mode & 0o777).toBe(0o600);

      const shown = await as(READER, 'show', ['sessions', '--socket', sock]);
      expect(shown.stderr).toBe('');
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/AS64521 +64521 +127\.0\.0\.21/);

      const refused = await as(READER, 'session', ['reset', 'AS64521', '--socket', sock]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'permission denied (state-changing commands are for the ixrs user only)',
      );

      const owner = await as(SERVICE, 'session', ['reset', 'AS64521', '--socket', sock]);
      expect(owner.stderr).toBe('');
      expect(owner.code).toBe(0);
      expect(owner.stdout).toMatch(/^AS64521 127\.0\.0\.21: restarted/);
    } finally {
      child.kill('SIGTERM');
      const r = await done;
      rmSync(dir, { recursive: true, force: true });
      expect(r.code, r.stderr).toBe(0);
    }
  });
});
