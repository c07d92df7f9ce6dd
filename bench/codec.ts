// BGP codec benchmark: a full-table-like load (~900k IPv4 + ~200k IPv6
// prefixes, 1-30 prefixes per UPDATE, AS paths 2-8 long, some communities and
// large communities), encoded with encodeUpdates and decoded with
// decodeMessage on one core. Prints prefixes per second.
//
//   npm run bench:codec              (defaults)
//   node bench/codec.ts --v4 900000 --v6 200000 --rounds 3

import { AttrInterner, makeAttributes } from '../src/bgp/attributes.ts';
import { decodeMessage, encodeUpdates } from '../src/bgp/codec.ts';
import { formatPrefix } from '../src/bgp/prefix.ts';
import type { CodecOptions, Nlri, PathAttributes, UpdateMessage } from '../src/bgp/types.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const V4 = arg('v4', 900_000);
const V6 = arg('v6', 200_000);
const ROUNDS = arg('rounds', 3);

let seed = 0x2545f491;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}
function int(lo: number, hi: number): number {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

function randomAttrs(v6: boolean): PathAttributes {
  const n = int(2, 8);
  const asns: number[] = [];
  for (let i = 0; i < n; i++) asns.push(rnd() < 0.3 ? int(131072, 4199999999) : int(1, 64495));
  const f: Parameters<typeof makeAttributes>[0] = {
    origin: rnd() < 0.9 ? 0 : 2,
    asPath: [{ type: 2, asns }],
  };
  if (!v6) f.nextHop = `192.0.2.${int(1, 254)}`;
  if (rnd() < 0.3) f.med = int(0, 1000);
  if (rnd() < 0.4) {
    f.communities = [];
    for (let i = int(1, 6); i > 0; i--)
      f.communities.push(((asns[0]! & 0xffff) << 16) | int(0, 65535));
  }
  if (rnd() < 0.15) {
    f.largeCommunities = [];
    for (let i = int(1, 3); i > 0; i--)
      f.largeCommunities.push([asns[0]!, int(0, 100), int(0, 1000)]);
  }
  return makeAttributes(f);
}

function v4prefix(): string {
  const len = rnd() < 0.6 ? 24 : int(8, 23);
  const a = (int(1, 223) << 24) | int(0, 0xffffff);
  const b = new Uint8Array([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]);
  return formatPrefix({ afi: 1, len, bytes: b });
}

function v6prefix(): string {
  const len = rnd() < 0.5 ? 48 : int(19, 47);
  const b = new Uint8Array(16);
  b[0] = 0x20;
  b[1] = int(0, 15) === 0 ? 0x01 : 0x0a;
  for (let i = 2; i < 6; i++) b[i] = int(0, 255);
  return formatPrefix({ afi: 2, len, bytes: b });
}

interface Group {
  afi: 1 | 2;
  attrs: PathAttributes;
  nlri: Nlri[];
}

function generate(): Group[] {
  const groups: Group[] = [];
  const pool4: PathAttributes[] = [];
  const pool6: PathAttributes[] = [];
  for (const [afi, total] of [
    [1, V4],
    [2, V6],
  ] as const) {
    let left = total;
    while (left > 0) {
      const n = Math.min(left, int(1, 30));
      const nlri: Nlri[] = [];
      for (let i = 0; i < n; i++) nlri.push({ prefix: afi === 1 ? v4prefix() : v6prefix() });
      // about three groups per distinct attribute set, as in real tables
      const pool = afi === 1 ? pool4 : pool6;
      let attrs: PathAttributes;
      if (pool.length > 0 && rnd() < 0.66) attrs = pool[int(0, pool.length - 1)]!;
      else {
        attrs = randomAttrs(afi === 2);
        pool.push(attrs);
      }
      groups.push({ afi, attrs, nlri });
      left -= n;
    }
  }
  return groups;
}

const opts: CodecOptions = { as4: true };
const V6NH = { global: '2001:db8::1', linkLocal: 'fe80::1' };

function encodeAll(groups: Group[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const g of groups) {
    const msgs = encodeUpdates(opts, {
      afi: g.afi,
      safi: 1,
      attrs: g.attrs,
      nextHop: g.afi === 2 ? V6NH : undefined,
      nlri: g.nlri,
      withdrawn: [],
    });
    for (const m of msgs) out.push(m);
  }
  return out;
}

function decodeAll(msgs: Uint8Array[], interner?: AttrInterner): number {
  let n = 0;
  for (const b of msgs) {
    const u = decodeMessage(b, opts, interner) as UpdateMessage;
    n += u.nlri.length + (u.mpReach ? u.mpReach.nlri.length : 0);
  }
  return n;
}

function time<T>(f: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = f();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

function rate(n: number, s: number): string {
  return `${(n / s / 1e6).toFixed(2)} M prefixes/s`;
}

const [groups, tg] = time(generate);
const prefixes = V4 + V6;
console.log(
  `input: ${V4} IPv4 + ${V6} IPv6 prefixes in ${groups.length} attribute groups (generated in ${tg.toFixed(1)} s)`,
);
let msgs: Uint8Array[] = [];
const bytes = (): number => msgs.reduce((s, m) => s + m.length, 0);
for (let r = 1; r <= ROUNDS; r++) {
  const [m, te] = time(() => encodeAll(groups));
  msgs = m;
  const [n, td] = time(() => decodeAll(msgs));
  if (n !== prefixes) throw new Error(`decoded ${n} prefixes, expected ${prefixes}`);
  const interner = new AttrInterner();
  const [, ti] = time(() => decodeAll(msgs, interner));
  console.log(
    `round ${r}: encode ${rate(prefixes, te)} (${te.toFixed(2)} s) | decode ${rate(prefixes, td)} (${td.toFixed(2)} s) | decode+intern ${rate(prefixes, ti)} (${ti.toFixed(2)} s, ${interner.size} attribute sets)`,
  );
}
console.log(`${msgs.length} UPDATE messages, ${(bytes() / 1e6).toFixed(1)} MB`);
