// A virtual-clock network for two BFD sessions: delivers packets with a fixed
// delay, can cut either direction, and steps time deadline by deadline.

import { type ControlPacket, decode } from '../../src/bfd/codec.ts';
import type { BfdSession, SessionAction, StateAction } from '../../src/bfd/session.ts';

export interface Sent {
  from: 'a' | 'b';
  at: number;
  packet: ControlPacket;
}

export class Sim {
  now = 0;
  readonly sent: Sent[] = [];
  readonly events: (StateAction & { side: 'a' | 'b' })[] = [];
  cut = { a: false, b: false }; // true: packets from that side are lost
  private inflight: { at: number; to: 'a' | 'b'; bytes: Uint8Array }[] = [];

  readonly a: BfdSession;
  readonly b: BfdSession;
  readonly delay: number;

  constructor(a: BfdSession, b: BfdSession, delay = 1) {
    this.a = a;
    this.b = b;
    this.delay = delay;
  }

  start(): void {
    this.handle('a', this.a.start(this.now));
    this.handle('b', this.b.start(this.now));
  }

  handle(side: 'a' | 'b', acts: SessionAction[]): void {
    for (const x of acts) {
      if (x.type === 'send') {
        this.sent.push({ from: side, at: this.now, packet: x.packet });
        if (!this.cut[side]) {
          this.inflight.push({
            at: this.now + this.delay,
            to: side === 'a' ? 'b' : 'a',
            bytes: x.bytes,
          });
        }
      } else if (x.type === 'state') {
        this.events.push({ ...x, side });
      }
    }
  }

  /** Advance virtual time to `until`, processing every deadline on the way. */
  run(until: number): void {
    for (;;) {
      const nextPkt = this.inflight.reduce((m, p) => Math.min(m, p.at), Number.POSITIVE_INFINITY);
      const next = Math.min(nextPkt, this.a.nextDeadline(), this.b.nextDeadline());
      if (next > until) break;
      this.now = Math.max(this.now, next);
      if (nextPkt === next) {
        const i = this.inflight.findIndex((p) => p.at === next);
        const p = this.inflight.splice(i, 1)[0]!;
        const s = p.to === 'a' ? this.a : this.b;
        this.handle(p.to, s.receive(decode(p.bytes), this.now, p.bytes));
        continue;
      }
      if (this.a.nextDeadline() <= this.now) this.handle('a', this.a.timer(this.now));
      if (this.b.nextDeadline() <= this.now) this.handle('b', this.b.timer(this.now));
    }
    this.now = until;
  }
}
