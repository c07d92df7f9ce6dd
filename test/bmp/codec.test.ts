// BMP (RFC 7854) messages ixrs sends: layout, round trips, random bytes only
// raise BmpError.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEndOfRib } from '../../src/bgp/update.ts';
import {
  BMP_TYPE,
  BmpError,
  decodeBmp,
  initiation,
  PEER_DOWN,
  peerDown,
  peerUp,
  routeMonitoring,
  termination,
} from '../../src/bmp/codec.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const peer = {
  address: '192.0.2.1',
  asn: 4200000001,
  bgpId: 0x0a000001,
  timestamp: 1_700_000_000_123,
};
const open = new Uint8Array([
  ...new Uint8Array(16).fill(0xff),
  0,
  29,
  1,
  4,
  0xfd,
  0xe8,
  0,
  90,
  10,
  0,
  0,
  1,
  0,
]);

describe('BMP codec', () => {
  it('RFC 7854 §4.1/§4.3: common header and Initiation with sysDescr and sysName', () => {
    const m = initiation('ixrs', 'rs1');
    expect(hex(m)).toBe(
      `03000000${(6 + 4 + 4 + 4 + 3).toString(16)}04` +
        '00010004' +
        hex(Buffer.from('ixrs')) +
        '00020003' +
        hex(Buffer.from('rs1')),
    );
    const [d] = decodeBmp(m);
    expect(d!.type).toBe(BMP_TYPE.INITIATION);
    expect(d!.tlvs!.map(([t, v]) => [t, Buffer.from(v).toString()])).toEqual([
      [1, 'ixrs'],
      [2, 'rs1'],
    ]);
  });

  it('RFC 7854 §4.2: per-peer header, IPv4 peer in the last four octets, timestamps', () => {
    const eor = encodeEndOfRib(1, 1);
    const m = routeMonitoring(peer, eor);
    expect(m.length).toBe(6 + 42 + eor.length);
    const h = m.subarray(6, 48);
    expect(h[0]).toBe(0);
    expect(h[1]).toBe(0);
    expect(hex(h.subarray(10, 26))).toBe(`${'00'.repeat(12)}c0000201`);
    const [d] = decodeBmp(m);
    expect(d!.peer).toMatchObject({ ...peer, flags: 0, postPolicy: false, adjRibOut: false });
    expect(d!.pdus[0]).toEqual(eor);
  });

  it('RFC 8671 §4: the O flag marks Adj-RIB-Out, L post-policy; V an IPv6 peer', () => {
    const m = routeMonitoring(
      { ...peer, address: '2001:db8::1', adjRibOut: true, postPolicy: true },
      encodeEndOfRib(2, 1),
    );
    const [d] = decodeBmp(m);
    expect(d!.peer!.flags).toBe(0x80 | 0x40 | 0x10);
    expect(d!.peer!.address).toBe('2001:db8::1');
  });

  it('RFC 7854 §4.10/§4.9: Peer Up carries both OPENs; Peer Down a reason', () => {
    const up = peerUp(peer, { address: '192.0.2.254', port: 179 }, 40000, open, open);
    const [u] = decodeBmp(up);
    expect(u!.type).toBe(BMP_TYPE.PEER_UP);
    expect(u!.pdus).toEqual([open, open]);
    const down = peerDown(peer, PEER_DOWN.REMOTE_NO_DATA);
    const [d] = decodeBmp(down);
    expect(d).toMatchObject({ type: BMP_TYPE.PEER_DOWN, reason: 4 });
    const t = decodeBmp(termination(0, 'bye'))[0]!;
    expect(t.type).toBe(BMP_TYPE.TERMINATION);
    expect(t.tlvs![1]).toEqual([1, new Uint8Array([0, 0])]);
  });

  it('random bytes only ever raise BmpError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
        try {
          decodeBmp(b);
        } catch (err) {
          expect(err).toBeInstanceOf(BmpError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random valid messages round-trip', () => {
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 30 }),
        (address, asn, tail) => {
          const update = new Uint8Array(19 + tail.length);
          update.fill(0xff, 0, 16);
          update[16] = update.length >> 8;
          update[17] = update.length & 0xff;
          update[18] = 2;
          update.set(tail, 19);
          const [d] = decodeBmp(routeMonitoring({ ...peer, address, asn }, update));
          expect(d!.peer!.address).toBe(address);
          expect(d!.peer!.asn).toBe(asn);
          expect(d!.pdus[0]).toEqual(update);
        },
      ),
    );
  });
});
