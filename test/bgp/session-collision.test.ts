// Connection collision (RFC 4271 §6.8) and error handling, against a scripted
// raw peer on loopback so that the order of events is deterministic.
import { once } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, KEEPALIVE } from '../../src/bgp/codec.ts';
import { Framer } from '../../src/bgp/framing.ts';
import { buildOpen } from '../../src/bgp/negotiate.ts';
import { type BgpPeer, BgpSpeaker, type PeerConfig, type PeerDown } from '../../src/bgp/speaker.ts';
import type { BgpMessage } from '../../src/bgp/types.ts';

const V4 = { afi: 1, safi: 1 };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A scripted peer end: decoded messages in arrival order. */
class Raw {
  readonly msgs: BgpMessage[] = [];
  closed = false;
  private readonly framer = new Framer();
  private waiters: (() => void)[] = [];
  readonly socket: net.Socket;
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) =>
      this.framer.push(c, (m) => {
        this.msgs.push(decodeMessage(m, { as4: true }));
        this.wake();
      }),
    );
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    cleanups.push(() => socket.destroy());
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  async until(pred: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timeout');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50).unref();
      });
    }
  }
  types(): string[] {
    return this.msgs.map((m) =>
      m.type === 'notification' ? `notification ${m.code}/${m.subcode}` : m.type,
    );
  }
  sendOpen(bgpId: number): void {
    const open = buildOpen({
      localAs: 64505,
      routerId: bgpId,
      peerAs: 64500,
      families: [V4],
      holdTime: 30,
    });
    this.socket.write(encodeMessage(open, { as4: false }));
  }
}

/** ixrs at 127.0.0.2 (BGP id 10.0.0.10, AS64500), active towards a raw listener at 127.0.0.5. */
async function setup(over: Partial<PeerConfig> = {}): Promise<{
  peer: BgpPeer;
  sp: BgpSpeaker;
  out: Raw;
  connectIn: () => Promise<Raw>;
}> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.5', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const sp = new BgpSpeaker({
    listen: [{ address: '127.0.0.2', port: 0 }],
    logger: pino({ level: process.env.IXRS_TEST_LOG ?? 'silent' }),
  });
  await sp.start();
  cleanups.push(() => sp.stop());
  const peer = sp.addPeer({
    localAs: 64500,
    routerId: 0x0a00000a,
    peerAddress: '127.0.0.5',
    port: (server.address() as net.AddressInfo).port,
    localAddress: '127.0.0.2',
    peerAs: 64505,
    families: [V4],
    holdTime: 30,
    fsm: { idleHoldTime: 60 },
    ...over,
  });
  const out = new Raw((await accepted)[0]);
  await out.until(() => out.msgs.length >= 1);
  expect(out.types()).toEqual(['open']);
  expect(peer.state).toBe('OpenSent');
  const connectIn = async () => {
    const s = net.connect({
      host: '127.0.0.2',
      port: sp.addresses()[0]!.port,
      localAddress: '127.0.0.5',
    });
    await once(s, 'connect');
    return new Raw(s);
  };
  return { peer, sp, out, connectIn };
}

describe('connection collision (RFC 4271 §6.8)', () => {
  it('RFC 4271 §6.8: remote BGP id higher -> the connection we initiated is closed with Cease 6/7', async () => {
    const { peer, out, connectIn } = await setup();
    const inb = await connectIn();
    inb.sendOpen(0x0a0000ff); // higher than ours
    await out.until(() => out.closed);
    expect(out.types()).toEqual(['open', 'notification 6/7']);
    await inb.until(() => inb.msgs.length >= 2);
    expect(inb.types()).toEqual(['open', 'keepalive']);
    inb.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
    expect(peer.negotiated?.peerBgpId).toBe(0x0a0000ff);
  });

  it('RFC 4271 §6.8: remote BGP id lower -> the new inbound connection is closed with Cease 6/7', async () => {
    const { peer, out, connectIn } = await setup();
    const inb = await connectIn();
    inb.sendOpen(0x0a000001); // lower than ours
    await inb.until(() => inb.closed);
    expect(inb.types()).toEqual(['notification 6/7']);
    out.sendOpen(0x0a000001);
    out.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
    expect(out.closed).toBe(false);
  });

  it('RFC 4271 §6.8: of two connections both initiated by the peer, the newer one is kept', async () => {
    const { peer, out, connectIn } = await setup();
    const first = await connectIn();
    first.sendOpen(0x0a0000ff);
    await out.until(() => out.closed); // our own connection lost (higher remote id)
    await first.until(() => first.msgs.length >= 2);
    const second = await connectIn();
    second.sendOpen(0x0a0000ff);
    await first.until(() => first.closed);
    expect(first.types()).toEqual(['open', 'keepalive', 'notification 6/7']);
    await second.until(() => second.msgs.length >= 2);
    second.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
  });

  it('RFC 4271 §6.8: a new connection colliding with an Established one is closed with Cease 6/7', async () => {
    const { peer, out, connectIn } = await setup();
    out.sendOpen(0x0a0000ff);
    out.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
    const inb = await connectIn();
    inb.sendOpen(0x0a0000ff);
    await inb.until(() => inb.closed);
    expect(inb.types()).toEqual(['notification 6/7']);
    expect(peer.state).toBe('Established');
  });
});

describe('errors on the wire', () => {
  it('RFC 4271 §6.1: a bad marker gets NOTIFICATION 1/1 and the connection is closed', async () => {
    const { connectIn } = await setup();
    const inb = await connectIn();
    const bad = KEEPALIVE.slice();
    bad[0] = 0;
    inb.socket.write(bad);
    await inb.until(() => inb.closed);
    expect(inb.types()).toEqual(['notification 1/1']);
  });

  it('RFC 4271 §6.1: a bad length in Established gets NOTIFICATION 1/2 and the session goes down', async () => {
    const { peer, out } = await setup();
    out.sendOpen(0x0a0000ff);
    out.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
    const down = once(peer, 'down') as Promise<[PeerDown]>;
    const bad = KEEPALIVE.slice();
    bad[17] = 18; // length 18 < 19
    out.socket.write(bad);
    const [d] = await down;
    expect([d.sent?.code, d.sent?.subcode]).toEqual([1, 2]);
    await out.until(() => out.closed);
    expect(out.types().at(-1)).toBe('notification 1/2');
  });

  it('RFC 4271 §6.2: hold time 2 in the OPEN gets NOTIFICATION 2/6', async () => {
    const { out } = await setup();
    const open = buildOpen({
      localAs: 64505,
      routerId: 5,
      peerAs: 64500,
      families: [V4],
      holdTime: 2,
    });
    out.socket.write(encodeMessage(open, { as4: false }));
    await out.until(() => out.closed);
    expect(out.types()).toEqual(['open', 'notification 2/6']);
  });

  it('RFC 9687 §3: a peer that stops reading is dropped when the send hold timer expires', async () => {
    const { peer, out } = await setup({ holdTime: 3, sendHoldTime: 2 });
    const open = buildOpen({
      localAs: 64505,
      routerId: 5,
      peerAs: 64500,
      families: [V4],
      holdTime: 3,
    });
    out.socket.write(encodeMessage(open, { as4: false }));
    out.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
    // The peer keeps sending KEEPALIVEs (our hold timer is fine) but reads nothing.
    out.socket.pause();
    const ka = setInterval(() => out.socket.write(KEEPALIVE), 500);
    cleanups.push(() => clearInterval(ka));
    const junk = new Uint8Array(64 * 1024); // never parsed: the peer does not read
    // Respect back-pressure, as the route server does: after a false, wait for
    // 'drain'; stop when it does not come (the kernel's buffers are full too).
    for (let i = 0; i < 10_000; i++) {
      if (peer.sendRaw(junk)) continue;
      const drained = await Promise.race([
        once(peer, 'drain').then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
      ]);
      if (!drained) break;
    }
    expect(peer.state).toBe('Established');
    const t0 = performance.now();
    const [d] = (await once(peer, 'down')) as [PeerDown];
    expect([d.sent?.code, d.sent?.subcode]).toEqual([8, 0]);
    expect(performance.now() - t0).toBeLessThan(6000);
  });

  it('RFC 4271 §8.1.2 Event 5: a peer reconnecting during our idle hold is taken, not refused', async () => {
    const { peer, out, connectIn } = await setup();
    out.sendOpen(0x0a0000ff);
    out.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
    const down = once(peer, 'down');
    out.socket.destroy(); // the peer restarts
    await down;
    expect(peer.state).toBe('Idle'); // idle hold is 60 s in this setup
    const inb = await connectIn();
    inb.sendOpen(0x0a0000ff);
    await inb.until(() => inb.msgs.length >= 2);
    expect(inb.types()).toEqual(['open', 'keepalive']);
    inb.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
  });

  it('RFC 4271 §4.4 / §8.2.2: UPDATEs alone restart the hold timer; silence then expires it (4/0)', async () => {
    const { peer, out } = await setup({ holdTime: 3 });
    const open = buildOpen({
      localAs: 64505,
      routerId: 5,
      peerAs: 64500,
      families: [V4],
      holdTime: 3,
    });
    out.socket.write(encodeMessage(open, { as4: false }));
    out.socket.write(KEEPALIVE);
    if (peer.state !== 'Established') await once(peer, 'established');
    // End-of-RIB UPDATEs (RFC 4724 §2) every 400 ms, never a KEEPALIVE, for 2 hold times.
    const eor = Uint8Array.from([...new Array(16).fill(0xff), 0, 23, 2, 0, 0, 0, 0]);
    let updates = 0;
    peer.on('update', () => updates++);
    const t = setInterval(() => out.socket.write(eor), 400);
    cleanups.push(() => clearInterval(t));
    await new Promise((r) => setTimeout(r, 6000));
    expect(peer.state).toBe('Established');
    expect(updates).toBeGreaterThanOrEqual(12);
    clearInterval(t);
    const t0 = performance.now();
    const [d] = (await once(peer, 'down')) as [PeerDown];
    expect(d.reason).toBe('hold timer expired');
    expect(performance.now() - t0).toBeLessThan(3500);
    await out.until(() => out.closed);
    expect(out.types().at(-1)).toBe('notification 4/0');
  });
});
