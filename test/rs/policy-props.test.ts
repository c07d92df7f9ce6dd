import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeAttributes } from '../../src/bgp/attributes.ts';
import { formatPrefix, type ParsedPrefix, prefixContains } from '../../src/bgp/prefix.ts';
import { parseConfig } from '../../src/config/load.ts';
import { type PrefixRule, PrefixRuleSet } from '../../src/rs/bogons.ts';
import { createPolicy } from '../../src/rs/policy.ts';

const prefixArb = (afi: 1 | 2): fc.Arbitrary<ParsedPrefix> =>
  fc
    .tuple(
      fc.uint8Array({ minLength: afi === 1 ? 4 : 16, maxLength: afi === 1 ? 4 : 16 }),
      fc.nat(afi === 1 ? 32 : 128),
    )
    .map(([bytes, len]) => {
      const b = bytes.slice();
      for (let i = 0; i < b.length; i++) {
        const keep = Math.max(0, Math.min(8, len - i * 8));
        b[i] = b[i]! & ((0xff << (8 - keep)) & 0xff);
      }
      return { afi, len, bytes: b };
    });

// Few distinct leading bits so that rules and prefixes overlap often.
const narrow = (p: ParsedPrefix): ParsedPrefix => {
  const b = p.bytes.slice();
  b[0] = b[0]! & 0x81;
  return { ...p, bytes: b };
};

function naive(rules: { p: ParsedPrefix; r: PrefixRule }[], q: ParsedPrefix): boolean {
  const max = q.afi === 1 ? 32 : 128;
  return rules.some(({ p, r }) => {
    if (!prefixContains(p, q)) return false;
    const ge = r.exact ? p.len : (r.ge ?? p.len);
    const le = r.exact ? p.len : (r.le ?? max);
    return q.len >= ge && q.len <= le;
  });
}

describe('PrefixRuleSet agrees with a linear scan (exact / or-longer / {ge,le})', () => {
  for (const afi of [1, 2] as const) {
    it(`IPv${afi === 1 ? 4 : 6}`, () => {
      const max = afi === 1 ? 32 : 128;
      const rule = fc
        .tuple(
          prefixArb(afi).map(narrow),
          fc.boolean(),
          fc.option(fc.nat(max)),
          fc.option(fc.nat(max)),
        )
        .map(([p, exact, a, b]) => {
          const r: PrefixRule = { prefix: formatPrefix(p) };
          if (exact) r.exact = true;
          else if (a !== null && b !== null) {
            r.ge = Math.max(p.len, Math.min(a, b));
            r.le = Math.max(r.ge, Math.max(a, b));
          }
          return { p, r };
        });
      fc.assert(
        fc.property(
          fc.array(rule, { maxLength: 12 }),
          fc.array(prefixArb(afi).map(narrow), { maxLength: 20 }),
          (rules, qs) => {
            const set = new PrefixRuleSet(rules.map((x) => x.r));
            for (const q of qs) expect(set.matches(q)).toBe(naive(rules, q));
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

describe('outbound properties (RFC 7947 §2.2)', () => {
  const { config } = parseConfig(
    `cfg:
  rs_as: 64500
  router_id: "192.0.2.2"
  filtering:
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
  communities:
    do_not_announce_to_any: { std: "0:rs_as", lrg: "rs_as:0:0" }
    do_not_announce_to_peer: { std: "0:peer_as", lrg: "rs_as:0:peer_as" }
    announce_to_peer: { std: "rs_as:peer_as", lrg: "rs_as:1:peer_as" }
    prepend_once_to_any: { std: "65501:rs_as", lrg: "rs_as:101:0" }
`,
    'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n',
  );
  const policy = createPolicy(config);
  const rsStd = (c: number): boolean =>
    c >>> 16 === 0 || c >>> 16 === 64500 || c === ((65501 << 16) | 64500) >>> 0;
  const rsLrg = ([a, b, c]: [number, number, number]): boolean =>
    a === 64500 && ([0, 1, 65520].includes(b) || (b === 101 && c === 0));

  it('strips exactly the RS-addressed communities, keeps the others in order, prepends only the client ASN', () => {
    const stdArb = fc.oneof(
      fc.nat(0xffff).map((x) => x >>> 0),
      fc.nat(0xffff).map((x) => ((64500 << 16) | x) >>> 0),
      fc.constant(((65501 << 16) | 64500) >>> 0),
      fc.integer({ min: 0, max: 0xffffffff }),
    );
    const lrgArb = fc.tuple(
      fc.constantFrom(64500, 3333, 0xffffffff),
      fc.constantFrom(0, 1, 2, 101, 65520),
      fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })),
    );
    fc.assert(
      fc.property(
        fc.array(stdArb, { maxLength: 10 }),
        fc.array(lrgArb, { maxLength: 6 }),
        fc.nat(3),
        fc.array(
          fc.integer({ min: 1, max: 4199999999 }).filter((a) => a !== 64500),
          { maxLength: 5 },
        ),
        (std, lrg, prepend, tail) => {
          const a = makeAttributes({
            origin: 0,
            asPath: [{ type: 2, asns: [3333, ...tail] }],
            nextHop: '192.0.2.11',
            med: 10,
            ...(std.length > 0 ? { communities: std } : {}),
            ...(lrg.length > 0 ? { largeCommunities: lrg } : {}),
          });
          const out = policy.outbound(a, prepend, 3333);
          expect(policy.outbound(a, prepend, 3333)).toBe(out);
          expect(out.communities ?? []).toEqual(std.filter((c) => !rsStd(c)));
          expect(out.largeCommunities ?? []).toEqual(lrg.filter((c) => !rsLrg(c)));
          expect(out.asPath).toEqual([
            { type: 2, asns: [...new Array(prepend).fill(3333), 3333, ...tail] },
          ]);
          expect(out.nextHop).toBe('192.0.2.11');
          expect(out.med).toBe(10);
        },
      ),
      { numRuns: 300 },
    );
  });
});
