#!/usr/bin/env node
// ixrs runs its TypeScript sources directly on Node >= 22.18 (type stripping).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `ixrs needs Node.js >= 22.18 (this is ${process.versions.node}); run it through npm (npx ixrs, npm run ...), which uses the Node 24 from node_modules.\n`,
  );
  process.exit(1);
}
await import('../src/cli.ts');
