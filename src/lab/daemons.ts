// Launchers for the real BGP speakers ixrs is tested against: BIRD 2, FRR bgpd,
// GoBGP, OpenBGPD and ExaBGP. Each one runs inside a member namespace of a test
// Lan (netns.ts), by hand (no systemd), with its own generated config, sockets
// and pid files in `${lan.logDir}/${name}/`. Each can be asked, through its own
// CLI, for its RIB and its session states, normalised to RibRoute/SessionInfo
// so that tests can compare daemons with each other and with the ixrs codec.
//
// Reused by `ixrs scenario run --mode netns` (src/scenario/netns/), the BGP
// speaker interop test, the fixture capture script, the route
// server interop tests and the benchmarks.

import { type ChildProcess, execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type Lan, type Member, waitFor } from './netns.ts';

export type DaemonKind = 'bird' | 'frr' | 'gobgp' | 'openbgpd' | 'exabgp';
export const DAEMON_KINDS: readonly DaemonKind[] = ['bird', 'frr', 'gobgp', 'openbgpd', 'exabgp'];

/** The programs each launcher needs (for requirePrograms). */
export const DAEMON_PROGRAMS: Record<DaemonKind, string[]> = {
  bird: ['bird', 'birdc'],
  frr: ['/usr/lib/frr/bgpd', 'vtysh'],
  gobgp: ['gobgpd', 'gobgp'],
  openbgpd: ['bgpd', 'bgpctl'],
  exabgp: ['exabgp'],
};

export type FamilyName = 'ipv4' | 'ipv6';

export interface NeighborSpec {
  /** Neighbour address; its family decides the session's transport. */
  address: string;
  as: number;
  /** This daemon waits for the neighbour to connect (does not connect itself). */
  passive?: boolean;
  /** Families to negotiate; default: the family of `address`. */
  families?: FamilyName[];
  /** Local address to use; default: the member's address of the same family. */
  localAddress?: string;
  /** RFC 7911 ADD-PATH send+receive for the families (where the daemon allows). */
  addPath?: boolean;
  /** RFC 4724 graceful restart capability (where the daemon allows). */
  gracefulRestart?: boolean;
  /** RFC 8950 extended next hop (IPv4 NLRI over an IPv6 session), where allowed. */
  extendedNextHop?: boolean;
  /** Hold time in seconds (default: the daemon's own). */
  holdTime?: number;
}

export interface RouteSpec {
  /** "198.51.100.0/24" or "2001:db8:100::/48". */
  prefix: string;
  med?: number;
  /** RFC 1997 communities as [asn, value]. */
  communities?: [number, number][];
  /** RFC 8092 large communities. */
  largeCommunities?: [number, number, number][];
  /** Prepend the local AS this many extra times. */
  prepend?: number;
  /**
   * ExaBGP/GoBGP only: ASNs of an AS_SET appended after the sequence (these two
   * daemons build AS paths literally).
   */
  asSet?: number[];
}

export interface DaemonSpec {
  kind: DaemonKind;
  /** Short name, used for directories and log files. */
  name: string;
  member: Member;
  as: number;
  routerId: string;
  neighbors: NeighborSpec[];
  routes?: RouteSpec[];
}

/** A route as a daemon's CLI shows it, normalised. */
export interface RibRoute {
  prefix: string;
  /** Global next hop, canonical text (lower case, compressed IPv6). */
  nextHop: string;
  /** "65001 65002 {65003,65004}": sequences space-separated, sets in braces, sorted. */
  asPath: string;
  med?: number;
  /** "asn:value", sorted. */
  communities: string[];
  /** "a:b:c", sorted. */
  largeCommunities: string[];
  /** Neighbour the route was learnt from, when the daemon says (undefined: local). */
  from?: string;
}

export interface SessionInfo {
  neighbor: string;
  established: boolean;
  /** The daemon's own state word. */
  state: string;
}

// ------------------------------------------------------------------ helpers

/** Runs a command in a namespace, asynchronously; resolves stdout, rejects on failure. */
export function nsRun(
  ns: string,
  cmd: string,
  args: string[],
  timeoutMs = 15_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, cmd, ...args],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

export function familyOf(address: string): FamilyName {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

function prefixFamily(prefix: string): FamilyName {
  return familyOf(prefix.split('/')[0] ?? '');
}

/** Canonical IPv6/IPv4 text (RFC 5952) via the URL parser. */
export function canonicalIp(a: string): string {
  if (!a.includes(':')) return a;
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a.toLowerCase();
  }
}

export function canonicalPrefix(p: string): string {
  const [a, l] = p.split('/');
  return `${canonicalIp(a ?? '')}/${l}`;
}

/** Normalises an AS path text: tokens of digits; `{...}`/`(...)`/`[...]` groups are sets. */
export function normaliseAsPath(text: string): string {
  const out: string[] = [];
  const re = /[{[(]([^})\]]*)[})\]]|(\d+)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[2] !== undefined) out.push(m[2]);
    else {
      const set = (m[1] ?? '')
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(Number)
        .sort((a, b) => a - b);
      out.push(`{${set.join(',')}}`);
    }
  }
  return out.join(' ');
}

/** AS path text from segments (codec shape): 1 AS_SET, 2 AS_SEQUENCE. */
export function asPathText(segments: { type: number; asns: number[] }[]): string {
  return segments
    .map((s) =>
      s.type === 1 || s.type === 4
        ? `{${[...s.asns].sort((a, b) => a - b).join(',')}}`
        : s.asns.join(' '),
    )
    .filter(Boolean)
    .join(' ');
}

const WELL_KNOWN: Record<string, string> = {
  'graceful-shutdown': '65535:0',
  gshut: '65535:0',
  'accept-own': '65535:1',
  'llgr-stale': '65535:6',
  'no-llgr': '65535:7',
  blackhole: '65535:666',
  'no-export': '65535:65281',
  'no-advertise': '65535:65282',
  'local-as': '65535:65283',
  'no-export-subconfed': '65535:65283',
  'no-peer': '65535:65284',
};

/** "65000:1" from a daemon's community text, well-known names included. */
export function normaliseCommunity(c: string): string {
  const k = c.trim();
  return WELL_KNOWN[k.toLowerCase()] ?? WELL_KNOWN[k.toLowerCase().replace(/_/g, '-')] ?? k;
}

export function communityText(c: number): string {
  return `${Math.floor(c / 65536)}:${c % 65536}`;
}

function sortStrings(a: string[]): string[] {
  return [...a].sort();
}

function routeFamilies(n: NeighborSpec): FamilyName[] {
  return n.families ?? [familyOf(n.address)];
}

function localAddressFor(member: Member, n: NeighborSpec): string {
  const a = n.localAddress ?? (familyOf(n.address) === 'ipv6' ? member.v6 : member.v4);
  if (!a) throw new Error(`member ${member.name} has no ${familyOf(n.address)} address`);
  return a;
}

// ------------------------------------------------------------------ base class

export abstract class Daemon {
  readonly spec: DaemonSpec;
  readonly lan: Lan;
  readonly dir: string;

  constructor(lan: Lan, spec: DaemonSpec) {
    this.lan = lan;
    this.spec = spec;
    this.dir = `${lan.logDir}/${spec.name}`;
    mkdirSync(this.dir, { recursive: true });
  }

  get kind(): DaemonKind {
    return this.spec.kind;
  }
  get name(): string {
    return this.spec.name;
  }
  get ns(): string {
    return this.spec.member.ns;
  }

  /** Writes the config, starts the daemon and waits until its CLI answers. */
  abstract start(): Promise<void>;
  /** Routes in the daemon's RIB for a family (learnt and local). */
  abstract rib(family: FamilyName): Promise<RibRoute[]>;
  abstract sessions(): Promise<SessionInfo[]>;
  /**
   * What the daemon tells about the last NOTIFICATION it received from a
   * neighbour (text to search for a shutdown message); '' when nothing.
   */
  abstract lastError(neighbor: string): Promise<string>;

  /** Stops the daemon (Lan.destroy() kills whatever is left). */
  /** The process started in the namespace (its group is the daemon's). */
  protected child: ChildProcess | undefined;

  /**
   * Stops the daemon: SIGTERM to the processes it started (and to the pid in
   * its pid file, for daemons that fork), then waits up to 5 s for the exit.
   * Lan.destroy() kills whatever is left.
   */
  async stop(): Promise<void> {
    const pids = this.pidFiles()
      .filter((f) => existsSync(f))
      .map((f) => Number(readFileSync(f, 'utf8').trim()))
      .filter((p) => p > 0);
    const child = this.child;
    const targets = [...pids, ...(child?.pid !== undefined ? [-child.pid] : [])];
    for (const p of targets) {
      try {
        process.kill(p, 'SIGTERM');
      } catch {
        // gone
      }
    }
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  protected pidFiles(): string[] {
    return [];
  }

  /**
   * Routes with prefix, next hop, AS path and origin at least, in as few CLI
   * calls as the daemon allows (the scenario runner polls it); default rib().
   */
  briefRib(family: FamilyName): Promise<RibRoute[]> {
    return this.rib(family);
  }

  /** Routes learnt from a neighbour (by address); brief: from briefRib(). */
  async routesFrom(family: FamilyName, neighbor: string, brief = false): Promise<RibRoute[]> {
    const n = canonicalIp(neighbor);
    return (await (brief ? this.briefRib(family) : this.rib(family))).filter(
      (r) => r.from !== undefined && canonicalIp(r.from) === n,
    );
  }

  async waitEstablished(neighbor: string, timeoutMs = 60_000): Promise<void> {
    const n = canonicalIp(neighbor);
    await waitFor(
      `${this.name} session with ${neighbor} established`,
      async () =>
        (await this.sessions()).some((s) => canonicalIp(s.neighbor) === n && s.established),
      timeoutMs,
      500,
    );
  }

  /** The daemon's log file(s), for failure messages. */
  logText(): string {
    const files = [`${this.lan.logDir}/${this.name}.log`, `${this.dir}/daemon.log`];
    return files
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f, 'utf8').slice(-4000))
      .join('\n');
  }
}

// ------------------------------------------------------------------ BIRD 2

export class Bird extends Daemon {
  get socket(): string {
    return `${this.dir}/bird.ctl`;
  }

  protected override pidFiles(): string[] {
    return [`${this.dir}/bird.pid`];
  }

  config(): string {
    const s = this.spec;
    const lines: string[] = [
      `router id ${s.routerId};`,
      `log "${this.dir}/daemon.log" all;`,
      'protocol device {}',
    ];
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const routes = (s.routes ?? []).filter((r) => prefixFamily(r.prefix) === fam);
      if (routes.length === 0) continue;
      lines.push(`protocol static static_${fam} {`, `  ${fam};`);
      for (const r of routes) {
        // Attributes set on the static route itself, so that `show route all`
        // shows them on the local route as they are exported.
        const acts: string[] = [];
        if (r.med !== undefined) acts.push(`bgp_med = ${r.med};`);
        for (const [a, b] of r.communities ?? []) acts.push(`bgp_community.add((${a},${b}));`);
        for (const [a, b, c] of r.largeCommunities ?? [])
          acts.push(`bgp_large_community.add((${a},${b},${c}));`);
        for (let i = 0; i < (r.prepend ?? 0); i++) acts.push(`bgp_path.prepend(${s.as});`);
        lines.push(
          `  route ${r.prefix} unreachable${acts.length ? ` { ${acts.join(' ')} }` : ''};`,
        );
      }
      lines.push('}');
    }
    // BIRD drops a MED set on a static route when exporting to eBGP; set there.
    const meds = (s.routes ?? [])
      .filter((r) => r.med !== undefined)
      .map((r) => `  if net = ${r.prefix} then bgp_med = ${r.med};`);
    lines.push('filter ixb_export {', ...meds, '  accept;', '}');
    s.neighbors.forEach((n, i) => {
      const local = localAddressFor(s.member, n);
      lines.push(
        `protocol bgp n${i} {`,
        `  local ${local} as ${s.as};`,
        `  neighbor ${n.address} as ${n.as};`,
        '  connect delay time 1;',
        '  connect retry time 2;',
        '  error wait time 1, 5;',
        '  interface "lan0";',
      );
      if (n.passive) lines.push('  passive on;');
      if (n.holdTime !== undefined) lines.push(`  hold time ${n.holdTime};`);
      if (n.gracefulRestart) lines.push('  graceful restart on;');
      for (const fam of routeFamilies(n)) {
        const opts = ['import all;', 'export filter ixb_export;'];
        if (n.addPath) opts.push('add paths on;');
        if (fam === 'ipv4' && familyOf(n.address) === 'ipv6' && n.extendedNextHop)
          opts.push('extended next hop on;');
        lines.push(`  ${fam} { ${opts.join(' ')} };`);
      }
      lines.push('}');
    });
    return `${lines.join('\n')}\n`;
  }

  async start(): Promise<void> {
    const conf = `${this.dir}/bird.conf`;
    writeFileSync(conf, this.config());
    this.child = this.lan.spawnIn(
      this.ns,
      'bird',
      ['-f', '-c', conf, '-s', this.socket, '-P', `${this.dir}/bird.pid`],
      this.name,
    );
    await waitFor(`${this.name}: birdc answers`, () => this.birdc('show status').then(() => true));
  }

  birdc(cmd: string): Promise<string> {
    return nsRun(this.ns, 'birdc', ['-s', this.socket, cmd]);
  }

  /** Maps protocol name n<i> to neighbour address. */
  private protoNeighbor(proto: string): string | undefined {
    const m = /^n(\d+)$/.exec(proto);
    return m ? this.spec.neighbors[Number(m[1])]?.address : undefined;
  }

  async rib(family: FamilyName): Promise<RibRoute[]> {
    const out = await this.birdc(`show route all table master${family === 'ipv4' ? 4 : 6}`);
    return parseBirdRoutes(out).map((r) => {
      const from = this.protoNeighbor(r.proto);
      return { ...r.route, ...(from ? { from } : {}) };
    });
  }

  async sessions(): Promise<SessionInfo[]> {
    const out = await this.birdc('show protocols');
    const res: SessionInfo[] = [];
    for (const line of out.split('\n')) {
      const f = line.trim().split(/\s+/);
      const nb = f[0] ? this.protoNeighbor(f[0]) : undefined;
      if (!nb || f[1] !== 'BGP') continue;
      const state = f.slice(5).join(' ') || (f[3] ?? '');
      res.push({ neighbor: nb, established: f[3] === 'up' && /Established/.test(line), state });
    }
    return res;
  }

  async lastError(neighbor: string): Promise<string> {
    const i = this.spec.neighbors.findIndex(
      (n) => canonicalIp(n.address) === canonicalIp(neighbor),
    );
    if (i < 0) return '';
    const out = await this.birdc(`show protocols all n${i}`);
    return out
      .split('\n')
      .filter((l) => /error|Received|Message|shutdown|Info/i.test(l))
      .join('\n');
  }
}

/** Parses `birdc show route all` text. */
export function parseBirdRoutes(out: string): { proto: string; route: RibRoute }[] {
  const res: { proto: string; route: RibRoute }[] = [];
  let prefix = '';
  let cur: { proto: string; route: RibRoute } | undefined;
  for (const line of out.split('\n')) {
    // "198.51.100.0/24      unicast [n0 06:00:00.000] * (100) [AS65002i]"
    // continuation routes of the same prefix start with spaces.
    const head = /^(\S+)?\s+(?:unicast|unreachable|blackhole|prohibit)\s+\[(\S+)\s/.exec(line);
    if (head) {
      if (head[1]) prefix = canonicalPrefix(head[1]);
      cur = {
        proto: head[2] ?? '',
        route: { prefix, nextHop: '', asPath: '', communities: [], largeCommunities: [] },
      };
      res.push(cur);
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^via (\S+)/.exec(t)) && !cur.route.nextHop)
      cur.route.nextHop = canonicalIp(m[1] ?? '');
    else if ((m = /^BGP\.as_path:\s*(.*)$/.exec(t))) cur.route.asPath = normaliseAsPath(m[1] ?? '');
    else if ((m = /^BGP\.next_hop:\s*(\S+)/.exec(t))) cur.route.nextHop = canonicalIp(m[1] ?? '');
    else if ((m = /^BGP\.med:\s*(\d+)/.exec(t))) cur.route.med = Number(m[1]);
    else if ((m = /^BGP\.community:\s*(.*)$/.exec(t)))
      cur.route.communities = sortStrings(
        [...(m[1] ?? '').matchAll(/\((\d+),\s*(\d+)\)/g)].map((x) => `${x[1]}:${x[2]}`),
      );
    else if ((m = /^BGP\.large_community:\s*(.*)$/.exec(t)))
      cur.route.largeCommunities = sortStrings(
        [...(m[1] ?? '').matchAll(/\((\d+),\s*(\d+),\s*(\d+)\)/g)].map(
          (x) => `${x[1]}:${x[2]}:${x[3]}`,
        ),
      );
  }
  return res;
}

// ------------------------------------------------------------------ FRR

export class Frr extends Daemon {
  protected override pidFiles(): string[] {
    return [`${this.dir}/bgpd.pid`];
  }

  config(): string {
    const s = this.spec;
    const l: string[] = [
      'frr defaults traditional',
      `hostname ${s.name}`,
      `log file ${this.dir}/daemon.log`,
      '!',
      `router bgp ${s.as}`,
      ` bgp router-id ${s.routerId}`,
      ' bgp log-neighbor-changes',
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ' no bgp network import-check',
      ' bgp graceful-restart-disable',
    ];
    if (s.neighbors.some((n) => n.gracefulRestart)) l.pop();
    for (const n of s.neighbors) {
      l.push(
        ` neighbor ${n.address} remote-as ${n.as}`,
        ` neighbor ${n.address} update-source ${localAddressFor(s.member, n)}`,
        ` neighbor ${n.address} timers connect 2`,
        ` neighbor ${n.address} disable-connected-check`,
      );
      if (n.passive) l.push(` neighbor ${n.address} passive`);
      if (n.holdTime !== undefined)
        l.push(
          ` neighbor ${n.address} timers ${Math.max(1, Math.floor(n.holdTime / 3))} ${n.holdTime}`,
        );
      if (n.extendedNextHop) l.push(` neighbor ${n.address} capability extended-nexthop`);
      if (n.gracefulRestart) l.push(` neighbor ${n.address} graceful-restart`);
    }
    for (const fam of ['ipv4', 'ipv6'] as const) {
      l.push(` address-family ${fam} unicast`);
      for (const r of (s.routes ?? []).filter((x) => prefixFamily(x.prefix) === fam)) {
        l.push(`  network ${r.prefix} route-map ${routeMapName(r)}`);
      }
      for (const n of s.neighbors.filter((x) => routeFamilies(x).includes(fam))) {
        l.push(`  neighbor ${n.address} activate`);
        if (n.addPath) l.push(`  neighbor ${n.address} addpath-tx-all-paths`);
      }
      l.push(' exit-address-family');
    }
    l.push('!');
    for (const r of s.routes ?? []) {
      l.push(`route-map ${routeMapName(r)} permit 10`);
      if (r.med !== undefined) l.push(` set metric ${r.med}`);
      if (r.communities?.length)
        l.push(` set community ${r.communities.map(([a, b]) => `${a}:${b}`).join(' ')}`);
      if (r.largeCommunities?.length)
        l.push(` set large-community ${r.largeCommunities.map((c) => c.join(':')).join(' ')}`);
      if (r.prepend) l.push(` set as-path prepend ${Array(r.prepend).fill(s.as).join(' ')}`);
      l.push('!');
    }
    return `${l.join('\n')}\n`;
  }

  async start(): Promise<void> {
    writeFileSync(`${this.dir}/bgpd.conf`, this.config());
    await this.startBgpd(['-Z']);
  }

  /** Starts bgpd on the written config (`extra`: e.g. -Z for no zebra) and waits for its vty. */
  protected async startBgpd(extra: string[]): Promise<void> {
    this.child = this.lan.spawnIn(
      this.ns,
      '/usr/lib/frr/bgpd',
      [
        '-f',
        `${this.dir}/bgpd.conf`,
        '-i',
        `${this.dir}/bgpd.pid`,
        '--vty_socket',
        this.dir,
        '-z',
        `${this.dir}/zserv.api`,
        ...extra,
        '-n',
        '-S',
        '-u',
        'root',
        '-g',
        'root',
        '-P',
        '0',
        '--log',
        `file:${this.dir}/daemon.log`,
      ],
      this.name,
    );
    await waitFor(`${this.name}: vtysh answers`, () =>
      this.vtysh('show bgp summary').then(() => true),
    );
  }

  vtysh(cmd: string): Promise<string> {
    return nsRun(this.ns, 'vtysh', ['--vty_socket', this.dir, '-d', 'bgpd', '-c', cmd]);
  }

  async vtyshJson(cmd: string): Promise<unknown> {
    return JSON.parse(await this.vtysh(cmd));
  }

  async rib(family: FamilyName): Promise<RibRoute[]> {
    // FRR 8.4 `show bgp ... json` lacks communities; the per-prefix form has them.
    const j = (await this.vtyshJson(`show bgp ${family} unicast json`)) as {
      routes?: Record<string, unknown>;
    };
    const res: RibRoute[] = [];
    for (const prefix of Object.keys(j.routes ?? {})) {
      const d = (await this.vtyshJson(`show bgp ${family} unicast ${prefix} json`)) as {
        paths?: FrrPath[];
      };
      for (const p of d.paths ?? []) res.push(frrPath(prefix, p));
    }
    return res;
  }

  /** One vtysh call: `show bgp FAMILY unicast json` (no communities in FRR 8.4). */
  override async briefRib(family: FamilyName): Promise<RibRoute[]> {
    const j = (await this.vtyshJson(`show bgp ${family} unicast json`)) as {
      routes?: Record<string, FrrPath[]>;
    };
    return Object.entries(j.routes ?? {}).flatMap(([prefix, paths]) =>
      paths.map((p) => frrPath(prefix, p)),
    );
  }

  async sessions(): Promise<SessionInfo[]> {
    const j = (await this.vtyshJson('show bgp neighbors json')) as Record<
      string,
      { bgpState?: string }
    >;
    return Object.entries(j).map(([nb, v]) => ({
      neighbor: nb,
      state: v.bgpState ?? '',
      established: v.bgpState === 'Established',
    }));
  }

  async lastError(neighbor: string): Promise<string> {
    // `show bgp neighbors X json` has lastNotificationReason and
    // lastShutdownDescription; with log-neighbor-changes bgpd also logs
    // '%NOTIFICATION: received from neighbor X 6/2 (...) "msg"'.
    const j = (await this.vtyshJson(`show bgp neighbors ${neighbor} json`)) as Record<
      string,
      Record<string, unknown>
    >;
    const v = Object.values(j)[0] ?? {};
    const txt = ['lastResetDueTo', 'lastNotificationReason', 'lastShutdownDescription']
      .filter((k) => v[k] !== undefined)
      .map((k) => `${k}: ${String(v[k])}`)
      .join('\n');
    const log = existsSync(`${this.dir}/daemon.log`)
      ? readFileSync(`${this.dir}/daemon.log`, 'utf8')
      : '';
    return [
      txt,
      ...log.split('\n').filter((l) => l.includes(neighbor) && /NOTIFICATION|shutdown/i.test(l)),
    ].join('\n');
  }
}

interface FrrPath {
  prefix?: string;
  prefixLen?: number;
  network?: string;
  aspath?: { string?: string } | string;
  path?: string;
  med?: number;
  metric?: number;
  community?: { string?: string };
  largeCommunity?: { string?: string };
  nexthops?: { ip?: string; afi?: string; scope?: string }[];
  peer?: { peerId?: string; type?: string };
  peerId?: string;
}

function routeMapName(r: RouteSpec): string {
  return `RM-${r.prefix.replace(/[^0-9a-fA-F]/g, '-')}`;
}

function frrPath(prefix: string, p: FrrPath): RibRoute {
  const asp = typeof p.aspath === 'string' ? p.aspath : (p.aspath?.string ?? p.path ?? '');
  const nh = (p.nexthops ?? []).find((x) => x.scope !== 'link-local') ?? p.nexthops?.[0];
  const peer = p.peer?.peerId ?? p.peerId;
  const r: RibRoute = {
    prefix: canonicalPrefix(prefix),
    nextHop: canonicalIp(nh?.ip ?? ''),
    asPath: normaliseAsPath(asp === 'Local' ? '' : asp),
    communities: sortStrings(
      (p.community?.string ?? '').split(/\s+/).filter(Boolean).map(normaliseCommunity),
    ),
    largeCommunities: sortStrings((p.largeCommunity?.string ?? '').split(/\s+/).filter(Boolean)),
  };
  const med = p.med ?? p.metric;
  if (med !== undefined) r.med = med;
  if (peer && peer !== '(unspec)' && peer !== '0.0.0.0' && peer !== '::') r.from = peer;
  return r;
}

// ------------------------------------------------------------------ GoBGP

export class GoBgp extends Daemon {
  readonly apiPort = 50051;

  protected override pidFiles(): string[] {
    return [];
  }

  config(): string {
    const s = this.spec;
    const locals = [s.member.v4, s.member.v6].filter(Boolean).map((a) => `"${a}"`);
    const l: string[] = [
      '[global.config]',
      `  as = ${s.as}`,
      `  router-id = "${s.routerId}"`,
      '  port = 179',
      `  local-address-list = [${locals.join(', ')}]`,
    ];
    for (const n of s.neighbors) {
      l.push(
        '[[neighbors]]',
        '  [neighbors.config]',
        `    neighbor-address = "${n.address}"`,
        `    peer-as = ${n.as}`,
        '  [neighbors.transport.config]',
        `    local-address = "${localAddressFor(s.member, n)}"`,
        `    passive-mode = ${n.passive ? 'true' : 'false'}`,
        '  [neighbors.timers.config]',
        '    connect-retry = 2',
        '    idle-hold-time-after-reset = 1',
      );
      if (n.holdTime !== undefined)
        l.push(
          `    hold-time = ${n.holdTime}`,
          `    keepalive-interval = ${Math.max(1, Math.floor(n.holdTime / 3))}`,
        );
      if (n.gracefulRestart)
        l.push(
          '  [neighbors.graceful-restart.config]',
          '    enabled = true',
          '    restart-time = 120',
        );
      for (const fam of routeFamilies(n)) {
        l.push(
          '  [[neighbors.afi-safis]]',
          '    [neighbors.afi-safis.config]',
          `      afi-safi-name = "${fam}-unicast"`,
        );
        if (n.addPath)
          l.push(
            '    [neighbors.afi-safis.add-paths.config]',
            '      receive = true',
            '      send-max = 8',
          );
        if (n.gracefulRestart)
          l.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
      }
    }
    return `${l.join('\n')}\n`;
  }

  async start(): Promise<void> {
    const conf = `${this.dir}/gobgpd.toml`;
    writeFileSync(conf, this.config());
    this.child = this.lan.spawnIn(
      this.ns,
      'gobgpd',
      [
        '-f',
        conf,
        '-t',
        'toml',
        '--api-hosts',
        `127.0.0.1:${this.apiPort}`,
        '--pprof-disable',
        '-l',
        'info',
      ],
      this.name,
    );
    await waitFor(`${this.name}: gobgp answers`, () => this.gobgp(['global']).then(() => true));
    for (const r of this.spec.routes ?? []) await this.announce(r);
  }

  gobgp(args: string[]): Promise<string> {
    return nsRun(this.ns, 'gobgp', ['-u', '127.0.0.1', '-p', String(this.apiPort), ...args]);
  }

  async announce(r: RouteSpec): Promise<void> {
    const fam = prefixFamily(r.prefix);
    const args = ['global', 'rib', 'add', '-a', fam, r.prefix, 'origin', 'igp'];
    const nh = fam === 'ipv4' ? this.spec.member.v4 : this.spec.member.v6;
    if (nh) args.push('nexthop', nh);
    const path = [...Array(r.prepend ?? 0).fill(this.spec.as)].join(' ');
    const set = r.asSet?.length ? `{${r.asSet.join(',')}}` : '';
    const asp = [path, set].filter(Boolean).join(' ');
    if (asp) args.push('aspath', asp);
    if (r.med !== undefined) args.push('med', String(r.med));
    if (r.communities?.length)
      args.push('community', r.communities.map(([a, b]) => `${a}:${b}`).join(','));
    if (r.largeCommunities?.length)
      args.push('large-community', r.largeCommunities.map((c) => c.join(':')).join(','));
    await this.gobgp(args);
  }

  async rib(family: FamilyName): Promise<RibRoute[]> {
    const out = await this.gobgp(['global', 'rib', '-a', family, '-j']);
    const j = JSON.parse(out || '{}') as Record<string, GoPath[]>;
    const res: RibRoute[] = [];
    for (const [prefix, paths] of Object.entries(j))
      for (const p of paths) res.push(goPath(prefix, p));
    return res;
  }

  async sessions(): Promise<SessionInfo[]> {
    const out = await this.gobgp(['neighbor', '-j']);
    const j = JSON.parse(out || '[]') as {
      conf?: { neighbor_address?: string };
      state?: { neighbor_address?: string; session_state?: number | string };
    }[];
    return j.map((n) => {
      const st = n.state?.session_state;
      return {
        neighbor: n.state?.neighbor_address ?? n.conf?.neighbor_address ?? '',
        state: String(st),
        established: st === 6 || st === 'established' || st === 'ESTABLISHED',
      };
    });
  }

  async lastError(neighbor: string): Promise<string> {
    const txt = await this.gobgp(['neighbor', neighbor]).catch(() => '');
    const log = readFileSync(`${this.lan.logDir}/${this.name}.log`, 'utf8');
    return [
      ...txt.split('\n').filter((l) => /notification|reset|shutdown|down/i.test(l)),
      ...log.split('\n').filter((l) => /notification|shutdown|Communication/i.test(l)),
    ].join('\n');
  }
}

interface GoPath {
  nlri?: { prefix?: string };
  attrs?: {
    type: number;
    as_paths?: { segment_type: number; asns: number[] }[];
    nexthop?: string;
    metric?: number;
    communities?: number[];
    value?: {
      asn?: number;
      local_data1?: number;
      local_data2?: number;
      ASN?: number;
      LocalData1?: number;
      LocalData2?: number;
    }[];
    nlri?: unknown;
  }[];
  'source-id'?: string;
  'neighbor-ip'?: string;
}

function goPath(prefix: string, p: GoPath): RibRoute {
  const r: RibRoute = {
    prefix: canonicalPrefix(prefix),
    nextHop: '',
    asPath: '',
    communities: [],
    largeCommunities: [],
  };
  for (const a of p.attrs ?? []) {
    if (a.type === 2)
      r.asPath = asPathText(
        (a.as_paths ?? []).map((s) => ({ type: s.segment_type, asns: s.asns })),
      );
    else if (a.type === 3 && a.nexthop) r.nextHop = canonicalIp(a.nexthop);
    else if (a.type === 4) r.med = a.metric ?? 0;
    else if (a.type === 8) r.communities = sortStrings((a.communities ?? []).map(communityText));
    else if (a.type === 14 && a.nexthop) r.nextHop = canonicalIp(a.nexthop);
    else if (a.type === 32)
      r.largeCommunities = sortStrings(
        (a.value ?? []).map(
          (v) =>
            `${v.asn ?? v.ASN}:${v.local_data1 ?? v.LocalData1}:${v.local_data2 ?? v.LocalData2}`,
        ),
      );
  }
  const nb = p['neighbor-ip'];
  if (nb && nb !== '<nil>' && nb !== '0.0.0.0' && nb !== '::') r.from = nb;
  return r;
}

// ------------------------------------------------------------------ OpenBGPD

export class OpenBgpd extends Daemon {
  get socket(): string {
    return `${this.dir}/bgpd.sock`;
  }

  config(): string {
    const s = this.spec;
    const l: string[] = [
      `AS ${s.as}`,
      `router-id ${s.routerId}`,
      'fib-update no',
      `socket "${this.socket}"`,
    ];
    for (const a of [s.member.v4, s.member.v6].filter(Boolean)) l.push(`listen on ${a}`);
    for (const r of s.routes ?? []) {
      const set: string[] = [];
      if (r.med !== undefined) set.push(`med ${r.med}`);
      for (const [a, b] of r.communities ?? []) set.push(`community ${a}:${b}`);
      for (const c of r.largeCommunities ?? []) set.push(`large-community ${c.join(':')}`);
      if (r.prepend) set.push(`prepend-self ${r.prepend}`);
      l.push(`network ${r.prefix}${set.length ? ` set { ${set.join(' ')} }` : ''}`);
    }
    for (const n of s.neighbors) {
      const fams = routeFamilies(n);
      l.push(
        `neighbor ${n.address} {`,
        `  remote-as ${n.as}`,
        `  local-address ${localAddressFor(s.member, n)}`,
        `  descr "${n.address}"`,
      );
      if (n.passive) l.push('  passive');
      if (n.holdTime !== undefined) l.push(`  holdtime ${n.holdTime}`);
      l.push(`  announce IPv4 ${fams.includes('ipv4') ? 'unicast' : 'none'}`);
      l.push(`  announce IPv6 ${fams.includes('ipv6') ? 'unicast' : 'none'}`);
      if (n.addPath) l.push('  announce add-path recv yes', '  announce add-path send all');
      if (n.gracefulRestart) l.push('  announce restart yes');
      else l.push('  announce restart no');
      l.push('}');
    }
    l.push('allow from any', 'allow to any');
    return `${l.join('\n')}\n`;
  }

  async start(): Promise<void> {
    const conf = `${this.dir}/bgpd.conf`;
    writeFileSync(conf, this.config());
    chmodSync(conf, 0o600);
    mkdirSync('/run/openbgpd', { recursive: true });
    this.child = this.lan.spawnIn(this.ns, 'bgpd', ['-d', '-f', conf], this.name);
    await waitFor(`${this.name}: bgpctl answers`, () =>
      this.bgpctl(['show', 'summary']).then(() => true),
    );
  }

  bgpctl(args: string[]): Promise<string> {
    return nsRun(this.ns, 'bgpctl', ['-s', this.socket, ...args]);
  }

  async rib(family: FamilyName): Promise<RibRoute[]> {
    const out = await this.bgpctl([
      '-j',
      'show',
      'rib',
      family === 'ipv4' ? 'inet' : 'inet6',
      'detail',
    ]);
    const j = JSON.parse(out) as { rib?: ObgpRoute[] };
    return (j.rib ?? []).map(obgpRoute);
  }

  async sessions(): Promise<SessionInfo[]> {
    const out = await this.bgpctl(['-j', 'show', 'neighbor']);
    const j = JSON.parse(out) as { neighbors?: { remote_addr?: string; state?: string }[] };
    return (j.neighbors ?? []).map((n) => ({
      neighbor: n.remote_addr ?? '',
      state: n.state ?? '',
      established: n.state === 'Established',
    }));
  }

  async lastError(neighbor: string): Promise<string> {
    const txt = await this.bgpctl(['show', 'neighbor', neighbor]);
    return txt
      .split('\n')
      .filter((l) => /error|shutdown|reason|Last/i.test(l))
      .join('\n');
  }
}

interface ObgpRoute {
  prefix: string;
  metric?: number;
  aspath?: string;
  exit_nexthop?: string;
  true_nexthop?: string;
  neighbor?: { remote_addr?: string; description?: string };
  med?: number;
  communities?: string[];
  large_communities?: string[];
}

function obgpRoute(r: ObgpRoute): RibRoute {
  const out: RibRoute = {
    prefix: canonicalPrefix(r.prefix),
    nextHop: canonicalIp(r.exit_nexthop ?? r.true_nexthop ?? ''),
    asPath: normaliseAsPath(r.aspath ?? ''),
    communities: sortStrings((r.communities ?? []).map(normaliseCommunity)),
    largeCommunities: sortStrings(r.large_communities ?? []),
  };
  const med = r.med ?? r.metric;
  if (med !== undefined) out.med = med;
  const nb = r.neighbor?.remote_addr;
  if (nb && nb !== '???' && nb !== '0.0.0.0' && nb !== '::' && r.neighbor?.description !== 'LOCAL')
    out.from = nb;
  return out;
}

// ------------------------------------------------------------------ ExaBGP

/**
 * ExaBGP announces its routes statically and prints every received message as
 * a JSON line through an API process (a shell `cat` into `${dir}/api.jsonl`);
 * its "RIB" is rebuilt from those lines (Adj-RIB-In, one route per prefix per
 * neighbour, last update wins), plus its own static routes (from undefined).
 */
export class ExaBgp extends Daemon {
  get apiFile(): string {
    return `${this.dir}/api.jsonl`;
  }

  config(): string {
    const s = this.spec;
    const l: string[] = ['process ixb-api {', `  run ${this.dir}/api.sh;`, '  encoder json;', '}'];
    for (const n of s.neighbors) {
      const local = localAddressFor(s.member, n);
      l.push(
        `neighbor ${n.address} {`,
        `  router-id ${s.routerId};`,
        `  local-address ${local};`,
        `  local-as ${s.as};`,
        `  peer-as ${n.as};`,
        '  group-updates false;',
      );
      if (n.passive) l.push('  passive true;');
      if (n.holdTime !== undefined) l.push(`  hold-time ${n.holdTime};`);
      const fams = routeFamilies(n);
      l.push('  family {', ...fams.map((f) => `    ${f} unicast;`), '  }');
      l.push('  capability {');
      if (n.addPath) l.push('    add-path send/receive;');
      if (n.gracefulRestart) l.push('    graceful-restart 120;');
      l.push('    route-refresh;', '  }');
      if (n.extendedNextHop) l.push('  nexthop {', '    ipv4 unicast ipv6;', '  }');
      l.push(
        '  api {',
        '    processes [ ixb-api ];',
        '    neighbor-changes;',
        // Not `notification`: ExaBGP 4.2.21 fails to print a NOTIFICATION with a
        // shutdown communication as JSON and resets the session; the reason
        // shows in the `state` down message instead.
        '    receive { parsed; update; open; }',
        '  }',
      );
      const routes = (s.routes ?? []).filter((r) => fams.includes(prefixFamily(r.prefix)));
      if (routes.length) {
        l.push('  static {');
        for (const r of routes) {
          const nh = prefixFamily(r.prefix) === 'ipv6' ? s.member.v6 : s.member.v4;
          const parts = [`route ${r.prefix} next-hop ${nh ?? 'self'}`, 'origin igp'];
          const asp = [...Array(1 + (r.prepend ?? 0)).fill(s.as)].join(' ');
          const set = r.asSet?.length ? ` ( ${r.asSet.join(' ')} )` : '';
          parts.push(`as-path [ ${asp}${set} ]`);
          if (r.med !== undefined) parts.push(`med ${r.med}`);
          if (r.communities?.length)
            parts.push(`community [ ${r.communities.map(([a, b]) => `${a}:${b}`).join(' ')} ]`);
          if (r.largeCommunities?.length)
            parts.push(
              `large-community [ ${r.largeCommunities.map((c) => c.join(':')).join(' ')} ]`,
            );
          l.push(`    ${parts.join(' ')};`);
        }
        l.push('  }');
      }
      l.push('}');
    }
    return `${l.join('\n')}\n`;
  }

  async start(): Promise<void> {
    const conf = `${this.dir}/exabgp.conf`;
    writeFileSync(conf, this.config());
    writeFileSync(
      `${this.dir}/api.sh`,
      `#!/bin/sh\n# keeps stdout open (ExaBGP treats its EOF as the process dying)\ncat >> ${this.apiFile}\n`,
    );
    chmodSync(`${this.dir}/api.sh`, 0o755);
    writeFileSync(this.apiFile, '');
    const s = this.spec;
    const binds = [s.member.v4, s.member.v6].filter(Boolean).join(' ');
    const listens = s.neighbors.some((n) => n.passive);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      'exabgp.daemon.user': 'root',
      'exabgp.daemon.daemonize': 'false',
      'exabgp.daemon.pid': `${this.dir}/exabgp.pid`,
      'exabgp.log.destination': `${this.dir}/daemon.log`,
      'exabgp.log.level': 'INFO',
      'exabgp.api.cli': 'false',
      'exabgp.api.ack': 'false',
      'exabgp.tcp.bind': listens ? binds : '',
      'exabgp.tcp.port': '179',
      'exabgp.tcp.delay': '0',
      'exabgp.api.respawn': 'false',
      'exabgp.reactor.speed': '0.1',
    };
    this.child = this.lan.spawnIn(this.ns, 'exabgp', [conf], this.name, env);
    await waitFor(
      `${this.name}: exabgp running`,
      () =>
        existsSync(`${this.dir}/exabgp.pid`) ||
        readFileSync(`${this.lan.logDir}/${this.name}.log`, 'utf8').length > 0,
      20_000,
    );
  }

  protected override pidFiles(): string[] {
    return [`${this.dir}/exabgp.pid`];
  }

  /** The JSON messages ExaBGP printed so far. */
  messages(): ExaMessage[] {
    if (!existsSync(this.apiFile)) return [];
    return readFileSync(this.apiFile, 'utf8')
      .split('\n')
      .filter((x) => x.startsWith('{'))
      .map((x) => JSON.parse(x) as ExaMessage);
  }

  async rib(family: FamilyName): Promise<RibRoute[]> {
    const rib = new Map<string, RibRoute>();
    const fam = `${family} unicast`;
    for (const r of this.spec.routes ?? []) {
      if (prefixFamily(r.prefix) !== family) continue;
      rib.set(`local ${r.prefix}`, {
        prefix: canonicalPrefix(r.prefix),
        nextHop: canonicalIp((family === 'ipv4' ? this.spec.member.v4 : this.spec.member.v6) ?? ''),
        // ExaBGP sends the configured AS path literally (see config()).
        asPath: normaliseAsPath(
          `${Array(1 + (r.prepend ?? 0))
            .fill(this.spec.as)
            .join(' ')} ${r.asSet?.length ? `{${r.asSet.join(',')}}` : ''}`,
        ),
        ...(r.med !== undefined ? { med: r.med } : {}),
        communities: sortStrings((r.communities ?? []).map(([a, b]) => `${a}:${b}`)),
        largeCommunities: sortStrings((r.largeCommunities ?? []).map((c) => c.join(':'))),
      });
    }
    for (const m of this.messages()) {
      const nb = m.neighbor?.address?.peer;
      if (m.type === 'state' && m.neighbor?.state === 'down' && nb) {
        for (const k of [...rib.keys()]) if (k.startsWith(`${nb} `)) rib.delete(k);
      }
      const u = m.neighbor?.message?.update;
      if (m.type !== 'update' || !u || !nb) continue;
      for (const w of u.withdraw?.[fam] ?? []) rib.delete(`${nb} ${exaNlri(w)}`);
      const a = u.attribute ?? {};
      for (const [nh, list] of Object.entries(u.announce?.[fam] ?? {})) {
        for (const n of list) {
          const r: RibRoute = {
            prefix: canonicalPrefix(exaNlri(n)),
            nextHop: canonicalIp(nh),
            asPath: exaAsPath(a['as-path']),
            communities: sortStrings((a.community ?? []).map(([x, y]) => `${x}:${y}`)),
            largeCommunities: sortStrings((a['large-community'] ?? []).map((c) => c.join(':'))),
            from: nb,
          };
          if (a.med !== undefined) r.med = a.med;
          rib.set(`${nb} ${r.prefix}`, r);
        }
      }
    }
    return [...rib.values()];
  }

  async sessions(): Promise<SessionInfo[]> {
    const st = new Map<string, string>();
    for (const m of this.messages()) {
      const nb = m.neighbor?.address?.peer;
      if (m.type === 'state' && nb && m.neighbor?.state) st.set(nb, m.neighbor.state);
    }
    return [...st].map(([neighbor, state]) => ({ neighbor, state, established: state === 'up' }));
  }

  async lastError(neighbor: string): Promise<string> {
    const n = canonicalIp(neighbor);
    const lines = this.messages()
      .filter(
        (m) =>
          (m.type === 'notification' || (m.type === 'state' && m.neighbor?.reason)) &&
          canonicalIp(m.neighbor?.address?.peer ?? '') === n,
      )
      .map((m) =>
        m.type === 'state'
          ? `state ${m.neighbor?.state}: ${m.neighbor?.reason}`
          : JSON.stringify(m.neighbor?.message?.notification ?? m.notification ?? m),
      );
    const log = existsSync(`${this.dir}/daemon.log`)
      ? readFileSync(`${this.dir}/daemon.log`, 'utf8')
      : '';
    return [
      ...lines,
      ...log.split('\n').filter((l) => l.includes(neighbor) && /notification|shutdown/i.test(l)),
    ].join('\n');
  }
}

export interface ExaMessage {
  type: string;
  neighbor?: {
    address?: { local?: string; peer?: string };
    state?: string;
    reason?: string;
    message?: {
      update?: {
        attribute?: {
          origin?: string;
          'as-path'?: unknown;
          med?: number;
          community?: [number, number][];
          'large-community'?: [number, number, number][];
        };
        announce?: Record<
          string,
          Record<string, (string | { nlri: string; 'path-information'?: string })[]>
        >;
        withdraw?: Record<string, (string | { nlri: string })[]>;
      };
      notification?: unknown;
    };
  };
  notification?: unknown;
}

function exaNlri(n: string | { nlri: string }): string {
  return typeof n === 'string' ? n : n.nlri;
}

function exaAsPath(p: unknown): string {
  // ExaBGP 4.2: "as-path": [ 65001, 65002 ] and, with sets, "as-set": [...] (separate key)
  // or [ 65001, [ 65002, 65003 ] ]; handle both shapes.
  if (!Array.isArray(p)) return typeof p === 'string' ? normaliseAsPath(p) : '';
  return p
    .map((x) => (Array.isArray(x) ? `{${[...x].sort((a, b) => a - b).join(',')}}` : String(x)))
    .join(' ');
}

// ------------------------------------------------------------------ factory

/** The launcher class for each kind; a test may override some (see lib/rs.ts). */
export type DaemonClasses = Record<DaemonSpec['kind'], new (lan: Lan, spec: DaemonSpec) => Daemon>;

export const DAEMON_CLASSES: DaemonClasses = {
  bird: Bird,
  frr: Frr,
  gobgp: GoBgp,
  openbgpd: OpenBgpd,
  exabgp: ExaBgp,
};

export function createDaemon(
  lan: Lan,
  spec: DaemonSpec,
  classes: DaemonClasses = DAEMON_CLASSES,
): Daemon {
  return new classes[spec.kind](lan, spec);
}

/** Starts a daemon built from spec and returns it once its CLI answers. */
export async function startDaemon(lan: Lan, spec: DaemonSpec): Promise<Daemon> {
  const d = createDaemon(lan, spec);
  await d.start();
  return d;
}
