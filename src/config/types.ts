// The normalised configuration of `ixrs run`: arouteserver's general.yml +
// clients.yml, plus ixrs' own keys under cfg.ixrs.

import type { PrefixRule } from '../rs/bogons.ts';
import type { ResolvedCommunities } from '../rs/communities.ts';
import type { ClientConfig, MaxPrefixAction } from '../rs/policy-api.ts';

export type NextHopPolicy = 'strict' | 'same-as' | 'authorized_addresses';

export interface PrefLen {
  min: number;
  max: number;
}

/** Global filtering (general.yml cfg.filtering), defaults applied. */
export interface RsFiltering {
  nextHopPolicy: NextHopPolicy;
  ipv4PrefLen: PrefLen;
  ipv6PrefLen: PrefLen;
  /** Bogons (ixrs.bogons, or the defaults of src/rs/bogons.ts). */
  bogons: PrefixRule[];
  globalBlackList: PrefixRule[];
  maxAsPathLen: number;
  rejectInvalidAsInAsPath: boolean;
  /** null action: not enforced. 'warning' is accepted and treated as no enforcement (warned at load). */
  transitFree: { action: 'reject' | 'warning' | null; asns: number[] };
  neverViaRouteServers: { asns: number[] };
  maxPrefix: { action: MaxPrefixAction | null; limitIpv4: number; limitIpv6: number };
  irrdb: { enforceOriginInAsSet: boolean; enforcePrefixInAsSet: boolean };
}

/** Per-client policy settings that policy-api's ClientConfig does not carry. */
export interface ClientPolicySettings {
  nextHopPolicy: NextHopPolicy;
  maxAsPathLen: number;
  rejectInvalidAsInAsPath: boolean;
  /** filtering.black_list_pref (reject code 11). */
  blackList: PrefixRule[];
}

/** A client as policy-api.ts defines it, plus the settings the policy layer needs. */
export interface RsClientConfig extends ClientConfig {
  policy: ClientPolicySettings;
  /** general.yml cfg.ixrs.rs_bfd with the client's cfg.ixrs.rs_bfd override applied. */
  rsBfd: RsBfdConfig;
}

export interface ListenAddress {
  address: string;
  port: number;
}

export interface RsBfdConfig {
  /** True (default): active for the client once its agent connects; false refuses BGP-LS from it. */
  enabled: boolean;
  /** A requested BFD session that is not Up within this time means a broken path (rs-bfd-profile §6). */
  bringUpTimeoutMs: number;
  /** BGP-LS Identifier of this LAN (rs-bfd-profile §4). */
  instanceId: number;
  /** Per (client, next hop) flap damping at the RS (rs-bfd-profile §7; src/nhib/damping.ts). */
  damping: {
    enabled: boolean;
    /** Penalty added per transition to unreachable. */
    penalty: number;
    /** Suppress (keep unreachable) above this penalty. */
    suppressThreshold: number;
    /** Release below this penalty. */
    reuseThreshold: number;
    halfLifeMs: number;
    maxSuppressMs: number;
  };
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface IxrsConfig {
  listen: ListenAddress[];
  controlSocket: string;
  /** Hold time offered in OPEN, seconds (0 or >= 3, RFC 4271 §4.2). */
  holdTime: number;
  logLevel: LogLevel;
  rsBfd: RsBfdConfig;
}

export interface RsConfig {
  rsAs: number;
  /** Canonical IPv4 text. */
  routerId: string;
  pathHiding: boolean;
  filtering: RsFiltering;
  communities: ResolvedCommunities;
  rejectPolicy: 'reject' | 'tag';
  ixrs: IxrsConfig;
  clients: RsClientConfig[];
  sources: { general: string; clients: string };
}

export interface ConfigWarning {
  file: string;
  /** Key path, e.g. `cfg.filtering.rpki_bgp_origin_validation`. */
  key: string;
  line?: number;
  message: string;
}

/** Bad configuration: names the file, the key path, the line when known, and the problem. */
export class ConfigError extends Error {
  readonly file: string;
  readonly key: string;
  readonly line: number | undefined;
  readonly problem: string;
  constructor(file: string, key: string, line: number | undefined, problem: string) {
    const where = line === undefined ? '' : ` (line ${line})`;
    super(`${file}: ${key === '' ? '<document>' : key}${where}: ${problem}`);
    this.name = 'ConfigError';
    this.file = file;
    this.key = key;
    this.line = line;
    this.problem = problem;
  }
}

export function formatWarning(w: ConfigWarning): string {
  const where = w.line === undefined ? '' : ` (line ${w.line})`;
  return `${w.file}: ${w.key}${where}: ${w.message}`;
}
