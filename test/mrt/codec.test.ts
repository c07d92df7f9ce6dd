// MRT (RFC 6396) records ixrs writes: byte layout, round trips through the
// decoder, random bytes only ever raise MrtError; the update log rotates.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAttributes, makeAttributes } from '../../src/bgp/attributes.ts';
import {
  bgp4mpMessage,
  bgp4mpStateChange,
  decodeMrt,
  MrtError,
  mrtRecord,
  peerIndexTable,
  ribAttributes,
  ribRecord,
} from '../../src/mrt/codec.ts';
import { fileNameAt, MrtService, type MrtTimers } from '../../src/mrt/writer.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('MRT codec', () => {
  it('RFC 6396 §2: common header is timestamp, type, subtype, length', () => {
    expect(hex(mrtRecord(0x01020304, 13, 2, new Uint8Array([0xaa])))).toBe(
      '01020304000d00020000000' + '1aa',
    );
  });

  it('RFC 6396 §4.3.1: PEER_INDEX_TABLE with IPv4 and IPv6 peers, 4-octet AS', () => {
    const rec = peerIndexTable(1, 0x7f000001, 'rs', [
      { bgpId: 0x0a000001, address: '192.0.2.1', asn: 64501 },
      { bgpId: 0x0a000002, address: '2001:db8::2', asn: 4200000000 },
    ]);
    // header(12) + collector(4) + name len(2) + 'rs' + count(2) + (1+4+4+4) + (1+4+16+4)
    expect(rec.length).toBe(12 + 4 + 2 + 2 + 2 + 13 + 25);
    expect(hex(rec.subarray(12, 22))).toBe('7f0000010002727300' + '02');
    expect(rec[22]).toBe(0x02); // IPv4, AS4
    expect(rec[22 + 13]).toBe(0x03); // IPv6, AS4
    const [d] = decodeMrt(rec);
    expect(d).toEqual({
      kind: 'peer-index',
      timestamp: 1,
      collectorBgpId: 0x7f000001,
      viewName: 'rs',
      peers: [
        { bgpId: 0x0a000001, address: '192.0.2.1', asn: 64501 },
        { bgpId: 0x0a000002, address: '2001:db8::2', asn: 4200000000 },
      ],
    });
  });

  it('RFC 6396 §4.3.2/§4.3.4: RIB_IPV4_UNICAST with NEXT_HOP, RIB_IPV6_UNICAST with an abbreviated MP_REACH_NLRI', () => {
    const attrs = makeAttributes({ origin: 0, asPath: [{ type: 2, asns: [64501, 4200000001] }] });
    const a4 = ribAttributes(attrs, 1, { global: '192.0.2.1' });
    const r4 = ribRecord(5, 7, '198.51.100.0/23', [
      { peerIndex: 3, originated: 5, attributes: a4 },
    ]);
    const [d4] = decodeMrt(r4);
    expect(d4).toMatchObject({ kind: 'rib', afi: 1, sequence: 7, prefix: { len: 23 } });
    if (d4?.kind !== 'rib') throw new Error('not rib');
    expect([...d4.prefix.bytes]).toEqual([198, 51, 100, 0]);
    const back = decodeAttributes(d4.entries[0]!.attributes, true);
    expect(back.attrs?.nextHop).toBe('192.0.2.1');
    expect(back.attrs?.asPath).toEqual([{ type: 2, asns: [64501, 4200000001] }]);

    const a6 = ribAttributes(attrs, 2, { global: '2001:db8::1', linkLocal: 'fe80::1' });
    // MP_REACH_NLRI first: flags 0x80, type 14, length 33, next-hop length 32.
    expect(hex(a6.subarray(0, 4))).toBe('800e2120');
    const r6 = ribRecord(5, 8, '2001:db8:100::/40', [
      { peerIndex: 0, originated: 5, attributes: a6 },
    ]);
    // prefix: 40 bits = 5 octets
    expect(r6.length).toBe(12 + 4 + 1 + 5 + 2 + 8 + a6.length);
    const [d6] = decodeMrt(r6);
    expect(d6).toMatchObject({ kind: 'rib', afi: 2, sequence: 8, prefix: { len: 40 } });
  });

  it('RFC 6396 §4.4.3/§4.4.4: BGP4MP_MESSAGE_AS4 and STATE_CHANGE_AS4 round-trip', () => {
    const e = {
      peerAs: 64501,
      localAs: 64500,
      peerAddress: '192.0.2.1',
      localAddress: '192.0.2.254',
    };
    const msg = new Uint8Array([...new Uint8Array(16).fill(0xff), 0, 23, 2, 0, 0, 0, 0]);
    expect(decodeMrt(bgp4mpMessage(9, e, msg))).toEqual([
      { kind: 'bgp4mp-message', timestamp: 9, endpoints: e, message: msg },
    ]);
    expect(decodeMrt(bgp4mpStateChange(9, e, 5, 6))).toEqual([
      { kind: 'bgp4mp-state', timestamp: 9, endpoints: e, oldState: 5, newState: 6 },
    ]);
    expect(() => bgp4mpMessage(9, { ...e, localAddress: '2001:db8::1' }, msg)).toThrow(MrtError);
  });

  it('random bytes only ever raise MrtError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeMrt(b);
        } catch (err) {
          expect(err).toBeInstanceOf(MrtError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a random valid RIB entry round-trips', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 32 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 4 }),
        (len, addr, attrsList) => {
          const bytes = Uint8Array.from(addr);
          for (let i = 0; i < 32; i++) if (i >= len) bytes[i >> 3]! &= ~(0x80 >> (i & 7));
          const prefix = `${bytes.join('.')}/${len}`;
          const entries = attrsList.map((a, i) => ({ peerIndex: i, originated: 1, attributes: a }));
          const [d] = decodeMrt(ribRecord(1, 2, prefix, entries));
          if (d?.kind !== 'rib') throw new Error('not rib');
          expect([...d.prefix.bytes]).toEqual([...bytes]);
          expect(d.entries).toEqual(entries);
        },
      ),
    );
  });
});

describe('MRT update log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ixrs-mrt-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('file names carry the UTC start of the period', () => {
    expect(fileNameAt('updates.%Y%m%d.%H%M%S.mrt', Date.UTC(2026, 0, 2, 3, 4, 5))).toBe(
      'updates.20260102.030405.mrt',
    );
    expect(fileNameAt('a%%b', 0)).toBe('a%b');
  });

  it('rotates every updates_interval, aligned to the clock; a slow disk drops records beyond the buffer', async () => {
    let now = Date.UTC(2026, 0, 1, 0, 4, 30);
    const pending: { at: number; fn: () => void }[] = [];
    const timers: MrtTimers = {
      now: () => now,
      setTimeout: (fn, ms) => {
        const t = { at: now + ms, fn };
        pending.push(t);
        return t;
      },
      clearTimeout: (h) => {
        const i = pending.indexOf(h as { at: number; fn: () => void });
        if (i >= 0) pending.splice(i, 1);
      },
    };
    const svc = new MrtService(
      {
        directory: dir,
        ribIntervalS: 0,
        ribFile: 'rib.mrt',
        updatesIntervalS: 300,
        updatesFile: 'updates.%H%M.mrt',
        bufferBytes: 65_536,
      },
      {
        rib: { entries: { limit: 0, live: () => false, prefix: () => '' }, routes: () => [] },
        sessions: () => [],
        routerId: 1,
        viewName: '',
      },
      pino({ level: 'silent' }),
      timers,
    );
    svc.start();
    expect(svc.current).toBe(join(dir, 'updates.0000.mrt'));
    expect(pending[0]!.at).toBe(Date.UTC(2026, 0, 1, 0, 5, 0));
    const e = { peerAs: 64501, localAs: 64500, peerAddress: '192.0.2.1', localAddress: '0.0.0.0' };
    svc.stateChange(e, 5, 6);
    now = pending[0]!.at;
    pending.shift()!.fn();
    expect(svc.current).toBe(join(dir, 'updates.0005.mrt'));
    svc.stateChange(e, 6, 1);
    // More than the buffer at once: the rest is dropped, counted.
    const big = new Uint8Array(20_000);
    for (let i = 0; i < 10; i++) svc.message(e, big);
    expect(svc.stats.dropped).toBeGreaterThan(0);
    await svc.close();
    expect(readdirSync(dir).sort()).toEqual(['updates.0000.mrt', 'updates.0005.mrt']);
    const first = decodeMrt(readFileSync(join(dir, 'updates.0000.mrt')));
    expect(first).toEqual([
      {
        kind: 'bgp4mp-state',
        timestamp: Math.floor(Date.UTC(2026, 0, 1, 0, 4, 30) / 1000),
        endpoints: e,
        oldState: 5,
        newState: 6,
      },
    ]);
    const second = decodeMrt(readFileSync(join(dir, 'updates.0005.mrt')));
    expect(second[0]).toMatchObject({ kind: 'bgp4mp-state', oldState: 6, newState: 1 });
    expect(second.length).toBe(1 + svc.stats.records - 2);
  });
});
