// BFD benchmark: N sessions over loopback between two processes (this one,
// the "near" side on 127.0.0.1, and a forked "far" side with one address per
// session in 127.1.0.0/16), printing each side's CPU as % of one core, false
// Down count and packets/s.
//
//   npm run bench:bfd -- [--sessions N] [--interval MS] [--multiplier M]
//                        [--seconds S] [--port P] [--bird]
//
// --bird also runs BIRD 2's BFD as the far side, in a second phase, inside two
// network namespaces this program creates (needs root; see docs/bfd.md).

import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BfdManager } from '../src/bfd/manager.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '100' },
    multiplier: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '120' },
    port: { type: 'string', default: '13784' },
    role: { type: 'string', default: 'near' },
    near: { type: 'string', default: '127.0.0.1' },
    bird: { type: 'boolean', default: false },
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
  return pct(b0, b1);
}

// ---- BIRD comparison --------------------------------------------------------

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function procCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
}

async function nearVsBird(ixrsFarPct: number): Promise<void> {
  const tag = `ixf-b${process.pid}`;
  const nsNear = `${tag}-n`;
  const nsFar = `${tag}-f`;
  const dir = mkdtempSync(join(tmpdir(), 'ixrs-bfd-bird-'));
  let bird: ChildProcess | undefined;
  let nearChild: ChildProcess | undefined;
  const cleanup = () => {
    try {
      if (bird?.pid !== undefined) process.kill(bird.pid, 'SIGTERM');
    } catch {}
    try {
      nearChild?.kill();
    } catch {}
    for (const ns of [nsNear, nsFar]) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    sh('ip', ['netns', 'add', nsNear]);
    sh('ip', ['netns', 'add', nsFar]);
    sh('ip', [
      'link',
      'add',
      `${tag}a`,
      'netns',
      nsNear,
      'type',
      'veth',
      'peer',
      'name',
      `${tag}b`,
      'netns',
      nsFar,
    ]);
    // near: 198.51.100.1/24 plus nothing else; far: N addresses 198.51.100.x and 192.0.2.x...
    const farIps = Array.from({ length: N }, (_, i) => {
      const j = i + 2; // 198.51.100.2 .. then 192.0.2.x ...
      if (j < 255) return `198.51.100.${j}`;
      const k = j - 253;
      return `10.${(k >> 8) & 255}.${k & 255}.1`;
    });
    if (N > 252)
      throw new Error(
        'BIRD comparison supports up to 252 sessions (one /24 of documentation space)',
      );
    sh('ip', ['-n', nsNear, 'addr', 'add', '198.51.100.1/24', 'dev', `${tag}a`]);
    for (const ip of farIps) sh('ip', ['-n', nsFar, 'addr', 'add', `${ip}/24`, 'dev', `${tag}b`]);
    for (const [ns, dev] of [
      [nsNear, `${tag}a`],
      [nsFar, `${tag}b`],
    ] as const) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    const conf = [
      `log "${dir}/bird.log" all;`,
      'router id 198.51.100.2;',
      'protocol device { }',
      'protocol bfd {',
      `  interface "${tag}b" { interval ${intervalMs} ms; multiplier ${multiplier}; };`,
      ...farIps.map((ip) => `  neighbor 198.51.100.1 local ${ip} dev "${tag}b";`),
      '}',
    ].join('\n');
    writeFileSync(join(dir, 'bird.conf'), conf);
    bird = spawn(
      'ip',
      [
        'netns',
        'exec',
        nsFar,
        'bird',
        '-f',
        '-c',
        join(dir, 'bird.conf'),
        '-s',
        join(dir, 'bird.ctl'),
        '-P',
        join(dir, 'bird.pid'),
      ],
      { stdio: 'ignore' },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const birdPid = Number(readFileSync(join(dir, 'bird.pid'), 'utf8').trim());
    // our near side inside the near namespace, one session per BIRD local
    nearChild = spawn(
      'ip',
      [
        'netns',
        'exec',
        nsNear,
        process.execPath,
        new URL(import.meta.url).pathname,
        '--role=near-ns',
        `--sessions=${N}`,
        `--interval=${intervalMs}`,
        `--multiplier=${multiplier}`,
        `--seconds=${seconds}`,
        `--peers=${farIps.join(',')}`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    nearChild.stdout!.on('data', (d) => {
      out += d;
    });
    let t0 = 0;
    let c0 = 0;
    const marks = new Promise<void>((resolve) => {
      nearChild!.stdout!.on('data', () => {
        if (t0 === 0 && out.includes('MEASURE-START')) {
          t0 = performance.now();
          c0 = procCpuTicks(birdPid);
        }
        if (out.includes('MEASURE-END')) resolve();
      });
    });
    await Promise.race([marks, new Promise((r) => setTimeout(r, (seconds + 90) * 1000))]);
    const t1 = performance.now();
    const c1 = procCpuTicks(birdPid);
    const hz = Number(sh('getconf', ['CLK_TCK']).trim()) || 100;
    const birdPct = (((c1 - c0) / hz) * 1000 * 100) / (t1 - t0);
    for (const line of out.split('\n')) if (line.startsWith('ixrs')) console.log(line);
    console.log(`BIRD far (${N} sessions): CPU ${birdPct.toFixed(1)}% of one core`);
    if (birdPct > 0)
      console.log(`ixrs far / BIRD far CPU ratio: ${(ixrsFarPct / birdPct).toFixed(2)}`);
  } finally {
    cleanup();
  }
}

async function nearInNamespace(): Promise<void> {
  const peers = values.peers.split(',');
  const m = new BfdManager({ local: '198.51.100.1', intervalMs, multiplier });
  let downs = 0;
  m.subscribe((e) => {
    if (e.state === 'Down' && e.previous === 'Up') downs++;
  });
  await m.start();
  for (const p of peers) m.addPeer(p);
  const sample = sampler(m, () => downs);
  const t = Date.now();
  const ok = await waitUp(() => sample().up, peers.length, 60_000);
  console.log(
    `ixrs <-> BIRD: ${sample().up}/${peers.length} Up after ${Date.now() - t} ms${ok ? '' : ' (timed out)'}`,
  );
  await new Promise((r) => setTimeout(r, 2000));
  const a0 = sample();
  console.log('MEASURE-START');
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const a1 = sample();
  console.log(
    `ixrs near vs BIRD: CPU ${pct(a0, a1).toFixed(1)}% of one core, ${pps(a0, a1).toFixed(0)} packets/s, false Down ${a1.downs - a0.downs}, Up ${a1.up}/${peers.length}`,
  );
  console.log('MEASURE-END');
  await m.close({ adminDown: false });
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
  const farPct = await nearVsIxrs();
  if (values.bird) await nearVsBird(farPct);
  process.exit(0);
}
