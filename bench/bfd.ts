// BFD benchmark: N sessions over loopback between two processes (this one,
// the "near" side on 127.0.0.1, and a forked "far" side with one address per
// session in 127.1.0.0/16), printing each side's CPU as % of one core, false
// Down count and packets/s.
//
//   npm run bench:bfd -- [--sessions N] [--interval MS] [--multiplier M]
//                        [--seconds S] [--port P] [--priority=-N] [--no-bird]
//
// A second phase runs BIRD 2's BFD as the far side, inside two network
// namespaces this program creates, when running as root with `bird` on PATH
// (--no-bird skips it; the reason is printed when it cannot run).

import { type ChildProcess, execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BfdManager } from '../src/bfd/manager.ts';

const { values } = parseArgs({
  allowNegative: true,
  options: {
    sessions: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '100' },
    multiplier: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '120' },
    port: { type: 'string', default: '13784' },
    role: { type: 'string', default: 'near' },
    near: { type: 'string', default: '127.0.0.1' },
    bird: { type: 'boolean', default: true },
    peers: { type: 'string', default: '' },
    priority: { type: 'string', default: '0' },
  },
});
const N = Number(values.sessions);
const intervalMs = Number(values.interval);
const multiplier = Number(values.multiplier);
const seconds = Number(values.seconds);
const port = Number(values.port);
const priority = Number(values.priority);
if (priority !== 0) {
  try {
    setPriority(priority); // as a BFD daemon would run (needs root below 0)
  } catch (err) {
    console.error(`cannot set priority ${priority}: ${(err as Error).message}`);
  }
}

function farAddress(i: number, base = '127.1'): string {
  return `${base}.${(i >> 8) & 255}.${(i & 255) + (i >> 16)}`;
}
function farAddresses(n: number): string[] {
  // skip .0 host parts for readability: 127.1.0.1, 127.1.0.2, ...
  return Array.from({ length: n }, (_, i) => farAddress(i + 1));
}

interface Sample {
  cpuUs: number;
  wallMs: number;
  packetsIn: number;
  packetsOut: number;
  downs: number;
  up: number;
}

function sampler(m: BfdManager, downs: () => number) {
  return (): Sample => {
    const c = process.cpuUsage();
    return {
      cpuUs: c.user + c.system,
      wallMs: performance.now(),
      packetsIn: m.stats.packetsIn,
      packetsOut: m.stats.packetsOut,
      downs: downs(),
      up: m.sessions().filter((s) => s.state === 'Up').length,
    };
  };
}

async function far(): Promise<void> {
  const locals = farAddresses(N);
  const m = new BfdManager({ local: locals, port, intervalMs, multiplier });
  let downs = 0;
  m.subscribe((e) => {
    if (e.state === 'Down' && e.previous === 'Up') downs++;
  });
  await m.start();
  for (const l of locals) m.addPeer(values.near, { local: l });
  const sample = sampler(m, () => downs);
  process.on('message', (msg: unknown) => {
    if (msg === 'sample') process.send!(sample());
    if (msg === 'stop') {
      m.close({ adminDown: false }).then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send!('ready');
}

function ask(child: ChildProcess, what: string): Promise<Sample> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as Sample));
    child.send(what);
  });
}

function pct(a: Sample, b: Sample): number {
  return ((b.cpuUs - a.cpuUs) / 1000 / (b.wallMs - a.wallMs)) * 100;
}
function pps(a: Sample, b: Sample): number {
  return ((b.packetsIn - a.packetsIn + b.packetsOut - a.packetsOut) * 1000) / (b.wallMs - a.wallMs);
}

async function waitUp(get: () => number, n: number, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (get() < n) {
    if (Date.now() - t0 > ms) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

async function nearVsIxrs(): Promise<number> {
  const m = new BfdManager({ local: values.near, port, intervalMs, multiplier });
  let downs = 0;
  const why: Record<string, number> = {};
  m.subscribe((e) => {
    if (e.state === 'Down' && e.previous === 'Up') {
      downs++;
      why[e.diag] = (why[e.diag] ?? 0) + 1;
    }
  });
  await m.start();
  const child = fork(new URL(import.meta.url).pathname, [
    '--role=far',
    `--sessions=${N}`,
    `--interval=${intervalMs}`,
    `--multiplier=${multiplier}`,
    `--port=${port}`,
    `--near=${values.near}`,
    `--priority=${priority}`,
  ]);
  await new Promise<void>((r) => child.once('message', () => r()));
  for (const a of farAddresses(N)) m.addPeer(a);
  const sample = sampler(m, () => downs);
  const t0 = Date.now();
  const ok = await waitUp(() => sample().up, N, 60_000);
  console.log(
    `ixrs <-> ixrs: ${sample().up}/${N} sessions Up after ${Date.now() - t0} ms${ok ? '' : ' (timed out)'}`,
  );
  // settle the Poll sequences, then measure
  await new Promise((r) => setTimeout(r, 2000));
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const a0 = sample();
  const b0 = await ask(child, 'sample');
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const a1 = sample();
  const b1 = await ask(child, 'sample');
  const falseDown = a1.downs - a0.downs + (b1.downs - b0.downs);
  console.log(
    `ixrs near (127.0.0.1): CPU ${pct(a0, a1).toFixed(1)}% of one core, ${pps(a0, a1).toFixed(0)} packets/s (in+out), Up ${a1.up}/${N}`,
  );
  console.log(
    `ixrs far  (127.1/16):  CPU ${pct(b0, b1).toFixed(1)}% of one core, ${pps(b0, b1).toFixed(0)} packets/s (in+out), Up ${b1.up}/${N}`,
  );
  console.log(
    `false Down (both sides, after all Up): ${falseDown}; total Downs ever: ${a1.downs + b1.downs}`,
  );
  lag.disable();
  console.log(
    `near event-loop delay: p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`,
  );
  console.log(`near timer stalls (> 20 ms late): ${m.stalls}`);
  console.log(
    `near Down reasons: ${JSON.stringify(why)}; rejected at near: ${JSON.stringify(m.stats.rejected)}`,
  );
  child.send('stop');
  await new Promise((r) => {
    child.once('exit', r);
    setTimeout(r, 2000);
  });
  child.kill();
  await m.close({ adminDown: false });
  return pct(a0, a1);
}

// ---- BIRD comparison --------------------------------------------------------

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function birdVersion(): string {
  const r = spawnSync('bird', ['--version'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim() || 'BIRD';
}

function procCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
}

// BIRD as the far side. BIRD keys its sessions by neighbour address and
// interface, so it holds one local address and N neighbours; our side holds N
// local addresses with one session each. That is the role our "near" side has
// in the first phase (one local, N peers), so the comparison printed is
// ixrs near (phase 1) against BIRD, both running N sessions from one address.
// Two network namespaces joined by a veth, addresses from 2001:db8::/32.
async function nearVsBird(ixrsNearPct: number): Promise<void> {
  const tag = `ixf-b${process.pid}`;
  const nsOurs = `${tag}-i`;
  const nsBird = `${tag}-b`;
  const dir = mkdtempSync(join(tmpdir(), 'ixrs-bfd-bird-'));
  let bird: ChildProcess | undefined;
  let ours: ChildProcess | undefined;
  const birdIp = '2001:db8:bfd::1';
  const ourIps = Array.from({ length: N }, (_, i) => `2001:db8:bfd::1:${(i + 1).toString(16)}`);
  const cleanup = () => {
    try {
      ours?.kill();
    } catch {}
    try {
      const pid = Number(readFileSync(join(dir, 'bird.pid'), 'utf8').trim());
      if (pid > 0) process.kill(pid, 'SIGTERM');
    } catch {}
    try {
      bird?.kill();
    } catch {}
    for (const ns of [nsOurs, nsBird]) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    sh('ip', ['netns', 'add', nsOurs]);
    sh('ip', ['netns', 'add', nsBird]);
    const devOurs = `${tag}i`.slice(0, 15);
    const devBird = `${tag}b`.slice(0, 15);
    sh('ip', [
      'link',
      'add',
      devOurs,
      'netns',
      nsOurs,
      'type',
      'veth',
      'peer',
      'name',
      devBird,
      'netns',
      nsBird,
    ]);
    for (const [ns, dev] of [
      [nsOurs, devOurs],
      [nsBird, devBird],
    ] as const) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    sh('ip', ['-n', nsBird, 'addr', 'add', `${birdIp}/64`, 'dev', devBird, 'nodad']);
    const batch = ourIps.map((ip) => `address add ${ip}/64 dev ${devOurs} nodad`).join('\n');
    writeFileSync(join(dir, 'addrs.batch'), `${batch}\n`);
    sh('ip', ['-n', nsOurs, '-batch', join(dir, 'addrs.batch')]);
    const conf = [
      `log "${join(dir, 'bird.log')}" { warning, error, fatal };`,
      'router id 192.0.2.1;',
      'protocol device { }',
      'protocol bfd {',
      `  interface "${devBird}" { interval ${intervalMs} ms; multiplier ${multiplier}; };`,
      ...ourIps.map((ip) => `  neighbor ${ip} dev "${devBird}" local ${birdIp};`),
      '}',
    ].join('\n');
    writeFileSync(join(dir, 'bird.conf'), `${conf}\n`);
    bird = spawn(
      'ip',
      [
        'netns',
        'exec',
        nsBird,
        'bird',
        '-f',
        '-c',
        join(dir, 'bird.conf'),
        '-s',
        join(dir, 'bird.ctl'),
        '-P',
        join(dir, 'bird.pid'),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    let birdPid = 0;
    for (let i = 0; i < 50 && birdPid === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        birdPid = Number(readFileSync(join(dir, 'bird.pid'), 'utf8').trim());
      } catch {}
    }
    if (birdPid === 0) throw new Error('BIRD did not start (no pid file)');
    ours = spawn(
      'ip',
      [
        'netns',
        'exec',
        nsOurs,
        process.execPath,
        new URL(import.meta.url).pathname,
        '--role=near-ns',
        `--sessions=${N}`,
        `--interval=${intervalMs}`,
        `--multiplier=${multiplier}`,
        `--seconds=${seconds}`,
        `--priority=${priority}`,
        `--peers=${birdIp}`,
        `--near=${ourIps.join(',')}`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    let t0 = 0;
    let c0 = 0;
    const done = new Promise<void>((resolve) => {
      ours!.stdout!.on('data', (d) => {
        out += d;
        if (t0 === 0 && out.includes('MEASURE-START')) {
          t0 = performance.now();
          c0 = procCpuTicks(birdPid);
        }
        if (out.includes('MEASURE-END')) resolve();
      });
      ours!.on('exit', () => resolve());
    });
    await Promise.race([done, new Promise((r) => setTimeout(r, (seconds + 90) * 1000))]);
    const t1 = performance.now();
    const c1 = procCpuTicks(birdPid);
    for (const line of out.split('\n')) if (line.startsWith('ixrs')) console.log(line);
    if (t0 === 0) throw new Error('the ixrs side never started measuring');
    const hz = Number(sh('getconf', ['CLK_TCK']).trim()) || 100;
    const birdPct = ((c1 - c0) / hz / ((t1 - t0) / 1000)) * 100;
    console.log(
      `${birdVersion()}: one local, ${N} sessions, CPU ${birdPct.toFixed(1)}% of one core`,
    );
    if (birdPct > 0) {
      console.log(
        `ixrs near (phase 1, one local, ${N} sessions) / BIRD CPU ratio: ${(ixrsNearPct / birdPct).toFixed(2)}`,
      );
    }
  } finally {
    cleanup();
  }
}

// Our side of the BIRD phase: one session per local address to each --peers.
async function nearInNamespace(): Promise<void> {
  const peers = values.peers.split(',');
  const locals = values.near.split(',');
  const m = new BfdManager({ local: locals, intervalMs, multiplier });
  let downs = 0;
  const why: Record<string, number> = {};
  m.subscribe((e) => {
    if (e.state === 'Down' && e.previous === 'Up') {
      downs++;
      why[e.diag] = (why[e.diag] ?? 0) + 1;
    }
  });
  await m.start();
  for (const l of locals) for (const p of peers) m.addPeer(p, { local: l });
  const n = locals.length * peers.length;
  const sample = sampler(m, () => downs);
  const t = Date.now();
  const ok = await waitUp(() => sample().up, n, 60_000);
  console.log(
    `ixrs <-> BIRD: ${sample().up}/${n} Up after ${Date.now() - t} ms${ok ? '' : ' (timed out)'}`,
  );
  await new Promise((r) => setTimeout(r, 2000));
  const a0 = sample();
  console.log('MEASURE-START');
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const a1 = sample();
  console.log(
    `ixrs (${locals.length} locals) vs BIRD: CPU ${pct(a0, a1).toFixed(1)}% of one core, ${pps(a0, a1).toFixed(0)} packets/s, false Down ${a1.downs - a0.downs}, Up ${a1.up}/${n}`,
  );
  console.log(`ixrs side Down reasons: ${JSON.stringify(why)}; timer stalls: ${m.stalls}`);
  console.log('MEASURE-END');
  await m.close({ adminDown: false });
  process.exit(0);
}

if (values.role === 'far') {
  await far();
} else if (values.role === 'near-ns') {
  await nearInNamespace();
} else {
  console.log(
    `BFD bench: ${N} sessions, ${intervalMs} ms x ${multiplier}, ${seconds} s measured, port ${port}, priority ${priority}, node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const nearPct = await nearVsIxrs();
  if (values.bird) {
    const why =
      process.getuid?.() !== 0
        ? 'not root (network namespaces need it)'
        : spawnSync('bird', ['--version']).error !== undefined
          ? 'no bird on PATH'
          : undefined;
    if (why === undefined) await nearVsBird(nearPct);
    else console.log(`BIRD phase skipped: ${why}`);
  }
  process.exit(0);
}
