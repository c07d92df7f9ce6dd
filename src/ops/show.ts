// `ixrs show ...`: ask a running route server over its control socket and
// render the answer as text tables (default) or JSON (--json).

import { DEFAULT_CONTROL_SOCKET } from '../config/load.ts';
import { type CommandText, controlSocket, parseCommand, usageError as usage } from './command.ts';
import { type ControlRequest, controlRequest, type SessionStatus } from './control.ts';
import type {
  ClientResult,
  NhibClientView,
  NhibMatrixView,
  RibListResult,
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
  renderRibList,
  renderRoutes,
  renderSessions,
} from './render.ts';

export const SHOW_HELP = `Usage: ixrs show <what> [options]

  sessions                          every client session: state, time in it,
                                    paths received, prefixes sent, families
  routes PREFIX [--client C]        every path of PREFIX with its rank, next hop,
                                    AS path, communities, age, and why rejected
                                    (arouteserver code and text); with --client,
                                    which one is C's best and why the others are
                                    not sent to C
  routes IP [--client C]            longest match: the most specific prefix
                                    covering IP that has paths
  routes PREFIX --longer|--shorter  PREFIX and its more (less) specifics
  routes --client C --received      paths received from C and accepted
  routes --client C --filtered      paths received from C and rejected, with the
                                    reason (kept in every reject_policy mode, up
                                    to 1000 per client with reject_policy
                                    'reject'; 'show client C' counts the rest)
  routes --client C --exported      what the route server announces to C (as
                                    'rib --client C')
  client C                          one client: counters, rejects by reason,
                                    sessions, and why each is (not)
                                    Established: admin state, max-prefix stop,
                                    last down with the NOTIFICATION sent or
                                    received, last connect failure, hold time,
                                    capabilities, message counters
  rib --client C [--count]          what the route server announces to C: prefix,
                                    next hop, AS path, communities as sent (with
                                    --count: only how many)
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
  --limit N       most routes listed (default 1000)
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

const CMD: CommandText = { name: 'ixrs show', help: SHOW_HELP };

function usageError(msg: string): number {
  return usage(CMD, msg);
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommand(CMD, argv, {
    socket: { type: 'string' },
    json: { type: 'boolean', default: false },
    client: { type: 'string' },
    count: { type: 'boolean', default: false },
    matrix: { type: 'boolean', default: false },
    longer: { type: 'boolean', default: false },
    shorter: { type: 'boolean', default: false },
    received: { type: 'boolean', default: false },
    filtered: { type: 'boolean', default: false },
    exported: { type: 'boolean', default: false },
    limit: { type: 'string' },
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const socket = controlSocket(values.socket);
  const [what, arg, ...extra] = positionals;
  let req: ControlRequest;
  let limit: { limit?: number } = {};
  if (values.limit !== undefined) {
    const n = Number(values.limit);
    if (!Number.isInteger(n) || n < 1) return usageError('--limit must be a positive integer');
    limit = { limit: n };
  }
  switch (what) {
    case 'sessions':
      if (arg !== undefined) return usageError(`unexpected argument '${arg}'`);
      req = { cmd: 'sessions' };
      break;
    case 'routes': {
      if (extra.length > 0) return usageError(`unexpected argument '${extra[0]}'`);
      const picks = [values.received, values.filtered, values.exported].filter(Boolean).length;
      if (picks > 1) return usageError('routes: one of --received, --filtered, --exported');
      if (values.longer && values.shorter) return usageError('routes: --longer or --shorter');
      if (picks > 0 && values.client === undefined) {
        return usageError('routes: --received/--filtered/--exported need --client C');
      }
      if (values.exported) {
        if (arg !== undefined) return usageError('routes --exported takes no prefix');
        req = { cmd: 'rib', client: values.client!, list: true, ...limit };
        break;
      }
      if (arg === undefined && picks === 0) return usageError('routes needs a PREFIX or an IP');
      if ((values.longer || values.shorter) && (arg === undefined || !arg.includes('/'))) {
        return usageError('routes: --longer/--shorter need a PREFIX');
      }
      req = {
        cmd: 'routes',
        ...(arg !== undefined ? { prefix: arg } : {}),
        ...(values.longer ? { match: 'longer' } : values.shorter ? { match: 'shorter' } : {}),
        ...(picks > 0
          ? { from: values.client!, only: values.received ? 'received' : 'filtered' }
          : values.client
            ? { client: values.client }
            : {}),
        ...limit,
      };
      break;
    }
    case 'client': {
      const c = arg ?? values.client;
      if (c === undefined) return usageError('client needs an ASN or IP');
      req = { cmd: 'client', client: c };
      break;
    }
    case 'rib': {
      const c = values.client ?? arg;
      if (c === undefined) return usageError('rib needs --client C');
      req = values.count
        ? { cmd: 'rib', client: c }
        : { cmd: 'rib', client: c, list: true, ...limit };
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
      process.stdout.write(renderRoutes(result as RoutesResult, now));
      break;
    case 'client': {
      const c = result as ClientResult & { status?: SessionStatus[] };
      process.stdout.write(renderClient(c, now));
      if (c.status !== undefined) process.stdout.write(renderSessionStatus(c.status));
      break;
    }
    case 'rib':
      if (req.list === true) process.stdout.write(renderRibList(result as RibListResult));
      else process.stdout.write(renderRibCount(result as RibResult));
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
