// The one HTTP listener of `ixrs run` (cfg.ixrs.http): read-only, GET and
// HEAD only, no secrets in any answer. Features plug in as routes (an exact
// path, or a path prefix such as '/routes/protocol/'): /metrics (metrics.ts),
// the birdwatcher-compatible API (birdwatcher.ts), the web page (web.ts, its
// live feed a server-sent events stream: routeStream).
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
  /** Accept-Encoding allows gzip (the reply's `gzipped` body is sent then). */
  gzip?: boolean;
}

export interface HttpReply {
  status: number;
  /** Content-Type. */
  type: string;
  body: string | Uint8Array;
  /** The same body gzipped, sent instead when the request accepts gzip. */
  gzipped?: Uint8Array;
  headers?: Record<string, string>;
}

/** Whether an Accept-Encoding header allows gzip (RFC 9110 §12.5.3: listed, q not 0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== 'x-gzip') continue;
    const q = params.find((x) => x.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

export type HttpHandler = (req: HttpRequest) => HttpReply | Promise<HttpReply>;

/** A server-sent events stream (text/event-stream) open to one client. */
export interface EventStream {
  /** Sends one event; false when the stream is closed. */
  send(event: string, data: string): boolean;
  /** A comment line (keeps the connection and proxies alive). */
  comment(text: string): boolean;
  close(): void;
  /** Called once when the stream ends (either side). */
  onClose(fn: () => void): void;
  readonly closed: boolean;
}

export type StreamHandler = (req: HttpRequest, stream: EventStream) => void;

/** Bytes a stream may have queued unsent before its client is dropped as too slow. */
export const STREAM_MAX_BUFFERED = 1 << 20;

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
  private readonly streams = new Map<string, StreamHandler>();
  private readonly closers: (() => void)[] = [];
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

  /**
   * Serve `path` as server-sent events: the handler keeps the stream and
   * sends on it; a client that lets STREAM_MAX_BUFFERED bytes queue up is
   * dropped (it never holds the route server back).
   */
  routeStream(path: string, h: StreamHandler): void {
    this.streams.set(path, h);
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
        const sh = this.streams.get(path);
        if (sh !== undefined) {
          this.openStream(sh, { path, query: url.searchParams, rest: '' }, res, head);
          return;
        }
        const found = this.find(path);
        if (found === null) reply = textReply(404, `no such page: ${path}`);
        else
          reply = await found[0]({
            path,
            query: url.searchParams,
            rest: found[1],
            gzip: acceptsGzip(req.headers['accept-encoding']),
          });
      }
    } catch (err) {
      this.stats.errors++;
      this.log.warn({ err, url: req.url }, 'http handler failed');
      reply = textReply(500, 'internal error (logged)');
    }
    const gz = reply.gzipped !== undefined && acceptsGzip(req.headers['accept-encoding']);
    const body = gz
      ? reply.gzipped!
      : typeof reply.body === 'string'
        ? Buffer.from(reply.body)
        : reply.body;
    res.writeHead(reply.status, {
      'Content-Type': reply.type,
      'Content-Length': String(body.byteLength),
      'Cache-Control': 'no-store',
      ...(reply.gzipped !== undefined ? { Vary: 'Accept-Encoding' } : {}),
      ...(gz ? { 'Content-Encoding': 'gzip' } : {}),
      ...(reply.headers ?? {}),
    });
    res.end(head ? undefined : body);
  }

  private openStream(
    h: StreamHandler,
    req: HttpRequest,
    res: http.ServerResponse,
    head: boolean,
  ): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    if (head) {
      res.end();
      return;
    }
    res.socket?.setNoDelay(true);
    let closed = false;
    const onClose: (() => void)[] = [];
    const end = (): void => {
      if (closed) return;
      closed = true;
      for (const fn of onClose) fn();
    };
    res.on('close', end);
    const write = (text: string): boolean => {
      if (closed) return false;
      if (res.writableLength > STREAM_MAX_BUFFERED) {
        this.log.info({ path: req.path }, 'event stream client too slow, dropped');
        res.destroy();
        end();
        return false;
      }
      res.write(text);
      return true;
    };
    const stream: EventStream = {
      send: (event, data) => write(`event: ${event}\ndata: ${data.replace(/\n/g, '\ndata: ')}\n\n`),
      comment: (text) => write(`: ${text}\n\n`),
      close: () => {
        res.end();
        end();
      },
      onClose: (fn) => {
        if (closed) fn();
        else onClose.push(fn);
      },
      get closed() {
        return closed;
      },
    };
    try {
      h(req, stream);
    } catch (err) {
      this.stats.errors++;
      this.log.warn({ err, path: req.path }, 'http stream handler failed');
      res.destroy();
      end();
    }
  }

  /** Runs `fn` when the server closes (features with timers of their own). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.closers.splice(0)) fn();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
