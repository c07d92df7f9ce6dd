// `ixrs bfd`: run BFD sessions (RFC 5880/5881) and print every state change.

import { parseArgs } from 'node:util';
import { BfdManager, type BfdStateEvent } from './manager.ts';
import { BFD_CONTROL_PORT } from './transport.ts';

export const HELP = `Usage: ixrs bfd --local ADDRESS --peer ADDRESS [--peer ADDRESS ...] [options]

Run single-hop BFD sessions (RFC 5880, RFC 5881) from ADDRESS and print one
line per session state change. Ctrl-C (SIGINT) or SIGTERM sends AdminDown to
every peer, then exits 0.

Options:
  --local ADDRESS     local IPv4 or IPv6 address to run from (required); BFD
                      packets are received on ADDRESS port --port
  --peer ADDRESS      peer to run an active session with (repeatable)
  --interval MS       Desired Min TX and Required Min RX interval once Up, in
                      milliseconds (default 1000); packets go at least 1 s
                      apart while the session is not Up (RFC 5880 §6.8.3)
  --rx MS             Required Min RX interval if different from --interval
  --multiplier N      Detect Mult, 1-255 (default 3)
  --passive           the --peer sessions take the passive role: they stay
                      silent until the peer has spoken (RFC 5880 §6.1)
  --allow PREFIX      accept sessions started by peers in PREFIX (repeatable),
                      e.g. 192.0.2.0/24 or 2001:db8::/64 (RFC 9468 style)
  --max-passive N     most sessions accepted from --allow peers (default 1024)
  --port PORT         UDP port to receive on and send to (default ${BFD_CONTROL_PORT})
  --json              print JSON lines instead of text
  -h, --help          show this text

Text lines:  TIME PEER STATE (from PREVIOUS) diag=DIAG remote-diag=DIAG detect=MSms
JSON lines:  {"time","peer","local","state","previous","diag","remoteDiag",
              "remoteState","detectMs","passive"}
Sources: each session sends from its own port in 49152-65535 with TTL/Hop
Limit 255. Exit codes: 0 after a signal, 2 on bad arguments, 1 on errors.
`;

function num(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got '${v}'`);
  }
  return n;
}

class UsageError extends Error {}

export function formatEvent(e: BfdStateEvent, json: boolean): string {
  const time = new Date(e.at).toISOString();
  if (json) {
    return JSON.stringify({
      time,
      peer: e.peer,
      local: e.local,
      state: e.state,
      previous: e.previous,
      diag: e.diag,
      remoteDiag: e.remoteDiag,
      remoteState: e.remoteState,
      detectMs: e.detectMs,
      passive: e.passive,
    });
  }
  return `${time} ${e.peer} ${e.state} (from ${e.previous}) diag=${e.diag} remote-diag=${e.remoteDiag} detect=${e.detectMs}ms`;
}

export async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    process.stderr.write(`ixrs bfd: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let intervalMs: number;
  let rxMs: number | undefined;
  let multiplier: number;
  let port: number;
  let maxPassive: number;
  try {
    if (values.local === undefined) throw new UsageError('--local is required');
    const peers = values.peer ?? [];
    const allow = values.allow ?? [];
    if (peers.length === 0 && allow.length === 0) {
      throw new UsageError('give at least one --peer or --allow');
    }
    intervalMs = num('interval', values.interval, 1, 4_294_967) ?? 1000;
    rxMs = num('rx', values.rx, 0, 4_294_967);
    multiplier = num('multiplier', values.multiplier, 1, 255) ?? 3;
    if (!Number.isInteger(multiplier)) throw new UsageError('--multiplier must be an integer');
    port = num('port', values.port, 1, 65535) ?? BFD_CONTROL_PORT;
    maxPassive = num('max-passive', values['max-passive'], 0, 1_000_000) ?? 1024;
  } catch (err) {
    process.stderr.write(`ixrs bfd: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const json = values.json ?? false;
  const mgr = new BfdManager({
    local: values.local,
    port,
    intervalMs,
    requiredMinRxMs: rxMs,
    multiplier,
    allow: values.allow,
    maxPassive,
    onError: (err, ctx) => {
      process.stderr.write(`ixrs bfd: ${ctx.peer ?? ctx.local ?? ''} ${err.message}\n`);
    },
  });
  mgr.subscribe((e) => {
    process.stdout.write(`${formatEvent(e, json)}\n`);
  });
  try {
    await mgr.start();
    for (const peer of values.peer ?? []) mgr.addPeer(peer, { passive: values.passive });
  } catch (err) {
    process.stderr.write(`ixrs bfd: ${(err as Error).message}\n`);
    await mgr.close({ adminDown: false });
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // §6.8.16: tell every peer AdminDown before leaving.
      mgr.close({ adminDown: true }).then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The options `ixrs bfd` accepts (HELP documents each). */
export const OPTIONS = {
  local: { type: 'string' },
  peer: { type: 'string', multiple: true },
  interval: { type: 'string' },
  rx: { type: 'string' },
  multiplier: { type: 'string' },
  passive: { type: 'boolean' },
  allow: { type: 'string', multiple: true },
  'max-passive': { type: 'string' },
  port: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: string[]) {
  return parseArgs({ args: argv, strict: true, allowPositionals: false, options: OPTIONS });
}
