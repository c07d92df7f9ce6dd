// `ixrs scenario run --mode loopback`: one process holds the route server (the
// Daemon of src/ops/daemon.ts on 127.0.0.1), one builtin client per scenario
// client (src/scenario/client.ts) and an agent beside each client that runs
// one (src/agent/agent.ts, BFD in-thread over the simulated datagram fabric
// of fabric.ts, so a cut drops real BFD packets and the real detection, report
// and NHIB code paths follow). Addresses: a client's IPv4 LAN address is
// mapped into 127.77.0.0/16 by its offset in lan.ipv4 (192.0.2.11 in
// 192.0.2.0/24 -> 127.77.0.11); IPv6 addresses stay as written and are only
// next hops (attributes over the IPv4 session) and BFD addresses on the fabric.

import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Agent } from '../agent/agent.ts';
import { bgplsCodec } from '../agent/bgpls-codec.ts';
import { parseConfig } from '../config/load.ts';
import type { RsConfig } from '../config/types.ts';
import { type Daemon, startDaemon } from '../ops/daemon.ts';
import { BuiltinClient } from './client.ts';
import { Fabric } from './fabric.ts';
import type { ClientSpec, Expectation, LinkRef, Scenario, Step } from './types.ts';

export const LOOPBACK_BASE = '127.77.0.0';
const RS_ADDRESS = '127.0.0.1';
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

/** 192.0.2.11 in 192.0.2.0/24 -> 127.77.0.11. */
export function loopbackAddress(address: string, lan: string): string {
  const u32 = (a: string) => a.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
  const [net, len] = lan.split('/');
  const mask = Number(len) === 0 ? 0 : (0xffffffff << (32 - Number(len))) >>> 0;
  const offset = (u32(address) & ~mask) >>> 0;
  if (offset > 0xffff) throw new Error(`lan.ipv4 ${lan}: loopback mode needs a /16 or longer`);
  void net;
  const n = (u32(LOOPBACK_BASE) + offset) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

interface Member {
  spec: ClientSpec;
  /** Mapped IPv4 (session and BFD address). */
  v4: string;
  v6: string | null;
  client: BuiltinClient;
  agent: Agent | null;
  agentLines: string[];
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
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

function yamlList(xs: string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
}

/** general.yml + clients.yml for the scenario (or the operator's, with the LAN addresses mapped). */
export function loopbackConfig(s: Scenario, map: (c: ClientSpec) => string): RsConfig {
  if (s.routeServer.general !== undefined && s.routeServer.clients !== undefined) {
    let clients = readFileSync(s.routeServer.clients, 'utf8');
    for (const c of s.clients) {
      if (c.ipv4 === undefined) continue;
      const re = new RegExp(`(?<![0-9.])${c.ipv4.replaceAll('.', '\\.')}(?![0-9])`, 'g');
      clients = clients.replace(re, map(c));
    }
    return parseConfig(readFileSync(s.routeServer.general, 'utf8'), clients, {
      general: s.routeServer.general,
      clients: s.routeServer.clients,
    }).config;
  }
  const general = [
    'cfg:',
    `  rs_as: ${s.routeServer.asn}`,
    `  router_id: "${s.routeServer.routerId}"`,
    '  passive: True',
    '  filtering:',
    '    reject_invalid_as_in_as_path: False',
    '    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }',
    '    ipv6_pref_len: { min: 16, max: 64 }',
    '    reject_policy: { policy: "tag" }',
    '  ixrs:',
    // Scenarios announce documentation and benchmarking prefixes (bogons by default).
    '    bogons: [{ prefix: "0.0.0.0/0", exact: True }, { prefix: "::/0", exact: True }, "10.0.0.0/8", "192.168.0.0/16"]',
    '',
  ].join('\n');
  const lines = ['clients:'];
  for (const c of s.clients) {
    const ips = [map(c), ...(c.ipv6 === undefined ? [] : [c.ipv6])];
    lines.push(
      `  - asn: ${c.asn}`,
      `    ip: ${yamlList(ips)}`,
      `    description: "scenario client ${c.name}"`,
      '    cfg:',
      '      filtering:',
      '        next_hop:',
      '          policy: "authorized_addresses"',
      `          authorized_addresses_list: ${yamlList(ips)}`,
    );
    if (c.agent !== null) {
      lines.push(
        '      ixrs:',
        '        rs_bfd:',
        `          bring_up_timeout: ${Math.max(1, Math.ceil(c.agent.bringUpTimeoutS))}`,
      );
    }
  }
  return parseConfig(general, `${lines.join('\n')}\n`, {
    general: `${s.file} (generated general.yml)`,
    clients: `${s.file} (generated clients.yml)`,
  }).config;
}

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

/** One scenario in loopback mode. */
export class LoopbackRun {
  readonly s: Scenario;
  private readonly o: RunOptions;
  private readonly log: pino.Logger;
  private readonly fabric = new Fabric();
  private readonly members = new Map<string, Member>();
  private daemon: Daemon | null = null;
  private config: RsConfig | null = null;
  private port = 0;
  private readonly t0 = performance.now();
  private readonly now = () => performance.now() - this.t0;
  /** Per step (1-based): snapshots of every client's RIB and UPDATE count when it ended. */
  private readonly ribAt = new Map<number, Map<string, string>>();
  private readonly updatesAt = new Map<number, Map<string, number>>();
  /** Start of the last fault step (cut, flap, agent, announce, withdraw, restart). */
  private faultAt = 0;
  private faultStep = 0;
  private readonly agentPort = 3784;

  constructor(s: Scenario, o: RunOptions) {
    this.s = s;
    this.o = o;
    this.log =
      o.logger ?? pino({ level: process.env.IXRS_SCENARIO_LOG ?? 'silent' }, pino.destination(2));
  }

  /** Run every step; resolves with whether every expectation held. Always tears down. */
  async run(): Promise<boolean> {
    try {
      await this.setUp();
      let ok = true;
      let failedAt = 0;
      for (const st of this.s.steps) {
        if (failedAt > 0 && !this.o.keepGoing) {
          this.skip(st);
          continue;
        }
        const good = await this.step(st);
        this.snapshot(st.index);
        if (!good) {
          ok = false;
          if (failedAt === 0) failedAt = st.index;
        }
      }
      return ok;
    } finally {
      await this.tearDown();
    }
  }

  private async setUp(): Promise<void> {
    for (const c of this.s.clients) {
      if (c.kind !== 'builtin') {
        throw new Error(
          `client ${c.name}: kind ${c.kind} needs --mode netns (loopback runs builtin clients only)`,
        );
      }
      if (c.ipv4 === undefined) {
        throw new Error(`client ${c.name}: loopback mode needs an IPv4 address (the session's)`);
      }
    }
    const map = (c: ClientSpec) => loopbackAddress(c.ipv4!, this.s.lan.ipv4);
    this.config = loopbackConfig(this.s, map);
    await this.startDaemon();
    for (const spec of this.s.clients) {
      const v4 = map(spec);
      const client = new BuiltinClient({
        name: spec.name,
        asn: spec.asn,
        local: v4,
        nextHop4: v4,
        nextHop6: spec.ipv6 ?? null,
        rsAddress: RS_ADDRESS,
        rsPort: this.port,
        rsAsn: this.config.rsAs,
        prefixes: spec.prefixes,
        logger: this.log,
        now: this.now,
      });
      const m: Member = { spec, v4, v6: spec.ipv6 ?? null, client, agent: null, agentLines: [] };
      this.members.set(spec.name, m);
      await client.start();
      if (spec.agent !== null) await this.startAgent(m);
    }
  }

  private async startDaemon(): Promise<void> {
    this.daemon = await startDaemon({
      config: this.config!,
      logger: this.log,
      listen: [{ address: RS_ADDRESS, port: this.port }],
      controlSocket: null,
      http: null,
      mrt: null,
      bmp: null,
    });
    this.port = this.daemon.addresses()[0]!.port;
  }

  private async startAgent(m: Member): Promise<void> {
    const a = m.spec.agent!;
    m.agent = new Agent({
      asn: m.spec.asn,
      local: m.v4,
      ...(m.v6 === null ? {} : { local6: m.v6 }),
      rs: RS_ADDRESS,
      rsPort: this.port,
      lan: [`${LOOPBACK_BASE}/16`, this.s.lan.ipv6],
      bfdPort: this.agentPort,
      bfdIntervalMs: a.intervalMs,
      bfdMultiplier: a.multiplier,
      bringUpMs: a.bringUpTimeoutS * 1000,
      holdDownMs: a.holdDownS * 1000,
      connectRetryS: 1,
      codec: bgplsCodec,
      out: (l) => m.agentLines.push(l),
      logger: this.log,
      lowerMainPriority: false,
      bfdSocketFactory: this.fabric.factory,
    });
    await m.agent.start();
  }

  private async tearDown(): Promise<void> {
    const all = [...this.members.values()];
    await Promise.allSettled(all.map((m) => m.agent?.stop('scenario over')));
    await Promise.allSettled(all.map((m) => m.client.stop()));
    await this.daemon?.stop('scenario over').catch(() => undefined);
    this.daemon = null;
  }

  private member(name: string): Member {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`no client ${name}`);
    return m;
  }

  private snapshot(step: number): void {
    const rib = new Map<string, string>();
    const upd = new Map<string, number>();
    for (const [n, m] of this.members) {
      rib.set(n, m.client.snapshot());
      upd.set(n, m.client.updates);
    }
    this.ribAt.set(step, rib);
    this.updatesAt.set(step, upd);
  }

  private addresses(m: Member): string[] {
    return [m.v4, ...(m.v6 === null ? [] : [m.v6])];
  }

  private setLink(l: LinkRef, cut: boolean): void {
    const a = this.member(l.a);
    const b = this.member(l.b);
    const pairs: [Member, Member][] = l.oneWay
      ? [[a, b]]
      : [
          [a, b],
          [b, a],
        ];
    for (const [x, y] of pairs) {
      for (const from of this.addresses(x)) {
        for (const to of this.addresses(y)) {
          if (cut) this.fabric.cut(from, to);
          else this.fabric.heal(from, to);
        }
      }
    }
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
        this.setLink(a.link, a.kind === 'cut');
        this.emit(st, started, true);
        return true;
      case 'flap': {
        this.fault(st, started);
        const half = (a.periodS * 1000) / 2;
        for (let i = 0; i < a.times; i++) {
          this.setLink(a.link, true);
          await sleep(half, sig);
          this.setLink(a.link, false);
          await sleep(half, sig);
        }
        this.emit(st, started, true);
        return true;
      }
      case 'agent': {
        this.fault(st, started);
        const m = this.member(a.client);
        if (a.action === 'kill') {
          // BFD dies without AdminDown; the BGP-LS session ends (fail open at the RS).
          await m.agent?.killBfd();
          await m.agent?.stop('agent killed by scenario');
          m.agent = null;
        } else if (a.action === 'restart') {
          await m.agent?.stop('agent restarted by scenario');
          m.agent = null;
          for (const x of this.addresses(m)) this.fabric.mute(x, false);
          await this.startAgent(m);
        } else {
          // pause: the agent sends no BFD (as if stopped by SIGSTOP); resume: again.
          for (const x of this.addresses(m)) this.fabric.mute(x, a.action === 'pause');
        }
        this.emit(st, started, true);
        return true;
      }
      case 'announce':
      case 'withdraw': {
        this.fault(st, started);
        const m = this.member(a.client);
        if (a.kind === 'announce') m.client.announce(a.prefixes);
        else m.client.withdraw(a.prefixes);
        this.emit(st, started, true);
        return true;
      }
      case 'restart-route-server':
        this.fault(st, started);
        await this.daemon?.stop('route server restart (scenario)');
        this.daemon = null;
        await this.startDaemon();
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

  private sessionsUp(names: string[]): boolean {
    return names.every((n) => {
      const m = this.member(n);
      return (
        m.client.established &&
        (m.agent === null || m.agent.status().sessions.every((s) => s.established))
      );
    });
  }

  private notConverged(): string {
    const down = [...this.members.values()].filter((m) => !this.sessionsUp([m.spec.name]));
    return down.length === 0
      ? 'RIBs still changing'
      : `sessions not up at ${down.map((m) => m.spec.name).join(', ')}`;
  }

  private async converge(ms: number): Promise<boolean> {
    const end = this.now() + ms;
    const all = [...this.members.keys()];
    let quietSince = this.now();
    let last = '';
    while (this.now() < end) {
      // Every RIB and every agent's checks (next hops, BFD states) still for QUIET_MS.
      const snap = [...this.members.values()]
        .map(
          (m) =>
            `${m.client.snapshot()}#${(m.agent?.status().nextHops ?? []).map((h) => `${h.nextHop}=${h.bfd}/${h.verdict}`).join(',')}`,
        )
        .join('|');
      const bfdUp = [...this.members.values()].every((m) =>
        // Every check settled: BFD Up, or reported unreachable (a cut link) after bring-up.
        (m.agent?.status().nextHops ?? []).every(
          (h) => h.verdict !== 'pending' && h.verdict !== 'holding',
        ),
      );
      const up = this.sessionsUp(all);
      if (!up || !bfdUp || snap !== last) {
        last = snap;
        quietSince = this.now();
      } else if (this.now() - quietSince >= QUIET_MS) {
        return true;
      }
      await sleep(POLL_MS * 4, this.o.signal);
    }
    return false;
  }

  /** Whether e holds at client `at`, and if not what was seen. */
  private check(e: Expectation, at: string): { ok: boolean; seen: string } {
    if (e.kind === 'sessions-up') {
      const names = at === '' ? [...this.members.keys()] : [at];
      const down = names.filter((n) => !this.sessionsUp([n]));
      return { ok: down.length === 0, seen: `not Established: ${down.join(', ')}` };
    }
    const m = this.member(at);
    const rib = m.client.rib;
    const show = (p: string) => {
      const r = rib.get(p);
      return r === undefined ? `${p} absent` : `${p} via ${this.ownerOf(r.nextHop)}`;
    };
    switch (e.kind) {
      case 'present': {
        const r = rib.get(e.prefix);
        if (r === undefined) return { ok: false, seen: show(e.prefix) };
        if (e.via === undefined) return { ok: true, seen: show(e.prefix) };
        const v = this.member(e.via);
        const want = e.prefix.includes(':') ? v.v6 : v.v4;
        return { ok: r.nextHop === want, seen: show(e.prefix) };
      }
      case 'absent':
        return { ok: !rib.has(e.prefix), seen: show(e.prefix) };
      case 'route-count':
        return { ok: rib.size === e.count, seen: `${rib.size} routes` };
      case 'unchanged': {
        const before = this.ribAt.get(e.step)?.get(at);
        const now = m.client.snapshot();
        if (before === now) return { ok: true, seen: 'unchanged' };
        const diff = diffRibs(before ?? '', now);
        return { ok: false, seen: `changed: ${diff}` };
      }
      case 'max-updates': {
        const n = m.client.updates - (this.updatesAt.get(e.step)?.get(at) ?? 0);
        return { ok: n <= e.max, seen: `${n} UPDATEs` };
      }
    }
  }

  private ownerOf(nextHop: string): string {
    for (const m of this.members.values()) {
      if (m.v4 === nextHop || m.v6 === nextHop) return `${m.spec.name} (${nextHop})`;
    }
    return nextHop;
  }

  private async expect(st: Step, started: number): Promise<boolean> {
    if (st.action.kind !== 'expect') return true;
    const items: { e: Expectation; at: string }[] = [];
    for (const e of st.action.expectations) {
      const ats = e.at.length === 0 && e.kind === 'sessions-up' ? [''] : e.at;
      for (const at of ats) items.push({ e, at });
    }
    const end = started + st.withinS * 1000;
    let results = items.map((i) => this.check(i.e, i.at));
    while (!results.every((r) => r.ok) && this.now() < end) {
      await sleep(POLL_MS, this.o.signal);
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
    const m = this.member(at);
    const ch = m.client.changes.filter((c) => c.prefix === e.prefix && c.at >= this.faultAt);
    const last = ch.at(-1);
    if (last === undefined) return [];
    return [{ client: at, ms: Math.round(last.at - this.faultAt), sinceStep: this.faultStep }];
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
