// Rendering cost of GET /metrics (createMetrics, src/ops/http/metrics.ts) at
// N clients, without the route server: a synthetic core answering sessions()
// and clientSummary() for N clients with two sessions each, as a loaded
// route server would. Prints the median and worst of R renderings (after a
// warm-up), the exposition size, and the per-scrape costs around it.
//
//   node bench/metrics.ts [--clients 100] [--rounds 50] [--out FILE]

import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createMetrics } from '../src/ops/http/metrics.ts';
import type { CoreQueries } from '../src/ops/model.ts';
import type { ClientConfig } from '../src/rs/policy-api.ts';
import type { ClientSummary, SessionSnapshot } from '../src/rs/server.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '50' },
    /** Write the last exposition to this file (to compare renderings). */
    out: { type: 'string' },
  },
});
const n = Number(values.clients);
const rounds = Number(values.rounds);
const clients: ClientConfig[] = [];
for (let i = 0; i < n; i++) {
  clients.push({
    id: `AS${64512 + i}`,
    asn: 64512 + i,
    addresses: [`192.0.2.${(i % 250) + 1}`, `2001:db8::${(i + 1).toString(16)}`],
    description: `client ${i}`,
    passive: true,
    addPath: false,
    filtering: { authorizedNextHops: [], irrPrefixes: null, irrOrigins: null },
  });
}
let tick = 0;
const core: CoreQueries = {
  routes: () => [],
  findRoutes: () => ({ routes: [], truncated: false }),
  exported: () => ({ routes: [], truncated: false }),
  ribCount: () => 5000 * n + tick,
  sessions(): SessionSnapshot[] {
    return clients.flatMap((c) =>
      c.addresses.map((a) => ({
        client: c.id,
        session: `${c.id}@${a}`,
        address: a,
        state: 'up' as const,
        since: Date.now() - 3600_000,
        families: a.includes(':') ? ['2/1'] : ['1/1'],
        group: 'g',
        blocked: false,
        dumping: [],
        held: 5000 * n + tick,
        adjIn: 5000 + tick,
      })),
    );
  },
  clientSummary(id: string): ClientSummary {
    return {
      id,
      received: 5000 + tick,
      accepted: 4900 + tick,
      rejected: 100,
      rejectedKept: 100,
      rejectedNotKept: 0,
      rejectedByReason: { '2': 60, '5': 40 },
      blocked: 0,
      withdrawnReceived: tick,
      treatAsWithdraw: 0,
      acceptedByAfi: { '1': 4000 + tick, '2': 900 },
      sentUpdates: 100_000 + tick,
      sentNlri: 500_000 + tick,
    };
  },
};
const m = createMetrics({
  core,
  counters: {
    stats: () => ({ prefixes: 250_000, attrSets: 4000 }),
    inputBacklog: 0,
    maxSliceMs: 5,
    slices: 1000,
  },
  input: { paused: false, stats: { pauses: 0, forcedRounds: 0 } },
  clients,
  reasons: { 2: 'Prefix is bogon', 5: 'Invalid NEXT_HOP' },
  bgpState: () => 'Established',
});
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const render: number[] = [];
const encode: number[] = [];
const gzip: number[] = [];
let text = '';
for (let r = 0; r < rounds + 10; r++) {
  tick++;
  const t0 = performance.now();
  text = await m.scrape();
  const t1 = performance.now();
  const buf = Buffer.from(text);
  const t2 = performance.now();
  gzipSync(buf, { level: 1 });
  const t3 = performance.now();
  if (r < 10) continue;
  render.push(t1 - t0);
  encode.push(t2 - t1);
  gzip.push(t3 - t2);
}
const f = (xs: number[]): string =>
  `median ${median(xs).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms`;
console.log(
  `${n} clients: ${text.length} octets, ${text.split('\n').length} lines, gzip -1 ${gzipSync(text, { level: 1 }).length} octets`,
);
console.log(`render: ${f(render)}`);
console.log(`Buffer.from: ${f(encode)}`);
console.log(`gzip -1: ${f(gzip)}`);
if (values.out !== undefined) writeFileSync(values.out, text);
