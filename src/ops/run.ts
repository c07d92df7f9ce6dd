// `ixrs run --general general.yml --clients clients.yml [--log-level L]`:
// the route server process.

import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, formatWarning, loadConfig } from '../config/load.ts';
import type { LogLevel, RsConfig } from '../config/types.ts';
import { type Daemon, startDaemon } from './daemon.ts';

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const RUN_HELP = `Usage: ixrs run --general general.yml --clients clients.yml [options]

Run the route server (RFC 7947) for the clients of an arouteserver-style
configuration: one BGP session per client address, IPv4 and IPv6 unicast,
4-octet AS, route refresh (RFC 2918, enhanced RFC 7313), extended messages
(RFC 8654), graceful restart helper (RFC 4724), extended next hop for IPv4
(RFC 8950), ADD-PATH send offered to clients with cfg.add_path (RFC 7911).
Clients are external peers (RFC 7606 §7.5, §7.9, §7.10: LOCAL_PREF,
ORIGINATOR_ID, CLUSTER_LIST discarded); UPDATEs for families not negotiated
on a session are ignored (logged once). Clients with passive: True are waited for;
the others are also connected to (TCP port 179). Not wired yet: RS-BFD
(cfg.ixrs.rs_bfd, BGP-LS reachability sessions); every next hop counts as
reachable.

Options:
  --general PATH     general.yml (cfg.rs_as, cfg.router_id, filtering, communities,
                     cfg.ixrs: listen, control_socket, hold_time, log_level,
                     http, mrt, bmp)
  --clients PATH     clients.yml
  --log-level L      fatal | error | warn | info | debug | trace | silent
                     (default: cfg.ixrs.log_level, itself 'warn'); 'info' adds
                     session changes. Logs are JSON lines (pino) on stderr.
  --check            load and validate the configuration, print warnings, exit
  -h, --help         this text

Control socket: cfg.ixrs.control_socket (default /run/ixrs/ixrs.sock); query it
with 'ixrs show', ask for an MRT RIB dump with 'ixrs dump rib FILE'.

Observability, each off unless configured (docs/observability.md):
cfg.ixrs.http (GET /metrics for Prometheus, a birdwatcher API for Alice-LG;
loopback unless 'listen' says otherwise), cfg.ixrs.mrt (periodic TABLE_DUMP_V2
RIB dumps, BGP4MP update logs), cfg.ixrs.bmp (BMP to a collector).

Signals: SIGINT and SIGTERM shut down gracefully: every client gets a Cease /
Administrative Shutdown NOTIFICATION (RFC 4486) with a shutdown message
(RFC 9003), then the process exits 0. SIGHUP (configuration reload) is not
supported: it is ignored with a warning; restart the process to change the
configuration.

Environment: ixrs run restarts itself once (same pid) with memory settings
that only work at start: --max-semi-space-size=8 (IXRS_SEMI_SPACE=default keeps
V8's), --no-concurrent-recompilation and MALLOC_MMAP_THRESHOLD_=131072; a node
flag or variable of your own wins (see docs/operations.md).

Exit status: 0 after a graceful shutdown (or --check success), 1 the route
server could not start (e.g. a listen address in use) or stopped on an internal
error (logged at fatal), 2 bad usage or bad configuration (the message names
the file, the key and the problem).
`;

function usageError(msg: string): number {
  process.stderr.write(`ixrs run: ${msg}\n\n${RUN_HELP}`);
  return 2;
}

/** Load the configuration, print warnings once. Returns an exit code on failure. */
export function loadOrExplain(general: string, clients: string, prefix: string): RsConfig | number {
  try {
    const { config, warnings } = loadConfig(general, clients);
    for (const w of warnings) process.stderr.write(`${prefix}: warning: ${formatWarning(w)}\n`);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${prefix}: configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** The process logger: JSON lines on stderr. */
export function makeLogger(level: LogLevel): pino.Logger {
  return pino({ level, name: 'ixrs' }, pino.destination({ fd: 2, sync: true }));
}

/** Resolves on the first SIGINT/SIGTERM with its name; SIGHUP is warned about and ignored. */
export function waitForSignal(log: pino.Logger): { done: Promise<string>; dispose: () => void } {
  let resolveFn: (s: string) => void = () => undefined;
  const done = new Promise<string>((resolve) => {
    resolveFn = resolve;
  });
  const onStop = (sig: NodeJS.Signals): void => resolveFn(sig);
  const onHup = (): void => {
    log.warn('SIGHUP: configuration reload is not supported, ignored (restart ixrs instead)');
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onHup);
  return {
    done,
    dispose: () => {
      process.off('SIGINT', onStop);
      process.off('SIGTERM', onStop);
      process.off('SIGHUP', onHup);
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  let values: {
    general?: string;
    clients?: string;
    'log-level'?: string;
    check?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        general: { type: 'string' },
        clients: { type: 'string' },
        'log-level': { type: 'string' },
        check: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    return usageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  if (values.general === undefined) return usageError('--general is required');
  if (values.clients === undefined) return usageError('--clients is required');
  const level = values['log-level'];
  if (level !== undefined && !LEVELS.includes(level as LogLevel)) {
    return usageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  }

  const loaded = loadOrExplain(values.general, values.clients, 'ixrs run');
  if (typeof loaded === 'number') return loaded;
  const config = loaded;
  if (values.check) {
    process.stdout.write(
      `configuration OK: AS${config.rsAs}, router id ${config.routerId}, ${config.clients.length} clients\n`,
    );
    return 0;
  }

  const log = makeLogger((level as LogLevel | undefined) ?? config.ixrs.logLevel);
  // A bug must not leave a half-working route server: log it structured and exit.
  const onFatal = (err: unknown): void => {
    log.fatal({ err }, 'internal error, exiting');
    process.exit(1);
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  const signals = waitForSignal(log);
  let daemon: Daemon;
  try {
    daemon = await startDaemon({ config, logger: log });
  } catch (err) {
    signals.dispose();
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
    const e = err as NodeJS.ErrnoException;
    const hint =
      e.code === 'EACCES'
        ? ' (ports below 1024 need CAP_NET_BIND_SERVICE; or set cfg.ixrs.listen to another port)'
        : e.code === 'EADDRINUSE'
          ? ' (another BGP daemon listening?)'
          : e.code === 'EADDRNOTAVAIL'
            ? ' (the address is not configured on this host)'
            : '';
    process.stderr.write(`ixrs run: cannot start: ${e.message}${hint}\n`);
    return 1;
  }
  const sig = await signals.done;
  log.warn({ signal: sig }, 'shutting down');
  // A second signal during shutdown exits at once.
  const force = (): void => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await daemon.stop(`route server shutting down (${sig})`);
  signals.dispose();
  process.off('SIGINT', force);
  process.off('SIGTERM', force);
  process.off('uncaughtException', onFatal);
  process.off('unhandledRejection', onFatal);
  return 0;
}
