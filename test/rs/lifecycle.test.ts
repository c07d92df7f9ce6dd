import { describe, expect, it } from 'vitest';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import type { MaxPrefixEvent, Timers } from '../../src/rs/server.ts';
import {
  addrOf,
  announce,
  attrs,
  client,
  endOfRib,
  FakePeer,
  info,
  lab,
  withdraw,
} from './helpers.ts';

const pfx = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.0/24`;
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => pfx(from + i));

class FakeTimers implements Timers {
  t = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, p] of [...this.pending]) {
      if (p.at <= this.t) {
        this.pending.delete(id);
        p.fn();
      }
    }
  }
  get armed(): number {
    return this.pending.size;
  }
}

describe('session loss and graceful restart', () => {
  it('RFC 4271 §9.1.3: without graceful restart, losing a session withdraws its paths', () => {
    const l = lab({ batch: 4 });
    const x = l.up(65010);
    l.up(65001);
    l.send(65001, announce(range(10), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    expect(x.rib.size).toBe(10);
    l.rs.sessionDown('AS65001');
    l.rs.flush();
    expect(x.rib.size).toBe(0);
    expect(l.rs.stats().prefixes).toBe(0);
    expect(l.rs.clientSummary('AS65001').acceptedByAfi).toEqual({ 1: 0 });
  });

  it('RFC 4724 §4.2: paths are kept as stale for the restart time, then removed', () => {
    const timers = new FakeTimers();
    const l = lab({ timers });
    const x = l.up(65010);
    l.up(65001);
    l.send(65001, announce(range(5), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.rs.sessionDown('AS65001', { gracefulRestart: { restartTime: 120 } });
    l.rs.flush();
    expect(x.rib.size).toBe(5);
    expect(l.rs.routes(pfx(0))[0]!.stale).toBe(true);
    expect(l.rs.sessions().find((s) => s.client === 'AS65001')!.state).toBe('stale');
    timers.advance(119_000);
    l.rs.flush();
    expect(x.rib.size).toBe(5);
    timers.advance(1_000);
    l.rs.flush();
    expect(x.rib.size).toBe(0);
  });

  it('RFC 4724 §4.2: on re-establishment, End-of-RIB from the restarting client removes the stale paths it did not refresh', () => {
    const timers = new FakeTimers();
    const l = lab({ timers });
    const x = l.up(65010);
    l.up(65001);
    const a = attrs({ asPath: [65001], nextHop: addrOf(65001) });
    l.send(65001, announce(range(6), a));
    l.rs.sessionDown('AS65001', { gracefulRestart: { restartTime: 120 } });
    l.rs.flush();
    const restarted = l.up(65001);
    expect(restarted.get(pfx(0))).toBeUndefined(); // its own paths are never sent back
    x.clear();
    l.send(65001, announce(range(4), a)); // refreshed, unchanged: nothing to send
    expect(x.updates()).toHaveLength(0);
    expect(l.rs.routes(pfx(0))[0]!.stale).toBe(false);
    expect(l.rs.routes(pfx(5))[0]!.stale).toBe(true);
    l.send(65001, endOfRib(1));
    expect(x.rib.size).toBe(4);
    expect(
      x
        .updates()
        .flatMap((u) => u.withdrawn.map((n) => n.prefix))
        .sort(),
    ).toEqual([pfx(4), pfx(5)].sort());
    expect(timers.armed).toBe(0);
  });

  it('RFC 4724 §4.2: a re-established session without Graceful Restart drops the stale paths at once', () => {
    const timers = new FakeTimers();
    const l = lab({ timers });
    const x = l.up(65010);
    l.up(65001);
    l.send(65001, announce(range(3), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.rs.sessionDown('AS65001', { gracefulRestart: { restartTime: 120 } });
    l.up(65001, { gracefulRestart: false });
    l.rs.flush();
    expect(x.rib.size).toBe(0);
  });
});

describe('max-prefix', () => {
  const limited = (action: 'shutdown' | 'restart' | 'block' | 'warning') => ({
    filtering: {
      authorizedNextHops: [],
      irrPrefixes: null,
      irrOrigins: null,
      maxPrefix: { ipv4: 5, action },
    },
  });

  it('RFC 4486 §4: shutdown/restart reports Cease subcode 1 to the session layer and takes no more input', () => {
    for (const action of ['shutdown', 'restart'] as const) {
      const events: MaxPrefixEvent[] = [];
      const l = lab({ onMaxPrefix: (e) => events.push(e) });
      const x = l.up(65010);
      l.up(65001, {}, limited(action));
      l.send(65001, announce(range(5), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
      expect(events).toHaveLength(0);
      l.send(65001, announce(range(3, 5), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
      expect(events).toEqual([
        { clientId: 'AS65001', session: `AS65001@${addrOf(65001)}`, afi: 1, limit: 5, action },
      ]);
      expect(x.rib.size).toBe(5);
      l.send(65001, announce([pfx(50)], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
      expect(x.rib.size).toBe(5);
      expect(events).toHaveLength(1);
    }
  });

  it("RFC 4486 §4: 'block' stops accepting new prefixes but keeps the session and updates to known ones", () => {
    const events: MaxPrefixEvent[] = [];
    const l = lab({ onMaxPrefix: (e) => events.push(e) });
    const x = l.up(65010);
    l.up(65001, {}, limited('block'));
    l.send(65001, announce(range(8), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    expect(x.rib.size).toBe(5);
    expect(l.rs.clientSummary('AS65001')).toMatchObject({ blocked: 3, acceptedByAfi: { 1: 5 } });
    // Updating a held prefix is fine; after a withdraw there is room again.
    l.send(65001, announce([pfx(0)], attrs({ asPath: [65001], med: 3, nextHop: addrOf(65001) })));
    expect(x.get(pfx(0))!.attrs.med).toBe(3);
    l.send(65001, withdraw([pfx(1)]));
    l.send(65001, announce([pfx(7)], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    expect(x.get(pfx(7))).toBeDefined();
    expect(events).toHaveLength(0);
  });

  it("RFC 4486 §4: 'warning' only logs and accepts", () => {
    const warned: string[] = [];
    const l = lab({ log: { warn: (_o, m) => warned.push(m), info: () => {} } });
    const x = l.up(65010);
    l.up(65001, {}, limited('warning'));
    l.send(65001, announce(range(8), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    expect(x.rib.size).toBe(8);
    expect(warned).toEqual(['max-prefix reached (warning only)']);
  });
});

describe('RFC 7606 outcomes', () => {
  it('RFC 7606 §2: treat-as-withdraw withdraws every NLRI of the message and passes nothing on', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    const a = attrs({ asPath: [65001], nextHop: addrOf(65001) });
    l.send(65001, announce(range(3), a));
    const bad: UpdateMessage = {
      ...announce(
        [pfx(0), pfx(1), pfx(9)],
        attrs({ asPath: [65001], med: 1, nextHop: addrOf(65001) }),
      ),
      errors: [
        {
          action: 'treat-as-withdraw',
          subcode: 11,
          data: new Uint8Array(0),
          reason: 'malformed AS_PATH',
        },
      ],
    };
    l.send(65001, bad);
    expect(x.get(pfx(0))).toBeUndefined();
    expect(x.get(pfx(1))).toBeUndefined();
    expect(x.get(pfx(9))).toBeUndefined();
    expect(x.from(pfx(2))).toBe(65001);
    expect(l.rs.clientSummary('AS65001').treatAsWithdraw).toBe(1);
  });

  it('RFC 7606 §2: treat-as-withdraw covers MP_REACH_NLRI too; attribute-discard keeps the route', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    const nh = { global: '2001:db8::1' };
    l.send(65001, announce(['2001:db8:1::/48'], attrs({ asPath: [65001] }), nh));
    l.send(65001, {
      ...announce(['2001:db8:1::/48'], attrs({ asPath: [65001], med: 9 }), nh),
      errors: [{ action: 'treat-as-withdraw', subcode: 1, data: new Uint8Array(0), reason: 'x' }],
    });
    expect(x.get('2001:db8:1::/48')).toBeUndefined();
    l.send(65001, {
      ...announce(['2001:db8:2::/48'], attrs({ asPath: [65001] }), nh),
      errors: [
        {
          action: 'attribute-discard',
          subcode: 1,
          data: new Uint8Array(0),
          reason: 'y',
          discarded: [6],
        },
      ],
    });
    expect(x.get('2001:db8:2::/48')).toBeDefined();
  });

  it('RFC 4271 §9.2: an IPv6 withdraw via MP_UNREACH_NLRI removes the route', () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    l.send(
      65001,
      announce(['2001:db8:1::/48'], attrs({ asPath: [65001] }), { global: '2001:db8::1' }),
    );
    l.send(65001, withdraw(['2001:db8:1::/48'], 2));
    expect(x.get('2001:db8:1::/48')).toBeUndefined();
  });
});

describe('scheduling', () => {
  it('docs/architecture.md: work runs in slices on the scheduler; idle() resolves when all output is written', async () => {
    const l = lab({ scheduler: { schedule: (fn) => setImmediate(fn) }, sliceMs: 1, batch: 16 });
    const x = l.up(65010);
    l.up(65001);
    for (let i = 0; i < 40; i++) {
      l.rs.receiveUpdate(
        'AS65001',
        announce(range(100, i * 100), attrs({ asPath: [65001], nextHop: addrOf(65001) })),
      );
    }
    expect(x.rib.size).toBe(0); // receiveUpdate only queues
    await l.rs.idle();
    expect(x.rib.size).toBe(4000);
    expect(l.rs.slices).toBeGreaterThan(1);
  });

  it('operator views: sessions() and clientSummary() report state and counters', () => {
    const l = lab();
    l.up(65010);
    l.up(65001);
    l.send(65001, announce(range(3), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    const s = l.rs.sessions().find((v) => v.client === 'AS65010')!;
    expect(s).toMatchObject({ state: 'up', group: 'as4', blocked: false, dumping: [], held: 3 });
    expect(l.rs.clientSummary('AS65010')).toMatchObject({ sentNlri: 3, sentUpdates: 1 });
    expect(l.rs.clientSummary('AS65001')).toMatchObject({ received: 3, accepted: 3 });
  });
});

describe('RFC 7606 AFI/SAFI disable', () => {
  it("RFC 7606 §2: AFI/SAFI disable withdraws the session's paths of that family and ignores its further input", () => {
    const l = lab();
    const x = l.up(65010);
    l.up(65001);
    const nh = { global: '2001:db8::1' };
    l.send(65001, announce(range(3), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.send(65001, announce(['2001:db8:1::/48', '2001:db8:2::/48'], attrs({ asPath: [65001] }), nh));
    l.send(65001, {
      ...announce(['2001:db8:3::/48'], attrs({ asPath: [65001] }), nh),
      errors: [
        { action: 'afi-safi-disable', subcode: 9, data: new Uint8Array(0), reason: 'bad MP_REACH' },
      ],
    });
    l.send(65001, announce(['2001:db8:4::/48'], attrs({ asPath: [65001] }), nh));
    expect([...x.rib.keys()].filter((k) => k.includes(':'))).toEqual([]);
    expect(x.rib.size).toBe(3); // IPv4 untouched
  });
});

describe('graceful restart per family', () => {
  it('RFC 4724 §4.2: stale paths of a family without the F bit in the new capability go at once', () => {
    const timers = new FakeTimers();
    const l = lab({ timers });
    const x = l.up(65010);
    l.up(65001);
    l.send(65001, announce(range(2), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.send(
      65001,
      announce(['2001:db8:1::/48'], attrs({ asPath: [65001] }), { global: '2001:db8::1' }),
    );
    l.rs.sessionDown('AS65001', { gracefulRestart: { restartTime: 120 } });
    l.up(65001, { gracefulRestartFamilies: new Set(['2/1']) });
    l.rs.flush();
    expect(x.get(pfx(0))).toBeUndefined();
    expect(x.get('2001:db8:1::/48')).toBeDefined();
    l.send(65001, endOfRib(2));
    expect(x.get('2001:db8:1::/48')).toBeUndefined();
    expect(timers.armed).toBe(0);
  });
});

describe('clients with several sessions', () => {
  it('RFC 7947 §2.3: a dual-stack client (one session per address) never gets its own paths on its other session', () => {
    const l = lab();
    const v4 = new FakePeer(l.wire);
    const v6 = new FakePeer(l.wire);
    l.rs.addClient(client(65001, ['192.0.2.1', '2001:db8::1']));
    l.rs.sessionUp('AS65001@192.0.2.1', info({ bgpId: 1 }), v4);
    l.rs.sessionUp('AS65001@2001:db8::1', info({ bgpId: 1 }), v6);
    const x = l.up(65010);
    l.rs.receiveUpdate(
      'AS65001@192.0.2.1',
      announce([pfx(1)], attrs({ asPath: [65001], nextHop: '192.0.2.1' })),
    );
    l.rs.receiveUpdate(
      'AS65001@2001:db8::1',
      announce(['2001:db8:1::/48'], attrs({ asPath: [65001] }), { global: '2001:db8::1' }),
    );
    l.rs.flush();
    expect(v4.rib.size + v6.rib.size).toBe(0);
    expect(x.rib.size).toBe(2);
    l.send(65010, announce([pfx(2)], attrs({ asPath: [65010], nextHop: addrOf(65010) })));
    expect(v4.get(pfx(2))).toBeDefined();
    expect(v6.get(pfx(2))).toBeDefined();
    expect(l.rs.ribCount('AS65001')).toBe(2);
    expect(
      l.rs
        .sessions()
        .filter((s) => s.client === 'AS65001')
        .map((s) => s.session),
    ).toEqual(['AS65001@192.0.2.1', 'AS65001@2001:db8::1']);
  });
});
