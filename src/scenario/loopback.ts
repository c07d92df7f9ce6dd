// Loopback mode's world (`ixrs scenario run --mode loopback`): one process
// holds the route server (the Daemon of src/ops/daemon.ts on 127.0.0.1), one
// builtin client per scenario client (client.ts) and an agent beside each
// client that runs one (src/agent/agent.ts, BFD in-thread over the simulated
// datagram fabric of fabric.ts, so a cut drops real BFD packets and the real
// detection, report and NHIB code paths follow). Addresses: a client's IPv4
// LAN address is mapped into 127.77.0.0/16 by its offset in lan.ipv4
// (192.0.2.11 in 192.0.2.0/24 -> 127.77.0.11); IPv6 addresses stay as written
// and are only next hops (attributes over the IPv4 session) and BFD addresses
// on the fabric.

import { readFileSync } from 'node:fs';
import type pino from 'pino';
import { Agent } from '../agent/agent.ts';
import { bgplsCodec } from '../agent/bgpls-codec.ts';
import { parseConfig } from '../config/load.ts';
import type { RsConfig } from '../config/types.ts';
import { type Daemon, startDaemon } from '../ops/daemon.ts';
import { BuiltinClient } from './client.ts';
import { Fabric } from './fabric.ts';
import type { ClientSpec, LinkRef, Scenario } from './types.ts';
import type { AgentAction, ClientView, Clock, World } from './world.ts';

export const LOOPBACK_BASE = '127.77.0.0';
const RS_ADDRESS = '127.0.0.1';

/** 192.0.2.11 in 192.0.2.0/24 -> 127.77.0.11. */
export function loopbackAddress(address: string, lan: string): string {
  const u32 = (a: string) => a.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
  const len = Number(lan.split('/')[1]);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const offset = (u32(address) & ~mask) >>> 0;
  if (offset > 0xffff) throw new Error(`lan.ipv4 ${lan}: loopback mode needs a /16 or longer`);
  const n = (u32(LOOPBACK_BASE) + offset) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function yamlList(xs: string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
}

export interface RsConfigText {
  general: string;
  clients: string;
  /** Where the texts came from, for error messages. */
  generalName: string;
  clientsName: string;
}

/**
 * general.yml + clients.yml for the scenario: generated, or the operator's
 * with each client's IPv4 LAN address replaced by map(client). `general`
 * lines are appended under `cfg.ixrs` of the generated general.yml.
 */
export function scenarioRsConfig(
  s: Scenario,
  map: (c: ClientSpec) => string,
  ixrs: string[] = [],
): RsConfigText {
  if (s.routeServer.general !== undefined && s.routeServer.clients !== undefined) {
    let clients = readFileSync(s.routeServer.clients, 'utf8');
    for (const c of s.clients) {
      if (c.ipv4 === undefined) continue;
      const re = new RegExp(`(?<![0-9.])${c.ipv4.replaceAll('.', '\\.')}(?![0-9])`, 'g');
      clients = clients.replace(re, map(c));
    }
    return {
      general: readFileSync(s.routeServer.general, 'utf8'),
      clients,
      generalName: s.routeServer.general,
      clientsName: s.routeServer.clients,
    };
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
    ...ixrs.map((l) => `    ${l}`),
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
  return {
    general,
    clients: `${lines.join('\n')}\n`,
    generalName: `${s.file} (generated general.yml)`,
    clientsName: `${s.file} (generated clients.yml)`,
  };
}

/** general.yml + clients.yml for the scenario (or the operator's, with the LAN addresses mapped), parsed. */
export function loopbackConfig(s: Scenario, map: (c: ClientSpec) => string): RsConfig {
  const t = scenarioRsConfig(s, map);
  return parseConfig(t.general, t.clients, { general: t.generalName, clients: t.clientsName })
    .config;
}

/** "h=Up/reachable,..." of an agent's checks, and whether none is still pending. */
export function agentChecks(
  nextHops: readonly { nextHop: string; bfd: string; verdict: string }[],
): { text: string; settled: boolean } {
  return {
    text: nextHops.map((h) => `${h.nextHop}=${h.bfd}/${h.verdict}`).join(','),
    // Every check settled: BFD Up, or reported unreachable (a cut link) after bring-up.
    settled: nextHops.every((h) => h.verdict !== 'pending' && h.verdict !== 'holding'),
  };
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

export class LoopbackWorld implements World {
  private readonly s: Scenario;
  private readonly clock: Clock;
  private readonly log: pino.Logger;
  private readonly fabric = new Fabric();
  private readonly members = new Map<string, Member>();
  private daemon: Daemon | null = null;
  private config: RsConfig | null = null;
  private port = 0;
  private readonly agentPort = 3784;

  constructor(s: Scenario, clock: Clock, log: pino.Logger) {
    this.s = s;
    this.clock = clock;
    this.log = log;
  }

  async setUp(): Promise<void> {
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
        now: () => this.clock.now(),
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

  async tearDown(): Promise<void> {
    const all = [...this.members.values()];
    await Promise.allSettled(all.map((m) => m.agent?.stop('scenario over')));
    await Promise.allSettled(all.map((m) => m.client.stop()));
    await this.daemon?.stop('scenario over').catch(() => undefined);
    this.daemon = null;
  }

  clientNames(): string[] {
    return [...this.members.keys()];
  }

  private member(name: string): Member {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`no client ${name}`);
    return m;
  }

  async observe(): Promise<Map<string, ClientView>> {
    const out = new Map<string, ClientView>();
    for (const [n, m] of this.members) {
      const st = m.agent?.status();
      const checks = agentChecks(st?.nextHops ?? []);
      out.set(n, {
        rib: m.client.rib,
        updates: m.client.updates,
        changes: m.client.changes,
        readAt: this.clock.now(),
        sessionsUp: m.client.established && (st?.sessions.every((s) => s.established) ?? true),
        agentChecks: checks.text,
        agentSettled: checks.settled,
      });
    }
    return out;
  }

  private addresses(m: Member): string[] {
    return [m.v4, ...(m.v6 === null ? [] : [m.v6])];
  }

  async setLink(l: LinkRef, cut: boolean): Promise<void> {
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

  async agent(client: string, action: AgentAction): Promise<void> {
    const m = this.member(client);
    if (action === 'kill') {
      // BFD dies without AdminDown; the BGP-LS session ends (fail open at the RS).
      await m.agent?.killBfd();
      await m.agent?.stop('agent killed by scenario');
      m.agent = null;
    } else if (action === 'restart') {
      await m.agent?.stop('agent restarted by scenario');
      m.agent = null;
      for (const x of this.addresses(m)) this.fabric.mute(x, false);
      await this.startAgent(m);
    } else {
      // pause: the agent sends no BFD (as if stopped by SIGSTOP); resume: again.
      for (const x of this.addresses(m)) this.fabric.mute(x, action === 'pause');
    }
  }

  async routes(client: string, prefixes: string[], announce: boolean): Promise<void> {
    const m = this.member(client);
    if (announce) m.client.announce(prefixes);
    else m.client.withdraw(prefixes);
  }

  async restartRouteServer(): Promise<void> {
    await this.daemon?.stop('route server restart (scenario)');
    this.daemon = null;
    await this.startDaemon();
  }

  addressOf(client: string, family: 'ipv4' | 'ipv6'): string | null {
    const m = this.member(client);
    return family === 'ipv4' ? m.v4 : m.v6;
  }

  ownerOf(nextHop: string): string {
    for (const m of this.members.values()) {
      if (m.v4 === nextHop || m.v6 === nextHop) return `${m.spec.name} (${nextHop})`;
    }
    return nextHop;
  }
}
