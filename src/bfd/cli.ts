// `ixrs bfd`: run BFD sessions (RFC 5880/5881) and print every state change.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { AuthConfig } from './auth.ts';
import { AuthType, type AuthTypeValue } from './codec.ts';
import { BfdManager, type BfdStateEvent } from './manager.ts';
import { BFD_CONTROL_PORT, familyOf } from './transport.ts';

export const HELP = `Usage: ixrs bfd --local ADDRESS --peer ADDRESS [--peer ADDRESS ...] [options]

Run single-hop BFD sessions (RFC 5880, RFC 5881) from ADDRESS and print one
line per session state change. Ctrl-C (SIGINT) or SIGTERM sends AdminDown to
every peer, then exits 0.

Options:
  --local ADDRESS     local IPv4 or IPv6 address to run from (required;
                      repeatable, at most one per address family); BFD
                      packets are received on ADDRESS port --port
  --peer ADDRESS      peer to run an active session with (repeatable), from
                      the --local of its address family
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
  --auth TYPE         authenticate every session (RFC 5880 §6.7), TYPE one of
                      simple, keyed-md5, meticulous-keyed-md5, keyed-sha1,
                      meticulous-keyed-sha1; needs --key-file or --key-env
  --key-id N          Auth Key ID, 0-255 (default 1)
  --key-file PATH     read the password / key from PATH (one trailing newline
                      is stripped); simple: 1-16 octets, MD5: 1-16, SHA1: 1-20
  --key-env NAME      read the password / key from environment variable NAME
                      instead of a file (same limits)
  --json              print JSON lines instead of text
  -h, --help          show this text

Text lines:  TIME PEER STATE (from PREVIOUS) diag=DIAG remote-diag=DIAG
             detect=MSms tx=MSms remote-disc=N
JSON lines:  {"time","peer","local","state","previous","diag","remoteDiag",
              "remoteState","detectMs","txMs","remoteDiscriminator","passive"}
detect is the detection time in force after the change (0 if the peer was
never heard); on a Down from Up or Init, the one in force until then (for a
detection timeout, the one that expired). tx is the transmit interval in use
after the change, before jitter. remote-disc is the peer's discriminator (on
a timeout Down, the one it had).
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

/** --auth names, as in RFC 5880 §4.1 (Auth Type). */
export const AUTH_TYPES: Record<string, AuthTypeValue> = {
  simple: AuthType.SimplePassword,
  'keyed-md5': AuthType.KeyedMD5,
  'meticulous-keyed-md5': AuthType.MeticulousKeyedMD5,
  'keyed-sha1': AuthType.KeyedSHA1,
  'meticulous-keyed-sha1': AuthType.MeticulousKeyedSHA1,
};

/** Longest secret per Auth Type (§4.2: password 1-16; §4.3: MD5 16; §4.4: SHA1 20). */
function maxKeyLen(type: AuthTypeValue): number {
  return type === AuthType.KeyedSHA1 || type === AuthType.MeticulousKeyedSHA1 ? 20 : 16;
}

/**
 * The authentication configuration from the --auth, --key-id, --key-file and
 * --key-env options (undefined without --auth). Throws UsageError naming the
 * option and the problem.
 */
export function authFromOptions(
  o: { auth?: string; 'key-id'?: string; 'key-file'?: string; 'key-env'?: string },
  env: NodeJS.ProcessEnv = process.env,
): AuthConfig | undefined {
  if (o.auth === undefined) {
    for (const k of ['key-id', 'key-file', 'key-env'] as const) {
      if (o[k] !== undefined) throw new UsageError(`--${k} needs --auth`);
    }
    return undefined;
  }
  const type = AUTH_TYPES[o.auth];
  if (type === undefined) {
    throw new UsageError(
      `--auth must be one of ${Object.keys(AUTH_TYPES).join(', ')}, got '${o.auth}'`,
    );
  }
  let keyId = 1;
  if (o['key-id'] !== undefined) {
    keyId = Number(o['key-id']);
    if (!/^\d+$/.test(o['key-id']) || keyId > 255) {
      throw new UsageError(`--key-id must be an integer from 0 to 255, got '${o['key-id']}'`);
    }
  }
  let secret: Uint8Array;
  let source: string;
  if (o['key-file'] !== undefined && o['key-env'] !== undefined) {
    throw new UsageError('give only one of --key-file and --key-env');
  } else if (o['key-file'] !== undefined) {
    source = `--key-file ${o['key-file']}`;
    let raw: Buffer;
    try {
      raw = readFileSync(o['key-file']);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new UsageError(`${source}: cannot read the key (${code})`);
    }
    let end = raw.length;
    if (end > 0 && raw[end - 1] === 0x0a) end--;
    if (end > 0 && raw[end - 1] === 0x0d) end--;
    secret = new Uint8Array(raw.subarray(0, end));
  } else if (o['key-env'] !== undefined) {
    source = `--key-env ${o['key-env']}`;
    const v = env[o['key-env']];
    if (v === undefined) throw new UsageError(`${source}: the variable is not set`);
    secret = new TextEncoder().encode(v);
  } else {
    throw new UsageError(`--auth ${o.auth} needs --key-file PATH or --key-env NAME`);
  }
  const max = maxKeyLen(type);
  if (secret.length < 1 || secret.length > max) {
    throw new UsageError(
      `${source}: the key is ${secret.length} octets, --auth ${o.auth} needs 1 to ${max}`,
    );
  }
  return { type, keyId, secret };
}

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
      txMs: e.txMs,
      remoteDiscriminator: e.remoteDiscriminator,
      passive: e.passive,
    });
  }
  return `${time} ${e.peer} ${e.state} (from ${e.previous}) diag=${e.diag} remote-diag=${e.remoteDiag} detect=${e.detectMs}ms tx=${e.txMs}ms remote-disc=${e.remoteDiscriminator}`;
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
  let auth: AuthConfig | undefined;
  const locals = values.local ?? [];
  const peerLocal = new Map<string, string>();
  try {
    if (locals.length === 0) throw new UsageError('--local is required');
    for (const l of locals) {
      if (isIP(l.split('%')[0]!) === 0) throw new UsageError(`--local '${l}' is not an IP address`);
    }
    if (new Set(locals.map(familyOf)).size !== locals.length) {
      throw new UsageError('give at most one --local per address family');
    }
    const peers = values.peer ?? [];
    const allow = values.allow ?? [];
    if (peers.length === 0 && allow.length === 0) {
      throw new UsageError('give at least one --peer or --allow');
    }
    for (const p of peers) {
      if (isIP(p) === 0) throw new UsageError(`--peer '${p}' is not an IP address`);
      const fam = familyOf(p);
      const l = locals.find((x) => familyOf(x) === fam);
      if (l === undefined) throw new UsageError(`--peer ${p}: no --local of its address family`);
      peerLocal.set(p, l);
    }
    auth = authFromOptions(values);
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
    local: locals,
    port,
    intervalMs,
    requiredMinRxMs: rxMs,
    multiplier,
    auth,
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
    for (const [peer, local] of peerLocal) mgr.addPeer(peer, { local, passive: values.passive });
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
  local: { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  interval: { type: 'string' },
  rx: { type: 'string' },
  multiplier: { type: 'string' },
  passive: { type: 'boolean' },
  allow: { type: 'string', multiple: true },
  'max-passive': { type: 'string' },
  port: { type: 'string' },
  auth: { type: 'string' },
  'key-id': { type: 'string' },
  'key-file': { type: 'string' },
  'key-env': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: string[]) {
  return parseArgs({ args: argv, strict: true, allowPositionals: false, options: OPTIONS });
}
