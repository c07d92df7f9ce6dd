import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { controlPacket, encode, State } from '../../src/bfd/codec.ts';
import { BfdManager, type BfdManagerOptions, type BfdStateEvent } from '../../src/bfd/manager.ts';
import type { UdpSocketFactory } from '../../src/bfd/transport.ts';

// Loopback only, a port of our own so parallel runs and real daemons on 3784
// are not disturbed.
const BASE = 20000 + ((process.pid * 7) % 20000);
let nextPort = BASE;
const port = () => nextPort++;

const open: BfdManager[] = [];
const sockets: dgram.Socket[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close({ adminDown: false })));
  for (const s of sockets.splice(0)) s.close();
});

async function manager(o: BfdManagerOptions): Promise<{ m: BfdManager; events: BfdStateEvent[] }> {
  const m = new BfdManager(o);
  const events: BfdStateEvent[] = [];
  m.subscribe((e) => events.push(e));
  await m.start();
  open.push(m);
  return { m, events };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function pair(intervalMs = 50, extra: Partial<BfdManagerOptions> = {}) {
  const p = port();
  const a = await manager({ local: '127.0.0.1', port: p, intervalMs, ...extra });
  const b = await manager({ local: '127.0.0.2', port: p, intervalMs, ...extra });
  a.m.addPeer('127.0.0.2');
  b.m.addPeer('127.0.0.1');
  await until(
    () => a.m.session('127.0.0.2')?.state === 'Up' && b.m.session('127.0.0.1')?.state === 'Up',
  );
  return { a, b, port: p };
}

describe('BFD manager over loopback (RFC 5881)', () => {
  it('RFC 5881 §4: two managers on 127.0.0.1 and 127.0.0.2 come Up', async () => {
    const { a, b } = await pair();
    expect(a.events.at(-1)).toMatchObject({ peer: '127.0.0.2', local: '127.0.0.1', state: 'Up' });
    expect(b.events.at(-1)).toMatchObject({ peer: '127.0.0.1', state: 'Up' });
    const s = a.m.session('127.0.0.2')!;
    expect(s.sourcePort).toBeGreaterThanOrEqual(49152);
    expect(s.sourcePort).toBeLessThanOrEqual(65535);
    // after the Poll at Up both sides run at 50 ms
    await until(() => !a.m.session('127.0.0.2')!.polling);
    expect(a.m.session('127.0.0.2')!.detectMs).toBe(150);
  });

  it('RFC 5880 §6.8.4: detects Down when the peer stops', async () => {
    const { a, b } = await pair();
    const t0 = Date.now();
    await b.m.close({ adminDown: false });
    await until(() => a.m.session('127.0.0.2')?.state === 'Down');
    const down = a.events.at(-1)!;
    expect(down).toMatchObject({
      state: 'Down',
      previous: 'Up',
      diag: 'control-detection-time-expired',
    });
    expect(down.at - t0).toBeLessThan(150 + 200);
  });

  it('RFC 5880 §6.8.16: removing a peer tells it AdminDown first', async () => {
    const { a, b } = await pair();
    a.m.removePeer('127.0.0.2');
    await until(() => b.m.session('127.0.0.1')?.state === 'Down');
    expect(b.events.at(-1)).toMatchObject({
      state: 'Down',
      diag: 'neighbor-signaled-session-down',
      remoteState: 'AdminDown',
      remoteDiag: 'administratively-down',
    });
    expect(a.m.session('127.0.0.2')).toBeUndefined();
  });

  it('RFC 5881 §4: each session sends from one source port in 49152-65535', async () => {
    const p = port();
    const sink = dgram.createSocket('udp4');
    sockets.push(sink);
    const ports = new Set<number>();
    sink.on('message', (_m, r) => ports.add(r.port));
    await new Promise<void>((r) => sink.bind(p, '127.0.0.9', r));
    const { m } = await manager({ local: '127.0.0.1', port: p, intervalMs: 1000 });
    m.addPeer('127.0.0.9');
    await until(() => m.session('127.0.0.9')!.txCount >= 2, 4000);
    await until(() => ports.size > 0);
    expect(ports.size).toBe(1);
    const [sp] = [...ports];
    expect(sp).toBeGreaterThanOrEqual(49152);
    expect(sp).toBeLessThanOrEqual(65535);
  });

  it('RFC 5880 §6.8.6: malformed packets are discarded and counted, the session stays Up', async () => {
    const { a, port: p } = await pair(100);
    const s = dgram.createSocket('udp4');
    sockets.push(s);
    await new Promise<void>((r) => s.bind(0, '127.0.0.3', r));
    const disc = a.m.session('127.0.0.2')!.localDiscriminator;
    const good = encode(
      controlPacket({ state: State.Up, myDiscriminator: 5, yourDiscriminator: disc }),
    );
    const badVersion = Uint8Array.from(good);
    badVersion[0] = 0x40;
    const badLength = Uint8Array.from(good);
    badLength[3] = 12;
    const zeroMult = Uint8Array.from(good);
    zeroMult[2] = 0;
    const unknown = encode(
      controlPacket({ state: State.Up, myDiscriminator: 5, yourDiscriminator: disc ^ 0x5a5a }),
    );
    const wrongSource = good; // right discriminator, wrong source address
    const send = (b: Uint8Array) => new Promise<void>((r) => s.send(b, p, '127.0.0.1', () => r()));
    for (const b of [badVersion, badLength, zeroMult, unknown, wrongSource]) await send(b);
    await until(() => (a.m.stats.rejected['no-session'] ?? 0) >= 2);
    expect(a.m.stats.rejected).toMatchObject({
      version: 1,
      length: 1,
      'detect-mult': 1,
      'no-session': 2,
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(a.m.session('127.0.0.2')!.state).toBe('Up');
    expect(a.events.filter((e) => e.state === 'Down')).toEqual([]);
  });

  it('a flood of junk packets (thousands per second) never brings a healthy session down', async () => {
    const { a, b, port: p } = await pair(100);
    const s = dgram.createSocket('udp4');
    sockets.push(s);
    await new Promise<void>((r) => s.bind(0, '127.0.0.3', r));
    const disc = a.m.session('127.0.0.2')!.localDiscriminator;
    let sent = 0;
    let x = 12345;
    const rnd = () => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x;
    };
    const junk = (): Uint8Array => {
      const k = rnd() % 4;
      if (k === 0) return Buffer.from(Array.from({ length: rnd() % 64 }, () => rnd() & 255));
      if (k === 1) {
        // well-formed Down packets from a non-allowed address: no session
        return encode(controlPacket({ myDiscriminator: (rnd() % 1000) + 1 }));
      }
      if (k === 2) {
        // the real discriminator but from the wrong address
        return encode(
          controlPacket({ state: State.Down, myDiscriminator: 7, yourDiscriminator: disc }),
        );
      }
      const b = encode(
        controlPacket({ state: State.Up, myDiscriminator: 9, yourDiscriminator: rnd() }),
      );
      b[0] = rnd() & 255;
      return b;
    };
    const end = Date.now() + 3000;
    await new Promise<void>((resolve) => {
      const tick = () => {
        if (Date.now() >= end) return resolve();
        for (let i = 0; i < 100; i++) {
          s.send(junk(), p, i % 2 === 0 ? '127.0.0.1' : '127.0.0.2');
          sent++;
        }
        setTimeout(tick, 20);
      };
      tick();
    });
    const rate = sent / 3;
    expect(rate).toBeGreaterThan(2000);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.m.session('127.0.0.2')!.state).toBe('Up');
    expect(b.m.session('127.0.0.1')!.state).toBe('Up');
    expect(a.events.filter((e) => e.state === 'Down')).toEqual([]);
    expect(b.events.filter((e) => e.state === 'Down')).toEqual([]);
    const rej = Object.values(a.m.stats.rejected).reduce((x, y) => x + (y ?? 0), 0);
    expect(rej).toBeGreaterThan(1000);
  });

  it('RFC 9468 style: passive sessions are created for allowed prefixes, up to a cap', async () => {
    const p = port();
    const b = await manager({
      local: '127.0.0.2',
      port: p,
      intervalMs: 50,
      allow: ['127.0.0.0/24'],
      maxPassive: 1,
    });
    const a1 = await manager({ local: '127.0.0.1', port: p, intervalMs: 50 });
    const a3 = await manager({ local: '127.0.0.3', port: p, intervalMs: 50 });
    const a9 = await manager({ local: '127.0.1.9', port: p, intervalMs: 50 });
    a1.m.addPeer('127.0.0.2');
    // B goes Up a packet after A (A's Up reaches B next): wait for both, not a race.
    await until(
      () =>
        a1.m.session('127.0.0.2')?.state === 'Up' &&
        b.m.session('127.0.0.1', '127.0.0.2')?.state === 'Up',
    );
    expect(b.m.session('127.0.0.1', '127.0.0.2')).toMatchObject({ state: 'Up', passive: true });
    expect(b.events.at(-1)).toMatchObject({ peer: '127.0.0.1', state: 'Up', passive: true });
    a3.m.addPeer('127.0.0.2'); // over the cap
    a9.m.addPeer('127.0.0.2'); // outside the allowed prefix
    await new Promise((r) => setTimeout(r, 1500));
    expect(b.m.sessions().length).toBe(1);
    expect(b.m.stats.passiveRefused).toBeGreaterThan(0);
    expect(a3.m.session('127.0.0.2')!.state).toBe('Down');
    expect(a9.m.session('127.0.0.2')!.state).toBe('Down');
  });

  /** Two managers on ::1 (two ports); A's local and peer written as `aText`. */
  async function v6pair(aText: string) {
    const p = port();
    const q = port();
    const a = await manager({ local: aText, port: p, peerPort: q, intervalMs: 50 });
    const b = await manager({ local: '::1', port: q, peerPort: p, intervalMs: 50 });
    a.m.addPeer(aText);
    b.m.addPeer('::1');
    await until(() => a.m.session('::1')?.state === 'Up' && b.m.session('::1')?.state === 'Up');
    return a;
  }

  it('RFC 5881 §4: IPv6 on ::1 comes Up', async () => {
    await v6pair('::1');
  });

  it('RFC 5952: IPv6 peers are canonicalised — a session added as 0:0:0:0:0:0:0:1 is ::1, packets from ::1 find it', async () => {
    const a = await v6pair('0:0:0:0:0:0:0:1');
    expect(a.m.session('0000::0001')?.state).toBe('Up');
    expect(a.events.at(-1)).toMatchObject({ peer: '::1', state: 'Up' });
  });

  it('RFC 5880 §6.8.3: timers changed on a running session via Poll, no false Down', async () => {
    const { a, b } = await pair(50);
    a.m.setTimers('127.0.0.2', { intervalMs: 200 });
    await until(() => {
      const s = b.m.session('127.0.0.1')!;
      return s.detectMs === 600;
    });
    await new Promise((r) => setTimeout(r, 800));
    expect(a.events.filter((e) => e.state === 'Down')).toEqual([]);
    expect(b.events.filter((e) => e.state === 'Down')).toEqual([]);
  });
});

describe('BFD transport seam (socket factory)', () => {
  it('RFC 5880 §6.8.4: a socket factory that drops one pair’s packets (a cut link, no root) — that pair goes Down, the other stays Up', async () => {
    const cut = new Set<string>();
    const factory: UdpSocketFactory = (type) => {
      const s = dgram.createSocket({ type, reuseAddr: false });
      const send = s.send.bind(s) as (...a: unknown[]) => void;
      (s as unknown as { send: (...a: unknown[]) => void }).send = (...args: unknown[]) => {
        let pair = '';
        try {
          pair = `${s.address().address}|${s.remoteAddress().address}`;
        } catch {
          // not connected yet
        }
        if (cut.has(pair)) {
          const cb = args.find((x) => typeof x === 'function') as ((e: null) => void) | undefined;
          cb?.(null);
          return;
        }
        send(...args);
      };
      return s;
    };
    const p = port();
    const a = await manager({
      local: '127.0.0.1',
      port: p,
      intervalMs: 50,
      socketFactory: factory,
    });
    const b = await manager({ local: '127.0.0.2', port: p, intervalMs: 50 });
    const c = await manager({ local: '127.0.0.3', port: p, intervalMs: 50 });
    a.m.addPeer('127.0.0.2');
    a.m.addPeer('127.0.0.3');
    b.m.addPeer('127.0.0.1');
    c.m.addPeer('127.0.0.1');
    const up = (m: BfdManager, peer: string) => m.session(peer)?.state === 'Up';
    await until(() => up(a.m, '127.0.0.2') && up(a.m, '127.0.0.3') && up(b.m, '127.0.0.1'));
    cut.add('127.0.0.1|127.0.0.2');
    // A's packets to B are lost: B detects it; B still reaches A, which hears
    // B's Down (RFC 5880 §6.8.6) and goes Down too. C never notices.
    await until(() => b.m.session('127.0.0.1')?.state === 'Down');
    await until(() => !up(a.m, '127.0.0.2'));
    expect(up(a.m, '127.0.0.3')).toBe(true);
    expect(up(c.m, '127.0.0.1')).toBe(true);
    cut.clear();
    await until(() => up(a.m, '127.0.0.2') && up(b.m, '127.0.0.1'));
  });
});
