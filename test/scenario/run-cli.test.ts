// `ixrs scenario run` as a command: a failing expectation names the step, the
// client, what was expected and what was seen, exits 1 and lands in a JUnit
// XML file that a JUnit consumer (junit2json) reads; a malformed file starts nothing; SIGINT mid-run tears
// everything down and leaves no process.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, type TestSuite, type TestSuites } from 'junit2json';
import { afterAll, describe, expect, it } from 'vitest';
import { junitXml } from '../../src/scenario/report.ts';
import { finished, ROOT, spawnScenario } from './run-lib.ts';

const dir = mkdtempSync(join(tmpdir(), 'ixrs-scn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WRONG = `name: written to fail
modes: [loopback]
route_server: { asn: 64500 }
clients:
  - { name: A, asn: 64501, ipv4: 192.0.2.11, prefixes: [198.18.1.0/24], agent: true }
  - { name: B, asn: 64502, ipv4: 192.0.2.12, prefixes: [198.18.2.0/24], agent: true }
steps:
  - converge:
  - expect:
      - { at: A, prefix: 198.18.2.0/24, absent: true }
      - { at: B, routes: 1 }
    within: 1
`;

/**
 * Read by a JUnit consumer from the npm registry (junit2json, which CI report
 * tools build on): the counts on each suite must agree with its test cases.
 */
async function readJunit(xml: string): Promise<TestSuite[]> {
  const root = await parse(xml);
  expect(root, 'a <testsuites> root').toBeDefined();
  const suites = (root as TestSuites).testsuite ?? [];
  for (const s of suites) {
    const cases = s.testcase ?? [];
    expect(s.tests, `${s.name}: tests`).toBe(cases.length);
    expect(s.failures, `${s.name}: failures`).toBe(cases.filter((c) => c.failure).length);
    expect(s.errors, `${s.name}: errors`).toBe(cases.filter((c) => c.error).length);
    expect(s.skipped ?? 0, `${s.name}: skipped`).toBe(cases.filter((c) => c.skipped).length);
  }
  return suites;
}

describe('ixrs scenario run (CLI)', () => {
  it('a wrong expectation fails with step, client, expected and seen; exit 1; a JUnit consumer (junit2json) reads the XML', async () => {
    const file = join(dir, 'wrong.yml');
    const report = join(dir, 'junit.xml');
    writeFileSync(file, WRONG);
    const r = await finished(spawnScenario(['run', file, '--report', report]));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL step 2 \(line 9\): at A: expected 198\.18\.2\.0\/24 absent within 1 s; saw 198\.18\.2\.0\/24 via B \(127\.77\.0\.12\)/,
    );
    expect(r.stdout.trim().split('\n').at(-1)).toBe('1 passed, 1 failed');
    const xml = readFileSync(report, 'utf8');
    expect(xml).toContain('<failure message="step 2 (line 9): at A: expected');
    const [suite] = await readJunit(xml);
    expect(suite?.name).toBe('written to fail');
    const failed = suite?.testcase?.find((c) => c.failure);
    expect(failed?.failure?.[0]?.message).toMatch(
      /^step 2 \(line 9\): at A: expected 198\.18\.2\.0\/24 absent/,
    );
    expect(suite?.testcase?.filter((c) => !c.failure && !c.error && !c.skipped)).toHaveLength(1);
  }, 30_000);

  it('--json: one object per line, the summary last', async () => {
    const file = join(dir, 'wrong2.yml');
    writeFileSync(file, WRONG);
    const r = await finished(spawnScenario(['run', file, '--json']));
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; ok?: boolean; message?: string });
    expect(lines.at(-1)).toMatchObject({ type: 'summary', failed: 1 });
    expect(lines.find((l) => l.type === 'expectation' && l.ok === false)?.message).toContain(
      'at A: expected',
    );
  }, 30_000);

  it('a malformed file: error with file, key and line, nothing started, exit 1', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, WRONG.replace('- converge:', '- cut: [A, Z]'));
    const good = `${ROOT}fixtures/scenarios/cut-and-heal.yml`;
    const r = await finished(spawnScenario(['run', good, bad]));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yml: steps\[0\]\.cut\[1\] \(line 8\): no client named 'Z'/);
    expect(r.stderr).toContain('nothing started');
    expect(r.stdout).toBe('');
  }, 20_000);

  it('SIGINT mid-scenario: torn down, exit 130, no process left', async () => {
    const child = spawnScenario(['run', `${ROOT}fixtures/scenarios/flapping-link.yml`]);
    const done = finished(child);
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('step 1 converge')) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 1500)); // inside the flap
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stdout).toContain('interrupted: tearing down');
    // One process held everything; it is gone.
    expect(() => process.kill(child.pid!, 0)).toThrow();
    const ps = spawnSync('ps', ['-eo', 'pid,ppid,args'], { encoding: 'utf8' }).stdout;
    expect(ps.split('\n').filter((l) => l.includes(`${child.pid}`))).toEqual([]);
  }, 30_000);

  it('JUnit XML escapes what it quotes', async () => {
    const xml = junitXml([
      {
        file: 'a&b.yml',
        name: 'x <y>',
        seconds: 1,
        error: null,
        results: [
          {
            file: 'a&b.yml',
            scenario: 'x <y>',
            step: 1,
            line: 2,
            name: 'A: "q"',
            ok: false,
            skipped: false,
            message: "saw <'z'> & more",
            timings: [],
          },
        ],
      },
    ]);
    expect(xml).toContain('name="x &lt;y&gt;"');
    expect(xml).toContain('saw &lt;&apos;z&apos;&gt; &amp; more');
    const [suite] = await readJunit(xml);
    expect(suite?.name).toBe('x <y>');
    expect(suite?.testcase?.[0]?.failure?.[0]?.message).toBe("saw <'z'> & more");
  });
});
