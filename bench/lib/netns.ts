// Two network namespaces joined by a veth pair, for the route-server benchmark:
// `ixn-rsb<pid>-rs` (the route server, 10.77.0.1/16 on `rs0`) and
// `ixn-rsb<pid>-cl` (the load generator, every client address on `cl0`).
// Needed for BIRD: on the host loopback BIRD refuses direct neighbours
// ("Invalid remote address": 127/8 has host scope), and multihop sessions
// use recursive next hops, which BIRD does not allow with a `sorted` table
// (needed by `secondary`, its path hiding mitigation). ixrs runs in the same
// setup so both see the same path. Needs root.

import { execFileSync } from 'node:child_process';

import { clientAddress, rsAddress } from './scenario.ts';

function ip(args: string[], input?: string): void {
  execFileSync('ip', args, { input, stdio: ['pipe', 'ignore', 'pipe'] });
}

export class BenchNet {
  readonly rs: string;
  readonly cl: string;
  private alive = true;

  constructor(clients: number) {
    const base = `ixn-rsb${process.pid}`;
    this.rs = `${base}-rs`;
    this.cl = `${base}-cl`;
    try {
      ip(['netns', 'add', this.rs]);
      ip(['netns', 'add', this.cl]);
      ip(['link', 'add', 'rs0', 'netns', this.rs, 'type', 'veth', 'peer', 'cl0', 'netns', this.cl]);
      const batch: string[] = [];
      for (let c = 0; c < clients; c++)
        batch.push(`addr add ${clientAddress(c, 'netns')}/16 dev cl0`);
      ip(['-n', this.rs, 'addr', 'add', `${rsAddress('netns')}/16`, 'dev', 'rs0']);
      ip(['-n', this.cl, '-batch', '-'], `${batch.join('\n')}\n`);
      for (const [ns, dev] of [
        [this.rs, 'rs0'],
        [this.cl, 'cl0'],
      ] as const) {
        ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        ip(['-n', ns, 'link', 'set', dev, 'up']);
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** Command prefix running a program inside namespace `ns` (same PID: ip execs it). */
  static wrap(ns: string, cmd: string, args: string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', ns, cmd, ...args]];
  }

  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    for (const ns of [this.rs, this.cl]) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  }
}
