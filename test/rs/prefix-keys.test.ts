// PrefixKeys (src/rs/prefix-keys.ts): the (family slot, prefix text) -> dense
// id index of the prefix table. Exact text round trip, distinct keys for
// distinct strings (canonical IPv4 numerically, everything else as text), id
// reuse after delete, growth, and a model test against a plain Map.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixKeys } from '../../src/rs/prefix-keys.ts';

/** Every live id with its family and text. */
function dump(keys: PrefixKeys): [number, number, string][] {
  const out: [number, number, string][] = [];
  for (let id = 0; id < keys.limit; id++)
    if (keys.live(id)) out.push([id, keys.famOf(id), keys.text(id)]);
  return out;
}

const ODD = [
  '01.0.0.0/8',
  '1.2.3.4/33',
  '1.2.3/24',
  '',
  'a.b.c.d/1',
  '1.2.3.4',
  '1.2.3.4/',
  '1.2.3.4/024',
  '1.2.3.4/00',
  '1.2.3.4/3x',
  '1.2.3.4/24 ',
  ' 1.2.3.4/24',
  '256.0.0.0/8',
  '1.2.3.4.5/8',
  '1..3.4/8',
  '1.2.3.4//8',
  '1.2.3.04/32',
  '1234.0.0.0/8',
  '１.2.3.4/8',
  '1.2.3.4/８',
  '0.0.0.0/-0',
  '/',
  '0',
  '1.2.3.4/24\u0000',
];
const V6 = [
  '::/0',
  '2001:db8::/32',
  '2001:db8::1/128',
  '2001:DB8::/32',
  'fe80::/10',
  '::ffff:1.2.3.4/128',
];
const V4 = [
  '0.0.0.0/0',
  '0.0.0.0/32',
  '255.255.255.255/32',
  '255.255.255.255/0',
  '10.0.0.0/8',
  '10.0.0.0/24',
  '10.0.0.1/24',
  '11.0.0.0/24',
  '1.2.3.4/3',
  '100.20.3.0/9',
  '192.168.100.200/31',
  '1.2.3.0/24',
  '1.2.30.0/24',
  '1.23.0.0/24',
  '12.3.0.0/24',
];

describe('PrefixKeys basics', () => {
  it('intern hands out dense ids; get finds them; text gives the key back', () => {
    const keys = new PrefixKeys();
    expect(keys.size).toBe(0);
    expect(keys.limit).toBe(0);
    expect(keys.get(0, '10.0.0.0/8')).toBe(-1);
    const a = keys.intern(0, '10.0.0.0/8');
    const b = keys.intern(0, '192.168.0.0/16');
    const c = keys.intern(0, '2001:db8::/32');
    expect([a, b, c]).toEqual([0, 1, 2]);
    expect(keys.intern(0, '10.0.0.0/8')).toBe(a);
    expect(keys.intern(0, '2001:db8::/32')).toBe(c);
    expect(keys.get(0, '192.168.0.0/16')).toBe(b);
    expect(keys.get(0, '2001:db8::/32')).toBe(c);
    expect(keys.get(0, '192.168.0.0/17')).toBe(-1);
    expect(keys.get(0, '2001:db8::/33')).toBe(-1);
    expect(keys.size).toBe(3);
    expect(keys.limit).toBe(3);
    expect(keys.text(a)).toBe('10.0.0.0/8');
    expect(keys.text(b)).toBe('192.168.0.0/16');
    expect(keys.text(c)).toBe('2001:db8::/32');
    expect(keys.famOf(b)).toBe(0);
    expect(keys.live(a) && keys.live(b) && keys.live(c)).toBe(true);
    expect(keys.live(-1)).toBe(false);
    expect(keys.live(3)).toBe(false);
  });

  it('delete frees an id: not found, not live, size drops; deleting twice is harmless', () => {
    const keys = new PrefixKeys();
    const a = keys.intern(1, '10.0.0.0/8');
    const b = keys.intern(1, 'fe80::/10');
    const c = keys.intern(1, '10.0.0.0/9');
    keys.delete(a);
    keys.delete(b);
    expect(keys.size).toBe(1);
    expect(keys.limit).toBe(3);
    expect(keys.get(1, '10.0.0.0/8')).toBe(-1);
    expect(keys.get(1, 'fe80::/10')).toBe(-1);
    expect(keys.get(1, '10.0.0.0/9')).toBe(c);
    expect(keys.live(a)).toBe(false);
    expect(keys.live(b)).toBe(false);
    expect(() => keys.text(a)).toThrow(RangeError);
    keys.delete(a);
    keys.delete(-1);
    keys.delete(99);
    expect(keys.size).toBe(1);
    expect(dump(keys)).toEqual([[c, 1, '10.0.0.0/9']]);
  });

  it('reuses freed ids before growing', () => {
    const keys = new PrefixKeys();
    for (let i = 0; i < 10; i++) keys.intern(0, `10.0.${i}.0/24`);
    keys.delete(3);
    keys.delete(7);
    const x = keys.intern(0, '172.16.0.0/12');
    const y = keys.intern(2, 'not a prefix');
    expect([x, y].sort()).toEqual([3, 7]);
    expect(keys.limit).toBe(10);
    expect(keys.intern(0, '172.17.0.0/16')).toBe(10);
    expect(keys.limit).toBe(11);
    expect(keys.text(x)).toBe('172.16.0.0/12');
    expect(keys.text(y)).toBe('not a prefix');
    expect(keys.famOf(y)).toBe(2);
    for (let i = 0; i < 10; i++)
      if (i !== 3 && i !== 7) expect(keys.get(0, `10.0.${i}.0/24`)).toBe(i);
  });

  it('IPv4, IPv6 and non-canonical strings round-trip exactly and are distinct keys', () => {
    const keys = new PrefixKeys(4);
    const all = [...V4, ...V6, ...ODD];
    expect(new Set(all).size).toBe(all.length);
    const ids = all.map((s) => keys.intern(0, s));
    expect(new Set(ids).size).toBe(all.length);
    all.forEach((s, i) => {
      expect(keys.text(ids[i]!)).toBe(s);
      expect(keys.get(0, s)).toBe(ids[i]);
      expect(keys.intern(0, s)).toBe(ids[i]);
    });
    expect(keys.size).toBe(all.length);
    // the same numeric value spelled differently is another key
    expect(keys.get(0, '1.2.3.4/24')).toBe(-1);
    const canon = keys.intern(0, '1.2.3.4/24');
    expect(keys.get(0, '1.2.3.4/024')).not.toBe(canon);
    expect(keys.text(canon)).toBe('1.2.3.4/24');
    expect(keys.text(keys.get(0, '1.2.3.4/024'))).toBe('1.2.3.4/024');
  });

  it('host bits are part of the key', () => {
    const keys = new PrefixKeys();
    const a = keys.intern(0, '10.0.0.0/24');
    const b = keys.intern(0, '10.0.0.1/24');
    expect(a).not.toBe(b);
    expect(keys.text(b)).toBe('10.0.0.1/24');
  });

  it('the same prefix in two families is two ids', () => {
    const keys = new PrefixKeys();
    for (const p of ['10.0.0.0/8', '2001:db8::/32', '01.0.0.0/8']) {
      const a = keys.intern(0, p);
      expect(keys.get(1, p)).toBe(-1);
      const b = keys.intern(1, p);
      const c = keys.intern(255, p);
      expect(new Set([a, b, c]).size).toBe(3);
      expect([keys.famOf(a), keys.famOf(b), keys.famOf(c)]).toEqual([0, 1, 255]);
      expect([keys.text(a), keys.text(b), keys.text(c)]).toEqual([p, p, p]);
      keys.delete(a);
      expect(keys.get(0, p)).toBe(-1);
      expect(keys.get(1, p)).toBe(b);
      expect(keys.get(255, p)).toBe(c);
    }
  });

  it('family slots outside 0..255 are refused by intern and found by no get', () => {
    const keys = new PrefixKeys();
    keys.intern(0, '10.0.0.0/8');
    expect(() => keys.intern(256, '10.0.0.0/8')).toThrow(RangeError);
    expect(() => keys.intern(-1, '10.0.0.0/8')).toThrow(RangeError);
    expect(() => keys.intern(1.5, '10.0.0.0/8')).toThrow(RangeError);
    expect(keys.get(256, '10.0.0.0/8')).toBe(-1);
    expect(keys.size).toBe(1);
  });

  it('any string and any canonical IPv4 text round-trips', () => {
    const canonical = fc
      .tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))
      .map(([a, l]) => `${a}/${l}`);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.oneof(canonical, fc.string(), fc.ipV4Extended(), fc.ipV6()), {
          maxLength: 40,
        }),
        fc.integer({ min: 0, max: 255 }),
        (strs, fam) => {
          const keys = new PrefixKeys(1);
          const ids = strs.map((s) => keys.intern(fam, s));
          expect(new Set(ids).size).toBe(strs.length);
          strs.forEach((s, i) => {
            expect(keys.text(ids[i]!)).toBe(s);
            expect(keys.get(fam, s)).toBe(ids[i]);
          });
        },
      ),
    );
  });
});

describe('PrefixKeys growth', () => {
  it('keeps every mapping past the initial capacity (200k keys), and through deleting half', () => {
    const keys = new PrefixKeys(16);
    const N = 200_000;
    const key = (i: number): [number, string] =>
      i % 10 === 9
        ? [1, `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`]
        : [0, `${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}.${i % 7}/${16 + (i % 17)}`];
    let bad = 0;
    for (let i = 0; i < N; i++) {
      const [f, s] = key(i);
      if (keys.intern(f, s) !== i) bad++;
    }
    expect(bad).toBe(0);
    expect(keys.size).toBe(N);
    expect(keys.limit).toBe(N);
    for (let i = 0; i < N; i++) {
      const [f, s] = key(i);
      if (keys.get(f, s) !== i || keys.text(i) !== s || keys.famOf(i) !== f) bad++;
    }
    expect(bad).toBe(0);
    for (let i = 0; i < N; i += 2) keys.delete(i);
    expect(keys.size).toBe(N / 2);
    for (let i = 0; i < N; i++) {
      const [f, s] = key(i);
      if (keys.get(f, s) !== (i % 2 ? i : -1)) bad++;
      if (keys.live(i) !== (i % 2 === 1)) bad++;
    }
    expect(bad).toBe(0);
    // re-interning reuses exactly the freed ids
    const again = new Set<number>();
    for (let i = 0; i < N; i += 2) {
      const [f, s] = key(i);
      again.add(keys.intern(f, s));
    }
    expect(keys.limit).toBe(N);
    expect(keys.size).toBe(N);
    expect(again.size).toBe(N / 2);
    for (const id of again) if (id % 2 !== 0) bad++;
    for (let i = 0; i < N; i++) {
      const [f, s] = key(i);
      const id = keys.get(f, s);
      if (id < 0 || keys.text(id) !== s || keys.famOf(id) !== f) bad++;
    }
    expect(bad).toBe(0);
  });
});

describe('PrefixKeys model test', () => {
  // A small universe so that sequences hit existing keys, freed ids and long probe runs.
  const UNIVERSE = [
    ...V4,
    '10.0.0.0/16',
    '10.0.1.0/24',
    '10.0.2.0/24',
    '10.0.3.0/24',
    '192.0.2.0/24',
    '198.51.100.0/24',
    '203.0.113.0/24',
    ...V6,
    ...ODD.slice(0, 8),
  ];
  type Op =
    | { op: 'intern'; fam: number; key: number }
    | { op: 'get'; fam: number; key: number }
    | { op: 'delete'; pick: number };
  const fam = fc.integer({ min: 0, max: 2 });
  const key = fc.integer({ min: 0, max: UNIVERSE.length - 1 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('intern' as const), fam, key }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), fam, key }) },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat({ max: 200 }) }),
    },
  );

  it('agrees with a Map after every step', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.array(op, { maxLength: 300 }), (cap, ops) => {
        const keys = new PrefixKeys(cap);
        /** `${fam} ${key}` -> id */
        const model = new Map<string, number>();
        const byId = new Map<number, [number, string]>();
        let limit = 0;
        for (const o of ops) {
          if (o.op === 'intern') {
            const s = UNIVERSE[o.key]!;
            const k = `${o.fam} ${o.key}`;
            const known = model.get(k);
            const id = keys.intern(o.fam, s);
            if (known !== undefined) expect(id).toBe(known);
            else {
              // a freed id when there is one, else the next one
              if (byId.size < limit) {
                expect(id).toBeLessThan(limit);
                expect(byId.has(id)).toBe(false);
              } else expect(id).toBe(limit++);
              model.set(k, id);
              byId.set(id, [o.fam, s]);
            }
          } else if (o.op === 'get') {
            expect(keys.get(o.fam, UNIVERSE[o.key]!)).toBe(model.get(`${o.fam} ${o.key}`) ?? -1);
          } else {
            // mostly a live id, sometimes a dead or never-used one
            const live = [...byId.keys()];
            const id = live.length > 0 && o.pick < 180 ? live[o.pick % live.length]! : o.pick - 190;
            keys.delete(id);
            const e = byId.get(id);
            if (e !== undefined) {
              byId.delete(id);
              for (const [k, v] of model) if (v === id) model.delete(k);
            }
          }
          expect(keys.size).toBe(model.size);
          expect(keys.limit).toBe(limit);
          for (let f = 0; f < 3; f++)
            for (let i = 0; i < UNIVERSE.length; i++)
              expect(keys.get(f, UNIVERSE[i]!)).toBe(model.get(`${f} ${i}`) ?? -1);
          for (let id = -1; id <= limit; id++) {
            const e = byId.get(id);
            expect(keys.live(id)).toBe(e !== undefined);
            if (e !== undefined) {
              expect(keys.famOf(id)).toBe(e[0]);
              expect(keys.text(id)).toBe(e[1]);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
