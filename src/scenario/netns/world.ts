// Netns mode's world (`ixrs scenario run --mode netns`, root): a peering LAN
// of network namespaces (src/lab/netns.ts: one namespace per client, one for
// the route server, one for the switch holding a Linux bridge), with
//
// - the route server: `ixrs run` as a process in its namespace, on the LAN's
//   last IPv4 (and IPv6) address, with the general.yml/clients.yml of
//   loopback mode (the scenario's own addresses, not mapped) or the
//   operator's files;
// - each client in its namespace on its LAN addresses: a builtin client as a
//   process (`ixrs scenario client`, client-proc.ts), or a real daemon (BIRD,
//   FRR, GoBGP, OpenBGPD, src/lab/daemons.ts) with its own config, sockets and
//   pid files in the run's temp directory;
// - an `ixrs agent` process beside each client with `agent:`, on the client's
//   addresses, with the scenario's BFD timers.
//
// Cuts are nftables rules (bridge family) in the switch namespace; an agent is
// killed with SIGKILL and paused with SIGSTOP. What a client holds is read
// from the client: the builtin client's lines, the daemons' CLIs. Every name
// carries `ixs-PID`; tearDown() kills the processes this run started and
// deletes its namespaces (which takes their nftables rules with them).

import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type pino from 'pino';
import { parseDocument } from 'yaml';
import type { AgentStatus } from '../../agent/agent.ts';
import { queryAgent } from '../../agent/control.ts';
import {
  Bird,
  canonicalIp,
  DAEMON_PROGRAMS,
  type Daemon,
  type DaemonSpec,
  type FamilyName,
  Frr,
  GoBgp,
  nsRun,
  OpenBgpd,
} from '../../lab/daemons.ts';
import { Lan, type Member, requireProgramsFor, waitFor } from '../../lab/netns.ts';
import { createRsClient } from '../../lab/rs-clients.ts';
import type { RibChange, RibEntry } from '../client.ts';
import { agentChecks, scenarioRsConfig } from '../loopback.ts';
import type { ClientSpec, LinkRef, Scenario } from '../types.ts';
import type { AgentAction, ClientView, Clock, World } from '../world.ts';
import type { ClientCommand, ClientLine, ClientProcSpec } from './client-proc.ts';

const BIN = fileURLToPath(new URL('../../../bin/ixrs.js', import.meta.url));
const BGP_PORT = 179;

/** What netns mode needs on the host, by client kind. */
export function netnsPrograms(s: Scenario): string[] {
  const p = new Set(['ip', 'nft']);
  for (const c of s.clients)
    if (c.kind !== 'builtin') for (const x of DAEMON_PROGRAMS[c.kind]) p.add(x);
  if (s.clients.some((c) => c.kind === 'frr')) p.add('/usr/lib/frr/zebra');
  return [...p];
}

function u32(a: string): number {
  return a.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}

function v4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The route server's addresses: the last host address of lan.ipv4, and ::fe in lan.ipv6. */
export function rsAddresses(s: Scenario): { v4: string; v6: string; len4: number; len6: number } {
  const [net4, l4] = s.lan.ipv4.split('/');
  const len4 = Number(l4);
  const mask = len4 === 0 ? 0 : (0xffffffff << (32 - len4)) >>> 0;
  const last = ((u32(net4!) & mask) | (~mask >>> 0)) >>> 0;
  const used = new Set(s.clients.map((c) => c.ipv4));
  let a = last - 1;
  while (used.has(v4Text(a))) a--;
  const [net6, l6] = s.lan.ipv6.split('/');
  const v6 = canonicalIp(`${net6!.replace(/::$/, '')}::fe`);
  return { v4: v4Text(a), v6, len4, len6: Number(l6) };
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
}

function track(child: ChildProcess): Proc {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return { child, exited };
}

/** Signals a process group we started (ignores one already gone). */
function signalGroup(p: Proc | null, sig: NodeJS.Signals): void {
  const pid = p?.child.pid;
  if (pid === undefined || p?.child.exitCode !== null || p.child.signalCode !== null) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // gone
  }
}

async function stopProc(p: Proc | null, ms = 5000): Promise<void> {
  if (p === null) return;
  signalGroup(p, 'SIGTERM');
  signalGroup(p, 'SIGCONT'); // a paused (SIGSTOP) agent acts on it only once continued
  const t = new Promise<'late'>((r) => setTimeout(() => r('late'), ms).unref());
  if ((await Promise.race([p.exited, t])) === 'late') signalGroup(p, 'SIGKILL');
}

interface Client {
  spec: ClientSpec;
  member: Member;
  /** builtin: the process and the mirror of what it holds (daemons: the last read). */
  proc: Proc | null;
  rib: Map<string, RibEntry>;
  changes: RibChange[];
  updates: number;
  established: boolean;
  /** Real daemon kinds. */
  daemon: Daemon | null;
  agent: Proc | null;
  agentControl: string;
  agentSeq: number;
  paused: boolean;
  lastStatus: AgentStatus | null;
}

export interface NetnsWorldOptions {
  signal?: AbortSignal;
  /** Keep the run's directory (configs, logs) after the run. */
  keep?: boolean;
}

export class NetnsWorld implements World {
  private readonly s: Scenario;
  private readonly clock: Clock;
  private readonly log: pino.Logger;
  private readonly o: NetnsWorldOptions;
  private lan: Lan | null = null;
  private dir = '';
  private rsMember: Member | null = null;
  private rs: Proc | null = null;
  private rsControl = '';
  private generalFile = '';
  private clientsFile = '';
  private readonly clients = new Map<string, Client>();
  private readonly rsAddr: ReturnType<typeof rsAddresses>;

  constructor(s: Scenario, clock: Clock, log: pino.Logger, o: NetnsWorldOptions = {}) {
    this.s = s;
    this.clock = clock;
    this.log = log;
    this.o = o;
    this.rsAddr = rsAddresses(s);
  }

  private abortCheck(): void {
    this.o.signal?.throwIfAborted();
  }

  async setUp(): Promise<void> {
    requireProgramsFor('ixrs scenario run', 'netns mode', netnsPrograms(this.s));
    for (const c of this.s.clients) {
      if (c.ipv4 === undefined)
        throw new Error(`client ${c.name}: netns mode needs an IPv4 address (the session's)`);
    }
    this.dir = mkdtempSync(`/tmp/ixs-${process.pid}-`);
    // FRR's zebra runs as frr and needs to reach its directory inside.
    chmodSync(this.dir, 0o755);
    this.lan = new Lan('ixs-', this.dir);
    const lan = this.lan;
    const { v4, v6, len4, len6 } = this.rsAddr;
    this.rsMember = lan.add({ name: 'rs', v4: `${v4}/${len4}`, v6: `${v6}/${len6}` });
    this.s.clients.forEach((spec, i) => {
      const member = lan.add({
        name: `c${i}`,
        v4: `${spec.ipv4}/${len4}`,
        ...(spec.ipv6 === undefined ? {} : { v6: `${spec.ipv6}/${len6}` }),
      });
      this.clients.set(spec.name, {
        spec,
        member,
        proc: null,
        rib: new Map(),
        changes: [],
        updates: 0,
        established: false,
        daemon: null,
        agent: null,
        agentControl: '',
        agentSeq: 0,
        paused: false,
        lastStatus: null,
      });
    });
    this.writeRsConfig();
    await this.startRs();
    this.abortCheck();
    // Every start settled before a failure is thrown: tearDown() then finds them all.
    const started = await Promise.allSettled(
      [...this.clients.values()].map((c) => this.startClient(c)),
    );
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    this.abortCheck();
    for (const c of this.clients.values()) if (c.spec.agent !== null) this.startAgent(c);
  }

  private writeRsConfig(): void {
    this.rsControl = `${this.dir}/ixrs.sock`;
    const t = scenarioRsConfig(this.s, (c) => c.ipv4!);
    const doc = parseDocument(t.general);
    doc.deleteIn(['cfg', 'ixrs', 'control']);
    doc.setIn(['cfg', 'ixrs', 'control_socket'], this.rsControl);
    this.generalFile = `${this.dir}/general.yml`;
    this.clientsFile = `${this.dir}/clients.yml`;
    writeFileSync(this.generalFile, doc.toString());
    writeFileSync(this.clientsFile, t.clients);
  }

  private async startRs(): Promise<void> {
    const lan = this.lan!;
    if (existsSync(this.rsControl)) rmSync(this.rsControl);
    const child = lan.spawnIn(
      this.rsMember!.ns,
      process.execPath,
      [BIN, 'run', '--general', this.generalFile, '--clients', this.clientsFile],
      'ixrs',
    );
    const p = track(child);
    this.rs = p;
    await waitFor(
      'the route server (ixrs run) to listen',
      () => {
        if (child.exitCode !== null) {
          throw new Error(`ixrs run exited (${child.exitCode}): ${this.tail('ixrs.log')}`);
        }
        return existsSync(this.rsControl);
      },
      30_000,
      50,
    );
  }

  private tail(file: string): string {
    const f = `${this.dir}/${file}`;
    return existsSync(f) ? readFileSync(f, 'utf8').slice(-1500) : '';
  }

  private async startClient(c: Client): Promise<void> {
    const lan = this.lan!;
    const spec = c.spec;
    if (spec.kind === 'builtin') {
      const ps: ClientProcSpec = {
        name: spec.name,
        asn: spec.asn,
        local: spec.ipv4!,
        nextHop6: spec.ipv6 ?? null,
        rsAddress: this.rsAddr.v4,
        rsPort: BGP_PORT,
        rsAsn: this.s.routeServer.asn,
        prefixes: spec.prefixes,
      };
      const file = `${this.dir}/client-${c.member.name}.json`;
      writeFileSync(file, JSON.stringify(ps));
      const child = lan.spawnIn(
        c.member.ns,
        process.execPath,
        [BIN, 'scenario', 'client', file],
        `client-${c.member.name}`,
        undefined,
        { stdin: true },
      );
      c.proc = track(child);
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', (l) => {
        let m: ClientLine;
        try {
          m = JSON.parse(l) as ClientLine;
        } catch {
          return;
        }
        // Stamped on arrival (a pipe away): one clock for every change.
        const at = this.clock.now();
        for (const x of m.changes) {
          if (x.nextHop === null) c.rib.delete(x.prefix);
          else c.rib.set(x.prefix, { nextHop: x.nextHop, asPath: x.asPath });
          c.changes.push({ at, prefix: x.prefix, nextHop: x.nextHop });
        }
        c.updates = m.updates;
        c.established = m.established;
      });
      return;
    }
    const fams: FamilyName[] = ['ipv4'];
    if (spec.ipv6 !== undefined && spec.prefixes.some((p) => p.includes(':'))) fams.push('ipv6');
    const ds: DaemonSpec = {
      kind: spec.kind,
      name: `${spec.kind}-${c.member.name}`,
      member: c.member,
      as: spec.asn,
      routerId: spec.ipv4!,
      neighbors: fams.map((f) => ({
        address: f === 'ipv4' ? this.rsAddr.v4 : this.rsAddr.v6,
        as: this.s.routeServer.asn,
        families: [f],
      })),
      routes: spec.prefixes.map((prefix) => ({ prefix })),
    };
    c.daemon = createRsClient(lan, ds);
    try {
      await c.daemon.start();
    } catch (err) {
      throw new Error(
        `client ${spec.name} (${spec.kind}): ${(err as Error).message}\n${c.daemon.logText()}`,
      );
    }
  }

  private startAgent(c: Client): void {
    const a = c.spec.agent!;
    c.agentSeq++;
    c.agentControl = `${this.dir}/agent-${c.member.name}-${c.agentSeq}.sock`;
    const args = [
      BIN,
      'agent',
      '--rs',
      this.rsAddr.v4,
      '--rs-asn',
      String(this.s.routeServer.asn),
      '--asn',
      String(c.spec.asn),
      '--local',
      c.spec.ipv4!,
      ...(c.spec.ipv6 === undefined ? [] : ['--local', c.spec.ipv6]),
      '--lan',
      this.s.lan.ipv4,
      '--lan',
      this.s.lan.ipv6,
      '--bfd-interval',
      String(a.intervalMs),
      '--bfd-multiplier',
      String(a.multiplier),
      '--bring-up-timeout',
      String(a.bringUpTimeoutS),
      '--hold-down',
      String(a.holdDownS),
      '--json',
      '--control',
      c.agentControl,
    ];
    c.agent = track(
      this.lan!.spawnIn(
        c.member.ns,
        process.execPath,
        args,
        `agent-${c.member.name}-${c.agentSeq}`,
      ),
    );
    c.paused = false;
    c.lastStatus = null;
  }

  async tearDown(): Promise<void> {
    const all = [...this.clients.values()];
    // Gracefully first (Cease, AdminDown), briefly; then whatever is left is killed.
    for (const c of all) c.proc?.child.stdin?.end();
    await Promise.allSettled([
      ...all.map((c) => stopProc(c.agent, 2000)),
      ...all.map((c) => (c.proc === null ? undefined : Promise.race([c.proc.exited, delay(2000)]))),
      ...all.map((c) => c.daemon?.stop()),
    ]);
    await stopProc(this.rs, 3000);
    this.lan?.destroy();
    this.lan = null;
    this.log.debug({ dir: this.dir }, 'netns world torn down');
    if (this.dir !== '' && this.o.keep !== true) rmSync(this.dir, { recursive: true, force: true });
  }

  clientNames(): string[] {
    return [...this.clients.keys()];
  }

  private client(name: string): Client {
    const c = this.clients.get(name);
    if (c === undefined) throw new Error(`no client ${name}`);
    return c;
  }

  private async agentStatus(c: Client): Promise<AgentStatus | null> {
    if (c.agent === null) return null;
    // A stopped (SIGSTOP) agent does not answer: its last status stands.
    if (c.paused || c.agent.child.exitCode !== null) return c.lastStatus;
    try {
      c.lastStatus = await queryAgent(c.agentControl, 1000);
    } catch {
      // not listening yet
    }
    return c.lastStatus;
  }

  private async view(c: Client): Promise<ClientView> {
    const st = await this.agentStatus(c);
    const checks = agentChecks(st?.nextHops ?? []);
    const agentUp =
      c.agent === null ||
      (st !== null && st.sessions.length > 0 && st.sessions.every((s) => s.established));
    const base = {
      agentChecks: checks.text,
      agentSettled: checks.settled && (c.agent === null || st !== null),
    };
    if (c.daemon === null) {
      return {
        ...base,
        rib: new Map(c.rib),
        updates: c.updates,
        changes: c.changes,
        readAt: this.clock.now(),
        sessionsUp: c.established && agentUp,
      };
    }
    const d = c.daemon;
    const rib = new Map<string, RibEntry>();
    let up = true;
    let readAt = this.clock.now();
    try {
      for (const n of d.spec.neighbors) {
        for (const f of n.families ?? []) {
          for (const r of await d.routesFrom(f, n.address, true)) {
            const asPath = r.asPath
              .split(' ')
              .filter((x) => /^\d+$/.test(x))
              .map(Number);
            rib.set(r.prefix, { nextHop: r.nextHop, asPath });
          }
        }
      }
      readAt = this.clock.now();
      const sessions = await d.sessions();
      for (const n of d.spec.neighbors) {
        const s = sessions.find((x) => canonicalIp(x.neighbor) === canonicalIp(n.address));
        if (s?.established !== true) up = false;
      }
      c.rib = rib;
    } catch {
      // The CLI did not answer this time: what was last read stands.
      up = false;
    }
    return {
      ...base,
      rib: c.rib,
      updates: null,
      changes: null,
      readAt,
      sessionsUp: up && agentUp,
    };
  }

  async observe(): Promise<Map<string, ClientView>> {
    const all = [...this.clients.values()];
    const views = await Promise.all(all.map((c) => this.view(c)));
    return new Map(all.map((c, i) => [c.spec.name, views[i]!]));
  }

  async setLink(l: LinkRef, cut: boolean): Promise<void> {
    const a = this.client(l.a).member.name;
    const b = this.client(l.b).member.name;
    if (cut) this.lan!.cut(a, b, l.oneWay);
    else this.lan!.heal(a, b, l.oneWay);
  }

  async agent(client: string, action: AgentAction): Promise<void> {
    const c = this.client(client);
    if (action === 'kill') {
      // SIGKILL: no AdminDown, no Cease; the route server fails open when the session times out or resets.
      signalGroup(c.agent, 'SIGKILL');
      await c.agent?.exited;
      c.agent = null;
    } else if (action === 'restart') {
      await stopProc(c.agent, 3000);
      await c.agent?.exited;
      c.agent = null;
      this.startAgent(c);
    } else {
      signalGroup(c.agent, action === 'pause' ? 'SIGSTOP' : 'SIGCONT');
      c.paused = action === 'pause';
    }
  }

  async routes(client: string, prefixes: string[], announce: boolean): Promise<void> {
    const c = this.client(client);
    if (c.proc !== null) {
      const m: ClientCommand = { cmd: announce ? 'announce' : 'withdraw', prefixes };
      c.proc.child.stdin?.write(`${JSON.stringify(m)}\n`);
      return;
    }
    const d = c.daemon!;
    const fam = (p: string): FamilyName => (p.includes(':') ? 'ipv6' : 'ipv4');
    const routes = (d.spec.routes ?? []).filter((r) => !prefixes.includes(r.prefix));
    if (announce) routes.push(...prefixes.map((prefix) => ({ prefix })));
    d.spec.routes = routes;
    if (d instanceof Bird) {
      writeFileSync(`${d.dir}/bird.conf`, d.config());
      await d.birdc('configure');
    } else if (d instanceof Frr) {
      for (const p of prefixes) {
        await nsRun(d.ns, 'vtysh', [
          '--vty_socket',
          d.dir,
          '-d',
          'bgpd',
          '-c',
          'configure terminal',
          '-c',
          `router bgp ${d.spec.as}`,
          '-c',
          `address-family ${fam(p)} unicast`,
          '-c',
          `${announce ? '' : 'no '}network ${p}`,
        ]);
      }
    } else if (d instanceof GoBgp) {
      for (const p of prefixes) {
        if (announce) await d.announce({ prefix: p });
        else await d.gobgp(['global', 'rib', 'del', '-a', fam(p), p]);
      }
    } else if (d instanceof OpenBgpd) {
      for (const p of prefixes) await d.bgpctl(['network', announce ? 'add' : 'delete', p]);
    }
  }

  async restartRouteServer(): Promise<void> {
    await stopProc(this.rs, 5000);
    await this.rs?.exited;
    await this.startRs();
  }

  addressOf(client: string, family: 'ipv4' | 'ipv6'): string | null {
    const c = this.client(client);
    return (family === 'ipv4' ? c.spec.ipv4 : c.spec.ipv6) ?? null;
  }

  ownerOf(nextHop: string): string {
    const n = canonicalIp(nextHop);
    for (const c of this.clients.values()) {
      if (c.spec.ipv4 === n || (c.spec.ipv6 !== undefined && canonicalIp(c.spec.ipv6) === n)) {
        return `${c.spec.name} (${nextHop})`;
      }
    }
    return nextHop;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
