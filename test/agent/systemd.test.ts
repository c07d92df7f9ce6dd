// contrib/systemd/ixrs-agent.service: verified by systemd-analyze (where
// present), and its ExecStart options parse as `ixrs agent` options.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../src/agent/cli.ts';
import { ROOT } from '../ops/subprocess.ts';
import { execStartArgs, hasSystemdAnalyze, unitText, verifyUnit } from '../ops/systemd-units.ts';

const UNIT = 'ixrs-agent.service';

describe('contrib/systemd/ixrs-agent.service', () => {
  it.skipIf(!hasSystemdAnalyze())('systemd-analyze verify passes without a warning', () => {
    const r = verifyUnit(UNIT);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('own user, no port below 1024, CAP_SYS_NICE for the BFD thread, exits 2 and 3 not restarted', () => {
    const t = unitText(UNIT);
    for (const line of [
      'User=ixrs',
      'AmbientCapabilities=CAP_SYS_NICE',
      'NoNewPrivileges=yes',
      'Restart=on-failure',
      'RestartPreventExitStatus=2 3',
      'KillSignal=SIGTERM',
    ]) {
      expect(t).toContain(`\n${line}\n`);
    }
    expect(t).not.toContain('CAP_NET_BIND_SERVICE');
  });

  it("ExecStart's options are ixrs agent's (with the example configuration)", () => {
    const args = execStartArgs(UNIT).map((a) =>
      a === '/etc/ixrs/agent.yml' ? `${ROOT}fixtures/config/agent.yml` : a,
    );
    expect(args[0]).toBe('agent');
    const p = parseAgentArgs(args.slice(1), {}, (f) => readFileSync(f, 'utf8'));
    if (p === 'help') throw new Error('help');
    expect(p.control).toBe('/run/ixrs-agent/agent.sock');
    expect(p.options).toMatchObject({
      asn: 64501,
      rs: '192.0.2.254',
      rs6: '2001:db8::fe',
      bfdIntervalMs: 300,
    });
  });
});
