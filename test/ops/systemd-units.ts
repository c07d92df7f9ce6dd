// The systemd units of contrib/systemd/, checked with systemd-analyze verify
// (shared by the unit test and the interop test).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './subprocess.ts';

export const UNITS = ['ixrs.service', 'ixrs@.service'] as const;

export function unitText(name: string): string {
  return readFileSync(`${ROOT}contrib/systemd/${name}`, 'utf8');
}

export function hasSystemdAnalyze(): boolean {
  return spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * systemd-analyze verify of a unit with /opt/ixrs replaced by this checkout
 * (verify checks that ExecStart's program exists). A template is verified as
 * an instance (ixrs@4.service).
 */
export function verifyUnit(name: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ixrs-unit-'));
  try {
    const file = join(dir, name.replace('@.', '@4.'));
    writeFileSync(file, unitText(name).replaceAll('/opt/ixrs/', ROOT));
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The ixrs arguments of ExecStart (after bin/ixrs.js), %i as `instance`. */
export function execStartArgs(name: string, instance = '4'): string[] {
  const line = unitText(name)
    .split('\n')
    .find((l) => l.startsWith('ExecStart='));
  if (line === undefined) throw new Error(`${name}: no ExecStart`);
  const words = line.slice('ExecStart='.length).replaceAll('%i', instance).split(/\s+/);
  return words.slice(words.findIndex((w) => w.endsWith('bin/ixrs.js')) + 1);
}
