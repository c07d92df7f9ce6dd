// Route-server benchmark: ixrs against BIRD 2 in the same invocation.
//
//   npm run bench -- [--clients N] [--prefixes M] [--overlap 0.3] [--only ixrs|bird]
//                    [--timeout S] [--hold S] [--gens G] [--port P] [--repeat R]
//                    [--http-poll K [--http-interval MS]]
//
// N simulated clients (forked load generators, bench/lib/gen.ts, each client
// from its own 127.10.x.y address) each announce M IPv4 /24s, a fraction
// `overlap` of them also announced by ~2 other clients with different AS_PATH
// lengths (bench/lib/scenario.ts). For each route server, one after the other:
// start it (bench/lib/targets.ts), establish all sessions, send every UPDATE
// (pre-encoded) and measure the time from the first UPDATE sent until every
// client holds its full view (all distinct prefixes except those only it
// announces), the route server's peak RSS (VmHWM) and CPU time (utime+stime,
// during the run and in all), and session drops (must be 0). Then the ratios.
// With --repeat R, R rounds (ixrs then BIRD each), every round's ratios, and
// the medians: peak RSS moves by several MiB with where a major GC falls, so
// one round is a sample, not a verdict.
// With --http-poll K, each round runs ixrs twice: plain, then with its HTTP
// listener on and K clients polling /metrics (every --http-interval ms, default
// 1000) and one web page's event stream open (bench/lib/http-poll.ts, from the
// clients' side); it prints the convergence cost of that load (goal < 10 %).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DoneEvent, StartCmd } from './lib/gen.ts';
import type { PollDone, PollStart } from './lib/http-poll.ts';
import { BenchNet } from './lib/netns.ts';
import { makeScenario, type NetMode, rsAddress } from './lib/scenario.ts';
import {
  birdAvailable,
  lastMemprobe,
  type ProcSample,
  sampleProc,
  startBird,
  startIxrs,
  type Target,
  tail,
} from './lib/targets.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '100' },
    prefixes: { type: 'string', default: '5000' },
    overlap: { type: 'string', default: '0.3' },
    only: { type: 'string' },
    timeout: { type: 'string', default: '600' },
    hold: { type: 'string', default: '15' },
    gens: { type: 'string', default: '1' },
    port: { type: 'string' },
    keep: { type: 'boolean', default: false },
    net: { type: 'string' },
    'ixrs-node-flags': { type: 'string', default: '' },
    'heap-snapshot': { type: 'string' },
    'ixrs-root': { type: 'string' },
    repeat: { type: 'string', default: '1' },
    'http-poll': { type: 'string', default: '0' },
    'http-interval': { type: 'string', default: '1000' },
  },
});
const isRoot = process.getuid?.() === 0;
const mode: NetMode = (values.net as NetMode | undefined) ?? (isRoot ? 'netns' : 'loopback');
if (mode !== 'netns' && mode !== 'loopback') throw new Error('--net must be netns or loopback');
const N = Number(values.clients);
const M = Number(values.prefixes);
const overlap = Number(values.overlap);
const timeoutMs = Number(values.timeout) * 1000;
const hold = Number(values.hold);
const gens = Math.max(1, Math.min(Number(values.gens), N));
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50)
  throw new Error('--repeat must be 1..50');
if (hold < 3 || hold > 65535) throw new Error('--hold must be 3..65535');

const httpPollers = Number(values['http-poll']);
const httpIntervalMs = Number(values['http-interval']);
if (!Number.isInteger(httpPollers) || httpPollers < 0 || httpPollers > 1000)
  throw new Error('--http-poll must be 0..1000');
const POLL = new URL('./lib/http-poll.ts', import.meta.url).pathname;
const nodeFlags = (values['ixrs-node-flags'] ?? '').split(' ').filter((x) => x !== '');
const GEN = new URL('./lib/gen.ts', import.meta.url).pathname;
const la = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function freePort(): Promise<number> {
  if (values.port) return Number(values.port);
  if (mode === 'netns') return 1179; // fresh namespace: nothing else listens there
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

interface Result {
  name: string;
  layout: string;
  convergeMs: number;
  proc: ProcSample;
  runCpuMs: number;
  drops: number;
  genCpuMs: number;
  genElu: number;
  bytesIn: number;
  msgsIn: number;
  loadBefore: string;
  loadAfter: string;
  memprobe: string | null;
}

function waitAll<T>(
  kids: ChildProcess[],
  ev: string,
  ms: number,
  what: string,
  onOther?: (m: Record<string, unknown>) => void,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    const handlers: ((m: Record<string, unknown>) => void)[] = [];
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timeout (${ms / 1000} s) waiting for ${what}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      kids.forEach((k, i) => {
        k.off('message', handlers[i]!);
      });
    };
    for (const k of kids) {
      const h = (m: Record<string, unknown>) => {
        if (m.ev === ev) {
          got.push(m as T);
          if (got.length === kids.length) {
            cleanup();
            resolve(got);
          }
        } else if (m.ev === 'error') {
          cleanup();
          reject(new Error(String(m.why)));
        } else if (m.ev === 'drop') {
          // a dropped session never converges: fail now, not at the timeout
          onOther?.(m);
          cleanup();
          reject(new Error(`session dropped (client ${m.client}: ${m.why})`));
        } else onOther?.(m);
      };
      handlers.push(h);
      k.on('message', h);
    }
  });
}

async function runOne(name: 'ixrs' | 'bird', pollers = 0): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), `ixrs-bench-${name}-`));
  const port = await freePort();
  // --http-poll: the HTTP listener on the route server's address, polled from the clients' side.
  const httpPort = pollers === 0 ? 0 : mode === 'netns' ? 9179 : await freePort();
  const httpLines =
    pollers === 0
      ? []
      : [
          '    http:',
          `      listen: "${rsAddress(mode)}"`,
          `      port: ${httpPort}`,
          `      max_connections: ${pollers + 8}`,
        ];
  let poller: ChildProcess | null = null;
  const target: Target =
    name === 'ixrs'
      ? startIxrs(
          dir,
          port,
          N,
          hold,
          mode,
          benchNet?.rs ?? null,
          nodeFlags,
          values['heap-snapshot'] ?? null,
          values['ixrs-root'],
          httpLines,
        )
      : startBird(dir, port, N, hold, mode, benchNet?.rs ?? null);
  let exited = false;
  target.child.on('exit', () => {
    exited = true;
  });
  const kids: ChildProcess[] = [];
  let drops = 0;
  const onOther = (m: Record<string, unknown>) => {
    if (m.ev === 'drop') {
      drops++;
      console.log(`  ${name}: session drop: client ${m.client}: ${m.why}`);
    }
  };
  try {
    for (let g = 0; g < gens; g++) {
      const lo = Math.floor((g * N) / gens);
      const hi = Math.floor(((g + 1) * N) / gens);
      const [prog, argv] = benchNet
        ? BenchNet.wrap(benchNet.cl, process.execPath, [GEN])
        : [process.execPath, [GEN]];
      const k = spawn(prog, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      kids.push(k);
      const cmd: StartCmd = {
        cmd: 'start',
        port,
        clients: N,
        prefixes: M,
        overlap,
        lo,
        hi,
        hold,
        connectTimeoutMs: 60_000,
        mode,
      };
      k.send(cmd);
    }
    const t0 = performance.now();
    await waitAll(kids, 'established', 90_000, `${N} sessions to ${name}`, onOther);
    console.log(
      `  ${name}: ${N} sessions established in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    if (pollers > 0) {
      const [prog, argv] = benchNet
        ? BenchNet.wrap(benchNet.cl, process.execPath, [POLL])
        : [process.execPath, [POLL]];
      poller = spawn(prog, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const start: PollStart = {
        cmd: 'start',
        base: `http://${rsAddress(mode)}:${httpPort}`,
        pollers,
        intervalMs: httpIntervalMs,
      };
      poller.send(start);
      console.log(
        `  ${name}: ${pollers} HTTP clients polling /metrics every ${httpIntervalMs} ms, one page's event stream open`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
    const before = sampleProc(target.pid);
    const loadBefore = la();
    const progress: Record<number, { held: number; expected: number; done: number }> = {};
    const tick = setInterval(() => {
      let held = 0;
      let exp = 0;
      let done = 0;
      for (const p of Object.values(progress)) {
        held += p.held;
        exp += p.expected;
        done += p.done;
      }
      if (exp > 0) {
        const s = sampleProc(target.pid);
        console.log(
          `  ${name}: ${((100 * held) / exp).toFixed(1)}% of routes delivered, ${done}/${N} clients complete, RSS ${s.rssMiB.toFixed(0)} MiB`,
        );
      }
    }, 5000);
    kids.forEach((k, i) => {
      k.on('message', (m: Record<string, unknown>) => {
        if (m.ev === 'progress') progress[i] = m as unknown as (typeof progress)[number];
      });
    });
    for (const k of kids) k.send({ cmd: 'go' });
    let done: DoneEvent[];
    try {
      done = await waitAll<DoneEvent>(kids, 'done', timeoutMs, `convergence on ${name}`, onOther);
    } finally {
      clearInterval(tick);
    }
    const after = sampleProc(target.pid);
    const loadAfter = la();
    if (poller !== null) {
      const p = poller;
      const got = await new Promise<PollDone | null>((resolve) => {
        const t = setTimeout(() => resolve(null), 5000);
        p.once('message', (m: PollDone) => {
          clearTimeout(t);
          resolve(m);
        });
        p.send({ cmd: 'stop' });
      });
      if (got !== null)
        console.log(
          `  ${name}: HTTP load: ${got.scrapes} scrapes of /metrics (mean ${got.meanMs.toFixed(1)} ms, max ${got.maxMs.toFixed(0)} ms, ${got.errors} errors), ${got.events} page events, ${(got.bytes / 2 ** 20).toFixed(1)} MiB`,
        );
    }
    let memprobe: string | null = null;
    if (name === 'ixrs') {
      target.child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 300));
      memprobe = lastMemprobe(target.log);
      if (values['heap-snapshot']) {
        const t1 = performance.now();
        while (
          !tail(target.log, 5).includes('memprobeSnapshot') &&
          performance.now() - t1 < 300_000
        )
          await new Promise((r) => setTimeout(r, 500));
        console.log(`  ixrs: heap snapshot written to ${values['heap-snapshot']}`);
      }
    }
    if (exited) throw new Error(`${name} exited during the run`);
    const first = Math.min(...done.map((d) => d.firstSentAt));
    const last = Math.max(...done.map((d) => d.lastDoneAt));
    return {
      name: pollers > 0 ? `${name}+http` : name,
      layout: target.layout,
      convergeMs: last - first,
      proc: after,
      runCpuMs: after.cpuMs - before.cpuMs,
      drops: drops + done.reduce((a, d) => a + d.drops, 0),
      genCpuMs: done.reduce((a, d) => a + d.cpuMs, 0),
      genElu: Math.max(...done.map((d) => d.elu)),
      bytesIn: done.reduce((a, d) => a + d.bytesIn, 0),
      msgsIn: done.reduce((a, d) => a + d.msgsIn, 0),
      loadBefore,
      loadAfter,
      memprobe,
    };
  } catch (e) {
    console.log(`  ${name}: FAILED: ${(e as Error).message}`);
    console.log(tail(target.log));
    throw e;
  } finally {
    if (poller !== null && poller.exitCode === null) poller.kill('SIGKILL');
    for (const k of kids) {
      if (k.connected) k.send({ cmd: 'stop' });
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
    if (!exited) {
      target.child.kill('SIGTERM');
      const gone = new Promise((r) => target.child.once('exit', r));
      const t = setTimeout(() => target.child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`  ${name}: kept ${dir}`);
  }
}

const sc = makeScenario(N, M, overlap);
console.log(
  `ixrs route-server benchmark: ${N} clients x ${M} IPv4 prefixes (${sc.unique} own + ${sc.shared} shared, pool ${sc.pool}), ` +
    `${sc.distinct} distinct prefixes, ${sc.expected.reduce((a, b) => a + b, 0)} routes to deliver; hold ${hold} s; ${gens} generator process(es)`,
);
console.log(`load average before: ${la()}`);

const which: ('ixrs' | 'bird')[] =
  values.only === 'ixrs' ? ['ixrs'] : values.only === 'bird' ? ['bird'] : ['ixrs', 'bird'];
if (which.includes('bird')) {
  const v = birdAvailable();
  if (v === null) throw new Error('bird not found on PATH (use --only ixrs)');
  console.log(v);
}
if (which.includes('bird') && mode !== 'netns') throw new Error('BIRD needs --net netns (root)');
const benchNet = mode === 'netns' ? new BenchNet(N) : null;
const cleanup = () => benchNet?.destroy();
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}
console.log(
  mode === 'netns'
    ? `network: namespaces ${benchNet!.rs} (route server, 10.77.0.1) <-veth-> ${benchNet!.cl} (clients 10.77.x.y)`
    : 'network: host loopback (route server 127.0.0.1, clients 127.10.x.y)',
);
const results: Result[] = [];
/** results[i] ran in round rounds[i] (0-based). */
const rounds: number[] = [];
try {
  for (let round = 0; round < repeat; round++) {
    for (const w of which) {
      console.log(repeat > 1 ? `-- ${w} (round ${round + 1} of ${repeat})` : `-- ${w}`);
      results.push(await runOne(w));
      rounds.push(round);
      if (w === 'ixrs' && httpPollers > 0) {
        console.log(
          `-- ixrs with HTTP load${repeat > 1 ? ` (round ${round + 1} of ${repeat})` : ''}`,
        );
        results.push(await runOne(w, httpPollers));
        rounds.push(round);
      }
    }
  }
} catch (e) {
  console.log(`FAIL: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  cleanup();
}

const pad = (s: string, n: number) => s.padStart(n);
console.log('');
console.log(
  `${'target'.padEnd(6)} ${pad('converge s', 10)} ${pad('peak RSS MiB', 12)} ${pad('CPU s (run)', 11)} ${pad('CPU s (all)', 11)} ${pad('drops', 5)} ${pad('gen CPU s', 9)} ${pad('gen ELU', 7)}  load (before -> after)`,
);
const label = (i: number) =>
  repeat > 1 ? `${results[i]!.name}#${rounds[i]! + 1}` : results[i]!.name;
results.forEach((r, i) => {
  console.log(
    `${label(i).padEnd(6)} ${pad((r.convergeMs / 1000).toFixed(3), 10)} ${pad(r.proc.hwmMiB.toFixed(1), 12)} ${pad((r.runCpuMs / 1000).toFixed(2), 11)} ${pad((r.proc.cpuMs / 1000).toFixed(2), 11)} ${pad(String(r.drops), 5)} ${pad((r.genCpuMs / 1000).toFixed(3), 9)} ${pad(r.genElu.toFixed(2), 7)}  ${r.loadBefore} -> ${r.loadAfter}`,
  );
});
for (const r of results.slice(0, which.length))
  console.log(
    `${r.name}: ${r.layout}; received ${r.msgsIn} messages, ${(r.bytesIn / 2 ** 20).toFixed(1)} MiB`,
  );
results.forEach((r, i) => {
  if (r.memprobe) console.log(`${label(i)} memory at convergence: ${r.memprobe}`);
});
// Ratios per round (ixrs against the BIRD run of the same round), then medians.
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
const paired: { time: number; rss: number; cpu: number }[] = [];
for (let round = 0; round < repeat; round++) {
  const a = results.find((r, i) => rounds[i] === round && r.name === 'ixrs');
  const b = results.find((r, i) => rounds[i] === round && r.name === 'bird');
  if (a === undefined || b === undefined) continue;
  const q = {
    time: a.convergeMs / b.convergeMs,
    rss: a.proc.hwmMiB / b.proc.hwmMiB,
    cpu: a.runCpuMs / Math.max(1, b.runCpuMs),
  };
  paired.push(q);
  console.log(
    `ratios ixrs/BIRD${repeat > 1 ? ` (round ${round + 1})` : ''}: convergence ${q.time.toFixed(2)}, peak RSS ${q.rss.toFixed(2)}, CPU (run) ${q.cpu.toFixed(2)}`,
  );
}
if (repeat > 1) {
  for (const name of which) {
    const rs = results.filter((r) => r.name === name);
    console.log(
      `median of ${rs.length} ${name} runs: converge ${(median(rs.map((r) => r.convergeMs)) / 1000).toFixed(3)} s, peak RSS ${median(rs.map((r) => r.proc.hwmMiB)).toFixed(1)} MiB, CPU (run) ${(median(rs.map((r) => r.runCpuMs)) / 1000).toFixed(2)} s`,
    );
  }
  if (paired.length > 0) {
    const rss = paired.map((q) => q.rss);
    console.log(
      `median ratios ixrs/BIRD over ${paired.length} rounds: convergence ${median(paired.map((q) => q.time)).toFixed(2)}, peak RSS ${median(rss).toFixed(2)} (range ${Math.min(...rss).toFixed(2)}-${Math.max(...rss).toFixed(2)}), CPU (run) ${median(paired.map((q) => q.cpu)).toFixed(2)}`,
    );
  }
}
// --http-poll: the cost of the HTTP load, per round, then the median.
const httpCost: number[] = [];
for (let round = 0; round < repeat; round++) {
  const a = results.find((r, i) => rounds[i] === round && r.name === 'ixrs');
  const b = results.find((r, i) => rounds[i] === round && r.name === 'ixrs+http');
  if (a === undefined || b === undefined) continue;
  const q = b.convergeMs / a.convergeMs - 1;
  httpCost.push(q);
  console.log(
    `HTTP load cost${repeat > 1 ? ` (round ${round + 1})` : ''}: convergence ${(a.convergeMs / 1000).toFixed(3)} s -> ${(b.convergeMs / 1000).toFixed(3)} s (${q >= 0 ? '+' : ''}${(100 * q).toFixed(1)} %), CPU (run) ${(a.runCpuMs / 1000).toFixed(2)} s -> ${(b.runCpuMs / 1000).toFixed(2)} s`,
  );
}
if (httpCost.length > 1)
  console.log(
    `median HTTP load cost over ${httpCost.length} rounds: ${(100 * median(httpCost)).toFixed(1)} % (goal < 10 %)`,
  );
if (results.some((r) => r.drops > 0)) {
  console.log('FAIL: session drops during the run');
  process.exitCode = 1;
}
