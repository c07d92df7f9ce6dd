// Run `ixrs <command>` as a child process with the project's Node (node_modules/.bin/node).
// Until src/cli.ts lists the ops commands, the command's module is loaded directly.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NODE = `${ROOT}node_modules/.bin/node`;

const MODULES: Record<string, string> = {
  run: 'run',
  show: 'show',
  demo: 'demo',
};

function cliKnows(command: string): boolean {
  const cli = readFileSync(`${ROOT}src/cli.ts`, 'utf8');
  return new RegExp(`\\b${command}: \\{[^}]*ops/`).test(cli);
}

/** The argv (after the node binary) that runs `ixrs <command> <args>`. */
export function ixrsArgv(command: string, args: string[]): string[] {
  if (cliKnows(command)) return [`${ROOT}bin/ixrs.js`, command, ...args];
  const mod = `${ROOT}src/ops/${MODULES[command]}.ts`;
  return [
    '--input-type=module',
    '-e',
    `const m = await import(${JSON.stringify(mod)}); process.exitCode = await m.main(process.argv.slice(1));`,
    '--',
    ...args,
  ];
}

export function spawnIxrs(command: string, args: string[]): ChildProcess {
  return spawn(NODE, ixrsArgv(command, args), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collect output until exit; kills the child (only it) after `timeoutMs`. */
export function finished(child: ChildProcess, timeoutMs = 30_000): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export function runIxrs(command: string, args: string[], timeoutMs?: number): Promise<Finished> {
  return finished(spawnIxrs(command, args), timeoutMs);
}
