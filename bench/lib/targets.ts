// The two route servers under test, each started as a child process with its
// own configuration in a temp dir: ixrs (`node bin/ixrs.js run`) and BIRD 2
// (`bird -f`). Plus /proc sampling of a process (peak RSS, CPU time).

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchNet } from './netns.ts';
import {
  clientAddress,
  clientAsn,
  type NetMode,
  RS_AS,
  RS_ROUTER_ID,
  rsAddress,
} from './scenario.ts';

export interface Target {
  name: 'ixrs' | 'bird';
  child: ChildProcess;
  pid: number;
  log: string;
  /** Description of the configuration used (printed with the results). */
  layout: string;
}

const ROOT = new URL('../../', import.meta.url).pathname;

export function startIxrs(
  dir: string,
  port: number,
  clients: number,
  hold: number,
  mode: NetMode,
  ns: string | null,
  nodeFlags: string[] = [],
  heapSnapshot: string | null = null,
  root: string = ROOT,
  /** More lines for general.yml's `ixrs:` section (indented 4), e.g. the HTTP listener. */
  ixrsExtra: string[] = [],
): Target {
  const general = join(dir, 'general.yml');
  const clientsYml = join(dir, 'clients.yml');
  writeFileSync(
    general,
    [
      'cfg:',
      `  rs_as: ${RS_AS}`,
      `  router_id: "${RS_ROUTER_ID}"`,
      '  passive: True',
      '  path_hiding: True',
      '  add_path: False',
      '  filtering:',
      '    next_hop:',
      '      policy: "strict"',
      '    irrdb:',
      '      enforce_origin_in_as_set: False',
      '      enforce_prefix_in_as_set: False',
      '    rpki_bgp_origin_validation:',
      '      enabled: False',
      '  ixrs:',
      '    listen:',
      `      - address: "${rsAddress(mode)}"`,
      `        port: ${port}`,
      `    control_socket: "${join(dir, 'ixrs.sock')}"`,
      `    hold_time: ${hold}`,
      '    log_level: "warn"',
      ...ixrsExtra,
      '    rs_bfd:',
      '      enabled: False',
      '',
    ].join('\n'),
  );
  const lines = ['clients:'];
  for (let c = 0; c < clients; c++) {
    lines.push(`  - asn: ${clientAsn(c)}`, `    ip: "${clientAddress(c, mode)}"`);
  }
  writeFileSync(clientsYml, `${lines.join('\n')}\n`);
  const log = join(dir, 'ixrs.log');
  const fd = openSync(log, 'w');
  const args = [
    ...nodeFlags,
    '--import',
    join(ROOT, 'bench/lib/memprobe.js'),
    join(root, 'bin/ixrs.js'),
    'run',
    '--general',
    general,
    '--clients',
    clientsYml,
  ];
  const [cmd, argv] = ns ? BenchNet.wrap(ns, process.execPath, args) : [process.execPath, args];
  const env = heapSnapshot
    ? { ...process.env, IXRS_BENCH_HEAPSNAPSHOT: heapSnapshot }
    : process.env;
  const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], env });
  return {
    name: 'ixrs',
    child,
    pid: child.pid!,
    log,
    layout:
      'ixrs defaults (path hiding mitigated by construction: per-client best = first eligible path), rs_bfd off, next_hop strict, no IRR',
  };
}

export function birdAvailable(): string | null {
  const r = spawnSync('bird', ['--version'], { encoding: 'utf8' });
  if (r.error) return null;
  return `${r.stdout}${r.stderr}`.trim(); // BIRD prints its version on stderr
}

/**
 * BIRD 2, one `protocol bgp` per client with `rs client`, import all /
 * export all, all into one `sorted` IPv4 table with the channel option
 * `secondary` (path hiding mitigation: when the best route may not be
 * exported to a client, e.g. it is the client's own, the next one in the
 * sorted list is sent instead).
 */
export function startBird(
  dir: string,
  port: number,
  clients: number,
  hold: number,
  mode: NetMode,
  ns: string | null,
): Target {
  const conf = join(dir, 'bird.conf');
  const lines = [
    `log "${join(dir, 'bird.log')}" { warning, error, fatal };`,
    `router id ${RS_ROUTER_ID};`,
    'ipv4 table rs4 sorted;',
    'protocol device {}',
  ];
  for (let c = 0; c < clients; c++) {
    lines.push(
      `protocol bgp c${c} {`,
      `  local ${rsAddress(mode)} port ${port} as ${RS_AS};`,
      `  neighbor ${clientAddress(c, mode)} as ${clientAsn(c)};`,
      '  passive on;',
      '  rs client;',
      `  hold time ${hold};`,
      `  keepalive time ${Math.max(1, Math.floor(hold / 3))};`,
      // After an error (e.g. its own hold timer expiring while it was busy)
      // BIRD refuses the client for 60 s by default, which would time the
      // reconnect phases out; the backoff is not what is measured.
      '  error wait time 1, 5;',
      '  ipv4 { table rs4; import all; export all; secondary on; };',
      '}',
    );
  }
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const log = join(dir, 'bird.stderr');
  const fd = openSync(log, 'w');
  const args = ['-f', '-c', conf, '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')];
  if (ns === null) throw new Error('BIRD needs the namespace setup (run as root)');
  const [cmd, argv] = BenchNet.wrap(ns, 'bird', args);
  const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd] });
  return {
    name: 'bird',
    child,
    pid: child.pid!,
    log,
    layout:
      'BIRD: one protocol bgp per client (direct, passive), rs client, import all/export all, one `sorted` ipv4 table, channel option `secondary on`',
  };
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcSample {
  /** Peak resident set size, MiB (VmHWM). */
  hwmMiB: number;
  rssMiB: number;
  /** utime + stime, ms. */
  cpuMs: number;
}

export function sampleProc(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after "(comm) ": state is index 0 -> utime is field 14 -> index 11
  const ticks = Number(f[11]) + Number(f[12]);
  return {
    hwmMiB: kb('VmHWM') / 1024,
    rssMiB: kb('VmRSS') / 1024,
    cpuMs: (ticks * 1000) / CLK_TCK,
  };
}

/** The last memprobe line (bench/lib/memprobe.js) in a log, if any. */
export function lastMemprobe(path: string): string | null {
  try {
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"memprobe"'));
    return lines.at(-1) ?? null;
  } catch {
    return null;
  }
}

export function tail(path: string, n = 20): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}
