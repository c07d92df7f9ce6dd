// An IXP peering LAN made of network namespaces (the interop tests and
// `ixrs scenario run --mode netns`): one namespace per member
// (its router, and whatever else runs "on" it) and one for the switch, which
// holds a Linux bridge. Each member gets a veth `lan0` whose other end is a
// bridge port in the switch namespace. The data plane between two members is
// cut by an nftables rule (bridge family) in the switch namespace, which leaves
// their paths to every other member, the route server included, untouched.
//
// Needs root. Everything created is named `${prefix}${pid}...` and removed by
// destroy(), processes started through spawnIn() included.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';

export interface MemberSpec {
  name: string; // short, [a-z0-9]
  v4?: string; // address/len, e.g. 192.0.2.1/24
  v6?: string; // address/len, e.g. 2001:db8::1/64
}

export interface Member {
  name: string;
  ns: string;
  port: string; // bridge port name in the switch namespace
  v4?: string; // address without length
  v6?: string;
}

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function ip(...args: string[]): string {
  return sh('ip', args);
}

/** Run a command inside a namespace and return its stdout (throws on non-zero exit). */
export function nsExec(ns: string, cmd: string, args: string[], input?: string): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Throws (so the test fails, not skips) when a needed program is missing. */
export function requirePrograms(...names: string[]): void {
  requireProgramsFor('interop', 'the interop suite', names);
}

/** The same for `who` (e.g. 'ixrs scenario run --mode netns'), which `what` needs root for. */
export function requireProgramsFor(who: string, what: string, names: string[]): void {
  const missing = names.filter((n) => {
    try {
      sh('sh', ['-c', `command -v ${n}`]);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(
      `${who}: missing ${missing.join(', ')}; run 'sudo bash scripts/install-peers.sh' first`,
    );
  }
  if (!isRoot()) throw new Error(`${who}: ${what} needs root (network namespaces)`);
}

export class Lan {
  readonly prefix: string;
  readonly switchNs: string;
  readonly members = new Map<string, Member>();
  readonly logDir: string;
  private readonly children: ChildProcess[] = [];
  private cuts: [string, string][] = [];
  /** Every namespace created, the switch's first. */
  private readonly namespaces: string[] = [];

  /** prefix: area prefix from docs/contributing.md, e.g. 'ixb-' */
  constructor(prefix: string, logDir?: string) {
    this.prefix = `${prefix}${process.pid}`;
    this.switchNs = `${this.prefix}-sw`;
    this.logDir = logDir ?? `/tmp/${this.prefix}`;
    mkdirSync(this.logDir, { recursive: true });
    ip('netns', 'add', this.switchNs);
    this.namespaces.push(this.switchNs);
    try {
      this.setUpSwitch();
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  private setUpSwitch(): void {
    nsExec(this.switchNs, 'ip', ['link', 'set', 'lo', 'up']);
    nsExec(this.switchNs, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
    // No STP, no forwarding delay: ports forward at once.
    nsExec(this.switchNs, 'ip', [
      'link',
      'set',
      'br0',
      'type',
      'bridge',
      'stp_state',
      '0',
      'forward_delay',
      '0',
    ]);
    nsExec(this.switchNs, 'ip', ['link', 'set', 'br0', 'up']);
    nsExec(
      this.switchNs,
      'nft',
      ['-f', '-'],
      'table bridge ixcut {\n  chain cut {\n    type filter hook forward priority 0; policy accept;\n  }\n}\n',
    );
  }

  /** Adds a member namespace on the LAN. */
  add(spec: MemberSpec): Member {
    const ns = `${this.prefix}-${spec.name}`;
    const port = `p${this.members.size}`;
    ip('netns', 'add', ns);
    // Known to destroy() at once, even if configuring it fails below.
    this.namespaces.push(ns);
    // No IPv6 duplicate address detection in test namespaces: addresses are usable at once.
    for (const k of ['all', 'default']) {
      nsExec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${k}.accept_dad=0`]);
      nsExec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${k}.dad_transmits=0`]);
    }
    nsExec(ns, 'ip', ['link', 'set', 'lo', 'up']);
    ip(
      'link',
      'add',
      'name',
      'lan0',
      'netns',
      ns,
      'type',
      'veth',
      'peer',
      'name',
      port,
      'netns',
      this.switchNs,
    );
    nsExec(this.switchNs, 'ip', ['link', 'set', port, 'master', 'br0']);
    nsExec(this.switchNs, 'ip', ['link', 'set', port, 'up']);
    const member: Member = { name: spec.name, ns, port };
    if (spec.v4) {
      nsExec(ns, 'ip', ['addr', 'add', spec.v4, 'dev', 'lan0']);
      member.v4 = spec.v4.split('/')[0];
    }
    if (spec.v6) {
      nsExec(ns, 'ip', ['addr', 'add', spec.v6, 'dev', 'lan0', 'nodad']);
      member.v6 = spec.v6.split('/')[0];
    }
    nsExec(ns, 'ip', ['link', 'set', 'lan0', 'up']);
    this.members.set(spec.name, member);
    return member;
  }

  member(name: string): Member {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** Cuts the data plane between two members (both directions, or from a to b only), nothing else. */
  cut(a: string, b: string, oneWay = false): void {
    this.cuts.push([a, b]);
    if (!oneWay) this.cuts.push([b, a]);
    this.applyCuts();
  }

  /** Heals a cut made by cut() (both directions, or from a to b only). */
  heal(a: string, b: string, oneWay = false): void {
    this.cuts = this.cuts.filter(
      ([x, y]) => !((x === a && y === b) || (!oneWay && x === b && y === a)),
    );
    this.applyCuts();
  }

  private applyCuts(): void {
    const rules = ['flush chain bridge ixcut cut'];
    for (const key of new Set(this.cuts.map(([x, y]) => `${x}\n${y}`))) {
      const [pa, pb] = key.split('\n').map((n) => this.member(n).port);
      rules.push(`add rule bridge ixcut cut iifname "${pa}" oifname "${pb}" drop`);
    }
    nsExec(this.switchNs, 'nft', ['-f', '-'], `${rules.join('\n')}\n`);
  }

  /**
   * Starts a long-running process inside a member's namespace; stdout and stderr
   * go to `${logDir}/${logName}.log` (stdout can be read too; stdin is a pipe
   * with o.stdin). The process is killed by destroy().
   */
  spawnIn(
    ns: string,
    cmd: string,
    args: string[],
    logName: string,
    env?: NodeJS.ProcessEnv,
    o: { stdin?: boolean } = {},
  ): ChildProcess {
    const log = createWriteStream(`${this.logDir}/${logName}.log`);
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      stdio: [o.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
      detached: true, // own process group, so destroy() can kill it and its children
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.children.push(child);
    return child;
  }

  /** Kills the processes this Lan started and deletes its namespaces. */
  destroy(): void {
    for (const child of this.children) {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // Daemons that fork (bird, bgpd, exabgp) may have left their group: kill
    // whatever still runs in our namespaces.
    for (const m of this.namespaces.splice(0)) {
      try {
        const pids = ip('netns', 'pids', m).split('\n').filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone
          }
        }
      } catch {
        // namespace already gone
      }
      try {
        ip('netns', 'del', m);
      } catch {
        // already gone
      }
    }
    this.members.clear();
  }
}

/** Polls `check` until it returns a value other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
