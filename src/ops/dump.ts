// `ixrs dump rib FILE`: ask a running route server to write an MRT
// (RFC 6396) TABLE_DUMP_V2 file of its accepted paths, over the control socket.

import { resolve } from 'node:path';
import { DEFAULT_CONTROL_SOCKET } from '../config/load.ts';
import { type CommandText, controlSocket, parseCommand, usageError as usage } from './command.ts';
import { adminSocketPath, controlRequest } from './control.ts';

export const DUMP_HELP = `Usage: ixrs dump rib FILE [options]

  rib FILE    the route server writes an MRT (RFC 6396) TABLE_DUMP_V2 file of
              every accepted path (PEER_INDEX_TABLE, RIB_IPV4_UNICAST,
              RIB_IPV6_UNICAST) to FILE (relative paths are taken from here);
              read it with 'bgpdump -m FILE'. The file appears when complete.

Options:
  --socket PATH   control socket of the running ixrs (default: $IXRS_CONTROL_SOCKET,
                  else ${DEFAULT_CONTROL_SOCKET}); the request goes to its
                  owner-only admin socket beside it (x.sock -> x.admin.sock)
  --timeout S     wait this long for the dump, seconds (default 300)
  --json          print the result as JSON
  -h, --help      this text

The route server process writes the file: FILE must be writable by it, and
only its own user (the admin socket) may ask for one.
Periodic dumps and the BGP4MP update log: cfg.ixrs.mrt (docs/observability.md).

Exit status: 0 written, 1 the route server answered with an error or cannot be
reached, 2 bad usage.
`;

const CMD: CommandText = { name: 'ixrs dump', help: DUMP_HELP };

function usageError(msg: string): number {
  return usage(CMD, msg);
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommand(CMD, argv, {
    socket: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [what, file, ...extra] = positionals;
  if (what !== 'rib')
    return usageError(what === undefined ? 'what to dump?' : `unknown dump '${what}'`);
  if (file === undefined) return usageError('rib needs a FILE');
  if (extra.length > 0) return usageError(`unexpected argument '${extra[0]}'`);
  const timeout = values.timeout === undefined ? 300 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    return usageError('--timeout must be a positive number');
  const socket = controlSocket(values.socket);
  try {
    const r = await controlRequest(
      adminSocketPath(socket),
      { cmd: 'dump', what: 'rib', file: resolve(file) },
      timeout * 1000,
    );
    process.stdout.write(
      values.json
        ? `${JSON.stringify(r, null, 2)}\n`
        : `${r.file}: ${r.prefixes} prefixes, ${r.paths} paths, ${r.bytes} octets in ${r.ms} ms\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`ixrs dump: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
