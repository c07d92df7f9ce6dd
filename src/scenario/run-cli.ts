// `ixrs scenario run FILE...`: validate every file first (nothing starts when
// one is bad), then play each scenario in the chosen mode and print a line
// per step, a line per expectation and the summary `N passed, N failed`.
// SIGINT aborts: everything started is torn down before the exit (130).

import { writeFileSync } from 'node:fs';
import { ConfigError } from '../config/types.ts';
import { loadScenario } from './load.ts';
import { LoopbackWorld } from './loopback.ts';
import { NetnsWorld } from './netns/world.ts';
import { junitXml, type SuiteResult } from './report.ts';
import {
  Aborted,
  type ExpectationResult,
  ScenarioRun,
  type StepEvent,
  type WorldFactory,
} from './run.ts';
import type { Scenario, ScenarioMode } from './types.ts';

export interface RunCliOptions {
  json: boolean;
  mode: string;
  report: string | undefined;
  keepGoing: boolean;
}

function fmtMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export async function runMain(files: string[], o: RunCliOptions): Promise<number> {
  const write = (s: string) => process.stdout.write(`${s}\n`);
  if (files.length === 0) {
    process.stderr.write('ixrs scenario run: give at least one FILE\n');
    return 2;
  }
  if (o.mode !== 'loopback' && o.mode !== 'netns') {
    process.stderr.write(`ixrs scenario run: --mode is loopback or netns, not '${o.mode}'\n`);
    return 2;
  }
  const scenarios: Scenario[] = [];
  for (const f of files) {
    try {
      scenarios.push(loadScenario(f));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`${err.message}\n`);
      process.stderr.write('ixrs scenario run: nothing started\n');
      return 1;
    }
  }

  const ac = new AbortController();
  const keep = process.env.IXRS_SCENARIO_KEEP === '1';
  const world: WorldFactory =
    o.mode === 'netns'
      ? (s, clock, log) => new NetnsWorld(s, clock, log, { signal: ac.signal, keep })
      : (s, clock, log) => new LoopbackWorld(s, clock, log);
  const onSigint = () => {
    if (!o.json) write('interrupted: tearing down');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const suites: SuiteResult[] = [];
  let interrupted = false;
  try {
    for (const s of scenarios) {
      if (!s.modes.includes(o.mode as ScenarioMode)) {
        if (o.json) write(JSON.stringify({ type: 'skipped', file: s.file, mode: o.mode }));
        else write(`${s.file}: skipped ('${s.name}' is for ${s.modes.join(', ')} only)`);
        continue;
      }
      const suite: SuiteResult = {
        file: s.file,
        name: s.name,
        seconds: 0,
        results: [],
        error: null,
      };
      suites.push(suite);
      if (o.json) write(JSON.stringify({ type: 'scenario', file: s.file, name: s.name }));
      else write(`${s.file}: ${s.name}`);
      const pending: ExpectationResult[] = [];
      const started = performance.now();
      const run = new ScenarioRun(
        s,
        {
          keepGoing: o.keepGoing,
          signal: ac.signal,
          onExpectation: (r) => {
            suite.results.push(r);
            if (o.json) write(JSON.stringify({ type: 'expectation', ...r }));
            else if (r.skipped) write(`    skip ${r.name}`);
            else pending.push(r);
          },
          onStep: (e: StepEvent) => {
            if (o.json) {
              write(JSON.stringify({ type: 'step', ...e }));
              return;
            }
            write(`  step ${e.step} ${e.text}: ${e.ok ? 'ok' : 'FAILED'} (${fmtMs(e.ms)})`);
            for (const r of pending.splice(0)) {
              if (r.ok) {
                const t = r.timings
                  .map((x) => ` (${fmtMs(x.ms)} after step ${x.sinceStep})`)
                  .join('');
                write(`    ok   ${r.name}${t}`);
              } else write(`    FAIL ${r.message}`);
            }
          },
        },
        world,
      );
      try {
        await run.run();
      } catch (err) {
        if (err instanceof Aborted) {
          interrupted = true;
          break;
        }
        suite.error = (err as Error).message;
        if (o.json) write(JSON.stringify({ type: 'error', file: s.file, message: suite.error }));
        else write(`  ERROR ${suite.error}`);
      } finally {
        suite.seconds = (performance.now() - started) / 1000;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  const all = suites.flatMap((s) => s.results).filter((r) => !r.skipped);
  const passed = all.filter((r) => r.ok).length;
  const failed = all.length - passed + suites.filter((s) => s.error !== null).length;
  if (o.report !== undefined) writeFileSync(o.report, junitXml(suites));
  if (o.json) write(JSON.stringify({ type: 'summary', passed, failed, interrupted }));
  else write(`${passed} passed, ${failed} failed`);
  if (interrupted) return 130;
  const skipped = suites.some((s) => s.results.some((r) => r.skipped));
  return failed === 0 && !skipped ? 0 : 1;
}
