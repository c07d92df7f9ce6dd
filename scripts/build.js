// Compiles src/ to dist/ (tsconfig.build.json) for production runs, then writes
// dist/.build-stamp with the build's start time as its mtime. bin/ixrs.js runs
// dist/cli.js only while no file or directory under src/ is newer than the
// stamp, so an edit made during or after the build falls back to the sources.
// Plain JavaScript, like bin/ixrs.js, so that `npm ci --omit=dev` on a machine
// whose own Node cannot strip types (no node@24, no tsc) still gets past it.
//
//   npm run build          fails on any tsc error, leaving no dist/
//   node scripts/build.js --prepare
//                          what `npm ci` / `npm install` run (prepare): a failed
//                          build only warns, so bin/ixrs.js runs the sources

import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const started = new Date();
const tscPath = `${root}node_modules/typescript/bin/tsc`;
if (process.argv.includes('--prepare') && !existsSync(tscPath)) {
  // `npm ci --omit=dev` without a dist/ from an earlier build: say so in one line.
  if (!existsSync(`${root}dist/.build-stamp`)) {
    process.stderr.write(
      'ixrs: no TypeScript compiler (npm ci --omit=dev): bin/ixrs.js runs src/ directly; build first (npm ci && npm run build && npm prune --omit=dev) to run dist/\n',
    );
  }
  process.exit(0);
}
rmSync(`${root}dist`, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [tscPath, '-p', `${root}tsconfig.build.json`], {
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  rmSync(`${root}dist`, { recursive: true, force: true });
  if (process.argv.includes('--prepare')) {
    process.stderr.write('ixrs: build failed, no dist/: bin/ixrs.js will run src/ directly\n');
    process.exit(0);
  }
  process.exit(tsc.status ?? 1);
}
const stamp = `${root}dist/.build-stamp`;
writeFileSync(stamp, `${started.toISOString()}\n`);
utimesSync(stamp, started, started);
