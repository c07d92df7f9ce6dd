// `ixrs show ...`: ask a running route server over its control socket and
// render the answer as text tables (default) or JSON (--json).

import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_SOCKET } from '../config/load.ts';
import { type ControlRequest, controlRequest, type SessionStatus } from './control.ts';
import type {
  ClientResult,
  NhibClientView,
  NhibMatrixView,
  RibResult,
  RoutesResult,
  SessionRow,
} from './model.ts';
import {
  renderClient,
  renderJson,
  renderNhibClient,
  renderNhibMatrix,
  renderRibCount,
  renderRoutes,
  renderSessions,
} from './render.ts';

export const SHOW_HELP = `Usage: ixrs show <what> [options]

  sessions                          every client session: state, time in it,
                                    paths received, prefixes sent, families
  routes PREFIX [--client C]        every path of PREFIX with its rank, next hop,
                                    AS path, communities, and why rejected; with
                                    --client, which one is C's best and which
                                    ones C may not get
  client C                          one client: counters, rejects by reason,
                                    sessions, and why each is (not)
                                    Established: admin state, max-prefix stop,
                                    last down with the NOTIFICATION sent or
                                    received, last connect failure, hold time,
                                    capabilities, message counters
  rib --client C --count            how many prefixes the route server announces
                                    to C
  nhib C                            C's next-hop information base (RS-BFD): per
                                    next hop its owner, state, since when, paths
                                    it hides from C, flaps, damping, last report
  nhib --matrix                     client x next-hop owner, one character per
                                    cell (. reachable, ? unknown, X unreachable,
                                    x partly, D damped, - nothing); beyond 80
                                    columns only what is unreachable, with counts

  C is an ASN (64501 or AS64501), a client id (AS64501-2) or an IP address of
  the client (then: that one session).

Options:
  --socket PATH   control socket of the running ixrs (default: $IXRS_CONTROL_SOCKET,
                  else ${DEFAULT_CONTROL_SOCKET}; 'ixrs run' listens on
                  cfg.ixrs.control.path or --control). Members of the socket's
                  group (cfg.ixrs.control.group) may read; changes are
                  'ixrs session', for the ixrs user only
  --json          print the answer as JSON instead of a table
  -h, --help      this text

Exit status: 0 answered, 1 the route server answered with an error or cannot be
reached, 2 bad usage.
`;

const AFI_NAME: Record<number, string> = { 1: 'ipv4', 2: 'ipv6' };

/** Why each session is (not) Established: the session layer's view (ixrs show client C). */
export function renderSessionStatus(list: readonly SessionStatus[]): string {
  const out: string[] = [];
  for (const s of list) {
    const kv: [string, string][] = [['state', `${s.bgpState}, ${s.admin}`]];
    const mp = s.maxPrefixStop;
    if (mp !== null) {
      kv.push([
        'max-prefix stop',
        `${AFI_NAME[mp.afi] ?? mp.afi} limit ${mp.limit}, since ${mp.since}, ${mp.restartAt === null ? "until 'ixrs session enable'" : `restarts at ${mp.restartAt}`}`,
      ]);
    }
    if (s.establishedSince !== null) kv.push(['established since', s.establishedSince]);
    const n = s.negotiated;
    if (n !== null) {
      const caps = [
        n.as4 ? '4-octet AS' : '',
        n.routeRefresh ? (n.enhancedRouteRefresh ? 'enhanced route refresh' : 'route refresh') : '',
        n.extendedMessage ? 'extended message' : '',
        n.gracefulRestart ? 'graceful restart' : '',
        n.addPathTx.length > 0 ? `add-path tx ${n.addPathTx.join(',')}` : '',
        n.extendedNextHop ? 'extended next hop' : '',
      ].filter((x) => x !== '');
      kv.push(['hold time', `${n.holdTime} s`]);
      const fam = (f: string): string => ({ '1/1': 'ipv4', '2/1': 'ipv6' })[f] ?? f;
      kv.push(['families', n.families.map(fam).join(', ')]);
      kv.push(['capabilities', caps.join(', ') || '-']);
    }
    if (s.lastDown !== null) {
      const d = s.lastDown;
      kv.push(['last down', `${d.at}: ${d.reason}`]);
      if (d.sent !== null) kv.push(['  NOTIFICATION sent', d.sent]);
      if (d.received !== null) kv.push(['  NOTIFICATION received', d.received]);
    }
    if (s.lastConnectError !== null) kv.push(['last connect failure', s.lastConnectError]);
    kv.push([
      'messages',
      `in ${s.messages.in} (updates ${s.messages.updatesIn}), out ${s.messages.out}`,
    ]);
    const w = Math.max(...kv.map(([k]) => k.length)) + 1;
    out.push(`session ${s.address}:`);
    for (const [k, v] of kv) out.push(`  ${`${k}:`.padEnd(w + 1)}${v}`);
  }
  return out.length === 0 ? '' : `\n${out.join('\n')}\n`;
}

function usageError(msg: string): number {
  process.stderr.write(`ixrs show: ${msg}\n\n${SHOW_HELP}`);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  function parse(a: string[]) {
    return parseArgs({
      args: a,
      allowPositionals: true,
      options: {
        socket: { type: 'string' },
        json: { type: 'boolean', default: false },
        client: { type: 'string' },
        count: { type: 'boolean', default: false },
        matrix: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  }
  try {
    parsed = parse(argv);
  } catch (err) {
    return usageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(SHOW_HELP);
    return 0;
  }
  const socket = values.socket ?? process.env.IXRS_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET;
  const [what, arg, ...extra] = positionals;
  let req: ControlRequest;
  switch (what) {
    case 'sessions':
      if (arg !== undefined) return usageError(`unexpected argument '${arg}'`);
      req = { cmd: 'sessions' };
      break;
    case 'routes':
      if (arg === undefined) return usageError('routes needs a PREFIX');
      if (extra.length > 0) return usageError(`unexpected argument '${extra[0]}'`);
      req = { cmd: 'routes', prefix: arg, ...(values.client ? { client: values.client } : {}) };
      break;
    case 'client': {
      const c = arg ?? values.client;
      if (c === undefined) return usageError('client needs an ASN or IP');
      req = { cmd: 'client', client: c };
      break;
    }
    case 'rib': {
      const c = values.client ?? arg;
      if (c === undefined) return usageError('rib needs --client C');
      if (!values.count) {
        return usageError(
          'rib: only --count is supported (listing a client RIB is not implemented)',
        );
      }
      req = { cmd: 'rib', client: c };
      break;
    }
    case 'nhib': {
      if (values.matrix) {
        if (arg !== undefined) return usageError(`nhib --matrix takes no client ('${arg}')`);
        req = { cmd: 'nhib-matrix' };
        break;
      }
      const c = arg ?? values.client;
      if (c === undefined) return usageError('nhib needs a client C, or --matrix');
      if (extra.length > 0) return usageError(`unexpected argument '${extra[0]}'`);
      req = { cmd: 'nhib', client: c };
      break;
    }
    case undefined:
      return usageError('what to show?');
    default:
      return usageError(`unknown view '${what}'`);
  }
  let result: unknown;
  try {
    result = await controlRequest(socket, req);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ixrs show: ${msg}\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(renderJson(result));
    return 0;
  }
  const now = Date.now();
  switch (req.cmd) {
    case 'sessions':
      process.stdout.write(renderSessions(result as SessionRow[], now));
      break;
    case 'routes':
      process.stdout.write(renderRoutes(result as RoutesResult));
      break;
    case 'client': {
      const c = result as ClientResult & { status?: SessionStatus[] };
      process.stdout.write(renderClient(c, now));
      if (c.status !== undefined) process.stdout.write(renderSessionStatus(c.status));
      break;
    }
    case 'rib':
      process.stdout.write(renderRibCount(result as RibResult));
      break;
    case 'nhib':
      process.stdout.write(renderNhibClient(result as NhibClientView, now));
      break;
    case 'nhib-matrix':
      process.stdout.write(
        renderNhibMatrix(result as NhibMatrixView, { width: process.stdout.columns || 80 }),
      );
      break;
  }
  return 0;
}
