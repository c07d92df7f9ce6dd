// Preloaded into the ixrs process by the benchmark (node --import): on
// SIGUSR2, print one JSON line to stderr with process.memoryUsage() and the
// V8 heap spaces, in MiB, so the report can say where the RSS goes. With
// IXRS_BENCH_HEAPSNAPSHOT=<file> it then writes a heap snapshot there
// (bench/lib/heapsummary.ts summarises it).

import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const mib = (n: number): number => Math.round((n / 2 ** 20) * 10) / 10;

process.on('SIGUSR2', () => {
  const m = process.memoryUsage();
  const spaces: Record<string, number> = {};
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
