// A test program run in a member namespace that reads a JSON spec, prints one
// JSON event per line on stdout and takes JSON command lines from a file it
// follows (test/interop/bin/speaker.ts, ls-speaker.ts).

import type { ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { type Lan, type Member, waitFor } from './netns.ts';

export class JsonLinesChild<E, C> {
  readonly name: string;
  readonly events: E[] = [];
  readonly child: ChildProcess;
  private readonly cmdFile: string;
  private buf = '';

  constructor(program: string, lan: Lan, member: Member, name: string, spec: unknown) {
    this.name = name;
    const specFile = `${lan.logDir}/${name}.spec.json`;
    this.cmdFile = `${lan.logDir}/${name}.commands.jsonl`;
    writeFileSync(specFile, JSON.stringify(spec, null, 2));
    writeFileSync(this.cmdFile, '');
    this.child = lan.spawnIn(member.ns, process.execPath, [program, specFile, this.cmdFile], name);
    this.child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      let i = this.buf.indexOf('\n');
      while (i >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (line.startsWith('{')) {
          try {
            this.events.push(JSON.parse(line) as E);
          } catch {
            // not ours
          }
        }
        i = this.buf.indexOf('\n');
      }
    });
  }

  /** Waits for an event matching `pred` (already seen ones count); fails if the program exits. */
  waitEvent(what: string, pred: (e: E) => boolean, timeoutMs = 60_000): Promise<E> {
    return waitFor(
      `${this.name}: ${what}`,
      () => {
        if (this.child.exitCode !== null)
          throw new Error(`${this.name} exited (${this.child.exitCode})`);
        return this.events.find(pred);
      },
      timeoutMs,
      100,
    );
  }

  /** Appends a command line for the program to read. */
  command(c: C): void {
    appendFileSync(this.cmdFile, `${JSON.stringify(c)}\n`);
  }
}
