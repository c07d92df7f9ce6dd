// Route-server benchmark: ixrs against BIRD 2 in the same invocation.
//
//   npm run bench -- [--clients N] [--prefixes M] [--overlap 0.3] [--only ixrs|bird]
//                    [--timeout S] [--hold S] [--gens G] [--port P] [--repeat R]
//                    [--prefixes-per-set K] [--phases churn,loss,reconnect,restart|none]
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
//
// --prefixes-per-set K: every K prefixes of a client get their own attribute
// set (AS path of the client plus 0-3 ASNs, 1-3 communities) instead of two
// sets per client, as members announcing customer cones do.
// After convergence the whole-run phases (--phases, all by default), each
// timed: churn (client 0 withdraws 10 % of its prefixes, then announces them
// again: until every client saw both), loss (every client sends a Cease and
// closes at once: until the route server's CPU is idle), reconnect (every
// client connects again at once and sends its table: until every client holds
// its full view), restart (every client closes, the route server process is
// stopped and started again, every client reconnects at once: until every
// client holds its full view). Peak RSS is VmHWM over the whole run: the
// highest of the process's, and after a restart of both processes'.
// With --http-poll K, each round runs ixrs twice: plain, then with its HTTP
// listener on and K clients polling /metrics (every --http-interval ms, default
// 1000) and one web page's event stream open (bench/lib/http-poll.ts, from the
// clients' side); it prints the convergence cost of that load (goal < 10 %).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DoneEvent, PhaseEvent, StartCmd } from './lib/gen.ts';
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
    'prefixes-per-set': { type: 'string', default: '0' },
    phases: { type: 'string', default: 'churn,loss,reconnect,restart' },
    'http-poll': { type: 'string', default: '0' },
    'http-interval': { type: 'string', default: '1000' },
  },
});
const PHASES = ['churn', 'loss', 'reconnect', 'restart'] as const;
type Phase = (typeof PHASES)[number];
const phases: Phase[] =
  values.phases === 'none' || values.phases === ''
    ? []
    : (values.phases ?? '').split(',').map((p) => {
        if (!(PHASES as readonly string[]).includes(p))
          throw new Error(`--phases: unknown phase '${p}' (${PHASES.join(', ')} or none)`);
        return p as Phase;
      });
const perSet = Number(values['prefixes-per-set']);
if (!Number.isInteger(perSet) || perSet < 0) throw new Error('--prefixes-per-set must be >= 0');
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
const ROOT = new URL('../', import.meta.url).pathname;

/**
 * ixrs as an operator runs it is dist/ (bin/ixrs.js falls back to the
 * TypeScript sources when dist/ is older than src/, and the type stripper
 * costs ~20 MiB of RSS and some speed), so the tree under test is built first:
 * a stale dist/ would measure something no one deploys. A tree from before
 * scripts/build.js has no dist/ and runs as it always did.
 */
function buildIxrs(root: string): void {
  const script = join(root, 'scripts/build.js');
  if (!existsSync(script)) return;
  console.log(`building ${root} (npm run build) so that ixrs runs dist/`);
  const r = spawnSync(process.execPath, [script], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`build of ${root} failed (status ${r.status})`);
}
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

interface PhaseResult {
  ms: number;
  /** VmHWM at the end of the phase (of the restarted process for restart), MiB. */
  hwmMiB: number;
}

interface Result {
  name: string;
  layout: string;
  convergeMs: number;
  proc: ProcSample;
  phases: Partial<Record<Phase, PhaseResult>>;
  /** Peak RSS over the whole run (every phase, both processes across a restart), MiB. */
  peakMiB: number;
  runCpuMs: number;
  drops: number;
  genCpuMs: number;
  genElu: number;
  bytesIn: number;
  msgsIn: number;
  loadBefore: string;
  loadAfter: string;
  /** memprobe line at convergence, and at the end of the run (before a restart). */
  memprobe: string | null;
  memprobeEnd: string | null;
}

/** Children alive (route servers, generators): killed if the benchmark is interrupted. */
const live = new Set<ChildProcess>();
function track(c: ChildProcess): void {
  live.add(c);
  c.once('exit', () => live.delete(c));
}

/** SIGUSR2 to ixrs's memprobe (bench/lib/memprobe.js); its line from the log. */
async function probe(t: Target): Promise<string | null> {
  t.child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 300));
  return lastMemprobe(t.log);
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process is gone. */
async function stop(t: Target): Promise<void> {
  if (t.child.exitCode !== null || t.child.signalCode !== null) return;
  const gone = new Promise((r) => t.child.once('exit', r));
  t.child.kill('SIGTERM');
  const k = setTimeout(() => t.child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(k);
}

/**
 * Milliseconds from t0 (performance.now(), at or before the call) until the
 * process went idle: the start of the first 500 ms in which it used at most 10 ms of CPU (sampled
 * every 100 ms from /proc). What a mass session loss costs the route server
 * is invisible to the (gone) clients, so its CPU says when it is done.
 */
async function waitIdle(pid: number, t0: number, maxMs: number): Promise<number> {
  // from now (t0 may be earlier: the time spent before counts, the idle window starts here)
  const samples: { t: number; cpu: number }[] = [
    { t: performance.now(), cpu: sampleProc(pid).cpuMs },
  ];
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const t = performance.now();
    samples.push({ t, cpu: sampleProc(pid).cpuMs });
    let i = samples.length - 1;
    while (i > 0 && t - samples[i]!.t < 500) i--;
    const w = samples[i]!;
    if (t - w.t >= 500 && samples.at(-1)!.cpu - w.cpu <= 10) return w.t - t0;
    if (t - t0 > maxMs) throw new Error(`route server not idle after ${maxMs / 1000} s`);
  }
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
  const start = (): Target =>
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
  let target = start();
  track(target.child);
  let exited = false;
  const watch = (t: Target) =>
    t.child.on('exit', () => {
      if (t === target) exited = true;
    });
  watch(target);
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
      track(k);
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
        prefixesPerSet: perSet,
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
    let memprobeConverged: string | null = null;
    if (name === 'ixrs') {
      memprobeConverged = await probe(target);
      if (values['heap-snapshot']) {
        const t1 = performance.now();
        // the whole log: sessions may log meanwhile (writing the snapshot blocks ixrs)
        while (
          !tail(target.log, Number.POSITIVE_INFINITY).includes('memprobeSnapshot') &&
          performance.now() - t1 < 300_000
        )
          await new Promise((r) => setTimeout(r, 500));
        console.log(`  ixrs: heap snapshot written to ${values['heap-snapshot']}`);
      }
    }
    if (exited) throw new Error(`${name} exited during the run`);
    const first = Math.min(...done.map((d) => d.firstSentAt));
    const last = Math.max(...done.map((d) => d.lastDoneAt));
    const phaseResults: Partial<Record<Phase, PhaseResult>> = {};
    let peakMiB = after.hwmMiB;
    const step = async (what: string, msg: object): Promise<number> => {
      const t0 = performance.timeOrigin + performance.now();
      for (const k of kids) k.send(msg);
      const evs = await waitAll<PhaseEvent>(kids, 'phase', timeoutMs, what, onOther);
      return Math.max(...evs.map((e) => e.at)) - t0;
    };
    const closeAll = async (): Promise<void> => {
      await waitAll(kids, 'closed', 90_000, 'the route server closing every session', onOther);
    };
    const record = (p: Phase, ms: number, hwm = sampleProc(target.pid).hwmMiB) => {
      phaseResults[p] = { ms, hwmMiB: hwm };
      peakMiB = Math.max(peakMiB, hwm);
      console.log(
        `  ${name}: ${p} ${(ms / 1000).toFixed(3)} s, peak RSS so far ${hwm.toFixed(1)} MiB`,
      );
    };
    for (const p of phases) {
      if (p === 'churn') {
        const count = Math.round(M * 0.1);
        const w = await step('churn (withdraw)', {
          cmd: 'churn',
          step: 'withdraw',
          client: 0,
          count,
        });
        const a = await step('churn (announce)', {
          cmd: 'churn',
          step: 'announce',
          client: 0,
          count,
        });
        record(p, w + a);
      } else if (p === 'loss') {
        // from the Ceases sent: until the route server closed every session
        // (the generators see it) and then went idle
        const t0 = performance.now();
        const closed = closeAll();
        for (const k of kids) k.send({ cmd: 'close' });
        await closed;
        record(p, await waitIdle(target.pid, t0, timeoutMs));
      } else if (p === 'reconnect') {
        if (!phases.includes('loss') || phases.indexOf('loss') > phases.indexOf('reconnect')) {
          const closed = closeAll();
          for (const k of kids) k.send({ cmd: 'close' });
          await closed;
          await waitIdle(target.pid, performance.now(), timeoutMs);
        }
        record(p, await step('reconnect', { cmd: 'reconnect', timeoutMs }));
      } else if (p === 'restart') {
        const closed = closeAll();
        for (const k of kids) k.send({ cmd: 'close' });
        await closed;
        if (name === 'ixrs') memprobe = (await probe(target)) ?? memprobe;
        peakMiB = Math.max(peakMiB, sampleProc(target.pid).hwmMiB);
        await stop(target);
        renameSync(target.log, `${target.log}.1`);
        target = start();
        track(target.child);
        exited = false;
        watch(target);
        // from the new process's start: a restart includes starting up
        const t0 = performance.timeOrigin + performance.now();
        for (const k of kids) k.send({ cmd: 'reconnect', timeoutMs });
        const evs = await waitAll<PhaseEvent>(kids, 'phase', timeoutMs, 'restart', onOther);
        record(p, Math.max(...evs.map((e) => e.at)) - t0);
      }
      if (exited) throw new Error(`${name} exited during the ${p} phase`);
    }
    if (name === 'ixrs' && phases.length > 0 && phases.at(-1) !== 'restart')
      memprobe = (await probe(target)) ?? memprobe;
    return {
      name: pollers > 0 ? `${name}+http` : name,
      layout: target.layout,
      convergeMs: last - first,
      proc: after,
      phases: phaseResults,
      peakMiB,
      runCpuMs: after.cpuMs - before.cpuMs,
      drops: drops + done.reduce((a, d) => a + d.drops, 0),
      genCpuMs: done.reduce((a, d) => a + d.cpuMs, 0),
      genElu: Math.max(...done.map((d) => d.elu)),
      bytesIn: done.reduce((a, d) => a + d.bytesIn, 0),
      msgsIn: done.reduce((a, d) => a + d.msgsIn, 0),
      loadBefore,
      loadAfter,
      memprobe: memprobeConverged,
      memprobeEnd: memprobe,
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
    if (!exited) await stop(target);
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`  ${name}: kept ${dir}`);
  }
}

const sc = makeScenario(N, M, overlap);
console.log(
  `ixrs route-server benchmark: ${N} clients x ${M} IPv4 prefixes (${sc.unique} own + ${sc.shared} shared, pool ${sc.pool}), ` +
    `${sc.distinct} distinct prefixes, ${sc.expected.reduce((a, b) => a + b, 0)} routes to deliver; hold ${hold} s; ${gens} generator process(es)`,
);
console.log(
  perSet > 0
    ? `attribute sets: one per ${perSet} prefixes of a client (${Math.ceil(sc.unique / perSet) + Math.ceil(sc.shared / perSet)} per client, ${N * (Math.ceil(sc.unique / perSet) + Math.ceil(sc.shared / perSet))} in all)`
    : `attribute sets: two per client (own prefixes, shared ones)`,
);
console.log(`phases after convergence: ${phases.length > 0 ? phases.join(', ') : 'none'}`);
console.log(`load average before: ${la()}`);

const which: ('ixrs' | 'bird')[] =
  values.only === 'ixrs' ? ['ixrs'] : values.only === 'bird' ? ['bird'] : ['ixrs', 'bird'];
if (which.includes('bird')) {
  const v = birdAvailable();
  if (v === null) throw new Error('bird not found on PATH (use --only ixrs)');
  console.log(v);
}
if (which.includes('bird') && mode !== 'netns') throw new Error('BIRD needs --net netns (root)');
if (which.includes('ixrs')) buildIxrs(values['ixrs-root'] ?? ROOT);
const benchNet = mode === 'netns' ? new BenchNet(N) : null;
const cleanup = () => {
  for (const c of live) c.kill('SIGKILL');
  benchNet?.destroy();
};
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
      const r = await runOne(w);
      results.push(r);
      rounds.push(round);
      // each round as it ends: a long --repeat interrupted still leaves figures
      console.log(
        `  ${w}: converged in ${(r.convergeMs / 1000).toFixed(3)} s, peak RSS ${r.proc.hwmMiB.toFixed(1)} MiB at convergence, ${r.peakMiB.toFixed(1)} MiB over the whole run; load ${r.loadAfter}`,
      );
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
const sec = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(3));
console.log('');
console.log(
  `${'target'.padEnd(7)} ${pad('converge s', 10)} ${pad('peak RSS MiB', 12)} ${pad('CPU s (run)', 11)} ${pad('CPU s (all)', 11)} ${pad('drops', 5)} ${pad('gen CPU s', 9)} ${pad('gen ELU', 7)}  load (before -> after)`,
);
const label = (i: number) =>
  repeat > 1 ? `${results[i]!.name}#${rounds[i]! + 1}` : results[i]!.name;
results.forEach((r, i) => {
  console.log(
    `${label(i).padEnd(7)} ${pad((r.convergeMs / 1000).toFixed(3), 10)} ${pad(r.proc.hwmMiB.toFixed(1), 12)} ${pad((r.runCpuMs / 1000).toFixed(2), 11)} ${pad((r.proc.cpuMs / 1000).toFixed(2), 11)} ${pad(String(r.drops), 5)} ${pad((r.genCpuMs / 1000).toFixed(3), 9)} ${pad(r.genElu.toFixed(2), 7)}  ${r.loadBefore} -> ${r.loadAfter}`,
  );
});
if (phases.length > 0) {
  console.log('');
  console.log(
    `whole run: ${'target'.padEnd(7)} ${phases.map((p) => pad(`${p} s`, 11)).join(' ')} ${pad('peak RSS MiB (converged -> whole run)', 38)}`,
  );
  results.forEach((r, i) => {
    console.log(
      `whole run: ${label(i).padEnd(7)} ${phases.map((p) => pad(sec(r.phases[p]?.ms), 11)).join(' ')} ${pad(`${r.proc.hwmMiB.toFixed(1)} -> ${r.peakMiB.toFixed(1)}`, 38)}  (${phases.map((p) => `${p} ${r.phases[p]?.hwmMiB.toFixed(1) ?? '-'}`).join(', ')})`,
    );
  });
}
for (const r of results.slice(0, which.length))
  console.log(
    `${r.name}: ${r.layout}; received ${r.msgsIn} messages, ${(r.bytesIn / 2 ** 20).toFixed(1)} MiB`,
  );
results.forEach((r, i) => {
  if (r.memprobe) console.log(`${label(i)} memory at convergence: ${r.memprobe}`);
  if (r.memprobeEnd) console.log(`${label(i)} memory at the end of the run: ${r.memprobeEnd}`);
});
// Ratios per round (ixrs against the BIRD run of the same round), then medians.
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
interface Ratios {
  time: number;
  rss: number;
  cpu: number;
  peak: number;
  phase: Partial<Record<Phase, number>>;
}
const paired: Ratios[] = [];
const phaseRatios = (q: Ratios) =>
  phases.map((p) => `${p} ${q.phase[p]?.toFixed(2) ?? '-'}`).join(', ');
for (let round = 0; round < repeat; round++) {
  const a = results.find((r, i) => rounds[i] === round && r.name === 'ixrs');
  const b = results.find((r, i) => rounds[i] === round && r.name === 'bird');
  if (a === undefined || b === undefined) continue;
  const q: Ratios = {
    time: a.convergeMs / b.convergeMs,
    rss: a.proc.hwmMiB / b.proc.hwmMiB,
    cpu: a.runCpuMs / Math.max(1, b.runCpuMs),
    peak: a.peakMiB / b.peakMiB,
    phase: {},
  };
  for (const p of phases) {
    const x = a.phases[p]?.ms;
    const y = b.phases[p]?.ms;
    // a phase measured in 100 ms steps (loss) can take 0 ms: count it as 50
    if (x !== undefined && y !== undefined) q.phase[p] = Math.max(x, 50) / Math.max(y, 50);
  }
  paired.push(q);
  console.log(
    `ratios ixrs/BIRD${repeat > 1 ? ` (round ${round + 1})` : ''}: convergence ${q.time.toFixed(2)}, peak RSS ${q.rss.toFixed(2)}, CPU (run) ${q.cpu.toFixed(2)}` +
      (phases.length > 0
        ? `; whole-run peak RSS ${q.peak.toFixed(2)}; phase times ${phaseRatios(q)}`
        : ''),
  );
}
if (repeat > 1) {
  for (const name of which) {
    const rs = results.filter((r) => r.name === name);
    const ph = phases
      .map((p) => {
        const ms = rs.map((r) => r.phases[p]?.ms).filter((x) => x !== undefined);
        return ms.length > 0 ? `, ${p} ${(median(ms) / 1000).toFixed(3)} s` : '';
      })
      .join('');
    console.log(
      `median of ${rs.length} ${name} runs: converge ${(median(rs.map((r) => r.convergeMs)) / 1000).toFixed(3)} s, peak RSS ${median(rs.map((r) => r.proc.hwmMiB)).toFixed(1)} MiB, CPU (run) ${(median(rs.map((r) => r.runCpuMs)) / 1000).toFixed(2)} s` +
        (phases.length > 0
          ? `${ph}, whole-run peak RSS ${median(rs.map((r) => r.peakMiB)).toFixed(1)} MiB`
          : ''),
    );
  }
  if (paired.length > 0) {
    const rss = paired.map((q) => q.rss);
    const peak = paired.map((q) => q.peak);
    const med: Ratios = {
      time: 0,
      rss: 0,
      cpu: 0,
      peak: 0,
      phase: Object.fromEntries(
        phases.map((p) => [p, median(paired.map((q) => q.phase[p] ?? Number.NaN))]),
      ),
    };
    console.log(
      `median ratios ixrs/BIRD over ${paired.length} rounds: convergence ${median(paired.map((q) => q.time)).toFixed(2)}, peak RSS ${median(rss).toFixed(2)} (range ${Math.min(...rss).toFixed(2)}-${Math.max(...rss).toFixed(2)}), CPU (run) ${median(paired.map((q) => q.cpu)).toFixed(2)}` +
        (phases.length > 0
          ? `; whole-run peak RSS ${median(peak).toFixed(2)} (range ${Math.min(...peak).toFixed(2)}-${Math.max(...peak).toFixed(2)}); phase times ${phaseRatios(med)}`
          : ''),
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
