import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

const GENERAL_MIN = 'cfg:\n  rs_as: 64500\n  router_id: "192.0.2.2"\n';
const CLIENTS_MIN = 'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n';
/** cfg-level key: IRR enforcement off (ixrs fetches no IRR data; the fail-safe rule refuses it on). */
const IRR_OFF =
  '  filtering:\n    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }\n';

function message(general: string, clients: string): string {
  try {
    parseConfig(general, clients);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const GENERAL_BFD = `${GENERAL_MIN}  ixrs:
    rs_bfd:
      instance_id: 42
      bring_up_timeout: 5
      damping:
        penalty: 500
        half_life: 30
${IRR_OFF}`;

const CLIENTS_BFD = `clients:
  - asn: 3333
    ip: "192.0.2.11"
  - asn: 4444
    ip: "192.0.2.22"
    cfg:
      ixrs:
        rs_bfd:
          enabled: false
  - asn: 5555
    ip: "192.0.2.33"
    cfg:
      ixrs:
        rs_bfd:
          bring_up_timeout: 2.5
          damping:
            suppress_threshold: 3000
            max_suppress_time: 120
`;

describe('cfg.ixrs.rs_bfd (rs-bfd-profile)', () => {
  it('defaults: enabled for every client, LAN instance 0, damping on (never delays the first Down)', () => {
    const { config } = parseConfig(`${GENERAL_MIN}${IRR_OFF}`, CLIENTS_MIN);
    const want = {
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
    };
    expect(config.ixrs.rsBfd).toEqual(want);
    expect(config.clients[0]!.rsBfd).toEqual(want);
  });

  it('general.yml settings apply to every client; clients.yml cfg.ixrs.rs_bfd overrides key by key', () => {
    const { config, warnings } = parseConfig(GENERAL_BFD, CLIENTS_BFD);
    expect(warnings).toEqual([]);
    const [a, b, c] = config.clients;
    expect(config.ixrs.rsBfd.instanceId).toBe(42);
    expect(a!.rsBfd).toEqual(config.ixrs.rsBfd);
    expect(a!.rsBfd).toMatchObject({ enabled: true, bringUpTimeoutMs: 5000, instanceId: 42 });
    expect(a!.rsBfd.damping).toMatchObject({ penalty: 500, halfLifeMs: 30_000 });
    expect(b!.rsBfd.enabled).toBe(false);
    expect(b!.rsBfd.damping).toEqual(a!.rsBfd.damping);
    expect(c!.rsBfd).toMatchObject({ enabled: true, bringUpTimeoutMs: 2500, instanceId: 42 });
    expect(c!.rsBfd.damping).toEqual({
      enabled: true,
      penalty: 500,
      suppressThreshold: 3000,
      reuseThreshold: 750,
      halfLifeMs: 30_000,
      maxSuppressMs: 120_000,
    });
    // The override does not leak into the general settings or other clients.
    expect(config.ixrs.rsBfd.damping.suppressThreshold).toBe(2000);
  });

  it.each([
    [
      'unknown key in general.yml',
      `${GENERAL_MIN}  ixrs:\n    rs_bfd:\n      enable: false\n`,
      CLIENTS_MIN,
      "general.yml: cfg.ixrs.rs_bfd.enable (line 6): unknown key 'enable' (neither an arouteserver nor an ixrs key); did you mean 'enabled'?",
    ],
    [
      'bad value',
      `${GENERAL_MIN}  ixrs:\n    rs_bfd:\n      damping:\n        half_life: -3\n`,
      CLIENTS_MIN,
      'general.yml: cfg.ixrs.rs_bfd.damping.half_life (line 7): -3 is out of range (0.1..86400)',
    ],
    [
      'max_suppress_time too short to ever suppress (RFC 2439 §4.2 ceiling)',
      `${GENERAL_MIN}  ixrs:\n    rs_bfd:\n      damping:\n        max_suppress_time: 15\n`,
      CLIENTS_MIN,
      'general.yml: cfg.ixrs.rs_bfd.damping.max_suppress_time (line 7): with half_life 15 s and reuse_threshold 750 the penalty is capped at 1500 (reuse_threshold · 2^(max_suppress_time/half_life), RFC 2439 §4.2), never above suppress_threshold 2000: raise max_suppress_time',
    ],
    [
      'unknown key in a client override',
      GENERAL_MIN,
      'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n    cfg:\n      ixrs:\n        rs_bfd:\n          dampening: {}\n',
      "clients.yml: clients[0].cfg.ixrs.rs_bfd.dampening (line 7): unknown key 'dampening' (neither an arouteserver nor an ixrs key); did you mean 'damping'?",
    ],
    [
      'unknown ixrs key in a client',
      GENERAL_MIN,
      'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n    cfg:\n      ixrs:\n        hold_time: 30\n',
      "clients.yml: clients[0].cfg.ixrs.hold_time (line 6): unknown key 'hold_time' (neither an arouteserver nor an ixrs key)",
    ],
    [
      'instance_id is per LAN, not per client',
      GENERAL_MIN,
      'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n    cfg:\n      ixrs:\n        rs_bfd:\n          instance_id: 7\n',
      "clients.yml: clients[0].cfg.ixrs.rs_bfd.instance_id (line 7): the BGP-LS Identifier is the LAN's: set it in general.yml (cfg.ixrs.rs_bfd.instance_id)",
    ],
    [
      'client thresholds checked after merging with general.yml',
      `${GENERAL_MIN}  ixrs:\n    rs_bfd:\n      damping:\n        reuse_threshold: 1500\n`,
      'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n    cfg:\n      ixrs:\n        rs_bfd:\n          damping:\n            suppress_threshold: 1200\n',
      'clients.yml: clients[0].cfg.ixrs.rs_bfd.damping.suppress_threshold (line 8): reuse_threshold (1500) must be below suppress_threshold (1200)',
    ],
    [
      'enabled must be a boolean',
      GENERAL_MIN,
      'clients:\n  - asn: 3333\n    ip: "192.0.2.11"\n    cfg:\n      ixrs:\n        rs_bfd:\n          enabled: "no"\n',
      "clients.yml: clients[0].cfg.ixrs.rs_bfd.enabled (line 7): expected true or false, got the string 'no'",
    ],
  ])('%s', (_name, general, clients, want) => {
    expect(message(general, clients)).toBe(want);
  });
});
