// The BMP exporter against a fake collector (a TCP server that decodes what
// arrives): the RFC 8671 Adj-RIB-Out initial dump after Peer Up, in slices,
// End-of-RIB after it, and live mirrored UPDATEs during the dump leaving no
// stale state at the collector. ADD-PATH send sessions stay excluded.

import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { makeAttributes } from '../../src/bgp/attributes.ts';
import type { PathAttributes } from '../../src/bgp/types.ts';
import { decodeUpdate, encodeUpdates } from '../../src/bgp/update.ts';
import { BMP_TYPE, type BmpDecoded, decodeBmp } from '../../src/bmp/codec.ts';
import { BmpExporter, type BmpPeer } from '../../src/bmp/exporter.ts';
import type { ExportView } from '../../src/rs/api.ts';

const silent = pino({ level: 'silent' });

function attrs(asn: number): PathAttributes {
  return makeAttributes({ origin: 0, asPath: [{ type: 2, asns: [asn] }], nextHop: '192.0.2.1' });
}

/** A prefix table with one Adj-RIB-Out per session key: id -> prefix, (key, id) -> route. */
class FakeRib {
  readonly prefixes: (string | null)[] = [];
  readonly out = new Map<string, Map<number, PathAttributes>>();
  onVisit: ((id: number) => void) | null = null;
  readonly entries = {
    limit: 0,
    live: (id: number) => this.prefixes[id] !== null && this.prefixes[id] !== undefined,
    prefix: (id: number) => this.prefixes[id]!,
  };
  add(prefix: string): number {
    this.prefixes.push(prefix);
    this.entries.limit = this.prefixes.length;
    return this.prefixes.length - 1;
  }
  routes(): [] {
    return [];
  }
  exportedAt(id: number, key: string): ExportView[] {
    this.onVisit?.(id);
    const a = this.out.get(key)?.get(id);
    const prefix = this.prefixes[id];
    if (a === undefined || prefix == null) return [];
    return [{ prefix, session: key, pathId: 0, nextHop: { global: '192.0.2.1' }, attrs: a }];
  }
}

/** A stand-in BGP message (Peer Up carries two; only their framing matters here). */
const KEEPALIVE = Uint8Array.from([...new Array<number>(16).fill(0xff), 0, 19, 4]);

function peer(key: string, address: string, addPathTx = false): BmpPeer {
  return {
    key,
    address,
    asn: 64501,
    bgpId: 1,
    sentOpen: KEEPALIVE,
    receivedOpen: KEEPALIVE,
    families: ['1/1'],
    as4: true,
    addPathTx,
    since: 0,
  };
}

describe('BMP exporter: RFC 8671 Adj-RIB-Out initial dump', () => {
  let ex: BmpExporter | null = null;
  let srv: net.Server | null = null;
  afterEach(async () => {
    await ex?.close();
    await new Promise<void>((r) => (srv ? srv.close(() => r()) : r()));
  });

  async function collector(): Promise<{ port: number; received: () => BmpDecoded[] }> {
    const chunks: Buffer[] = [];
    srv = net.createServer((s) => s.on('data', (d: Buffer) => chunks.push(d)));
    await new Promise<void>((r) => srv!.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    // Complete messages only: a read may end inside one.
    const received = (): BmpDecoded[] => {
      const all = Buffer.concat(chunks);
      let p = 0;
      while (p + 6 <= all.length && p + all.readUInt32BE(p + 1) <= all.length)
        p += all.readUInt32BE(p + 1);
      return decodeBmp(new Uint8Array(all.subarray(0, p)));
    };
    return { port, received };
  }

  it('dumps every session Adj-RIB-Out after Peer Up with O and L flags, then End-of-RIB; live changes during the dump win', async () => {
    const rib = new FakeRib();
    const a = peer('A@192.0.2.11', '192.0.2.11');
    const b = peer('B@192.0.2.12', '192.0.2.12');
    const ap = peer('C@192.0.2.13', '192.0.2.13', true);
    const outA = new Map<number, PathAttributes>();
    const outB = new Map<number, PathAttributes>();
    const outC = new Map<number, PathAttributes>();
    rib.out.set(a.key, outA);
    rib.out.set(b.key, outB);
    rib.out.set(ap.key, outC);
    const N = 6000;
    for (let i = 0; i < N; i++) {
      const id = rib.add(`10.${i >> 8}.${i & 255}.0/24`);
      outA.set(id, attrs(64600));
      if (i % 2 === 0) outB.set(id, attrs(64601));
      outC.set(id, attrs(64602));
    }
    const { port, received } = await collector();
    ex = new BmpExporter(
      {
        address: '127.0.0.1',
        port,
        bufferBytes: 8 << 20,
        reconnectS: 30,
        adjRibOut: true,
        sysName: 't',
      },
      {
        rib,
        peers: () => [a, b, ap],
        local: () => ({ address: '192.0.2.1', port: 179 }),
        sysName: 't',
        sysDescr: 'test',
      },
      silent,
    );
    // What the core would do between two slices of the dump: change the
    // Adj-RIB-Out and write the UPDATEs (mirrored through sent()).
    const live = (
      key: string,
      m: Map<number, PathAttributes>,
      id: number,
      to: PathAttributes | null,
    ): void => {
      const prefix = rib.prefixes[id]!;
      if (to === null) m.delete(id);
      else m.set(id, to);
      for (const u of encodeUpdates(
        { as4: true },
        to === null
          ? { afi: 1, safi: 1, attrs: null, nlri: [], withdrawn: [{ prefix }] }
          : {
              afi: 1,
              safi: 1,
              attrs: to,
              nextHop: { global: '192.0.2.1' },
              nlri: [{ prefix }],
              withdrawn: [],
            },
      ))
        ex!.sent(key, u);
    };
    let firstVisit = -1;
    let reused = -1;
    let added = -1;
    rib.onVisit = (id) => {
      if (firstVisit >= 0) return;
      firstVisit = id;
      // The next turn: the walk has yielded (a slice is at most 2000 entries).
      setImmediate(() => {
        live(a.key, outA, N - 10, null); // withdrawn before the walk gets there
        live(a.key, outA, 0, null); // withdrawn after the walk passed it
        live(a.key, outA, 1, attrs(64700)); // changed after
        live(b.key, outB, N - 2, attrs(64701)); // changed before
        // An entry deleted and its id reused for a new prefix below the cursor.
        live(a.key, outA, 2, null);
        live(b.key, outB, 2, null);
        rib.prefixes[2] = null;
        live(a.key, outA, 3, null);
        rib.prefixes[3] = '10.200.0.0/24';
        reused = 3;
        live(a.key, outA, 3, attrs(64702));
        added = rib.add('10.201.0.0/24');
        live(a.key, outA, added, attrs(64703));
      });
    };
    ex.start();
    const eor = (m: BmpDecoded, key: BmpPeer): boolean =>
      m.type === BMP_TYPE.ROUTE_MONITORING &&
      m.peer!.address === key.address &&
      m.peer!.adjRibOut === true &&
      m.pdus[0]!.length === 23;
    const end = Date.now() + 20_000;
    while (!(received().some((m) => eor(m, a)) && received().some((m) => eor(m, b)))) {
      if (Date.now() > end) throw new Error('no Adj-RIB-Out End-of-RIB');
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(firstVisit).toBeGreaterThanOrEqual(0);
    expect(reused).toBe(3);
    const msgs = received();
    // Peer Up for each session before any of its Route Monitoring.
    for (const p of [a, b, ap]) {
      const up = msgs.findIndex(
        (m) => m.type === BMP_TYPE.PEER_UP && m.peer!.address === p.address,
      );
      const rm = msgs.findIndex(
        (m) => m.type === BMP_TYPE.ROUTE_MONITORING && m.peer!.address === p.address,
      );
      expect(up).toBeGreaterThanOrEqual(0);
      if (rm >= 0) expect(up).toBeLessThan(rm);
    }
    // Replay what the collector saw, per session, in order.
    const seen = new Map<string, Map<string, string>>();
    let afterEor = 0;
    const eorAt = new Map<string, number>();
    msgs.forEach((m, i) => {
      if (m.type !== BMP_TYPE.ROUTE_MONITORING || !m.peer!.adjRibOut) return;
      expect(m.peer!.postPolicy).toBe(true);
      const addr = m.peer!.address;
      if (m.pdus[0]!.length === 23) {
        eorAt.set(addr, i);
        return;
      }
      if (eorAt.has(addr)) afterEor++;
      const u = decodeUpdate(m.pdus[0]!, { as4: true });
      const t = seen.get(addr) ?? new Map<string, string>();
      seen.set(addr, t);
      for (const w of u.withdrawn) t.delete(w.prefix);
      for (const n of u.nlri) t.set(n.prefix, JSON.stringify(u.attrs?.asPath));
    });
    expect(afterEor).toBe(0);
    const want = (m: Map<number, PathAttributes>): Map<string, string> =>
      new Map([...m].map(([id, x]) => [rib.prefixes[id]!, JSON.stringify(x.asPath)]));
    expect(seen.get(a.address)).toEqual(want(outA));
    expect(seen.get(b.address)).toEqual(want(outB));
    expect(seen.get(a.address)!.has('10.0.0.0/24')).toBe(false);
    expect(seen.get(a.address)!.get('10.200.0.0/24')).toBe(JSON.stringify(attrs(64702).asPath));
    expect(seen.get(a.address)!.has('10.201.0.0/24')).toBe(true);
    expect(added).toBe(N);
    // ADD-PATH send: not mirrored, no dump.
    expect(seen.has(ap.address)).toBe(false);
    expect(ex.stats.dumps).toBe(1);
  }, 30_000);
});
