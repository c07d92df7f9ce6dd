// fast-check properties of the BGP-LS codec: random valid values round-trip;
// random and mutated bytes only ever raise BgpLsError (single NLRI, attribute)
// or give the typed RFC 9552 §8.2.2 result (NLRI field, UPDATE), and through
// src/bgp only its own BgpError.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/bgp/codec.ts';
import { formatIPv4, formatIPv6 } from '../../src/bgp/prefix.ts';
import { BgpError, type CodecOptions, type UpdateMessage } from '../../src/bgp/types.ts';
import {
  BgpLsError,
  compareTlv,
  decodeLsAttribute,
  decodeLsUpdate,
  decodeNlri,
  decodeNlriField,
  encodeLsAttribute,
  encodeLsUpdates,
  encodeNlri,
  halfLinkKey,
  halfLinkNlri,
  type LinkDescriptor,
  type LsAttribute,
  type LsNlri,
  type NodeDescriptor,
  nlriKey,
  parseReport,
  reportItem,
  type Tlv,
} from '../../src/bgpls/codec.ts';

const u32 = fc.nat({ max: 0xffffffff });
const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b));

function unknownTlvs(avoid: (t: number) => boolean): fc.Arbitrary<Tlv[] | undefined> {
  return fc
    .array(
      fc.record({
        type: fc.nat({ max: 0xffff }).filter((t) => !avoid(t)),
        value: fc.uint8Array({ maxLength: 12 }),
      }),
      { maxLength: 3 },
    )
    .map((l) => (l.length === 0 ? undefined : l.sort(compareTlv)));
}

function withoutUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

const nodeDescriptor: fc.Arbitrary<NodeDescriptor> = fc
  .record(
    {
      asn: u32,
      bgpLsId: u32,
      ospfArea: u32,
      igpRouterId: fc
        .constantFrom(4, 6, 7, 8)
        .chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
      bgpRouterId: v4,
      memberAsn: u32,
      unknown: unknownTlvs((t) => t >= 512 && t <= 517),
    },
    { requiredKeys: [] },
  )
  .map(withoutUndefined);

const linkDescriptor: fc.Arbitrary<LinkDescriptor> = fc
  .record(
    {
      linkIds: fc.record({ local: u32, remote: u32 }),
      ipv4Interface: v4,
      ipv4Neighbor: v4,
      ipv6Interface: v6,
      ipv6Neighbor: v6,
      multiTopology: fc.array(fc.nat({ max: 0xffff }), { minLength: 1, maxLength: 4 }),
      unknown: unknownTlvs((t) => t >= 256 && t <= 263),
    },
    { requiredKeys: [] },
  )
  .map(withoutUndefined);

const identifier = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });

const lsNlri: fc.Arbitrary<LsNlri> = fc.oneof(
  fc
    .record({
      kind: fc.constant('node' as const),
      protocolId: fc.nat({ max: 255 }),
      identifier,
      local: nodeDescriptor,
      unknown: unknownTlvs((t) => t === 256),
    })
    .map(withoutUndefined),
  fc.record({
    kind: fc.constant('link' as const),
    protocolId: fc.nat({ max: 255 }),
    identifier,
    local: nodeDescriptor,
    remote: nodeDescriptor,
    link: linkDescriptor,
  }),
  fc.record({
    kind: fc.constant('opaque' as const),
    nlriType: fc.nat({ max: 0xffff }).filter((t) => t !== 1 && t !== 2),
    value: fc.uint8Array({ maxLength: 40 }),
  }),
);

const lsAttribute: fc.Arbitrary<LsAttribute> = fc
  .record(
    {
      metric: fc.constantFrom(1 as const, 2 as const, 3 as const).chain((len) =>
        fc.record({
          igpMetricLength: fc.constant(len),
          igpMetric: fc.nat({ max: len === 1 ? 0x3f : len === 2 ? 0xffff : 0xffffff }),
        }),
      ),
      linkName: fc
        .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
        .filter((s) => new TextEncoder().encode(s).length <= 255),
      unknown: unknownTlvs((t) => t === 1095 || t === 1098).map((l) =>
        l?.sort((a, b) => a.type - b.type),
      ),
    },
    { requiredKeys: [] },
  )
  .map(({ metric, ...rest }) => withoutUndefined({ ...metric, ...rest }));

function onlyBgpLsError(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!(err instanceof BgpLsError)) throw err;
  }
}

function mutate(b: Uint8Array, edits: [number, number][], cut: number): Uint8Array {
  const out = b.slice(0, Math.max(0, b.length - cut));
  for (const [i, v] of edits) if (out.length > 0) out[i % out.length] = v;
  return out;
}

const edits = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 });

describe('BGP-LS codec properties', () => {
  it('RFC 9552 §5.2: random valid NLRI round-trip (value and bytes)', () => {
    fc.assert(
      fc.property(lsNlri, (n) => {
        const b = encodeNlri(n);
        const d = decodeNlri(b);
        expect(d).toEqual(n);
        expect(encodeNlri(d)).toEqual(b);
        expect(nlriKey(d)).toBe(nlriKey(n));
      }),
      { numRuns: 1500 },
    );
  });

  it('RFC 9552 §5.3: random valid attributes round-trip', () => {
    fc.assert(
      fc.property(lsAttribute, (a) => {
        const b = encodeLsAttribute(a);
        expect(decodeLsAttribute(b)).toEqual(a);
      }),
      { numRuns: 1500 },
    );
  });

  it('random bytes only ever raise BgpLsError (NLRI, attribute)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
        onlyBgpLsError(() => decodeNlri(b));
        onlyBgpLsError(() => decodeLsAttribute(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated valid NLRI and attributes only ever raise BgpLsError', () => {
    fc.assert(
      fc.property(lsNlri, lsAttribute, edits, fc.nat({ max: 3 }), (n, a, e, cut) => {
        onlyBgpLsError(() => decodeNlri(mutate(encodeNlri(n), e, cut)));
        onlyBgpLsError(() => decodeLsAttribute(mutate(encodeLsAttribute(a), e, cut)));
      }),
      { numRuns: 3000 },
    );
  });

  it('RFC 9552 §8.2.2: an NLRI field of random or mutated bytes never throws', () => {
    fc.assert(
      fc.property(
        fc.array(lsNlri, { maxLength: 4 }),
        edits,
        fc.nat({ max: 5 }),
        fc.uint8Array({ maxLength: 80 }),
        (list, e, cut, junk) => {
          const field = mutate(Buffer.concat(list.map(encodeNlri)), e, cut);
          for (const raw of [field, junk]) {
            const r = decodeNlriField(raw, 'mp-reach');
            for (const p of r.problems)
              expect(['nlri-discard', 'afi-safi-disable']).toContain(p.action);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('RFC 9552 §8.2.2: mutated BGP-LS UPDATEs give src/bgp BgpError or a typed LsUpdate, never anything else', () => {
    const opts: CodecOptions = { as4: true };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ nlri: lsNlri, attribute: fc.option(lsAttribute, { nil: undefined }) }),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        fc.array(lsNlri, { maxLength: 2 }),
        edits,
        (announce, withdraw, e) => {
          const items = announce.map((x) => (x.attribute === undefined ? { nlri: x.nlri } : x));
          const msgs = encodeLsUpdates(opts, {
            nextHop: '192.0.2.1',
            asPath: [65001],
            announce: items,
            withdraw,
          });
          for (const m of msgs) {
            // keep the 19-octet header intact so the body is what gets tested
            const body = mutate(m.subarray(19), e, 0);
            const msg = Buffer.concat([m.subarray(0, 19), body]);
            let u: UpdateMessage;
            try {
              u = decodeMessage(msg, opts) as UpdateMessage;
            } catch (err) {
              if (err instanceof BgpError) continue;
              throw err;
            }
            if (u.type !== 'update') continue;
            const ls = decodeLsUpdate(u);
            if (ls !== null) expect(Array.isArray(ls.problems)).toBe(true);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('profile §4-5: random half links round-trip through the wire; reports keep their state', () => {
    const v6global = fc
      .uint8Array({ minLength: 16, maxLength: 16 })
      .filter((b) => !(b[0] === 0xfe && (b[1]! & 0xc0) === 0x80))
      .map((b) => formatIPv6(b));
    const addresses = fc
      .oneof(fc.tuple(v4, v4), fc.tuple(v6global, v6global))
      .filter(([a, b]) => a !== b);
    const node = fc.record({ asn: u32, routerId: v4 });
    fc.assert(
      fc.property(
        identifier,
        node,
        node,
        addresses,
        fc.constantFrom('reachable' as const, 'unreachable' as const),
        (instanceId, local, remote, [localAddress, nextHop], state) => {
          const h = { instanceId, local, remote, localAddress, nextHop };
          const r = reportItem(h, state);
          const wire = decodeNlri(encodeNlri(r.nlri));
          const back = parseReport(wire, decodeLsAttribute(encodeLsAttribute(r.attribute)), {
            instanceId,
          });
          expect(back.ok && back.value).toEqual({
            ...h,
            state,
            metric: state === 'reachable' ? 1 : 0xffffff,
          });
          expect(nlriKey(wire)).toBe(nlriKey(halfLinkNlri(h)));
          expect(halfLinkKey(localAddress, nextHop)).not.toBe(halfLinkKey(nextHop, localAddress));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
