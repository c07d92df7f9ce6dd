// Runs test/interop/bin/speaker.ts (the ixrs BGP speaker driven by a JSON spec)
// in a member namespace and collects its JSON-line events.

import type { SpeakerEvent, SpeakerSpec } from '../bin/speaker.ts';
import { JsonLinesChild } from './json-child.ts';
import type { Lan, Member } from './netns.ts';

export type { SpeakerEvent, SpeakerSpec } from '../bin/speaker.ts';

const PROGRAM = new URL('../bin/speaker.ts', import.meta.url).pathname;

type SpeakerCommand = { cmd: 'stop'; peer?: string; message?: string } | { cmd: 'exit' };

/** test/interop/bin/speaker.ts in a member namespace; commands: stop a peer with a shutdown message, exit. */
export class IxrsSpeaker extends JsonLinesChild<SpeakerEvent, SpeakerCommand> {
  constructor(lan: Lan, member: Member, name: string, spec: SpeakerSpec) {
    super(PROGRAM, lan, member, name, spec);
  }

  established(peer: string): SpeakerEvent | undefined {
    return this.events.find((e) => e.event === 'established' && e.peer === peer);
  }

  updatesFrom(peer: string): SpeakerEvent[] {
    return this.events.filter((e) => e.event === 'update' && e.peer === peer);
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
