// `ixrs demo`, second part: an RS-BFD cut (docs/rs-bfd-profile.md). Beside
// each simulated client runs a real `ixrs agent` (src/agent/agent.ts, in this
// process) from the client's address, BFD at 100 ms x 3. The data plane
// between two clients is then cut without root: the agents' BFD sockets come
// from a factory that drops what the two addresses send each other. The
// affected client's agent reports the other's next hop unreachable, the route
// server hides those paths from that client only (the next best path where
// there is one), and everything comes back when the cut heals.

import dgram from 'node:dgram';
import type pino from 'pino';
import { Agent } from '../agent/agent.ts';
import { BfdStartError } from '../agent/bfd-thread.ts';
import { bgplsCodec } from '../agent/bgpls-codec.ts';
import type { UdpSocketFactory } from '../bfd/transport.ts';
import type { NhibClientView } from '../nhib/types.ts';
import { handleRequest } from './control.ts';
import type { Daemon } from './daemon.ts';
import type { RoutesResult } from './model.ts';
import { renderNhibClient, renderRoutes, table } from './render.ts';

/** What the demo needs of a simulated client (SimClient in demo.ts). */
export interface CutClient {
  readonly def: { asn: number; ip: string };
  /** What it holds now: prefix -> next hop and AS path. */
  readonly rib: ReadonlyMap<string, { prefix: string; nextHop: string; asPath: string }>;
  /** UPDATEs received so far. */
  readonly updates: number;
  /** performance.now() of the last UPDATE that changed the rib. */
  readonly lastChange: number;
}

export const CUT = {
  /** The client whose view is shown, and the one it loses sight of. */
  affected: 64501,
  other: 64502,
  intervalMs: 100,
  multiplier: 3,
} as const;

export interface ViewRow {
  prefix: string;
  nextHop: string;
  asPath: string;
}

export interface CutOutcome {
  bfd: { intervalMs: number; multiplier: number; detectMs: number; port: number };
  /** The clients that ran an agent (all of them). */
  agents: string[];
  cut: { between: [string, string]; affected: number; other: number };
  /** The affected client's routes before the cut, during it and after the heal. */
  before: ViewRow[];
  during: ViewRow[];
  after: ViewRow[];
  /** Prefixes the affected client lost (no other path it can reach). */
  vanished: string[];
  /** Prefixes the affected client now gets from another client. */
  fellBack: { prefix: string; from: string; to: string }[];
  /** What the other end of the cut lost meanwhile. */
  otherVanished: string[];
  /** UPDATEs the clients outside the cut received during it all (0: unchanged). */
  othersUpdates: Record<string, number>;
  /** What the route server says during the cut. */
  nhib: NhibClientView | null;
  routes: RoutesResult[];
  /** ms from the cut (or heal) to each step, as seen in this process. */
  times: {
    cutToBfdDown: number | null;
    cutToReport: number | null;
    cutToWithdraw: number;
    healToBfdUp: number | null;
    healToReport: number | null;
    healToBack: number;
  };
  recovered: boolean;
}

/**
 * Cuts links without root: sockets from `factory` drop what one address sends
 * the other while their pair is cut (both ways).
 */
export class LinkCut {
  private readonly cut = new Set<string>();
  dropped = 0;

  readonly factory: UdpSocketFactory = (type) => {
    const s = dgram.createSocket({ type, reuseAddr: false });
    const send = s.send.bind(s) as (...a: unknown[]) => void;
    (s as unknown as { send: (...a: unknown[]) => void }).send = (...args: unknown[]) => {
      if (this.cut.size > 0) {
        let pair = '';
        try {
          pair = `${s.address().address}|${s.remoteAddress().address}`;
        } catch {
          // not connected: a receiving socket
        }
        if (this.cut.has(pair)) {
          this.dropped++;
          const cb = args.find((x) => typeof x === 'function') as ((e: null) => void) | undefined;
          cb?.(null);
          return;
        }
      }
      send(...args);
    };
    return s;
  };

  between(a: string, b: string): void {
    this.cut.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  heal(): void {
    this.cut.clear();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A UDP port free on every address (the agents' BFD port; 3784 may be taken). */
async function freePort(addresses: readonly string[]): Promise<number> {
  const bind = (address: string, port: number): Promise<dgram.Socket | null> =>
    new Promise((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(null);
      });
      s.bind({ address, port, exclusive: true }, () => resolve(s));
    });
  for (let i = 0; i < 20; i++) {
    const first = await bind(addresses[0]!, 0);
    if (first === null) break;
    const port = first.address().port;
    const rest = await Promise.all(addresses.slice(1).map((a) => bind(a, port)));
    for (const s of [first, ...rest]) s?.close();
    if (rest.every((s) => s !== null)) return port;
  }
  throw new Error('no UDP port free on every demo address');
}

function view(c: CutClient): ViewRow[] {
  return [...c.rib.values()]
    .map((r) => ({ prefix: r.prefix, nextHop: r.nextHop, asPath: r.asPath }))
    .sort((a, b) => {
      const v6a = a.prefix.includes(':');
      if (v6a !== b.prefix.includes(':')) return v6a ? 1 : -1;
      return a.prefix.localeCompare(b.prefix, 'en', { numeric: true });
    });
}

const sameView = (a: ViewRow[], b: ViewRow[]): boolean => JSON.stringify(a) === JSON.stringify(b);

interface Line {
  at: number;
  line: string;
}

/** Plays the cut; throws when a step does not happen in time. */
export async function playCut(
  d: Daemon,
  sims: readonly CutClient[],
  rsPort: number,
  log: pino.Logger,
): Promise<{ outcome: CutOutcome; stop: () => Promise<void> }> {
  const a = sims.find((s) => s.def.asn === CUT.affected)!;
  const b = sims.find((s) => s.def.asn === CUT.other)!;
  const others = sims.filter((s) => s !== a && s !== b);
  const link = new LinkCut();
  const lines = new Map<number, Line[]>(sims.map((s) => [s.def.asn, []]));

  // The agents, all from the clients' addresses; a port taken meanwhile: again.
  let agents: Agent[] = [];
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort(sims.map((s) => s.def.ip));
    agents = sims.map(
      (s) =>
        new Agent({
          asn: s.def.asn,
          local: s.def.ip,
          rs: '127.0.0.1',
          rsPort,
          rsAsn: d.config.rsAs,
          lan: ['127.0.0.0/24'],
          bfdPort: port,
          bfdIntervalMs: CUT.intervalMs,
          bfdMultiplier: CUT.multiplier,
          bringUpMs: 5000,
          connectRetryS: 1,
          codec: bgplsCodec,
          out: (line) => lines.get(s.def.asn)!.push({ at: performance.now(), line }),
          logger: log.child({ agent: `AS${s.def.asn}` }),
          lowerMainPriority: false,
          bfdSocketFactory: link.factory,
        }),
    );
    const started = await Promise.allSettled(agents.map((x) => x.start()));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed === undefined) break;
    await Promise.all(agents.map((x) => x.stop()));
    const err = (failed as PromiseRejectedResult).reason as unknown;
    if (!(err instanceof BfdStartError && err.code === 'EADDRINUSE') || attempt >= 2) throw err;
  }
  const stop = async (): Promise<void> => {
    await Promise.all(agents.map((x) => x.stop('ixrs demo finished')));
  };

  try {
    const id = (asn: number) => `AS${asn}`;
    const v4 = sims.map((s) => s.def.ip);
    // Every agent asked about every other client's IPv4 next hop, and all reachable.
    await waitFor(
      'every agent to report every other next hop reachable',
      () =>
        sims.every((s) =>
          v4
            .filter((ip) => ip !== s.def.ip)
            .every((ip) => d.nhib.stateOf(id(s.def.asn), ip) === 'reachable'),
        ),
      10_000,
    );
    // Sessions come Up at the slow rate (1 s, RFC 5880 §6.8.3), then poll to the fast timers.
    const fast = async (): Promise<boolean> => {
      for (const x of agents) {
        await x.refreshBfd();
        const want = CUT.intervalMs * CUT.multiplier;
        if (!x.status().nextHops.every((n) => n.detectMs === want)) return false;
      }
      return true;
    };
    const fastBy = performance.now() + 5000;
    while (!(await fast())) {
      if (performance.now() > fastBy) throw new Error('timed out waiting for the fast BFD timers');
      await sleep(20);
    }
    await d.core.idle();
    const before = view(a);
    const bBefore = view(b);
    const othersBefore = others.map((o) => ({ o, updates: o.updates, view: view(o) }));

    // Cut.
    const bfdLine = (asn: number, peer: string, to: string, since: number) =>
      lines
        .get(asn)!
        .find((l) => l.at >= since && l.line.includes(`bfd ${peer} `) && l.line.includes(to));
    const reportLine = (asn: number, peer: string, state: string, since: number) =>
      lines
        .get(asn)!
        .find((l) => l.at >= since && l.line.includes(`report ${peer} `) && l.line.endsWith(state));
    const cutAt = performance.now();
    link.between(a.def.ip, b.def.ip);
    const lostAll = () =>
      ![...a.rib.values()].some((r) => r.nextHop === b.def.ip) &&
      ![...b.rib.values()].some((r) => r.nextHop === a.def.ip);
    await waitFor('the cut to take effect', lostAll, 5000);
    await d.core.idle();
    await sleep(150); // nothing more comes
    const during = view(a);
    const nhibRes = handleRequest(d.controlContext(), { cmd: 'nhib', client: String(a.def.asn) });
    const nhib = nhibRes.ok ? (nhibRes.result as NhibClientView) : null;
    const beforeBy = new Map(before.map((r) => [r.prefix, r]));
    const duringBy = new Map(during.map((r) => [r.prefix, r]));
    const vanished = before.filter((r) => !duringBy.has(r.prefix)).map((r) => r.prefix);
    const fellBack = during
      .filter((r) => {
        const old = beforeBy.get(r.prefix);
        return old !== undefined && old.nextHop !== r.nextHop;
      })
      .map((r) => {
        const old = beforeBy.get(r.prefix)!;
        return {
          prefix: r.prefix,
          from: `${old.nextHop} (AS path ${old.asPath})`,
          to: `${r.nextHop} (AS path ${r.asPath})`,
        };
      });
    const routes: RoutesResult[] = [];
    for (const p of [...fellBack.map((f) => f.prefix), ...vanished.slice(0, 1)]) {
      const res = handleRequest(d.controlContext(), {
        cmd: 'routes',
        prefix: p,
        client: String(a.def.asn),
      });
      if (res.ok) routes.push(res.result as RoutesResult);
    }
    const withdrawAt = a.lastChange;
    const downLine = bfdLine(a.def.asn, b.def.ip, '-> Down', cutAt);
    const unreachLine = reportLine(a.def.asn, b.def.ip, 'unreachable', cutAt);
    const bDuring = view(b);
    const otherVanished = bBefore
      .filter((r) => !bDuring.some((x) => x.prefix === r.prefix))
      .map((r) => r.prefix);

    // Heal.
    const healAt = performance.now();
    link.heal();
    await waitFor(
      'the routes to come back',
      () => sameView(view(a), before) && sameView(view(b), bBefore),
      8000,
    );
    const backAt = a.lastChange;
    await d.core.idle();
    await sleep(150);
    const after = view(a);
    const upLine = bfdLine(a.def.asn, b.def.ip, '-> Up', healAt);
    const reachLine = reportLine(a.def.asn, b.def.ip, ': reachable', healAt);
    const ms = (t: number | undefined, from: number) =>
      t === undefined ? null : Math.round(t - from);
    const outcome: CutOutcome = {
      bfd: {
        intervalMs: CUT.intervalMs,
        multiplier: CUT.multiplier,
        detectMs: CUT.intervalMs * CUT.multiplier,
        port,
      },
      agents: v4,
      cut: { between: [a.def.ip, b.def.ip], affected: a.def.asn, other: b.def.asn },
      before,
      during,
      after,
      vanished,
      fellBack,
      otherVanished,
      othersUpdates: Object.fromEntries(
        othersBefore.map(({ o, updates }) => [`AS${o.def.asn}`, o.updates - updates]),
      ),
      nhib,
      routes,
      times: {
        cutToBfdDown: ms(downLine?.at, cutAt),
        cutToReport: ms(unreachLine?.at, cutAt),
        cutToWithdraw: Math.round(withdrawAt - cutAt),
        healToBfdUp: ms(upLine?.at, healAt),
        healToReport: ms(reachLine?.at, healAt),
        healToBack: Math.round(backAt - healAt),
      },
      recovered:
        sameView(after, before) && othersBefore.every(({ o, view: v }) => sameView(view(o), v)),
    };
    return { outcome, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function viewTable(rows: ViewRow[], mark: (r: ViewRow) => string): string {
  return table(
    ['PREFIX', 'NEXT HOP', 'AS PATH', ''],
    rows.map((r) => [r.prefix, r.nextHop, r.asPath, mark(r)]),
    '    ',
  );
}

export function renderCut(o: CutOutcome, now: number = Date.now()): string {
  const [ipA, ipB] = o.cut.between;
  const t = o.times;
  const opt = (v: number | null) => (v === null ? '?' : `${v} ms`);
  const out: string[] = [
    `RS-BFD: an agent (ixrs agent) beside every client, BFD ${o.bfd.intervalMs} ms x ${o.bfd.multiplier} (detection ${o.bfd.detectMs} ms);`,
    'each checks the others’ next hops and reports them to the route server over BGP-LS.',
    '',
    `AS${o.cut.affected} (${ipA}) before the cut, every next hop reachable:`,
    viewTable(o.before, () => ''),
    '',
    `Cut: packets between ${ipA} (AS${o.cut.affected}) and ${ipB} (AS${o.cut.other}) dropped, both ways.`,
    `  +${opt(t.cutToBfdDown)}  AS${o.cut.affected}'s agent: BFD to ${ipB} Down (detection time expired)`,
    `  +${opt(t.cutToReport)}  AS${o.cut.affected}'s agent: ${ipB} reported unreachable`,
    `  +${t.cutToWithdraw} ms  AS${o.cut.affected} has the last UPDATE (withdraw or next best path)`,
    '',
    `AS${o.cut.affected} during the cut:`,
    viewTable(o.during, (r) => {
      const f = o.fellBack.find((x) => x.prefix === r.prefix);
      return f === undefined ? '' : `fell back (was ${f.from})`;
    }),
    `  vanished: ${o.vanished.join(', ') || 'nothing'}`,
    '  (IPv6 next hops are not checked here: the demo agents run on IPv4 loopback only)',
    `  AS${o.cut.other} lost ${o.otherVanished.join(', ') || 'nothing'} the same way; ${Object.entries(
      o.othersUpdates,
    )
      .map(([k, n]) => `${k} ${n} UPDATEs`)
      .join(', ')}: unchanged.`,
    '',
    `What the route server says meanwhile (ixrs show nhib ${o.cut.affected}):`,
  ];
  if (o.nhib !== null) {
    out.push(
      renderNhibClient(o.nhib, now)
        .trimEnd()
        .split('\n')
        .map((l) => (l === '' ? l : `  ${l}`))
        .join('\n'),
    );
  }
  for (const r of o.routes) {
    out.push(
      '',
      `ixrs show routes ${r.prefix} --client ${o.cut.affected}:`,
      renderRoutes(r, Date.now())
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  out.push(
    '',
    'Heal: packets pass again.',
    `  +${opt(t.healToBfdUp)}  AS${o.cut.affected}'s agent: BFD to ${ipB} Up`,
    `  +${opt(t.healToReport)}  AS${o.cut.affected}'s agent: ${ipB} reported reachable`,
    `  +${t.healToBack} ms  AS${o.cut.affected} has every route back`,
    '',
    `AS${o.cut.affected} after the heal: ${o.recovered ? 'the same routes as before the cut' : 'NOT the same as before the cut'}`,
    viewTable(o.after, () => ''),
  );
  return `${out.join('\n')}\n`;
}
