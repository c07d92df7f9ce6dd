// Helpers for RS-BFD tests in network namespaces: the scripted route server
// (test/interop/bin/scripted-rs.ts) in a member namespace, and `ixrs agent`
// beside a member (test/agent/lib/agent-proc.ts, startAgent with netns).

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { CheckLink, Report } from '../../../src/agent/core.ts';
import type { RsClient } from '../../agent/lib/scripted-rs.ts';
import type { Lan, Member } from './netns.ts';

export { type AgentProcess, startAgent } from '../../agent/lib/agent-proc.ts';

const PROGRAM = new URL('../bin/scripted-rs.ts', import.meta.url).pathname;

export interface RsLine {
  event: 'listening' | 'rs' | 'error';
  /** Date.now() in the RS process. */
  time?: number;
  client?: string;
  kind?: 'report' | 'withdraw' | 'end-of-rib' | 'established' | 'down';
  link?: CheckLink;
  state?: Report;
  reason?: string;
  message?: string;
}

export class NsScriptedRs {
  readonly child: ChildProcess;
  readonly lines: RsLine[] = [];
  private readonly waiters = new Set<() => void>();
  private buf = '';

  constructor(lan: Lan, member: Member, o: { asn: number; port?: number }) {
    const spec = JSON.stringify({
      address: member.v4,
      ...(member.v6 ? { address6: member.v6 } : {}),
      port: o.port ?? 179,
      asn: o.asn,
    });
    this.child = spawn('ip', ['netns', 'exec', member.ns, process.execPath, PROGRAM, spec], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const log = createWriteStream(`${lan.logDir}/scripted-rs.log`);
    this.child.stderr?.pipe(log);
    this.child.stdout?.on('data', (d: Buffer) => {
      log.write(d);
      this.buf += d.toString('utf8');
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(line) as RsLine);
        } catch {
          // not ours
        }
      }
      for (const w of [...this.waiters]) w();
    });
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  client(c: RsClient): void {
    this.send({ cmd: 'client', ...c });
  }

  request(client: string, links: CheckLink[]): void {
    this.send({ cmd: 'request', client, links });
  }

  /** The latest report state per (client, link key) from the events so far. */
  report(client: string, l: CheckLink): Report | undefined {
    let state: Report | undefined;
    for (const e of this.lines) {
      if (e.event !== 'rs' || e.client !== client) continue;
      if (e.kind === 'down') state = undefined;
      if (e.link === undefined || !same(e.link, l)) continue;
      state = e.kind === 'report' ? e.state : e.kind === 'withdraw' ? undefined : state;
    }
    return state;
  }

  waitFor<T>(what: string, pred: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = pred();
        if (v === undefined || v === false) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`scripted RS: timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

function same(a: CheckLink, b: CheckLink): boolean {
  return (
    a.localAddress === b.localAddress && a.nextHop === b.nextHop && a.instanceId === b.instanceId
  );
}
