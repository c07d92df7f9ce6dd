// Agent benchmark: one `ixrs agent` (in its own process, BFD in its worker
// thread) checking N next hops at 100 ms x 3, the peers simulated by ixrs's own
// BFD in a second process (one loopback address per peer in 127.2.0.0/16,
// passive sessions), while a scripted RS-BFD route server in this process
// re-sends the agent's whole request set every few seconds. Prints the agent's
// CPU (whole process, its main thread and its BFD thread), the BFD thread's
// event-loop delay against the main thread's (what bounds how late a BFD
// packet can leave), and false Downs (goal 0).
//
//   npm run bench:agent -- [--next-hops N] [--interval MS] [--multiplier M]
//                          [--seconds S] [--resend S] [--port P] [--priority=-N]
//                          [--main-block MS]
//
// --main-block MS keeps the agent's main thread busy for MS ms at every
// re-send (a stand-in for heavy BGP-LS work): BFD, in its own thread, must not
// notice.
// --priority renices the agent and the far side (as one would run a BFD
// daemon; below 0 needs root); the route server in this process keeps 0. The
// agent's BFD thread runs BFD_PRIORITY_BOOST (5) levels above its process when
// allowed, and so does the far side (it stands for other agents' BFD threads).

import { type ChildProcess, fork } from 'node:child_process';
import { loadavg, setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Agent, BFD_PRIORITY_BOOST } from '../src/agent/agent.ts';
import type { BfdThreadStats } from '../src/agent/bfd-thread.ts';
import { bgplsCodec } from '../src/agent/bgpls-codec.ts';
import { BfdManager } from '../src/bfd/manager.ts';
import { checkLink, type RsClient, ScriptedRs } from '../test/agent/lib/scripted-rs.ts';

const { values } = parseArgs({
  options: {
    'next-hops': { type: 'string', default: '1000' },
    interval: { type: 'string', default: '100' },
    multiplier: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '60' },
    resend: { type: 'string', default: '5' },
    port: { type: 'string', default: '14784' },
    role: { type: 'string', default: 'main' },
    'rs-port': { type: 'string', default: '0' },
    priority: { type: 'string', default: '0' },
    'main-block': { type: 'string', default: '0' },
  },
});
const mainBlockMs = Number(values['main-block']);
const priority = Number(values.priority);
// The far side stands for other members' agents, whose BFD threads run
// BFD_PRIORITY_BOOST above their process: give it the same.
const own = values.role === 'far' ? Math.max(-20, priority - BFD_PRIORITY_BOOST) : priority;
if (own !== 0) {
  try {
    setPriority(own); // as a BFD daemon would run (below 0 needs root)
  } catch (err) {
    console.error(`cannot set priority ${own}: ${(err as Error).message}`);
  }
}
const N = Number(values['next-hops']);
const intervalMs = Number(values.interval);
const multiplier = Number(values.multiplier);
const seconds = Number(values.seconds);
const resendS = Number(values.resend);
const bfdPort = Number(values.port);
const RS = '127.0.80.1';
const NEAR: RsClient = { address: '127.0.80.2', asn: 64502, routerId: '127.0.80.2' };

function farAddress(i: number): string {
  return `127.2.${(i >> 8) & 255}.${i & 255}`;
}
function farAddresses(n: number): string[] {
  const out: string[] = [];
  for (let i = 1; out.length < n; i++)
    if ((i & 255) !== 0 && (i & 255) !== 255) out.push(farAddress(i));
  return out;
}
function farClient(a: string, i: number): RsClient {
  return { address: a, asn: 4_200_000_000 + i, routerId: a };
}

interface FarSample {
  cpuUs: number;
  wallMs: number;
  downs: number;
  why: Record<string, number>;
  stalls: number;
}

function delta(a: Record<string, number>, b: Record<string, number>): string {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (v - (a[k] ?? 0) > 0) out[k] = v - (a[k] ?? 0);
  return JSON.stringify(out);
}

interface NearSample {
  wallMs: number;
  cpuUs: number;
  mainCpuUs: number;
  bfd: BfdThreadStats | undefined;
  mainLoop: { p50: number; p99: number; max: number };
  bfdDowns: number;
  downWhy: Record<string, number>;
  unreachable: number;
  reachable: number;
  requests: number;
}

// ---- far side: ixrs BFD answering on N addresses ------------------------------

async function far(): Promise<void> {
  const locals = farAddresses(N);
  const m = new BfdManager({
    local: locals,
    port: bfdPort,
    intervalMs,
    multiplier,
    allow: ['127.0.80.0/24'],
    maxPassive: N + 10,
  });
  let downs = 0;
  const why: Record<string, number> = {};
  m.subscribe((e) => {
    if (e.state === 'Down' && e.previous === 'Up') {
      downs++;
      why[e.diag] = (why[e.diag] ?? 0) + 1;
    }
  });
  await m.start();
  process.on('message', (msg: unknown) => {
    if (msg === 'sample') {
      const c = process.cpuUsage();
      process.send!({
        cpuUs: c.user + c.system,
        wallMs: performance.now(),
        downs,
        why: { ...why },
        stalls: m.stalls,
      });
    }
    if (msg === 'stop') void m.close({ adminDown: false }).then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send!('ready');
}

// ---- near side: the agent --------------------------------------------------------

async function near(): Promise<void> {
  let bfdDowns = 0;
  const downWhy: Record<string, number> = {};
  let unreachable = 0;
  let reachable = 0;
  const agent = new Agent({
    asn: NEAR.asn,
    local: NEAR.address,
    rs: RS,
    rsPort: Number(values['rs-port']),
    lan: ['127.0.80.0/24'],
    bfdPort,
    bfdIntervalMs: intervalMs,
    bfdMultiplier: multiplier,
    connectRetryS: 1,
    codec: bgplsCodec,
    json: true,
    logger: pino({ level: 'warn' }),
    out: (line) => {
      const e = JSON.parse(line) as {
        event: string;
        state: string;
        previous: string;
        diag: string;
      };
      if (e.event === 'bfd' && e.state === 'Down' && e.previous === 'Up') {
        bfdDowns++;
        downWhy[e.diag] = (downWhy[e.diag] ?? 0) + 1;
      }
      if (e.event === 'report' && e.state === 'unreachable') unreachable++;
      if (e.event === 'report' && e.state === 'reachable') reachable++;
    },
  });
  await agent.start();
  if (mainBlockMs > 0) {
    // Stand-in for a burst of BGP-LS work: the agent's main thread busy at every re-send.
    setInterval(() => {
      const until = performance.now() + mainBlockMs;
      while (performance.now() < until) {
        // busy
      }
    }, resendS * 1000).unref();
  }
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  process.on('message', (msg: unknown) => {
    if (msg === 'sample' || msg === 'sample-reset') {
      const reset = msg === 'sample-reset';
      void (agent.bfdStats(reset) ?? Promise.resolve(undefined)).then((bfd) => {
        const c = process.cpuUsage();
        const t = process.threadCpuUsage();
        const s: NearSample = {
          wallMs: performance.now(),
          cpuUs: c.user + c.system,
          mainCpuUs: t.user + t.system,
          bfd,
          mainLoop: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
          bfdDowns,
          downWhy: { ...downWhy },
          unreachable,
          reachable,
          requests: agent.core.size,
        };
        if (reset) lag.reset();
        process.send!(s);
      });
    }
    if (msg === 'stop') void agent.stop().then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send!('ready');
}

// ---- main: the scripted route server, orchestration ---------------------------------

function ask<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(what);
  });
}

function start(role: string, extra: string[] = []): Promise<ChildProcess> {
  const child = fork(new URL(import.meta.url).pathname, [
    `--role=${role}`,
    `--next-hops=${N}`,
    `--interval=${intervalMs}`,
    `--multiplier=${multiplier}`,
    `--port=${bfdPort}`,
    `--priority=${priority}`,
    `--main-block=${mainBlockMs}`,
    `--resend=${resendS}`,
    ...extra,
  ]);
  return new Promise((resolve) => child.once('message', () => resolve(child)));
}

async function main(): Promise<void> {
  const c = bgplsCodec;
  console.log(
    `agent bench: ${N} next hops, BFD ${intervalMs} ms x ${multiplier}, request set re-sent every ${resendS} s, ${seconds} s measured, priority ${priority}, agent main thread blocked ${mainBlockMs} ms per re-send, node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const rs = new ScriptedRs({ address: RS, asn: 64500, codec: c });
  await rs.start();
  rs.addClient(NEAR);
  const fars = farAddresses(N);
  const farChild = await start('far');
  const nearChild = await start('near', [`--rs-port=${rs.port}`]);
  await rs.waitFor(() => rs.established(NEAR.address), 15_000, 'the agent session');
  const t0 = performance.now();
  rs.request(
    NEAR.address,
    fars.map((a, i) => checkLink(NEAR, farClient(a, i))),
  );
  const allReachable = () =>
    [...rs.reports(NEAR.address).values()].filter((s) => s === 'reachable').length === N;
  await rs.waitFor(allReachable, 60_000, `${N} reachable reports`);
  console.log(
    `all ${N} next hops reported reachable ${(performance.now() - t0).toFixed(0)} ms after the requests`,
  );
  await new Promise((r) => setTimeout(r, 2000)); // Poll/Final sequences settle
  const unreachableAtRs = () =>
    rs.events.filter((e) => e.kind === 'report' && e.state === 'unreachable').length;
  const u0 = unreachableAtRs();
  const a0 = await ask<NearSample>(nearChild, 'sample-reset');
  const f0 = await ask<FarSample>(farChild, 'sample');
  let resends = 0;
  const timer = setInterval(() => {
    rs.resend(NEAR.address);
    resends++;
  }, resendS * 1000);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
  const a1 = await ask<NearSample>(nearChild, 'sample');
  const f1 = await ask<FarSample>(farChild, 'sample');
  const wall = a1.wallMs - a0.wallMs;
  const pct = (us: number) => ((us / 1000 / wall) * 100).toFixed(1);
  const bfdCpu = (a1.bfd?.cpuMs ?? 0) - (a0.bfd?.cpuMs ?? 0);
  console.log(
    `agent CPU: ${pct(a1.cpuUs - a0.cpuUs)}% of one core (main thread ${pct(a1.mainCpuUs - a0.mainCpuUs)}%, BFD thread ${((bfdCpu / wall) * 100).toFixed(1)}%)`,
  );
  const farWall = f1.wallMs - f0.wallMs;
  console.log(
    `far side (ixrs BFD, ${N} addresses): CPU ${(((f1.cpuUs - f0.cpuUs) / 1000 / farWall) * 100).toFixed(1)}% of one core`,
  );
  console.log(
    `request set re-sent ${resends} times (${N} requests each); next hops checked at the end: ${a1.requests}`,
  );
  console.log(
    `false Downs after all Up: agent BFD Up->Down ${a1.bfdDowns - a0.bfdDowns}, unreachable verdicts ${a1.unreachable - a0.unreachable}, unreachable reports at the RS ${unreachableAtRs() - u0}; far side Up->Down ${f1.downs - f0.downs}`,
  );
  console.log(
    `Down reasons: agent ${delta(a0.downWhy, a1.downWhy)} (detection-time-expired: the agent timed out; neighbor-signaled: the far side did), far side ${delta(f0.why, f1.why)}, far timer stalls > 20 ms: ${f1.stalls - f0.stalls}`,
  );
  const budget = intervalMs * 0.1;
  console.log(
    `BFD thread event-loop delay: p50 ${a1.bfd?.loopDelayMs.p50} ms, p99 ${a1.bfd?.loopDelayMs.p99} ms, max ${a1.bfd?.loopDelayMs.max} ms (10% of the interval: ${budget} ms); timer stalls > 20 ms: ${(a1.bfd?.stalls ?? 0) - (a0.bfd?.stalls ?? 0)}`,
  );
  console.log(
    `agent main thread (BGP-LS) event-loop delay: p50 ${a1.mainLoop.p50} ms, p99 ${a1.mainLoop.p99} ms, max ${a1.mainLoop.max} ms`,
  );
  nearChild.send('stop');
  farChild.send('stop');
  await Promise.all(
    [nearChild, farChild].map(
      (ch) =>
        new Promise((r) => {
          ch.once('exit', r);
          setTimeout(r, 3000);
        }),
    ),
  );
  nearChild.kill();
  farChild.kill();
  await rs.stop();
}

if (values.role === 'far') await far();
else if (values.role === 'near') await near();
else await main();
