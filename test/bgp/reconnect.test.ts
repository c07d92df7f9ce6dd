// A passive speaker (the route server's side) against a scripted client on
// loopback: RFC 6608 FSM-error subcodes, and reconnect damping (issue 14):
// only sessions that end in errors or never reach Established are damped.
import { once } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, KEEPALIVE } from '../../src/bgp/codec.ts';
import { Framer } from '../../src/bgp/framing.ts';
import type { FsmConfig } from '../../src/bgp/fsm.ts';
import { buildOpen } from '../../src/bgp/negotiate.ts';
import { type BgpPeer, BgpSpeaker } from '../../src/bgp/speaker.ts';
import type { BgpMessage } from '../../src/bgp/types.ts';

const V4 = { afi: 1, safi: 1 };
const RS = '127.0.0.2';
const CLIENT = '127.0.0.7';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The client end: decoded messages in arrival order. */
class Client {
  readonly msgs: BgpMessage[] = [];
  closed = false;
  private readonly framer = new Framer();
  readonly socket: net.Socket;
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) =>
      this.framer.push(c, (m) => {
        this.msgs.push(decodeMessage(m, { as4: true }));
      }),
    );
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
    cleanups.push(() => socket.destroy());
  }
  async until(pred: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timeout; got ${this.types().join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  types(): string[] {
    return this.msgs.map((m) =>
      m.type === 'notification' ? `notification ${m.code}/${m.subcode}` : m.type,
    );
  }
  sendOpen(): void {
    const open = buildOpen({
      localAs: 64507,
      routerId: 0x0a000007,
      peerAs: 64500,
      families: [V4],
      holdTime: 30,
    });
    this.socket.write(encodeMessage(open, { as4: false }));
  }
  /** OPEN, then KEEPALIVE once ours came: Established. */
  async establish(peer: BgpPeer): Promise<void> {
    this.sendOpen();
    await this.until(() => this.msgs.length >= 2);
    expect(this.types().slice(0, 2)).toEqual(['open', 'keepalive']);
    this.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
  }
  /** The NOTIFICATION we got, then the connection closed. */
  async refusedWith(): Promise<string> {
    await this.until(() => this.closed);
    return this.types().join(', ');
  }
}

const UPDATE = Uint8Array.from([
  ...new Array(16).fill(0xff),
  0,
  23,
  2,
  0,
  0,
  0,
  0, // an End-of-RIB: valid UPDATE
]);

async function setup(fsm: Partial<FsmConfig> = {}) {
  const logs: { level: number; msg: string; [k: string]: unknown }[] = [];
  const sp = new BgpSpeaker({
    listen: [{ address: RS, port: 0 }],
    logger: pino({ level: 'info' }, { write: (s: string) => logs.push(JSON.parse(s)) }),
  });
  await sp.start();
  cleanups.push(() => sp.stop());
  const peer = sp.addPeer({
    localAs: 64500,
    routerId: 0x0a00000a,
    peerAddress: CLIENT,
    peerAs: 64507,
    families: [V4],
    holdTime: 30,
    passive: true,
    fsm,
  });
  const connect = async (): Promise<Client> => {
    const s = net.connect({ host: RS, port: sp.addresses()[0]!.port, localAddress: CLIENT });
    await once(s, 'connect');
    return new Client(s);
  };
  return { sp, peer, connect, logs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RFC 6608: FSM error subcodes on the wire', () => {
  it('RFC 6608 §4: an UPDATE where an OPEN is expected gets 5/1', async () => {
    const { connect } = await setup();
    const c = await connect();
    c.socket.write(UPDATE);
    expect(await c.refusedWith()).toBe('notification 5/1');
  });

  it('RFC 6608 §4: a KEEPALIVE where an OPEN is expected gets 5/1', async () => {
    const { connect } = await setup();
    const c = await connect();
    c.socket.write(KEEPALIVE);
    expect(await c.refusedWith()).toBe('notification 5/1');
  });

  it('RFC 6608 §4: an UPDATE in OpenConfirm (before the KEEPALIVE) gets 5/2', async () => {
    const { peer, connect } = await setup();
    const c = await connect();
    c.sendOpen();
    await c.until(() => c.msgs.length >= 2);
    expect(peer.state).toBe('OpenConfirm');
    c.socket.write(UPDATE);
    expect(await c.refusedWith()).toBe('open, keepalive, notification 5/2');
  });

  it('RFC 6608 §4: an OPEN in Established gets 5/3', async () => {
    const { peer, connect } = await setup();
    const c = await connect();
    await c.establish(peer);
    c.sendOpen();
    expect(await c.refusedWith()).toBe('open, keepalive, notification 5/3');
  });
});

describe('reconnect damping on a passive speaker', () => {
  it('a client that closes cleanly (Cease, or TCP close) and reconnects at once is accepted every time', async () => {
    // default idle hold (5 s): a refusal would show as Cease 6/5
    const { peer, connect, logs } = await setup();
    for (let i = 0; i < 5; i++) {
      const c = await connect();
      await c.establish(peer);
      const down = once(peer, 'down');
      if (i % 2 === 0) {
        const cease = {
          type: 'notification' as const,
          code: 6,
          subcode: 2,
          data: Uint8Array.of(0),
        };
        c.socket.end(encodeMessage(cease, { as4: true }));
      } else c.socket.destroy();
      await down;
      expect(peer.state).toBe('Idle');
      expect(peer.fsmState.damped).toBe(false);
    }
    expect(peer.fsmState.failures).toBe(0);
    expect(logs.some((l) => /refused/.test(l.msg))).toBe(false);
  });

  it('a client that sends garbage is refused until its idle hold ends, doubling per failure; the refusal is logged with its end', async () => {
    const { peer, connect, logs } = await setup({ idleHoldTime: 0.4, idleHoldMax: 1.6 });
    const holds: number[] = [];
    for (let i = 0; i < 4; i++) {
      const bad = await connect();
      bad.socket.write(new Uint8Array(19)); // no marker
      expect(await bad.refusedWith()).toBe('notification 1/1');
      expect(peer.state).toBe('Idle');
      expect(peer.fsmState.damped).toBe(true);
      const until = peer.dampedUntil()!.getTime();
      holds.push((until - Date.now()) / 1000);
      // a proper attempt at once is refused with Cease / Connection Rejected, logged with the time
      const again = await connect();
      again.sendOpen();
      expect(await again.refusedWith()).toBe('notification 6/5');
      const refusals = () =>
        logs.filter((l) => /connection refused: reconnect backoff/.test(l.msg));
      const log = refusals().at(-1)!;
      expect(log.level).toBe(40); // warn

      expect(Math.abs(Date.parse(log.until as string) - until)).toBeLessThan(50);
      expect(log.failures).toBe(i + 1);
      // the idle hold ends: Active, listening again
      const end = Date.now() + 5000;
      while (peer.state !== 'Active' && Date.now() < end) await sleep(10);
      expect(Date.now()).toBeGreaterThanOrEqual(until - 5);
    }
    // 0.4 s doubling per failure up to 1.6 s (less what the refusal took)
    const nominal = [0.4, 0.8, 1.6, 1.6];
    holds.forEach((h, i) => {
      expect(h).toBeLessThanOrEqual(nominal[i]! + 0.01);
      expect(h).toBeGreaterThan(nominal[i]! - 0.3);
    });
    // once the hold is over, it is accepted
    const ok = await connect();
    await ok.establish(peer);
  });

  it('a session that ends in an error from Established is damped; the session down log says until when', async () => {
    const { peer, connect, logs } = await setup({ idleHoldTime: 3 });
    const c = await connect();
    await c.establish(peer);
    c.socket.write(new Uint8Array(19)); // header error in Established: 1/1
    expect(await c.refusedWith()).toBe('open, keepalive, notification 1/1');
    expect(peer.fsmState.damped).toBe(true);
    const down = logs.find((l) => l.msg === 'session down')!;
    expect(typeof down.refuseConnectionsUntil).toBe('string');
    for (let i = 0; i < 2; i++) {
      const again = await connect();
      again.sendOpen();
      expect(await again.refusedWith()).toBe('notification 6/5');
    }
    // logged at warn once per period, then at info
    const refusals = logs.filter((l) => /connection refused: reconnect backoff/.test(l.msg));
    expect(refusals.map((l) => l.level)).toEqual([40, 30]);
  });
});
