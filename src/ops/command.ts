// What the control-socket commands (`ixrs show`, `ixrs session`, `ixrs dump`)
// share on their command line: option parsing with -h/--help answered, the
// usage error (message, then the help, exit 2) and which socket to talk to.

import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { DEFAULT_CONTROL_SOCKET } from '../config/load.ts';

export interface CommandText {
  /** e.g. "ixrs show": the prefix of every message. */
  name: string;
  help: string;
}

/** A usage error: the message, then the help, on stderr; exit status 2. */
export function usageError(cmd: CommandText, msg: string): number {
  process.stderr.write(`${cmd.name}: ${msg}\n\n${cmd.help}`);
  return 2;
}

const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

/**
 * parseArgs with positionals and -h/--help. Returns the parsed values, or the
 * exit status when the command is already answered (help printed: 0; a bad
 * option: 2).
 */
export function parseCommand<O extends ParseArgsOptionsConfig>(
  cmd: CommandText,
  argv: string[],
  options: O,
) {
  const config = { args: argv, allowPositionals: true, options: { ...options, ...HELP } } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    return usageError(cmd, err instanceof Error ? err.message : String(err));
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(cmd.help);
    return 0;
  }
  return parsed;
}

/** --socket, else $IXRS_CONTROL_SOCKET, else the default path. */
export function controlSocket(option: string | undefined): string {
  return option ?? process.env.IXRS_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET;
}
