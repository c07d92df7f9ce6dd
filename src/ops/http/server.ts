// The one HTTP listener of `ixrs run` (cfg.ixrs.http): read-only, GET and
// HEAD only, no secrets in any answer. Features plug in as routes (an exact
// path, or a path prefix such as '/routes/protocol/'): /metrics (metrics.ts),
// the birdwatcher-compatible API (birdwatcher.ts), later the web page.
//
// It must never stall the route server: a handler answers from the core's
// query methods (the same data path as the control socket) or from a snapshot
// built in slices; connections are capped (cfg.ixrs.http.max_connections), a
// request must arrive within 10 s, and a client that stops reading is cut off
// after 30 s without progress (its answer waits in the socket buffer till then).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pino from 'pino';

export interface HttpRequest {
  /** Path without the query string, percent-decoded. */
  path: string;
  query: URLSearchParams;
  /** For prefix routes: what follows the prefix (percent-decoded). */
  rest: string;
}

export interface HttpReply {
  status: number;
  /** Content-Type. */
  type: string;
  body: string | Uint8Array;
  headers?: Record<string, string>;
}

export type HttpHandler = (req: HttpRequest) => HttpReply | Promise<HttpReply>;

export interface HttpServerOptions {
  address: string;
  port: number;
  maxConnections: number;
  log: pino.Logger;
  /** A connection that makes no progress this long is closed, ms (default 30 s). */
  idleTimeoutMs?: number;
}

export function jsonReply(value: unknown, status = 200): HttpReply {
  return { status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

function textReply(status: number, text: string): HttpReply {
  return { status, type: 'text/plain; charset=utf-8', body: `${text}\n` };
}

export class HttpServer {
  private readonly server: http.Server;
  private readonly exact = new Map<string, HttpHandler>();
  private readonly prefixes: [string, HttpHandler][] = [];
  private readonly log: pino.Logger;
  private readonly sockets = new Set<import('node:net').Socket>();
  /** Requests answered, by status class, and connections refused over the cap. */
  readonly stats = { requests: 0, errors: 0, refused: 0 };

  private constructor(opts: HttpServerOptions) {
    this.log = opts.log;
    const idle = opts.idleTimeoutMs ?? 30_000;
    this.server = http.createServer(
      { requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 },
      (req, res) => {
        void this.answer(req, res);
      },
    );
    this.server.maxConnections = opts.maxConnections;
    this.server.on('drop', () => {
      this.stats.refused++;
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.setTimeout(idle, () => s.destroy());
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Listen; rejects with the listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
  static async listen(opts: HttpServerOptions): Promise<HttpServer> {
    const hs = new HttpServer(opts);
    await new Promise<void>((resolve, reject) => {
      hs.server.once('error', reject);
      hs.server.listen({ host: opts.address, port: opts.port }, () => {
        hs.server.off('error', reject);
        resolve();
      });
    });
    hs.server.on('error', (err) => hs.log.error({ err }, 'http listener error'));
    return hs;
  }

  /** The bound address (port 0 in tests picks one). */
  address(): { address: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { address: a.address, port: a.port };
  }

  /** Serve `path` exactly. */
  route(path: string, h: HttpHandler): void {
    this.exact.set(path, h);
  }

  /** Serve every path starting with `prefix` (longest prefix first). */
  routePrefix(prefix: string, h: HttpHandler): void {
    this.prefixes.push([prefix, h]);
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  private find(path: string): [HttpHandler, string] | null {
    const h = this.exact.get(path);
    if (h !== undefined) return [h, ''];
    for (const [p, ph] of this.prefixes) {
      if (path.startsWith(p)) return [ph, path.slice(p.length)];
    }
    return null;
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.stats.requests++;
    let reply: HttpReply;
    const head = req.method === 'HEAD';
    try {
      if (req.method !== 'GET' && !head) {
        reply = textReply(405, 'read-only: GET and HEAD only');
        reply.headers = { Allow: 'GET, HEAD' };
      } else {
        const url = new URL(req.url ?? '/', 'http://ixrs.invalid');
        const path = decodeURIComponent(url.pathname);
        const found = this.find(path);
        if (found === null) reply = textReply(404, `no such page: ${path}`);
        else reply = await found[0]({ path, query: url.searchParams, rest: found[1] });
      }
    } catch (err) {
      this.stats.errors++;
      this.log.warn({ err, url: req.url }, 'http handler failed');
      reply = textReply(500, 'internal error (logged)');
    }
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    res.writeHead(reply.status, {
      'Content-Type': reply.type,
      'Content-Length': String(body.byteLength),
      'Cache-Control': 'no-store',
      ...(reply.headers ?? {}),
    });
    res.end(head ? undefined : body);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
