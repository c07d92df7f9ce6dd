import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { HELP, OPTIONS } from '../../src/bfd/cli.ts';

const BIN = new URL('../../bin/ixrs.js', import.meta.url).pathname;
const PORT = 20000 + ((process.pid * 13 + 7) % 20000);
const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});

function run(args: string[]): { proc: ChildProcess; lines: Record<string, unknown>[] } {
  const proc = spawn(process.execPath, [BIN, 'bfd', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  return { proc, lines };
}

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ixrs bfd CLI', () => {
  it('--help documents every option the parser accepts, and nothing else', () => {
    for (const name of Object.keys(OPTIONS)) expect(HELP).toContain(`--${name}`);
    const documented = [...HELP.matchAll(/^\s+(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(OPTIONS).sort());
  });

  it('bad arguments exit 2', async () => {
    const { proc } = run(['--local', '127.0.0.1', '--peer', '127.0.0.2', '--multiplier', '0']);
    const code = await new Promise((r) => proc.on('exit', r));
    expect(code).toBe(2);
  });

  it('RFC 5880 §6.8.16: two CLIs come Up, SIGTERM sends AdminDown and exits 0', async () => {
    const common = ['--interval', '50', '--port', String(PORT), '--json'];
    const a = run(['--local', '127.0.0.1', '--peer', '127.0.0.2', ...common]);
    const b = run(['--local', '127.0.0.2', '--peer', '127.0.0.1', ...common]);
    await until(
      () => a.lines.some((l) => l.state === 'Up') && b.lines.some((l) => l.state === 'Up'),
    );
    expect(a.lines.find((l) => l.state === 'Up')).toMatchObject({
      peer: '127.0.0.2',
      local: '127.0.0.1',
      diag: 'none',
    });
    expect(typeof a.lines[0]!.time).toBe('string');
    a.proc.kill('SIGTERM');
    const code = await new Promise((r) => a.proc.on('exit', r));
    expect(code).toBe(0);
    await until(() => b.lines.some((l) => l.state === 'Down'));
    expect(b.lines.find((l) => l.state === 'Down')).toMatchObject({
      previous: 'Up',
      diag: 'neighbor-signaled-session-down',
      remoteState: 'AdminDown',
      remoteDiag: 'administratively-down',
    });
  });
});
