// A birdwatcher-compatible JSON API (the endpoints Alice-LG's birdwatcher
// source reads, type "single_table"), so that an IXP's Alice-LG shows ixrs as
// one more route server:
//
//   /status                    route server status
//   /protocols/bgp             one "protocol" per client session
//   /protocols/short           state per session
//   /routes/protocol/:id       accepted paths received on the session
//   /routes/filtered/:id       paths rejected by the import policy (kept with reject_policy 'tag')
//   /routes/noexport/:id       accepted paths of others that the session does not get
//   /routes/prefix?prefix=P    every path of P
//   /routes/table/master[/filtered]   every accepted (rejected) path
//
// Shapes follow what Alice-LG parses (pkg/sources/birdwatcher/parsers.go):
// every answer carries `api` (Version, result_from_cache, cache_status) and
// `ttl`; times are UTC, RFC 3339 for ttl/cached_at and "YYYY-MM-DD hh:mm:ss"
// for the rest (Alice-LG: timezone = UTC, servertime = 2006-01-02T15:04:05Z07:00,
// servertime_short = servertime_ext = 2006-01-02 15:04:05). A rejected path
// carries its reject reason as large communities: arouteserver's
// rs_as:65520:code and the Euro-IX rs_as:1101:code.
//
// Route lists walk the whole table in slices (rib-walk.ts) and are cached for
// `ttlS`; one walk per list at a time, concurrent requests share it.

import { formatPrefix, parsePrefix } from '../../bgp/prefix.ts';
import type { ClientConfig } from '../../rs/policy-api.ts';
import type { RouteView } from '../../rs/server.ts';
import type { ControlContext } from '../control.ts';
import { formatCommunity } from '../model.ts';
import { type RibSource, walkRib } from '../rib-walk.ts';
import type { HttpReply, HttpRequest, HttpServer } from './server.ts';
import { jsonReply } from './server.ts';

/** arouteserver reject code -> Euro-IX "filtered" large community (rs_as:1101:x), where one exists. */
export const EURO_IX_FILTERED: Readonly<Record<number, number>> = {
  1: 5, // AS_PATH too long
  2: 3, // bogon prefix
  5: 8, // next hop not the peer's
  6: 7, // first AS not the peer AS
  7: 4, // bogon ASN
  8: 14, // transit-free ASN
  9: 10, // IRR origin AS
  10: 3, // IPv6 not global unicast: bogon
  12: 9, // IRR prefix
  14: 13, // RPKI invalid
};
/** Invalid prefix length (13): too long (1101:1) or too short (1101:2). */
const EURO_IX_TOO_LONG = 1;
const EURO_IX_TOO_SHORT = 2;

export interface BirdwatcherSources {
  ctx: ControlContext;
  /** The prefix table to walk (RouteServer.entries); paths come from ctx.core. */
  table: RibSource['entries'];
  rsAs: number;
  routerId: string;
  version: string;
  /** Longest prefix length accepted, per family (Euro-IX too long / too short). */
  prefLen: { ipv4: { min: number; max: number }; ipv6: { min: number; max: number } };
  startedAt: number;
  now?: () => number;
  /** Route lists are cached this long, seconds (default 30). */
  ttlS?: number;
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** "YYYY-MM-DD hh:mm:ss" in UTC (Alice-LG servertime_short). */
export function shortTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** RFC 3339 in UTC, seconds. */
export function longTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** A BIRD-like protocol name for a session: letters, digits and '_'. */
export function protocolId(client: string, address: string): string {
  return `${client}_${address}`.replace(/[^A-Za-z0-9]/g, '_');
}

const ORIGIN_TEXT: Record<string, string> = { IGP: 'IGP', EGP: 'EGP', INCOMPLETE: 'Incomplete' };

function extCommunity(b: Uint8Array): [string, string, string] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = b[0]! & 0xbf;
  const sub = b[1]!;
  const kind = sub === 2 ? 'rt' : sub === 3 ? 'ro' : 'generic';
  if (kind !== 'generic' && type === 0x00) {
    return [kind, String(dv.getUint16(2)), String(dv.getUint32(4))];
  }
  if (kind !== 'generic' && type === 0x02) {
    return [kind, String(dv.getUint32(2)), String(dv.getUint16(6))];
  }
  return [
    'generic',
    `0x${Buffer.from(b.subarray(0, 4)).toString('hex')}`,
    `0x${Buffer.from(b.subarray(4, 8)).toString('hex')}`,
  ];
}

interface Proto {
  id: string;
  client: ClientConfig;
  address: string;
  session: string;
}

export class Birdwatcher {
  private readonly src: BirdwatcherSources;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly byId = new Map<string, Proto>();
  private readonly bySession = new Map<string, Proto>();
  private readonly clients: Map<string, ClientConfig>;
  private readonly cache = new Map<string, { at: number; rows: object[] }>();
  private readonly inflight = new Map<string, Promise<object[]>>();
  /** Walks run one after the other. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The walk, over the control socket's data path (rejected paths tagged). */
  private readonly rib: RibSource;
  private sinceAt = -1;
  private readonly since = new Map<string, number>();

  constructor(src: BirdwatcherSources) {
    this.src = src;
    this.now = src.now ?? Date.now;
    this.ttlMs = (src.ttlS ?? 30) * 1000;
    this.clients = new Map(src.ctx.clients.map((c) => [c.id, c]));
    this.rib = { entries: src.table, routes: (prefix) => src.ctx.core.routes(prefix) };
    for (const c of src.ctx.clients) {
      for (const a of c.addresses) {
        const p: Proto = {
          id: protocolId(c.id, a),
          client: c,
          address: a,
          session: `${c.id}@${a}`,
        };
        this.byId.set(p.id, p);
        this.bySession.set(p.session, p);
      }
    }
  }

  /** Register the endpoints on the HTTP server. */
  mount(server: HttpServer): void {
    server.route('/status', () => this.status());
    server.route('/protocols/bgp', () => this.protocols(false));
    server.route('/protocols', () => this.protocols(false));
    server.route('/protocols/short', () => this.protocols(true));
    server.routePrefix('/routes/protocol/', (r) => this.routesOf('protocol', r));
    server.routePrefix('/routes/filtered/', (r) => this.routesOf('filtered', r));
    server.routePrefix('/routes/noexport/', (r) => this.routesOf('noexport', r));
    server.route('/routes/prefix', (r) => this.prefix(r));
    server.route('/routes/table/master', () => this.table(false));
    server.route('/routes/table/master/filtered', () => this.table(true));
  }

  private envelope(body: Record<string, unknown>, cachedAt = this.now()): HttpReply {
    const t = this.now();
    return jsonReply({
      api: {
        Version: this.src.version,
        result_from_cache: cachedAt !== t,
        cache_status: {
          cached_at: { date: longTime(cachedAt), timezone_type: 3, timezone: 'UTC' },
        },
      },
      ttl: longTime(cachedAt + this.ttlMs),
      ...body,
    });
  }

  private error(status: number, message: string): HttpReply {
    return jsonReply({ error: message }, status);
  }

  status(): HttpReply {
    const t = this.now();
    return this.envelope({
      status: {
        current_server: shortTime(t),
        last_reboot: shortTime(this.src.startedAt),
        last_reconfig: shortTime(this.src.startedAt),
        message: 'Daemon is up and running',
        router_id: this.src.routerId,
        server_time: longTime(t),
        version: this.src.version,
      },
    });
  }

  protocols(short: boolean): HttpReply {
    const ctx = this.src.ctx;
    const sessions = ctx.core.sessions();
    const perClient = new Map<string, number>();
    for (const s of sessions) perClient.set(s.client, (perClient.get(s.client) ?? 0) + 1);
    const protocols: Record<string, unknown> = {};
    for (const s of sessions) {
      const p = this.bySession.get(s.session);
      if (p === undefined) continue;
      const since = shortTime(s.since);
      const up = s.state === 'up';
      const bgp = ctx.bgpState?.(s.address) ?? null;
      if (short) {
        protocols[p.id] = {
          proto: 'BGP',
          table: 'master',
          state: up ? 'up' : s.state === 'stale' ? 'start' : 'down',
          since,
          info: bgp ?? s.state,
        };
        continue;
      }
      // Accepted paths per session: exact for a client with one session
      // (acceptedByAfi is per client); otherwise every kept path counts.
      let imported = s.adjIn;
      if (perClient.get(s.client) === 1) {
        const sum = ctx.core.clientSummary(s.client);
        imported = Object.values(sum.acceptedByAfi).reduce((a, b) => a + b, 0);
      }
      protocols[p.id] = {
        bird_protocol: 'BGP',
        protocol: p.id,
        table: 'master',
        state: up ? 'up' : s.state === 'stale' ? 'start' : 'down',
        state_changed: since,
        connection: bgp ?? 'Idle',
        description: p.client.description || p.client.id,
        neighbor_address: p.address,
        neighbor_as: p.client.asn,
        neighbor_id: p.address,
        last_error: '',
        routes: {
          imported,
          filtered: Math.max(0, s.adjIn - imported),
          exported: s.held,
          preferred: 0,
        },
      };
    }
    return this.envelope({ protocols });
  }

  /** A route as birdwatcher renders one. */
  route(prefix: string, v: RouteView): object {
    const p = this.bySession.get(v.session);
    const c = this.clients.get(v.from);
    const large = (v.attrs.largeCommunities ?? []).map((x) => [...x]);
    if (!v.accepted) {
      const rs = this.src.rsAs;
      for (const code of v.reasons) {
        let e = EURO_IX_FILTERED[code];
        if (code === 13) {
          const len = Number(prefix.slice(prefix.indexOf('/') + 1));
          const lim = prefix.includes(':') ? this.src.prefLen.ipv6 : this.src.prefLen.ipv4;
          e = len > lim.max ? EURO_IX_TOO_LONG : EURO_IX_TOO_SHORT;
        }
        if (e !== undefined && !large.some((x) => x[0] === rs && x[1] === 1101 && x[2] === e)) {
          large.push([rs, 1101, e]);
        }
      }
    }
    const asPath: number[] = [];
    for (const seg of v.attrs.asPath) asPath.push(...seg.asns);
    const origin =
      v.attrs.origin === undefined ? 'IGP' : ['IGP', 'EGP', 'INCOMPLETE'][v.attrs.origin]!;
    const since = this.sinceOf(v.session);
    return {
      network: prefix,
      gateway: v.nextHop.global,
      from_protocol: p?.id ?? v.session,
      learnt_from: p?.address ?? '',
      interface: '',
      metric: 100,
      primary: v.rank === 1,
      age: shortTime(since ?? this.now()),
      type: ['BGP', 'unicast', 'univ'],
      bgp: {
        origin: ORIGIN_TEXT[origin],
        as_path: asPath.map(String),
        next_hop: v.nextHop.global,
        local_pref: String(v.attrs.localPref ?? 100),
        med: String(v.attrs.med ?? 0),
        neighbor_as: c?.asn ?? 0,
        communities: (v.attrs.communities ?? []).map((x) =>
          formatCommunity(x).split(':').map(Number),
        ),
        large_communities: large,
        ext_communities: (v.attrs.extCommunities ?? []).map(extCommunity),
      },
    };
  }

  /** When the session last changed state (the age of its paths; ixrs keeps no time per path). */
  private sinceOf(session: string): number | undefined {
    const t = this.now();
    if (t - this.sinceAt > 1000) {
      this.since.clear();
      for (const s of this.src.ctx.core.sessions()) this.since.set(s.session, s.since);
      this.sinceAt = t;
    }
    return this.since.get(session);
  }

  private proto(id: string): Proto | null {
    return this.byId.get(id) ?? null;
  }

  /** A cached list: one walk per key at a time; later requests within the ttl get the cached rows. */
  private async list(
    key: string,
    build: () => Promise<object[]>,
  ): Promise<{ at: number; rows: object[] }> {
    const hit = this.cache.get(key);
    const t = this.now();
    if (hit !== undefined && t - hit.at < this.ttlMs) return hit;
    let run = this.inflight.get(key);
    if (run === undefined) {
      const go = this.chain.then(build);
      this.chain = go.catch(() => undefined);
      run = go.finally(() => this.inflight.delete(key));
      this.inflight.set(key, run);
    }
    const rows = await run;
    const entry = { at: this.now(), rows };
    this.cache.set(key, entry);
    // Keep the cache small: lists of other sessions expire.
    for (const [k, v] of this.cache) if (t - v.at >= this.ttlMs) this.cache.delete(k);
    return entry;
  }

  async routesOf(kind: 'protocol' | 'filtered' | 'noexport', r: HttpRequest): Promise<HttpReply> {
    const p = this.proto(r.rest);
    if (p === null) return this.error(404, `no such protocol: ${r.rest}`);
    const { at, rows } = await this.list(`${kind} ${p.id}`, async () => {
      const out: object[] = [];
      const core = this.src.ctx.core;
      await walkRib(this.rib, (prefix, views) => {
        if (kind === 'noexport') {
          if (!views.some((v) => v.accepted && v.session !== p.session)) return;
          // The asked session's view: which paths it may not get.
          for (const v of core.routes(prefix, p.session)) {
            if (v.accepted && v.from !== p.client.id && v.eligible === false)
              out.push(this.route(prefix, v));
          }
          return;
        }
        for (const v of views) {
          if (v.session !== p.session) continue;
          if (kind === 'protocol' ? v.accepted : !v.accepted) out.push(this.route(prefix, v));
        }
      });
      return out;
    });
    return this.envelope({ routes: rows, protocol: p.id }, at);
  }

  async table(filtered: boolean): Promise<HttpReply> {
    const { at, rows } = await this.list(`table ${filtered}`, async () => {
      const out: object[] = [];
      await walkRib(this.rib, (prefix, views) => {
        for (const v of views) if (v.accepted !== filtered) out.push(this.route(prefix, v));
      });
      return out;
    });
    return this.envelope({ routes: rows }, at);
  }

  prefix(r: HttpRequest): HttpReply {
    const text = r.query.get('prefix');
    if (text === null || text === '') return this.error(400, "'prefix' is required");
    let views: RouteView[];
    let canonical: string;
    try {
      canonical = canonicalPrefix(text);
      views = this.src.ctx.core.routes(canonical);
    } catch (err) {
      return this.error(400, err instanceof Error ? err.message : String(err));
    }
    return this.envelope({ routes: views.map((v) => this.route(canonical, v)) });
  }
}

function canonicalPrefix(text: string): string {
  return formatPrefix(parsePrefix(text.trim()));
}
