// `ixrs scenario run`: the engine that plays a scenario's steps and checks its
// expectations against a World (world.ts) holding the route server, the
// clients and their agents: loopback mode (loopback.ts: one process, no root)
// or netns mode (netns/world.ts: network namespaces, real processes and
// daemons, nftables cuts). Steps, deadlines, timings and messages are the
// same in both.

import pino from 'pino';
import { canonicalIp } from '../lab/daemons.ts';
import type { RibChange, RibEntry } from './client.ts';
import { LoopbackWorld } from './loopback.ts';
import type { Expectation, LinkRef, Scenario, Step } from './types.ts';
import type { ClientView, Clock, World } from './world.ts';

const QUIET_MS = 1000;
const POLL_MS = 25;

/** What one expectation came to. */
export interface ExpectationResult {
  file: string;
  scenario: string;
  step: number;
  line: number | undefined;
  /** Short text, e.g. "A: 198.18.2.0/24 absent". */
  name: string;
  ok: boolean;
  skipped: boolean;
  /** When it failed: what was expected, what was seen. */
  message: string | null;
  /** When it held: ms from the start of the last fault step (cut, flap, ...) to the change that made it hold, per client. */
  timings: { client: string; ms: number; sinceStep: number }[];
}

export interface StepEvent {
  file: string;
  scenario: string;
  step: number;
  kind: string;
  text: string;
  ms: number;
  ok: boolean;
}

export interface RunOptions {
  keepGoing: boolean;
  /** Called per step as it ends. */
  onStep: (e: StepEvent) => void;
  onExpectation: (r: ExpectationResult) => void;
  /** Aborts the run (SIGINT): everything is torn down, then the promise rejects. */
  signal?: AbortSignal;
  logger?: pino.Logger;
}

export class Aborted extends Error {
  constructor() {
    super('aborted');
    this.name = 'Aborted';
  }
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Aborted());
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Aborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export function describeExpectation(e: Expectation, at: string): string {
  switch (e.kind) {
    case 'present':
      return `${at}: ${e.prefix}${e.via === undefined ? ' present' : ` via ${e.via}`}`;
    case 'absent':
      return `${at}: ${e.prefix} absent`;
    case 'sessions-up':
      return `${at === '' ? 'all' : at}: sessions up`;
    case 'route-count':
      return `${at}: ${e.count} routes`;
    case 'unchanged':
      return `${at}: unchanged since step ${e.step}`;
    case 'max-updates':
      return `${at}: at most ${e.max} UPDATEs since step ${e.step}`;
  }
}

function describeStep(st: Step): string {
  const a = st.action;
  const link = (l: LinkRef) => (l.oneWay ? `${l.a} -> ${l.b}` : `${l.a} <-> ${l.b}`);
  switch (a.kind) {
    case 'converge':
      return 'converge';
    case 'cut':
      return `cut ${link(a.link)}`;
    case 'heal':
      return `heal ${link(a.link)}`;
    case 'flap':
      return `flap ${link(a.link)} ${a.times} times every ${a.periodS} s`;
    case 'agent':
      return `agent ${a.client} ${a.action}`;
    case 'announce':
      return `announce ${a.client} ${a.prefixes.join(' ')}`;
    case 'withdraw':
      return `withdraw ${a.client} ${a.prefixes.join(' ')}`;
    case 'restart-route-server':
      return 'restart route server';
    case 'wait':
      return `wait ${a.seconds} s`;
    case 'expect':
      return `expect (within ${st.withinS} s)`;
  }
}

/** Makes the world a scenario plays in, given the engine's clock and logger. */
export type WorldFactory = (s: Scenario, clock: Clock, log: pino.Logger) => World;

function ribText(rib: ReadonlyMap<string, RibEntry>): string {
  return [...rib.entries()]
    .map(([p, e]) => `${p} ${e.nextHop} ${e.asPath.join(' ')}`)
    .sort()
    .join('\n');
}

/** One scenario, played against a world (loopback or netns). */
export class ScenarioRun {
  readonly s: Scenario;
  private readonly o: RunOptions;
  private readonly log: pino.Logger;
  private readonly world: World;
  private readonly t0 = performance.now();
  private readonly now = () => performance.now() - this.t0;
  /** The latest view of every client, and the changes inferred for clients that record none. */
  private view = new Map<string, ClientView>();
  private readonly inferred = new Map<string, RibChange[]>();
  /** Per step (1-based): snapshots of every client's RIB and UPDATE count when it ended. */
  private readonly ribAt = new Map<number, Map<string, string>>();
  private readonly updatesAt = new Map<number, Map<string, number | null>>();
  /** Start of the last fault step (cut, flap, agent, announce, withdraw, restart). */
  private faultAt = 0;
  private faultStep = 0;

  constructor(s: Scenario, o: RunOptions, world: WorldFactory) {
    this.s = s;
    this.o = o;
    this.log =
      o.logger ?? pino({ level: process.env.IXRS_SCENARIO_LOG ?? 'silent' }, pino.destination(2));
    const clock: Clock = { now: this.now };
    this.world = world(s, clock, this.log);
  }

  /** Run every step; resolves with whether every expectation held. Always tears down. */
  async run(): Promise<boolean> {
    try {
      await this.world.setUp();
      this.o.signal?.throwIfAborted();
      let ok = true;
      let failedAt = 0;
      for (const st of this.s.steps) {
        if (failedAt > 0 && !this.o.keepGoing) {
          this.skip(st);
          continue;
        }
        const good = await this.step(st);
        await this.snapshot(st.index);
        if (!good) {
          ok = false;
          if (failedAt === 0) failedAt = st.index;
        }
      }
      return ok;
    } catch (err) {
      if (this.o.signal?.aborted) throw new Aborted();
      throw err;
    } finally {
      await this.world.tearDown();
    }
  }

  /** Reads every client once; records changes for clients that record none. */
  private async observe(): Promise<Map<string, ClientView>> {
    const v = await this.world.observe();
    for (const [n, c] of v) {
      if (c.changes !== null) continue;
      // An inferred change is stamped with the time the read that first showed it ended.
      const at = c.readAt;
      const before = this.view.get(n)?.rib ?? new Map<string, RibEntry>();
      const list = this.inferred.get(n) ?? [];
      this.inferred.set(n, list);
      for (const [p, e] of c.rib) {
        if (before.get(p)?.nextHop !== e.nextHop) list.push({ at, prefix: p, nextHop: e.nextHop });
      }
      for (const p of before.keys()) if (!c.rib.has(p)) list.push({ at, prefix: p, nextHop: null });
    }
    this.view = v;
    return v;
  }

  private client(name: string): ClientView {
    const c = this.view.get(name);
    if (c === undefined) throw new Error(`no client ${name}`);
    return c;
  }

  private async snapshot(step: number): Promise<void> {
    await this.observe();
    const rib = new Map<string, string>();
    const upd = new Map<string, number | null>();
    for (const [n, c] of this.view) {
      rib.set(n, ribText(c.rib));
      upd.set(n, c.updates);
    }
    this.ribAt.set(step, rib);
    this.updatesAt.set(step, upd);
  }

  private emit(st: Step, started: number, ok: boolean, extra = ''): void {
    this.o.onStep({
      file: this.s.file,
      scenario: this.s.name,
      step: st.index,
      kind: st.action.kind,
      text: `${describeStep(st)}${extra}`,
      ms: Math.round(this.now() - started),
      ok,
    });
  }

  private skip(st: Step): void {
    if (st.action.kind !== 'expect') return;
    for (const e of st.action.expectations) {
      this.o.onExpectation({
        file: this.s.file,
        scenario: this.s.name,
        step: st.index,
        line: st.line,
        name: describeExpectation(e, e.at.join(', ')),
        ok: false,
        skipped: true,
        message: 'not run: an earlier step failed (--keep-going runs on)',
        timings: [],
      });
    }
  }

  private fault(st: Step, started: number): void {
    this.faultAt = started;
    this.faultStep = st.index;
  }

  private async step(st: Step): Promise<boolean> {
    const started = this.now();
    const a = st.action;
    const sig = this.o.signal;
    const w = this.world;
    switch (a.kind) {
      case 'converge': {
        const ok = await this.converge(st.withinS * 1000);
        this.emit(st, started, ok, ok ? '' : ': not converged in time');
        if (!ok) {
          this.o.onExpectation({
            file: this.s.file,
            scenario: this.s.name,
            step: st.index,
            line: st.line,
            name: 'converge',
            ok: false,
            skipped: false,
            message: `step ${st.index} (line ${st.line ?? '?'}): converge: expected every session up and every RIB quiet within ${st.withinS} s; saw ${this.notConverged()}`,
            timings: [],
          });
        }
        return ok;
      }
      case 'cut':
      case 'heal':
        this.fault(st, started);
        await w.setLink(a.link, a.kind === 'cut');
        this.emit(st, started, true);
        return true;
      case 'flap': {
        this.fault(st, started);
        const half = (a.periodS * 1000) / 2;
        for (let i = 0; i < a.times; i++) {
          await w.setLink(a.link, true);
          await sleep(half, sig);
          await w.setLink(a.link, false);
          await sleep(half, sig);
        }
        this.emit(st, started, true);
        return true;
      }
      case 'agent':
        this.fault(st, started);
        await w.agent(a.client, a.action);
        this.emit(st, started, true);
        return true;
      case 'announce':
      case 'withdraw':
        this.fault(st, started);
        await w.routes(a.client, a.prefixes, a.kind === 'announce');
        this.emit(st, started, true);
        return true;
      case 'restart-route-server':
        this.fault(st, started);
        await w.restartRouteServer();
        this.emit(st, started, true);
        return true;
      case 'wait':
        await sleep(a.seconds * 1000, sig);
        this.emit(st, started, true);
        return true;
      case 'expect':
        return this.expect(st, started);
    }
  }

  private notConverged(): string {
    const down = [...this.view].filter(([, c]) => !c.sessionsUp).map(([n]) => n);
    if (down.length > 0) return `sessions not up at ${down.join(', ')}`;
    const pending = [...this.view].filter(([, c]) => !c.agentSettled).map(([n]) => n);
    if (pending.length > 0) return `agent checks still pending at ${pending.join(', ')}`;
    return 'RIBs still changing';
  }

  private async converge(ms: number): Promise<boolean> {
    const end = this.now() + ms;
    let quietSince = this.now();
    let last = '';
    while (this.now() < end) {
      // Every RIB and every agent's checks (next hops, BFD states) still for QUIET_MS.
      const v = await this.observe();
      const snap = [...v.values()].map((c) => `${ribText(c.rib)}#${c.agentChecks}`).join('|');
      const settled = [...v.values()].every((c) => c.sessionsUp && c.agentSettled);
      if (!settled || snap !== last) {
        last = snap;
        quietSince = this.now();
      } else if (this.now() - quietSince >= QUIET_MS) {
        return true;
      }
      await sleep(POLL_MS * 4, this.o.signal);
    }
    return false;
  }

  private addressOf(client: string, prefix: string): string | null {
    const a = this.world.addressOf(client, prefix.includes(':') ? 'ipv6' : 'ipv4');
    return a === null ? null : canonicalIp(a);
  }

  /** Whether e holds at client `at`, and if not what was seen. */
  private check(e: Expectation, at: string): { ok: boolean; seen: string } {
    if (e.kind === 'sessions-up') {
      const names = at === '' ? this.world.clientNames() : [at];
      const down = names.filter((n) => !this.client(n).sessionsUp);
      return { ok: down.length === 0, seen: `not Established: ${down.join(', ')}` };
    }
    const c = this.client(at);
    const rib = c.rib;
    const show = (p: string) => {
      const r = rib.get(p);
      return r === undefined ? `${p} absent` : `${p} via ${this.world.ownerOf(r.nextHop)}`;
    };
    switch (e.kind) {
      case 'present': {
        const r = rib.get(e.prefix);
        if (r === undefined) return { ok: false, seen: show(e.prefix) };
        if (e.via === undefined) return { ok: true, seen: show(e.prefix) };
        const want = this.addressOf(e.via, e.prefix);
        return { ok: canonicalIp(r.nextHop) === want, seen: show(e.prefix) };
      }
      case 'absent':
        return { ok: !rib.has(e.prefix), seen: show(e.prefix) };
      case 'route-count':
        return { ok: rib.size === e.count, seen: `${rib.size} routes` };
      case 'unchanged': {
        const before = this.ribAt.get(e.step)?.get(at);
        const now = ribText(rib);
        if (before === now) return { ok: true, seen: 'unchanged' };
        return { ok: false, seen: `changed: ${diffRibs(before ?? '', now)}` };
      }
      case 'max-updates': {
        const base = this.updatesAt.get(e.step)?.get(at) ?? 0;
        if (c.updates === null || base === null) {
          return { ok: false, seen: 'no UPDATE count (only builtin clients count UPDATEs)' };
        }
        const n = c.updates - base;
        return { ok: n <= e.max, seen: `${n} UPDATEs` };
      }
    }
  }

  private async expect(st: Step, started: number): Promise<boolean> {
    if (st.action.kind !== 'expect') return true;
    const items: { e: Expectation; at: string }[] = [];
    for (const e of st.action.expectations) {
      const ats = e.at.length === 0 && e.kind === 'sessions-up' ? [''] : e.at;
      for (const at of ats) items.push({ e, at });
    }
    const end = started + st.withinS * 1000;
    await this.observe();
    let results = items.map((i) => this.check(i.e, i.at));
    while (!results.every((r) => r.ok) && this.now() < end) {
      await sleep(POLL_MS, this.o.signal);
      await this.observe();
      results = items.map((i) => this.check(i.e, i.at));
    }
    let ok = true;
    items.forEach((it, k) => {
      const r = results[k]!;
      const name = describeExpectation(it.e, it.at);
      if (!r.ok) ok = false;
      this.o.onExpectation({
        file: this.s.file,
        scenario: this.s.name,
        step: st.index,
        line: st.line,
        name,
        ok: r.ok,
        skipped: false,
        message: r.ok
          ? null
          : `step ${st.index} (line ${st.line ?? '?'}): at ${it.at || 'all'}: expected ${name.replace(/^[^:]*: /, '')} within ${st.withinS} s; saw ${r.seen}`,
        timings: r.ok ? this.timing(it.e, it.at) : [],
      });
    });
    this.emit(st, started, ok);
    return ok;
  }

  /** ms from the last fault to the change at `at` that made e hold (present/absent). */
  private timing(e: Expectation, at: string): ExpectationResult['timings'] {
    if ((e.kind !== 'present' && e.kind !== 'absent') || this.faultStep === 0) return [];
    const changes = this.client(at).changes ?? this.inferred.get(at) ?? [];
    const ch = changes.filter((c) => c.prefix === e.prefix && c.at >= this.faultAt);
    const last = ch.at(-1);
    if (last === undefined) return [];
    return [{ client: at, ms: Math.round(last.at - this.faultAt), sinceStep: this.faultStep }];
  }
}

/** One scenario in loopback mode. */
export class LoopbackRun extends ScenarioRun {
  constructor(s: Scenario, o: RunOptions) {
    super(s, o, (sc, clock, log) => new LoopbackWorld(sc, clock, log));
  }
}

function diffRibs(before: string, now: string): string {
  const b = new Set(before.split('\n').filter((x) => x !== ''));
  const n = new Set(now.split('\n').filter((x) => x !== ''));
  const gone = [...b].filter((x) => !n.has(x)).map((x) => `-${x.split(' ')[0]}`);
  const added = [...n].filter((x) => !b.has(x)).map((x) => `+${x.split(' ')[0]}`);
  const all = [...gone, ...added];
  return all.length > 6 ? `${all.slice(0, 6).join(' ')} ... (${all.length})` : all.join(' ');
}
