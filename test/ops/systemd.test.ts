// contrib/systemd: the units ixrs ships (issue #16 "Running it as a service").
// systemd-analyze verify runs wherever the tool exists (the interop project
// fails instead of skipping when it does not: test/interop/systemd.test.ts).

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ROOT, runIxrs } from './subprocess.ts';
import { execStartArgs, hasSystemdAnalyze, UNITS, unitText, verifyUnit } from './systemd-units.ts';

describe('contrib/systemd units', () => {
  for (const name of UNITS) {
    it.skipIf(!hasSystemdAnalyze())(
      `${name}: systemd-analyze verify passes without a warning`,
      () => {
        const r = verifyUnit(name);
        expect(r.output).toBe('');
        expect(r.status).toBe(0);
      },
    );

    it(`${name}: own user, CAP_NET_BIND_SERVICE, state and socket directories, restart policy`, () => {
      const t = unitText(name);
      for (const line of [
        'User=ixrs',
        'SupplementaryGroups=ixrs-noc',
        'AmbientCapabilities=CAP_NET_BIND_SERVICE',
        'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
        'NoNewPrivileges=yes',
        'Restart=on-failure',
        'RestartPreventExitStatus=2',
        'KillSignal=SIGTERM',
      ]) {
        expect(t).toContain(`\n${line}\n`);
      }
      expect(t).toMatch(/\nRuntimeDirectory=ixrs(-%i)?\n/);
      expect(t).toMatch(/\nStateDirectory=ixrs(\/%i)?\n/);
      // Node 24 from the install itself (a runtime dependency), never the system's.
      expect(t).toMatch(
        /\nExecStart=\/opt\/ixrs\/node_modules\/\.bin\/node \/opt\/ixrs\/bin\/ixrs\.js run /,
      );
    });

    it(`${name}: ExecStart's options are ixrs run's (checked with --check on the fixtures)`, async () => {
      const args = execStartArgs(name).map((a) =>
        a === '/etc/ixrs/general.yml'
          ? `${ROOT}fixtures/config/general.yml`
          : a === '/etc/ixrs/clients.yml'
            ? `${ROOT}fixtures/config/clients.yml`
            : a,
      );
      const r = await runIxrs(args[0]!, [...args.slice(1), '--check']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^configuration OK/);
    });
  }

  it('ixrs@.service: one instance per family, each with its own control socket', () => {
    expect(execStartArgs('ixrs@.service', '6')).toEqual([
      'run',
      '--general',
      '/etc/ixrs/general.yml',
      '--clients',
      '/etc/ixrs/clients.yml',
      '--ip-ver',
      '6',
      '--control',
      '/run/ixrs-6/ixrs.sock',
    ]);
  });

  it('sysusers: the ixrs user is in the read-only group ixrs-noc', () => {
    const t = unitText('ixrs.sysusers');
    expect(t).toMatch(/^u ixrs /m);
    expect(t).toMatch(/^g ixrs-noc /m);
    expect(t).toMatch(/^m ixrs ixrs-noc$/m);
    // The group the unit names is the one the configuration example uses.
    const { config } = parseConfig(
      'cfg:\n  rs_as: 64500\n  router_id: "192.0.2.2"\n  filtering: { irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False } }\n  ixrs:\n    control: { path: "/run/ixrs/ixrs.sock", mode: "0660", group: "ixrs-noc" }\n',
      'clients: []\n',
    );
    expect(config.ixrs.control.group).toBe('ixrs-noc');
  });
});
