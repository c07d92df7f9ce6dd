// Launchers for the BFD daemons the interop tests and the fixture capture run
// against: FRR bfdd (8.4, no zebra needed for single-hop peers with a local
// address) and BIRD 2's BFD protocol, each in a member namespace of a Lan, in
// the foreground (so Lan.destroy() kills them), with config, sockets and pid
// files in a private directory. Also: a tshark capture in a namespace and a
// reader for tshark's field output, and `ixrs bfd` started in a namespace.
//
// Needs root (namespaces). Nothing here touches system-wide daemons or paths.

import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Lan, type Member, waitFor } from './netns.ts';

export const FRR_BFDD = '/usr/lib/frr/bfdd';
export const BIRD = '/usr/sbin/bird';
/** Programs the BFD interop tests need, for requirePrograms(). */
export const BFD_PROGRAMS = [FRR_BFDD, 'vtysh', BIRD, 'birdc', 'tshark', 'nft'];

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The Node 24 that npm installed, and the ixrs entry point. */
export const NODE = join(REPO, 'node_modules/.bin/node');
export const IXRS = join(REPO, 'bin/ixrs.js');

/** A session as a daemon reports it, normalised. */
export interface DaemonSession {
  peer: string;
  local?: string;
  /** 'up' | 'down' | 'init' | 'admindown' */
  state: string;
}

function daemonDir(lan: Lan, name: string): string {
  const dir = join(lan.logDir, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(lan.logDir, 0o755);
  chmodSync(dir, 0o777);
  return dir;
}

function frrIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// FRR bfdd

export interface FrrPeer {
  peer: string;
  local: string;
  /** Desired Min TX and Required Min RX, ms (FRR default 300). */
  intervalMs?: number;
  multiplier?: number;
  passive?: boolean;
  shutdown?: boolean;
}

function frrPeerLines(p: FrrPeer): string[] {
  const lines = [` peer ${p.peer} local-address ${p.local}`];
  if (p.intervalMs !== undefined) {
    lines.push(`  receive-interval ${p.intervalMs}`, `  transmit-interval ${p.intervalMs}`);
  }
  if (p.multiplier !== undefined) lines.push(`  detect-multiplier ${p.multiplier}`);
  if (p.passive) lines.push('  passive-mode');
  lines.push(p.shutdown ? '  shutdown' : '  no shutdown', ' !');
  return lines;
}

export class FrrBfdd {
  readonly dir: string;
  readonly member: Member;
  readonly process: ChildProcess;

  constructor(lan: Lan, member: Member, peers: FrrPeer[], name = `frr-${member.name}`) {
    this.member = member;
    this.dir = daemonDir(lan, name);
    const conf = join(this.dir, 'bfdd.conf');
    writeFileSync(conf, ['bfd', ...peers.flatMap(frrPeerLines), '!', ''].join('\n'));
    const ids = frrIds();
    if (ids) chownSync(this.dir, ids.uid, ids.gid);
    this.process = lan.spawnIn(
      member.ns,
      FRR_BFDD,
      [
        '-f',
        conf,
        '--vty_socket',
        this.dir,
        '-z',
        join(this.dir, 'zserv.api'),
        '--bfdctl',
        join(this.dir, 'bfdd.sock'),
        '-i',
        join(this.dir, 'bfdd.pid'),
        '-P',
        '0',
        '--log',
        'stdout',
      ],
      name,
    );
  }

  /** Runs vtysh commands against this bfdd (vtysh -c ... -c ...). */
  vtysh(...commands: string[]): string {
    return execFileSync(
      'vtysh',
      ['--vty_socket', this.dir, ...commands.flatMap((c) => ['-c', c])],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }

  async ready(timeoutMs = 10_000): Promise<void> {
    await waitFor(
      'FRR bfdd vty',
      () => existsSync(join(this.dir, 'bfdd.vty')) && this.sessions().length >= 0,
      timeoutMs,
      100,
    );
  }

  /** `show bfd peers json`, normalised. */
  sessions(): DaemonSession[] {
    const raw = JSON.parse(this.vtysh('show bfd peers json')) as {
      peer: string;
      local?: string;
      status: string;
    }[];
    return raw.map((r) => ({
      peer: r.peer,
      local: r.local,
      state: r.status === 'shutdown' ? 'admindown' : r.status,
    }));
  }

  /** Changes a configured peer's settings at run time (starts a Poll Sequence when timers change). */
  configurePeer(p: FrrPeer): void {
    const lines = frrPeerLines(p)
      .map((l) => l.trim())
      .filter((l) => l !== '!');
    this.vtysh('configure terminal', 'bfd', ...lines);
  }
}

// ---------------------------------------------------------------------------
// BIRD

export type BirdAuth =
  | 'simple'
  | 'keyed md5'
  | 'keyed sha1'
  | 'meticulous keyed md5'
  | 'meticulous keyed sha1';

export interface BirdBfdOptions {
  routerId: string;
  neighbors: { peer: string; local: string }[];
  intervalMs?: number;
  /** TX interval while the session is not Up (BIRD default 1000). */
  idleTxMs?: number;
  multiplier?: number;
  passive?: boolean;
  auth?: { type: BirdAuth; password: string; id?: number };
}

function birdConfig(o: BirdBfdOptions, logFile: string): string {
  const iface: string[] = [];
  if (o.intervalMs !== undefined) {
    iface.push(`min rx interval ${o.intervalMs} ms;`, `min tx interval ${o.intervalMs} ms;`);
  }
  if (o.idleTxMs !== undefined) iface.push(`idle tx interval ${o.idleTxMs} ms;`);
  if (o.multiplier !== undefined) iface.push(`multiplier ${o.multiplier};`);
  if (o.passive) iface.push('passive yes;');
  if (o.auth) {
    iface.push(`authentication ${o.auth.type};`);
    iface.push(`password "${o.auth.password}" { id ${o.auth.id ?? 1}; };`);
  }
  return [
    `router id ${o.routerId};`,
    `log "${logFile}" all;`,
    'debug protocols { states };',
    'protocol device { scan time 1; }',
    'protocol bfd bfd1 {',
    `  interface "lan0" { ${iface.join(' ')} };`,
    ...o.neighbors.map((n) => `  neighbor ${n.peer} dev "lan0" local ${n.local};`),
    '}',
    '',
  ].join('\n');
}

export class BirdBfd {
  readonly dir: string;
  readonly member: Member;
  readonly process: ChildProcess;
  private readonly conf: string;
  private readonly sock: string;

  constructor(lan: Lan, member: Member, opts: BirdBfdOptions, name = `bird-${member.name}`) {
    this.member = member;
    this.dir = daemonDir(lan, name);
    this.conf = join(this.dir, 'bird.conf');
    this.sock = join(this.dir, 'bird.ctl');
    writeFileSync(this.conf, birdConfig(opts, join(this.dir, 'bird.log')));
    this.process = lan.spawnIn(
      member.ns,
      BIRD,
      ['-f', '-c', this.conf, '-s', this.sock, '-P', join(this.dir, 'bird.pid')],
      name,
    );
  }

  birdc(...args: string[]): string {
    return execFileSync('birdc', ['-s', this.sock, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  async ready(timeoutMs = 10_000): Promise<void> {
    await waitFor(
      'BIRD control socket',
      () => /ready/.test(this.birdc('show status')),
      timeoutMs,
      100,
    );
  }

  /** `show bfd sessions`, normalised. */
  sessions(): DaemonSession[] {
    const out: DaemonSession[] = [];
    for (const line of this.birdc('show bfd sessions').split('\n')) {
      const m = /^\s*([0-9a-fA-F:.]+)\s+(\S+)\s+(Up|Down|Init|AdminDown)\s/.exec(line);
      if (m) out.push({ peer: m[1]!, state: m[3]!.toLowerCase() });
    }
    return out;
  }

  /** Rewrites the config and runs `configure` (timer changes start a Poll Sequence). */
  reconfigure(opts: BirdBfdOptions): void {
    writeFileSync(this.conf, birdConfig(opts, join(this.dir, 'bird.log')));
    const out = this.birdc('configure');
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) {
      throw new Error(`bird configure: ${out}`);
    }
  }
}

/** Waits until a daemon reports the session to `peer` in `state`. */
export async function waitDaemonState(
  what: string,
  sessions: () => DaemonSession[],
  peer: string,
  state: string,
  timeoutMs = 15_000,
): Promise<void> {
  await waitFor(
    `${what}: session to ${peer} ${state}`,
    () => sessions().some((s) => s.peer === peer && s.state === state),
    timeoutMs,
    100,
  );
}

// ---------------------------------------------------------------------------
// tshark

export class Capture {
  readonly file: string;
  readonly process: ChildProcess;
  private started: Promise<void>;

  /**
   * ns: a member's namespace (or lan.switchNs, iface 'br0', to see the whole LAN);
   * filter: a capture filter (BFD and ICMP by default, 'tcp port 179' for BGP).
   */
  constructor(
    lan: Lan,
    ns: string,
    file: string,
    iface = 'lan0',
    name = `tshark-${iface}`,
    filter = 'udp or icmp or icmp6',
  ) {
    this.file = file;
    writeFileSync(file, '');
    chmodSync(file, 0o666);
    this.process = lan.spawnIn(ns, 'tshark', ['-i', iface, '-w', file, '-q', '-f', filter], name);
    this.started = new Promise((resolveStart, reject) => {
      let text = '';
      this.process.stderr?.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('Capturing on')) resolveStart();
      });
      this.process.once('exit', (code) => reject(new Error(`tshark exited (${code}): ${text}`)));
    });
    this.started.catch(() => undefined);
  }

  ready(timeoutMs = 15_000): Promise<void> {
    return Promise.race([
      this.started,
      new Promise<void>((_, reject) =>
        setTimeout(() => reject(new Error('tshark did not start')), timeoutMs).unref(),
      ),
    ]);
  }

  /** Stops the capture (SIGINT, so the file is complete) and waits for tshark to exit. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const p = this.process;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGINT');
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(t);
  }
}

/**
 * tshark -r FILE -Y FILTER -T fields -e F1 -e F2 ...: one array per packet,
 * one string per field (multiple occurrences joined by ',').
 */
export function tsharkFields(file: string, filter: string, fields: string[]): string[][] {
  const out = execFileSync(
    'tshark',
    [
      '-r',
      file,
      '-Y',
      filter,
      '-T',
      'fields',
      '-E',
      'occurrence=a',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 },
  );
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

// ---------------------------------------------------------------------------
// ixrs bfd

export interface IxrsEvent {
  time: string;
  peer: string;
  local: string;
  state: string;
  previous: string;
  diag: string;
  remoteDiag: string;
  remoteState?: string;
  detectMs: number;
  txMs?: number;
  remoteDiscriminator?: number;
  passive?: boolean;
  /** Date.now() when the line was read. */
  readAt: number;
}

/** `ixrs bfd --json` in a namespace, with its state-change lines collected. */
export class IxrsBfd {
  readonly process: ChildProcess;
  readonly events: IxrsEvent[] = [];
  readonly stderr: string[] = [];

  /**
   * Runs `ixrs bfd --json ARGS`; with `script`, runs `node SCRIPT ARGS` instead,
   * which must print the same JSON lines (for what the CLI has no option for).
   */
  constructor(lan: Lan, member: Member, args: string[], name: string, script?: string) {
    const argv = script === undefined ? [IXRS, 'bfd', '--json', ...args] : [script, ...args];
    this.process = lan.spawnIn(member.ns, NODE, argv, name);
    let buf = '';
    this.process.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim() === '') continue;
        try {
          this.events.push({
            ...(JSON.parse(line) as Omit<IxrsEvent, 'readAt'>),
            readAt: Date.now(),
          });
        } catch {
          this.stderr.push(`unparsed stdout: ${line}`);
        }
      }
    });
    this.process.stderr?.on('data', (d: Buffer) => this.stderr.push(d.toString()));
  }

  /** Current state of the session to `peer` (from the last line printed), or undefined. */
  state(peer: string): string | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      if (this.events[i]!.peer === peer) return this.events[i]!.state;
    }
    return undefined;
  }

  /** Waits for a line for `peer` with `state`, printed at index `from` or later. */
  async waitEvent(peer: string, state: string, from = 0, timeoutMs = 15_000): Promise<IxrsEvent> {
    return waitFor(
      `ixrs: session to ${peer} ${state}${this.stderr.length ? ` (stderr: ${this.stderr.join('')})` : ''}`,
      () => this.events.slice(from).find((e) => e.peer === peer && e.state === state),
      timeoutMs,
      10,
    );
  }

  /** SIGTERM (ixrs sends AdminDown), then waits for exit. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const p = this.process;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(t);
  }
}
