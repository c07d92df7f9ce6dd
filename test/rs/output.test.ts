import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addrOf,
  announce,
  attrs,
  endOfRib,
  type FakePeer,
  lab,
  noExportTo,
  withdraw,
} from './helpers.ts';

const pfx = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.0/24`;
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => pfx(from + i));

describe('output packing and groups', () => {
  it('RFC 7947 §2.2 / docs/architecture.md: one UPDATE built per group and attribute set, same bytes to every member', () => {
    const l = lab();
    const g1 = [l.up(65011), l.up(65012), l.up(65013)];
    const g2 = [
      l.up(65021, { groupKey: 'as2', codec: { as4: false } }),
      l.up(65022, { groupKey: 'as2', codec: { as4: false } }),
    ];
    l.up(65001);
    const before = l.wire.updateCalls;
    l.send(65001, announce(range(100), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    // One bucket per group: 2 encodes for 5 receivers and 100 prefixes.
    expect(l.wire.updateCalls - before).toBe(2);
    for (const p of [...g1, ...g2]) {
      expect(p.rib.size).toBe(100);
      expect(p.updates()).toHaveLength(1);
    }
    expect(g1[1]!.updates()[0]).toBe(g1[0]!.updates()[0]); // the very same message
    expect(g2[0]!.updates()[0]!.opts).toEqual({ as4: false });
    expect(g1[0]!.updates()[0]!.opts).toEqual({ as4: true });
  });

  it('RFC 7947 §2.3: exceptions get their own UPDATE; everyone else shares one', () => {
    const l = lab();
    const peers = [l.up(65011), l.up(65012), l.up(65013)];
    l.up(65001);
    l.up(65002);
    l.send(65002, announce(range(10), attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    const before = l.wire.updateCalls;
    l.send(
      65001,
      announce(
        range(10),
        attrs({ asPath: [65001], nextHop: addrOf(65001), communities: [noExportTo(65013)] }),
      ),
    );
    // 65011 and 65012 (and 65002) switch to 65001's path; 65013 keeps 65002's: one encode.
    expect(l.wire.updateCalls - before).toBe(1);
    expect(peers[0]!.from(pfx(3))).toBe(65001);
    expect(peers[2]!.from(pfx(3))).toBe(65002);
    expect(l.peers.get(65002)!.from(pfx(3))).toBe(65001);
  });
});

describe('initial dump and End-of-RIB', () => {
  it('RFC 4724 §2: the initial update is followed by End-of-RIB for each family', () => {
    const l = lab({ batch: 7 });
    l.up(65001);
    l.send(65001, announce(range(50), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.send(
      65001,
      announce(['2001:db8:1::/48'], attrs({ asPath: [65001] }), { global: '2001:db8::1' }),
    );
    const x = l.up(65010);
    expect(x.rib.size).toBe(51);
    const eors = x.sent.filter((m) => m.kind === 'eor');
    expect(eors.map((m) => `${m.afi}/${m.safi}`).sort()).toEqual(['1/1', '2/1']);
    const lastUpdate4 = x.sent.findLastIndex((m) => m.kind === 'update' && m.afi === 1);
    const eor4 = x.sent.findIndex((m) => m.kind === 'eor' && m.afi === 1);
    expect(eor4).toBeGreaterThan(lastUpdate4);
    expect(l.rs.ribCount('AS65010')).toBe(51);
  });

  it('RFC 4724 §2: a client joining an empty route server gets End-of-RIB at once', () => {
    const l = lab();
    const x = l.up(65010, { families: new Set(['1/1']) });
    expect(x.sent).toEqual([{ kind: 'eor', afi: 1, safi: 1 }]);
  });

  it('RFC 4271 §9.1.3: changes during a dump reach the joining client exactly once and in order', () => {
    const l = lab({ batch: 10 });
    l.up(65001);
    l.up(65002);
    l.send(65001, announce(range(100), attrs({ asPath: [65001, 5], nextHop: addrOf(65001) })));
    const x = l.up(65010, {}, {});
    // l.up flushed already; redo with interleaving: new client, then changes before flushing.
    const y = new (x.constructor as new (w: typeof l.wire) => FakePeer)(l.wire);
    l.rs.addClient({ ...clientCfg(65020) });
    l.rs.sessionUp(
      'AS65020',
      { codec: { as4: true }, families: new Set(['1/1']), addPathTx: new Set(), groupKey: 'as4' },
      y,
    );
    // Run a little of the dump, then change prefixes on both sides of the cursor.
    for (let i = 0; i < 3; i++) (l.rs as unknown as { step(): boolean }).step();
    l.rs.receiveUpdate(
      'AS65002',
      announce([pfx(1), pfx(90)], attrs({ asPath: [65002], nextHop: addrOf(65002) })),
    );
    l.rs.receiveUpdate('AS65001', withdraw([pfx(2), pfx(95)]));
    l.rs.flush();
    expect(y.from(pfx(1))).toBe(65002);
    expect(y.from(pfx(90))).toBe(65002);
    expect(y.get(pfx(2))).toBeUndefined();
    expect(y.get(pfx(95))).toBeUndefined();
    expect(y.rib.size).toBe(98);
    expect(x.rib.size).toBe(98);
    expect(y.sent.at(-1)).toEqual({ kind: 'eor', afi: 1, safi: 1 });
    // Nothing withdrawn that the client never had.
    for (const u of y.updates())
      for (const w of u.withdrawn) expect([pfx(2), pfx(95)]).toContain(w.prefix);
  });
});

describe('shared initial dumps', () => {
  it('docs/architecture.md: sessions of one group joining a dump under way share its walk, then lap; each gets its view exactly once, End-of-RIB last', () => {
    const l = lab({ batch: 8 });
    l.up(65001);
    l.up(65002);
    l.send(65001, announce(range(120), attrs({ asPath: [65001, 5], nextHop: addrOf(65001) })));
    l.send(65002, announce(range(80, 20), attrs({ asPath: [65002], nextHop: addrOf(65002) })));
    const step = () => (l.rs as unknown as { step(): boolean }).step();
    const joiners = new Map<number, FakePeer>();
    const join = (asn: number) => joiners.set(asn, upUnflushed(l, asn));
    // Two sessions up together, two more joining at different points of their walk,
    // changes on both sides of the cursors meanwhile.
    join(65010);
    join(65011);
    for (let i = 0; i < 4; i++) step();
    join(65012);
    for (let i = 0; i < 3; i++) step();
    l.rs.receiveUpdate(
      'AS65002',
      announce([pfx(1), pfx(110)], attrs({ asPath: [65002], nextHop: addrOf(65002) })),
    );
    l.rs.receiveUpdate('AS65001', withdraw([pfx(2), pfx(119)]));
    for (let i = 0; i < 2; i++) step();
    join(65013);
    l.rs.receiveUpdate('AS65002', withdraw([pfx(50)]));
    l.rs.flush();
    for (const [, p] of joiners) {
      expect(p.rib.size).toBe(118);
      expect(p.from(pfx(1))).toBe(65002);
      expect(p.from(pfx(110))).toBe(65002);
      expect(p.from(pfx(50))).toBe(65001);
      expect(p.from(pfx(60))).toBe(65002);
      expect(p.get(pfx(2))).toBeUndefined();
      expect(p.get(pfx(119))).toBeUndefined();
      expect(p.sent.at(-1)).toEqual({ kind: 'eor', afi: 1, safi: 1 });
      expect(p.sent.filter((m) => m.kind === 'eor')).toHaveLength(1);
      // Nothing withdrawn that the client never had, no prefix announced twice unchanged.
      const seen = new Map<string, string>();
      for (const u of p.updates()) {
        for (const w of u.withdrawn) {
          expect(seen.has(w.prefix)).toBe(true);
          seen.delete(w.prefix);
        }
        for (const n of u.nlri) {
          const k = JSON.stringify(u.attrs);

          expect(seen.get(n.prefix)).not.toBe(k);
          seen.set(n.prefix, k);
        }
      }
    }
  });

  it('docs/architecture.md: sessions of one group that come up together are dumped with one encoding', () => {
    const encodesFor = (joining: number[]): number => {
      const l = lab({ batch: 8 });
      l.up(65001);
      l.send(65001, announce(range(60), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
      l.send(65001, announce(range(30, 30), attrs({ asPath: [65001, 7], nextHop: addrOf(65001) })));
      const before = l.rs.stats().encodes;
      const peers = joining.map((asn) => upUnflushed(l, asn));
      l.rs.flush();
      for (const p of peers) expect(p.rib.size).toBe(60);
      return l.rs.stats().encodes - before;
    };
    const one = encodesFor([65010]);
    expect(one).toBeGreaterThan(0);
    expect(encodesFor([65010, 65011, 65012, 65013])).toBe(one);
  });
});

/** A session of client `asn` up in group 'as4' (IPv4), nothing run yet (l.up flushes). */
function upUnflushed(l: ReturnType<typeof lab>, asn: number): FakePeer {
  const Peer = l.peers.values().next().value!.constructor as new (w: typeof l.wire) => FakePeer;
  const p = new Peer(l.wire);
  l.rs.addClient(clientCfg(asn));
  l.rs.sessionUp(
    `AS${asn}`,
    { codec: { as4: true }, families: new Set(['1/1']), addPathTx: new Set(), groupKey: 'as4' },
    p,
  );
  return p;
}

function clientCfg(asn: number) {
  return {
    id: `AS${asn}`,
    asn,
    addresses: [addrOf(asn)],
    description: '',
    passive: false,
    addPath: false,
    filtering: { authorizedNextHops: [], irrPrefixes: null, irrOrigins: null },
  };
}

describe('route refresh', () => {
  it('RFC 2918 §4: a ROUTE-REFRESH re-sends the client its whole view, without BoRR/EoRR', () => {
    const l = lab();
    l.up(65001);
    l.send(65001, announce(range(20), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    const x = l.up(65010);
    x.clear();
    l.rs.routeRefresh('AS65010', 1, 1);
    l.rs.flush();
    expect(x.updates().flatMap((u) => u.nlri)).toHaveLength(20);
    expect(x.sent.some((m) => m.kind !== 'update')).toBe(false);
  });

  it('RFC 7313 §4: with enhanced route refresh the view is framed by BoRR and EoRR', () => {
    const l = lab();
    l.up(65001);
    l.send(65001, announce(range(20), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    const x = l.up(65010, { enhancedRouteRefresh: true });
    x.clear();
    l.rs.routeRefresh('AS65010', 1, 1);
    l.rs.flush();
    expect(x.sent[0]).toEqual({ kind: 'rr', afi: 1, safi: 1, subtype: 1 });
    expect(x.sent.at(-1)).toEqual({ kind: 'rr', afi: 1, safi: 1, subtype: 2 });
    expect(x.updates().flatMap((u) => u.nlri)).toHaveLength(20);
  });
});

describe('ADD-PATH send', () => {
  it('RFC 7911 §3: a client with ADD-PATH send gets every eligible path, each with its own path id', () => {
    const l = lab();
    const ap = l.up(65010, { addPathTx: new Set(['1/1']), groupKey: 'as4-ap' });
    const plain = l.up(65011);
    l.up(65001);
    l.up(65002);
    l.up(65003);
    const P = '203.0.113.0/24';
    l.send(65001, announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    l.send(
      65003,
      announce(
        [P],
        attrs({ asPath: [65003, 9], nextHop: addrOf(65003), communities: [noExportTo(65010)] }),
      ),
    );
    expect(ap.rib.size).toBe(2); // 65003's path is filtered for 65010
    const ids = [...ap.rib.keys()];
    expect(new Set(ids).size).toBe(2);
    expect(ids.every((k) => /#\d+$/.test(k))).toBe(true);
    expect(plain.rib.size).toBe(1);
    // Withdrawing the best removes exactly its path id.
    ap.clear();
    l.send(65001, withdraw([P]));
    expect(ap.updates().flatMap((u) => u.withdrawn)).toHaveLength(1);
    expect(ap.updates().flatMap((u) => u.nlri)).toHaveLength(0);
    expect(ap.rib.size).toBe(1);
    expect([...ap.rib.values()][0]!.attrs.asPath[0]!.asns[0]).toBe(65002);
    expect(plain.from(P)).toBe(65002);
    // A late ADD-PATH joiner gets both remaining eligible paths in its dump.
    const late = l.up(65020, { addPathTx: new Set(['1/1']), groupKey: 'as4-ap' });
    expect(late.rib.size).toBe(2);
    expect(l.rs.ribCount('AS65020')).toBe(2);
  });

  it('RFC 7911 §3: a path replaced by its client (implicit withdraw) keeps its path id toward ADD-PATH receivers', () => {
    const l = lab();
    const ap = l.up(65010, { addPathTx: new Set(['1/1']), groupKey: 'as4-ap' });
    l.up(65001);
    l.up(65002);
    const P = '203.0.113.0/24';
    l.send(65001, announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    l.send(65002, announce([P], attrs({ asPath: [65002, 9], nextHop: addrOf(65002) })));
    const before = new Map([...ap.rib].map(([k, r]) => [r.attrs.asPath[0]!.asns[0], k]));
    expect(before.size).toBe(2);
    ap.clear();
    l.send(65001, announce([P], attrs({ asPath: [65001], nextHop: addrOf(65001), med: 50 })));
    expect(ap.updates().flatMap((u) => u.withdrawn)).toHaveLength(0);
    expect(ap.rib.size).toBe(2);
    expect(ap.rib.get(before.get(65001)!)!.attrs.med).toBe(50);
    expect(ap.rib.get(before.get(65002)!)!.attrs.med).toBeUndefined();
  });
});

describe('back-pressure', () => {
  it('docs/architecture.md: a blocked sink gets nothing more until drain, then converges without buffering', () => {
    const l = lab({ batch: 5 });
    l.up(65001);
    l.up(65002);
    l.send(65001, announce(range(40), attrs({ asPath: [65001, 7], nextHop: addrOf(65001) })));
    const x = l.up(65010);
    x.writable = false;
    l.send(65002, announce(range(20), attrs({ asPath: [65002], nextHop: addrOf(65002) })));
    const writesWhileBlocked = x.writes;
    l.send(65002, withdraw(range(10)));
    l.send(65001, withdraw(range(5)));
    expect(x.writes).toBe(writesWhileBlocked);
    expect(l.rs.sessions().find((s) => s.client === 'AS65010')!.blocked).toBe(true);
    x.drain();
    l.rs.flush();
    expect(x.rib.size).toBe(35);
    for (let i = 5; i < 10; i++) expect(x.from(pfx(i))).toBe(65001);
    for (let i = 10; i < 20; i++) expect(x.from(pfx(i))).toBe(65002);
    expect(x.get(pfx(0))).toBeUndefined();
  });

  it('docs/architecture.md: a dump stops at back-pressure and resumes where it stopped', () => {
    const l = lab({ batch: 10 });
    l.up(65001);
    l.send(65001, announce(range(100), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    const x = new (l.up(65009).constructor as new (w: typeof l.wire) => FakePeer)(l.wire);
    x.writable = false;
    l.rs.addClient(clientCfg(65010));
    l.rs.sessionUp(
      'AS65010',
      { codec: { as4: true }, families: new Set(['1/1']), addPathTx: new Set(), groupKey: 'as4' },
      x,
    );
    l.rs.flush();
    expect(x.rib.size).toBe(10);
    x.drain();
    l.rs.flush();
    expect(x.rib.size).toBe(100);
    expect(x.sent.at(-1)).toEqual({ kind: 'eor', afi: 1, safi: 1 });
  });
});

describe('convergence (property)', () => {
  it('RFC 7947 §2.3: after any sequence of changes, blocking and NHIB reports, every client holds exactly its best paths', () => {
    const op = fc.oneof(
      fc.record({
        k: fc.constant('ann' as const),
        from: fc.nat(4),
        p: fc.nat(7),
        len: fc.nat(3),
        hide: fc.option(fc.nat(4)),
      }),
      fc.record({ k: fc.constant('wd' as const), from: fc.nat(4), p: fc.nat(7) }),
      fc.record({ k: fc.constant('block' as const), who: fc.nat(4), on: fc.boolean() }),
      fc.record({
        k: fc.constant('nh' as const),
        who: fc.nat(4),
        of: fc.nat(4),
        down: fc.boolean(),
      }),
      fc.record({ k: fc.constant('step' as const), n: fc.nat(3) }),
      fc.record({ k: fc.constant('join' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.nat(4), (ops, lateIdx) => {
        const l = lab({ batch: 3 });
        const asns = [65001, 65002, 65003, 65004, 65005];
        const model = new Map<string, { from: number; len: number; hide: number | null }>();
        const down = new Set<string>();
        const peers: FakePeer[] = [];
        asns.forEach((a, i) => {
          if (i !== lateIdx) peers[i] = l.up(a, { bgpId: a });
          else l.rs.addClient(clientCfg(a));
        });
        const step = () => (l.rs as unknown as { step(): boolean }).step();
        let late = false;
        for (const o of ops) {
          if (o.k === 'join') {
            if (!late) peers[lateIdx] = lab2up(l, asns[lateIdx]!);
            late = true;
          } else if (o.k === 'ann') {
            const from = asns[o.from]!;
            if (o.from === lateIdx && !late) continue;
            const hide = o.hide === null ? null : asns[o.hide]!;
            const a = attrs({
              asPath: [from, ...new Array<number>(o.len).fill(9)],
              nextHop: addrOf(from),
              communities: hide === null ? [] : [noExportTo(hide)],
            });
            l.rs.receiveUpdate(`AS${from}`, announce([pfx(o.p)], a));
            model.set(`${from}|${o.p}`, { from, len: o.len, hide });
          } else if (o.k === 'wd') {
            const from = asns[o.from]!;
            if (o.from === lateIdx && !late) continue;
            l.rs.receiveUpdate(`AS${from}`, withdraw([pfx(o.p)]));
            model.delete(`${from}|${o.p}`);
          } else if (o.k === 'block') {
            const p = peers[o.who];
            if (p === undefined) continue;
            if (o.on) p.writable = false;
            else p.drain();
          } else if (o.k === 'nh') {
            const who = asns[o.who]!;
            const of = asns[o.of]!;
            l.rs.setNextHopReachability(`AS${who}`, addrOf(of), o.down);
            if (o.down) down.add(`${who}|${of}`);
            else down.delete(`${who}|${of}`);
          } else {
            for (let i = 0; i < o.n; i++) step();
          }
        }
        for (const p of peers) p?.drain();
        l.rs.flush();
        asns.forEach((me, i) => {
          const peer = peers[i];
          if (peer === undefined) return;
          for (let q = 0; q < 8; q++) {
            const cands = [...model.values()]
              .filter((m) => m.from !== me && m.hide !== me && !down.has(`${me}|${m.from}`))
              .filter((m) => model.get(`${m.from}|${q}`) === m)
              .sort((a, b) => a.len - b.len || a.from - b.from);
            const want = cands[0];
            const got = peer.get(pfx(q));
            if (want === undefined) expect(got, `AS${me} ${pfx(q)}`).toBeUndefined();
            else expect(got?.attrs.asPath[0]?.asns[0], `AS${me} ${pfx(q)}`).toBe(want.from);
          }
          const held = [...peer.rib.keys()].length;
          expect(l.rs.ribCount(`AS${me}`)).toBe(held);
        });
      }),
      { numRuns: 300 },
    );
  });
});

function lab2up(l: ReturnType<typeof lab>, asn: number): FakePeer {
  const id = `AS${asn}`;
  if (l.rs.sessions().every((s) => s.client !== id)) l.rs.addClient(clientCfg(asn));
  const peer = new (
    l.peers.values().next().value!.constructor as new (
      w: typeof l.wire,
    ) => FakePeer
  )(l.wire);
  l.rs.sessionUp(
    id,
    {
      codec: { as4: true },
      families: new Set(['1/1']),
      addPathTx: new Set(),
      groupKey: 'as4',
      bgpId: asn,
    },
    peer,
  );
  return peer;
}

describe('convergence with session loss, graceful restart and ADD-PATH (property)', () => {
  it('RFC 4724 §4.2 / RFC 7911 §3: clients converge through session flaps, stale paths and End-of-RIB', () => {
    const op = fc.oneof(
      fc.record({
        k: fc.constant('ann' as const),
        from: fc.nat(4),
        p: fc.nat(5),
        len: fc.nat(3),
        hide: fc.option(fc.nat(4)),
      }),
      fc.record({ k: fc.constant('wd' as const), from: fc.nat(4), p: fc.nat(5) }),
      fc.record({ k: fc.constant('block' as const), who: fc.nat(4), on: fc.boolean() }),
      fc.record({ k: fc.constant('down' as const), who: fc.nat(4), gr: fc.boolean() }),
      fc.record({ k: fc.constant('up' as const), who: fc.nat(4) }),
      fc.record({ k: fc.constant('eor' as const), who: fc.nat(4) }),
      fc.record({ k: fc.constant('refresh' as const), who: fc.nat(4) }),
      fc.record({ k: fc.constant('step' as const), n: fc.nat(3) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const l = lab({ batch: 2 });
        const asns = [65001, 65002, 65003, 65004, 65005];
        const AP = 4; // 65005 negotiates ADD-PATH send
        type R = { from: number; len: number; hide: number | null; stale: boolean };
        const model = new Map<string, R>();
        const isUp = asns.map(() => true);
        const peers: FakePeer[] = [];
        const bringUp = (i: number) => {
          const a = asns[i]!;
          peers[i] = l.up(
            a,
            i === AP ? { bgpId: a, addPathTx: new Set(['1/1']), groupKey: 'ap' } : { bgpId: a },
          );
          isUp[i] = true;
        };
        for (let i = 0; i < asns.length; i++) bringUp(i);
        const step = () => (l.rs as unknown as { step(): boolean }).step();
        for (const o of ops) {
          if (o.k === 'ann') {
            if (!isUp[o.from]) continue;
            const from = asns[o.from]!;
            const hide = o.hide === null ? null : asns[o.hide]!;
            const a = attrs({
              asPath: [from, ...new Array<number>(o.len).fill(9)],
              nextHop: addrOf(from),
              communities: hide === null ? [] : [noExportTo(hide)],
            });
            l.rs.receiveUpdate(`AS${from}`, announce([pfx(o.p)], a));
            model.set(`${from}|${o.p}`, { from, len: o.len, hide, stale: false });
          } else if (o.k === 'wd') {
            if (!isUp[o.from]) continue;
            const from = asns[o.from]!;
            l.rs.receiveUpdate(`AS${from}`, withdraw([pfx(o.p)]));
            model.delete(`${from}|${o.p}`);
          } else if (o.k === 'block') {
            if (!isUp[o.who]) continue;
            if (o.on) peers[o.who]!.writable = false;
            else peers[o.who]!.drain();
          } else if (o.k === 'down') {
            if (!isUp[o.who]) continue;
            const from = asns[o.who]!;
            l.rs.sessionDown(`AS${from}`, o.gr ? { gracefulRestart: { restartTime: 1000 } } : {});
            isUp[o.who] = false;
            for (const [k, r] of model) {
              if (r.from !== from) continue;
              if (o.gr) r.stale = true;
              else model.delete(k);
            }
          } else if (o.k === 'up') {
            if (isUp[o.who]) continue;
            bringUp(o.who);
          } else if (o.k === 'eor') {
            if (!isUp[o.who]) continue;
            const from = asns[o.who]!;
            l.rs.receiveUpdate(`AS${from}`, endOfRib(1));
            for (const [k, r] of model) if (r.from === from && r.stale) model.delete(k);
          } else if (o.k === 'refresh') {
            if (!isUp[o.who]) continue;
            l.rs.routeRefresh(`AS${asns[o.who]}`, 1, 1);
          } else {
            for (let i = 0; i < o.n; i++) step();
          }
          // A re-announcement after a restart refreshes the stale path.
          if (o.k === 'ann' && isUp[o.from]) model.get(`${asns[o.from]}|${o.p}`)!.stale = false;
        }
        for (let i = 0; i < asns.length; i++) if (isUp[i]) peers[i]!.drain();
        l.rs.flush();
        asns.forEach((me, i) => {
          if (!isUp[i]) return;
          const peer = peers[i]!;
          for (let q = 0; q < 6; q++) {
            const cands = [...model.entries()]
              .filter(([k]) => k.endsWith(`|${q}`))
              .map(([, m]) => m)
              .filter((m) => m.from !== me && m.hide !== me)
              .sort((a, b) => a.len - b.len || a.from - b.from);
            if (i === AP) {
              const got = [...peer.rib.entries()]
                .filter(([k]) => k.startsWith(`${pfx(q)}#`))
                .map(([, r]) => r.attrs.asPath[0]?.asns[0])
                .sort();
              expect(got, `AS${me} ${pfx(q)} (ADD-PATH)`).toEqual(cands.map((c) => c.from).sort());
            } else {
              const got = peer.get(pfx(q));
              if (cands[0] === undefined) expect(got, `AS${me} ${pfx(q)}`).toBeUndefined();
              else expect(got?.attrs.asPath[0]?.asns[0], `AS${me} ${pfx(q)}`).toBe(cands[0].from);
            }
          }
          expect(l.rs.ribCount(`AS${me}`)).toBe(peer.rib.size);
        });
        l.rs.shutdown();
      }),
      { numRuns: 300 },
    );
  });
});
