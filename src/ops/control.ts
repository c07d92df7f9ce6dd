// The control socket of `ixrs run`: a unix stream socket speaking
// newline-delimited JSON, one request per line, one response line per request
// in order. Read-only queries of the route-server core:
//
//   {"id":1,"cmd":"sessions"}
//   {"id":2,"cmd":"routes","prefix":"198.51.100.0/24","client":"64503"}
//   {"id":3,"cmd":"client","client":"127.0.0.11"}
//   {"id":4,"cmd":"rib","client":"AS64502"}
//   {"id":6,"cmd":"routes","prefix":"198.51.100.7","client":"64503"}     (longest match)
//   {"id":7,"cmd":"routes","prefix":"198.51.0.0/16","match":"longer"}
//   {"id":8,"cmd":"routes","from":"64502","only":"filtered"}
//   {"id":9,"cmd":"rib","client":"64503","list":true,"limit":100}
//   {"id":5,"cmd":"dump","what":"rib","file":"/var/tmp/rib.mrt"}   (MRT, src/mrt/)
//   {"id":6,"cmd":"nhib","client":"AS64501"}      one client's NHIB (RS-BFD)
//   {"id":7,"cmd":"nhib-matrix"}                 client × next-hop owner
//
//   {"id":1,"ok":true,"result":[...]}           or   {"id":1,"ok":false,"error":"..."}
//
// `client` may be an ASN ("64501" or "AS64501"), a client id ("AS64501-2") or
// one of the client's addresses (then the query is about that session).
// `id` is echoed back as given (null when absent).
//
// Access: two sockets. The query socket (cfg.ixrs.control: path, mode, group)
// answers the read-only commands above, for its group; the admin socket beside
// it (adminSocketPath: `.admin.sock`, mode 0600, the ixrs user only) also takes
// the state-changing one:
//
//   {"id":5,"cmd":"session","action":"reset","client":"AS64502","message":"..."}
//
// actions: enable | disable | reset | refresh (Daemon.sessionAction).

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { canonicalAddress, formatPrefix, parsePrefix } from '../bgp/prefix.ts';
import type { RouteQuery } from '../rs/api.ts';
import type { ClientConfig } from '../rs/policy-api.ts';
import {
  type ClientResult,
  type CoreQueries,
  exportRow,
  type NhibClientView,
  type NhibMatrixView,
  type NhibQueries,
  type ReasonTexts,
  type RibListResult,
  type RibResult,
  type RoutesResult,
  reasonOf,
  routeRow,
  type SessionRow,
  selectClient,
  sessionRow,
} from './model.ts';

export type ControlCommand =
  | 'sessions'
  | 'routes'
  | 'client'
  | 'rib'
  | 'dump'
  | 'nhib'
  | 'nhib-matrix'
  | 'session';

export const SESSION_ACTIONS = ['enable', 'disable', 'reset', 'refresh'] as const;
export type SessionAction = (typeof SESSION_ACTIONS)[number];

export interface ControlRequest {
  id?: number | string | null;
  cmd: ControlCommand;
  /** routes: a prefix, or an address (longest match). */
  prefix?: string;
  /** routes: how `prefix` matches ('exact' default; 'longest' for an address). */
  match?: 'exact' | 'longest' | 'longer' | 'shorter';
  /** routes: the client whose view is shown; rib: whose Adj-RIB-Out. */
  client?: string;
  /** routes: only paths received from this client. */
  from?: string;
  /** routes: only accepted ('received') or rejected ('filtered') paths. */
  only?: 'received' | 'filtered';
  /** rib: list the routes (else only their count). */
  list?: boolean;
  /** routes, rib list: most routes returned (default 1000). */
  limit?: number;
  /** dump: what to dump ('rib') and the absolute file path the route server writes. */
  what?: string;
  file?: string;
  /** 'session': what to do. */
  action?: SessionAction;
  /** 'session' disable/reset: the RFC 9003 shutdown message. */
  message?: string;
}

/** What a session action did, per session of the client. */
export interface SessionActionResult {
  client: string;
  action: SessionAction;
  sessions: { address: string; done: string; bgpState: string }[];
}

/**
 * Why a session is (not) Established, from the session layer: admin state,
 * the last session loss with its NOTIFICATIONs, the last connect failure,
 * what was negotiated, message counters. Part of the 'client' result.
 */
export interface SessionStatus {
  address: string;
  bgpState: string;
  /** 'enabled', 'disabled' (ixrs session disable), 'max-prefix stop'. */
  admin: 'enabled' | 'disabled' | 'max-prefix stop';
  /** Max-prefix stop: AFI, limit, since, and when it restarts (null: shutdown, until enable). */
  maxPrefixStop: { afi: number; limit: number; since: string; restartAt: string | null } | null;
  establishedSince: string | null;
  lastDown: { at: string; reason: string; sent: string | null; received: string | null } | null;
  lastConnectError: string | null;
  negotiated: {
    holdTime: number;
    families: string[];
    as4: boolean;
    routeRefresh: boolean;
    enhancedRouteRefresh: boolean;
    extendedMessage: boolean;
    gracefulRestart: boolean;
    addPathTx: string[];
    extendedNextHop: boolean;
  } | null;
  messages: { in: number; out: number; updatesIn: number };
}

/** The admin socket beside a query socket: `x.sock` -> `x.admin.sock`. */
export function adminSocketPath(path: string): string {
  // Already an admin socket's path (given to --socket): itself.
  if (path.endsWith('.admin.sock') || path.endsWith('.admin')) return path;
  return path.endsWith('.sock') ? `${path.slice(0, -5)}.admin.sock` : `${path}.admin`;
}

export type ControlResponse =
  | { id: number | string | null; ok: true; result: unknown }
  | { id: number | string | null; ok: false; error: string };

/** Results by command, for typed callers. */
export interface ControlResults {
  sessions: SessionRow[];
  routes: RoutesResult;
  client: ClientResult & { status?: SessionStatus[] };
  rib: RibResult;
  nhib: NhibClientView;
  'nhib-matrix': NhibMatrixView;
  dump: DumpResult;
  session: SessionActionResult;
}

/** `dump rib`: the MRT file written (TABLE_DUMP_V2, src/mrt/). */
export interface DumpResult {
  file: string;
  prefixes: number;
  paths: number;
  bytes: number;
  ms: number;
}

export interface ControlContext {
  core: CoreQueries;
  clients: readonly ClientConfig[];
  /** Reject reason texts by code. */
  reasons: ReasonTexts;
  /** BGP FSM state of the session to `address`, when known. */
  bgpState?: (address: string) => string | null;
  /** Write an MRT RIB dump to `file` (absolute path); absent: 'dump' is refused. */
  dumpRib?: (file: string) => Promise<DumpResult>;
  /** The NHIB, when RS-BFD runs (the `nhib` commands answer an error without it). */
  nhib?: NhibQueries;
  /** Session-layer status of the session to `address` (see SessionStatus). */
  sessionStatus?: (address: string) => SessionStatus | null;
  /**
   * State-changing session commands (admin socket only). `address` null: every
   * session of the client. Rejects with an Error the client sees.
   */
  sessionAction?: (
    client: ClientConfig,
    address: string | null,
    action: SessionAction,
    message: string | undefined,
  ) => Promise<SessionActionResult>;
}

const NO_NHIB = 'RS-BFD is not running in this route server (no NHIB to show)';

/** Longest accepted request line. */
export const MAX_REQUEST_BYTES = 64 * 1024;

function canonicalPrefix(text: string): string {
  try {
    return formatPrefix(parsePrefix(text.trim()));
  } catch (err) {
    throw new Error(err instanceof Error ? err.message : String(err));
  }
}

function sessionsOf(ctx: ControlContext, byId: Map<string, ClientConfig>): SessionRow[] {
  return ctx.core.sessions().map((s) => sessionRow(s, byId, ctx.bgpState?.(s.address) ?? null));
}

/** Answer one request (pure apart from the core queries): never throws. */
export function handleRequest(ctx: ControlContext, raw: unknown): ControlResponse {
  let id: number | string | null = null;
  try {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new Error('request must be a JSON object');
    }
    const req = raw as Record<string, unknown>;
    if (typeof req.id === 'number' || typeof req.id === 'string') id = req.id;
    const byId = new Map(ctx.clients.map((c) => [c.id, c]));
    const str = (key: string, required: boolean): string | undefined => {
      const v = req[key];
      if (v === undefined || v === null) {
        if (required) throw new Error(`'${String(req.cmd)}' needs '${key}'`);
        return undefined;
      }
      if (typeof v !== 'string') throw new Error(`'${key}' must be a string`);
      return v;
    };
    switch (req.cmd) {
      case 'sessions':
        return { id, ok: true, result: sessionsOf(ctx, byId) };
      case 'routes': {
        const rawPrefix = str('prefix', false);
        const matchRaw = str('match', false);
        if (matchRaw !== undefined && !['exact', 'longest', 'longer', 'shorter'].includes(matchRaw))
          throw new Error(`'match' must be exact, longest, longer or shorter (got '${matchRaw}')`);
        let match = matchRaw as RouteQuery['match'];
        let prefix: string | undefined;
        if (rawPrefix !== undefined) {
          const t = rawPrefix.trim();
          if (!t.includes('/')) {
            // An address: longest match, asked as its host prefix.
            const ip = canonicalAddress(t);
            if (ip === null) throw new Error(`invalid address or prefix "${t}"`);
            prefix = `${ip}/${ip.includes(':') ? 128 : 32}`;
            match ??= 'longest';
          } else prefix = canonicalPrefix(t);
        }
        match ??= 'exact';
        const name = str('client', false);
        const sel = name === undefined ? null : selectClient(ctx.clients, name);
        const fromName = str('from', false);
        const from = fromName === undefined ? null : selectClient(ctx.clients, fromName);
        const onlyRaw = str('only', false);
        if (onlyRaw !== undefined && onlyRaw !== 'received' && onlyRaw !== 'filtered')
          throw new Error(`'only' must be received or filtered (got '${onlyRaw}')`);
        const only = (onlyRaw ?? null) as 'received' | 'filtered' | null;
        const limit = req.limit === undefined ? 1000 : Number(req.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new Error("'limit' must be a positive integer");
        if (prefix === undefined && from === null)
          throw new Error("'routes' needs 'prefix' (a prefix or an address), or 'from' (a client)");
        if (prefix !== undefined && match === 'exact' && from === null && only === null) {
          const views = ctx.core.routes(prefix, sel?.coreId);
          const result: RoutesResult = {
            prefix,
            client: sel?.client.id ?? null,
            routes: views.map((v) => routeRow(prefix, v, byId, ctx.reasons)),
          };
          return { id, ok: true, result };
        }
        const q: RouteQuery = { match, limit };
        if (prefix !== undefined) q.prefix = prefix;
        if (sel !== null) q.client = sel.coreId;
        if (from !== null) q.from = from.coreId;
        if (only !== null) q.only = only;
        const found = ctx.core.findRoutes(q);
        const result: RoutesResult = {
          prefix: prefix ?? null,
          match,
          client: sel?.client.id ?? null,
          from: from?.client.id ?? null,
          only,
          routes: found.routes.map((v) => routeRow(v.prefix, v, byId, ctx.reasons)),
          truncated: found.truncated,
        };
        return { id, ok: true, result };
      }
      case 'client': {
        const sel = selectClient(ctx.clients, str('client', true)!);
        const sum = ctx.core.clientSummary(sel.client.id);
        const c = sel.client;
        const result: ClientResult = {
          id: c.id,
          asn: c.asn,
          description: c.description,
          addresses: c.addresses,
          passive: c.passive,
          addPath: c.addPath,
          received: sum.received,
          accepted: sum.accepted,
          rejected: sum.rejected,
          pathsAccepted: Object.values(sum.acceptedByAfi).reduce((a, b) => a + b, 0),
          rejectedKept: sum.rejectedKept,
          rejectedNotKept: sum.rejectedNotKept,
          rejectedByReason: Object.entries(sum.rejectedByReason)
            .map(([code, count]) => ({ ...reasonOf(Number(code), ctx.reasons), count }))
            .sort((a, b) => b.count - a.count || a.code - b.code),
          blocked: sum.blocked,
          withdrawnReceived: sum.withdrawnReceived,
          treatAsWithdraw: sum.treatAsWithdraw,
          acceptedByAfi: sum.acceptedByAfi,
          sentUpdates: sum.sentUpdates,
          sentNlri: sum.sentNlri,
          rib: ctx.core.ribCount(c.id),
          sessions: sessionsOf(ctx, byId).filter((s) => s.client === c.id),
        };
        const status = ctx.sessionStatus;
        if (status !== undefined) {
          const st: SessionStatus[] = [];
          for (const a of c.addresses) {
            const s = status(a);
            if (s !== null) st.push(s);
          }
          return { id, ok: true, result: { ...result, status: st } };
        }
        return { id, ok: true, result };
      }
      case 'rib': {
        const sel = selectClient(ctx.clients, str('client', true)!);
        if (req.list === true) {
          const limit = req.limit === undefined ? 1000 : Number(req.limit);
          if (!Number.isInteger(limit) || limit < 1)
            throw new Error("'limit' must be a positive integer");
          const found = ctx.core.exported(sel.coreId, limit);
          const result: RibListResult = {
            client: sel.client.id,
            address: sel.address,
            routes: found.routes.map(exportRow),
            truncated: found.truncated,
          };
          return { id, ok: true, result };
        }
        const result: RibResult = {
          client: sel.client.id,
          address: sel.address,
          count: ctx.core.ribCount(sel.coreId),
        };
        return { id, ok: true, result };
      }
      case 'dump':
        throw new Error(
          "'dump' writes a file as the route server's user: it is taken only on the admin socket (ixrs dump uses it)",
        );
      case 'nhib': {
        if (ctx.nhib === undefined) throw new Error(NO_NHIB);
        const sel = selectClient(ctx.clients, str('client', true)!);
        const result = ctx.nhib.nhibClient(sel.client.id);
        if (result === null) throw new Error(`${sel.client.id} has no NHIB`);
        return { id, ok: true, result };
      }
      case 'nhib-matrix':
        if (ctx.nhib === undefined) throw new Error(NO_NHIB);
        return { id, ok: true, result: ctx.nhib.nhibMatrix() };
      case 'session':
        throw new Error(
          "'session' changes state: it is taken only on the admin socket, by the ixrs user (this socket is read-only)",
        );
      default:
        throw new Error(
          `unknown command ${JSON.stringify(req.cmd)} (known: sessions, routes, client, rib, nhib, nhib-matrix, dump, session)`,
        );
    }
  } catch (err) {
    return { id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Answer a 'dump' (admin socket), or any other request: never rejects. */
export async function handleAsync(ctx: ControlContext, raw: unknown): Promise<ControlResponse> {
  if (typeof raw !== 'object' || raw === null || (raw as { cmd?: unknown }).cmd !== 'dump') {
    return handleRequest(ctx, raw);
  }
  const req = raw as Record<string, unknown>;
  const id = typeof req.id === 'number' || typeof req.id === 'string' ? req.id : null;
  try {
    if (req.what !== 'rib')
      throw new Error(`'dump' needs what: 'rib' (got ${JSON.stringify(req.what)})`);
    if (typeof req.file !== 'string' || !isAbsolute(req.file)) {
      throw new Error("'dump' needs 'file', an absolute path");
    }
    if (ctx.dumpRib === undefined) throw new Error('this route server cannot write MRT dumps');
    return { id, ok: true, result: await ctx.dumpRib(req.file) };
  } catch (err) {
    return { id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** The admin socket: 'session' actions, then everything the query socket answers. */
export async function handleAdminRequest(
  ctx: ControlContext,
  raw: unknown,
): Promise<ControlResponse> {
  const req = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (req.cmd === 'dump') return handleAsync(ctx, raw);
  if (req.cmd !== 'session') return handleRequest(ctx, raw);
  const id = typeof req.id === 'number' || typeof req.id === 'string' ? req.id : null;
  try {
    const action = req.action;
    if (typeof action !== 'string' || !(SESSION_ACTIONS as readonly string[]).includes(action)) {
      throw new Error(`'session' needs 'action': one of ${SESSION_ACTIONS.join(', ')}`);
    }
    if (typeof req.client !== 'string') throw new Error("'session' needs 'client'");
    const message = typeof req.message === 'string' ? req.message : undefined;
    if (ctx.sessionAction === undefined) throw new Error('session actions are not available');
    const sel = selectClient(ctx.clients, req.client);
    const result = await ctx.sessionAction(
      sel.client,
      sel.address,
      action as SessionAction,
      message,
    );
    return { id, ok: true, result };
  } catch (err) {
    return { id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Serve one connection: split lines, answer each in order. */
function serve(sock: net.Socket, ctx: ControlContext, admin: boolean): void {
  let buf = '';
  // Answers leave in request order, also when one (a session action) takes time.
  let chain: Promise<void> = Promise.resolve();
  sock.setEncoding('utf8');
  sock.on('error', () => undefined);
  sock.on('data', (chunk: string) => {
    buf += chunk;
    for (;;) {
      const nl = buf.indexOf('\n');
      if (nl < 0) break;
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line === '') continue;
      let raw: unknown;
      let bad = false;
      try {
        raw = JSON.parse(line) as unknown;
      } catch {
        bad = true;
      }
      chain = chain.then(async () => {
        const res: ControlResponse = bad
          ? { id: null, ok: false, error: 'request is not valid JSON' }
          : admin
            ? await handleAdminRequest(ctx, raw)
            : handleRequest(ctx, raw);
        if (!sock.destroyed) sock.write(`${JSON.stringify(res)}\n`);
      });
    }
    if (buf.length > MAX_REQUEST_BYTES) {
      sock.end(`${JSON.stringify({ id: null, ok: false, error: 'request line too long' })}\n`);
      buf = '';
    }
  });
}

/** Is something answering on this unix socket path? */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class ControlServer {
  readonly path: string;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(path: string, server: net.Server) {
    this.path = path;
    this.server = server;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /**
   * Listen on `path`. A stale socket file (nothing answering) is removed; a live
   * one means another ixrs runs there: that is an error. Creates the directory.
   * `mode` and `group` (name or gid) are applied to the socket file: who may
   * connect is who may write to it. `admin`: also the state-changing commands.
   * Errors are ControlSocketError, naming the path.
   */
  static async listen(
    path: string,
    ctx: ControlContext,
    opts: { mode?: number; group?: string | null; admin?: boolean } = {},
  ): Promise<ControlServer> {
    try {
      if (existsSync(path)) {
        if (await probe(path)) {
          throw new ControlSocketError(path, 'is in use (is another ixrs running?)');
        }
        unlinkSync(path);
      }
      mkdirSync(dirname(path), { recursive: true });
      const server = net.createServer((s) => serve(s, ctx, opts.admin === true));
      const cs = new ControlServer(path, server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      try {
        if (opts.group !== undefined && opts.group !== null) {
          chownSync(path, -1, groupId(opts.group));
        }
        if (opts.mode !== undefined) chmodSync(path, opts.mode);
      } catch (err) {
        await cs.close();
        throw err;
      }
      return cs;
    } catch (err) {
      if (err instanceof ControlSocketError) throw err;
      const e = err as NodeJS.ErrnoException;
      const hint =
        e.code === 'EPERM' && opts.group
          ? ` (the ixrs user must be a member of group '${opts.group}': systemd SupplementaryGroups=)`
          : e.code === 'EACCES' || e.code === 'ENOENT'
            ? ' (its directory must exist or be creatable and writable by the ixrs user: systemd RuntimeDirectory=)'
            : '';
      throw new ControlSocketError(path, `${e.message}${hint}`, e.code);
    }
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** The control socket cannot be set up: names the socket's path (not a port). */
export class ControlSocketError extends Error {
  readonly code: string | undefined;
  constructor(path: string, problem: string, code?: string) {
    super(`control socket path ${path}: ${problem}`);
    this.name = 'ControlSocketError';
    this.code = code;
  }
}

/** A group name (from /etc/group, else getent for NSS groups) or a numeric gid. */
export function groupId(group: string): number {
  if (/^[0-9]+$/.test(group)) return Number(group);
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , gid] = line.split(':');
      if (name === group && gid !== undefined) return Number(gid);
    }
  } catch {
    // no /etc/group: ask NSS
  }
  try {
    const out = execFileSync('getent', ['group', group], { encoding: 'utf8' });
    const gid = out.split(':')[2];
    if (gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  } catch {
    // not found
  }
  throw new Error(`group '${group}' does not exist (cfg.ixrs.control.group)`);
}

/** Error answered by the server (as opposed to a transport failure). */
export class ControlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlError';
  }
}

/**
 * Send requests over one connection and collect the results in order. Throws
 * ControlError for an error answer, Error for transport problems.
 */
export async function controlRequests(
  path: string,
  reqs: ControlRequest[],
  timeoutMs = 5000,
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    const results: unknown[] = [];
    let buf = '';
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(results);
    };
    const timer = setTimeout(
      () => finish(new Error(`no answer on control socket ${path} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.setEncoding('utf8');
    sock.once('connect', () => {
      sock.write(reqs.map((r, i) => `${JSON.stringify({ id: i + 1, ...r })}\n`).join(''));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? `cannot connect to control socket ${path} (is ixrs running? use --socket PATH)`
          : err.code === 'EACCES'
            ? `control socket ${path}: permission denied (${path.includes('.admin') ? 'state-changing commands are for the ixrs user only' : "read access is for the socket's group, cfg.ixrs.control.group"})`
            : `control socket ${path}: ${err.message}`;
      finish(new Error(why));
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        const nl = buf.indexOf('\n');
        if (nl < 0) break;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let res: ControlResponse;
        try {
          res = JSON.parse(line) as ControlResponse;
        } catch {
          finish(new Error('control socket sent invalid JSON'));
          return;
        }
        if (!res.ok) {
          finish(new ControlError(res.error));
          return;
        }
        results.push(res.result);
        if (results.length === reqs.length) finish(null);
      }
    });
    sock.on('close', () => finish(new Error('control socket closed before answering')));
  });
}

export async function controlRequest<C extends ControlCommand>(
  path: string,
  req: ControlRequest & { cmd: C },
  timeoutMs?: number,
): Promise<ControlResults[C]> {
  const [r] = await controlRequests(path, [req], timeoutMs);
  return r as ControlResults[C];
}
