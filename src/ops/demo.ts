// `ixrs demo`: the route server and four simulated clients in one process, on
// loopback (127.0.0.1 for the route server, 127.0.0.11-14 for the clients;
// 127.0.0.0/8 is local on Linux, no root needed). The clients announce a few
// IPv4/IPv6 prefixes; the demo waits until routing has converged, prints what
// every client received and what the route server rejected (and why), plays an
// RS-BFD cut with an agent beside every client (demo-rsbfd.ts), then shuts
// down with a Cease to every client. --keep keeps it running with the control
// socket so `ixrs show` can be tried.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { makeAttributes } from '../bgp/attributes.ts';
import { encodeEndOfRib, endOfRibFamily } from '../bgp/codec.ts';
import { BgpSpeaker, type PeerDown } from '../bgp/speaker.ts';
import { AFI, SAFI, type UpdateMessage } from '../bgp/types.ts';
import { ConfigError, formatWarning, parseConfig } from '../config/load.ts';
import type { LogLevel, RsConfig } from '../config/types.ts';
import { handleRequest } from './control.ts';
import { type Daemon, ipv4ToU32, startDaemon } from './daemon.ts';
import { CUT, type CutOutcome, playCut, renderCut } from './demo-rsbfd.ts';
import { formatAsPath, formatCommunity, type RoutesResult } from './model.ts';
import { table } from './render.ts';
import { makeLogger, waitForSignal } from './run.ts';

export const DEMO_HELP = `Usage: ixrs demo [options]

Start the route server on 127.0.0.1 with four simulated clients (AS64501-64504
on 127.0.0.11-14), each announcing a few IPv4 and IPv6 prefixes. Shows:
  - every client receives the others' routes with the original next hop and
    AS path (RFC 7947 transparency), never its own;
  - 198.51.100.0/24 is announced by AS64501 (AS path 1 long) and AS64502
    (2 long); AS64501 tags it 0:64503 (do not announce to AS64503), so
    AS64503 gets the second best, AS64502's path (path hiding mitigation,
    RFC 7947 §2.3.2.1);
  - AS64504's bogon 192.168.0.0/16 is rejected, with the reason.
Waits until routing has converged, prints what each client received and what
was rejected. Then RS-BFD: an ixrs agent (in this process) beside every client,
from the client's address, BFD 100 ms x 3; the link between AS64501 and
AS64502 is cut (their BFD packets dropped, both ways, no root needed) and
healed. Shows AS64501's routes before, during (AS64502's IPv4 prefixes gone,
192.0.2.0/24 from AS64504 instead) and after, the times from the cut to the
BFD Down, the report and the last UPDATE at AS64501 (and back from the heal),
'ixrs show nhib 64501' and 'ixrs show routes P --client 64501' meanwhile.
Then shuts down (Cease with a shutdown message) and exits 0. About 5 s.

Options:
  --keep            keep running (until Ctrl-C) with the control socket, so
                    'ixrs show sessions --socket PATH' etc. can be tried
  --socket PATH     control socket with --keep (default: the demo config's,
                    /tmp/ixrs-demo.sock)
  --port N          route server TCP port on 127.0.0.1 (default 0: any free port)
  --json            print the outcome as JSON
  --log-level L     route server log level on stderr (default: error)
  --timeout S       give up if not converged within S seconds (default 20)
  --no-cut          skip the RS-BFD part (no agents)
  -h, --help        this text

Configuration: fixtures/config/demo-general.yml (RS AS64500, filters,
communities); the clients are built in code (see DEMO_CLIENTS in src/ops/demo.ts).
`;

/** A simulated client and what it announces. */
export interface DemoClient {
  asn: number;
  ip: string;
  description: string;
  /** IPv6 next hop it announces (authorized in its clients.yml entry). */
  nextHop6: string;
  routes: { prefix: string; asPath: number[]; communities?: string[] }[];
}

export const RS_ADDRESS = '127.0.0.1';

export const DEMO_CLIENTS: readonly DemoClient[] = [
  {
    asn: 64501,
    ip: '127.0.0.11',
    description: 'demo client A',
    nextHop6: '2001:db8:ffff::11',
    routes: [
      { prefix: '198.18.1.0/24', asPath: [64501] },
      // Best path for 198.51.100.0/24, hidden from AS64503 (do_not_announce_to_peer 0:peer_as).
      { prefix: '198.51.100.0/24', asPath: [64501], communities: ['0:64503'] },
      { prefix: '2001:db8:a::/48', asPath: [64501] },
    ],
  },
  {
    asn: 64502,
    ip: '127.0.0.12',
    description: 'demo client B',
    nextHop6: '2001:db8:ffff::12',
    routes: [
      { prefix: '198.18.2.0/24', asPath: [64502] },
      { prefix: '198.51.100.0/24', asPath: [64502, 64510] },
      { prefix: '2001:db8:b::/48', asPath: [64502, 64511] },
      // Also announced by AS64504 (longer): the fallback when AS64502 is unreachable.
      { prefix: '192.0.2.0/24', asPath: [64502] },
    ],
  },
  {
    asn: 64503,
    ip: '127.0.0.13',
    description: 'demo client C',
    nextHop6: '2001:db8:ffff::13',
    routes: [
      { prefix: '198.18.3.0/24', asPath: [64503] },
      // Prepended, with a plain and a large community: passed through unchanged.
      {
        prefix: '203.0.113.0/24',
        asPath: [64503, 64503, 64503],
        communities: ['64503:100', '64503:1:2'],
      },
      { prefix: '2001:db8:c::/48', asPath: [64503] },
    ],
  },
  {
    asn: 64504,
    ip: '127.0.0.14',
    description: 'demo client D',
    nextHop6: '2001:db8:ffff::14',
    routes: [
      { prefix: '198.18.4.0/24', asPath: [64504] },
      { prefix: '2001:db8:d::/48', asPath: [64504] },
      { prefix: '192.0.2.0/24', asPath: [64504, 64520] },
      // A bogon (RFC 1918): rejected by the route server, reason 2.
      { prefix: '192.168.0.0/16', asPath: [64504] },
    ],
  },
];

/** clients.yml (arouteserver format) for the demo clients. */
export function demoClientsYaml(clients: readonly DemoClient[]): string {
  const lines = ['clients:'];
  for (const c of clients) {
    lines.push(
      `  - asn: ${c.asn}`,
      `    ip: "${c.ip}"`,
      `    description: "${c.description}"`,
      '    cfg:',
      '      filtering:',
      '        next_hop:',
      '          policy: "authorized_addresses"',
      `          authorized_addresses_list: ["${c.ip}", "${c.nextHop6}"]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/config/${name}`, import.meta.url));
}

/** The demo's configuration: fixtures/config/demo-general.yml + the built-in clients. */
export function demoConfig(): { config: RsConfig; warnings: string[] } {
  const general = fixturePath('demo-general.yml');
  const generalText = existsSync(general)
    ? readFileSync(general, 'utf8')
    : // Fallback when the fixture is absent: the essentials in code.
      'cfg:\n  rs_as: 64500\n  router_id: "127.0.0.1"\n  filtering:\n    reject_invalid_as_in_as_path: False\n    irrdb:\n      enforce_origin_in_as_set: False\n      enforce_prefix_in_as_set: False\n  ixrs:\n    control_socket: "/tmp/ixrs-demo.sock"\n    bogons: ["0.0.0.0/0", "10.0.0.0/8", "127.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]\n';
  const { config, warnings } = parseConfig(generalText, demoClientsYaml(DEMO_CLIENTS), {
    general: 'demo-general.yml',
    clients: 'demo clients (built in)',
  });
  return { config, warnings: warnings.map(formatWarning) };
}

// ---------------------------------------------------------------- simulated clients

export interface Received {
  prefix: string;
  nextHop: string;
  asPath: string;
  communities: string[];
}

function splitCommunities(texts: readonly string[]): {
  communities?: number[];
  largeCommunities?: [number, number, number][];
} {
  const std: number[] = [];
  const lrg: [number, number, number][] = [];
  for (const t of texts) {
    const p = t.split(':').map(Number);
    if (p.length === 3) lrg.push([p[0]!, p[1]!, p[2]!]);
    else std.push(((p[0]! << 16) | p[1]!) >>> 0);
  }
  return {
    ...(std.length > 0 ? { communities: std } : {}),
    ...(lrg.length > 0 ? { largeCommunities: lrg } : {}),
  };
}

/** One simulated client: a BgpSpeaker with one active peer, the route server. */
class SimClient {
  readonly def: DemoClient;
  readonly speaker: BgpSpeaker;
  readonly rib = new Map<string, Received>();
  readonly eor = new Set<string>();
  established = false;
  lastMessage = 0;
  /** UPDATEs received (End-of-RIB aside). */
  updates = 0;
  /** performance.now() of the last UPDATE that changed the rib. */
  lastChange = 0;
  /** The NOTIFICATION that ended the session, as "code/subcode: shutdown message". */
  goodbye: string | null = null;

  constructor(def: DemoClient, rsAs: number, rsPort: number, log: pino.Logger) {
    this.def = def;
    this.speaker = new BgpSpeaker({ listen: [], logger: log.child({ sim: `AS${def.asn}` }) });
    const peer = this.speaker.addPeer({
      peerAddress: RS_ADDRESS,
      port: rsPort,
      localAddress: def.ip,
      localAs: def.asn,
      peerAs: rsAs,
      routerId: ipv4ToU32(def.ip),
      families: [
        { afi: AFI.IPV4, safi: SAFI.UNICAST },
        { afi: AFI.IPV6, safi: SAFI.UNICAST },
      ],
      holdTime: 30,
      connectRetryTime: 1,
      fsm: { idleHoldTime: 1 },
      name: `sim-AS${def.asn}`,
    });
    peer.on('established', () => {
      this.established = true;
      for (const m of this.announcements()) peer.sendUpdate(m);
      peer.sendRaw(encodeEndOfRib(AFI.IPV4, SAFI.UNICAST));
      peer.sendRaw(encodeEndOfRib(AFI.IPV6, SAFI.UNICAST));
    });
    peer.on('down', (d: PeerDown) => {
      this.established = false;
      const n = d.received;
      if (n !== undefined) {
        this.goodbye = `Cease ${n.code}/${n.subcode}${n.shutdownMessage !== undefined ? ` "${n.shutdownMessage}"` : ''}`;
      }
    });
    peer.on('update', (u: UpdateMessage) => this.onUpdate(u));
  }

  private announcements(): UpdateMessage[] {
    return this.def.routes.map((r) => {
      const v6 = r.prefix.includes(':');
      const attrs = makeAttributes({
        origin: 0,
        asPath: [{ type: 2, asns: r.asPath }],
        ...(v6 ? {} : { nextHop: this.def.ip }),
        ...splitCommunities(r.communities ?? []),
      });
      return {
        type: 'update',
        withdrawn: [],
        attrs,
        nlri: v6 ? [] : [{ prefix: r.prefix }],
        mpReach: v6
          ? {
              afi: AFI.IPV6,
              safi: SAFI.UNICAST,
              nextHop: { global: this.def.nextHop6 },
              nlri: [{ prefix: r.prefix }],
            }
          : null,
        mpUnreach: null,
        errors: [],
      };
    });
  }

  private onUpdate(u: UpdateMessage): void {
    this.lastMessage = Date.now();
    const eor = endOfRibFamily(u);
    if (eor !== null) {
      this.eor.add(`${eor.afi}/${eor.safi}`);
      return;
    }
    this.updates++;
    this.lastChange = performance.now();
    for (const w of u.withdrawn) this.rib.delete(w.prefix);
    for (const w of u.mpUnreach?.nlri ?? []) this.rib.delete(w.prefix);
    const a = u.attrs;
    if (a === null) return;
    const entry = (prefix: string, nextHop: string): void => {
      this.rib.set(prefix, {
        prefix,
        nextHop,
        asPath: formatAsPath(a.asPath),
        communities: [
          ...(a.communities ?? []).map(formatCommunity),
          ...(a.largeCommunities ?? []).map(([g, l1, l2]) => `${g}:${l1}:${l2}`),
        ],
      });
    };
    for (const n of u.nlri) entry(n.prefix, a.nextHop ?? '');
    for (const n of u.mpReach?.nlri ?? []) entry(n.prefix, u.mpReach!.nextHop.global);
  }

  start(): Promise<void> {
    return this.speaker.start();
  }

  stop(): Promise<void> {
    return this.speaker.stop('demo client leaving');
  }
}

// ---------------------------------------------------------------- outcome

export interface DemoOutcome {
  routeServer: { asn: number; address: string; port: number };
  clients: {
    asn: number;
    address: string;
    announced: string[];
    received: Received[];
  }[];
  rejected: {
    prefix: string;
    from: string;
    fromAsn: number;
    reasons: { code: number; text: string }[];
  }[];
  /** Path hiding mitigation: the client whose best path is not for it, and what it got instead. */
  hidden: { prefix: string; client: number; overallBest: string; got: string | null } | null;
  /** The RS-BFD cut played after convergence (null with --no-cut). */
  rsBfd: CutOutcome | null;
}

export const HIDDEN = { prefix: '198.51.100.0/24', client: 64503 } as const;

function sortPrefixes(a: string, b: string): number {
  const v6a = a.includes(':');
  const v6b = b.includes(':');
  if (v6a !== v6b) return v6a ? 1 : -1;
  return a.localeCompare(b, 'en', { numeric: true });
}

function outcome(d: Daemon, sims: SimClient[], port: number): DemoOutcome {
  const ctx = d.controlContext();
  const prefixes = new Set<string>();
  for (const s of sims) for (const r of s.def.routes) prefixes.add(r.prefix);
  const rejected: DemoOutcome['rejected'] = [];
  for (const prefix of [...prefixes].sort(sortPrefixes)) {
    const res = handleRequest(ctx, { cmd: 'routes', prefix });
    if (!res.ok) continue;
    for (const r of (res.result as RoutesResult).routes) {
      if (!r.accepted) {
        rejected.push({ prefix, from: r.from, fromAsn: r.fromAsn, reasons: r.reasons });
      }
    }
  }
  let hidden: DemoOutcome['hidden'] = null;
  const h = handleRequest(ctx, {
    cmd: 'routes',
    prefix: HIDDEN.prefix,
    client: String(HIDDEN.client),
  });
  if (h.ok) {
    const rows = (h.result as RoutesResult).routes;
    const first = rows.find((r) => r.rank === 1);
    const best = rows.find((r) => r.best === true);
    if (first !== undefined) {
      hidden = {
        prefix: HIDDEN.prefix,
        client: HIDDEN.client,
        overallBest: `AS${first.fromAsn} (AS path ${first.asPath})`,
        got: best === undefined ? null : `AS${best.fromAsn} (AS path ${best.asPath})`,
      };
    }
  }
  return {
    routeServer: { asn: d.config.rsAs, address: RS_ADDRESS, port },
    clients: sims.map((s) => ({
      asn: s.def.asn,
      address: s.def.ip,
      announced: s.def.routes.map((r) => r.prefix),
      received: [...s.rib.values()].sort((a, b) => sortPrefixes(a.prefix, b.prefix)),
    })),
    rejected,
    hidden,
    rsBfd: null,
  };
}

export function renderOutcome(o: DemoOutcome): string {
  const out: string[] = [];
  for (const c of o.clients) {
    out.push(`AS${c.asn} (${c.address}) received ${c.received.length} routes:`);
    out.push(
      table(
        ['PREFIX', 'NEXT HOP', 'AS PATH', 'COMMUNITIES'],
        c.received.map((r) => [r.prefix, r.nextHop, r.asPath, r.communities.join(' ') || '-']),
        '  ',
      ),
    );
    out.push('');
  }
  out.push(`Rejected by the route server: ${o.rejected.length}`);
  for (const r of o.rejected) {
    out.push(
      `  ${r.prefix} from AS${r.fromAsn}: ${r.reasons.map((x) => `${x.text} (reason ${x.code})`).join(', ')}`,
    );
  }
  if (o.hidden !== null) {
    const h = o.hidden;
    out.push(
      '',
      `Path hiding mitigation: the best path of ${h.prefix} is ${h.overallBest}, tagged 0:${h.client}`,
      `(do not announce to AS${h.client}); AS${h.client} got ${h.got ?? 'nothing'} instead.`,
    );
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- main

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function received(d: Daemon, s: SimClient): number {
  const id = d.config.clients.find((c) => c.asn === s.def.asn)?.id;
  return id === undefined ? 0 : d.core.clientSummary(id).received;
}

/** Converged: every announcement received, every session up both ways, End-of-RIB seen, core idle, then 300 ms of silence. */
async function converge(d: Daemon, sims: SimClient[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const quietMs = 300;
  while (Date.now() < deadline) {
    const up =
      sims.every((s) => s.established && s.eor.has('1/1') && s.eor.has('2/1')) &&
      d.core.sessions().every((s) => s.state === 'up' && s.dumping.length === 0) &&
      // The route server has every announcement (accepted or rejected).
      sims.every((s) => received(d, s) >= s.def.routes.length);
    if (up) {
      await d.core.idle();
      const last = Math.max(...sims.map((s) => s.lastMessage));
      if (Date.now() - last >= quietMs) return true;
    }
    await sleep(50);
  }
  return false;
}

export async function main(argv: string[]): Promise<number> {
  let values: {
    keep?: boolean;
    socket?: string;
    port?: string;
    json?: boolean;
    'log-level'?: string;
    timeout?: string;
    'no-cut'?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        keep: { type: 'boolean', default: false },
        socket: { type: 'string' },
        port: { type: 'string' },
        json: { type: 'boolean', default: false },
        'log-level': { type: 'string' },
        timeout: { type: 'string' },
        'no-cut': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(
      `ixrs demo: ${err instanceof Error ? err.message : String(err)}\n\n${DEMO_HELP}`,
    );
    return 2;
  }
  if (values.help) {
    process.stdout.write(DEMO_HELP);
    return 0;
  }
  const port = Number(values.port ?? '0');
  const timeoutS = Number(values.timeout ?? '20');
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !(timeoutS > 0)) {
    process.stderr.write(`ixrs demo: bad --port or --timeout\n\n${DEMO_HELP}`);
    return 2;
  }

  let config: RsConfig;
  try {
    const r = demoConfig();
    config = r.config;
    for (const w of r.warnings) process.stderr.write(`ixrs demo: warning: ${w}\n`);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ixrs demo: configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const level = (values['log-level'] ?? 'error') as LogLevel;
  const log = makeLogger(level);
  const simLog = pino({ level: 'silent' });
  const socket = values.keep ? (values.socket ?? config.ixrs.controlSocket) : null;

  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      config,
      logger: log,
      listen: [{ address: RS_ADDRESS, port }],
      controlSocket: socket,
    });
  } catch (err) {
    process.stderr.write(
      `ixrs demo: cannot start the route server: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
  const rsPort = daemon.addresses()[0]!.port;
  const sims = DEMO_CLIENTS.map((c) => new SimClient(c, config.rsAs, rsPort, simLog));
  let stopAgents = async (): Promise<void> => {};
  const stopAll = async (message: string): Promise<void> => {
    await stopAgents();
    await daemon.stop(message);
    await Promise.all(sims.map((s) => s.stop()));
  };
  try {
    await Promise.all(sims.map((s) => s.start()));
  } catch (err) {
    await stopAll('demo failed to start');
    process.stderr.write(
      `ixrs demo: cannot start the simulated clients: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
  if (!values.json) {
    process.stdout.write(
      `ixrs demo: route server AS${config.rsAs} on ${RS_ADDRESS} port ${rsPort}, ${sims.length} clients on ${sims.map((s) => s.def.ip).join(', ')}\n\n`,
    );
  }

  const converged = await converge(daemon, sims, timeoutS * 1000);
  const o = outcome(daemon, sims, rsPort);
  if (!converged) {
    process.stdout.write(values.json ? `${JSON.stringify(o, null, 2)}\n` : renderOutcome(o));
    process.stderr.write(
      `ixrs demo: not converged within ${timeoutS} s (sessions: ${JSON.stringify(daemon.core.sessions().map((s) => [s.session, s.state]))})\n`,
    );
    await stopAll('demo failed');
    return 1;
  }
  if (!values.json) process.stdout.write(renderOutcome(o));

  if (!values['no-cut']) {
    if (!values.json) {
      process.stdout.write(
        `\nNow RS-BFD (about ${CUT.intervalMs * CUT.multiplier} ms to detect a cut, a second or two to heal)...\n\n`,
      );
    }
    try {
      const r = await playCut(daemon, sims, rsPort, log);
      stopAgents = r.stop;
      o.rsBfd = r.outcome;
    } catch (err) {
      process.stderr.write(
        `ixrs demo: RS-BFD part failed: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      await stopAll('demo failed');
      return 1;
    }
    if (!values.json) process.stdout.write(renderCut(o.rsBfd));
  }
  if (values.json) process.stdout.write(`${JSON.stringify(o, null, 2)}\n`);

  if (values.keep) {
    process.stdout.write(
      `\nKeeping it running; try:\n  ixrs show sessions --socket ${socket}\n  ixrs show routes 198.51.100.0/24 --client 64503 --socket ${socket}\n  ixrs show client 64504 --socket ${socket}\n  ixrs show nhib 64501 --socket ${socket}\n  ixrs show nhib --matrix --socket ${socket}\nCtrl-C to stop.\n`,
    );
    const signals = waitForSignal(log);
    await signals.done;
    signals.dispose();
  }
  await stopAll('ixrs demo finished');
  if (!values.json) {
    process.stdout.write('\nShut down; what each client was told:\n');
    for (const s of sims) process.stdout.write(`  AS${s.def.asn}: ${s.goodbye ?? '(nothing)'}\n`);
  }
  return 0;
}
