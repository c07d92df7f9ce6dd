// The route server with the real codec: bytes in, bytes out.
import { describe, expect, it } from 'vitest';
import { AttrInterner, decodeMessage, encodeUpdates, makeAttributes } from '../../src/bgp/codec.ts';
import type { BgpMessage, CodecOptions, UpdateMessage } from '../../src/bgp/types.ts';
import { RouteServer, type Sink } from '../../src/rs/server.ts';
import { addrOf, client, FakePolicy, info } from './helpers.ts';

const OPTS: CodecOptions = { as4: true };

class WirePeer implements Sink {
  readonly opts: CodecOptions = { as4: true, extendedMessage: true };
  readonly msgs: BgpMessage[] = [];
  readonly sizes: number[] = [];
  write(bytes: Uint8Array): boolean {
    this.sizes.push(bytes.length);
    this.msgs.push(decodeMessage(bytes, this.opts));
    return true;
  }
  onDrain(): void {}
  updates(): UpdateMessage[] {
    return this.msgs.filter((m): m is UpdateMessage => m.type === 'update');
  }
}

function setup() {
  const rs = new RouteServer({
    policy: new FakePolicy(),
    scheduler: 'manual',
    log: { warn: () => {}, info: () => {} },
  });
  const interner = new AttrInterner();
  const peers = new Map<number, WirePeer>();
  for (const asn of [65001, 65002, 65003]) {
    rs.addClient(client(asn, [addrOf(asn)]));
    const p = new WirePeer();
    peers.set(asn, p);
    rs.sessionUp(`AS${asn}`, info({ bgpId: asn }), p);
  }
  rs.flush();
  const feed = (asn: number, bytes: Uint8Array[]) => {
    for (const b of bytes)
      rs.receiveUpdate(`AS${asn}`, decodeMessage(b, OPTS, interner) as UpdateMessage);
    rs.flush();
  };
  return { rs, peers, feed };
}

describe('route server on the real codec', () => {
  it('RFC 7947 §2.2: attributes leave byte-identical (AS_PATH, NEXT_HOP, MED, communities, unknown transitive)', () => {
    const { peers, feed } = setup();
    const a = makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns: [65001, 4200000001] }],
      nextHop: '192.0.2.77',
      med: 10,
      communities: [(65001 << 16) | 1],
      largeCommunities: [[65001, 2, 3]],
      other: [{ flags: 0xe0, type: 250, value: new Uint8Array([9, 9]) }],
    });
    const prefixes = Array.from({ length: 1000 }, (_, i) => ({
      prefix: `10.${i >> 8}.${i & 255}.0/24`,
    }));
    feed(65001, encodeUpdates(OPTS, { afi: 1, safi: 1, attrs: a, nlri: prefixes, withdrawn: [] }));
    const p2 = peers.get(65002)!;
    const ups = p2.updates().filter((u) => u.nlri.length > 0);
    expect(ups.reduce((n, u) => n + u.nlri.length, 0)).toBe(1000);
    expect(ups.length).toBeLessThanOrEqual(2); // packed: ~1000 x 4 octets in 4096-octet messages
    for (const u of ups) {
      expect([...u.attrs!.wire]).toEqual([...a.wire]);
      expect(u.attrs!.nextHop).toBe('192.0.2.77');
      expect(u.attrs!.asPath).toEqual([{ type: 2, asns: [65001, 4200000001] }]);
    }
    expect(Math.max(...p2.sizes)).toBeLessThanOrEqual(4096);
    expect(
      peers
        .get(65001)!
        .updates()
        .filter((u) => u.nlri.length > 0),
    ).toHaveLength(0);
  });

  it('RFC 4760 §3 / RFC 4724 §2: IPv6 goes out in MP_REACH_NLRI with the next hop unchanged; End-of-RIB decodes', () => {
    const { peers, feed } = setup();
    const a = makeAttributes({ origin: 0, asPath: [{ type: 2, asns: [65001] }] });
    const nh = { global: '2001:db8::1', linkLocal: 'fe80::1' };
    feed(
      65001,
      encodeUpdates(OPTS, {
        afi: 2,
        safi: 1,
        attrs: a,
        nextHop: nh,
        nlri: [{ prefix: '2001:db8:100::/40' }],
        withdrawn: [],
      }),
    );
    const u = peers
      .get(65003)!
      .updates()
      .find((m) => m.mpReach !== null)!;
    expect(u.mpReach).toMatchObject({
      afi: 2,
      safi: 1,
      nextHop: nh,
      nlri: [{ prefix: '2001:db8:100::/40' }],
    });
    // The initial End-of-RIB markers (sent at session up) decode as such.
    const eor = peers.get(65003)!.updates()[0]!;
    expect(eor.attrs === null && eor.nlri.length === 0 && eor.withdrawn.length === 0).toBe(true);
  });
});

describe('message size', () => {
  it('RFC 8654 §4: a path too big for a peer without Extended Message is withdrawn toward it, sent to the others', () => {
    const warned: string[] = [];
    const rs = new RouteServer({
      policy: new FakePolicy(),
      scheduler: 'manual',
      log: { warn: (_o, m) => warned.push(m), info: () => {} },
    });
    const big = new WirePeer();
    const small = new WirePeer();
    for (const asn of [65001, 65002, 65003]) rs.addClient(client(asn, [addrOf(asn)]));
    const ext: CodecOptions = { as4: true, extendedMessage: true };
    rs.sessionUp('AS65001', info({ codec: ext, groupKey: 'ext' }), new WirePeer());
    rs.sessionUp('AS65002', info({ codec: ext, groupKey: 'ext' }), big);
    rs.sessionUp('AS65003', info({ codec: OPTS, groupKey: 'std' }), small);
    // ~6000 octets of large communities: fits 65535, not 4096.
    const lc = Array.from({ length: 500 }, (_, i): [number, number, number] => [65001, i, i]);
    const a = makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns: [65001] }],
      nextHop: addrOf(65001),
      largeCommunities: lc,
    });
    rs.receiveUpdate('AS65001', {
      type: 'update',
      withdrawn: [],
      attrs: a,
      nlri: [{ prefix: '203.0.113.0/24' }],
      mpReach: null,
      mpUnreach: null,
      errors: [],
    });
    rs.flush();
    expect(big.sizes.some((n) => n > 4096)).toBe(true);
    const got = small.updates().filter((u) => u.withdrawn.length > 0 || u.nlri.length > 0);
    expect(got.map((u) => [u.nlri.length, u.withdrawn.map((w) => w.prefix)])).toEqual([
      [0, ['203.0.113.0/24']],
    ]);
    expect(warned.some((m) => m.includes('RFC 8654'))).toBe(true);
  });
});
