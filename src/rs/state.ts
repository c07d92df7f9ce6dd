// The route-server core's shared state: the tables (store.ts, rib.ts), the
// decision (decision.ts), the Adj-RIB-Out (adj-out.ts), the reachability
// input (reach.ts), the clients and sessions, the work queues every section
// feeds, and the options. The sections work over it: lifecycle.ts (sessions),
// input.ts (UPDATEs into Adj-RIB-In and the ranking), output.ts (changed
// prefixes out as packed UPDATEs), slices.ts (scheduling), views.ts
// (operator queries); server.ts is the façade.

import pino from 'pino';
import { AdjOut } from './adj-out.ts';
import type { Log, MaxPrefixEvent, RouteServerOptions, Timers } from './api.ts';
import { Decision } from './decision.ts';
import type { AttrUse, Client, Group, Session } from './model.ts';
import type { WireEncoder } from './packer.ts';
import type { Policy } from './policy-api.ts';
import type { Reachability } from './reach.ts';
import { AttrInternTable, Ranking, type Tables, UseIds } from './rib.ts';
import { EntryStore, IdQueue, NextHopTable, PathStore } from './store.ts';
import { codecEncoder } from './wire.ts';

export interface FamInfo {
  slot: number;
  afi: number;
  safi: number;
}

const defaultTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class CoreState {
  /** The prefix table (ranked paths and compact Adj-RIB-Out per entry). */
  readonly entries = new EntryStore();

  readonly decision: Decision;

  /** Set by the façade once the input section exists (reach needs its detached lists). */
  reach!: Reachability;

  readonly paths = new PathStore();

  readonly nhs = new NextHopTable();

  readonly uses: (AttrUse | null)[] = [];

  readonly useIds: UseIds;

  readonly bySlot: Session[] = [];

  readonly ranking: Ranking;

  readonly adjOut: AdjOut;

  readonly famInfos: FamInfo[] = [];

  readonly policy: Policy;

  readonly encoder: WireEncoder;

  readonly interner = new AttrInternTable();

  readonly clients = new Map<string, Client>();

  readonly sessionsByKey = new Map<string, Session>();

  readonly groups = new Map<string, Group>();

  /** this.groups' values, for loops run per prefix (no iterator object). */
  groupList: Group[] = [];

  readonly active = new Map<string, Session[]>();

  readonly rsFamilies: Set<string>;

  readonly timers: Timers;

  readonly batchSize: number;

  readonly stalePathTime: number;

  readonly keepRejected: boolean;
  /** Most rejected paths kept per client (RouteServerOptions.rejectedLimit). */
  readonly rejectedLimit: number;
  /** Seconds since the Unix epoch at the start of the current slice (PathStore.at). */
  clockSec = 0;

  readonly onMaxPrefix: ((ev: MaxPrefixEvent) => void) | undefined;

  readonly log: Log;

  /** Entries changed since last processed for every session. */
  readonly dirty = new IdQueue(true);

  readonly pumpQueue = new Set<Session>();

  closed = false;

  clientCap = 16;

  readonly clientList: Client[] = [];

  /** Sessions whose sink reported back-pressure. */
  readonly blockedSet = new Set<Session>();

  /** Sessions in their initial dump (some entries are not theirs yet). */
  readonly dumping = new Set<Session>();

  /** Sessions with ADD-PATH send for some family. */
  readonly apSessions = new Set<Session>();

  /** encodeUpdates calls so far (one per bucket: group x attribute set x member set). */
  encodes = 0;

  famSlot(fam: string): number {
    const f = this.entries.famSlot(fam);
    if (this.famInfos[f] === undefined) {
      this.famInfos[f] = { slot: f, afi: this.entries.famAfi[f]!, safi: this.entries.famSafi[f]! };
    }
    return f;
  }

  /** Stops a session's graceful-restart timer. */
  clearGrTimer(s: Session): void {
    if (s.grTimer !== null) {
      this.timers.clearTimeout(s.grTimer);
      s.grTimer = null;
    }
  }

  /** Asks the scheduler for a slice (slices.ts sets it). */
  kick: () => void = () => {};

  /** Reads the clock once per slice: paths applied in it are stamped with it. */
  tick(): void {
    this.clockSec = Math.floor(this.timers.now() / 1000);
  }

  constructor(opts: RouteServerOptions) {
    this.policy = opts.policy;
    this.encoder = opts.encoder ?? codecEncoder;
    this.useIds = new UseIds(this.uses);
    this.decision = new Decision(opts.policy, this.tables);
    this.ranking = new Ranking(this.tables, { alwaysCompareMed: opts.alwaysCompareMed ?? false });
    this.adjOut = new AdjOut(this.bySlot, this.entries);
    this.rsFamilies = new Set(opts.families ?? ['1/1', '2/1']);
    for (const f of this.rsFamilies) this.famSlot(f);
    this.timers = opts.timers ?? defaultTimers;
    this.batchSize = opts.batch ?? 1024;
    this.stalePathTime = opts.stalePathTime ?? 360;
    this.keepRejected = opts.keepRejected ?? true;
    this.rejectedLimit = opts.rejectedLimit ?? (this.keepRejected ? Infinity : 1000);
    this.onMaxPrefix = opts.onMaxPrefix;
    this.log = opts.log ?? pino({ level: 'warn', name: 'rs' });
  }

  /** The storage as the ranking, the decision and the reachability input read it. */
  get tables(): Tables {
    return {
      paths: this.paths,
      entries: this.entries,
      uses: this.uses,
      bySlot: this.bySlot,
      nhs: this.nhs,
    };
  }
}
