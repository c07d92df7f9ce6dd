// `ixrs session enable|disable|reset|refresh C`: change a session of a running
// route server over its admin socket (the ixrs user only).

import { DEFAULT_CONTROL_SOCKET } from '../config/load.ts';
import { type CommandText, controlSocket, parseCommand, usageError as usage } from './command.ts';
import { adminSocketPath, controlRequest, SESSION_ACTIONS, type SessionAction } from './control.ts';
import { renderJson } from './render.ts';

export const SESSION_HELP = `Usage: ixrs session <action> C [options]

  disable C     Cease / Administrative Shutdown (6/2) with a shutdown message
                (RFC 9003); the session stays down until 'enable'
  enable C      start it again; also clears a max-prefix stop (action shutdown,
                or restart before max_prefix.restart_after), no restart of ixrs
  reset C       Cease / Administrative Reset (6/4) with a shutdown message, then
                start again at once; only C's session goes down (its routes are
                withdrawn from the others until it is back: 'refresh' does not)
  refresh C     soft reset, nothing goes down: ROUTE-REFRESH to C (RFC 2918)
                for every negotiated family, and the route server's routes sent
                to C again

  C is an ASN (64501 or AS64501), a client id (AS64501-2) or an IP address of
  the client (then: that one session; otherwise every session of the client).

Options:
  --message TEXT  the shutdown message for disable/reset (default: "ixrs session
                  <action> by the operator"; at most 255 octets are sent)
  --socket PATH   control socket of the running ixrs (default: $IXRS_CONTROL_SOCKET,
                  else ${DEFAULT_CONTROL_SOCKET}); the command goes to the admin
                  socket beside it (x.sock -> x.admin.sock), which only the ixrs
                  user may use: members of the socket's group may run 'ixrs
                  show' only
  --json          print the answer as JSON
  -h, --help      this text

Exit status: 0 done, 1 refused or the route server cannot be reached, 2 bad usage.
`;

const CMD: CommandText = { name: 'ixrs session', help: SESSION_HELP };

function usageError(msg: string): number {
  return usage(CMD, msg);
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommand(CMD, argv, {
    socket: { type: 'string' },
    message: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [action, client, ...extra] = positionals;
  if (action === undefined) return usageError('which action?');
  if (!(SESSION_ACTIONS as readonly string[]).includes(action)) {
    return usageError(`unknown action '${action}' (${SESSION_ACTIONS.join(', ')})`);
  }
  if (client === undefined) return usageError(`${action} needs a client (ASN, id or IP)`);
  if (extra.length > 0) return usageError(`unexpected argument '${extra[0]}'`);
  const socket = controlSocket(values.socket);
  const admin = adminSocketPath(socket);
  try {
    const r = await controlRequest(
      admin,
      {
        cmd: 'session',
        action: action as SessionAction,
        client,
        ...(values.message !== undefined ? { message: values.message } : {}),
      },
      30_000,
    );
    if (values.json) process.stdout.write(renderJson(r));
    else
      for (const s of r.sessions)
        process.stdout.write(`${r.client} ${s.address}: ${s.done} (${s.bgpState})\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`ixrs session: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
