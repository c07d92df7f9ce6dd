// Runs test/interop/bin/speaker.ts (the ixrs BGP speaker driven by a JSON spec)
// in a member namespace and collects its JSON-line events.

import type { ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import type { SpeakerEvent, SpeakerSpec } from '../bin/speaker.ts';
import { type Lan, type Member, waitFor } from './netns.ts';

export type { SpeakerEvent, SpeakerSpec } from '../bin/speaker.ts';

const PROGRAM = new URL('../bin/speaker.ts', import.meta.url).pathname;

export class IxrsSpeaker {
  readonly name: string;
  readonly events: SpeakerEvent[] = [];
  readonly child: ChildProcess;
  private readonly cmdFile: string;
  private buf = '';

  constructor(lan: Lan, member: Member, name: string, spec: SpeakerSpec) {
    this.name = name;
    const specFile = `${lan.logDir}/${name}.spec.json`;
    this.cmdFile = `${lan.logDir}/${name}.commands.jsonl`;
    writeFileSync(specFile, JSON.stringify(spec, null, 2));
    writeFileSync(this.cmdFile, '');
    this.child = lan.spawnIn(member.ns, process.execPath, [PROGRAM, specFile, this.cmdFile], name);
    this.child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      let i = this.buf.indexOf('\n');
      while (i >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (line.startsWith('{')) {
          try {
            this.events.push(JSON.parse(line) as SpeakerEvent);
          } catch {
            // not ours
          }
        }
        i = this.buf.indexOf('\n');
      }
    });
  }

  /** Waits for an event matching `pred` (already seen ones count). */
  waitEvent(
    what: string,
    pred: (e: SpeakerEvent) => boolean,
    timeoutMs = 60_000,
  ): Promise<SpeakerEvent> {
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

  established(peer: string): SpeakerEvent | undefined {
    return this.events.find((e) => e.event === 'established' && e.peer === peer);
  }

  updatesFrom(peer: string): SpeakerEvent[] {
    return this.events.filter((e) => e.event === 'update' && e.peer === peer);
  }

  /** Sends a command line (see speaker.ts): stop a peer with a shutdown message, exit. */
  command(c: { cmd: 'stop'; peer?: string; message?: string } | { cmd: 'exit' }): void {
    appendFileSync(this.cmdFile, `${JSON.stringify(c)}\n`);
  }
}

export interface ReceivedRoute {
  prefix: string;
  pathId?: number;
  nextHop: string;
  asPath: { type: number; asns: number[] }[];
  med?: number;
  communities: string[];
  largeCommunities: string[];
}

/**
 * The routes a peer currently announces to the speaker (Adj-RIB-In rebuilt
 * from the update events: last announcement per prefix wins, withdrawals remove).
 */
export function adjRibIn(events: SpeakerEvent[], peer: string): Map<string, ReceivedRoute> {
  const rib = new Map<string, ReceivedRoute>();
  type N = { prefix: string; pathId?: number };
  type A = {
    asPath: { type: number; asns: number[] }[];
    nextHop?: string;
    med?: number;
    communities: string[];
    largeCommunities: string[];
  };
  for (const e of events) {
    if (e.event !== 'update' || e.peer !== peer) continue;
    const withdrawn = [
      ...((e.withdrawn as N[]) ?? []),
      ...((e.mpUnreach as { nlri: N[] } | null)?.nlri ?? []),
    ];
    for (const w of withdrawn) rib.delete(w.prefix);
    const a = e.attrs as A | null;
    if (!a) continue;
    const mp = e.mpReach as { nextHop: { global: string }; nlri: N[] } | null;
    const add = (n: N, nh: string) => {
      const r: ReceivedRoute = {
        prefix: n.prefix,
        nextHop: nh,
        asPath: a.asPath,
        communities: [...a.communities].sort(),
        largeCommunities: [...a.largeCommunities].sort(),
      };
      if (n.pathId !== undefined) r.pathId = n.pathId;
      if (a.med !== undefined) r.med = a.med;
      rib.set(n.prefix, r);
    };
    for (const n of (e.nlri as N[]) ?? []) add(n, a.nextHop ?? '');
    if (mp) for (const n of mp.nlri) add(n, mp.nextHop.global);
  }
  return rib;
}
