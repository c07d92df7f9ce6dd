// The control socket of `ixrs run`: a unix stream socket speaking
// newline-delimited JSON, one request per line, one response line per request
// in order. Read-only queries of the route-server core:
//
//   {"id":1,"cmd":"sessions"}
//   {"id":2,"cmd":"routes","prefix":"198.51.100.0/24","client":"64503"}
//   {"id":3,"cmd":"client","client":"127.0.0.11"}
//   {"id":4,"cmd":"rib","client":"AS64502"}
//   {"id":5,"cmd":"dump","what":"rib","file":"/var/tmp/rib.mrt"}   (MRT, src/mrt/)
//
//   {"id":1,"ok":true,"result":[...]}           or   {"id":1,"ok":false,"error":"..."}
//
// `client` may be an ASN ("64501" or "AS64501"), a client id ("AS64501-2") or
// one of the client's addresses (then the query is about that session).
// `id` is echoed back as given (null when absent).

import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { formatPrefix, parsePrefix } from '../bgp/prefix.ts';
import type { ClientConfig } from '../rs/policy-api.ts';
import {
  type ClientResult,
  type CoreQueries,
  type ReasonTexts,
  type RibResult,
  type RoutesResult,
  reasonOf,
  routeRow,
  type SessionRow,
  selectClient,
  sessionRow,
} from './model.ts';

export type ControlCommand = 'sessions' | 'routes' | 'client' | 'rib' | 'dump';

export interface ControlRequest {
  id?: number | string | null;
  cmd: ControlCommand;
  prefix?: string;
  client?: string;
  /** dump: what to dump ('rib') and the absolute file path the route server writes. */
  what?: string;
  file?: string;
}

export type ControlResponse =
  | { id: number | string | null; ok: true; result: unknown }
  | { id: number | string | null; ok: false; error: string };

/** Results by command, for typed callers. */
export interface ControlResults {
  sessions: SessionRow[];
  routes: RoutesResult;
  client: ClientResult;
  rib: RibResult;
  dump: DumpResult;
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
}

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
        const prefix = canonicalPrefix(str('prefix', true)!);
        const name = str('client', false);
        const sel = name === undefined ? null : selectClient(ctx.clients, name);
        const views = ctx.core.routes(prefix, sel?.coreId);
        const result: RoutesResult = {
          prefix,
          client: sel?.client.id ?? null,
          routes: views.map((v) => routeRow(prefix, v, byId, ctx.reasons)),
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
        return { id, ok: true, result };
      }
      case 'rib': {
        const sel = selectClient(ctx.clients, str('client', true)!);
        const result: RibResult = {
          client: sel.client.id,
          address: sel.address,
          count: ctx.core.ribCount(sel.coreId),
        };
        return { id, ok: true, result };
      }
      case 'dump':
        throw new Error("'dump' is answered asynchronously (handleAsync)");
      default:
        throw new Error(
          `unknown command ${JSON.stringify(req.cmd)} (known: sessions, routes, client, rib, dump)`,
        );
    }
  } catch (err) {
    return { id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Answer one request, including those that take a while ('dump'): never rejects. */
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

/** Serve one connection: split lines, answer each in order. */
function serve(sock: net.Socket, ctx: ControlContext): void {
  let buf = '';
  // Answers leave in request order, also when one takes a while ('dump').
  let queue: Promise<void> = Promise.resolve();
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
      try {
        raw = JSON.parse(line) as unknown;
      } catch {
        raw = undefined;
      }
      queue = queue.then(async () => {
        const res: ControlResponse =
          raw === undefined
            ? { id: null, ok: false, error: 'request is not valid JSON' }
            : await handleAsync(ctx, raw);
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
   */
  static async listen(path: string, ctx: ControlContext): Promise<ControlServer> {
    if (existsSync(path)) {
      if (await probe(path)) {
        throw new Error(`control socket ${path} is in use (is another ixrs running?)`);
      }
      unlinkSync(path);
    }
    mkdirSync(dirname(path), { recursive: true });
    const server = net.createServer((s) => serve(s, ctx));
    const cs = new ControlServer(path, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return cs;
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
