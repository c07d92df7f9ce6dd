// Attribute flags through the real codec and the route server (issue 14): a
// client sends an attribute section whose flags octets RFC 4271 §4.3 forbids
// a speaker to send; every other client must get the same attributes with the
// flags as they must be sent, the bytes otherwise unchanged, and the route
// server must still keep one shared attribute set (no per-client copy).
import { describe, expect, it } from 'vitest';
import { applyExternalPeerRules, decodeMessage } from '../../src/bgp/codec.ts';
import type { BgpMessage, CodecOptions, UpdateMessage } from '../../src/bgp/types.ts';
import { RouteServer, type Sink } from '../../src/rs/server.ts';
import { addrOf, client, FakePolicy, info } from './helpers.ts';

/** What negotiate() gives for a 4-octet-AS client of the route server. */
const RX: CodecOptions = { as4: true, external: true };

/** One attribute, header included; `ext` forces a two-octet length. */
function attr(flags: number, type: number, value: number[]): number[] {
  const n = value.length;
  if (flags & 0x10) return [flags, type, n >> 8, n & 0xff, ...value];
  return [flags, type, n, ...value];
}

/** A whole UPDATE: attribute section `attrs`, IPv4 NLRI 198.51.100.<i>/32... as /24s. */
function update(attrs: number[], nlri: string[]): Uint8Array {
  const n: number[] = [];
  for (const p of nlri) {
    const [a, len] = p.split('/') as [string, string];
    const bytes = a.split('.').map(Number);
    n.push(Number(len), ...bytes.slice(0, Math.ceil(Number(len) / 8)));
  }
  const body = [0, 0, attrs.length >> 8, attrs.length & 0xff, ...attrs, ...n];
  const len = 19 + body.length;
  return Uint8Array.from([...new Array(16).fill(0xff), len >> 8, len & 0xff, 2, ...body]);
}

const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const NH = addrOf(65001).split('.').map(Number);
const ORIGIN = [0x00];
const AS_PATH = [2, 2, ...u32(65001), ...u32(4200000001)];
const MED = u32(10);
const COMM = [...u32((65001 << 16) | 7), ...u32((65001 << 16) | 8)];
const LARGE = [...u32(65001), ...u32(1), ...u32(2)];
const UNKNOWN = [9, 9, 9];

/** The section as a correct speaker sends it; `f` overrides flags by type. */
function section(f: Record<number, number> = {}): number[] {
  const fl = (t: number, d: number) => f[t] ?? d;
  return [
    ...attr(fl(1, 0x40), 1, ORIGIN),
    ...attr(fl(2, 0x40), 2, AS_PATH),
    ...attr(fl(3, 0x40), 3, NH),
    ...attr(fl(4, 0x80), 4, MED),
    ...attr(fl(8, 0xc0), 8, COMM),
    ...attr(fl(32, 0xc0), 32, LARGE),
    ...attr(fl(250, 0xe0), 250, UNKNOWN),
  ];
}

const KNOWN: Record<number, number> = { 1: 0x40, 2: 0x40, 3: 0x40, 4: 0x80, 8: 0xc0, 32: 0xc0 };

/** Attribute headers of a section: [flags, type, value length, header length]. */
function headers(w: Uint8Array): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (let p = 0; p < w.length; ) {
    const ext = (w[p]! & 0x10) !== 0;
    const len = ext ? (w[p + 2]! << 8) | w[p + 3]! : w[p + 2]!;
    out.push([w[p]!, w[p + 1]!, len, ext ? 4 : 3]);
    p += (ext ? 4 : 3) + len;
  }
  return out;
}

/** RFC 4271 §4.3 for what a speaker sends. */
function expectSendable(w: Uint8Array): void {
  for (const [flags, type, len] of headers(w)) {
    expect(flags & 0x0f, `type ${type}: unused bits`).toBe(0);
    expect((flags & 0x10) !== 0, `type ${type}: Extended Length`).toBe(len > 255);
    if ((flags & 0xc0) !== 0xc0) expect(flags & 0x20, `type ${type}: Partial`).toBe(0);
    const known = KNOWN[type];
    if (known !== undefined) expect(flags & 0xc0, `type ${type}: Optional/Transitive`).toBe(known);
  }
}

/** The attribute section of an UPDATE message, without MP_REACH/MP_UNREACH. */
function attrSection(m: Uint8Array): Uint8Array {
  const wl = (m[19]! << 8) | m[20]!;
  const p = 21 + wl;
  const al = (m[p]! << 8) | m[p + 1]!;
  const all = m.subarray(p + 2, p + 2 + al);
  const parts: number[] = [];
  let q = 0;
  for (const [flags, type, len, hl] of headers(all)) {
    if (type !== 14 && type !== 15) parts.push(...all.subarray(q, q + hl + len));
    q += hl + len;
    void flags;
  }
  return Uint8Array.from(parts);
}

class WirePeer implements Sink {
  readonly opts: CodecOptions;
  readonly raw: Uint8Array[] = [];
  readonly msgs: BgpMessage[] = [];
  constructor(opts: CodecOptions) {
    this.opts = opts;
  }
  write(bytes: Uint8Array): boolean {
    this.raw.push(bytes);
    this.msgs.push(decodeMessage(bytes, this.opts));
    return true;
  }
  onDrain(): void {}
  /** Raw UPDATEs announcing something. */
  announcements(): Uint8Array[] {
    return this.raw.filter((_, i) => {
      const m = this.msgs[i]!;
      return m.type === 'update' && m.nlri.length > 0;
    });
  }
  withdrawn(): string[] {
    return this.msgs.flatMap((m) => (m.type === 'update' ? m.withdrawn.map((w) => w.prefix) : []));
  }
  clear(): void {
    this.raw.length = 0;
    this.msgs.length = 0;
  }
}

function setup() {
  const rs = new RouteServer({
    policy: new FakePolicy(),
    scheduler: 'manual',
    log: { warn: () => {}, info: () => {} },
  });
  const peers = new Map<number, WirePeer>();
  for (const asn of [65001, 65002, 65003, 65004]) {
    rs.addClient(client(asn, [addrOf(asn)]));
    // 65004 is a 2-octet-AS client: its attributes are re-encoded, not reused.
    const codec: CodecOptions = asn === 65004 ? { as4: false } : { as4: true };
    const p = new WirePeer(codec);
    peers.set(asn, p);
    rs.sessionUp(
      `AS${asn}`,
      info({ bgpId: asn, codec, groupKey: asn === 65004 ? 'as2' : 'as4' }),
      p,
    );
  }
  rs.flush();
  for (const p of peers.values()) p.clear();
  // As the daemon does: decode with the session's options, then the external-peer rules.
  const send = (bytes: Uint8Array) => {
    const u = applyExternalPeerRules(decodeMessage(bytes, RX) as UpdateMessage);
    rs.receiveUpdate('AS65001', u);
    rs.flush();
  };
  return { rs, peers, send };
}

const hexOf = (b: ArrayLike<number>): string => Buffer.from(Uint8Array.from(b)).toString('hex');

describe('RFC 4271 §4.3: attribute flags are sent as the RFC requires, whatever was received', () => {
  const cases: [string, Record<number, number>, Record<number, number>][] = [
    // [title, flags as received, flags expected on output where not the default]
    ['unused low-order bits set on ORIGIN', { 1: 0x4f }, {}],
    [
      'unused low-order bits set on every attribute',
      { 1: 0x41, 2: 0x42, 3: 0x44, 4: 0x88, 8: 0xc3, 32: 0xcf, 250: 0xe5 },
      {},
    ],
    ['Partial on the well-known ORIGIN, AS_PATH, NEXT_HOP', { 1: 0x60, 2: 0x60, 3: 0x60 }, {}],
    ['Partial on the optional non-transitive MULTI_EXIT_DISC', { 4: 0xa0 }, {}],
    [
      'Extended Length on short attributes (AS_PATH as FRR sends it, COMMUNITIES, unknown)',
      { 2: 0x50, 8: 0xd0, 250: 0xf0 },
      {},
    ],
    ['all of it at once', { 1: 0x7f, 2: 0x7f, 3: 0x6f, 4: 0xbf, 32: 0xff }, { 32: 0xe0 }],
    ['RFC 4271 §5: Partial on an optional transitive attribute is kept', { 8: 0xe0 }, { 8: 0xe0 }],
    [
      'RFC 4271 §5: an unknown optional transitive attribute gets the Partial bit',
      { 250: 0xc0 },
      {},
    ],
  ];
  for (const [title, received, expected] of cases) {
    it(`${title}: every other client gets the attributes with correct flags, otherwise byte for byte`, () => {
      const { rs, peers, send } = setup();
      send(update(section(received), ['198.51.100.0/24']));
      const want = hexOf(section(expected));
      const sent = new Set<Uint8Array>();
      for (const asn of [65002, 65003]) {
        const got = peers.get(asn)!.announcements();
        expect(got).toHaveLength(1);
        expect(hexOf(attrSection(got[0]!))).toBe(want);
        expectSendable(attrSection(got[0]!));
        sent.add(got[0]!);
      }
      // one encoding for the output group: the same bytes object to both
      expect(sent.size).toBe(1);
      // the 2-octet-AS client gets its own encoding, with correct flags too
      const as2 = peers.get(65004)!.announcements();
      expect(as2).toHaveLength(1);
      expectSendable(attrSection(as2[0]!));
      const as2flags = new Map(headers(attrSection(as2[0]!)).map(([f, t]) => [t, f]));
      expect(as2flags.get(8)).toBe(expected[8] ?? 0xc0);
      expect(peers.get(65001)!.announcements()).toHaveLength(0);
      // the same attributes sent correctly for another prefix share the interned set
      send(update(section(expected), ['203.0.113.0/24']));
      expect(rs.stats().attrSets).toBe(1);
      const again = peers.get(65002)!.announcements();
      expect(again).toHaveLength(2);
      expect(hexOf(attrSection(again[1]!))).toBe(want);
    });
  }

  const wrong: [string, Record<number, number>][] = [
    ['ORIGIN flagged optional transitive', { 1: 0xc0 }],
    ['MULTI_EXIT_DISC flagged transitive', { 4: 0xc0 }],
    ['COMMUNITIES flagged non-transitive', { 8: 0x80 }],
    ['AS_PATH flagged optional', { 2: 0x80 }],
  ];
  for (const [title, received] of wrong) {
    it(`RFC 7606 §3.c: ${title} is treat-as-withdraw: the others get a withdraw, never the attribute`, () => {
      const { rs, peers, send } = setup();
      send(update(section(), ['198.51.100.0/24']));
      for (const p of peers.values()) p.clear();
      send(update(section(received), ['198.51.100.0/24']));
      for (const asn of [65002, 65003, 65004]) {
        const p = peers.get(asn)!;
        expect(p.announcements()).toHaveLength(0);
        expect(p.withdrawn()).toEqual(['198.51.100.0/24']);
      }
      expect(rs.stats().prefixes).toBeLessThanOrEqual(1);
    });
  }
});
