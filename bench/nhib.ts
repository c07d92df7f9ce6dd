// RS-BFD benchmark (docs/rs-bfd-profile.md §5-6): how fast a reachability
// report changes what a client is sent, and what the NHIBs cost.
//
//   npm run bench:nhib -- [--clients 100] [--prefixes 5000] [--big 100000]
//                         [--reporters 300] [--reporter-prefixes 10] [--rounds 5] [--damping]
//
// In process, no sockets: the real core (`RouteServer` with the policy built
// from a generated config, createPolicy, and the real wire encoder), the real
// `Nhib` and `RsBfd` wired as src/ops/daemon.ts wires them. Each client's
// routing session is a sink that records when it was last written to; each
// reachability channel (LsChannel) records the BGP-LS UPDATEs it is sent.
// Reports arrive as real BGP-LS UPDATEs (encodeLsUpdates, then decodeMessage,
// outside the timed part) through RsBfd.receive, as the daemon hands them over.
//
// 1. `--clients` clients with `--prefixes` IPv4 /24s each, plus one client
//    with `--big` /24s. Client A and the big client X have reachability
//    channels; A reports X's next hop unreachable. Measured: from the report's
//    arrival (RsBfd.receive) to the last UPDATE written to A (the withdrawals
//    of X's prefixes), and back after the report is withdrawn. Checked: A's
//    Adj-RIB-Out loses and regains exactly X's prefixes; no other client is
//    written to.
// 2. `--reporters` clients, each with a channel, each announcing
//    `--reporter-prefixes` /24s: every channel up at once; time until every
//    request is sent (N × (N-1) Link NLRI); then every client reports every
//    other next hop unreachable, one client's UPDATE after the other: time
//    until every report is applied and the core is idle. RSS and heap the
//    requests and NHIB entries add (after a forced GC), per (client, next hop).
//
// Flap damping (cfg.ixrs.rs_bfd.damping) is off unless --damping: the rounds
// of phase 1 flap one next hop, which damping would (rightly) hold down.
// Every figure is the median of `--rounds` rounds. Run with --expose-gc (the
// npm script does).

import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { makeAttributes } from '../src/bgp/attributes.ts';
import { decodeMessage } from '../src/bgp/codec.ts';
import type { CodecOptions, UpdateMessage } from '../src/bgp/types.ts';
import { type HalfLink, parseRequest, reportItem } from '../src/bgpls/rsbfd.ts';
import { decodeLsUpdate, encodeLsUpdates } from '../src/bgpls/update.ts';
import type { RsConfig as Config } from '../src/config/load.ts';
import { parseConfig } from '../src/config/load.ts';
import { Nhib } from '../src/nhib/nhib.ts';
import type { Sink } from '../src/rs/model.ts';
import { createPolicy } from '../src/rs/policy.ts';
import { type LsChannel, RsBfd } from '../src/rs/rsbfd.ts';
import { RouteServer } from '../src/rs/server.ts';
import { codecEncoder } from '../src/rs/wire.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '100' },
    prefixes: { type: 'string', default: '5000' },
    big: { type: 'string', default: '100000' },
    reporters: { type: 'string', default: '300' },
    'reporter-prefixes': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    damping: { type: 'boolean', default: false },
  },
});
const N_CLIENTS = Number(values.clients);
const N_PREFIXES = Number(values.prefixes);
const N_BIG = Number(values.big);
const N_REPORTERS = Number(values.reporters);
const N_REP_PREFIXES = Number(values['reporter-prefixes']);
const ROUNDS = Number(values.rounds);
const DAMPING = values.damping;

const gc = (globalThis as { gc?: () => void }).gc;
const CODEC: CodecOptions = { as4: true };
const quiet = { warn: () => {}, info: () => {} };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const addrOf = (i: number) => `100.64.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const asnOf = (i: number) => 65001 + i;
const idOf = (i: number) => `AS${asnOf(i)}`;
/** The n-th /24 from 11.0.0.0. */
const pfx = (n: number) => {
  const x = 11 * 2 ** 24 + n * 256;
  return `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.0/24`;
};

/** CPU time of this process (user + system), ms: what the work costs whatever else the machine runs. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function config(n: number): Config {
  const general = `cfg:
  rs_as: 64500
  router_id: "192.0.2.254"
  filtering:
    reject_invalid_as_in_as_path: False
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
    max_prefix: { general_limit_ipv4: 1000000 }
  ixrs:
    rs_bfd:
      damping: { enabled: ${DAMPING ? 'True' : 'False'} }
`;
  const lines = ['clients:'];
  for (let i = 0; i < n; i++) lines.push(`  - { asn: ${asnOf(i)}, ip: "${addrOf(i)}" }`);
  return parseConfig(general, `${lines.join('\n')}\n`).config;
}

class TimedSink implements Sink {
  writes = 0;
  last = 0;
  write(): boolean {
    this.writes++;
    this.last = performance.now();
    return true;
  }
  onDrain(): void {}
}

interface Lab {
  core: RouteServer;
  nhib: Nhib;
  rsbfd: RsBfd;
  sinks: TimedSink[];
  /** BGP-LS UPDATEs sent on each client's channel. */
  lsSent: Uint8Array[][];
  channel(i: number): void;
}

/** The RS as src/ops/daemon.ts wires it, with n clients, every routing session up. */
function lab(n: number): Lab {
  const cfg = config(n);
  let rsbfd: RsBfd | undefined;
  const core = new RouteServer({
    policy: createPolicy(cfg),
    encoder: codecEncoder,
    onNextHopUsage: (ev) => rsbfd?.nextHopUsage(ev),
    log: quiet,
  });
  const nhib = new Nhib({
    hiddenPaths: (c, nh) => core.hiddenPaths(c, nh),
    hiddenPrefixes: (c, nh, k) => core.hiddenPrefixes(c, nh, k),
  });
  for (const c of cfg.clients) {
    nhib.addClient({
      id: c.id,
      asn: c.asn,
      addresses: c.addresses,
      settings: {
        enabled: c.rsBfd.enabled,
        instanceId: cfg.ixrs.rsBfd.instanceId,
        damping: c.rsBfd.damping,
      },
    });
  }
  const routerIds = new Map(cfg.clients.map((c) => [c.id, c.addresses[0]!]));
  rsbfd = new RsBfd({
    core,
    nhib,
    clients: cfg.clients.map((c) => ({
      id: c.id,
      asn: c.asn,
      description: c.description,
      addresses: c.addresses,
      enabled: c.rsBfd.enabled,
    })),
    rsAs: cfg.rsAs,
    instanceId: cfg.ixrs.rsBfd.instanceId,
    routerIdOf: (id) => routerIds.get(id) ?? '0.0.0.0',
    timers: {
      now: () => Date.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    },
    log: quiet,
  });
  const sinks: TimedSink[] = [];
  const lsSent: Uint8Array[][] = [];
  for (let i = 0; i < n; i++) {
    core.addClient(cfg.clients[i]!);
    const s = new TimedSink();
    sinks.push(s);
    lsSent.push([]);
    core.sessionUp(
      idOf(i),
      {
        codec: CODEC,
        families: new Set(['1/1']),
        addPathTx: new Set(),
        groupKey: 'as4',
        bgpId: i + 1,
      },
      s,
    );
  }
  const r = rsbfd;
  return {
    core,
    nhib,
    rsbfd: r,
    sinks,
    lsSent,
    channel(i) {
      const ch: LsChannel = {
        kind: 'agent',
        codec: CODEC,
        localAddress: '192.0.2.254',
        peerRouterId: addrOf(i),
        send: (msgs) => {
          for (const m of msgs) lsSent[i]!.push(m);
        },
      };
      r.channelUp(idOf(i), ch);
    },
  };
}

async function announce(l: Lab, i: number, first: number, count: number): Promise<void> {
  const attrs = makeAttributes({
    origin: 0,
    asPath: [{ type: 2, asns: [asnOf(i)] }],
    nextHop: addrOf(i),
  });
  for (let k = 0; k < count; k += 500) {
    const nlri = [];
    for (let j = k; j < Math.min(count, k + 500); j++) nlri.push({ prefix: pfx(first + j) });
    const msg: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attrs,
      nlri,
      mpReach: null,
      mpUnreach: null,
      errors: [],
    };
    if (!l.core.receiveUpdate(idOf(i), msg)) await l.core.idle();
  }
}

/** The requests client i holds now, by next hop (from what its channel was sent). */
function requestsOf(l: Lab, i: number): Map<string, HalfLink> {
  const out = new Map<string, HalfLink>();
  for (const bytes of l.lsSent[i]!) {
    const m = decodeMessage(bytes, CODEC);
    if (m.type !== 'update') continue;
    const ls = decodeLsUpdate(m);
    if (ls === null) continue;
    for (const w of ls.withdrawn) {
      const p = parseRequest(w, null);
      if (p.ok) out.delete(p.value.nextHop);
    }
    for (const a of ls.announced) {
      const p = parseRequest(a, ls.attribute);
      if (p.ok) out.set(p.value.nextHop, p.value);
    }
  }
  return out;
}

/** Client i's reports (or their withdrawal) as the UPDATEs the speaker would hand over. */
function reports(i: number, links: HalfLink[], withdraw: boolean): UpdateMessage[] {
  const items = links.map((h) => reportItem(h, 'unreachable'));
  return encodeLsUpdates(CODEC, {
    nextHop: addrOf(i),
    asPath: [asnOf(i)],
    announce: withdraw ? [] : items,
    withdraw: withdraw ? items.map((x) => x.nlri) : [],
  }).map((b) => decodeMessage(b, CODEC) as UpdateMessage);
}

async function until(what: string, cond: () => boolean, ms = 600_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(1);
  }
}

function mib(b: number): string {
  return `${(b / 2 ** 20).toFixed(1)} MiB`;
}

async function phase1(): Promise<void> {
  const n = N_CLIENTS + 1;
  const X = N_CLIENTS; // the big client
  const A = 0;
  const t0 = performance.now();
  const l = lab(n);
  for (let i = 0; i < N_CLIENTS; i++) await announce(l, i, i * N_PREFIXES, N_PREFIXES);
  await announce(l, X, N_CLIENTS * N_PREFIXES, N_BIG);
  await l.core.idle();
  const total = N_CLIENTS * N_PREFIXES + N_BIG;
  console.log(
    `phase 1: ${N_CLIENTS} clients × ${N_PREFIXES} + 1 × ${N_BIG} = ${total} prefixes loaded and sent to ${n} clients in ${((performance.now() - t0) / 1000).toFixed(1)} s, RSS ${mib(process.memoryUsage().rss)}`,
  );
  const held = l.core.ribCount(idOf(A));
  l.channel(A);
  l.channel(X);
  await until('A asked about X', () => l.rsbfd.requested(idOf(A)).includes(addrOf(X)));
  const link = requestsOf(l, A).get(addrOf(X))!;
  const down = reports(A, [link], false);
  const up = reports(A, [link], true);
  const downMs: number[] = [];
  const upMs: number[] = [];
  const downCpu: number[] = [];
  const upCpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [msgs, out, cpu, want] of [
      [down, downMs, downCpu, held - N_BIG],
      [up, upMs, upCpu, held],
    ] as const) {
      const before = l.sinks.map((s) => s.writes);
      const c = cpuMs();
      const t = performance.now();
      for (const m of msgs) l.rsbfd.receive(idOf(A), m);
      await l.core.idle();
      await until(`A holds ${want} prefixes`, () => l.core.ribCount(idOf(A)) === want, 60_000);
      await l.core.idle();
      out.push(l.sinks[A]!.last - t);
      cpu.push(cpuMs() - c);
      const others = l.sinks.filter((s, i) => i !== A && s.writes !== before[i]).length;
      if (others > 0) throw new Error(`${others} other clients were written to`);
      await sleep(50);
    }
  }
  const f = (xs: number[]) =>
    `${median(xs).toFixed(1)} ms (rounds: ${xs.map((x) => x.toFixed(1)).join(', ')})`;
  console.log(
    `  A reports X's next hop unreachable -> last UPDATE to A (${N_BIG} withdrawals): ${f(downMs)}`,
  );
  console.log(`  report withdrawn -> last UPDATE to A (${N_BIG} announcements back): ${f(upMs)}`);
  console.log(`  CPU time of the process for the way down: ${f(downCpu)}, back: ${f(upCpu)}`);
  l.rsbfd.close();
  l.core.shutdown();
}

async function phase2Round(): Promise<{
  reqMs: number;
  reqCpu: number;
  repCpu: number;
  repMs: number;
  viewMs: number;
  viewMaxMs: number;
  rss: number;
  heap: number;
  table: number;
}> {
  const n = N_REPORTERS;
  const l = lab(n);
  for (let i = 0; i < n; i++) await announce(l, i, i * N_REP_PREFIXES, N_REP_PREFIXES);
  await l.core.idle();
  gc?.();
  await sleep(100);
  gc?.();
  const m0 = process.memoryUsage();
  const want = n * (n - 1);
  const c0 = cpuMs();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) l.channel(i);
  const requested = () => {
    let s = 0;
    for (let i = 0; i < n; i++) s += l.rsbfd.requested(idOf(i)).length;
    return s;
  };
  await until('every request sent', () => requested() === want);
  const reqMs = performance.now() - t0;
  const reqCpu = cpuMs() - c0;
  // Reports, encoded before the clock starts.
  const msgs = l.sinks.map((_, i) => reports(i, [...requestsOf(l, i).values()], false));
  const c1 = cpuMs();
  const t1 = performance.now();
  for (let i = 0; i < n; i++) {
    for (const m of msgs[i]!) l.rsbfd.receive(idOf(i), m);
    await new Promise((r) => setImmediate(r));
  }
  await l.core.idle();
  const repMs = performance.now() - t1;
  const repCpu = cpuMs() - c1;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      if (i !== j && l.nhib.stateOf(idOf(i), addrOf(j)) !== 'unreachable')
        throw new Error(`report ${i} -> ${j} not applied`);
  for (let i = 0; i < n; i++)
    if (l.core.ribCount(idOf(i)) !== 0) throw new Error(`client ${i} still holds paths`);
  // One client's view (ixrs show nhib C, the web page's /web/client): every
  // other next hop unreachable, each with its hidden prefixes listed.
  const views: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const v = l.nhib.nhibClient(idOf(i))!;
    views.push(performance.now() - t);
    if (v.entries.some((e) => e.hiddenPrefixes.length !== Math.min(e.hiddenPaths, 10)))
      throw new Error(`client ${i}: hidden prefixes not listed`);
  }
  msgs.length = 0;
  for (const x of l.lsSent) x.length = 0;
  gc?.();
  await sleep(100);
  gc?.();
  const m1 = process.memoryUsage();
  const out = {
    reqMs,
    reqCpu,
    repMs,
    repCpu,
    viewMs: median(views),
    viewMaxMs: Math.max(...views),
    rss: (m1.rss - m0.rss) / want,
    heap: (m1.heapUsed + m1.arrayBuffers - m0.heapUsed - m0.arrayBuffers) / want,
    table: l.nhib.tableBytes() / want,
  };
  l.rsbfd.close();
  l.core.shutdown();
  return out;
}

async function phase2(): Promise<void> {
  const rs: Awaited<ReturnType<typeof phase2Round>>[] = [];
  const want = N_REPORTERS * (N_REPORTERS - 1);
  for (let r = 0; r < ROUNDS; r++) {
    rs.push(await phase2Round());
    gc?.();
  }
  const f = (k: keyof (typeof rs)[0], d: number) =>
    `${median(rs.map((x) => x[k])).toFixed(d)} (rounds: ${rs.map((x) => x[k].toFixed(d)).join(', ')})`;
  console.log(
    `phase 2: ${N_REPORTERS} reporting clients, ${want} requests out, ${want} reports in`,
  );
  console.log(`  every channel up -> every request sent: ${f('reqMs', 0)} ms`);
  console.log(`  every report in -> every report applied, core idle: ${f('repMs', 0)} ms`);
  console.log(`  CPU time: requests ${f('reqCpu', 0)} ms, reports ${f('repCpu', 0)} ms`);
  console.log(
    `  one client's NHIB view with ${N_REPORTERS - 1} unreachable next hops and their hidden prefixes (ixrs show nhib C, /web/client): ${f('viewMs', 2)} ms, slowest client ${f('viewMaxMs', 2)} ms`,
  );
  console.log(`  RSS added per (client, next hop): ${f('rss', 1)} bytes`);
  console.log(`  JS heap + buffers added per (client, next hop): ${f('heap', 1)} bytes`);
  console.log(`  NHIB table (Nhib.tableBytes) per (client, next hop): ${f('table', 1)} bytes`);
}

async function main(): Promise<void> {
  console.log(
    `bench:nhib on node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}${gc ? '' : ' (no --expose-gc: memory figures are noise)'}`,
  );
  await phase1();
  gc?.();
  await phase2();
  console.log(
    `load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
