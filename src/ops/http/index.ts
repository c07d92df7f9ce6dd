// Wiring of the HTTP listener: which pages it serves, from what.

import type pino from 'pino';
import type { HttpConfig } from '../../config/observability.ts';
import type { ControlContext } from '../control.ts';
import { type CoreCounters, createMetrics, type InputCounters, metricsReply } from './metrics.ts';
import { HttpServer, jsonReply } from './server.ts';

export interface HttpSources {
  /** What the control socket answers from (Daemon.controlContext()). */
  ctx: ControlContext;
  counters: CoreCounters;
  input: InputCounters;
  /** Route-server AS (birdwatcher API). */
  rsAs: number;
  routerId: string;
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
  server.route('/metrics', () => metricsReply(metrics));
  server.route('/', () =>
    jsonReply({
      ixrs: true,
      pages: ['/metrics'],
    }),
  );
  extra?.(server);
  return server;
}
