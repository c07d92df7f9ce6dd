// The builtin scenario client (../client.ts) as its own process, so that it
// can run inside a client's network namespace in netns mode:
// `ixrs scenario client SPEC.json` (internal; started by netns/world.ts).
// It writes one JSON line per change of what it holds (ClientLine) on stdout
// and reads announce/withdraw commands (ClientCommand) from stdin; when stdin
// closes it stops (Cease to the route server) and exits.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { BuiltinClient } from '../client.ts';

/** What the process is started with (a JSON file). */
export interface ClientProcSpec {
  name: string;
  asn: number;
  local: string;
  nextHop6: string | null;
  rsAddress: string;
  rsPort: number;
  rsAsn: number;
  prefixes: string[];
}

/** One line on stdout: the changes since the last line (`at`: Date.now()), the UPDATE count and the session state. */
export interface ClientLine {
  changes: { at: number; prefix: string; nextHop: string | null; asPath: number[] }[];
  updates: number;
  established: boolean;
}

export interface ClientCommand {
  cmd: 'announce' | 'withdraw';
  prefixes: string[];
}

export async function clientMain(specFile: string): Promise<number> {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as ClientProcSpec;
  const log = pino({ level: process.env.IXRS_SCENARIO_LOG ?? 'warn' }, pino.destination(2));
  const c = new BuiltinClient({
    ...spec,
    nextHop4: spec.local,
    logger: log,
    now: () => Date.now(),
  });
  let sent = 0;
  const flush = () => {
    const changes = c.changes.slice(sent).map((x) => ({
      ...x,
      asPath: x.nextHop === null ? [] : (c.rib.get(x.prefix)?.asPath ?? []),
    }));
    sent = c.changes.length;
    const line: ClientLine = { changes, updates: c.updates, established: c.established };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  // After the client's own listeners (registered in its constructor).
  for (const ev of ['update', 'established', 'down']) c.peer.on(ev, () => setImmediate(flush));
  await c.start();
  flush();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (l) => {
    const m = JSON.parse(l) as ClientCommand;
    if (m.cmd === 'announce') c.announce(m.prefixes);
    else c.withdraw(m.prefixes);
  });
  await new Promise<void>((resolve) => {
    rl.once('close', resolve);
    process.once('SIGTERM', resolve);
  });
  await c.stop();
  return 0;
}
