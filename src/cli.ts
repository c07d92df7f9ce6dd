// One entry point: `ixrs <command> [...]`. Each command lives in its own module,
// loaded on demand, exporting `main(argv): Promise<number>` (the exit code).

interface Command {
  summary: string;
  load: () => Promise<{ main: (argv: string[]) => Promise<number> }>;
}

const commands: Record<string, Command> = {
  run: {
    summary: 'run the route server (RFC 7947) from general.yml + clients.yml',
    load: () => import('./ops/run.ts'),
  },
  show: {
    summary: 'ask a running route server: sessions, routes PREFIX, client C, rib --count',
    load: () => import('./ops/show.ts'),
  },
  dump: {
    summary: 'ask a running route server for an MRT RIB dump: dump rib FILE',
    load: () => import('./ops/dump.ts'),
  },
  session: {
    summary: 'change a session: enable | disable | reset | refresh C (the ixrs user only)',
    load: () => import('./ops/session.ts'),
  },
  demo: {
    summary: 'see it work: route server + four simulated clients on loopback',
    load: () => import('./ops/demo.ts'),
  },
  scenario: {
    summary: 'validate and play scripted data-plane failure scenarios (docs/scenarios.md)',
    load: () => import('./scenario/cli.ts'),
  },
  bfd: {
    summary: 'run BFD sessions to peers and print every state change (RFC 5880/5881)',
    load: () => import('./bfd/cli.ts'),
  },
  agent: {
    summary: 'RS-BFD companion agent beside a member router: BFD to next hops, reports over BGP-LS',
    load: () => import('./agent/cli.ts'),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: ixrs <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'ixrs <command> --help' for a command's options.\n`;
}

async function dispatch(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    process.stdout.write(`ixrs ${pkg.version}\n`);
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`ixrs: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const mod = await command.load();
  return mod.main(rest);
}

dispatch(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `ixrs: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
