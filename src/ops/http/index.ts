// Wiring of the HTTP listener: which pages it serves, from what.

import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type pino from 'pino';
import { Counter, Gauge } from 'prom-client';
import type { HttpConfig } from '../../config/observability.ts';
import type { ControlContext } from '../control.ts';
import type { RibTable } from '../rib-walk.ts';
import { Birdwatcher } from './birdwatcher.ts';
import { type CoreCounters, createMetrics, type InputCounters, metricsReply } from './metrics.ts';
import { type NhibSources, registerNhibMetrics } from './nhib-metrics.ts';
import { type HttpReply, HttpServer, jsonReply } from './server.ts';
import { WebFeed } from './web.ts';

export interface HttpSources {
  /** What the control socket answers from (Daemon.controlContext()). */
  ctx: ControlContext;
  counters: CoreCounters;
  input: InputCounters;
  /** Route-server AS (birdwatcher API). */
  rsAs: number;
  routerId: string;
  /** The prefix table (RouteServer.entries), for the looking-glass route lists. */
  table: RibTable;
  prefLen: { ipv4: { min: number; max: number }; ipv6: { min: number; max: number } };
  /** The BMP exporter, when configured (its counters are metrics). */
  bmp?: {
    readonly connected: boolean;
    readonly stats: { connects: number; drops: number; messages: number; bytes: number };
  } | null;
  /** RS-BFD: the NHIB, RsBfd's counters and the change feed (metrics, the web page). */
  nhib?: NhibSources | null;
  /** How long one rendering of /metrics answers every scrape, ms (default 1000; 0: never shared). */
  metricsCacheMs?: number;
  /** The MRT writer, when configured. */
  mrt?: {
    readonly stats: { ribDumps: number; ribErrors: number; records: number; dropped: number };
  } | null;
}

const gzipAsync = promisify(gzip);

/** `body` gzipped on libuv's thread pool (level 1: the exposition shrinks ~10x all the same). */
function gzipBody(body: string | Uint8Array): Promise<Uint8Array> {
  return gzipAsync(body, { level: 1 });
}

function version(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    return `ixrs ${pkg.version}`;
  } catch {
    return 'ixrs';
  }
}

/** Listen on cfg.ixrs.http and serve /metrics (and the pages plugged in by `extra`). */
export async function startHttp(
  cfg: HttpConfig,
  src: HttpSources,
  log: pino.Logger,
  extra?: (server: HttpServer) => void,
): Promise<HttpServer> {
  let server: HttpServer;
  try {
    server = await HttpServer.listen({
      address: cfg.listen,
      port: cfg.port,
      maxConnections: cfg.maxConnections,
      log,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EADDRINUSE'
        ? 'address in use'
        : e.code === 'EACCES'
          ? 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)'
          : e.code === 'EADDRNOTAVAIL'
            ? 'the address is not configured on this host'
            : e.message;
    throw new Error(`cfg.ixrs.http: cannot listen on ${cfg.listen} port ${cfg.port}: ${why}`);
  }
  const metrics = createMetrics({
    core: src.ctx.core,
    counters: src.counters,
    input: src.input,
    clients: src.ctx.clients,
    reasons: src.ctx.reasons,
    bgpState: src.ctx.bgpState ?? (() => null),
  });
  const regs = [metrics.registry];
  const counter = (name: string, help: string, value: () => number): void => {
    new Counter({
      name,
      help,
      registers: regs,
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  };
  counter('ixrs_http_requests_total', 'HTTP requests answered', () => server.stats.requests);
  counter(
    'ixrs_http_refused_total',
    'HTTP connections refused over max_connections',
    () => server.stats.refused,
  );
  const bmp = src.bmp;
  if (bmp) {
    new Gauge({
      name: 'ixrs_bmp_up',
      help: 'The BMP session to the collector is up (1) or not (0)',
      registers: regs,
      collect() {
        this.set(bmp.connected ? 1 : 0);
      },
    });
    counter('ixrs_bmp_connects_total', 'BMP sessions established', () => bmp.stats.connects);
    counter(
      'ixrs_bmp_drops_total',
      'BMP sessions dropped: the collector did not read fast enough',
      () => bmp.stats.drops,
    );
    counter(
      'ixrs_bmp_messages_total',
      'BMP messages queued to the collector',
      () => bmp.stats.messages,
    );
    counter('ixrs_bmp_bytes_total', 'BMP octets queued to the collector', () => bmp.stats.bytes);
  }
  const mrt = src.mrt;
  if (mrt) {
    counter(
      'ixrs_mrt_rib_dumps_total',
      'MRT RIB dumps written (periodic)',
      () => mrt.stats.ribDumps,
    );
    counter(
      'ixrs_mrt_rib_dump_errors_total',
      'MRT RIB dumps that failed',
      () => mrt.stats.ribErrors,
    );
    counter(
      'ixrs_mrt_update_records_total',
      'BGP4MP records written to the update log',
      () => mrt.stats.records,
    );
    counter(
      'ixrs_mrt_update_records_dropped_total',
      'BGP4MP records dropped: the disk was too slow',
      () => mrt.stats.dropped,
    );
  }
  if (src.nhib) registerNhibMetrics(metrics.registry, src.nhib);
  // One exposition serves every scrape within metricsCacheMs (several
  // Prometheus servers, dashboards polling): rendered once, encoded once,
  // gzipped once (off the event loop) when a scraper accepts gzip, as
  // Prometheus does. An RS-BFD change makes the next scrape render afresh.
  const cacheMs = src.metricsCacheMs ?? 1000;
  let cached: {
    at: number;
    version: number;
    reply: Promise<HttpReply>;
    gzipped: Promise<HttpReply> | null;
  } | null = null;
  server.route('/metrics', (req) => {
    const now = Date.now();
    const v = src.nhib?.telemetry.version ?? 0;
    if (cached === null || now - cached.at >= cacheMs || cached.version !== v)
      cached = { at: now, version: v, reply: metricsReply(metrics), gzipped: null };
    if (!req.gzip) return cached.reply;
    const c = cached;
    c.gzipped ??= c.reply.then(async (r) => ({ ...r, gzipped: await gzipBody(r.body) }));
    return c.gzipped;
  });
  new Birdwatcher({
    ctx: src.ctx,
    table: src.table,
    rsAs: src.rsAs,
    routerId: src.routerId,
    version: version(),
    prefLen: src.prefLen,
    startedAt: Date.now(),
  }).mount(server);
  server.route('/pages', () =>
    jsonReply({
      ixrs: version(),
      pages: [
        '/ (the web page)',
        '/metrics',
        '/status',
        '/protocols/bgp',
        '/protocols/short',
        '/routes/protocol/:id',
        '/routes/filtered/:id',
        '/routes/noexport/:id',
        '/routes/prefix?prefix=',
        '/routes/table/master',
        '/routes/table/master/filtered',
        '/web/state',
        '/web/client?id=',
        '/web/events',
      ],
    }),
  );
  const web = new WebFeed({ ctx: src.ctx, nhib: src.nhib ?? null, version: version() });
  web.mount(server);
  server.onClose(() => web.close());
  extra?.(server);
  return server;
}
