import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError, formatWarning, loadConfig, parseConfig } from '../../src/config/load.ts';
import { DEFAULT_BOGONS } from '../../src/rs/bogons.ts';

const dir = new URL('../../fixtures/config/', import.meta.url).pathname;
const fx = (name: string): string => dir + name;

const GENERAL_MIN = 'cfg:\n  rs_as: 64500\n  router_id: "192.0.2.2"\n';
/** GENERAL_MIN with IRR enforcement off (ixrs fetches no IRR data). */
const IRR_OFF =
  'cfg:\n  rs_as: 64500\n  router_id: "192.0.2.2"\n  filtering:\n    irrdb:\n      enforce_origin_in_as_set: False\n      enforce_prefix_in_as_set: False\n';
const CLIENTS_MIN = 'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n';

function err(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: realistic fixture (arouteserver general.yml / clients.yml format)', () => {
  const { config, warnings } = loadConfig(fx('general.yml'), fx('clients.yml'));

  it('loads without warnings', () => {
    expect(warnings.map(formatWarning)).toEqual([]);
  });

  it('arouteserver general.yml: rs_as, router_id, path_hiding, reject_policy', () => {
    expect(config.rsAs).toBe(64500);
    expect(config.routerId).toBe('192.0.2.2');
    expect(config.pathHiding).toBe(true);
    expect(config.rejectPolicy).toBe('tag');
    expect(config.sources).toEqual({ general: fx('general.yml'), clients: fx('clients.yml') });
  });

  it('arouteserver clients.yml: ip as a string or a list, IPv4 and IPv6, canonical text', () => {
    const ids = config.clients.map((c) => c.id);
    expect(ids).toEqual(['AS3333', 'AS10745-1', 'AS10745-2', 'AS4608', 'AS28000']);
    expect(config.clients[0]!.addresses).toEqual(['192.0.2.11', '2001:db8:1::11']);
    expect(config.clients[1]!.addresses).toEqual(['192.0.2.22']);
    expect(config.clients[4]!.addresses).toEqual(['2001:db8:1::44']);
    expect(config.clients[0]!.description).toBe('Dual-stack client with IRR allow-lists');
  });

  it('per-client overrides: passive, add_path, next_hop, pref_len, black list, max_prefix', () => {
    const c4608 = config.clients[3]!;
    expect(c4608.passive).toBe(false);
    expect(c4608.addPath).toBe(true);
    expect(c4608.policy.nextHopPolicy).toBe('authorized_addresses');
    expect(c4608.filtering.authorizedNextHops).toEqual(['192.0.2.133', '2001:db8:1::133']);
    expect(c4608.filtering.ipv4PrefLen).toEqual({ min: 8, max: 26 });
    expect(c4608.filtering.ipv6PrefLen).toBeUndefined();
    expect(c4608.policy.blackList).toEqual([
      { prefix: '202.12.28.0/24', comment: 'not to be announced via the RS' },
    ]);
    expect(config.clients[1]!.policy.nextHopPolicy).toBe('same-as');
    expect(config.clients[0]!.filtering.maxPrefix).toEqual({
      action: 'shutdown',
      ipv4: 100,
      ipv6: 50,
    });
    // general_limit_ipv4/6 apply when the client gives no limit.
    expect(config.clients[1]!.filtering.maxPrefix).toEqual({
      action: 'shutdown',
      ipv4: 170000,
      ipv6: 12000,
    });
    expect(config.clients[4]!.filtering.maxPrefix).toEqual({
      action: 'block',
      ipv4: 170000,
      ipv6: 200,
    });
  });

  it('ixrs irrdb allow-lists: prefixes (with {ge,le} ranges) and origins', () => {
    const f = config.clients[0]!.filtering;
    expect(f.irrPrefixes).toEqual(['193.0.0.0/21', '2001:67c:2e8::/48', '193.0.10.0/23{23,24}']);
    expect(f.irrOrigins).toEqual([3333]);
    expect(config.clients[1]!.filtering.irrPrefixes).toEqual(['199.5.26.0/24', '199.71.0.0/24']);
    expect(config.clients[1]!.filtering.irrOrigins).toEqual([10745]);
  });

  it('filtering: global black list, transit-free (comma-separated string), never via RS', () => {
    const f = config.filtering;
    expect(f.globalBlackList.map((r) => r.prefix)).toEqual(['192.0.2.0/24', '2001:db8:1::/64']);
    expect(f.transitFree.action).toBe('reject');
    expect(f.transitFree.asns).toContain(3356);
    expect(f.transitFree.asns).toHaveLength(14);
    expect(f.neverViaRouteServers.asns).toEqual([7922]);
  });

  it('communities: rs_as and peer_as macros resolved, standard and large forms', () => {
    const c = config.communities;
    expect(c['do_not_announce_to_any']).toEqual({
      std: { a: 0, b: 64500 },
      lrg: { a: 64500, b: 0, c: 0 },
    });
    expect(c['announce_to_peer']).toEqual({
      std: { a: 64500, b: 'peer_as' },
      lrg: { a: 64500, b: 1, c: 'peer_as' },
    });
    expect(c['prepend_thrice_to_peer']?.std).toEqual({ a: 65513, b: 'peer_as' });
    expect(c['reject_cause']).toEqual({ lrg: { a: 64500, b: 65520, c: 'dyn_val' } });
  });

  it('ixrs keys: listen, control_socket, hold_time, log_level, rs_bfd', () => {
    expect(config.ixrs.listen).toEqual([
      { address: '192.0.2.2', port: 179 },
      { address: '2001:db8:1::2', port: 179 },
    ]);
    expect(config.ixrs.controlSocket).toBe('/run/ixrs/ixrs.sock');
    expect(config.ixrs.holdTime).toBe(90);
    expect(config.ixrs.logLevel).toBe('warn');
    expect(config.ixrs.rsBfd).toEqual({
      enabled: true,
      bringUpTimeoutMs: 10_000,
      instanceId: 0,
      damping: {
        enabled: true,
        penalty: 1000,
        suppressThreshold: 2000,
        reuseThreshold: 750,
        halfLifeMs: 15_000,
        maxSuppressMs: 60_000,
      },
    });
  });
});

describe('loadConfig: defaults (arouteserver general.yml reference)', () => {
  const { config, warnings } = parseConfig(IRR_OFF, CLIENTS_MIN);

  it('arouteserver defaults: path_hiding, passive, add_path, next_hop strict, pref lengths 8-24 / 12-48', () => {
    expect(warnings).toEqual([]);
    expect(config.pathHiding).toBe(true);
    const c = config.clients[0]!;
    expect(c.id).toBe('AS3333');
    expect(c.passive).toBe(true);
    expect(c.addPath).toBe(false);
    expect(c.description).toBe('');
    expect(config.filtering.nextHopPolicy).toBe('strict');
    expect(config.filtering.ipv4PrefLen).toEqual({ min: 8, max: 24 });
    expect(config.filtering.ipv6PrefLen).toEqual({ min: 12, max: 48 });
  });

  it('arouteserver defaults: max_as_path_len 32, reject_invalid_as_in_as_path, no transit-free action, reject policy', () => {
    expect(config.filtering.maxAsPathLen).toBe(32);
    expect(config.filtering.rejectInvalidAsInAsPath).toBe(true);
    expect(config.filtering.transitFree.action).toBeNull();
    expect(config.rejectPolicy).toBe('reject');
    expect(config.filtering.globalBlackList).toEqual([]);
    expect(config.filtering.bogons).toEqual([...DEFAULT_BOGONS]);
  });

  it('arouteserver: no max_prefix action means no max-prefix enforcement', () => {
    expect(config.clients[0]!.filtering.maxPrefix).toBeUndefined();
  });

  it('arouteserver: communities are unset by default, so none are honoured', () => {
    expect(config.communities).toEqual({});
  });

  it('ixrs defaults: every address (dual-stack ::) on port 179, control socket, hold time 90, log level warn, rs_bfd', () => {
    expect(config.ixrs.listen).toEqual([{ address: '::', port: 179 }]);
    expect(config.ixrs.controlSocket).toBe('/run/ixrs/ixrs.sock');
    expect(config.ixrs.holdTime).toBe(90);
    expect(config.ixrs.logLevel).toBe('warn');
    expect(config.ixrs.rsBfd.enabled).toBe(true);
    expect(config.ixrs.rsBfd.bringUpTimeoutMs).toBe(10_000);
    expect(config.ixrs.rsBfd.damping.enabled).toBe(false);
  });

  it("arouteserver reject_policy 'tag' without reject_cause gets the Euro-IX RS_AS:65520:dyn_val", () => {
    const g = `${IRR_OFF}    reject_policy:\n      policy: tag\n`;
    const { config: c } = parseConfig(g, CLIENTS_MIN);
    expect(c.rejectPolicy).toBe('tag');
    expect(c.communities['reject_cause']).toEqual({ lrg: { a: 64500, b: 65520, c: 'dyn_val' } });
  });

  it('ixrs.reconnect_backoff: initial and max idle hold in seconds (default 5 and 120)', () => {
    expect(config.ixrs.reconnectBackoff).toEqual({ initialS: 5, maxS: 120 });
    const g = `${IRR_OFF}  ixrs:\n    reconnect_backoff:\n      initial: 0.5\n      max: 30\n`;
    expect(parseConfig(g, CLIENTS_MIN).config.ixrs.reconnectBackoff).toEqual({
      initialS: 0.5,
      maxS: 30,
    });
  });

  it('ixrs.bogons replaces the default bogon list', () => {
    const g = `${IRR_OFF}  ixrs:\n    bogons: ["10.0.0.0/8", {prefix: "0.0.0.0", length: 0, exact: true}]\n`;
    const { config: c } = parseConfig(g, CLIENTS_MIN);
    expect(c.filtering.bogons).toEqual([
      { prefix: '10.0.0.0/8' },
      { prefix: '0.0.0.0/0', exact: true },
    ]);
  });

  it('clients sharing an ASN get ids AS<asn>-<n>; IPv6 addresses are canonicalised (RFC 5952)', () => {
    const cl =
      'clients:\n  - asn: 65551\n    ip: "2001:DB8:0:0::1"\n  - asn: 65551\n    ip: ["2001:db8::2"]\n';
    const { config: c } = parseConfig(IRR_OFF, cl);
    expect(c.clients.map((x) => [x.id, x.addresses])).toEqual([
      ['AS65551-1', ['2001:db8::1']],
      ['AS65551-2', ['2001:db8::2']],
    ]);
  });

  it('client ids do not change when clients.yml is reordered (AS<asn>-<n> follows the lowest address)', () => {
    const text = readFileSync(fx('clients.yml'), 'utf8');
    const doc = YAML.parse(text) as { clients: unknown[] };
    const ids = (t: string) =>
      Object.fromEntries(
        parseConfig(readFileSync(fx('general.yml'), 'utf8'), t).config.clients.map((c) => [
          c.id,
          c.addresses,
        ]),
      );
    const before = ids(text);
    const reversed = YAML.stringify({ ...doc, clients: [...doc.clients].reverse() });
    expect(ids(reversed)).toEqual(before);
    const cl = (a: string, b: string) =>
      `clients:\n  - asn: 65551\n    ip: "${a}"\n  - asn: 65551\n    ip: "${b}"\n`;
    const one = parseConfig(IRR_OFF, cl('192.0.2.9', '192.0.2.10')).config.clients;
    const two = parseConfig(IRR_OFF, cl('192.0.2.10', '192.0.2.9')).config.clients;
    const byId = (l: typeof one) => Object.fromEntries(l.map((c) => [c.id, c.addresses[0]]));
    expect(byId(one)).toEqual({ 'AS65551-1': '192.0.2.9', 'AS65551-2': '192.0.2.10' });
    expect(byId(two)).toEqual(byId(one));
  });

  it('demo fixture (loopback) loads', () => {
    const { config: c, warnings: w } = loadConfig(fx('demo-general.yml'), fx('demo-clients.yml'));
    expect(w).toEqual([]);
    expect(c.ixrs.listen).toEqual([{ address: '127.0.0.1', port: 11179 }]);
    expect(c.clients.map((x) => x.addresses[0])).toEqual([
      '127.0.0.11',
      '127.0.0.12',
      '127.0.0.13',
    ]);
  });
});

describe('loadConfig: errors name the file, the key path, the line and the problem', () => {
  const cases: [string, string, string][] = [
    [
      'general.yml',
      'broken/clients-bad-limit.yml',
      "clients-bad-limit.yml: clients[3].cfg.filtering.max_prefix.limit_ipv4 (line 14): expected an integer, got the string 'lots'",
    ],
    [
      'general.yml',
      'broken/clients-bad-ip.yml',
      "clients-bad-ip.yml: clients[0].ip[1] (line 5): '192.0.2.300' is not an IPv4 or IPv6 address",
    ],
    [
      'general.yml',
      'broken/clients-dup-ip.yml',
      'clients-dup-ip.yml: clients[1].ip (line 5): address 2001:db8:1::11 is already used by clients[0] (AS3333)',
    ],
    [
      'general.yml',
      'broken/clients-authorized-empty.yml',
      "clients-authorized-empty.yml: clients[0].cfg.filtering.next_hop.policy (line 7): policy 'authorized_addresses' needs a non-empty 'authorized_addresses_list'",
    ],
    [
      'broken/general-unknown-key.yml',
      'clients.yml',
      "general-unknown-key.yml: cfg.filtering.max_as_path_length (line 5): unknown key 'max_as_path_length' (neither an arouteserver nor an ixrs key); did you mean 'max_as_path_len'?",
    ],
    [
      'broken/general-bad-community.yml',
      'clients.yml',
      "general-bad-community.yml: cfg.communities.do_not_announce_to_peer.std (line 6): '0:65000': the 'peer_as' macro is mandatory in this community",
    ],
    [
      'broken/general-bad-nh-policy.yml',
      'clients.yml',
      "general-bad-nh-policy.yml: cfg.filtering.next_hop.policy (line 6): expected one of 'strict', 'same-as', 'authorized_addresses', got the string 'loose'",
    ],
    [
      'broken/general-no-router-id.yml',
      'clients.yml',
      "general-no-router-id.yml: cfg (line 2): missing required key 'router_id'",
    ],
    [
      'broken/general-std-rs-as-too-big.yml',
      'clients.yml',
      "general-std-rs-as-too-big.yml: cfg.communities.do_not_announce_to_any.std (line 6): '0:rs_as': rs_as (4200000001) does not fit in 16 bits",
    ],
  ];
  for (const [g, c, message] of cases) {
    it(`${g} + ${c}`, () => {
      const e = err(() => loadConfig(fx(g), fx(c)));
      // Messages name the files as given (here: absolute paths).
      const file = message.slice(0, message.indexOf(':'));
      const given = [g, c].find((f) => f.endsWith(file))!;
      expect(e.message).toBe(fx(given) + message.slice(file.length));
    });
  }

  it('YAML syntax errors carry the line', () => {
    const e = err(() => loadConfig(fx('broken/general-syntax.yml'), fx('clients.yml')));
    expect(e.file).toBe(fx('broken/general-syntax.yml'));
    expect(e.line).toBe(4);
    expect(e.message).toMatch(
      /\/broken\/general-syntax\.yml: <document> \(line 4\): YAML syntax: /,
    );
  });

  it('a missing file is named', () => {
    const e = err(() => loadConfig(fx('nope.yml'), fx('clients.yml')));
    expect(e.message).toMatch(/\/fixtures\/config\/nope\.yml: <document>: cannot read file: /);
  });

  const inline: [string, string, string, string][] = [
    [
      'hold time 1 or 2 (RFC 4271 §4.2)',
      `${GENERAL_MIN}  ixrs:\n    hold_time: 2\n`,
      CLIENTS_MIN,
      'general.yml: cfg.ixrs.hold_time (line 5): hold time must be 0 or at least 3 seconds (RFC 4271 §4.2)',
    ],
    [
      'router_id list',
      'cfg:\n  rs_as: 64500\n  router_id: ["192.0.2.2", "192.0.2.3"]\n',
      CLIENTS_MIN,
      'general.yml: cfg.router_id (line 3): a list of router IDs is not supported by ixrs; give one IPv4 address',
    ],
    [
      'router_id not IPv4',
      'cfg:\n  rs_as: 64500\n  router_id: "2001:db8::1"\n',
      CLIENTS_MIN,
      "general.yml: cfg.router_id (line 3): '2001:db8::1' is not an IPv4 address",
    ],
    [
      'rs_as out of range',
      'cfg:\n  rs_as: 4294967296\n  router_id: "192.0.2.2"\n',
      CLIENTS_MIN,
      'general.yml: cfg.rs_as (line 2): 4294967296 is out of range (1..4294967295)',
    ],
    [
      'duplicate community value',
      `${GENERAL_MIN}  communities:\n    do_not_announce_to_any:\n      std: "0:rs_as"\n    prepend_once_to_any:\n      std: "0:64500"\n`,
      CLIENTS_MIN,
      "general.yml: cfg.communities.prepend_once_to_any.std (line 8): value '0:64500' is already used by communities.do_not_announce_to_any.std",
    ],
    [
      'unknown community name',
      `${GENERAL_MIN}  communities:\n    do_not_annonce_to_any:\n      std: "0:rs_as"\n`,
      CLIENTS_MIN,
      "general.yml: cfg.communities.do_not_annonce_to_any (line 5): unknown key 'do_not_annonce_to_any' (neither an arouteserver nor an ixrs key); did you mean 'do_not_announce_to_any'?",
    ],
    [
      'pref_len min above max',
      `${GENERAL_MIN}  filtering:\n    ipv6_pref_len:\n      min: 49\n`,
      CLIENTS_MIN,
      'general.yml: cfg.filtering.ipv6_pref_len.min (line 6): min (49) is above max (48)',
    ],
    [
      'damping thresholds',
      `${GENERAL_MIN}  ixrs:\n    rs_bfd:\n      damping:\n        reuse_threshold: 3000\n`,
      CLIENTS_MIN,
      'general.yml: cfg.ixrs.rs_bfd.damping.reuse_threshold (line 7): reuse_threshold (3000) must be below suppress_threshold (2000)',
    ],
    [
      'reconnect backoff max below initial',
      `${GENERAL_MIN}  ixrs:\n    reconnect_backoff:\n      initial: 200\n`,
      CLIENTS_MIN,
      'general.yml: cfg.ixrs.reconnect_backoff.initial (line 6): max (120) is below initial (200)',
    ],
    [
      'listen address',
      `${GENERAL_MIN}  ixrs:\n    listen:\n      - address: "localhost"\n`,
      CLIENTS_MIN,
      "general.yml: cfg.ixrs.listen[0].address (line 6): 'localhost' is not an IPv4 or IPv6 address",
    ],
    [
      'global black list host bits',
      `${GENERAL_MIN}  filtering:\n    global_black_list_pref:\n      - prefix: "192.0.2.1"\n        length: 24\n`,
      CLIENTS_MIN,
      'general.yml: cfg.filtering.global_black_list_pref[0].length (line 7): invalid prefix "192.0.2.1/24": host bits set (did you mean 192.0.2.0/24?)',
    ],
    [
      'client asn 0',
      GENERAL_MIN,
      'clients:\n  - asn: 0\n    ip: "192.0.2.11"\n',
      'clients.yml: clients[0].asn (line 2): 0 is out of range (1..4294967295)',
    ],
    [
      'client without ip',
      GENERAL_MIN,
      'clients:\n  - asn: 3333\n',
      "clients.yml: clients[0] (line 2): missing required key 'ip'",
    ],
    [
      'unknown client key',
      GENERAL_MIN,
      'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n    descr: "x"\n',
      "clients.yml: clients[0].descr (line 4): unknown key 'descr' (neither an arouteserver nor an ixrs key); did you mean 'description'?",
    ],
    [
      'irr prefix range',
      GENERAL_MIN,
      'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n    cfg:\n      filtering:\n        irrdb:\n          prefixes: ["193.0.0.0/21{16,24}"]\n',
      "clients.yml: clients[0].cfg.filtering.irrdb.prefixes[0] (line 7): '193.0.0.0/21{16,24}': range {16,24} must satisfy 21 <= ge <= le <= 32",
    ],
    [
      'clients not a list',
      GENERAL_MIN,
      'clients:\n  asn: 3333\n',
      'clients.yml: clients (line 2): expected a list, got a mapping',
    ],
    [
      'empty general.yml',
      '',
      CLIENTS_MIN,
      "general.yml: <document>: the file is empty; expected a 'cfg' mapping",
    ],
    [
      'max_prefix action',
      GENERAL_MIN,
      'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n    cfg:\n      filtering:\n        max_prefix:\n          action: "drop"\n',
      "clients.yml: clients[0].cfg.filtering.max_prefix.action (line 7): expected one of 'shutdown', 'restart', 'block', 'warning', got the string 'drop'",
    ],
  ];
  for (const [name, g, c, message] of inline) {
    it(name, () => {
      expect(err(() => parseConfig(g, c)).message).toBe(message);
    });
  }
});

describe('loadConfig: arouteserver keys ixrs does not implement are warnings, once', () => {
  const { warnings } = loadConfig(fx('unimplemented-general.yml'), fx('unimplemented-clients.yml'));
  const keys = warnings.map((w) => `${basename(w.file)}: ${w.key}`);

  it('each unimplemented key set to something active is reported with file, key and line', () => {
    for (const k of [
      'cfg.prepend_rs_as',
      'cfg.gtsm',
      'cfg.multihop',
      'cfg.rpki_roas',
      'cfg.rtt_thresholds',
      'cfg.custom_communities',
      'cfg.filtering.irrdb.tag_as_set',
      'cfg.filtering.irrdb.peering_db',
      'cfg.filtering.rpki_bgp_origin_validation',
      'cfg.filtering.max_prefix.peering_db',
      'cfg.filtering.transit_free.action',
      'cfg.filtering.never_via_route_servers.peering_db',
      'cfg.filtering.roles',
      'cfg.blackhole_filtering.policy_ipv4',
      'cfg.graceful_shutdown.enabled',
      'cfg.rfc1997_wellknown_communities.policy',
      'cfg.communities.origin_present_in_as_set',
      'cfg.communities.blackholing',
      'cfg.communities.add_noexport_to_any',
    ]) {
      expect(keys).toContain(`unimplemented-general.yml: ${k}`);
    }
    for (const k of ['asns', 'clients[0].password', 'clients[0].cfg.filtering.irrdb.as_sets']) {
      expect(keys).toContain(`unimplemented-clients.yml: ${k}`);
    }
    const w = warnings.find((x) => x.key === 'cfg.filtering.rpki_bgp_origin_validation')!;
    expect(w.line).toBe(16);
    expect(w.message).toMatch(/RPKI-invalid routes are accepted/);
    expect(w.unsafe).toBe(true);
  });

  it('a key repeated in every client is reported once, naming every client it concerns', () => {
    const pw = warnings.filter((x) => x.key.includes('password'));
    expect(pw.map((x) => x.key)).toEqual(['clients[0].password']);
    expect(pw[0]!.clients).toEqual(['AS3333', 'AS10745']);
    expect(formatWarning(pw[0]!)).toMatch(
      /clients\[\]\.password .*\[2 clients: AS3333, AS10745\]$/,
    );
  });

  it('rfc8950 and max_prefix.restart_after are implemented: no warning', () => {
    expect(keys).not.toContain('unimplemented-general.yml: cfg.rfc8950');
    expect(keys).not.toContain('unimplemented-general.yml: cfg.filtering.max_prefix.restart_after');
  });

  it('inactive settings of unimplemented features (False, enabled: False, null) are not warned', () => {
    const g = `${IRR_OFF}    rpki_bgp_origin_validation:\n      enabled: False\n      reject_invalid: True\n  gtsm: False\n  multihop:\n  graceful_shutdown:\n    enabled: False\n`;
    expect(parseConfig(g, CLIENTS_MIN).warnings).toEqual([]);
  });
});

describe('loadConfig: next-hop policy details (arouteserver clients.yml)', () => {
  it('authorized_addresses inherited from general.yml needs a client list', () => {
    const g = `${IRR_OFF}    next_hop:\n      policy: authorized_addresses\n`;
    expect(err(() => parseConfig(g, CLIENTS_MIN)).message).toBe(
      "clients.yml: clients[0] (line 2): next_hop policy 'authorized_addresses' (from general.yml) needs a non-empty cfg.filtering.next_hop.authorized_addresses_list",
    );
  });

  it('arouteserver < 0.6 next_hop_policy spelling is still understood', () => {
    const cl =
      'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n    cfg:\n      filtering:\n        next_hop_policy: same-as\n';
    expect(parseConfig(IRR_OFF, cl).config.clients[0]!.policy.nextHopPolicy).toBe('same-as');
  });

  it('newer arouteserver keys (16bit_mapped_asn, allow_as_set, ASPA, roles) are warned', () => {
    const cl =
      'clients:\n  - asn: 4200000001\n    16bit_mapped_asn: 64512\n    ip: "192.0.2.11"\n    cfg:\n      filtering:\n        allow_as_set: true\n        rpki_aspa_verification: { enabled: true }\n        roles: { enabled: true }\n';
    const keys = parseConfig(IRR_OFF, cl).warnings.map((w) => w.key);
    expect(keys).toEqual([
      'clients[0].16bit_mapped_asn',
      'clients[0].cfg.filtering.allow_as_set',
      'clients[0].cfg.filtering.rpki_aspa_verification',
      'clients[0].cfg.filtering.roles',
    ]);
  });
});

describe('loadConfig: YAML anchors, aliases and merge keys', () => {
  it('clients may share settings through &anchor / <<: *anchor; own keys win', () => {
    const cl = `
defaults: &defaults
  passive: False
  add_path: True
clients:
  - asn: 3333
    ip: "192.0.2.11"
    cfg:
      <<: *defaults
      add_path: False
  - asn: 10745
    ip: "192.0.2.22"
    cfg: *defaults
`;
    // 'defaults' is not a clients.yml key: an error, as for any unknown key.
    expect(err(() => parseConfig(IRR_OFF, cl)).key).toBe('defaults');
    const { config } = parseConfig(IRR_OFF, cl.replace('defaults: &defaults', 'asns: &defaults'));
    expect(config.clients.map((c) => [c.passive, c.addPath])).toEqual([
      [false, false],
      [false, true],
    ]);
  });
});

describe('loadConfig: identities', () => {
  it('RFC 6286 §2.1: the BGP Identifier (router_id) is non-zero', () => {
    const g = 'cfg:\n  rs_as: 64500\n  router_id: "0.0.0.0"\n';
    expect(err(() => parseConfig(g, CLIENTS_MIN)).message).toBe(
      'general.yml: cfg.router_id (line 3): the BGP Identifier must not be 0.0.0.0 (RFC 6286 §2.1)',
    );
  });

  it('RFC 7947 §2: clients are eBGP peers, so no client may use rs_as', () => {
    const cl = 'clients:\n  - asn: 64500\n    ip: "192.0.2.11"\n';
    expect(err(() => parseConfig(IRR_OFF, cl)).message).toBe(
      "clients.yml: clients[0].asn (line 2): 64500 is the route server's own AS (rs_as); clients are eBGP peers",
    );
  });
});
