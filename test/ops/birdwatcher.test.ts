// The birdwatcher-compatible API (Alice-LG's "single_table" birdwatcher
// source): answers have the shapes Alice-LG parses (fixtures/birdwatcher/),
// the lists equal what the control socket answers, and a rejected route
// shows its reject reason as Euro-IX (rs_as:1101:x) and arouteserver
// (rs_as:65520:x) large communities.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAttributes } from '../../src/bgp/attributes.ts';
import type { BgpSpeaker } from '../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import { handleRequest } from '../../src/ops/control.ts';
import type { Daemon } from '../../src/ops/daemon.ts';
import { protocolId, shortTime } from '../../src/ops/http/birdwatcher.ts';
import type { RoutesResult } from '../../src/ops/model.ts';
import { simClient, startLoopbackDaemon, until } from './lib/loopback.ts';
import { ROOT } from './subprocess.ts';

const GENERAL = `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  filtering:
    reject_invalid_as_in_as_path: False
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
    ipv4_pref_len:
      min: 8
      max: 24
    reject_policy:
      policy: tag
`;
const CLIENTS = `clients:
  - asn: 64571
    ip: "127.0.0.71"
    description: "client A"
  - asn: 64572
    ip: "127.0.0.72"
`;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function kind(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Every key of `shape` is in `value` with the same JSON type ('*' = every key of a map). */
function conforms(value: Json, shape: Json, path = '$'): string[] {
  if (kind(value) !== kind(shape)) return [`${path}: ${kind(value)} where ${kind(shape)} expected`];
  if (Array.isArray(shape) && Array.isArray(value)) {
    if (shape.length === 0) return [];
    return value.flatMap((v, i) => conforms(v, shape[0]!, `${path}[${i}]`));
  }
  if (kind(shape) === 'object') {
    const s = shape as Record<string, Json>;
    const v = value as Record<string, Json>;
    if ('*' in s)
      return Object.entries(v).flatMap(([k, x]) => conforms(x, s['*']!, `${path}.${k}`));
    return Object.entries(s).flatMap(([k, x]) =>
      k in v ? conforms(v[k]!, x, `${path}.${k}`) : [`${path}.${k}: missing`],
    );
  }
  return [];
}

function fixture(name: string): Json {
  return JSON.parse(readFileSync(`${ROOT}fixtures/birdwatcher/${name}.json`, 'utf8')) as Json;
}

function update(
  prefixes: string[],
  asns: number[],
  nextHop: string,
  large?: [number, number, number][],
): UpdateMessage {
  return {
    type: 'update',
    withdrawn: [],
    attrs: makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns }],
      nextHop,
      communities: [(asns[0]! << 16) | 42],
      ...(large ? { largeCommunities: large } : {}),
    }),
    nlri: prefixes.map((prefix) => ({ prefix })),
    mpReach: null,
    mpUnreach: null,
    errors: [],
  };
}

describe('birdwatcher-compatible API', () => {
  let daemon: Daemon;
  let base: string;
  const speakers: BgpSpeaker[] = [];
  const A = protocolId('AS64571', '127.0.0.71');
  const B = protocolId('AS64572', '127.0.0.72');

  beforeAll(async () => {
    daemon = await startLoopbackDaemon(CLIENTS, {
      general: GENERAL,
      http: { listen: '127.0.0.1', port: 0, maxConnections: 8 },
    });
    base = `http://127.0.0.1:${daemon.http!.address().port}`;
    const port = daemon.addresses()[0]!.port;
    const sends: [number, string, UpdateMessage[]][] = [
      [
        64571,
        '127.0.0.71',
        [
          update(['193.0.0.0/24', '193.0.1.0/24'], [64571], '127.0.0.71', [[64571, 1, 2]]),
          update(['10.0.0.0/8'], [64571], '127.0.0.71'), // bogon: reason 2, Euro-IX 1101:3
          update(['193.0.2.0/25'], [64571], '127.0.0.71'), // too long: reason 13, Euro-IX 1101:1
        ],
      ],
      [
        64572,
        '127.0.0.72',
        [update(['193.0.0.0/24', '193.0.8.0/24'], [64572, 64572], '127.0.0.72')],
      ],
    ];
    for (const [asn, ip, msgs] of sends) {
      const peer = simClient(speakers, port, asn, ip);
      peer.once('established', () => {
        for (const m of msgs) peer.sendUpdate(m);
      });
    }
    await until(() => daemon.core.sessions().reduce((n, s) => n + s.adjIn, 0) === 6);
    await daemon.core.idle();
  });
  afterAll(async () => {
    await daemon.stop('test over');
    for (const s of speakers) await s.stop();
  });

  const get = async (path: string): Promise<Record<string, Json>> => {
    const r = await fetch(`${base}${path}`);
    expect(r.status, path).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    return (await r.json()) as Record<string, Json>;
  };

  it('every answer carries api and ttl as Alice-LG parses them', async () => {
    for (const path of [
      '/status',
      '/protocols/bgp',
      `/routes/protocol/${A}`,
      '/routes/prefix?prefix=193.0.0.0/24',
    ]) {
      expect(conforms(await get(path), fixture('api')), path).toEqual([]);
    }
  });

  it('/status', async () => {
    const s = await get('/status');
    expect(conforms(s, fixture('status'))).toEqual([]);
    expect((s.status as Record<string, Json>).router_id).toBe('127.0.0.1');
    expect((s.status as Record<string, Json>).current_server).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
    );
  });

  it('/protocols/bgp: one BGP protocol per session with its route counts', async () => {
    const p = await get('/protocols/bgp');
    expect(conforms(p, fixture('protocols-bgp'))).toEqual([]);
    const protos = p.protocols as Record<string, Record<string, Json>>;
    expect(Object.keys(protos).sort()).toEqual([A, B].sort());
    expect(protos[A]).toMatchObject({
      bird_protocol: 'BGP',
      state: 'up',
      neighbor_address: '127.0.0.71',
      neighbor_as: 64571,
      description: 'client A',
      routes: { imported: 2, filtered: 2, exported: 2 },
    });
    expect(protos[B]!.routes).toMatchObject({ imported: 2, filtered: 0, exported: 2 });
    expect(conforms(await get('/protocols/short'), fixture('protocols-short'))).toEqual([]);
  });

  it('/routes/protocol/:id equals the accepted paths the control socket shows', async () => {
    const r = await get(`/routes/protocol/${A}`);
    expect(conforms(r, fixture('routes'))).toEqual([]);
    const routes = r.routes as Record<string, Json>[];
    expect(routes.map((x) => x.network).sort()).toEqual(['193.0.0.0/24', '193.0.1.0/24']);
    const ctx = daemon.controlContext();
    for (const route of routes) {
      const res = handleRequest(ctx, { cmd: 'routes', prefix: route.network as string });
      const rows = (res.ok ? (res.result as RoutesResult) : null)!.routes.filter(
        (x) => x.from === 'AS64571',
      );
      expect(rows.length).toBe(1);
      const bgp = route.bgp as Record<string, Json>;
      expect(route.gateway).toBe(rows[0]!.nextHop);
      expect((bgp.as_path as string[]).join(' ')).toBe(rows[0]!.asPath);
      expect(route.primary).toBe(rows[0]!.rank === 1);
      expect(route.from_protocol).toBe(A);
      expect(bgp.communities).toEqual([[64571, 42]]);
      expect(bgp.large_communities).toEqual([[64571, 1, 2]]);
    }
    expect(routes.find((x) => x.network === '193.0.0.0/24')!.age).toBe(
      shortTime(daemon.core.sessions().find((s) => s.address === '127.0.0.71')!.since),
    );
  });

  it('/routes/filtered/:id: a rejected route shows its reason as Euro-IX and arouteserver large communities', async () => {
    const r = await get(`/routes/filtered/${A}`);
    expect(conforms(r, fixture('routes'))).toEqual([]);
    const byNet = new Map((r.routes as Record<string, Json>[]).map((x) => [x.network, x]));
    expect([...byNet.keys()].sort()).toEqual(['10.0.0.0/8', '193.0.2.0/25']);
    const lc = (net: string): Json =>
      (byNet.get(net)!.bgp as Record<string, Json>).large_communities;
    expect(lc('10.0.0.0/8')).toEqual(
      expect.arrayContaining([
        [64500, 65520, 0],
        [64500, 65520, 2],
        [64500, 1101, 3],
      ]),
    );
    expect(lc('193.0.2.0/25')).toEqual(
      expect.arrayContaining([
        [64500, 65520, 13],
        [64500, 1101, 1],
      ]),
    );
    expect((await get(`/routes/filtered/${B}`)).routes).toEqual([]);
  });

  it('/routes/noexport/:id: accepted paths of others that are not the best for the session', async () => {
    // Both announce 193.0.0.0/24; B's path is longer, so A's is best for everyone
    // else, and for A itself its own path is never sent: B's path is its best.
    const a = (await get(`/routes/noexport/${A}`)).routes as Record<string, Json>[];
    expect(a).toEqual([]);
    const b = (await get(`/routes/noexport/${B}`)).routes as Record<string, Json>[];
    expect(b).toEqual([]);
  });

  it('/routes/prefix?prefix= lists every path of the prefix; bad input is a 400 with an error', async () => {
    const r = await get('/routes/prefix?prefix=193.0.0.0/24');
    expect(conforms(r, fixture('routes'))).toEqual([]);
    expect((r.routes as Record<string, Json>[]).map((x) => x.from_protocol).sort()).toEqual(
      [A, B].sort(),
    );
    const bad = await fetch(`${base}/routes/prefix?prefix=nonsense`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/prefix/);
    expect((await fetch(`${base}/routes/protocol/nope`)).status).toBe(404);
  });

  it('/routes/table/master and /filtered: every accepted and every rejected path', async () => {
    const all = (await get('/routes/table/master')).routes as Json[];
    expect(all.length).toBe(4);
    const filtered = (await get('/routes/table/master/filtered')).routes as Json[];
    expect(filtered.length).toBe(2);
  });
});
