import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrInterner, makeAttributes } from '../../../src/bgp/attributes.ts';
import { decodeMessage, encodeMessage, encodeUpdates } from '../../../src/bgp/codec.ts';
import { formatIPv4, formatIPv6, formatPrefix } from '../../../src/bgp/prefix.ts';
import {
  type AsPathSegment,
  BgpError,
  type BgpMessage,
  type Capability,
  type CodecOptions,
  type Nlri,
  type OpenMessage,
  type UpdateMessage,
} from '../../../src/bgp/types.ts';
import { toHex } from './helpers.ts';

const OPTS: CodecOptions[] = [
  { as4: true },
  { as4: false },
  {
    as4: true,
    extendedMessage: true,
    addPathRx: new Set(['1/1', '2/1']),
    addPathTx: new Set(['1/1', '2/1']),
  },
];

// ---------------------------------------------------------------- arbitraries

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const v4prefix = fc.tuple(u32, fc.integer({ min: 0, max: 32 })).map(([a, len]) =>
  formatPrefix({
    afi: 1,
    len,
    bytes: new Uint8Array([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]),
  }),
);
const v6prefix = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
  .map(([b, len]) => formatPrefix({ afi: 2, len, bytes: b }));
const v6addr = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b));
const hostV4 = fc
  .tuple(fc.integer({ min: 1, max: 223 }), u8, u8, u8)
  .map((t) => formatIPv4(new Uint8Array(t)));

function nlriOf(prefix: fc.Arbitrary<string>, addPath: boolean, max: number): fc.Arbitrary<Nlri[]> {
  return fc.array(addPath ? fc.record({ prefix, pathId: u32 }) : fc.record({ prefix }), {
    maxLength: max,
  });
}

const asn = fc.integer({ min: 1, max: 0xffffffff }); // RFC 7607: never AS 0
const segment: fc.Arbitrary<AsPathSegment> = fc.record({
  type: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const),
  asns: fc.array(asn, { minLength: 1, maxLength: 12 }),
});

const KNOWN = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 29, 32]);
const unknownType = fc.integer({ min: 11, max: 255 }).filter((t) => !KNOWN.has(t));

function attrsArb(as4: boolean) {
  return fc
    .record(
      {
        origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
        asPath: fc.array(as4 ? segment : segment.filter((s) => s.type <= 2), { maxLength: 4 }),
        nextHop: hostV4,
        med: u32,
        localPref: u32,
        atomicAggregate: fc.constant(true),
        aggregator: fc.record({
          asn: as4 ? asn : fc.integer({ min: 1, max: 0xffff }).filter((x) => x !== 23456),
          address: hostV4,
        }),
        communities: fc.array(u32, { minLength: 1, maxLength: 8 }),
        extCommunities: fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), {
          minLength: 1,
          maxLength: 4,
        }),
        largeCommunities: fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 4 }),
        originatorId: u32,
        clusterList: fc.array(u32, { minLength: 1, maxLength: 4 }),
        bgpLs: fc.uint8Array({ minLength: 1, maxLength: 40 }),
        other: fc.uniqueArray(
          fc.record({ flags: fc.constant(0xe0), type: unknownType, value: bytes(30) }),
          { selector: (o) => o.type, maxLength: 3 },
        ),
      },
      { requiredKeys: ['origin', 'asPath', 'nextHop'] },
    )
    .map((f) => makeAttributes(f));
}

function updateArb(o: CodecOptions): fc.Arbitrary<UpdateMessage> {
  const ap4 = o.addPathRx?.has('1/1') ?? false;
  const ap6 = o.addPathRx?.has('2/1') ?? false;
  return fc
    .record({
      withdrawn: nlriOf(v4prefix, ap4, 20),
      nlri: nlriOf(v4prefix, ap4, 20),
      attrs: attrsArb(o.as4),
      mp: fc.option(
        fc.record({
          nextHop: fc.record({ global: v6addr, linkLocal: v6addr }, { requiredKeys: ['global'] }),
          nlri: nlriOf(v6prefix, ap6, 20),
        }),
      ),
      mpu: fc.option(nlriOf(v6prefix, ap6, 20)),
    })
    .map(
      (r): UpdateMessage => ({
        type: 'update',
        withdrawn: r.withdrawn,
        attrs: r.attrs,
        nlri: r.nlri,
        mpReach: r.mp ? { afi: 2, safi: 1, nextHop: r.mp.nextHop, nlri: r.mp.nlri } : null,
        mpUnreach: r.mpu ? { afi: 2, safi: 1, nlri: r.mpu } : null,
        errors: [],
      }),
    );
}

const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('multiprotocol' as const), afi: u16, safi: u8 }),
  fc.constant({ kind: 'route-refresh' as const }),
  fc.constant({ kind: 'enhanced-route-refresh' as const }),
  fc.constant({ kind: 'extended-message' as const }),
  fc.record({ kind: fc.constant('as4' as const), asn }),
  fc.record({
    kind: fc.constant('add-path' as const),
    entries: fc.array(
      fc.record({ afi: u16, safi: u8, mode: fc.constantFrom(1 as const, 2 as const, 3 as const) }),
      { maxLength: 5 },
    ),
  }),
  fc.record({
    kind: fc.constant('extended-next-hop' as const),
    entries: fc.array(fc.record({ afi: u16, safi: u16, nextHopAfi: u16 }), { maxLength: 5 }),
  }),
  fc.record({
    kind: fc.constant('graceful-restart' as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: u16, safi: u8, forwardingPreserved: fc.boolean() }), {
      maxLength: 5,
    }),
  }),
  fc.record({
    kind: fc.constant('unknown' as const),
    code: fc.integer({ min: 0, max: 255 }).filter((c) => ![1, 2, 5, 6, 64, 65, 69, 70].includes(c)),
    value: bytes(40),
  }),
);

const openArb: fc.Arbitrary<OpenMessage> = fc
  .record({
    myAs: fc.integer({ min: 1, max: 0xffff }),
    holdTime: u16.filter((h) => h !== 1 && h !== 2),
    bgpId: fc.integer({ min: 1, max: 0xffffffff }),
    capabilities: fc.array(capability, { maxLength: 40 }),
    otherParams: fc.array(fc.record({ type: fc.integer({ min: 3, max: 254 }), value: bytes(20) }), {
      maxLength: 2,
    }),
    extendedParams: fc.boolean(),
  })
  .map((r) => {
    const m: OpenMessage = { type: 'open', version: 4, ...r, extendedParams: undefined };
    delete m.extendedParams;
    if (r.extendedParams) m.extendedParams = true;
    return m;
  });

const otherMsg: fc.Arbitrary<BgpMessage> = fc.oneof(
  fc.constant({ type: 'keepalive' as const }),
  fc.record({ type: fc.constant('route-refresh' as const), afi: u16, safi: u8, subtype: u8 }),
  fc.record({
    type: fc.constant('notification' as const),
    code: u8,
    subcode: u8,
    data: bytes(100),
  }),
);

// ---------------------------------------------------------------- properties

function onlyBgpError(b: Uint8Array, o: CodecOptions): void {
  try {
    decodeMessage(b, o);
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    expect(e.code).toBeGreaterThanOrEqual(1);
    expect(e.code).toBeLessThanOrEqual(7);
  }
}

function frame(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(19 + body.length);
  out.fill(0xff, 0, 16);
  out[16] = out.length >> 8;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(body, 19);
  return out;
}

describe('property: decoding arbitrary bytes', () => {
  it('random bytes only ever raise BgpError', () => {
    fc.assert(
      fc.property(bytes(200), fc.constantFrom(...OPTS), (b, o) => onlyBgpError(b, o)),
      { numRuns: 3000 },
    );
  });

  it('random bodies behind a valid header only ever raise BgpError', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        bytes(300),
        fc.constantFrom(...OPTS),
        (t, body, o) => onlyBgpError(frame(t, body), o),
      ),
      { numRuns: 5000 },
    );
  });

  it('mutated valid messages only ever raise BgpError', () => {
    const seeds = fc.oneof(
      ...OPTS.map((o) => updateArb(o).map((m) => ({ b: encodeMessage(m, o), o }))),
      openArb.map((m) => ({ b: encodeMessage(m, OPTS[0]!), o: OPTS[0]! })),
    );
    const mutation = fc.array(fc.tuple(fc.nat(), u8, fc.constantFrom('set', 'cut', 'del')), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(seeds, mutation, ({ b, o }, muts) => {
        let x = b.slice();
        for (const [pos, v, kind] of muts) {
          const i = 19 + (pos % Math.max(1, x.length - 19));
          if (kind === 'set') x[i] = v;
          else if (kind === 'cut') x = x.slice(0, i);
          else x = new Uint8Array([...x.subarray(0, i), ...x.subarray(i + 1)]);
          // keep the header length consistent so the body parsers are reached
          if (x.length >= 19) {
            x[16] = x.length >> 8;
            x[17] = x.length & 0xff;
          }
        }
        onlyBgpError(x, o);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('property: interning changes nothing but identity', () => {
  it('decoding with an AttrInterner gives the same result as without, for valid and mutated UPDATEs', () => {
    const o = OPTS[0]!;
    const interner = new AttrInterner();
    fc.assert(
      fc.property(updateArb(o), fc.nat(), u8, fc.boolean(), (m, pos, v, mutate) => {
        const b = encodeMessage(m, o);
        if (mutate) b[19 + (pos % (b.length - 19))] = v;
        let plain: unknown;
        let interned: unknown;
        try {
          plain = decodeMessage(b, o);
        } catch (e) {
          plain = e;
        }
        try {
          interned = decodeMessage(b, o, interner);
          // twice: the second time through the interned fast path
          interned = decodeMessage(b, o, interner);
        } catch (e) {
          interned = e;
        }
        expect(interned).toEqual(plain);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('property: valid messages round-trip', () => {
  it('RFC 4271 §4.3: random UPDATEs round-trip on each kind of session', () => {
    for (const o of OPTS) {
      fc.assert(
        fc.property(updateArb(o), (m) => {
          const b = encodeMessage(m, o);
          const back = decodeMessage(b, o) as UpdateMessage;
          expect(back.errors).toEqual([]);
          expect(back).toEqual(m);
          expect(toHex(encodeMessage(back, o))).toBe(toHex(b));
        }),
        { numRuns: 300 },
      );
    }
  });

  it('RFC 4271 §4.2: random OPENs round-trip', () => {
    fc.assert(
      fc.property(openArb, (m) => {
        const back = decodeMessage(encodeMessage(m, OPTS[0]!), OPTS[0]!) as OpenMessage;
        const { extendedParams: _a, ...x } = back;
        const { extendedParams: _b, ...y } = m;
        expect(x).toEqual(y);
      }),
      { numRuns: 500 },
    );
  });

  it('KEEPALIVE, ROUTE-REFRESH and NOTIFICATION round-trip', () => {
    fc.assert(
      fc.property(otherMsg, (m) => {
        const back = decodeMessage(encodeMessage(m, OPTS[0]!), OPTS[0]!);
        expect(back).toMatchObject(m);
      }),
      { numRuns: 500 },
    );
  });

  it('encodeUpdates output decodes to the same NLRI and attributes', () => {
    for (const o of OPTS) {
      fc.assert(
        fc.property(
          attrsArb(o.as4),
          nlriOf(v4prefix, o.addPathTx?.has('1/1') ?? false, 600),
          (a, nlri) => {
            const msgs = encodeUpdates(o, { afi: 1, safi: 1, attrs: a, nlri, withdrawn: [] });
            const got: Nlri[] = [];
            for (const b of msgs) {
              const u = decodeMessage(b, o) as UpdateMessage;
              expect(u.errors).toEqual([]);
              expect(toHex(u.attrs!.wire)).toBe(toHex(a.wire));
              got.push(...u.nlri);
            }
            expect(got).toEqual(nlri);
          },
        ),
        { numRuns: 100 },
      );
    }
  });
});
