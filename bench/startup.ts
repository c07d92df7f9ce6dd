// Startup memory of `ixrs run`: compiled dist/ vs the TypeScript sources
// (IXRS_SOURCE=1). Starts `node bin/ixrs.js run` with a one-client
// configuration on 127.0.0.1 (a free port, the client 127.0.0.21 refuses),
// reads VmRSS and VmHWM from /proc/PID/status after --wait ms, sends SIGTERM;
// --runs times each, prints the median. Run `npm run build` first.
//
//   node bench/startup.ts [--runs 5] [--wait 2000]

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    wait: { type: 'string', default: '2000' },
  },
});
const ROOT = fileURLToPath(new URL('../', import.meta.url));
if (!existsSync(`${ROOT}dist/.build-stamp`)) {
  process.stderr.write('no dist/: run `npm run build` first\n');
  process.exit(1);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const kib = (status: string, key: string): number =>
  Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);

async function once(dir: string, source: boolean): Promise<{ rss: number; hwm: number }> {
  const general = join(dir, 'general.yml');
  const clients = join(dir, 'clients.yml');
  writeFileSync(
    general,
    [
      'cfg:',
      '  rs_as: 64500',
      '  router_id: "127.0.0.1"',
      '  filtering:',
      '    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }',
      '  ixrs:',
      '    listen:',
      `      - { address: "127.0.0.1", port: ${await freePort()} }`,
      `    control_socket: "${join(dir, 'ixrs.sock')}"`,
      '',
    ].join('\n'),
  );
  writeFileSync(clients, 'clients:\n  - asn: 64521\n    ip: "127.0.0.21"\n');
  const env = { ...process.env };
  delete env.IXRS_SOURCE;
  if (source) env.IXRS_SOURCE = '1';
  const child = spawn(
    process.execPath,
    [`${ROOT}bin/ixrs.js`, 'run', '--general', general, '--clients', clients],
    { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise((r) => child.once('exit', r));
  await sleep(Number(values.wait));
  if (child.exitCode !== null) throw new Error(`ixrs run exited (${child.exitCode}): ${stderr}`);
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  child.kill('SIGTERM');
  await exited;
  return { rss: kib(status, 'VmRSS'), hwm: kib(status, 'VmHWM') };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const mib = (k: number): string => (k / 1024).toFixed(1);

const dir = mkdtempSync(join(tmpdir(), 'ixrs-startup-'));
try {
  for (const source of [false, true]) {
    const rss: number[] = [];
    const hwm: number[] = [];
    for (let i = 0; i < Number(values.runs); i++) {
      const r = await once(dir, source);
      rss.push(r.rss);
      hwm.push(r.hwm);
    }
    console.log(
      `${source ? 'src (IXRS_SOURCE=1)' : 'dist'}: VmRSS ${mib(median(rss))} MiB, VmHWM ${mib(median(hwm))} MiB (median of ${rss.length}; RSS ${rss.map(mib).join(' ')})`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
