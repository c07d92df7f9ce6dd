// `ixrs scenario check FILE...`: validate scenario files (docs/scenarios.md)
// without starting anything.

import { parseArgs } from 'node:util';
import { ConfigError } from '../config/types.ts';
import { loadScenario } from './load.ts';
import { runMain } from './run-cli.ts';
import type { Scenario } from './types.ts';

export const SCENARIO_HELP = `Usage: ixrs scenario check FILE... [--json]
       ixrs scenario run FILE... [--mode loopback|netns] [--report junit.xml] [--json] [--keep-going]

Scripted data-plane failure scenarios for a peering LAN (docs/scenarios.md):
a topology (route server, clients, agents), steps (cut, heal, flap, agent
loss, announce, withdraw, route-server restart) and expectations with
deadlines. Examples ship in fixtures/scenarios/.

Commands:
  check FILE...   read and validate each file; print one line per file, or
                  the first error with its file, key and line. Starts nothing.
  run FILE...     validate every file (nothing starts if one is bad), then play
                  each scenario: a line per step with its timings, a line per
                  expectation (a failed one names the step, the client, what
                  was expected and what was seen; a held one the time since
                  the last fault, e.g. cut to withdraw), and a last line
                  'N passed, N failed' (expectations).
  client SPEC     (internal, netns mode) one builtin client as a process.

Options:
  --mode M        loopback (default; no root: route server, builtin clients
                  and agents in this process on 127.0.0.0/8, BFD over a
                  simulated datagram fabric where cuts are made) or netns
                  (root, iproute2, nftables and the daemons the clients name:
                  a bridge in network namespaces, 'ixrs run', each client a
                  builtin process or BIRD/FRR/GoBGP/OpenBGPD, 'ixrs agent'
                  beside it, cuts as nftables rules in the switch namespace,
                  RIBs read from the routers' CLIs; everything removed after).
                  A scenario not meant for the mode is skipped.
  --report FILE   (run) write JUnit XML to FILE
  --keep-going    (run) after a failed step, play the scenario's other steps
                  (default: the rest of that scenario is skipped)
  --json          one JSON object per file (check) / per step, expectation
                  and the summary (run)
  -h, --help      this text

Environment: IXRS_SCENARIO_KEEP=1 keeps a netns run's directory (/tmp/ixs-PID-*:
configs and logs of every process); IXRS_SCENARIO_LOG=LEVEL logs on stderr.

Exit status: 0 when every file is valid (check) / every expectation held
(run), 1 otherwise, 2 on a usage error, 130 when interrupted (SIGINT), after
everything started has been torn down.
`;

function summary(s: Scenario): string {
  const agents = s.clients.filter((c) => c.agent !== null).length;
  return `${s.file}: OK: '${s.name}', ${s.clients.length} clients (${agents} with agents), ${s.steps.length} steps, modes ${s.modes.join(', ')}`;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        mode: { type: 'string' },
        report: { type: 'string' },
        'keep-going': { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`ixrs scenario: ${(err as Error).message}\n\n${SCENARIO_HELP}`);
    return 2;
  }
  const [verb, ...files] = parsed.positionals;
  if (parsed.values.help === true || verb === undefined) {
    process.stdout.write(SCENARIO_HELP);
    return verb === undefined && parsed.values.help !== true ? 2 : 0;
  }
  if (verb === 'run') {
    return runMain(files, {
      json: parsed.values.json === true,
      mode: (parsed.values.mode as string | undefined) ?? 'loopback',
      report: parsed.values.report as string | undefined,
      keepGoing: parsed.values['keep-going'] === true,
    });
  }
  if (verb === 'client' && files.length === 1) {
    // Internal: a builtin client in its own process (netns mode).
    const { clientMain } = await import('./netns/client-proc.ts');
    return clientMain(files[0]!);
  }
  if (verb !== 'check') {
    process.stderr.write(`ixrs scenario: unknown command '${verb}'\n\n${SCENARIO_HELP}`);
    return 2;
  }
  if (files.length === 0) {
    process.stderr.write(`ixrs scenario check: give at least one FILE\n`);
    return 2;
  }
  let bad = 0;
  for (const file of files) {
    try {
      const s = loadScenario(file);
      process.stdout.write(
        parsed.values.json === true
          ? `${JSON.stringify({ file, ok: true, name: s.name, clients: s.clients.length, steps: s.steps.length, modes: s.modes })}\n`
          : `${summary(s)}\n`,
      );
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      bad++;
      process.stdout.write(
        parsed.values.json === true
          ? `${JSON.stringify({ file, ok: false, key: err.key, line: err.line ?? null, problem: err.problem })}\n`
          : `${err.message}\n`,
      );
    }
  }
  return bad === 0 ? 0 : 1;
}
