// Output of `ixrs scenario run`: JUnit XML (one testsuite per scenario file,
// one testcase per expectation at one client).

import type { ExpectationResult } from './run.ts';

function esc(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

export interface SuiteResult {
  file: string;
  name: string;
  seconds: number;
  results: ExpectationResult[];
  /** Set when the scenario could not run at all (setup failed). */
  error: string | null;
}

export function junitXml(suites: SuiteResult[]): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const count = (f: (r: ExpectationResult) => boolean) =>
    suites.reduce((n, s) => n + s.results.filter(f).length, 0);
  const errors = suites.filter((s) => s.error !== null).length;
  const tests = count(() => true) + errors;
  out.push(
    `<testsuites name="ixrs scenario run" tests="${tests}" failures="${count((r) => !r.ok && !r.skipped)}" errors="${errors}" skipped="${count((r) => r.skipped)}">`,
  );
  for (const s of suites) {
    const failures = s.results.filter((r) => !r.ok && !r.skipped).length;
    const skipped = s.results.filter((r) => r.skipped).length;
    out.push(
      `  <testsuite name="${esc(s.name)}" file="${esc(s.file)}" tests="${s.results.length + (s.error === null ? 0 : 1)}" failures="${failures}" errors="${s.error === null ? 0 : 1}" skipped="${skipped}" time="${s.seconds.toFixed(3)}">`,
    );
    if (s.error !== null) {
      out.push(
        `    <testcase classname="${esc(s.file)}" name="setup"><error message="${esc(s.error)}"/></testcase>`,
      );
    }
    for (const r of s.results) {
      const name = `step ${r.step}: ${r.name}`;
      const head = `    <testcase classname="${esc(s.file)}" name="${esc(name)}"`;
      if (r.skipped) out.push(`${head}><skipped message="${esc(r.message ?? '')}"/></testcase>`);
      else if (!r.ok) {
        out.push(
          `${head}><failure message="${esc(r.message ?? '')}" type="expectation">${esc(r.message ?? '')}</failure></testcase>`,
        );
      } else out.push(`${head}/>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
