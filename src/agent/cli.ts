// `ixrs agent`: the companion agent beside a member's router (docs/agent.md),
// and `ixrs agent status`.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { AuthConfig } from '../bfd/auth.ts';
import { authFromOptions } from '../bfd/cli.ts';
import { parseYaml } from '../config/reader.ts';
import { ConfigError } from '../config/types.ts';
import { AGENT_DEFAULTS, Agent, type AgentOptions } from './agent.ts';
import { BfdStartError } from './bfd-thread.ts';
import { defaultAgentSocket, queryAgent, renderStatus, serveAgentControl } from './control.ts';
import type { LsCodec } from './ls.ts';

const D = AGENT_DEFAULTS;

export const HELP = `Usage: ixrs agent --rs ADDRESS --asn ASN --local ADDRESS [options]
       ixrs agent --config FILE [options]
       ixrs agent status [--control PATH] [--json]

The RS-BFD companion agent (docs/agent.md, docs/rs-bfd-profile.md): runs on
the member's router host, from the router's own IXP LAN address, beside the
router (which needs no change). It keeps one BGP session carrying only BGP-LS
to the route server, learns which next hops to check, runs BFD to each and
reports reachable / unreachable; the route server then stops sending this
member routes whose next hop it cannot reach.

Options (command line wins over --config):
  --rs ADDRESS            the route server's IPv4 address (IPv4 BGP-LS session)
  --rs6 ADDRESS6          the route server's IPv6 address (IPv6 BGP-LS session,
                          needs an IPv6 --local)
  --rs-asn ASN            the route server's AS (default: accept any)
  --rs-port PORT          TCP port of the route server (default 179)
  --asn ASN               the member's AS (required)
  --local ADDRESS         the member's LAN address, the router's own; once per
                          family (an IPv4 and a global IPv6 address). BGP and
                          BFD run from it (required)
  --router-id ID          BGP Identifier (default: the IPv4 --local; required
                          without one)
  --lan PREFIX            accept BFD sessions started by other agents from
                          PREFIX (repeatable; default: the prefixes of the
                          interfaces holding the --local addresses)
  --bfd-interval MS       BFD Desired Min TX and Required Min RX once Up, ms
                          (default ${D.bfdIntervalMs})
  --bfd-multiplier N      BFD Detect Mult, 1-255 (default ${D.bfdMultiplier})
  --bfd-port PORT         UDP port for BFD (default 3784; RFC 5881)
  --bring-up-timeout S    a requested session not Up within S seconds is
                          reported unreachable (default ${D.bringUpS})
  --hold-down S           report reachable only after Up lasted S seconds
                          (default ${D.holdDownS})
  --auth TYPE             BFD authentication (RFC 5880 §6.7) for every session:
                          simple, keyed-md5, meticulous-keyed-md5, keyed-sha1,
                          meticulous-keyed-sha1; needs --key-file or --key-env
  --key-id N              Auth Key ID, 0-255 (default 1)
  --key-file PATH         the key, from a file (one trailing newline stripped)
  --key-env NAME          the key, from an environment variable
  --control PATH          control socket for 'ixrs agent status' (default
                          $IXRS_AGENT_SOCKET, else /run/ixrs/agent.sock as root,
                          else ixrs-agent.sock in $XDG_RUNTIME_DIR or the temp
                          directory)
  --config FILE           read the options above from a YAML file: keys rs,
                          rs6, rs_asn, rs_port, asn, local (one or a list),
                          router_id, lan (list), bfd_interval, bfd_multiplier,
                          bfd_port, bring_up_timeout, hold_down, control,
                          log_level, auth: {type, key_id, key_file, key_env}
  --json                  change lines (and status) as JSON
  --log-level LEVEL       diagnostics on stderr: fatal, error, warn, info, debug
                          (default warn)
  -h, --help              show this text

Output: one line per change on stdout —
  TIME rs ADDRESS OLD -> NEW (why not connected)
  TIME bfd NEXTHOP ASnnn OLD -> NEW diag=DIAG remote-diag=DIAG detect=MSms
  TIME report NEXTHOP ASnnn OLD -> NEW (why): what is reported
SIGINT/SIGTERM: BFD AdminDown to every peer, Cease to the route server (which
then fails open for this member), exit 0.
Exit codes: 2 bad options or configuration (nothing started), 3 UDP port
3784 taken on the address (the router runs BFD there already), 1 other errors.
`;

export const OPTIONS = {
  rs: { type: 'string' },
  rs6: { type: 'string' },
  'rs-asn': { type: 'string' },
  'rs-port': { type: 'string' },
  asn: { type: 'string' },
  local: { type: 'string', multiple: true },
  'router-id': { type: 'string' },
  lan: { type: 'string', multiple: true },
  'bfd-interval': { type: 'string' },
  'bfd-multiplier': { type: 'string' },
  'bfd-port': { type: 'string' },
  'bring-up-timeout': { type: 'string' },
  'hold-down': { type: 'string' },
  auth: { type: 'string' },
  'key-id': { type: 'string' },
  'key-file': { type: 'string' },
  'key-env': { type: 'string' },
  control: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Key = Exclude<keyof typeof OPTIONS, 'help' | 'json' | 'config'>;

/** A value and where it came from ('--asn', or 'agent.yml: asn (line 3)'). */
interface Src {
  text: string;
  where: string;
}

export class UsageError extends Error {}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The file's keys, as option values with their origin (ConfigError on a bad file). */
export function readConfigFile(file: string, text: string): Map<Key, Src[]> {
  const out = new Map<Key, Src[]>();
  const root = parseYaml(file, text, [], new Map());
  if (root.isNull()) return out;
  const m = root.map();
  const where = (path: string, line: number | undefined) =>
    `${file}: ${path}${line === undefined ? '' : ` (line ${line})`}`;
  const scalar = (key: Key, yamlKey: string) => {
    const v = m.get(yamlKey);
    if (v === undefined) return;
    out.set(key, [{ text: v.text(), where: where(v.path, v.line) }]);
  };
  const list = (key: Key, yamlKey: string) => {
    const v = m.get(yamlKey);
    if (v === undefined) return;
    out.set(
      key,
      v.listOrOne().map((x) => ({ text: x.text(), where: where(x.path, x.line) })),
    );
  };
  scalar('rs', 'rs');
  scalar('rs6', 'rs6');
  scalar('rs-asn', 'rs_asn');
  scalar('rs-port', 'rs_port');
  scalar('asn', 'asn');
  list('local', 'local');
  scalar('router-id', 'router_id');
  list('lan', 'lan');
  scalar('bfd-interval', 'bfd_interval');
  scalar('bfd-multiplier', 'bfd_multiplier');
  scalar('bfd-port', 'bfd_port');
  scalar('bring-up-timeout', 'bring_up_timeout');
  scalar('hold-down', 'hold_down');
  scalar('control', 'control');
  scalar('log-level', 'log_level');
  const auth = m.get('auth');
  if (auth !== undefined) {
    const a = auth.map();
    const sub = (key: Key, yamlKey: string) => {
      const v = a.get(yamlKey);
      if (v !== undefined) out.set(key, [{ text: v.text(), where: where(v.path, v.line) }]);
    };
    sub('auth', 'type');
    sub('key-id', 'key_id');
    sub('key-file', 'key_file');
    sub('key-env', 'key_env');
    a.end();
  }
  m.end();
  return out;
}

export interface ParsedAgentArgs {
  options: Omit<AgentOptions, 'codec'>;
  control: string;
  json: boolean;
  logLevel: string;
}

/**
 * Options (and the --config file) to agent options. Throws UsageError or
 * ConfigError naming the option or the file, key and line.
 */
export function parseAgentArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ParsedAgentArgs | 'help' {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const got = new Map<Key, Src[]>();
  if (values.config !== undefined) {
    let text: string;
    try {
      text = readFile(values.config);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new UsageError(`--config ${values.config}: cannot read the file (${code})`);
    }
    for (const [k, v] of readConfigFile(values.config, text)) got.set(k, v);
  }
  for (const k of Object.keys(OPTIONS) as (keyof typeof OPTIONS)[]) {
    if (k === 'help' || k === 'json' || k === 'config') continue;
    const v = values[k];
    if (v === undefined) continue;
    const texts = Array.isArray(v) ? v : [v as string];
    got.set(
      k,
      texts.map((text) => ({ text, where: `--${k}` })),
    );
  }
  const one = (k: Key): Src | undefined => {
    const l = got.get(k);
    if (l !== undefined && l.length > 1) throw new UsageError(`--${k} given more than once`);
    return l?.[0];
  };
  const fail = (s: Src, problem: string): never => {
    throw new UsageError(`${s.where}: ${problem}, got '${s.text}'`);
  };
  const int = (k: Key, min: number, max: number): number | undefined => {
    const s = one(k);
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s.text.trim())) fail(s, `must be an integer from ${min} to ${max}`);
    const n = Number(s.text);
    if (n < min || n > max) fail(s, `must be an integer from ${min} to ${max}`);
    return n;
  };
  const num = (k: Key, min: number, max: number): number | undefined => {
    const s = one(k);
    if (s === undefined) return undefined;
    const n = Number(s.text);
    if (s.text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      fail(s, `must be a number from ${min} to ${max}`);
    }
    return n;
  };
  const addr = (k: Key, v4: boolean | null): string | undefined => {
    const s = one(k);
    if (s === undefined) return undefined;
    const fam = isIP(s.text);
    if (fam === 0) fail(s, 'must be an IP address');
    if (v4 === true && fam !== 4) fail(s, 'must be an IPv4 address');
    if (v4 === false && fam !== 6) fail(s, 'must be an IPv6 address');
    return s.text;
  };

  const asnSrc = one('asn');
  if (asnSrc === undefined) throw new UsageError('--asn is required (or asn: in --config)');
  const asn = int('asn', 1, 4_294_967_295)!;
  const locals = got.get('local') ?? [];
  if (locals.length === 0) throw new UsageError('--local is required (or local: in --config)');
  let local: string | undefined;
  let local6: string | undefined;
  for (const s of locals) {
    const fam = isIP(s.text);
    if (fam === 0) fail(s, 'must be an IP address');
    if (fam === 4) {
      if (local !== undefined) fail(s, 'one IPv4 local address only (it is also given before)');
      local = s.text;
    } else {
      if (local6 !== undefined) fail(s, 'one IPv6 local address only (it is also given before)');
      if (/^fe[89ab]/i.test(s.text)) fail(s, 'must be a global IPv6 address, not link-local');
      local6 = s.text;
    }
  }
  const rs = addr('rs', true);
  const rs6 = addr('rs6', false);
  if (rs === undefined && rs6 === undefined) {
    throw new UsageError('--rs (or --rs6) is required: the route server to report to');
  }
  if (rs !== undefined && local === undefined) {
    throw new UsageError(`--rs ${rs} needs an IPv4 --local to connect from`);
  }
  if (rs6 !== undefined && local6 === undefined) {
    throw new UsageError(`--rs6 ${rs6} needs an IPv6 --local to connect from`);
  }
  const routerId = addr('router-id', true) ?? local;
  if (routerId === undefined)
    throw new UsageError('--router-id is required without an IPv4 --local');
  const lan: string[] = [];
  for (const s of got.get('lan') ?? []) {
    const [net, len, extra] = s.text.split('/');
    const fam = isIP(net ?? '');
    const max = fam === 4 ? 32 : 128;
    if (
      fam === 0 ||
      len === undefined ||
      extra !== undefined ||
      !/^\d+$/.test(len) ||
      Number(len) > max
    ) {
      fail(s, 'must be a prefix such as 192.0.2.0/24 or 2001:db8::/64');
    }
    lan.push(s.text);
  }
  const bfdIntervalMs = int('bfd-interval', 1, 4_294_967) ?? D.bfdIntervalMs;
  const bfdMultiplier = int('bfd-multiplier', 1, 255) ?? D.bfdMultiplier;
  const bfdPort = int('bfd-port', 1, 65535);
  const rsPort = int('rs-port', 1, 65535);
  const rsAsn = int('rs-asn', 1, 4_294_967_295);
  const bringUpS = num('bring-up-timeout', 0.001, 86_400) ?? D.bringUpS;
  const holdDownS = num('hold-down', 0, 86_400) ?? D.holdDownS;
  const levelSrc = one('log-level');
  if (levelSrc !== undefined && !LEVELS.includes(levelSrc.text)) {
    fail(levelSrc, `must be one of ${LEVELS.join(', ')}`);
  }
  let auth: AuthConfig | undefined;
  const authKeys = ['auth', 'key-id', 'key-file', 'key-env'] as const;
  const a: Partial<Record<(typeof authKeys)[number], string>> = {};
  for (const k of authKeys) {
    const s = one(k);
    if (s !== undefined) a[k] = s.text;
  }
  try {
    auth = authFromOptions(a, env);
  } catch (err) {
    const where = one('auth')?.where ?? '--auth';
    throw new UsageError(
      where.startsWith('--') ? (err as Error).message : `${where}: ${(err as Error).message}`,
    );
  }
  return {
    options: {
      asn,
      routerId,
      rs,
      rs6,
      rsAsn,
      rsPort,
      local,
      local6,
      lan: lan.length > 0 ? lan : undefined,
      bfdIntervalMs,
      bfdMultiplier,
      bfdPort,
      bringUpMs: Math.round(bringUpS * 1000),
      holdDownMs: Math.round(holdDownS * 1000),
      auth,
    },
    control: one('control')?.text ?? defaultAgentSocket(),
    json: values.json ?? false,
    logLevel: levelSrc?.text ?? 'warn',
  };
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, strict: true, allowPositionals: false, options: OPTIONS });
}

async function statusMain(argv: string[]): Promise<number> {
  let values: { control?: string; json?: boolean; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        control: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`ixrs agent status: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(
      'Usage: ixrs agent status [--control PATH] [--json]\n\nEach checked next hop with its BFD state, the timers in force, the last change\nand what was reported; the route-server sessions and why one is not connected.\n',
    );
    return 0;
  }
  try {
    const s = await queryAgent(values.control ?? defaultAgentSocket());
    process.stdout.write(values.json ? `${JSON.stringify(s, null, 2)}\n` : renderStatus(s));
    return 0;
  } catch (err) {
    process.stderr.write(`ixrs agent status: ${(err as Error).message}\n`);
    return 1;
  }
}

/** The BGP-LS codec (src/bgpls) behind the agent's interface. */
async function loadCodec(): Promise<LsCodec> {
  const m = await import('./bgpls-codec.ts');
  return m.bgplsCodec;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'status') return statusMain(argv.slice(1));
  let parsed: ParsedAgentArgs | 'help';
  try {
    parsed = parseAgentArgs(argv);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(
        `ixrs agent: ${err.message}\n\nRun 'ixrs agent --help' for the options.\n`,
      );
      return 2;
    }
    throw err;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const logger = pino({ level: parsed.logLevel }, pino.destination(2));
  let fatal: ((reason: string) => void) | null = null;
  const agent = new Agent({
    ...parsed.options,
    onFatal: (reason) => fatal?.(reason),
    codec: await loadCodec(),
    json: parsed.json,
    logger,
  });
  try {
    await agent.start();
  } catch (err) {
    await agent.stop();
    if (err instanceof BfdStartError && err.code === 'EADDRINUSE') {
      process.stderr.write(
        `ixrs agent: UDP port ${parsed.options.bfdPort ?? 3784} on ${err.local} is taken: something on this host already runs BFD on the member's address (most likely the router itself).\n` +
          'The agent cannot share it. Either free the port (turn BFD off on the router for the IXP LAN),\n' +
          'or let the router speak BGP-LS to the route server itself; see docs/agent.md, "When the router runs BFD".\n',
      );
      return 3;
    }
    if (err instanceof BfdStartError && err.code === 'EADDRNOTAVAIL') {
      process.stderr.write(
        `ixrs agent: ${err.local} is not an address of this host: --local must be the member's LAN address, configured here\n`,
      );
      return 1;
    }
    process.stderr.write(`ixrs agent: ${(err as Error).message}\n`);
    return 1;
  }
  let control: { close(): Promise<void> } | null = null;
  try {
    control = await serveAgentControl(parsed.control, async () => {
      await agent.refreshBfd();
      return agent.status();
    });
  } catch (err) {
    process.stderr.write(`ixrs agent: control socket: ${(err as Error).message}\n`);
    await agent.stop();
    return 1;
  }
  return new Promise<number>((resolve) => {
    fatal = (reason) => {
      process.stderr.write(
        `ixrs agent: BFD failed (${reason}); stopped, the route server fails open\n`,
      );
      void control?.close().then(() => resolve(1));
    };
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void Promise.all([agent.stop(), control?.close()]).then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
