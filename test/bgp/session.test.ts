// End-to-end sessions over loopback (127.0.0.0/8, ephemeral ports, no root).
import { once } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, KEEPALIVE } from '../../src/bgp/codec.ts';
import { Framer } from '../../src/bgp/framing.ts';
import { buildOpen, type Negotiated } from '../../src/bgp/negotiate.ts';
import { type BgpPeer, BgpSpeaker, type PeerConfig, type PeerDown } from '../../src/bgp/speaker.ts';
import type { BgpMessage, UpdateMessage } from '../../src/bgp/types.ts';

const V4 = { afi: 1, safi: 1 };
const LS = { afi: 16388, safi: 71 };
const FAST = { idleHoldTime: 0.2, idleHoldMax: 1, delayOpenTime: 1 };

const speakers: BgpSpeaker[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(speakers.splice(0).map((s) => s.stop()));
});

async function speaker(address: string | null): Promise<BgpSpeaker> {
  const s = new BgpSpeaker({
    listen: address ? [{ address, port: 0 }] : [],
    logger: pino({ level: process.env.IXRS_TEST_LOG ?? 'silent' }),
  });
  speakers.push(s);
  await s.start();
  return s;
}

function portOf(s: BgpSpeaker): number {
  return s.addresses()[0]!.port;
}

function cfg(over: Partial<PeerConfig> & Pick<PeerConfig, 'peerAddress'>): PeerConfig {
  return {
    localAs: 64500,
    routerId: 0x01010101,
    peerAs: 64501,
    families: [V4],
    holdTime: 9,
    connectRetryTime: 1,
    fsm: FAST,
    ...over,
  };
}

function waitEvent<T extends unknown[]>(
  em: NodeJS.EventEmitter,
  event: string,
  ms = 10_000,
): Promise<T> {
  return Promise.race([
    once(em, event) as Promise<T>,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms).unref(),
    ),
  ]);
}

async function established(p: BgpPeer): Promise<void> {
  if (p.state !== 'Established') await waitEvent(p, 'established');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pair of ixrs speakers: A on 127.0.0.1 (AS64500), B on 127.0.0.2 (AS64501). */
async function pair(
  aOver: Partial<PeerConfig> = {},
  bOver: Partial<PeerConfig> = {},
): Promise<{ A: BgpSpeaker; B: BgpSpeaker; a: BgpPeer; b: BgpPeer }> {
  const A = await speaker('127.0.0.1');
  const B = await speaker('127.0.0.2');
  const a = A.addPeer(
    cfg({ peerAddress: '127.0.0.2', localAddress: '127.0.0.1', port: portOf(B), ...aOver }),
  );
  const b = B.addPeer(
    cfg({
      localAs: 64501,
      peerAs: 64500,
      routerId: 0x02020202,
      peerAddress: '127.0.0.1',
      localAddress: '127.0.0.2',
      port: portOf(A),
      ...bOver,
    }),
  );
  return { A, B, a, b };
}

/** UPDATE 198.51.100.0/24, ORIGIN IGP, AS_PATH 64500 (4-octet), NEXT_HOP 127.0.0.1. */
const UPDATE = Uint8Array.from([
  ...new Array(16).fill(0xff),
  0,
  19 + 2 + 2 + 4 + 9 + 7 + 4,
  2,
  0,
  0, // withdrawn length
  0,
  20, // attributes length
  0x40,
  1,
  1,
  0, // ORIGIN IGP
  0x40,
  2,
  6,
  2,
  1,
  0,
  0,
  0xfb,
  0xf4, // AS_PATH SEQ [64500]
  0x40,
  3,
  4,
  127,
  0,
  0,
  1, // NEXT_HOP
  24,
  198,
  51,
  100,
]);

describe('BGP sessions over loopback', () => {
  it('RFC 4271 §8 / §6.8: two speakers, both active, establish exactly one session', async () => {
    const { a, b } = await pair();
    const downs: PeerDown[] = [];
    expect([a.config.passive, b.config.passive]).toEqual([undefined, undefined]);
    a.on('down', (d: PeerDown) => downs.push(d));
    b.on('down', (d: PeerDown) => downs.push(d));
    await Promise.all([established(a), established(b)]);
    expect(a.negotiated?.peerAs).toBe(64501);
    expect(b.negotiated?.peerBgpId).toBe(0x01010101);
    expect(a.negotiated?.holdTime).toBe(9);
    await sleep(1500);
    expect([a.state, b.state]).toEqual(['Established', 'Established']);
    // any collision loser was closed with Cease 6/7 before Established
    for (const d of downs) {
      expect(d.wasEstablished).toBe(false);
      expect([d.sent?.code ?? d.received?.code, d.sent?.subcode ?? d.received?.subcode]).toEqual([
        6, 7,
      ]);
    }
  });

  it('RFC 4271 §4.3: an UPDATE sent raw arrives decoded; RFC 8203: the shutdown message is seen by the other side', async () => {
    const { A, a, b } = await pair({ passive: true });
    await Promise.all([established(a), established(b)]);
    const got = waitEvent<[UpdateMessage]>(b, 'update');
    expect(a.sendRaw(UPDATE)).toBe(true);
    const [u] = await got;
    expect(u.nlri).toEqual([{ prefix: '198.51.100.0/24' }]);
    expect(u.attrs?.nextHop).toBe('127.0.0.1');
    expect(u.attrs?.asPath).toEqual([{ type: 2, asns: [64500] }]);

    const down = waitEvent<[PeerDown]>(b, 'down');
    await A.stop('maintenance until 18:00 UTC');
    const [d] = await down;
    expect(d.wasEstablished).toBe(true);
    expect(d.received?.code).toBe(6);
    expect(d.received?.subcode).toBe(2);
    expect(d.received?.shutdownMessage).toBe('maintenance until 18:00 UTC');
  });

  it('route refresh (RFC 2918 §3) reaches the other side', async () => {
    const { a, b } = await pair({ passive: true });
    await Promise.all([established(a), established(b)]);
    expect(a.negotiated?.routeRefresh).toBe(true);
    const got = waitEvent<[{ afi: number; safi: number; subtype: number }]>(b, 'route-refresh');
    a.sendRouteRefresh(1, 1);
    expect((await got)[0]).toMatchObject({ afi: 1, safi: 1, subtype: 0 });
  });

  it('RFC 4271 §6.2: a peer AS mismatch is refused with OPEN error 2/2', async () => {
    const { a, b } = await pair({ peerAs: 64999, passive: true });
    const [d] = await waitEvent<[PeerDown]>(b, 'down');
    expect([d.received?.code, d.received?.subcode]).toEqual([2, 2]);
    expect(a.state).not.toBe('Established');
  });

  it('RFC 4271 §6.2: a wrong peer AS gets 2/2 on every attempt (never Cease 6/5), logged once with the AS seen and expected', async () => {
    const lines: string[] = [];
    const B = new BgpSpeaker({
      listen: [{ address: '127.0.0.2', port: 0 }],
      logger: pino({ level: 'warn' }, { write: (l: string) => lines.push(l) }),
    });
    speakers.push(B);
    await B.start();
    B.addPeer(cfg({ peerAddress: '127.0.0.5', passive: true }));
    const open = buildOpen({
      localAs: 64666,
      routerId: 0x05050505,
      peerAs: 64500,
      families: [V4],
      holdTime: 9,
    });
    for (let i = 0; i < 5; i++) {
      const s = net.connect({ host: '127.0.0.2', port: portOf(B), localAddress: '127.0.0.5' });
      sockets.push(s);
      s.on('error', () => undefined);
      await waitEvent(s, 'connect');
      s.write(encodeMessage(open, { as4: false }));
      const f = new Framer();
      const msgs: BgpMessage[] = [];
      s.on('data', (c: Buffer) => {
        f.push(c, (m) => msgs.push(decodeMessage(m, { as4: true })));
      });
      await waitEvent(s, 'close');
      const n = msgs.find((m) => m.type === 'notification');
      expect(n && [n.code, n.subcode], `attempt ${i + 1}`).toEqual([2, 2]);
    }
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const bad = logged.filter((l) => l.seenAs === 64666);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ expectedAs: 64501, notification: '2/2' });
  });

  it('a connection from an unconfigured address is closed without an OPEN', async () => {
    const B = await speaker('127.0.0.2');
    B.addPeer(cfg({ peerAddress: '127.0.0.9', passive: true }));
    const refused = waitEvent<[string]>(B, 'refused');
    const s = net.connect({ host: '127.0.0.2', port: portOf(B), localAddress: '127.0.0.3' });
    sockets.push(s);
    let bytes = 0;
    s.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    s.on('error', () => undefined);
    await waitEvent(s, 'close');
    expect(bytes).toBe(0);
    expect((await refused)[0]).toBe('127.0.0.3');
  });

  it('RFC 4271 §6.5: a peer that goes silent gets NOTIFICATION 4/0 when the hold timer expires', async () => {
    const B = await speaker('127.0.0.2');
    const b = B.addPeer(cfg({ peerAddress: '127.0.0.4', passive: true, holdTime: 3 }));
    const s = net.connect({ host: '127.0.0.2', port: portOf(B), localAddress: '127.0.0.4' });
    sockets.push(s);
    await waitEvent(s, 'connect');
    const open = buildOpen({
      localAs: 64501,
      routerId: 0x04040404,
      peerAs: 64500,
      families: [V4],
      holdTime: 3,
    });
    s.write(encodeMessage(open, { as4: false }));
    const received: BgpMessage[] = [];
    const f = new Framer();
    s.on('data', (c: Buffer) =>
      f.push(c, (m) => void received.push(decodeMessage(m, { as4: true }))),
    );
    await waitEvent(s, 'data');
    s.write(KEEPALIVE);
    await established(b);
    const t0 = performance.now();
    const [d] = await waitEvent<[PeerDown]>(b, 'down', 6000);
    const elapsed = performance.now() - t0;
    expect(d.reason).toBe('hold timer expired');
    expect(elapsed).toBeGreaterThan(2500);
    expect(elapsed).toBeLessThan(4000);
    await waitEvent(s, 'close');
    expect(received.map((m) => m.type)).toContain('keepalive');
    const n = received.at(-1);
    expect(n?.type === 'notification' && [n.code, n.subcode]).toEqual([4, 0]);
  });

  it('RFC 4271 §4.4: the hold timer keeps time while the other side floods UPDATEs', async () => {
    const { a, b } = await pair(
      { holdTime: 3, highWaterMark: 64 * 1024 },
      { holdTime: 3, passive: true },
    );
    await Promise.all([established(a), established(b)]);
    expect(a.negotiated?.keepaliveTime).toBe(1);
    const downs: PeerDown[] = [];
    a.on('down', (d: PeerDown) => downs.push(d));
    b.on('down', (d: PeerDown) => downs.push(d));
    const keepalivesBefore = a.stats.messagesIn;
    let sent = 0;
    const t0 = performance.now();
    let drains = 0;
    a.on('drain', () => drains++);
    while (performance.now() - t0 < 5000 && a.state === 'Established') {
      let ok = true;
      for (let i = 0; i < 100_000 && ok; i++) {
        ok = a.sendRaw(UPDATE);
        sent++;
      }
      if (!ok) await waitEvent(a, 'drain');
      else await sleep(0); // let the loop breathe now and then
    }
    const secs = (performance.now() - t0) / 1000;
    // What is still in the sockets' buffers arrives soon (longer on a loaded machine).
    for (let i = 0; i < 100 && b.stats.updatesIn < sent; i++) await sleep(50);
    expect(downs).toEqual([]);
    expect([a.state, b.state]).toEqual(['Established', 'Established']);
    // B kept sending KEEPALIVEs (about one per second) while receiving the flood
    expect(a.stats.messagesIn - keepalivesBefore).toBeGreaterThanOrEqual(3);
    expect(b.stats.updatesIn).toBe(sent);
    expect(drains).toBeGreaterThan(0); // back-pressure was hit and released
    console.log(
      `flood: ${b.stats.updatesIn} UPDATEs received in ${secs.toFixed(1)} s (${Math.round(b.stats.updatesIn / secs)}/s), ${drains} drains`,
    );
  });

  it('input flow control: pauseInput holds back UPDATEs until resumeInput', async () => {
    const { a, b } = await pair();
    await Promise.all([established(a), established(b)]);
    let got = 0;
    b.on('update', () => got++);
    b.pauseInput();
    expect(b.inputPaused).toBe(true);
    for (let i = 0; i < 3; i++) a.sendRaw(UPDATE);
    await sleep(200);
    expect(got).toBe(0);
    b.resumeInput();
    expect(b.inputPaused).toBe(false);
    const end = Date.now() + 5000;
    while (got < 3 && Date.now() < end) await sleep(10);
    expect(got).toBe(3);
  });

  it('input flow control: a connection attached while paused starts paused (no Established until resumeInput)', async () => {
    const { a, b } = await pair();
    b.pauseInput();
    await sleep(1500);
    expect(b.state).not.toBe('Established');
    b.resumeInput();
    await Promise.all([established(a), established(b)]);
  });

  it('RFC 8654 §4: with Extended Message negotiated, a 7.5 kB UPDATE passes', async () => {
    const { a, b } = await pair(
      { extendedMessage: true },
      { extendedMessage: true, passive: true },
    );
    await Promise.all([established(a), established(b)]);
    expect(a.negotiated?.extendedMessage).toBe(true);
    const n = 1500;
    const len = 19 + 2 + 5 * n + 2;
    const big = new Uint8Array(len);
    big.fill(0xff, 0, 16);
    big[16] = len >> 8;
    big[17] = len & 0xff;
    big[18] = 2;
    big[19] = (5 * n) >> 8;
    big[20] = (5 * n) & 0xff;
    for (let i = 0; i < n; i++) big.set([32, 10, 0, i >> 8, i & 0xff], 21 + 5 * i);
    const got = waitEvent<[UpdateMessage]>(b, 'update');
    a.sendRaw(big);
    const [u] = await got;
    expect(u.withdrawn).toHaveLength(n);
    expect(u.withdrawn[1499]).toEqual({ prefix: '10.0.5.219/32' });
  });

  it('RFC 4271 §8: sessions over IPv6 loopback (::1)', async () => {
    const A = await speaker('::1');
    const B = await speaker('::1');
    const a = A.addPeer(cfg({ peerAddress: '0:0::1', port: portOf(B), passive: true }));
    const b = B.addPeer(
      cfg({ localAs: 64501, peerAs: 64500, routerId: 2, peerAddress: '::1', port: portOf(A) }),
    );
    await Promise.all([established(a), established(b)]);
    expect(a.address).toBe('::1');
  });

  it('rs-bfd-profile §3: a BGP-LS-only session from a client address is a separate reachability session, not a collision', async () => {
    const { A, B, a, b } = await pair({}, { acceptLsSession: true });
    await Promise.all([established(a), established(b)]);
    const lsSession = waitEvent<[BgpPeer, BgpPeer]>(B, 'ls-session');
    // The agent: same address and AS as the client, offers BGP-LS only.
    const C = await speaker(null);
    const agent = C.addPeer(
      cfg({
        peerAddress: '127.0.0.2',
        localAddress: '127.0.0.1',
        port: portOf(B),
        families: [LS],
        routerId: 0x01010102,
      }),
    );
    const [ls, owner] = await lsSession;
    expect(owner).toBe(b);
    await Promise.all([established(agent), established(ls)]);
    const n = ls.negotiated as Negotiated;
    expect([...n.families]).toEqual(['16388/71']);
    expect([...(agent.negotiated?.families ?? [])]).toEqual(['16388/71']);
    expect(B.getLsSession('127.0.0.1')).toBe(ls);
    await sleep(300);
    expect([a.state, b.state, ls.state]).toEqual(['Established', 'Established', 'Established']);
    // the reachability session goes away with the agent, the routing session stays
    const lsDown = waitEvent<[PeerDown]>(ls, 'down');
    await C.stop('agent restart');
    expect((await lsDown)[0].received?.shutdownMessage).toBe('agent restart');
    expect(b.state).toBe('Established');
    expect(B.getLsSession('127.0.0.1')).toBeUndefined();
    void A;
  });

  it('rs-bfd-profile §3 / RFC 4271 §6.8: without acceptLsSession a BGP-LS-only OPEN is an ordinary collision (Cease 6/7)', async () => {
    const { B, a, b } = await pair();
    await Promise.all([established(a), established(b)]);
    let lsSessions = 0;
    B.on('ls-session', () => lsSessions++);
    const C = await speaker(null);
    const agent = C.addPeer(
      cfg({
        peerAddress: '127.0.0.2',
        localAddress: '127.0.0.1',
        port: portOf(B),
        families: [LS],
        routerId: 0x01010102,
        fsm: { ...FAST, autoRestart: false },
      }),
    );
    const [d] = await waitEvent<[PeerDown]>(agent, 'down');
    expect([d.received?.code, d.received?.subcode]).toEqual([6, 7]);
    expect(lsSessions).toBe(0);
    expect([a.state, b.state]).toEqual(['Established', 'Established']);
  });

  it('listens on 0.0.0.0 and :: with the same port (IPv6-only for ::)', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const s = new BgpSpeaker({
      listen: [
        { address: '0.0.0.0', port },
        { address: '::', port },
      ],
      logger: pino({ level: 'silent' }),
    });
    speakers.push(s);
    await s.start();
    expect(s.addresses().map((a) => a.address)).toEqual(['0.0.0.0', '::']);
    expect(new Set(s.addresses().map((a) => a.port))).toEqual(new Set([port]));
  });
});
