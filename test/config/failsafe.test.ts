// Issue #16 "Fail safe": what ixrs does not implement must never be mistaken
// for protection. Each rule: the unsafe configuration is refused with every
// affected client named; acknowledged, it loads and says so once.

import { describe, expect, it } from 'vitest';
import { ConfigError, formatWarning, parseConfig } from '../../src/config/load.ts';

const G = 'cfg:\n  rs_as: 64500\n  router_id: "192.0.2.2"\n';
const IRR_OFF = `${G}  filtering:\n    irrdb:\n      enforce_origin_in_as_set: False\n      enforce_prefix_in_as_set: False\n`;

/** `n` clients AS65001.., 192.0.2.11.., each with `extra` (YAML at 4 spaces). */
function clients(n: number, extra = ''): string {
  const out = ['clients:'];
  for (let i = 0; i < n; i++) {
    out.push(`  - asn: ${65001 + i}`, `    ip: "192.0.2.${11 + i}"`);
    if (extra !== '') out.push(extra.replace(/\n$/, ''));
  }
  return `${out.join('\n')}\n`;
}

function err(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const ALL = Array.from({ length: 21 }, (_, i) => `AS${65001 + i}`);

describe('fail safe: TCP-MD5 (password)', () => {
  it('a client with a password is refused, every such client named (21 of them)', () => {
    const e = err(() => parseConfig(IRR_OFF, clients(21, '    password: "s3cret"')));
    expect(e.key).toBe('clients[0].password');
    expect(e.message).toMatch(/TCP-MD5 .* not implemented/);
    for (const id of ALL) expect(e.message).toContain(`${id} (line `);
    expect(e.message).toContain('cfg.ixrs.allow_unauthenticated');
  });

  it('only the clients not acknowledged are named', () => {
    const g = `${IRR_OFF}  ixrs:\n    allow_unauthenticated: [AS65001, 65002, "192.0.2.13"]\n`;
    const e = err(() => parseConfig(g, clients(5, '    password: "x"')));
    expect(e.message).not.toMatch(/AS6500[123] /);
    expect(e.message).toContain('AS65004 (line');
    expect(e.message).toContain('AS65005 (line');
  });

  it('acknowledged ("all"): loads, and one warning names the clients (count and the first few)', () => {
    const g = `${IRR_OFF}  ixrs:\n    allow_unauthenticated: "all"\n`;
    const { config, warnings } = parseConfig(g, clients(21, '    password: "x"'));
    const pw = warnings.filter((w) => w.key.includes('password'));
    expect(pw).toHaveLength(1);
    expect(pw[0]!.acknowledged).toBe(true);
    expect(pw[0]!.clients).toEqual(ALL);
    expect(formatWarning(pw[0]!)).toMatch(
      /WITHOUT their password .*\[21 clients: AS65001, AS65002, AS65003, AS65004, AS65005 and 16 more\]$/,
    );
    expect(config.ixrs.allowUnauthenticated).toEqual(ALL);
  });

  it('an acknowledgement naming no client is an error', () => {
    const g = `${IRR_OFF}  ixrs:\n    allow_unauthenticated: [AS65099]\n`;
    const e = err(() => parseConfig(g, clients(1)));
    expect(e.message).toBe(
      "general.yml: cfg.ixrs.allow_unauthenticated[0] (line 9): 'AS65099' matches no client of the clients file",
    );
  });
});

describe('fail safe: IRR enforcement without IRR data', () => {
  it("arouteserver's defaults (enforce True) and no data: refused, every client named with the ways out", () => {
    const e = err(() => parseConfig(G, clients(21)));
    for (const id of ALL) expect(e.message).toContain(`${id} (line `);
    expect(e.message).toMatch(/irrdb\.prefixes \/ origins/);
    expect(e.message).toMatch(/enforce_origin_in_as_set and enforce_prefix_in_as_set to False/);
  });

  it('a client with data, or with enforcement off for itself, is not named', () => {
    const c = [
      'clients:',
      '  - asn: 65001',
      '    ip: "192.0.2.11"',
      '    cfg: { filtering: { irrdb: { prefixes: ["198.51.100.0/24"], origins: [65001] } } }',
      '  - asn: 65002',
      '    ip: "192.0.2.12"',
      '    cfg: { filtering: { irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False } } }',
      '  - asn: 65003',
      '    ip: "192.0.2.13"',
      '    cfg: { filtering: { irrdb: { prefixes: ["203.0.113.0/24"] } } }',
    ].join('\n');
    const e = err(() => parseConfig(G, c));
    expect(e.message).toContain('this client: AS65003 (line 8: no origins)');
    expect(e.message).not.toMatch(/AS6500[12]/);
  });

  it('enforcement off: loads, nothing enforced', () => {
    const { config } = parseConfig(IRR_OFF, clients(2));
    expect(config.clients[0]!.filtering.irrPrefixes).toBeNull();
  });
});

describe('fail safe: unsafe warnings (RPKI, GTSM, blackhole filtering) and the per-client de-duplication', () => {
  const g = `${IRR_OFF}    rpki_bgp_origin_validation:\n      enabled: True\n  gtsm: True\n  blackhole_filtering:\n    policy_ipv4: "propagate-unchanged"\n`;
  const { warnings } = parseConfig(g, clients(21, '    cfg:\n      gtsm: True\n      multihop: 2'));
  const byKey = (k: string) => warnings.find((w) => w.key === k)!;

  it('RPKI reject_invalid (default True), GTSM and blackhole policies are unsafe', () => {
    expect(byKey('cfg.filtering.rpki_bgp_origin_validation').unsafe).toBe(true);
    expect(byKey('cfg.gtsm').unsafe).toBe(true);
    expect(byKey('cfg.blackhole_filtering.policy_ipv4').unsafe).toBe(true);
  });

  it('RPKI enabled with reject_invalid False only tags: a warning, not unsafe', () => {
    const t = `${IRR_OFF}    rpki_bgp_origin_validation:\n      enabled: True\n      reject_invalid: False\n`;
    const w = parseConfig(t, clients(1)).warnings;
    expect(w).toHaveLength(1);
    expect(w[0]!.unsafe).toBeUndefined();
  });

  it('a per-client key is one warning listing every client (clients[2] and clients[20] included)', () => {
    const gtsm = warnings.filter((w) => w.key.endsWith('.cfg.gtsm'));
    expect(gtsm).toHaveLength(1);
    expect(gtsm[0]!.clients).toEqual(ALL);
    expect(gtsm[0]!.unsafe).toBe(true);
    const mh = warnings.filter((w) => w.key.endsWith('.cfg.multihop'));
    expect(mh[0]!.clients).toEqual(ALL);
    expect(mh[0]!.unsafe).toBeUndefined();
    expect(formatWarning(mh[0]!)).toMatch(/^clients\.yml: clients\[\]\.cfg\.multihop \(line 6\): /);
  });

  it('clients: [] is warned', () => {
    const w = parseConfig(IRR_OFF, 'clients: []\n').warnings;
    expect(w.map(formatWarning)).toEqual([
      'clients.yml: clients (line 1): no clients: the route server will have no BGP session',
    ]);
  });
});

describe('rfc8950, max_prefix.restart_after, local_address, ip_ver, control', () => {
  it("rfc8950: arouteserver's default False, set globally and per client", () => {
    expect(parseConfig(IRR_OFF, clients(1)).config.clients[0]!.rfc8950).toBe(false);
    const g = `${IRR_OFF}  rfc8950: True\n`;
    const c = `${clients(1)}  - asn: 65009\n    ip: "2001:db8::9"\n    cfg:\n      rfc8950: False\n`;
    const { config, warnings } = parseConfig(g, c);
    expect(warnings).toEqual([]);
    expect(config.clients.map((x) => x.rfc8950)).toEqual([true, false]);
  });

  it('max_prefix.restart_after: default 15 minutes, general and per client', () => {
    const g = `${IRR_OFF}    max_prefix:\n      action: restart\n      restart_after: 5\n`;
    const c = `${clients(1)}  - asn: 65009\n    ip: "192.0.2.99"\n    cfg:\n      filtering:\n        max_prefix:\n          restart_after: 1\n`;
    const { config } = parseConfig(g, c);
    expect(config.clients.map((x) => x.maxPrefixRestartAfter)).toEqual([5, 1]);
    expect(parseConfig(IRR_OFF, clients(1)).config.clients[0]!.maxPrefixRestartAfter).toBe(15);
  });

  it('ixrs: local_address per family, ip_ver, control { path, mode, group }', () => {
    const g = `${IRR_OFF}  ixrs:\n    local_address: { ipv4: "192.0.2.2", ipv6: "2001:DB8::2" }\n    ip_ver: 6\n    control: { path: "/run/ixrs6/ixrs.sock", mode: "0640", group: "noc" }\n`;
    const { ixrs } = parseConfig(g, clients(1)).config;
    expect(ixrs.localAddress).toEqual({ ipv4: '192.0.2.2', ipv6: '2001:db8::2' });
    expect(ixrs.ipVersion).toBe(6);
    expect(ixrs.control).toEqual({ path: '/run/ixrs6/ixrs.sock', mode: 0o640, group: 'noc' });
    expect(ixrs.controlSocket).toBe('/run/ixrs6/ixrs.sock');
  });

  it('control.path errors say it is a path (not a port)', () => {
    const g = `${IRR_OFF}  ixrs:\n    control: { path: "179" }\n`;
    expect(err(() => parseConfig(g, clients(1))).message).toMatch(
      /cfg\.ixrs\.control\.path .*is not an absolute path: 'path' is the file system path of the control socket \(a unix socket\), not a port/,
    );
  });

  it('local_address of the wrong family and a bare numeric mode are errors', () => {
    const a = `${IRR_OFF}  ixrs:\n    local_address: { ipv4: "2001:db8::2" }\n`;
    expect(err(() => parseConfig(a, clients(1))).message).toMatch(/is not an IPv4 address/);
    const m = `${IRR_OFF}  ixrs:\n    control: { mode: 660 }\n`;
    expect(err(() => parseConfig(m, clients(1))).message).toMatch(/quoted string, e\.g\. "0660"/);
  });
});
