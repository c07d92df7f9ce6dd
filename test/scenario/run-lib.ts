// Helpers for the `ixrs scenario run` tests: play a shipped scenario in
// loopback mode in-process, or the CLI as a child process.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadScenario } from '../../src/scenario/load.ts';
import { type ExpectationResult, LoopbackRun, type StepEvent } from '../../src/scenario/run.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NODE = `${ROOT}node_modules/.bin/node`;

export interface Played {
  ok: boolean;
  steps: StepEvent[];
  results: ExpectationResult[];
  ms: number;
}

export async function play(name: string): Promise<Played> {
  const s = loadScenario(`${ROOT}fixtures/scenarios/${name}`);
  const steps: StepEvent[] = [];
  const results: ExpectationResult[] = [];
  const t0 = performance.now();
  const ok = await new LoopbackRun(s, {
    keepGoing: true,
    onStep: (e) => steps.push(e),
    onExpectation: (r) => results.push(r),
  }).run();
  return { ok, steps, results, ms: performance.now() - t0 };
}

/** Failed expectations as their messages (an empty list when all held). */
export function failures(p: Played): string[] {
  return p.results.filter((r) => !r.ok).map((r) => r.message ?? r.name);
}

export function spawnScenario(args: string[]): ChildProcess {
  return spawn(NODE, [`${ROOT}bin/ixrs.js`, 'scenario', ...args], {
    cwd: ROOT,
    env: { ...process.env, IXRS_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function finished(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
