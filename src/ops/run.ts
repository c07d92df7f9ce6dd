// `ixrs run --general general.yml --clients clients.yml [--log-level L]`:
// the route server process.

import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, formatWarning, loadConfig, withIpVersion } from '../config/load.ts';
import type { ConfigWarning, LogLevel, RsConfig } from '../config/types.ts';
import { type Daemon, startDaemon } from './daemon.ts';
import { preflight } from './preflight.ts';

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const RUN_HELP = `Usage: ixrs run --general general.yml --clients clients.yml [options]

Run the route server (RFC 7947) for the clients of an arouteserver-style
configuration: one BGP session per client address, IPv4 and IPv6 unicast,
4-octet AS, route refresh (RFC 2918, enhanced RFC 7313), extended messages
(RFC 8654), graceful restart helper (RFC 4724), extended next hop for IPv4
(RFC 8950), ADD-PATH send offered to clients with cfg.add_path (RFC 7911).
Clients are external peers (RFC 7606 §7.5, §7.9, §7.10: LOCAL_PREF,
ORIGINATOR_ID, CLUSTER_LIST discarded); UPDATEs for families not negotiated
on a session are ignored (logged once). Attribute flags are sent as RFC 4271
§4.3 requires whatever a client sent (docs/rfc7606.md). Clients with passive:
True are waited for; the others are also connected to (TCP port 179). Not
wired yet: RS-BFD (cfg.ixrs.rs_bfd, BGP-LS reachability sessions); every next
hop counts as reachable.

Reconnect backoff (cfg.ixrs.reconnect_backoff, initial 5 s, max 120 s): after
a session that ended in an error (a NOTIFICATION sent, or received other than
Cease; hold timer expiry; garbage or no OPEN on a new connection) or never
reached Established, the client's connections are refused (Cease 6/5, logged
at warn with the time they are taken again) for the initial time, doubling
per consecutive failure up to the max. A session the client closed with a
Cease or a plain TCP close is no failure: it may reconnect at once. The count
is forgotten once a session stayed Established for one hold time.

Options:
  --general PATH     general.yml (cfg.rs_as, cfg.router_id, filtering, communities,
                     cfg.ixrs: listen, control, local_address, ip_ver, hold_time,
                     log_level, allow_unauthenticated, reconnect_backoff)
  --clients PATH     clients.yml
  --control PATH     the control socket (instead of cfg.ixrs.control.path), e.g.
                     one per instance with --ip-ver
  --ip-ver 4|6       only this address family: its client addresses, its routes,
                     and (unless cfg.ixrs.listen) 0.0.0.0 or IPv6-only :: — two
                     instances run side by side (arouteserver's --ip-ver)
  --log-level L      fatal | error | warn | info | debug | trace | silent
                     (default: cfg.ixrs.log_level, itself 'warn'). Session
                     changes and connect failures are at warn. Logs are JSON
                     lines (pino) on stderr, time in ISO 8601.
  --check            load and validate the configuration, print warnings and
                     what does not fit this host, exit: 0 'configuration OK',
                     1 'configuration has N unsafe settings' (a setting asks for
                     protection ixrs does not give: RPKI reject_invalid, GTSM,
                     blackhole filtering), 2 configuration error
  --strict           every warning is fatal (with --check: exit 1; without:
                     refuse to start, exit 2)
  -h, --help         this text

Refused configurations (exit 2, every client concerned named): a client with a
TCP-MD5 password (not implemented) unless cfg.ixrs.allow_unauthenticated lists
it (or "all"); IRR enforcement on (arouteserver's default) for a client without
cfg.filtering.irrdb.prefixes/origins (ixrs fetches no IRR data).

Control socket: cfg.ixrs.control.path (default /run/ixrs/ixrs.sock), mode
(default "0660") and group: the group may run 'ixrs show', only the owner
'ixrs session ...'.

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
  const r = loadWithWarnings(general, clients, prefix);
  return typeof r === 'number' ? r : r.config;
}

/** loadOrExplain, also returning the warnings (printed once on stderr). */
export function loadWithWarnings(
  general: string,
  clients: string,
  prefix: string,
): { config: RsConfig; warnings: ConfigWarning[] } | number {
  try {
    const { config, warnings } = loadConfig(general, clients);
    for (const w of warnings) process.stderr.write(`${prefix}: warning: ${formatWarning(w)}\n`);
    return { config, warnings };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${prefix}: configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** The process logger: JSON lines on stderr, ISO 8601 time. */
export function makeLogger(level: LogLevel): pino.Logger {
  return pino(
    { level, name: 'ixrs', timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: 2, sync: true }),
  );
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

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
    'ip-ver'?: string;
    control?: string;
    check?: boolean;
    strict?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        general: { type: 'string' },
        clients: { type: 'string' },
        'log-level': { type: 'string' },
        'ip-ver': { type: 'string' },
        control: { type: 'string' },
        check: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
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

  const ipVer = values['ip-ver'];
  if (ipVer !== undefined && ipVer !== '4' && ipVer !== '6') {
    return usageError('--ip-ver must be 4 or 6');
  }

  const loaded = loadWithWarnings(values.general, values.clients, 'ixrs run');
  if (typeof loaded === 'number') return loaded;
  const { config, warnings } = loaded;
  if (ipVer !== undefined) withIpVersion(config, ipVer === '4' ? 4 : 6);
  if (values.control !== undefined) {
    if (!values.control.startsWith('/')) {
      return usageError(
        `--control '${values.control}': give the absolute path of the control socket (a unix socket), not a port`,
      );
    }
    config.ixrs.controlSocket = values.control;
    config.ixrs.control.path = values.control;
  }
  const host = preflight(config);
  for (const h of host) process.stderr.write(`ixrs run: warning: ${h}\n`);
  const unsafe = warnings.filter((w) => w.unsafe && !w.acknowledged).length;
  const acked = warnings.filter((w) => w.acknowledged).length;
  const all = warnings.length + host.length;
  if (values.check) {
    if (values.strict && all > 0) {
      process.stdout.write(`configuration has ${plural(all, 'warning')} (--strict)\n`);
      return 1;
    }
    if (unsafe > 0) {
      process.stdout.write(
        `configuration has ${plural(unsafe, 'unsafe setting')}: they ask for protection ixrs does not give (see the warnings)\n`,
      );
      return 1;
    }
    const sessions = config.clients.reduce(
      (n, c) =>
        n +
        c.addresses.filter(
          (a) =>
            config.ixrs.ipVersion === null || (config.ixrs.ipVersion === 6) === a.includes(':'),
        ).length,
      0,
    );
    const ack = acked > 0 ? `, ${plural(acked, 'acknowledged unsafe setting')}` : '';
    process.stdout.write(
      `configuration OK: AS${config.rsAs}, router id ${config.routerId}, ${plural(config.clients.length, 'client')}, ${plural(sessions, 'session')}${ack}\n`,
    );
    return 0;
  }
  if (values.strict && all > 0) {
    process.stderr.write(
      `ixrs run: configuration error (--strict): ${plural(all, 'warning')}, not starting\n`,
    );
    return 2;
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
