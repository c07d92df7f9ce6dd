// The column store under the route-server core (src/rs/store.ts): id queues,
// path and next-hop ids and their reuse, and the core behaviours that depend
// on reused ids being handled (a freed id must never carry old meaning).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryStore, IdQueue, NextHopTable, NONE, PathStore } from '../../src/rs/store.ts';
import { addrOf, announce, attrs, endOfRib, info, lab, withdraw } from './helpers.ts';

describe('IdQueue', () => {
  it('is FIFO, grows, and with dedupe keeps each id once (first insertion order)', () => {
    const q = new IdQueue(true);
    for (let i = 0; i < 10_000; i++) q.add(i % 5000);
    expect(q.size).toBe(5000);
    for (let i = 0; i < 5000; i++) expect(q.shift()).toBe(i);
    expect(q.shift()).toBe(NONE);
    q.add(7);
    expect(q.shift()).toBe(7);
    q.add(7); // shifted ids may be queued again
    expect(q.size).toBe(1);
    q.clear();
    expect(q.size).toBe(0);
    q.add(7);
    expect(q.size).toBe(1);
  });

  it('matches a Set-backed model through random add/shift sequences', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(-1)), { maxLength: 2000 }),
        (dedupe, ops) => {
          const q = new IdQueue(dedupe);
          const model: number[] = [];
          for (const op of ops) {
            if (op < 0) expect(q.shift()).toBe(model.shift() ?? NONE);
            else if (!dedupe || !model.includes(op)) {
              q.add(op);
              model.push(op);
            } else q.add(op);
            expect(q.size).toBe(model.length);
          }
        },
      ),
    );
  });
});

describe('PathStore', () => {
  it('reuses freed ids and keeps columns across growth', () => {
    const P = new PathStore();
    const ids: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const p = P.alloc();
      P.setRxId(p, i);
      ids.push(p);
    }
    expect(new Set(ids).size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(P.rxId(ids[i]!)).toBe(i);
    P.release(ids[500]!);
    expect(P.size).toBe(999);
    expect(P.alloc()).toBe(ids[500]);
  });

  it('gives fresh ids empty links across growth, and path ids read 0 until one is set', () => {
    const P = new PathStore();
    for (let i = 0; i < 5000; i++) {
      const p = P.alloc();
      for (const col of [P.next, P.sPrev, P.sNext]) expect(col[p]).toBe(NONE);
      expect(P.rxId(p)).toBe(0);
      expect(P.txId(p)).toBe(0);
      P.setRxId(p, 0);
      P.setTxId(p, i === 4000 ? 7 : 0);
    }
    expect(P.txId(4000)).toBe(7);
    expect(P.txId(3999)).toBe(0);
    expect(P.rxId(4000)).toBe(0);
  });
});

describe('EntryStore', () => {
  it('starts fresh entries with empty lists across growth and hands out ADD-PATH ids per entry from 1', () => {
    const E = new EntryStore();
    const ids: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const e = E.getOrCreate(0, `10.${i >> 8}.${i & 255}.0/24`);
      expect(E.head[e]).toBe(NONE);
      expect(E.rej(e)).toBe(NONE);
      ids.push(e);
    }
    expect(E.takeTxId(ids[10]!)).toBe(1);
    expect(E.takeTxId(ids[10]!)).toBe(2);
    expect(E.takeTxId(ids[11]!)).toBe(1);
    // A deleted entry's id is reused with its counter reset.
    E.maybeDelete(ids[10]!);
    const again = E.getOrCreate(0, '192.0.2.0/24');
    expect(again).toBe(ids[10]);
    expect(E.head[again]).toBe(NONE);
    expect(E.takeTxId(again)).toBe(1);
  });

  it('makes the rejected-list and ADD-PATH columns on first use, empty for entries old and new', () => {
    const E = new EntryStore();
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) ids.push(E.getOrCreate(0, `10.0.${i}.0/24`));
    expect(E.apRefs(ids[7]!)).toBe(0);
    const heads = E.rejHeads();
    for (const e of ids) expect(heads[e]).toBe(NONE);
    heads[ids[3]!] = 42;
    expect(E.rej(ids[3]!)).toBe(42);
    for (let i = 200; i < 3000; i++) {
      const e = E.getOrCreate(0, `10.${i >> 8}.${i & 255}.0/24`);
      expect(E.rej(e)).toBe(NONE);
    }
    expect(E.rej(ids[3]!)).toBe(42);
    E.addApRef(ids[7]!, 1);
    E.addApRef(ids[7]!, 1);
    E.addApRef(ids[7]!, -1);
    expect(E.apRefs(ids[7]!)).toBe(1);
    expect(E.apRefs(ids[8]!)).toBe(0);
  });
});

describe('NextHopTable', () => {
  it('interns by global + link-local, counts references, and a reused id is a new record', () => {
    const t = new NextHopTable();
    const a = t.acquire({ global: '2001:db8::1', linkLocal: 'fe80::1' });
    const b = t.acquire({ global: '2001:db8::1' });
    expect(a).not.toBe(b);
    expect(t.acquire({ global: '2001:db8::1', linkLocal: 'fe80::1' })).toBe(a);
    const rec = t.recs[a];
    t.release(a);
    expect(t.recs[a]).toBe(rec);
    t.release(a);
    expect(t.recs[a]).toBeNull();
    expect(t.globalId('2001:db8::1')).toBeGreaterThanOrEqual(0); // b still uses the address
    const c = t.acquire({ global: '2001:db8::9' });
    expect(c).toBe(a);
    expect(t.recs[c]).not.toBe(rec);
    t.release(b);
    expect(t.globalId('2001:db8::1')).toBe(-1);
  });
});

describe('route-server core over reused ids', () => {
  it('RFC 7947 §2.2: a next hop that takes a freed record id is sent as itself, not as the old one', () => {
    // IPv6: the next hop travels outside the attribute set, so one attribute
    // set (one AttrUse, with its outbound cache) serves paths via several next hops.
    const l = lab();
    const b = l.up(65002);
    l.up(65001);
    const a = attrs({ asPath: [65001] });
    l.send(65001, announce(['2001:db8:a::/48'], a, { global: '2001:db8::11' }));
    l.send(65001, announce(['2001:db8:b::/48'], a, { global: '2001:db8::12' }));
    l.send(65001, withdraw(['2001:db8:b::/48'], 2)); // ::12's record is freed
    l.send(65001, announce(['2001:db8:c::/48'], a, { global: '2001:db8::13' }));
    expect(b.get('2001:db8:a::/48')?.nextHop?.global).toBe('2001:db8::11');
    expect(b.get('2001:db8:b::/48')).toBeUndefined();
    expect(b.get('2001:db8:c::/48')?.nextHop?.global).toBe('2001:db8::13');
  });

  it('RFC 4724 §4.2: a stale cleanup whose next path is withdrawn and reused by another client still removes every stale path', () => {
    const l = lab({ batch: 2 });
    const x = l.up(65010);
    l.up(65001);
    l.up(65003);
    const pfx = (i: number) => `10.1.${i}.0/24`;
    const a1 = attrs({ asPath: [65001], nextHop: addrOf(65001) });
    l.send(65001, announce([...Array(10).keys()].map(pfx), a1));
    expect(x.rib.size).toBe(10);
    l.rs.sessionDown('AS65001', { gracefulRestart: { restartTime: 120 } });
    l.rs.flush();
    l.rs.sessionUp('AS65001', info({ bgpId: 65001 }), l.peers.get(65001)!);
    l.rs.flush();
    l.send(65001, announce([0, 1, 2, 3, 4].map(pfx), a1)); // refreshed: no longer stale
    // In one run: End-of-RIB starts the stale cleanup at the newest path (10.1.9/24);
    // the withdraw frees that path's id; AS65003's announcement takes the id.
    l.rs.receiveUpdate('AS65001', endOfRib());
    l.rs.receiveUpdate('AS65001', withdraw([pfx(9)]));
    l.rs.receiveUpdate(
      'AS65003',
      announce(['10.3.0.0/24'], attrs({ asPath: [65003], nextHop: addrOf(65003) })),
    );
    l.rs.flush();
    expect([...x.rib.keys()].sort()).toEqual([...[0, 1, 2, 3, 4].map(pfx), '10.3.0.0/24'].sort());
    expect(l.rs.sessions().find((s) => s.client === 'AS65001')?.adjIn).toBe(5);
  });
});
