// RFC 5881 single-hop UDP transport: one receiving socket per local address
// on port 3784, and one sending socket per session bound to a source port in
// 49152-65535 held for the session's life, TTL / Hop Limit 255 (§5).
//
// Node cannot read the TTL of a received datagram, so the GTSM check of
// RFC 5881 §5 is enforced by the packet filter: see scripts/bfd-ttl.nft.

import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';

export const BFD_CONTROL_PORT = 3784;
export const SOURCE_PORT_MIN = 49152;
export const SOURCE_PORT_MAX = 65535;

export type Family = 'udp4' | 'udp6';

export function familyOf(address: string): Family {
  const bare = address.split('%')[0]!;
  return isIPv6(bare) ? 'udp6' : 'udp4';
}

/**
 * The BFD transport seam: makes the UDP sockets (default node:dgram). A test
 * or a loopback scenario passes another factory, for example one whose
 * sockets drop what one pair of addresses sends each other (a cut link)
 * without root.
 */
export type UdpSocketFactory = (type: Family) => dgram.Socket;

/** The default: node:dgram. */
export const dgramFactory: UdpSocketFactory = (type) =>
  dgram.createSocket({ type, reuseAddr: false });

export interface ReceivedDatagram {
  data: Buffer;
  address: string;
  port: number;
}

/** Listens on `local`:`port` and hands every datagram to `onPacket`. */
export class BfdReceiver {
  readonly local: string;
  readonly port: number;
  private readonly socket: dgram.Socket;
  errors = 0;
  /** Requested SO_RCVBUF in bytes. */
  recvBufferSize = 4 * 1024 * 1024;

  constructor(
    local: string,
    port: number,
    onPacket: (data: Buffer, address: string, port: number) => void,
    onError?: (err: Error) => void,
    factory: UdpSocketFactory = dgramFactory,
  ) {
    this.local = local;
    this.port = port;
    this.socket = factory(familyOf(local));
    this.socket.on('message', (msg, rinfo) => onPacket(msg, rinfo.address, rinfo.port));
    this.socket.on('error', (err) => {
      this.errors++;
      onError?.(err);
    });
  }

  /** SO_RCVBUF granted by the kernel (after start). */
  grantedRecvBufferSize(): number {
    try {
      return this.socket.getRecvBufferSize();
    } catch {
      return 0;
    }
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.socket.once('error', fail);
      this.socket.bind({ address: this.local, port: this.port, exclusive: true }, () => {
        this.socket.off('error', fail);
        // One socket takes every session's packets: a deep queue rides out
        // event-loop pauses (the kernel caps it at net.core.rmem_max).
        try {
          this.socket.setRecvBufferSize(this.recvBufferSize);
        } catch {
          // keep the default
        }
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/**
 * A session's sending socket: bound to `local` and a free source port in
 * [min, max], connected to peer:port, TTL 255. Packets handed over before the
 * bind completes wait (the newest few only).
 */
export class BfdSender {
  readonly local: string;
  readonly peer: string;
  readonly peerPort: number;
  sourcePort = 0;
  sendErrors = 0;
  private socket: dgram.Socket;
  private ready = false;
  private closed = false;
  private pending: Uint8Array[] = [];
  private readonly factory: UdpSocketFactory;
  private readonly onSent = (err: Error | null) => {
    if (err) this.sendErrors++;
  };

  constructor(
    local: string,
    peer: string,
    peerPort: number,
    range: readonly [number, number] = [SOURCE_PORT_MIN, SOURCE_PORT_MAX],
    factory: UdpSocketFactory = dgramFactory,
  ) {
    this.local = local;
    this.peer = peer;
    this.peerPort = peerPort;
    this.factory = factory;
    this.socket = factory(familyOf(local));
    // ICMP unreachable arrives as an error on a connected socket; a dead peer is
    // BFD's business, not a crash.
    this.socket.on('error', () => {
      this.sendErrors++;
    });
    this.bindFrom(range, 0);
  }

  private bindFrom(range: readonly [number, number], attempt: number): void {
    const [min, max] = range;
    const port = min + Math.floor(Math.random() * (max - min + 1));
    const onErr = (err: NodeJS.ErrnoException) => {
      if (this.closed) return;
      if (err.code === 'EADDRINUSE' && attempt < 64) {
        // A fresh socket per attempt: a failed bind leaves the old one unusable.
        this.retry(range, attempt + 1);
      } else {
        this.sendErrors++;
      }
    };
    this.socket.once('error', onErr);
    this.socket.bind({ address: this.local, port, exclusive: true }, () => {
      this.socket.off('error', onErr);
      if (this.closed) return;
      this.sourcePort = port;
      try {
        this.socket.setTTL(255); // RFC 5881 §5 (IPV6_UNICAST_HOPS on udp6)
      } catch {
        this.sendErrors++;
      }
      this.socket.connect(this.peerPort, this.peer, () => {
        if (this.closed) return;
        this.ready = true;
        const q = this.pending;
        this.pending = [];
        for (const b of q) this.send(b);
      });
    });
  }

  private retry(range: readonly [number, number], attempt: number): void {
    // Re-create the socket in place.
    this.socket = this.factory(familyOf(this.local));
    this.socket.on('error', () => {
      this.sendErrors++;
    });
    this.bindFrom(range, attempt);
  }

  send(bytes: Uint8Array, cb?: () => void): void {
    if (this.closed) return;
    if (!this.ready) {
      if (this.pending.length >= 4) this.pending.shift();
      this.pending.push(bytes);
      cb?.();
      return;
    }
    if (cb === undefined) {
      this.socket.send(bytes, this.onSent);
      return;
    }
    this.socket.send(bytes, (err) => {
      if (err) this.sendErrors++;
      cb();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}
