#!/usr/bin/env node
// ixrs runs dist/cli.js, compiled from src/ by `npm run build` (run by `npm ci`),
// while it is up to date; otherwise, or with IXRS_SOURCE=1, it runs the
// TypeScript sources directly on Node >= 22.18 (type stripping, ~30 MiB more RSS).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `ixrs needs Node.js >= 22.18 (this is ${process.versions.node}); run it with the Node 24 that npm installs with it (a dependency): node_modules/.bin/node bin/ixrs.js ..., or through npm (npx ixrs, npm run ...).\n`,
  );
  process.exit(1);
}
// Settings for the daemon that only take effect at process start, so
// `ixrs run` re-executes itself with them (same pid: execve). Each is skipped
// when the operator set it (node flag or NODE_OPTIONS; the variable for the
// environment one). Measurements: docs/benchmarks.md, at 100 clients x 5000.
// - V8's young generation capped at 8 MiB per semi-space: under a full-table
//   load each semi-space grows to 64 MiB (+40-100 MiB of peak RSS) and
//   converging is no faster. IXRS_SEMI_SPACE=default also skips it.
// - Optimised code compiled on the main thread (--no-concurrent-recompilation):
//   the compiler thread's malloc arena kept its memory, 8-12 MiB of peak RSS;
//   the cost is event-loop delay p99 19 -> 26 ms (max ~40-50 ms either way)
//   and convergence ~10 % slower, nothing a BGP timer notices.
// - glibc's mmap threshold fixed at 128 KiB (MALLOC_MMAP_THRESHOLD_): the route
//   tables are typed-array columns that grow by reallocation; by default glibc
//   raises the threshold to the size of each large block freed, so later
//   columns land in the brk heap and the holes they leave are never returned.
//   Fixed, every column is its own mapping, unmapped when freed: peak RSS
//   161-183 -> 155-165 MiB. Other C libraries ignore the variable.
// - V8's collector callable (--expose-gc): after a mass session loss the
//   daemon runs one full collection (src/ops/memory.ts), so that reconnecting
//   clients do not pile new routes on the dead ones: whole-run peak RSS
//   ~241 -> ~190 MiB on the realistic workload.
const nodeFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''];
const operatorSet = (name) => nodeFlags.some((a) => a.includes(name));
const flags = [];
if (process.env.IXRS_SEMI_SPACE !== 'default' && !operatorSet('--max-semi-space-size'))
  flags.push('--max-semi-space-size=8');
if (!operatorSet('concurrent-recompilation')) flags.push('--no-concurrent-recompilation');
if (!operatorSet('expose-gc')) flags.push('--expose-gc');
const mmapEnv = 'MALLOC_MMAP_THRESHOLD_';
const wantMmap = process.env[mmapEnv] === undefined;
if (
  process.argv[2] === 'run' &&
  typeof process.execve === 'function' &&
  (flags.length > 0 || wantMmap)
) {
  process.execve(
    process.execPath,
    [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)],
    wantMmap ? { ...process.env, [mmapEnv]: '131072' } : process.env,
  );
}
// dist/ is up to date when no file or directory under src/ (a directory's mtime
// changes when an entry is added, removed or renamed) is newer than the stamp
// the build writes with its start time: a stat walk of ~50 entries, ~2 ms.
function distIsCurrent() {
  const at = (p) => fileURLToPath(new URL(p, import.meta.url));
  try {
    if (!statSync(at('../dist/cli.js')).isFile()) return false;
    const built = statSync(at('../dist/.build-stamp')).mtimeMs;
    const dirs = [at('../src/')];
    for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
      if (statSync(dir).mtimeMs > built) return false;
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) dirs.push(path);
        else if (statSync(path).mtimeMs > built) return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}
if (process.env.IXRS_SOURCE !== '1' && distIsCurrent()) await import('../dist/cli.js');
else await import('../src/cli.ts');
