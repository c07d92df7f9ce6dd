// Load self-check for the route-server core (not the benchmark; see `npm run bench`).
// 100 clients x 5,000 IPv4 prefixes each (4,000 own + 1,000 shared by all),
// real codec, fake sinks that count bytes, the default setImmediate scheduler.
// Run: node --expose-gc test/rs/load.ts [clients] [prefixesPerClient]

import { decodeMessage, encodeUpdates, makeAttributes } from '../../src/bgp/codec.ts';
import type { Nlri, UpdateMessage } from '../../src/bgp/types.ts';
import { RouteServer, type Sink } from '../../src/rs/server.ts';
import { client, FakePolicy, info } from './helpers.ts';

const N = Number(process.argv[2] ?? 100);
const PER = Number(process.argv[3] ?? 5000);
const SHARED = Math.floor(PER / 5);
const OWN = PER - SHARED;

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

class CountingSink implements Sink {
  bytes = 0;
  msgs = 0;
  write(b: Uint8Array): boolean {
    this.bytes += b.length;
    this.msgs++;
    return true;
  }
  onDrain(): void {}
}

const addr = (i: number) => `10.255.${i >> 8}.${i & 255}`;
const ownPrefix = (c: number, k: number) => {
  const n = c * OWN + k;
  return `${20 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}.0/24`;
};
const sharedPrefix = (k: number) => `100.${64 + (k >> 8)}.${k & 255}.0/24`;

const heap0 = heap();
const rs = new RouteServer({
  policy: new FakePolicy(),
  log: { warn: () => {}, info: () => {} },
});
const sinks: CountingSink[] = [];
for (let c = 0; c < N; c++) {
  const asn = 64512 + c;
  rs.addClient(client(asn, [addr(c)]));
  const s = new CountingSink();
  sinks.push(s);
  rs.sessionUp(`AS${asn}`, info({ bgpId: c + 1 }), s);
}
await rs.idle();

const byClient: UpdateMessage[][] = [];
for (let c = 0; c < N; c++) {
  const asn = 64512 + c;
  const own = makeAttributes({
    origin: 0,
    asPath: [{ type: 2, asns: [asn, 3000 + c] }],
    nextHop: addr(c),
  });
  const shared = makeAttributes({
    origin: 0,
    asPath: [{ type: 2, asns: [asn, 3000 + c, 174] }],
    nextHop: addr(c),
    communities: [(asn << 16) | 100],
  });
  // As the session layer hands them over: packed by the codec, decoded per
  // message (so each UPDATE brings its own attribute object).
  const mine: UpdateMessage[] = [];
  byClient.push(mine);
  const push = (attrs: typeof own, nlri: Nlri[]) => {
    for (const b of encodeUpdates({ as4: true }, { afi: 1, safi: 1, attrs, nlri, withdrawn: [] })) {
      mine.push(decodeMessage(b, { as4: true }) as UpdateMessage);
    }
  };
  push(
    own,
    Array.from({ length: OWN }, (_, k) => ({ prefix: ownPrefix(c, k) })),
  );
  push(
    shared,
    Array.from({ length: SHARED }, (_, k) => ({ prefix: sharedPrefix(k) })),
  );
}
const heapMsgs = heap();

// Event-loop lag probe: how late a 5 ms timer fires while the RS works.
let maxLag = 0;
let last = performance.now();
const probe = setInterval(() => {
  const now = performance.now();
  maxLag = Math.max(maxLag, now - last - 5);
  last = now;
}, 5);

const t0 = performance.now();
// Interleave the clients' messages as if their sessions sent concurrently.
const most = Math.max(...byClient.map((l) => l.length));
let inputMsgs = 0;
for (let j = 0; j < most; j++) {
  for (let c = 0; c < N; c++) {
    const m = byClient[c]![j];
    if (m === undefined) continue;
    rs.receiveUpdate(`AS${64512 + c}`, m);
    inputMsgs++;
  }
}
await rs.idle();
const t1 = performance.now();
clearInterval(probe);
byClient.length = 0;
const heapLoaded = heap();
const st = rs.stats();
const out = sinks.reduce((a, s) => a + s.bytes, 0);
const outMsgs = sinks.reduce((a, s) => a + s.msgs, 0);

const held1 = rs.ribCount('AS64513');
// A late joiner: full initial dump.
const late = new CountingSink();
rs.addClient(client(65500, ['10.254.0.1']));
const t2 = performance.now();
rs.sessionUp('AS65500', info({ bgpId: 9999 }), late);
await rs.idle();
const t3 = performance.now();

// NHIB: client 1 reports client 0's next hop unreachable (rs-bfd-profile §5).
const before = sinks.map((x) => x.msgs);
const t6 = performance.now();
rs.setNextHopReachability('AS64513', addr(0), true);
await rs.idle();
const t7 = performance.now();
const touched = sinks.filter((x, i) => x.msgs !== before[i]).length;
const nhibMsgs = sinks[1]!.msgs - before[1]!;

// Churn: one client withdraws everything.
const t4 = performance.now();
rs.sessionDown('AS64512');
await rs.idle();
const t5 = performance.now();

const fmt = (x: number) => x.toFixed(0);
console.log(
  `clients ${N}, prefixes/client ${PER} (${OWN} own + ${SHARED} shared), paths ${N * PER}, input UPDATEs ${inputMsgs}`,
);
console.log(
  `table: ${st.prefixes} prefixes, ${st.attrSets} attribute sets, export verdicts computed ${st.exportCalls}`,
);
console.log(
  `load + fan-out: ${fmt(t1 - t0)} ms; ${outMsgs} UPDATEs (${(out / 2 ** 20).toFixed(1)} MiB) written, ${st.encodes} encodeUpdates calls; max timer lag ${maxLag.toFixed(1)} ms; ${rs.slices} slices, longest ${rs.maxSliceMs.toFixed(1)} ms`,
);
console.log(`per-client RIB held (AS64513): ${held1}`);
console.log(
  `late joiner dump: ${fmt(t3 - t2)} ms, ${late.msgs} msgs, held ${rs.ribCount('AS65500')}`,
);
console.log(
  `NHIB: next hop of AS64512 unreachable for AS64513: ${fmt(t7 - t6)} ms, ${nhibMsgs} UPDATEs to AS64513, sessions written to: ${touched}`,
);
console.log(`session down of one client (${PER} paths) processed: ${fmt(t5 - t4)} ms`);
console.log(
  `heap: base ${fmt(heap0)} MiB, input messages built ${fmt(heapMsgs)} MiB, after load ${fmt(heapLoaded)} MiB (RS state ~${fmt(heapLoaded - heap0)} MiB); rss ${fmt(process.memoryUsage().rss / 2 ** 20)} MiB`,
);
rs.shutdown();
