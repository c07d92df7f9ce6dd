import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  describeNotification,
  encodeMessage,
  KEEPALIVE,
  readHeader,
} from '../../../src/bgp/codec.ts';
import type { BgpMessage, CodecOptions, OpenMessage } from '../../../src/bgp/types.ts';
import { hex, MARKER, msg, thrown, toHex } from './helpers.ts';

const opts: CodecOptions = { as4: true };

function roundTrip(m: BgpMessage, o: CodecOptions = opts): BgpMessage {
  const bytes = encodeMessage(m, o);
  const back = decodeMessage(bytes, o);
  expect(back).toEqual(m);
  expect(toHex(encodeMessage(back, o))).toBe(toHex(bytes));
  return back;
}

describe('header', () => {
  it('RFC 4271 §4.4: KEEPALIVE is the 19-octet header alone', () => {
    expect(toHex(KEEPALIVE)).toBe(`${MARKER}001304`);
    expect(decodeMessage(KEEPALIVE, opts)).toEqual({ type: 'keepalive' });
    expect(toHex(encodeMessage({ type: 'keepalive' }, opts))).toBe(toHex(KEEPALIVE));
  });

  it('readHeader returns null with fewer than 19 octets', () => {
    expect(readHeader(KEEPALIVE.subarray(0, 18), 0, 4096)).toBeNull();
    const two = new Uint8Array(40);
    two.set(KEEPALIVE, 0);
    two.set(KEEPALIVE, 19);
    expect(readHeader(two, 19, 4096)).toEqual({ length: 19, type: 4 });
    expect(readHeader(two, 22, 4096)).toBeNull();
  });

  it('RFC 4271 §6.1: marker not all ones is Connection Not Synchronized (1,1)', () => {
    const b = KEEPALIVE.slice();
    b[3] = 0;
    const e = thrown(() => readHeader(b, 0, 4096));
    expect([e.code, e.subcode]).toEqual([1, 1]);
  });

  it('RFC 4271 §6.1: length out of range is Bad Message Length (1,2) with the length as data', () => {
    const b = hex(`${MARKER}1001 02`); // 4097
    const e = thrown(() => readHeader(b, 0, 4096));
    expect([e.code, e.subcode]).toEqual([1, 2]);
    expect(toHex(e.data)).toBe('1001');
    expect(readHeader(b, 0, 65535)).toEqual({ length: 4097, type: 2 });
    const short = thrown(() => readHeader(hex(`${MARKER}0012 04`), 0, 4096));
    expect([short.code, short.subcode, toHex(short.data)]).toEqual([1, 2, '0012']);
  });

  it('RFC 4271 §6.1: KEEPALIVE longer than 19 and OPEN shorter than 29 are Bad Message Length', () => {
    expect(thrown(() => readHeader(hex(`${MARKER}0014 04 00`), 0, 4096)).subcode).toBe(2);
    expect(thrown(() => readHeader(hex(`${MARKER}001c 01`), 0, 4096)).subcode).toBe(2);
    expect(thrown(() => readHeader(hex(`${MARKER}0016 02`), 0, 4096)).subcode).toBe(2);
    expect(thrown(() => readHeader(hex(`${MARKER}0014 03`), 0, 4096)).subcode).toBe(2);
  });

  it('RFC 8654 §4: OPEN over 4096 octets is Bad Message Length even with Extended Message', () => {
    expect(thrown(() => readHeader(hex(`${MARKER}1001 01`), 0, 65535)).subcode).toBe(2);
  });

  it('RFC 4271 §6.1: unknown type is Bad Message Type (1,3) with the type as data', () => {
    const e = thrown(() => readHeader(hex(`${MARKER}0013 06`), 0, 4096));
    expect([e.code, e.subcode, toHex(e.data)]).toEqual([1, 3, '06']);
  });

  it('RFC 4271 §6.1: length field not matching the message is Bad Message Length', () => {
    const b = new Uint8Array(20);
    b.set(KEEPALIVE);
    expect(thrown(() => decodeMessage(b, opts)).subcode).toBe(2);
  });
});

const fullOpen: OpenMessage = {
  type: 'open',
  version: 4,
  myAs: 23456,
  holdTime: 90,
  bgpId: 0xc0000201,
  capabilities: [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'multiprotocol', afi: 2, safi: 1 },
    { kind: 'multiprotocol', afi: 16388, safi: 71 },
    { kind: 'route-refresh' },
    { kind: 'enhanced-route-refresh' },
    { kind: 'as4', asn: 4200000001 },
    { kind: 'extended-message' },
    {
      kind: 'add-path',
      entries: [
        { afi: 1, safi: 1, mode: 3 },
        { afi: 2, safi: 1, mode: 1 },
      ],
    },
    {
      kind: 'graceful-restart',
      restarting: true,
      notification: true,
      restartTime: 120,
      families: [
        { afi: 1, safi: 1, forwardingPreserved: true },
        { afi: 2, safi: 1, forwardingPreserved: false },
      ],
    },
    { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
    { kind: 'unknown', code: 73, value: hex('0a726f75746572') },
  ],
  otherParams: [],
};

describe('OPEN', () => {
  it('RFC 4271 §4.2 / RFC 5492: OPEN with all capabilities round-trips', () => {
    roundTrip(fullOpen);
  });

  it('RFC 4271 §4.2: a minimal OPEN without optional parameters round-trips', () => {
    const m: OpenMessage = { ...fullOpen, myAs: 64500, capabilities: [] };
    const b = encodeMessage(m, opts);
    expect(b.length).toBe(29);
    roundTrip(m);
  });

  it('RFC 5492 §4: capabilities split over several Capabilities parameters are all decoded', () => {
    // two optional parameters of type 2, each with one capability
    const body = '04 fbf4 005a c0000201 10 02060104 00010001 02060104 00020001';
    const b = msg(1, body);
    const m = decodeMessage(b, opts) as OpenMessage;
    expect(m.capabilities).toEqual([
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
    ]);
  });

  it('RFC 9072 §2: extended optional parameters length is decoded and round-trips', () => {
    const m: OpenMessage = { ...fullOpen, extendedParams: true };
    const b = encodeMessage(m, opts);
    expect(b[28]).toBe(255);
    expect(b[29]).toBe(255);
    roundTrip(m);
  });

  it('RFC 9072 §2: more than 255 octets of capabilities switch to the extended form', () => {
    const caps = Array.from({ length: 30 }, (_, i) => ({
      kind: 'unknown' as const,
      code: 200,
      value: new Uint8Array([i, 1, 2, 3, 4, 5, 6]),
    }));
    const m: OpenMessage = { ...fullOpen, capabilities: caps };
    const back = decodeMessage(encodeMessage(m, opts), opts) as OpenMessage;
    expect(back.extendedParams).toBe(true);
    expect(back.capabilities).toEqual(caps);
  });

  it('other optional parameters are kept as received', () => {
    roundTrip({ ...fullOpen, otherParams: [{ type: 1, value: hex('0102') }] });
  });

  it('RFC 4271 §6.2: version other than 4 is Unsupported Version Number with version 4 as data', () => {
    const b = encodeMessage(fullOpen, opts);
    b[19] = 3;
    const e = thrown(() => decodeMessage(b, opts));
    expect([e.code, e.subcode, toHex(e.data)]).toEqual([2, 1, '0004']);
  });

  it('RFC 4271 §6.2: hold time 1 or 2 is Unacceptable Hold Time', () => {
    const b = encodeMessage({ ...fullOpen, holdTime: 2 }, opts);
    expect([
      thrown(() => decodeMessage(b, opts)).code,
      thrown(() => decodeMessage(b, opts)).subcode,
    ]).toEqual([2, 6]);
    expect(
      (decodeMessage(encodeMessage({ ...fullOpen, holdTime: 0 }, opts), opts) as OpenMessage)
        .holdTime,
    ).toBe(0);
  });

  it('RFC 7607 §2: peer AS 0 is Bad Peer AS', () => {
    const e = thrown(() => decodeMessage(encodeMessage({ ...fullOpen, myAs: 0 }, opts), opts));
    expect([e.code, e.subcode]).toEqual([2, 2]);
    const caps = fullOpen.capabilities.map((c) => (c.kind === 'as4' ? { ...c, asn: 0 } : c));
    const f = thrown(() =>
      decodeMessage(encodeMessage({ ...fullOpen, capabilities: caps }, opts), opts),
    );
    expect([f.code, f.subcode]).toEqual([2, 2]);
  });

  it('RFC 7911 §4: an ADD-PATH entry with a reserved Send/Receive value is ignored', () => {
    const m = decodeMessage(msg(1, '04 fbf4 005a c0000201 0c 020a 4508 00010103 00020105'), opts);
    expect((m as OpenMessage).capabilities).toEqual([
      { kind: 'add-path', entries: [{ afi: 1, safi: 1, mode: 3 }] },
    ]);
  });

  it('RFC 6286 §2.2: BGP Identifier 0 is Bad BGP Identifier', () => {
    const e = thrown(() => decodeMessage(encodeMessage({ ...fullOpen, bgpId: 0 }, opts), opts));
    expect([e.code, e.subcode]).toEqual([2, 3]);
  });

  it('RFC 4271 §6.2: optional parameters length mismatch is an OPEN Message Error', () => {
    const b = encodeMessage(fullOpen, opts);
    b[28] = b[28]! - 1;
    expect(thrown(() => decodeMessage(b, opts)).code).toBe(2);
  });

  it('RFC 4760 §8: a Multiprotocol capability of the wrong length is an OPEN Message Error', () => {
    const body = '04 fbf4 005a c0000201 07 0205 0103 000100';
    const e = thrown(() => decodeMessage(hex(`${MARKER}0024 01 ${body}`), opts));
    expect([e.code, e.subcode]).toEqual([2, 0]);
  });

  it('capability overrunning its parameter is an OPEN Message Error', () => {
    const body = '04 fbf4 005a c0000201 04 0202 4108';
    expect(thrown(() => decodeMessage(hex(`${MARKER}0021 01 ${body}`), opts)).code).toBe(2);
  });

  it('RFC 6793 §3: 4-octet AS capability carries the real ASN, My AS is AS_TRANS', () => {
    const m = roundTrip(fullOpen) as OpenMessage;
    expect(m.myAs).toBe(23456);
    expect(m.capabilities.find((c) => c.kind === 'as4')).toEqual({ kind: 'as4', asn: 4200000001 });
  });
});

describe('NOTIFICATION', () => {
  it('RFC 4271 §4.5: NOTIFICATION with data round-trips', () => {
    roundTrip({ type: 'notification', code: 3, subcode: 11, data: hex('400200') });
    roundTrip({ type: 'notification', code: 4, subcode: 0, data: new Uint8Array(0) });
  });

  it('RFC 9003 §2: Administrative Shutdown carries a UTF-8 shutdown communication', () => {
    const text = 'maintenance — back at 08:00 ✓';
    const b = encodeMessage(
      { type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0), shutdownMessage: text },
      opts,
    );
    const m = decodeMessage(b, opts);
    expect(m).toMatchObject({ type: 'notification', code: 6, subcode: 2, shutdownMessage: text });
    const bytes = new TextEncoder().encode(text);
    expect(b[21]).toBe(bytes.length);
  });

  it('RFC 9003 §2: Administrative Reset (subcode 4) also carries it', () => {
    const b = encodeMessage(
      {
        type: 'notification',
        code: 6,
        subcode: 4,
        data: new Uint8Array(0),
        shutdownMessage: 'bye',
      },
      opts,
    );
    expect(decodeMessage(b, opts)).toMatchObject({ shutdownMessage: 'bye' });
  });

  it('RFC 9003 §2: the communication is cut to 255 octets without splitting a character', () => {
    const text = 'é'.repeat(200); // 400 octets
    const b = encodeMessage(
      { type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0), shutdownMessage: text },
      opts,
    );
    expect(b[21]).toBe(254);
    const m = decodeMessage(b, opts) as { shutdownMessage?: string };
    expect(m.shutdownMessage).toBe('é'.repeat(127));
  });

  it('RFC 9003 §2: a bad length or invalid UTF-8 leaves no shutdown communication', () => {
    const bad = hex(`${MARKER}0018 03 0602 05 6869`); // length 5, only 2 octets
    expect(decodeMessage(bad, opts)).not.toHaveProperty('shutdownMessage');
    const inv = hex(`${MARKER}0018 03 0602 02 c328`);
    expect(decodeMessage(inv, opts)).not.toHaveProperty('shutdownMessage');
  });

  it('describeNotification names codes and subcodes for logs', () => {
    expect(describeNotification(6, 2)).toBe('Cease / Administrative Shutdown');
    expect(describeNotification(3, 11)).toBe('UPDATE Message Error / Malformed AS_PATH');
    expect(describeNotification(1, 0)).toBe('Message Header Error / Unspecific');
    expect(describeNotification(6, 10)).toBe('Cease / BFD Down');
    expect(describeNotification(42, 1)).toContain('42');
  });
});

describe('ROUTE-REFRESH', () => {
  it('RFC 2918 §3: ROUTE-REFRESH round-trips', () => {
    roundTrip({ type: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
  });

  it('RFC 7313 §3.2: BoRR and EoRR subtypes round-trip', () => {
    roundTrip({ type: 'route-refresh', afi: 2, safi: 1, subtype: 1 });
    roundTrip({ type: 'route-refresh', afi: 2, safi: 1, subtype: 2 });
  });

  it('RFC 7313 §5: BoRR with a bad length is ROUTE-REFRESH Message Error / Invalid Message Length', () => {
    const b = hex(`${MARKER}0018 05 0001 01 01 00`);
    const e = thrown(() => decodeMessage(b, opts));
    expect([e.code, e.subcode]).toEqual([7, 1]);
    expect(toHex(e.data)).toBe(toHex(b));
  });
});
