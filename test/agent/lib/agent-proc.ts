// Runs `ixrs agent` as its own process — on the host, or inside a network
// namespace (`ip netns exec NS ...`, root) beside a member's router — and
// collects its JSON change lines. For end-to-end and interop tests:
//
//   const a = startAgent({ netns: 'ixr-123-a', args: ['--rs', '192.0.2.254', '--asn', '64501',
//                          '--local', '192.0.2.11', '--bfd-interval', '100'] });
//   await a.waitLine('BFD Up to B', (l) => l.event === 'bfd' && l.peer === '192.0.2.12' && l.state === 'Up');
//   const st = await a.status();          // ixrs agent status --json, over its control socket
//   await a.stop();                       // SIGTERM: AdminDown + Cease, waits for the exit
//   a.kill();                             // SIGKILL: no AdminDown, no Cease (fail-open tests)

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AgentStatus } from '../../../src/agent/agent.ts';
import { queryAgent } from '../../../src/agent/control.ts';

const BIN = fileURLToPath(new URL('../../../bin/ixrs.js', import.meta.url));

/** One `--json` change line of `ixrs agent` (event: 'rs' | 'bfd' | 'report'). */
export interface AgentLine {
  time: string;
  event: 'rs' | 'bfd' | 'report';
  state: string;
  previous: string;
  peer?: string;
  asn?: number | null;
  diag?: string;
  reason?: string;
  report?: string;
  [k: string]: unknown;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly control: string;
  readonly lines: AgentLine[];
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  waitLine(what: string, pred: (l: AgentLine) => boolean, timeoutMs?: number): Promise<AgentLine>;
  status(): Promise<AgentStatus>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (nothing sent to peers or the route server). */
  kill(): void;
}

export interface StartAgentOptions {
  /** `ixrs agent` options; --json and --control are added. */
  args: string[];
  /** Run inside this network namespace (needs root). */
  netns?: string;
  /** Control socket path (default a per-process temp path). */
  control?: string;
  env?: NodeJS.ProcessEnv;
}

let seq = 0;

export function startAgent(o: StartAgentOptions): AgentProcess {
  const control = o.control ?? `/tmp/ixrs-agent-${process.pid}-${++seq}.sock`;
  const argv = [BIN, 'agent', ...o.args, '--json', '--control', control];
  const child =
    o.netns === undefined
      ? spawn(process.execPath, argv, { env: { ...process.env, ...o.env } })
      : spawn('ip', ['netns', 'exec', o.netns, process.execPath, ...argv], {
          env: { ...process.env, ...o.env },
        });
  const lines: AgentLine[] = [];
  let err = '';
  let buf = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as AgentLine);
      } catch {
        // not a change line
      }
    }
    for (const w of [...waiters]) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return {
    child,
    control,
    lines,
    stderr: () => err,
    waitLine(what, pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const l = lines.find(pred);
          if (l === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(l);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`agent: timed out waiting for ${what}; stderr: ${err.slice(-500)}`));
        }, timeoutMs);
        waiters.add(check);
        void exited.then((code) => {
          if (!waiters.has(check)) return;
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`agent exited (${code}) before ${what}; stderr: ${err.slice(-500)}`));
        });
        check();
      });
    },
    // A unix socket lives in the file system, which namespaces share: reachable from here.
    status: () => queryAgent(control),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
