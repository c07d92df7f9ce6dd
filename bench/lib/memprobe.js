// Preloaded into the ixrs process by the benchmark (node --import): on
// SIGUSR2, print one JSON line to stderr with process.memoryUsage() and the
// V8 heap spaces, in MiB, so the report can say where the RSS goes. With
// IXRS_BENCH_HEAPSNAPSHOT=<file> it then writes a heap snapshot there
// (bench/lib/heapsummary.ts summarises it).
//
// Plain JavaScript on purpose: a .ts preload makes Node load its type
// stripper (a WebAssembly build of swc) into the measured process, +17 MiB
// of RSS that `ixrs run` from dist/ never pays (docs/benchmarks.md).

import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

/** @param {number} n bytes @returns {number} MiB, one decimal */
const mib = (n) => Math.round((n / 2 ** 20) * 10) / 10;

process.on('SIGUSR2', () => {
  const m = process.memoryUsage();
  /** @type {Record<string, number>} */
  const spaces = {};
  for (const s of getHeapSpaceStatistics()) spaces[s.space_name] = mib(s.space_size);
  process.stderr.write(
    `${JSON.stringify({
      memprobe: {
        rss: mib(m.rss),
        heapTotal: mib(m.heapTotal),
        heapUsed: mib(m.heapUsed),
        external: mib(m.external),
        arrayBuffers: mib(m.arrayBuffers),
        spaces,
      },
    })}\n`,
  );
  const snap = process.env.IXRS_BENCH_HEAPSNAPSHOT;
  if (snap) {
    writeHeapSnapshot(snap);
    process.stderr.write(`${JSON.stringify({ memprobeSnapshot: snap })}\n`);
  }
});

// IXRS_BENCH_MEMTRACE=<ms>: also one line per period with rss, heap used and
// committed, and array buffers (MiB), to see which of them makes the peak.
const period = Number(process.env.IXRS_BENCH_MEMTRACE ?? 0);
if (period > 0) {
  const t0 = Date.now();
  setInterval(() => {
    const m = process.memoryUsage();
    /** @type {Record<string, number>} */
    const used = {};
    for (const s of getHeapSpaceStatistics()) {
      if (s.space_size > 0) used[s.space_name.replace('_space', '')] = mib(s.space_size);
    }
    const memtrace = {
      t: Date.now() - t0,
      rss: mib(m.rss),
      heapUsed: mib(m.heapUsed),
      heapTotal: mib(m.heapTotal),
      arrayBuffers: mib(m.arrayBuffers),
      spaces: used,
    };
    process.stderr.write(`${JSON.stringify({ memtrace })}\n`);
  }, period).unref();
}

// IXRS_BENCH_ALLOCPROF=1: V8's sampling heap profiler from start, counting
// objects the GC already collected too (garbage is what makes the peak); at
// every SIGUSR2 above, the functions that allocated most so far, one JSON line
// (sampling goes on: the benchmark probes at convergence and at the end).
if (process.env.IXRS_BENCH_ALLOCPROF === '1') {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 64 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  process.on('SIGUSR2', async () => {
    const { profile } = await session.post('HeapProfiler.getSamplingProfile');
    /** @type {Map<string, number>} */
    const byFn = new Map();
    /** @param {import('node:inspector').HeapProfiler.SamplingHeapProfileNode} n */
    const walk = (n) => {
      const f = n.callFrame;
      const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
      byFn.set(k, (byFn.get(k) ?? 0) + n.selfSize);
      for (const c of n.children) walk(c);
    };
    walk(profile.head);
    const top = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25);
    process.stderr.write(`${JSON.stringify({ allocprof: top.map(([k, v]) => [k, mib(v)]) })}\n`);
  });
}

// IXRS_BENCH_ELD=1: the event loop's delay over the run (max and p99, ms) at
// the SIGUSR2 above: what the hold timers and keepalives see.
if (process.env.IXRS_BENCH_ELD === '1') {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  process.on('SIGUSR2', () => {
    const ms = (/** @type {number} */ ns) => Math.round(ns / 1e5) / 10;
    process.stderr.write(
      `${JSON.stringify({ eventLoopDelay: { maxMs: ms(h.max), p99Ms: ms(h.percentile(99)), meanMs: ms(h.mean) } })}\n`,
    );
  });
}
