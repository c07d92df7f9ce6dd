// The BGP speaker's transport seam: how it listens and connects. The default
// is node:net; a test or a loopback scenario passes another factory (for
// example a LinkCutter over node:net) to cut one pair of peers without root
// (no namespaces, no firewall rules).

import net from 'node:net';
import { canonicalAddress } from './prefix.ts';

/** What BgpSpeaker and BgpPeer need from the network (a subset of node:net). */
export interface BgpTransport {
  /** An outgoing TCP connection, as net.connect. */
  connect(opts: net.TcpNetConnectOpts): net.Socket;
  /** A listener calling `onSocket` for each incoming connection, as net.createServer. */
  createServer(onSocket: (socket: net.Socket) => void): net.Server;
}

/** The default: node:net. */
export const netTransport: BgpTransport = {
  connect: (opts) => net.connect(opts),
  createServer: (onSocket) => net.createServer(onSocket),
};

const canon = (a: string | undefined): string => canonicalAddress(a ?? '') ?? a ?? '';
const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/**
 * A transport over another (default node:net) whose links between two
 * addresses can be cut and restored, as a partition of the LAN would: a cut
 * destroys the connections between the pair, new connections between them
 * fail (outgoing: an error, as an unreachable host; incoming: closed at
 * once), every other pair is untouched. Addresses are compared canonically.
 */
export class LinkCutter implements BgpTransport {
  private readonly base: BgpTransport;
  private readonly cuts = new Set<string>();
  private readonly live = new Set<net.Socket>();

  constructor(base: BgpTransport = netTransport) {
    this.base = base;
  }

  /** Cuts the link between `a` and `b` (both directions). */
  cut(a: string, b: string): void {
    this.cuts.add(pairKey(canon(a), canon(b)));
    for (const s of this.live) if (this.isCut(s.localAddress, s.remoteAddress)) s.destroy();
  }

  /** Restores the link between `a` and `b`. */
  restore(a: string, b: string): void {
    this.cuts.delete(pairKey(canon(a), canon(b)));
  }

  isCut(a: string | undefined, b: string | undefined): boolean {
    return this.cuts.size > 0 && this.cuts.has(pairKey(canon(a), canon(b)));
  }

  connect(opts: net.TcpNetConnectOpts): net.Socket {
    const local = opts.localAddress;
    if (local !== undefined && this.isCut(local, opts.host)) {
      const s = new net.Socket();
      queueMicrotask(() =>
        s.destroy(Object.assign(new Error('link cut'), { code: 'EHOSTUNREACH' })),
      );
      return s;
    }
    const s = this.base.connect(opts);
    s.once('connect', () => {
      if (this.isCut(s.localAddress, s.remoteAddress)) s.destroy();
    });
    return this.track(s);
  }

  createServer(onSocket: (socket: net.Socket) => void): net.Server {
    return this.base.createServer((s) => {
      if (this.isCut(s.localAddress, s.remoteAddress)) {
        s.destroy();
        return;
      }
      onSocket(this.track(s));
    });
  }

  private track(s: net.Socket): net.Socket {
    this.live.add(s);
    s.once('close', () => this.live.delete(s));
    return s;
  }
}
