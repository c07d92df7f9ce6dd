#!/usr/bin/env node
// ixrs runs its TypeScript sources directly on Node >= 22.18 (type stripping).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `ixrs needs Node.js >= 22.18 (this is ${process.versions.node}); run it through npm (npx ixrs, npm run ...), which uses the Node 24 from node_modules.\n`,
  );
  process.exit(1);
}
// The daemon caps V8's young generation: under a full-table load each
// semi-space grows to 64 MiB (+40-100 MiB of peak RSS) and converging is no
// faster (docs/benchmarks.md). The flag only takes effect at startup, so
// `ixrs run` re-executes itself with it (same pid: execve), unless the
// operator chose a size (node flag or NODE_OPTIONS) or IXRS_SEMI_SPACE=default.
const semi = '--max-semi-space-size';
if (
  process.argv[2] === 'run' &&
  typeof process.execve === 'function' &&
  process.env.IXRS_SEMI_SPACE !== 'default' &&
  ![...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes(semi))
) {
  process.execve(
    process.execPath,
    [process.execPath, `${semi}=8`, ...process.execArgv, ...process.argv.slice(1)],
    process.env,
  );
}
await import('../src/cli.ts');
