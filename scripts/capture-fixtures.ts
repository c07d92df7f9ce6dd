// Captures BGP byte fixtures from real daemons talking to each other.
//
//   sudo npx node scripts/capture-fixtures.ts [--keep] [--out fixtures/bgp]
//
// Starts BIRD, FRR, GoBGP, OpenBGPD and ExaBGP in network namespaces on a test
// LAN (test/interop/lib), pairs them (BIRD<->FRR, GoBGP<->OpenBGPD,
// FRR<->GoBGP, ExaBGP->BIRD) over IPv4 and IPv6 with MED, communities, large
// communities, prepends, an AS_SET, ADD-PATH, graceful restart and extended
// next hop where the daemons allow, captures lan traffic with tshark on the
// bridge, ends some sessions with a shutdown communication, then reassembles
// the TCP streams, splits them into BGP messages and writes the interesting
// ones as fixtures/bgp/<sender>-<what>.hex with a .json sidecar holding what
// tshark decoded (normalised to the shapes of src/bgp/types.ts).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import {
  createDaemon,
  type Daemon,
  type DaemonKind,
  type DaemonSpec,
  type NeighborSpec,
  nsRun,
  type RouteSpec,
} from '../test/interop/lib/daemons.ts';
import { Lan, type Member, requirePrograms } from '../test/interop/lib/netns.ts';
import { type TsharkMessage, tsharkMessages } from '../test/interop/lib/pcap.ts';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const outIdx = args.indexOf('--out');
const outDir = outIdx >= 0 ? (args[outIdx + 1] ?? 'fixtures/bgp') : 'fixtures/bgp';

requirePrograms('bird', 'birdc', 'vtysh', 'gobgpd', 'gobgp', 'bgpd', 'bgpctl', 'exabgp', 'tshark');

interface Node {
  kind: DaemonKind;
  as: number;
  idx: number;
  member?: Member;
  neighbors: NeighborSpec[];
  routes: RouteSpec[];
}

const nodes: Record<string, Node> = {
  bird: { kind: 'bird', as: 65001, idx: 1, neighbors: [], routes: [] },
  frr: { kind: 'frr', as: 65002, idx: 2, neighbors: [], routes: [] },
  gobgp: { kind: 'gobgp', as: 65003, idx: 3, neighbors: [], routes: [] },
  openbgpd: { kind: 'openbgpd', as: 65004, idx: 4, neighbors: [], routes: [] },
  exabgp: { kind: 'exabgp', as: 65005, idx: 5, neighbors: [], routes: [] },
};
const v4 = (n: Node) => `192.0.2.${n.idx}`;
const v6 = (n: Node) => `2001:db8::${n.idx}`;

for (const n of Object.values(nodes)) {
  n.routes.push(
    {
      prefix: `198.51.100.${n.idx * 32}/27`,
      med: 10 * n.idx,
      communities: [
        [n.as, 100],
        [65535, 666],
      ],
      largeCommunities: [[n.as, 1, n.idx]],
      prepend: 1,
    },
    { prefix: `198.51.100.${n.idx * 32 + 16}/28` },
    {
      prefix: `2001:db8:${n.idx}00::/48`,
      med: 20 * n.idx,
      communities: [[n.as, 600]],
      largeCommunities: [[n.as, 6, n.idx]],
    },
  );
}
nodes.exabgp?.routes.push({ prefix: '198.51.100.250/32', asSet: [64512, 64513], med: 5 });
nodes.gobgp?.routes.push({ prefix: '198.51.100.248/31', asSet: [64514, 64515] });

/** a<->b over IPv4 and IPv6; `passive`: b waits. */
function pair(
  a: string,
  b: string,
  opts: Partial<NeighborSpec> = {},
  v6opts: Partial<NeighborSpec> = {},
): void {
  const na = nodes[a];
  const nb = nodes[b];
  if (!na || !nb) throw new Error('bad pair');
  na.neighbors.push({ address: v4(nb), as: nb.as, ...opts });
  nb.neighbors.push({ address: v4(na), as: na.as, passive: true, ...opts });
  na.neighbors.push({ address: v6(nb), as: nb.as, ...opts, ...v6opts });
  nb.neighbors.push({ address: v6(na), as: na.as, passive: true, ...opts, ...v6opts });
}
pair(
  'bird',
  'frr',
  { addPath: true, gracefulRestart: true },
  { families: ['ipv6', 'ipv4'], extendedNextHop: true, addPath: false },
);
pair('gobgp', 'openbgpd', { addPath: true, gracefulRestart: true });
pair('frr', 'gobgp');
pair('exabgp', 'bird', { addPath: true });

const lan = new Lan('ixb-');
const daemons: Daemon[] = [];
let tshark: ChildProcess | undefined;
const pcap = `${lan.logDir}/lan.pcap`;
try {
  for (const [name, n] of Object.entries(nodes)) {
    n.member = lan.add({ name, v4: `${v4(n)}/24`, v6: `${v6(n)}/64` });
  }
  tshark = spawn(
    'ip',
    ['netns', 'exec', lan.switchNs, 'tshark', '-q', '-i', 'br0', '-w', pcap, '-f', 'tcp port 179'],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  await new Promise((r) => setTimeout(r, 1500));
  for (const [name, n] of Object.entries(nodes)) {
    const spec: DaemonSpec = {
      kind: n.kind,
      name,
      member: n.member as Member,
      as: n.as,
      routerId: v4(n),
      neighbors: n.neighbors,
      routes: n.routes,
    };
    daemons.push(createDaemon(lan, spec));
  }
  await Promise.all(daemons.map((d) => d.start()));
  // Every session up, then let routes flow.
  await Promise.all(
    daemons.map((d) =>
      Promise.all(d.spec.neighbors.map((n) => d.waitEstablished(n.address, 90_000))),
    ),
  );
  console.log('capture: all sessions established');
  await new Promise((r) => setTimeout(r, 6000));
  for (const d of daemons) {
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const rib = await d.rib(fam).catch((e) => {
        console.log(`${d.name} ${fam}: ${String(e)}`);
        return [];
      });
      console.log(`${d.name} ${fam}: ${rib.length} routes`);
    }
  }
  // Shutdown communications (RFC 9003) from the daemons that can send one.
  const byName = (n: string) => daemons.find((d) => d.name === n) as Daemon;
  await nsRun(byName('frr').ns, 'vtysh', [
    '--vty_socket',
    byName('frr').dir,
    '-c',
    'configure terminal',
    '-c',
    `router bgp ${nodes.frr?.as}`,
    '-c',
    `neighbor ${v4(nodes.gobgp as Node)} shutdown message maintenance by frr`,
  ]);
  await nsRun(byName('bird').ns, 'birdc', [
    '-s',
    `${byName('bird').dir}/bird.ctl`,
    'disable',
    'n0',
    '"maintenance by bird"',
  ]);
  await nsRun(byName('openbgpd').ns, 'bgpctl', [
    '-s',
    `${byName('openbgpd').dir}/bgpd.sock`,
    'neighbor',
    v4(nodes.gobgp as Node),
    'down',
    'maintenance by openbgpd',
  ]);
  await nsRun(byName('gobgp').ns, 'gobgp', [
    '-p',
    '50051',
    'neighbor',
    v6(nodes.frr as Node),
    'disable',
    '--reason',
    'maintenance by gobgp',
  ]).catch((e) => console.log(`gobgp disable: ${String(e)}`));
  await new Promise((r) => setTimeout(r, 3000));
} finally {
  if (tshark?.pid) {
    try {
      process.kill(-tshark.pid, 'SIGINT');
    } catch {
      // gone
    }
    await new Promise((r) => setTimeout(r, 1500));
  }
  if (!keep) {
    for (const d of daemons) await d.stop().catch(() => undefined);
    lan.destroy();
  } else console.log(`capture: kept namespaces; logs in ${lan.logDir}`);
}

// ------------------------------------------------------------------ fixtures

const addrName = new Map<string, string>();
for (const [name, n] of Object.entries(nodes)) {
  addrName.set(v4(n), name);
  addrName.set(v6(n), name);
}
const msgs = tsharkMessages(pcap);
console.log(`capture: ${msgs.length} BGP messages in ${pcap}`);
writeFileSync(`${lan.logDir}/messages.json`, JSON.stringify(msgs, null, 1));

mkdirSync(outDir, { recursive: true });
for (const f of readdirSync(outDir)) if (/\.(hex|json)$/.test(f)) rmSync(`${outDir}/${f}`);

const taken = new Set<string>();
const perKey = new Map<string, number>();
function save(m: TsharkMessage, what: string): void {
  const sender = addrName.get(m.src) ?? 'unknown';
  const receiver = addrName.get(m.dst) ?? 'unknown';
  const base = `${sender}-${what}`;
  if (taken.has(base)) return;
  taken.add(base);
  const hex = Buffer.from(m.bytes).toString('hex');
  writeFileSync(`${outDir}/${base}.hex`, `${hex.replace(/(.{64})/g, '$1\n').trim()}\n`);
  writeFileSync(
    `${outDir}/${base}.json`,
    `${JSON.stringify({ sender, receiver, session: `${m.src} -> ${m.dst}`, opts: m.opts, expected: m.expected }, null, 2)}\n`,
  );
}

for (const m of msgs) {
  const sender = addrName.get(m.src) ?? 'unknown';
  const fam = m.src.includes(':') ? 'v6' : 'v4';
  const e = m.expected;
  let what: string | undefined;
  if (e.type === 'open') {
    const kinds = new Set((e.capabilities ?? []).map((c) => c.kind));
    const extra = ['add-path', 'graceful-restart', 'extended-next-hop'].filter((k) => kinds.has(k));
    what = `open-${fam}${extra.length ? `-${extra.map((k) => k.replace(/-/g, '')).join('-')}` : ''}`;
  } else if (e.type === 'keepalive') what = 'keepalive';
  else if (e.type === 'notification') what = `notification-${e.code}-${e.subcode}`;
  else if (e.type === 'route-refresh') what = 'route-refresh';
  else if (e.type === 'update') {
    const u = e;
    const nl = (u.nlri?.length ?? 0) + (u.mpReach?.nlri.length ?? 0);
    const wd = (u.withdrawn?.length ?? 0) + (u.mpUnreach?.nlri.length ?? 0);
    const a = u.attrs;
    const tags: string[] = [];
    if (nl === 0 && wd === 0) tags.push('eor');
    if (u.mpReach) tags.push(u.mpReach.afi === 2 ? 'mp-v6' : 'mp-v4');
    if (u.mpReach && u.mpReach.afi === 1 && u.mpReach.nextHop.global.includes(':'))
      tags.push('enhe');
    if (u.mpUnreach) tags.push('mp-unreach');
    if (u.nlri?.length) tags.push('v4');
    if (wd > 0 && nl === 0) tags.push('withdraw');
    if (
      u.nlri?.some((x) => x.pathId !== undefined) ||
      u.mpReach?.nlri.some((x) => x.pathId !== undefined)
    )
      tags.push('addpath');
    if (a?.asPath.some((s) => s.type === 1)) tags.push('asset');
    if (a?.largeCommunities?.length) tags.push('large');
    else if (a?.communities?.length) tags.push('comm');
    if (a?.med !== undefined && !a.largeCommunities?.length) tags.push('med');
    if (u.mpReach?.nextHop.linkLocal) tags.push('ll');
    what = `update-${tags.join('-') || 'other'}`;
    if (tags.includes('eor'))
      what = `update-eor-${u.mpUnreach ? (u.mpUnreach.afi === 2 ? 'v6' : 'v4mp') : 'v4'}`;
  }
  if (!what) continue;
  const k = `${sender}-${what}`;
  perKey.set(k, (perKey.get(k) ?? 0) + 1);
  save(m, what);
}
console.log(`capture: wrote ${taken.size} fixtures to ${outDir}`);
execFileSync('ls', ['-1', outDir], { stdio: 'inherit' });
