// Helpers for the route-server interop tests (test/interop/rs*.test.ts): the
// real `ixrs run` process in a namespace of a test Lan, its configuration
// written into the Lan's log directory, `ixrs show --json` through the control
// socket, and the daemon launchers of daemons.ts with the few settings a route
// server client needs (a route server does not put its AS in the AS path, so
// first-AS / neighbor-AS enforcement is off, as IXP members configure it).

import { type ChildProcess, execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  createDaemon,
  DAEMON_CLASSES,
  type Daemon,
  type DaemonSpec,
  ExaBgp,
  type ExaMessage,
  Frr,
  OpenBgpd,
} from './daemons.ts';
import { type Lan, type Member, waitFor } from './netns.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
/** The Node 24 of the project (contributing.md: never the system node). */
export const NODE = `${ROOT}node_modules/.bin/node`;
export const IXRS = `${ROOT}bin/ixrs.js`;

// ------------------------------------------------------------------ clients

/**
 * FRR 8.4: a route server client must not insist on the neighbour AS first in
 * the path, and (like any IXP member) exports only its own routes: FRR would
 * otherwise send what it learnt from the route server back to it.
 */
class RsFrr extends Frr {
  override config(): string {
    return super
      .config()
      .replace(
        /^ neighbor (\S+) remote-as (\d+)$/gm,
        (line, addr: string) => `${line}\n no neighbor ${addr} enforce-first-as`,
      )
      .replace(
        /^ {2}neighbor (\S+) activate$/gm,
        (line, addr: string) => `${line}\n  neighbor ${addr} filter-list RS-OWN out`,
      )
      .replace(
        /^!\n/m,
        `!\nbgp as-path access-list RS-OWN seq 5 permit ^$\nbgp as-path access-list RS-OWN seq 10 permit ^${this.spec.as}(_${this.spec.as})*$\n!\n`,
      );
  }

  protected override pidFiles(): string[] {
    return [`${this.dir}/bgpd.pid`, `${this.dir}/zebra.pid`];
  }

  /**
   * With zebra this time: bgpd without zebra (-Z) knows no interface and so
   * withdraws every IPv6 route whose next hop carries a link-local address
   * ("sent a v6 LL next-hop and there's no peer interface information"), which
   * a route server passes on unchanged from BIRD and FRR clients.
   */
  override async start(): Promise<void> {
    writeFileSync(`${this.dir}/bgpd.conf`, this.config());
    writeFileSync(`${this.dir}/zebra.conf`, `hostname ${this.spec.name}-zebra\n`);
    const zserv = `${this.dir}/zserv.api`;
    // zebra insists on its vty group (frrvty), which root is not in: it runs as frr.
    chmodSync(this.dir, 0o777);
    this.lan.spawnIn(
      this.ns,
      '/usr/lib/frr/zebra',
      [
        '-f',
        `${this.dir}/zebra.conf`,
        '-i',
        `${this.dir}/zebra.pid`,
        '--vty_socket',
        this.dir,
        '-z',
        zserv,
        '-u',
        'frr',
        '-g',
        'frr',
        '-P',
        '0',
        '--log',
        `file:${this.dir}/zebra.log`,
      ],
      `${this.name}-zebra`,
    );
    await waitFor(`${this.name}: zebra socket`, () => existsSync(zserv), 20_000, 100);
    await this.startBgpd([]);
  }
}

/** OpenBGPD: `enforce neighbor-as` is on for eBGP by default; off for the route server. */
class RsOpenBgpd extends OpenBgpd {
  override config(): string {
    return super
      .config()
      .replace(/^ {2}remote-as (\d+)$/gm, (line) => `${line}\n  enforce neighbor-as no`);
  }
}

/**
 * ExaBGP 4.2 prints a 32-octet IPv6 next hop (global + link-local, RFC 2545
 * §3) as two next hops each announcing the NLRI; daemons.ts would keep the
 * last one (the link-local). The global one is the next hop of the route.
 */
class RsExaBgp extends ExaBgp {
  override messages(): ExaMessage[] {
    const out = super.messages();
    for (const m of out) {
      const ann = m.neighbor?.message?.update?.announce;
      if (ann === undefined) continue;
      for (const byNh of Object.values(ann)) {
        const nhs = Object.keys(byNh);
        if (nhs.length < 2) continue;
        for (const nh of nhs) if (/^fe80:/i.test(nh)) delete byNh[nh];
      }
    }
    return out;
  }
}

/** BIRD 2 (`enforce first as` is off by default) and GoBGP need nothing. */
export function createRsClient(lan: Lan, spec: DaemonSpec): Daemon {
  return createDaemon(lan, spec, {
    ...DAEMON_CLASSES,
    frr: RsFrr,
    openbgpd: RsOpenBgpd,
    exabgp: RsExaBgp,
  });
}

// ------------------------------------------------------------------ config

export interface RsClientSpec {
  asn: number;
  addresses: string[];
  description?: string;
  /** cfg.filtering.max_prefix of the client. */
  maxPrefix?: { limitIpv4?: number; limitIpv6?: number; action: 'shutdown' | 'restart' | 'block' };
}

export interface RsSpec {
  rsAs: number;
  routerId: string;
  clients: RsClientSpec[];
  controlSocket: string;
  logLevel?: string;
}

/**
 * general.yml for an IXP LAN test: documentation prefixes (so bogons are only
 * the default route and RFC 1918/loopback space), private ASNs allowed in AS
 * paths, prefixes up to /28 and /48, arouteserver's standard control
 * communities, listening on 0.0.0.0 and :: port 179.
 */
export function generalYaml(spec: RsSpec): string {
  return `# Generated by test/interop/lib/rs.ts for the route-server interop test.
cfg:
  rs_as: ${spec.rsAs}
  router_id: "${spec.routerId}"
  passive: True
  path_hiding: True
  filtering:
    next_hop:
      policy: "strict"
    ipv4_pref_len:
      min: 8
      max: 28
    ipv6_pref_len:
      min: 12
      max: 48
    reject_invalid_as_in_as_path: False
    irrdb:
      enforce_origin_in_as_set: False
      enforce_prefix_in_as_set: False
    max_prefix:
      action: "shutdown"
      general_limit_ipv4: 1000
      general_limit_ipv6: 1000
    reject_policy:
      policy: "tag"
  communities:
    do_not_announce_to_any:
      std: "0:rs_as"
      lrg: "rs_as:0:0"
    do_not_announce_to_peer:
      std: "0:peer_as"
      lrg: "rs_as:0:peer_as"
    announce_to_peer:
      std: "rs_as:peer_as"
      lrg: "rs_as:1:peer_as"
  ixrs:
    listen:
      - address: "0.0.0.0"
        port: 179
      - address: "::"
        port: 179
    control_socket: "${spec.controlSocket}"
    hold_time: 90
    log_level: "${spec.logLevel ?? 'info'}"
    bogons:
      - prefix: "0.0.0.0/0"
        exact: True
      - prefix: "::/0"
        exact: True
      - "10.0.0.0/8"
      - "127.0.0.0/8"
      - "172.16.0.0/12"
      - "192.168.0.0/16"
`;
}

export function clientsYaml(spec: RsSpec): string {
  const l = [
    '# Generated by test/interop/lib/rs.ts for the route-server interop test.',
    'clients:',
  ];
  for (const c of spec.clients) {
    l.push(`  - asn: ${c.asn}`, '    ip:');
    for (const a of c.addresses) l.push(`      - "${a}"`);
    if (c.description) l.push(`    description: "${c.description}"`);
    if (c.maxPrefix) {
      l.push('    cfg:', '      filtering:', '        max_prefix:');
      if (c.maxPrefix.limitIpv4 !== undefined)
        l.push(`          limit_ipv4: ${c.maxPrefix.limitIpv4}`);
      if (c.maxPrefix.limitIpv6 !== undefined)
        l.push(`          limit_ipv6: ${c.maxPrefix.limitIpv6}`);
      l.push(`          action: "${c.maxPrefix.action}"`);
    }
  }
  return `${l.join('\n')}\n`;
}

// ------------------------------------------------------------------ process

/** `node bin/ixrs.js ARGS` on the host; resolves stdout, rejects with stderr on failure. */
export function ixrsCli(args: string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      NODE,
      [IXRS, ...args],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`ixrs ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** A row of `ixrs show sessions --json` (src/ops/model.ts SessionRow), the fields used here. */
export interface ShowSession {
  client: string;
  asn: number;
  address: string;
  state: 'idle' | 'up' | 'stale';
  bgpState: string | null;
  families: string[];
  [k: string]: unknown;
}

/** A row of `ixrs show routes PREFIX --json` (RouteRow), the fields used here. */
export interface ShowRoute {
  prefix: string;
  from: string;
  fromAsn: number;
  fromAddress: string;
  rank: number | null;
  accepted: boolean;
  nextHop: string;
  asPath: string;
  asPathLength: number;
  med: number | null;
  communities: string[];
  largeCommunities: string[];
  best?: boolean;
  eligible?: boolean;
}

/** The route server process (`ixrs run`) in a member namespace. */
export class RouteServerProcess {
  readonly lan: Lan;
  readonly member: Member;
  readonly spec: RsSpec;
  readonly generalFile: string;
  readonly clientsFile: string;
  child: ChildProcess | undefined;

  constructor(lan: Lan, member: Member, spec: RsSpec) {
    this.lan = lan;
    this.member = member;
    this.spec = spec;
    this.generalFile = `${lan.logDir}/rs-general.yml`;
    this.clientsFile = `${lan.logDir}/rs-clients.yml`;
    writeFileSync(this.generalFile, generalYaml(spec));
    writeFileSync(this.clientsFile, clientsYaml(spec));
  }

  get logFile(): string {
    return `${this.lan.logDir}/ixrs.log`;
  }

  /** Starts `ixrs run` and waits until its control socket answers. */
  async start(): Promise<void> {
    await ixrsCli(['run', '--general', this.generalFile, '--clients', this.clientsFile, '--check']);
    this.child = this.lan.spawnIn(
      this.member.ns,
      NODE,
      [IXRS, 'run', '--general', this.generalFile, '--clients', this.clientsFile],
      'ixrs',
    );
    await waitFor(
      'ixrs control socket answers',
      async () => {
        if (this.child?.exitCode !== null) throw new Error(`ixrs exited: ${this.logTail()}`);
        if (!existsSync(this.spec.controlSocket)) return false;
        await this.sessions();
        return true;
      },
      20_000,
      200,
    );
  }

  show(args: string[]): Promise<string> {
    return ixrsCli(['show', ...args, '--socket', this.spec.controlSocket, '--json']);
  }

  async sessions(): Promise<ShowSession[]> {
    return JSON.parse(await this.show(['sessions'])) as ShowSession[];
  }

  async routes(prefix: string, client?: string): Promise<ShowRoute[]> {
    const args = ['routes', prefix, ...(client === undefined ? [] : ['--client', client])];
    const r = JSON.parse(await this.show(args)) as { routes: ShowRoute[] };
    return r.routes;
  }

  logTail(n = 6000): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').slice(-n) : '';
  }

  /** SIGTERM (graceful: Cease 6/2 to every client), then wait up to 5 s. */
  async stop(): Promise<void> {
    const c = this.child;
    if (c === undefined || c.exitCode !== null || c.pid === undefined) return;
    const exited = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      c.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      // gone
    }
    await exited;
  }
}
