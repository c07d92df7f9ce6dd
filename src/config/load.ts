// Loading and validating arouteserver-format general.yml + clients.yml.
// Every error names the file, the key path, the line and the problem; nothing
// starts on an error. arouteserver keys ixrs does not implement are reported
// once as warnings; keys that are neither arouteserver's nor ixrs' are errors.

import { readFileSync } from 'node:fs';
import { DEFAULT_BOGONS, type PrefixRule, parseRangedPrefix } from '../rs/bogons.ts';
import {
  COMMUNITY_SCHEMA,
  type CommunityValue,
  checkExtCommunity,
  formatLrg,
  formatStd,
  type LrgCommunity,
  parseCommunity,
  REJECT_REASON_LD1,
  type StdCommunity,
} from '../rs/communities.ts';
import type { MaxPrefixAction } from '../rs/policy-api.ts';
import { canonicalIp, formatPrefixText, parseIp, parsePrefixText } from './net.ts';
import { parseBmp, parseHttp, parseMrt } from './observability.ts';
import { type ItemWarning, type MapReader, parseYaml, type Val } from './reader.ts';
import {
  ConfigError,
  type ConfigWarning,
  type IxrsConfig,
  type ListenAddress,
  type LogLevel,
  type NextHopPolicy,
  type PrefLen,
  type RsClientConfig,
  type RsConfig,
  type RsFiltering,
} from './types.ts';

export type { ConfigWarning, RsClientConfig, RsConfig } from './types.ts';
export { ConfigError, clientList, formatWarning } from './types.ts';

const NEXT_HOP_POLICIES: readonly NextHopPolicy[] = ['strict', 'same-as', 'authorized_addresses'];
const MAX_PREFIX_ACTIONS: readonly MaxPrefixAction[] = ['shutdown', 'restart', 'block', 'warning'];
const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

export const DEFAULT_CONTROL_SOCKET = '/run/ixrs/ixrs.sock';
/** Control socket mode: owner (state-changing commands) and group (read-only). */
export const DEFAULT_CONTROL_MODE = 0o660;
/**
 * Every address, IPv4 and IPv6: one dual-stack `::` socket (IPv4 peers arrive as
 * ::ffff:a.b.c.d, which the speaker normalises). A separate 0.0.0.0 listener on
 * the same port would fail with EADDRINUSE on Linux.
 */
export const DEFAULT_LISTEN: readonly ListenAddress[] = [{ address: '::', port: 179 }];

/** The default listener of an instance limited to one family (arouteserver --ip-ver). */
export function defaultListen(ipVersion: 4 | 6 | null): ListenAddress[] {
  if (ipVersion === 4) return [{ address: '0.0.0.0', port: 179 }];
  if (ipVersion === 6) return [{ address: '::', port: 179, ipv6Only: true }];
  return DEFAULT_LISTEN.map((l) => ({ ...l }));
}

/**
 * Limit the configuration to one address family (`ixrs run --ip-ver`, or
 * cfg.ixrs.ip_ver): the default listener becomes that family's only, so two
 * instances can run side by side on port 179.
 */
export function withIpVersion(config: RsConfig, v: 4 | 6 | null): void {
  const wasDefault = config.ixrs.listenDefault;
  config.ixrs.ipVersion = v;
  if (wasDefault) config.ixrs.listen = defaultListen(v);
}

/** Read both files and build the configuration. Throws ConfigError. */
export function loadConfig(
  generalPath: string,
  clientsPath: string,
): { config: RsConfig; warnings: ConfigWarning[] } {
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ConfigError(path, '', undefined, `cannot read file: ${why}`);
    }
  };
  return parseConfig(read(generalPath), read(clientsPath), {
    general: generalPath,
    clients: clientsPath,
  });
}

/** Build the configuration from YAML texts (`sources` name the files in messages). */
export function parseConfig(
  generalText: string,
  clientsText: string,
  sources: { general: string; clients: string } = {
    general: 'general.yml',
    clients: 'clients.yml',
  },
): { config: RsConfig; warnings: ConfigWarning[] } {
  const warnings: ItemWarning[] = [];
  const warned = new Map<string, ItemWarning>();
  // Messages name the files as given (a relative path stays relative).
  const groot = parseYaml(sources.general, generalText, warnings, warned);
  const croot = parseYaml(sources.clients, clientsText, warnings, warned);
  const general = parseGeneral(groot);
  const clients = parseClients(croot, general);
  failSafe(clients, general, sources.clients, warnings);
  const config: RsConfig = {
    rsAs: general.rsAs,
    routerId: general.routerId,
    pathHiding: general.pathHiding,
    filtering: general.filtering,
    communities: general.communities,
    rejectPolicy: general.rejectPolicy,
    ixrs: general.ixrs,
    clients,
    sources: { general: sources.general, clients: sources.clients },
  };
  return { config, warnings: finishWarnings(warnings, clients, sources.clients) };
}

/** Per-client warnings name their clients (`items` `clients[i]` -> client ids). */
function finishWarnings(
  warnings: readonly ItemWarning[],
  clients: readonly RsClientConfig[],
  clientsFile: string,
): ConfigWarning[] {
  return warnings.map((w) => {
    const { items, ...out } = w;
    if (items === undefined || w.file !== clientsFile) return out;
    const names: string[] = [];
    for (const it of items) {
      const m = /^clients\[(\d+)\]$/.exec(it);
      const c = m === null ? undefined : clients[Number(m[1])];
      if (c !== undefined) names.push(c.id);
    }
    if (names.length > 0) out.clients = names;
    return out;
  });
}

/**
 * What ixrs does not implement must never be mistaken for protection:
 *  - a client with a TCP-MD5 password is an error unless acknowledged
 *    (cfg.ixrs.allow_unauthenticated), then one warning names them;
 *  - IRR enforcement on (arouteserver's default) for a client without IRR
 *    data is an error: ixrs fetches no AS-SET, so it would accept anything.
 * Both errors name every client concerned.
 */
function failSafe(
  clients: readonly RsClientConfig[],
  g: General,
  clientsFile: string,
  warnings: ItemWarning[],
): void {
  const ackAll = g.ack.all;
  const acked = new Set<RsClientConfig>();
  for (const v of g.ack.refs) {
    const ref = v.text();
    const hit = clients.filter((c) => clientMatches(c, ref));
    if (hit.length === 0) v.fail(`'${ref}' matches no client of the clients file`);
    for (const c of hit) acked.add(c);
  }
  const withPassword = clients.filter((c) => g.passwords.has(c));
  const refused = withPassword.filter((c) => !ackAll && !acked.has(c));
  if (refused.length > 0) {
    const first = g.passwords.get(refused[0]!)!;
    const names = refused.map((c) => `${c.id} (line ${g.passwords.get(c)!.line ?? '?'})`);
    throw new ConfigError(
      clientsFile,
      first.path,
      first.line,
      `TCP-MD5 authentication (password) is not implemented by ixrs: ${refused.length === 1 ? 'this client' : `these ${refused.length} clients`} would peer without it: ${names.join(', ')}. Remove the password, or acknowledge in the general file with cfg.ixrs.allow_unauthenticated: [${refused.map((c) => c.id).join(', ')}] (or "all")`,
    );
  }
  g.ixrs.allowUnauthenticated = withPassword.map((c) => c.id);
  if (withPassword.length > 0) {
    const first = g.passwords.get(withPassword[0]!)!;
    warnings.push({
      file: clientsFile,
      key: first.path,
      ...(first.line !== undefined ? { line: first.line } : {}),
      message:
        'TCP-MD5 authentication is not implemented by ixrs: these sessions run WITHOUT their password (acknowledged by cfg.ixrs.allow_unauthenticated)',
      unsafe: true,
      acknowledged: true,
      items: withPassword.map((c) => c.source.path),
    });
  }

  const noIrr: string[] = [];
  let firstNoIrr: RsClientConfig | undefined;
  for (const c of clients) {
    const e = g.irrEnforced.get(c);
    if (e === undefined) continue;
    const missing: string[] = [];
    if (e.prefix && c.filtering.irrPrefixes === null) missing.push('prefixes');
    if (e.origin && c.filtering.irrOrigins === null) missing.push('origins');
    if (missing.length === 0) continue;
    firstNoIrr ??= c;
    noIrr.push(`${c.id} (line ${c.source.line ?? '?'}: no ${missing.join(', no ')})`);
  }
  if (firstNoIrr !== undefined) {
    throw new ConfigError(
      clientsFile,
      firstNoIrr.source.path,
      firstNoIrr.source.line,
      `IRR enforcement is on (filtering.irrdb.enforce_origin_in_as_set / enforce_prefix_in_as_set, arouteserver's default True) but ixrs fetches no IRR data and has none for ${noIrr.length === 1 ? 'this client' : `these ${noIrr.length} clients`}: ${noIrr.join(', ')}. Give each client cfg.filtering.irrdb.prefixes / origins (e.g. exported by bgpq4), or set enforce_origin_in_as_set and enforce_prefix_in_as_set to False (in the general file's cfg.filtering.irrdb, or per client)`,
    );
  }
}

/** A client reference: "all" aside, an ASN (64501, "AS64501"), a client id ("AS64501-2") or one of its addresses. */
export function clientMatches(c: RsClientConfig, ref: string): boolean {
  const t = ref.trim();
  if (t === c.id || t.toUpperCase() === c.id) return true;
  const asn = /^(?:AS)?([0-9]+)$/i.exec(t);
  if (asn !== null) return Number(asn[1]) === c.asn;
  const ip = canonicalIp(t);
  return ip !== null && c.addresses.includes(ip);
}

// ---------------------------------------------------------------- general.yml

interface General {
  rsAs: number;
  routerId: string;
  pathHiding: boolean;
  passive: boolean;
  addPath: boolean;
  filtering: RsFiltering;
  communities: Record<string, CommunityValue>;
  rejectPolicy: 'reject' | 'tag';
  ixrs: IxrsConfig;
  rfc8950: boolean;
  rpkiEnabled: boolean;
  /** cfg.ixrs.allow_unauthenticated: "all", or client references resolved once clients are read. */
  ack: { all: boolean; refs: Val[] };
  /** Filled while reading clients: where each client's password is. */
  passwords: Map<RsClientConfig, { path: string; line: number | undefined }>;
  /** Filled while reading clients: the IRR enforcement that applies to each. */
  irrEnforced: Map<RsClientConfig, { prefix: boolean; origin: boolean }>;
}

function parseGeneral(root: Val): General {
  if (root.isNull()) root.fail("the file is empty; expected a 'cfg' mapping");
  const top = root.map();
  const cfgV = top.required('cfg');
  top.end();
  const c = cfgV.map();

  const rsAs = asn(c.required('rs_as'));
  const ridV = c.required('router_id');
  if (ridV.listOrOne()[0] !== ridV) {
    ridV.fail('a list of router IDs is not supported by ixrs; give one IPv4 address');
  }
  const routerId = ipv4(ridV);
  if (routerId === '0.0.0.0') ridV.fail('the BGP Identifier must not be 0.0.0.0 (RFC 6286 §2.1)');

  const prepend = c.get('prepend_rs_as');
  if (prepend?.bool()) {
    prepend.warn(
      'not implemented by ixrs, ignored: the RS AS is never prepended (RFC 7947 §2.2.2.1)',
    );
  }
  const pathHiding = optBool(c.get('path_hiding'), true);
  const passive = optBool(c.get('passive'), true);
  const addPath = optBool(c.get('add_path'), false);
  // RFC 8950 extended next hop: offered only where enabled (arouteserver's default False).
  const rfc8950 = optBool(c.get('rfc8950'), false);
  c.unimplemented(['multihop', 'rpki_roas', 'rtt_thresholds', 'custom_communities']);
  c.unimplemented(
    ['gtsm'],
    'GTSM (RFC 5082, TTL security) is not implemented by ixrs: sessions accept any TTL',
    true,
  );

  const rejectPolicyHolder: { policy: 'reject' | 'tag' } = { policy: 'reject' };
  const fV = c.get('filtering');
  const rpki = { enabled: false };
  const filtering = parseGeneralFiltering(fV?.map(), rejectPolicyHolder, rpki);

  const bh = c.get('blackhole_filtering');
  if (bh !== undefined) {
    const m = bh.map();
    m.unimplemented(
      ['policy_ipv4', 'policy_ipv6'],
      'blackhole filtering is not implemented by ixrs: routes carrying BLACKHOLE (65535:666) are rejected, never propagated',
      true,
    );
    dropSilently(m, [
      'rewrite_next_hop_ipv4',
      'rewrite_next_hop_ipv6',
      'announce_to_client',
      'add_noexport',
    ]);
    m.end();
  }
  const gs = c.get('graceful_shutdown');
  if (gs !== undefined) {
    const m = gs.map();
    const en = m.get('enabled');
    if (en?.bool()) en.warn('graceful shutdown (RFC 8326) is not implemented by ixrs, ignored');
    m.get('local_pref')?.int(0, 0xffffffff);
    m.end();
  }
  const wk = c.get('rfc1997_wellknown_communities');
  if (wk !== undefined) {
    const m = wk.map();
    const p = m.get('policy');
    if (p !== undefined && p.oneOf(['rfc1997', 'pass']) === 'rfc1997') {
      p.warn(
        "not implemented by ixrs, ignored: NO_EXPORT/NO_ADVERTISE pass through unchanged ('pass')",
      );
    }
    m.end();
  }

  const communities = parseCommunities(c.get('communities'), rsAs);
  if (rejectPolicyHolder.policy === 'tag' && communities['reject_cause'] === undefined) {
    // Euro-IX reject-reason community, as arouteserver's documentation suggests.
    communities['reject_cause'] = { lrg: { a: rsAs, b: REJECT_REASON_LD1, c: 'dyn_val' } };
  }
  const ack = { all: false, refs: [] as Val[] };
  const ixrs = parseIxrs(c.get('ixrs'), filtering, ack);
  c.end();
  return {
    rfc8950,
    rpkiEnabled: rpki.enabled,
    ack,
    passwords: new Map(),
    irrEnforced: new Map(),
    rsAs,
    routerId,
    pathHiding,
    passive,
    addPath,
    filtering,
    communities,
    rejectPolicy: rejectPolicyHolder.policy,
    ixrs,
  };
}

const RPKI_WHY =
  'RPKI origin validation is not implemented by ixrs: RPKI-invalid routes are accepted';

/**
 * filtering.rpki_bgp_origin_validation: `enabled` with `reject_invalid`
 * (arouteserver's default True) asks for protection ixrs does not give: an
 * unsafe warning. Enabled without rejection only tags: a plain warning.
 * Returns whether validation is enabled (general) / reject_invalid (client).
 */
function rpkiOriginValidation(f: MapReader, globalEnabled: boolean | null): boolean {
  const v = f.get('rpki_bgp_origin_validation');
  if (v === undefined) return false;
  const m = v.map();
  const en = globalEnabled === null ? m.get('enabled') : undefined;
  const ri = m.get('reject_invalid');
  m.end();
  const enabled = globalEnabled ?? en?.bool() ?? false;
  const reject = ri?.bool() ?? true;
  if (!enabled) return false;
  if (reject) v.warn(RPKI_WHY, true);
  else if (globalEnabled === null)
    v.warn('RPKI origin validation is not implemented by ixrs, ignored');
  return globalEnabled === null ? true : reject;
}

/** Mark keys read without a warning (already reported by a sibling key, or inert by nature). */
function dropSilently(m: MapReader, keys: readonly string[]): void {
  for (const k of keys) m.get(k);
}

function parseGeneralFiltering(
  f: MapReader | undefined,
  reject: { policy: 'reject' | 'tag' },
  rpki: { enabled: boolean },
): RsFiltering {
  const out: RsFiltering = {
    nextHopPolicy: 'strict',
    ipv4PrefLen: { min: 8, max: 24 },
    ipv6PrefLen: { min: 12, max: 48 },
    bogons: [...DEFAULT_BOGONS],
    globalBlackList: [],
    maxAsPathLen: 32,
    rejectInvalidAsInAsPath: true,
    transitFree: { action: null, asns: [] },
    neverViaRouteServers: { asns: [] },
    maxPrefix: { action: null, limitIpv4: 170000, limitIpv6: 12000, restartAfter: 15 },
    irrdb: { enforceOriginInAsSet: true, enforcePrefixInAsSet: true },
  };
  if (f === undefined) return out;

  const nh = f.get('next_hop');
  if (nh !== undefined) {
    const m = nh.map();
    const p = m.get('policy');
    if (p !== undefined) out.nextHopPolicy = p.oneOf(NEXT_HOP_POLICIES);
    m.end();
  }
  // arouteserver < 0.6 spelling, still converted by arouteserver.
  const oldNh = f.get('next_hop_policy');
  if (oldNh !== undefined) out.nextHopPolicy = oldNh.oneOf(NEXT_HOP_POLICIES);
  f.unimplemented(['allow_as_set', 'rpki_aspa_verification', 'rpki']);
  const v4 = f.get('ipv4_pref_len');
  if (v4 !== undefined) out.ipv4PrefLen = prefLen(v4, 32, out.ipv4PrefLen);
  const v6 = f.get('ipv6_pref_len');
  if (v6 !== undefined) out.ipv6PrefLen = prefLen(v6, 128, out.ipv6PrefLen);
  const gbl = f.get('global_black_list_pref');
  if (gbl !== undefined) out.globalBlackList = prefixRules(gbl);
  const apl = f.get('max_as_path_len');
  if (apl !== undefined) out.maxAsPathLen = apl.int(1, 64);
  const inv = f.get('reject_invalid_as_in_as_path');
  if (inv !== undefined) out.rejectInvalidAsInAsPath = inv.bool();

  const tf = f.get('transit_free');
  if (tf !== undefined) {
    const m = tf.map();
    const a = m.get('action');
    if (a !== undefined) {
      out.transitFree.action = a.oneOf(['reject', 'warning'] as const);
      if (out.transitFree.action === 'warning') {
        a.warn(
          "action 'warning' is not implemented by ixrs (no per-route log): routes are accepted",
        );
      }
    }
    const asns = m.get('asns');
    if (asns !== undefined) out.transitFree.asns = asnList(asns);
    m.end();
  }
  const nv = f.get('never_via_route_servers');
  if (nv !== undefined) {
    const m = nv.map();
    const pdb = m.get('peering_db');
    if (pdb?.bool()) pdb.warn('PeeringDB lookup is not implemented by ixrs, ignored');
    const asns = m.get('asns');
    if (asns !== undefined) out.neverViaRouteServers.asns = asnList(asns);
    m.end();
  }
  const irr = f.get('irrdb');
  if (irr !== undefined) {
    const m = irr.map();
    const eo = m.get('enforce_origin_in_as_set');
    if (eo !== undefined) out.irrdb.enforceOriginInAsSet = eo.bool();
    const ep = m.get('enforce_prefix_in_as_set');
    if (ep !== undefined) out.irrdb.enforcePrefixInAsSet = ep.bool();
    m.unimplemented(
      [
        'allow_longer_prefixes',
        'tag_as_set',
        'peering_db',
        'use_rpki_roas_as_route_objects',
        'use_arin_bulk_whois_data',
        'use_registrobr_bulk_whois_data',
      ],
      'not implemented by ixrs (no IRR fetch: give clients irrdb.prefixes/origins), ignored',
    );
    m.end();
  }
  rpki.enabled = rpkiOriginValidation(f, null);
  f.unimplemented(['roles'], 'BGP roles (RFC 9234) are not implemented by ixrs, ignored');

  const mp = f.get('max_prefix');
  if (mp !== undefined) {
    const m = mp.map();
    const a = m.get('action');
    if (a !== undefined) out.maxPrefix.action = a.oneOf(MAX_PREFIX_ACTIONS);
    for (const [key, field] of [
      ['general_limit_ipv4', 'limitIpv4'],
      ['limit_ipv4', 'limitIpv4'],
      ['general_limit_ipv6', 'limitIpv6'],
      ['limit_ipv6', 'limitIpv6'],
    ] as const) {
      const v = m.get(key);
      if (v !== undefined) out.maxPrefix[field] = v.int(0, 0xffffffff);
    }
    m.unimplemented(['peering_db'], 'PeeringDB lookup is not implemented by ixrs, ignored');
    const ra = m.get('restart_after');
    if (ra !== undefined) out.maxPrefix.restartAfter = ra.int(1, 100_000);
    m.unimplemented(['count_rejected_routes']);
    m.end();
  }
  const rp = f.get('reject_policy');
  if (rp !== undefined) {
    const m = rp.map();
    const p = m.get('policy');
    if (p !== undefined) {
      const v = p.oneOf(['reject', 'tag', 'tag_and_reject'] as const);
      if (v === 'tag_and_reject') {
        p.warn("'tag_and_reject' is treated as 'reject' by ixrs (rejected routes are not kept)");
        reject.policy = 'reject';
      } else {
        reject.policy = v;
      }
    }
    m.end();
  }
  f.end();
  return out;
}

function parseCommunities(v: Val | undefined, rsAs: number): Record<string, CommunityValue> {
  const out: Record<string, CommunityValue> = {};
  if (v === undefined) return out;
  const m = v.map();
  const seen = new Map<string, string>();
  m.unimplemented(['reject_cause_map'], 'not implemented by ixrs, ignored');
  for (const [name, schema] of Object.entries(COMMUNITY_SCHEMA)) {
    const cv = m.get(name);
    if (cv === undefined) continue;
    const fm = cv.map();
    const value: CommunityValue = {};
    for (const fmt of ['std', 'lrg', 'ext'] as const) {
      const t = fm.get(fmt);
      if (t === undefined) continue;
      const text = t.text().trim();
      let key: string;
      if (fmt === 'ext') {
        const problem = checkExtCommunity(text, schema);
        if (problem !== null) t.fail(problem);
        value.ext = text;
        key = `ext:${text.replaceAll('rs_as', String(rsAs))}`;
      } else {
        const parsed = parseCommunity(text, fmt, rsAs, schema);
        if (typeof parsed === 'string') t.fail(parsed);
        if (fmt === 'std') {
          value.std = parsed as StdCommunity;
          key = `std:${formatStd(value.std)}`;
        } else {
          value.lrg = parsed as LrgCommunity;
          key = `lrg:${formatLrg(value.lrg)}`;
        }
      }
      const prev = seen.get(key);
      if (prev !== undefined) t.fail(`value '${text}' is already used by communities.${prev}`);
      seen.set(key, `${name}.${fmt}`);
    }
    fm.end();
    if (value.std === undefined && value.lrg === undefined && value.ext === undefined) continue;
    out[name] = value;
    if (value.ext !== undefined) {
      cv.warn('extended communities are parsed but not acted upon by ixrs');
    }
    if (!schema.implemented) {
      cv.warn(
        schema.type === 'inbound'
          ? 'not implemented by ixrs: requests are ignored (the community is still scrubbed on output)'
          : 'not implemented by ixrs: routes are never tagged with it (scrubbed on output)',
      );
    }
  }
  m.end();
  return out;
}

function parseIxrs(
  v: Val | undefined,
  filtering: RsFiltering,
  ack: { all: boolean; refs: Val[] },
): IxrsConfig {
  const out: IxrsConfig = {
    listen: DEFAULT_LISTEN.map((l) => ({ ...l })),
    controlSocket: DEFAULT_CONTROL_SOCKET,
    control: { path: DEFAULT_CONTROL_SOCKET, mode: DEFAULT_CONTROL_MODE, group: null },
    listenDefault: true,
    localAddress: { ipv4: null, ipv6: null },
    ipVersion: null,
    allowUnauthenticated: [],
    holdTime: 90,
    logLevel: 'warn',
    reconnectBackoff: { initialS: 5, maxS: 120 },
    rsBfd: {
      enabled: true,
      bringUpTimeoutMs: 10_000,
      instanceId: 0,
      damping: {
        enabled: false,
        penalty: 1000,
        suppressThreshold: 2000,
        reuseThreshold: 750,
        halfLifeMs: 15_000,
        maxSuppressMs: 60_000,
      },
    },
    http: null,
    mrt: null,
    bmp: null,
  };
  if (v === undefined) return out;
  const m = v.map();
  const listen = m.get('listen');
  if (listen !== undefined) {
    const items = listen.list();
    if (items.length === 0) listen.fail('at least one listen address is needed');
    out.listenDefault = false;
    out.listen = items.map((item) => {
      const lm = item.map();
      const addrV = lm.required('address');
      const address =
        canonicalIp(addrV.str()) ?? addrV.fail(`'${addrV.str()}' is not an IPv4 or IPv6 address`);
      const portV = lm.get('port');
      const port = portV === undefined ? 179 : portV.int(1, 65535);
      lm.end();
      return { address, port };
    });
  }
  const cs = m.get('control_socket');
  if (cs !== undefined) {
    out.controlSocket = cs.str();
    if (out.controlSocket === '') cs.fail('must not be empty (it is the path of a unix socket)');
  }
  const ctl = m.get('control');
  if (ctl !== undefined) {
    if (cs !== undefined)
      ctl.fail("give either 'control' or its older form 'control_socket', not both");
    const cm = ctl.map();
    const pv = cm.get('path');
    if (pv !== undefined) {
      out.controlSocket = pv.str();
      if (!out.controlSocket.startsWith('/')) {
        pv.fail(
          `'${out.controlSocket}' is not an absolute path: 'path' is the file system path of the control socket (a unix socket), not a port or an address`,
        );
      }
    }
    const mv = cm.get('mode');
    if (mv !== undefined) {
      const raw = (mv.node as { value?: unknown }).value;
      const text = typeof raw === 'string' ? raw : '';
      if (!/^0?[0-7]{3}$/.test(text)) {
        mv.fail('expected an octal mode as a quoted string, e.g. "0660" (owner and group)');
      }
      out.control.mode = Number.parseInt(text, 8);
      if ((out.control.mode & 0o600) !== 0o600) {
        mv.fail('the owner (the ixrs user) needs read and write (0600 at least)');
      }
    }
    const gv = cm.get('group');
    if (gv !== undefined) {
      out.control.group = gv.text();
      if (out.control.group === '') gv.fail('must not be empty');
    }
    cm.end();
  }
  out.control.path = out.controlSocket;
  const la = m.get('local_address');
  if (la !== undefined) {
    const lm = la.map();
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const av = lm.get(fam);
      if (av === undefined) continue;
      const b = parseIp(av.str());
      if (b === null || b.length !== (fam === 'ipv4' ? 4 : 16)) {
        av.fail(`'${av.str()}' is not an ${fam === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
      }
      out.localAddress[fam] = canonicalIp(av.str());
    }
    lm.end();
  }
  const iv = m.get('ip_ver');
  if (iv !== undefined) {
    const n = iv.int(4, 6);
    if (n === 5) iv.fail('expected 4 or 6');
    out.ipVersion = n as 4 | 6;
    if (out.listenDefault) out.listen = defaultListen(out.ipVersion);
  }
  const au = m.get('allow_unauthenticated');
  if (au !== undefined) {
    const raw = (au.node as { value?: unknown }).value;
    if (typeof raw === 'string') {
      if (au.str() !== 'all')
        au.fail(`expected "all" or a list of clients, got the string '${au.str()}'`);
      ack.all = true;
    } else {
      for (const item of au.list()) {
        if (item.text() === 'all') ack.all = true;
        else ack.refs.push(item);
      }
    }
  }
  const ht = m.get('hold_time');
  if (ht !== undefined) {
    out.holdTime = ht.int(0, 65535);
    if (out.holdTime === 1 || out.holdTime === 2)
      ht.fail('hold time must be 0 or at least 3 seconds (RFC 4271 §4.2)');
  }
  const ll = m.get('log_level');
  if (ll !== undefined) out.logLevel = ll.oneOf(LOG_LEVELS);
  const rb = m.get('reconnect_backoff');
  if (rb !== undefined) {
    const rm = rb.map();
    const b = out.reconnectBackoff;
    const ini = rm.get('initial');
    if (ini !== undefined) b.initialS = ini.num(0, 3600);
    const mx = rm.get('max');
    if (mx !== undefined) b.maxS = mx.num(0, 86400);
    if (b.maxS < b.initialS)
      (mx ?? ini ?? rb).fail(`max (${b.maxS}) is below initial (${b.initialS})`);
    rm.end();
  }
  const bog = m.get('bogons');
  if (bog !== undefined) filtering.bogons = prefixRules(bog);
  const bfd = m.get('rs_bfd');
  if (bfd !== undefined) {
    const bm = bfd.map();
    const en = bm.get('enabled');
    if (en !== undefined) out.rsBfd.enabled = en.bool();
    const bu = bm.get('bring_up_timeout');
    if (bu !== undefined) out.rsBfd.bringUpTimeoutMs = Math.round(bu.num(0.01, 3600) * 1000);
    const iid = bm.get('instance_id');
    if (iid !== undefined) out.rsBfd.instanceId = iid.int(0, Number.MAX_SAFE_INTEGER);
    const dv = bm.get('damping');
    if (dv !== undefined) {
      const dm = dv.map();
      const d = out.rsBfd.damping;
      const e = dm.get('enabled');
      if (e !== undefined) d.enabled = e.bool();
      const p = dm.get('penalty');
      if (p !== undefined) d.penalty = p.int(1, 1_000_000);
      const s = dm.get('suppress_threshold');
      if (s !== undefined) d.suppressThreshold = s.int(1, 1_000_000);
      const r = dm.get('reuse_threshold');
      if (r !== undefined) d.reuseThreshold = r.int(1, 1_000_000);
      const hl = dm.get('half_life');
      if (hl !== undefined) d.halfLifeMs = Math.round(hl.num(0.1, 86400) * 1000);
      const ms = dm.get('max_suppress_time');
      if (ms !== undefined) d.maxSuppressMs = Math.round(ms.num(0.1, 86400) * 1000);
      if (d.reuseThreshold >= d.suppressThreshold) {
        (r ?? s ?? dv).fail(
          `reuse_threshold (${d.reuseThreshold}) must be below suppress_threshold (${d.suppressThreshold})`,
        );
      }
      dm.end();
    }
    bm.end();
  }
  out.http = parseHttp(m.get('http'));
  out.mrt = parseMrt(m.get('mrt'));
  out.bmp = parseBmp(m.get('bmp'));
  m.end();
  return out;
}

// ---------------------------------------------------------------- clients.yml

function parseClients(root: Val, g: General): RsClientConfig[] {
  if (root.isNull()) root.fail("the file is empty; expected a 'clients' list");
  const top = root.map();
  top.unimplemented(
    ['asns', 'as_sets'],
    'AS-level options / AS-SETs are not implemented by ixrs (no IRR fetch), ignored',
  );
  const listV = top.required('clients');
  const list = listV.list();
  top.end();
  if (list.length === 0) listV.warn('no clients: the route server will have no BGP session');

  const byAddress = new Map<string, string>();
  const parsed = list.map((cv) => parseClient(cv, g, byAddress));
  // Stable ids: AS<asn>, or AS<asn>-<n> when the ASN has several entries,
  // numbered in the order of their lowest address (not of the file: reordering
  // clients.yml changes no id).
  const byAsn = new Map<number, RsClientConfig[]>();
  for (const c of parsed) {
    const l = byAsn.get(c.asn);
    if (l === undefined) byAsn.set(c.asn, [c]);
    else l.push(c);
  }
  for (const [asnNo, l] of byAsn) {
    if (l.length === 1) {
      l[0]!.id = `AS${asnNo}`;
      continue;
    }
    const keyed = l.map((c) => ({ c, k: lowestAddressKey(c.addresses) }));
    keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    keyed.forEach(({ c }, i) => {
      c.id = `AS${asnNo}-${i + 1}`;
    });
  }
  return parsed;
}

/** Sort key of a client's lowest address: IPv4 before IPv6, then by value (fixed-width hex). */
function lowestAddressKey(addresses: string[]): string {
  let best = '~'; // after every key: a client without addresses goes last
  for (const a of addresses) {
    const b = parseIp(a);
    if (b === null) continue;
    let k = b.length === 4 ? '4' : '6';
    for (const x of b) k += x.toString(16).padStart(2, '0');
    if (k < best) best = k;
  }
  return best;
}

function parseClient(v: Val, g: General, byAddress: Map<string, string>): RsClientConfig {
  const m = v.map();
  const asnV = m.required('asn');
  const clientAsn = asn(asnV);
  if (clientAsn === g.rsAs)
    asnV.fail(`${clientAsn} is the route server's own AS (rs_as); clients are eBGP peers`);
  const ipV = m.required('ip');
  const addresses: string[] = [];
  for (const a of ipV.listOrOne()) {
    const text = a.str();
    const canon = canonicalIp(text) ?? a.fail(`'${text}' is not an IPv4 or IPv6 address`);
    const other = byAddress.get(canon);
    if (other !== undefined) a.fail(`address ${canon} is already used by ${other}`);
    byAddress.set(canon, `${v.path} (AS${clientAsn})`);
    addresses.push(canon);
  }
  if (addresses.length === 0) ipV.fail('at least one address is needed');
  const descV = m.get('description');
  const description = descV === undefined ? '' : descV.text();
  // TCP-MD5: refused (or acknowledged) in failSafe, with every client concerned.
  const pwV = m.get('password');
  const hasPassword =
    pwV !== undefined &&
    !(typeof (pwV.node as { value?: unknown }).value === 'string' && pwV.str() === '');
  m.unimplemented(['16bit_mapped_asn']);

  const client: RsClientConfig = {
    id: '',
    asn: clientAsn,
    addresses,
    description,
    passive: g.passive,
    addPath: g.addPath,
    filtering: {
      authorizedNextHops: [],
      irrPrefixes: null,
      irrOrigins: null,
    },
    policy: {
      nextHopPolicy: g.filtering.nextHopPolicy,
      maxAsPathLen: g.filtering.maxAsPathLen,
      rejectInvalidAsInAsPath: g.filtering.rejectInvalidAsInAsPath,
      blackList: [],
    },
    rfc8950: g.rfc8950,
    maxPrefixRestartAfter: g.filtering.maxPrefix.restartAfter,
    source: { path: v.path, ...(v.line !== undefined ? { line: v.line } : {}) },
  };
  if (hasPassword) g.passwords.set(client, { path: pwV!.path, line: pwV!.line });
  let maxAction = g.filtering.maxPrefix.action;
  let limit4 = g.filtering.maxPrefix.limitIpv4;
  let limit6 = g.filtering.maxPrefix.limitIpv6;
  let enforceOrigin = g.filtering.irrdb.enforceOriginInAsSet;
  let enforcePrefix = g.filtering.irrdb.enforcePrefixInAsSet;
  let irrPrefixes: string[] | null = null;
  let irrOrigins: number[] | null = null;

  let nhNode: Val | undefined;
  const cfgV = m.get('cfg');
  m.end();
  if (cfgV !== undefined) {
    const c = cfgV.map();
    const ps = c.get('passive');
    if (ps !== undefined) client.passive = ps.bool();
    const ap = c.get('add_path');
    if (ap !== undefined) client.addPath = ap.bool();
    const pr = c.get('prepend_rs_as');
    if (pr?.bool()) {
      pr.warn('not implemented by ixrs, ignored: the RS AS is never prepended (RFC 7947 §2.2.2.1)');
    }
    const x8950 = c.get('rfc8950');
    if (x8950 !== undefined) client.rfc8950 = x8950.bool();
    c.unimplemented(
      ['gtsm'],
      'GTSM (RFC 5082, TTL security) is not implemented by ixrs: sessions accept any TTL',
      true,
    );
    c.unimplemented(['multihop', 'attach_custom_communities', 'custom_options']);
    const bh = c.get('blackhole_filtering');
    if (bh !== undefined) {
      const bm = bh.map();
      dropSilently(bm, ['announce_to_client']);
      bm.end();
    }
    const gs = c.get('graceful_shutdown');
    if (gs !== undefined) {
      const gm = gs.map();
      const en = gm.get('enabled');
      if (en?.bool()) en.warn('graceful shutdown is not implemented by ixrs, ignored');
      gm.end();
    }
    const fV = c.get('filtering');
    if (fV !== undefined) {
      const f = fV.map();
      const nh = f.get('next_hop');
      if (nh !== undefined) {
        const nm = nh.map();
        const p = nm.get('policy');
        if (p !== undefined) client.policy.nextHopPolicy = p.oneOf(NEXT_HOP_POLICIES);
        const al = nm.get('authorized_addresses_list');
        if (al !== undefined) {
          client.filtering.authorizedNextHops = al.list().map((a) => {
            return canonicalIp(a.str()) ?? a.fail(`'${a.str()}' is not an IPv4 or IPv6 address`);
          });
        }
        nhNode = p ?? nh;
        nm.end();
      }
      const oldNh = f.get('next_hop_policy');
      if (oldNh !== undefined) {
        client.policy.nextHopPolicy = oldNh.oneOf(NEXT_HOP_POLICIES);
        nhNode = oldNh;
      }
      f.unimplemented(['allow_as_set', 'rpki_aspa_verification']);
      f.unimplemented(['roles'], 'BGP roles (RFC 9234) are not implemented by ixrs, ignored');
      const v4 = f.get('ipv4_pref_len');
      if (v4 !== undefined) client.filtering.ipv4PrefLen = prefLen(v4, 32, g.filtering.ipv4PrefLen);
      const v6 = f.get('ipv6_pref_len');
      if (v6 !== undefined)
        client.filtering.ipv6PrefLen = prefLen(v6, 128, g.filtering.ipv6PrefLen);
      const bl = f.get('black_list_pref');
      if (bl !== undefined) client.policy.blackList = prefixRules(bl);
      const apl = f.get('max_as_path_len');
      if (apl !== undefined) client.policy.maxAsPathLen = apl.int(1, 64);
      const inv = f.get('reject_invalid_as_in_as_path');
      if (inv !== undefined) client.policy.rejectInvalidAsInAsPath = inv.bool();
      const irr = f.get('irrdb');
      if (irr !== undefined) {
        const im = irr.map();
        im.unimplemented(
          ['as_sets'],
          'AS-SET expansion is not implemented by ixrs (no IRR fetch): list irrdb.prefixes/origins instead',
        );
        im.unimplemented(['white_list_pref', 'white_list_asn', 'white_list_route']);
        const eo = im.get('enforce_origin_in_as_set');
        if (eo !== undefined) enforceOrigin = eo.bool();
        const ep = im.get('enforce_prefix_in_as_set');
        if (ep !== undefined) enforcePrefix = ep.bool();
        const pl = im.get('prefixes');
        if (pl !== undefined) {
          irrPrefixes = pl.list().map((p) => {
            const r = parseRangedPrefix(p.str());
            if (typeof r === 'string') return p.fail(r);
            return r.exact ? r.prefix : `${r.prefix}{${r.ge},${r.le}}`;
          });
        }
        const ol = im.get('origins');
        if (ol !== undefined) irrOrigins = ol.list().map(asn);
        im.end();
      }
      if (g.rpkiEnabled) rpkiOriginValidation(f, true);
      else f.get('rpki_bgp_origin_validation')?.map();
      f.unimplemented(['rpki'], RPKI_WHY, true);
      const mp = f.get('max_prefix');
      if (mp !== undefined) {
        const mm = mp.map();
        const a = mm.get('action');
        if (a !== undefined) maxAction = a.oneOf(MAX_PREFIX_ACTIONS);
        const l4 = mm.get('limit_ipv4');
        if (l4 !== undefined) limit4 = l4.int(0, 0xffffffff);
        const l6 = mm.get('limit_ipv6');
        if (l6 !== undefined) limit6 = l6.int(0, 0xffffffff);
        mm.unimplemented(['peering_db'], 'PeeringDB lookup is not implemented by ixrs, ignored');
        const ra = mm.get('restart_after');
        if (ra !== undefined) client.maxPrefixRestartAfter = ra.int(1, 100_000);
        mm.unimplemented(['count_rejected_routes']);
        mm.end();
      }
      f.unimplemented(
        ['reject_policy'],
        'per-client reject_policy is not implemented by ixrs: the general one applies',
      );
      f.end();
    }
    c.end();
  }
  if (
    client.policy.nextHopPolicy === 'authorized_addresses' &&
    client.filtering.authorizedNextHops.length === 0
  ) {
    (nhNode ?? v).fail(
      nhNode === undefined
        ? "next_hop policy 'authorized_addresses' (from general.yml) needs a non-empty cfg.filtering.next_hop.authorized_addresses_list"
        : "policy 'authorized_addresses' needs a non-empty 'authorized_addresses_list'",
    );
  }
  if (maxAction !== null && (limit4 > 0 || limit6 > 0)) {
    client.filtering.maxPrefix = { action: maxAction };
    if (limit4 > 0) client.filtering.maxPrefix.ipv4 = limit4;
    if (limit6 > 0) client.filtering.maxPrefix.ipv6 = limit6;
  }
  client.filtering.irrPrefixes = enforcePrefix ? irrPrefixes : null;
  client.filtering.irrOrigins = enforceOrigin ? irrOrigins : null;
  if (enforcePrefix || enforceOrigin) {
    g.irrEnforced.set(client, { prefix: enforcePrefix, origin: enforceOrigin });
  }
  return client;
}

// ---------------------------------------------------------------- values

function asn(v: Val): number {
  return v.int(1, 4294967295);
}

/** A list of ASNs, or arouteserver's comma-separated string "174, 701, ...". */
function asnList(v: Val): number[] {
  if (v.isNull()) return [];
  const raw = v.node as { value?: unknown };
  if (typeof raw.value === 'string') {
    return v
      .str()
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => {
        const n = /^[0-9]+$/.test(s) ? Number(s) : Number.NaN;
        if (!(n >= 1 && n <= 4294967295)) v.fail(`'${s}' is not an ASN (1..4294967295)`);
        return n;
      });
  }
  if (typeof raw.value === 'number') return [asn(v)];
  return v.list().map(asn);
}

function ipv4(v: Val): string {
  const text = v.str();
  const b = parseIp(text);
  if (b === null || b.length !== 4) v.fail(`'${text}' is not an IPv4 address`);
  return canonicalIp(text)!;
}

function optBool(v: Val | undefined, dflt: boolean): boolean {
  return v === undefined ? dflt : v.bool();
}

function prefLen(v: Val, max: number, dflt: PrefLen): PrefLen {
  const m = v.map();
  const minV = m.get('min');
  const maxV = m.get('max');
  const out = {
    min: minV === undefined ? dflt.min : minV.int(0, max),
    max: maxV === undefined ? dflt.max : maxV.int(0, max),
  };
  if (out.min > out.max) (maxV ?? minV ?? v).fail(`min (${out.min}) is above max (${out.max})`);
  m.end();
  return out;
}

/**
 * A list of prefix rules: arouteserver's `{prefix, length, comment, exact, ge, le}`
 * entries, or plain "192.0.2.0/24" strings.
 */
function prefixRules(v: Val): PrefixRule[] {
  return v.list().map((item) => {
    const raw = item.node as { value?: unknown };
    if (typeof raw.value === 'string') {
      const r = parsePrefixText(item.str(), true);
      if (typeof r === 'string') return item.fail(r);
      return { prefix: formatPrefixText(r) };
    }
    const m = item.map();
    const pV = m.required('prefix');
    const pText = pV.str();
    const lenV = m.get('length');
    const full = lenV === undefined ? pText : `${pText}/${lenV.int(0, 128)}`;
    if (lenV === undefined && !pText.includes('/')) {
      pV.fail(`'${pText}' needs a length (give 'length' or write address/length)`);
    }
    const r = parsePrefixText(full, true);
    if (typeof r === 'string') return (lenV ?? pV).fail(r);
    const rule: PrefixRule = { prefix: formatPrefixText(r) };
    const max = r.afi === 1 ? 32 : 128;
    const ex = m.get('exact');
    if (ex?.bool()) rule.exact = true;
    const ge = m.get('ge');
    if (ge !== undefined) rule.ge = ge.int(r.len, max);
    const le = m.get('le');
    if (le !== undefined) rule.le = le.int(rule.ge ?? r.len, max);
    const cm = m.get('comment');
    if (cm !== undefined) rule.comment = cm.text();
    if (rule.exact && (rule.ge !== undefined || rule.le !== undefined)) {
      (ge ?? le ?? item).fail("'exact' cannot be combined with 'ge'/'le'");
    }
    m.end();
    return rule;
  });
}
