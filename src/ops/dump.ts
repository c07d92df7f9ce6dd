// `ixrs dump rib FILE`: ask a running route server to write an MRT
// (RFC 6396) TABLE_DUMP_V2 file of its accepted paths, over the control socket.

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_SOCKET } from '../config/load.ts';
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

function usageError(msg: string): number {
  process.stderr.write(`ixrs dump: ${msg}\n\n${DUMP_HELP}`);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  function parse(a: string[]) {
    return parseArgs({
      args: a,
      allowPositionals: true,
      options: {
        socket: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  }
  try {
    parsed = parse(argv);
  } catch (err) {
    return usageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(DUMP_HELP);
    return 0;
  }
  const [what, file, ...extra] = positionals;
  if (what !== 'rib')
    return usageError(what === undefined ? 'what to dump?' : `unknown dump '${what}'`);
  if (file === undefined) return usageError('rib needs a FILE');
  if (extra.length > 0) return usageError(`unexpected argument '${extra[0]}'`);
  const timeout = values.timeout === undefined ? 300 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    return usageError('--timeout must be a positive number');
  const socket = values.socket ?? process.env.IXRS_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET;
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
