// A simulated datagram fabric for `ixrs scenario run --mode loopback`: the
// agents' BFD (the real BfdManager, run in-thread with this fabric as its
// socket factory, src/bfd/transport.ts UdpSocketFactory) sends and receives
// through it, and the scenario cuts, heals or pauses traffic between two
// addresses without root. Datagrams are delivered on the next turn of the
// event loop (setImmediate), in order, to the socket bound to the
// destination address and port; nothing else reaches the host's network.

import type dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Family, UdpSocketFactory } from '../bfd/transport.ts';

type Cb = (err?: Error | null) => void;

function later(fn: () => void): void {
  setImmediate(fn);
}

/** One simulated UDP socket: the subset of dgram.Socket the BFD transport uses. */
class SimSocket extends EventEmitter {
  private readonly fabric: Fabric;
  readonly type: Family;
  local: { address: string; port: number } | null = null;
  remote: { address: string; port: number } | null = null;
  closed = false;

  constructor(fabric: Fabric, type: Family) {
    super();
    this.fabric = fabric;
    this.type = type;
  }

  bind(o: { address: string; port: number }, cb?: () => void): this {
    const err = this.fabric.bind(this, o.address, o.port);
    later(() => {
      if (err !== null) this.emit('error', err);
      else cb?.();
    });
    return this;
  }

  connect(port: number, address: string, cb?: () => void): void {
    this.remote = { address, port };
    later(() => cb?.());
  }

  send(bytes: Uint8Array, cb?: Cb): void {
    if (this.closed || this.local === null || this.remote === null) {
      later(() => cb?.(new Error('not connected')));
      return;
    }
    this.fabric.deliver(this.local, this.remote, Buffer.from(bytes));
    later(() => cb?.(null));
  }

  close(cb?: () => void): this {
    if (!this.closed) {
      this.closed = true;
      this.fabric.unbind(this);
    }
    if (cb) later(cb);
    return this;
  }

  address(): { address: string; port: number; family: string } {
    return {
      address: this.local?.address ?? '',
      port: this.local?.port ?? 0,
      family: this.type === 'udp4' ? 'IPv4' : 'IPv6',
    };
  }

  setTTL(): number {
    return 255;
  }
  setRecvBufferSize(): void {}
  getRecvBufferSize(): number {
    return 4 * 1024 * 1024;
  }
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
}

export interface FabricStats {
  delivered: number;
  dropped: number;
}

export class Fabric {
  private readonly sockets = new Map<string, SimSocket>();
  /** `from>to` address pairs whose datagrams are dropped. */
  private readonly cuts = new Set<string>();
  /** Addresses that send nothing (a paused agent). */
  private readonly muted = new Set<string>();
  readonly stats: FabricStats = { delivered: 0, dropped: 0 };

  readonly factory: UdpSocketFactory = (type) =>
    new SimSocket(this, type) as unknown as dgram.Socket;

  /** Drop what `from` sends to `to` (one direction). */
  cut(from: string, to: string): void {
    this.cuts.add(`${from}>${to}`);
  }

  heal(from: string, to: string): void {
    this.cuts.delete(`${from}>${to}`);
  }

  mute(address: string, on: boolean): void {
    if (on) this.muted.add(address);
    else this.muted.delete(address);
  }

  isCut(from: string, to: string): boolean {
    return this.cuts.has(`${from}>${to}`) || this.muted.has(from);
  }

  bind(s: SimSocket, address: string, port: number): NodeJS.ErrnoException | null {
    const key = `${address}|${port}`;
    if (this.sockets.has(key)) {
      const e = new Error(`bind EADDRINUSE ${address}:${port}`) as NodeJS.ErrnoException;
      e.code = 'EADDRINUSE';
      return e;
    }
    s.local = { address, port };
    this.sockets.set(key, s);
    return null;
  }

  unbind(s: SimSocket): void {
    if (s.local === null) return;
    const key = `${s.local.address}|${s.local.port}`;
    if (this.sockets.get(key) === s) this.sockets.delete(key);
  }

  deliver(
    from: { address: string; port: number },
    to: { address: string; port: number },
    data: Buffer,
  ): void {
    if (this.isCut(from.address, to.address)) {
      this.stats.dropped++;
      return;
    }
    later(() => {
      const s = this.sockets.get(`${to.address}|${to.port}`);
      if (s === undefined || s.closed) {
        this.stats.dropped++;
        return;
      }
      this.stats.delivered++;
      s.emit('message', data, {
        address: from.address,
        port: from.port,
        family: s.type === 'udp4' ? 'IPv4' : 'IPv6',
        size: data.length,
      });
    });
  }
}
