// The normalised configuration of `ixrs run`: arouteserver's general.yml +
// clients.yml, plus ixrs' own keys under cfg.ixrs.

import type { PrefixRule } from '../rs/bogons.ts';
import type { ResolvedCommunities } from '../rs/communities.ts';
import type { ClientConfig, MaxPrefixAction } from '../rs/policy-api.ts';
import type { BmpConfig, HttpConfig, MrtConfig } from './observability.ts';

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
  maxPrefix: {
    action: MaxPrefixAction | null;
    limitIpv4: number;
    limitIpv6: number;
    /** 'restart': minutes until the session is started again (arouteserver default 15). */
    restartAfter: number;
  };
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
  /** RFC 8950 extended next hop offered to this client (arouteserver `rfc8950`, default False). */
  rfc8950: boolean;
  /** Max-prefix 'restart': minutes before the session is started again (arouteserver `restart_after`, default 15). */
  maxPrefixRestartAfter: number;
  /** Where the client is configured: `clients[i]` and the line, for messages. */
  source: { path: string; line?: number };
}

export interface ListenAddress {
  address: string;
  port: number;
  /** "::" for IPv6 only (an `ip_ver: 6` instance beside an IPv4 one on 0.0.0.0). */
  ipv6Only?: boolean;
}

export interface RsBfdConfig {
  enabled: boolean;
  /** A requested BFD session that is not Up within this time means a broken path (rs-bfd-profile §6). */
  bringUpTimeoutMs: number;
  /** BGP-LS Identifier of this LAN (rs-bfd-profile §4). */
  instanceId: number;
  /** Per (client, next hop) flap damping at the RS (rs-bfd-profile §7). */
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

/** The control socket (cfg.ixrs.control): who may read and who may change state. */
export interface ControlConfig {
  path: string;
  /** File mode of the socket (default 0o660: owner and group). */
  mode: number;
  /** Group owning the socket: its members run the read-only commands. Null: the process's group. */
  group: string | null;
}

export interface IxrsConfig {
  listen: ListenAddress[];
  controlSocket: string;
  control: ControlConfig;
  /** `listen` is the default (every address): `ip_ver` narrows it to one family. */
  listenDefault: boolean;
  /** Source address of active sessions per family (BIRD's `local`); null: the kernel picks. */
  localAddress: { ipv4: string | null; ipv6: string | null };
  /** Limit this instance to one address family (arouteserver --ip-ver); null: both. */
  ipVersion: 4 | 6 | null;
  /** Client ids whose TCP-MD5 password is acknowledged as not enforced (cfg.ixrs.allow_unauthenticated). */
  allowUnauthenticated: string[];
  /** Hold time offered in OPEN, seconds (0 or >= 3, RFC 4271 §4.2). */
  holdTime: number;
  logLevel: LogLevel;
  rsBfd: RsBfdConfig;
  /** cfg.ixrs.http (observability.ts): null when absent. */
  http: HttpConfig | null;
  /** cfg.ixrs.mrt: null when absent. */
  mrt: MrtConfig | null;
  /** cfg.ixrs.bmp: null when absent. */
  bmp: BmpConfig | null;
  /**
   * Reconnect damping (cfg.ixrs.reconnect_backoff): after a session that ended
   * in an error or never reached Established, the client's connections are
   * refused for `initialS` seconds, doubling per consecutive failure up to
   * `maxS`. 0 disables it.
   */
  reconnectBackoff: { initialS: number; maxS: number };
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
  /** Key path, e.g. `cfg.filtering.rpki_bgp_origin_validation` (the first one for a per-client key). */
  key: string;
  line?: number;
  message: string;
  /**
   * The setting asks for protection ixrs does not give (RPKI, GTSM, TCP-MD5,
   * IRR, blackhole filtering): `ixrs run --check` fails on it.
   */
  unsafe?: boolean;
  /** Unsafe, but the operator acknowledged it (cfg.ixrs.allow_unauthenticated). */
  acknowledged?: boolean;
  /**
   * A per-client key: every client it concerns, in file order (`AS64501
   * (clients[3])`); the warning is reported once for all of them.
   */
  clients?: string[];
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

/** How many clients a message names before "and N more". */
export const CLIENTS_NAMED = 5;

/** "3 clients: AS1, AS2, AS3" / "1 client: AS1" / "30 clients: AS1, ..., AS5 and 25 more". */
export function clientList(names: readonly string[], max = CLIENTS_NAMED): string {
  const head = names.slice(0, max).join(', ');
  const more = names.length > max ? ` and ${names.length - max} more` : '';
  return `${names.length} ${names.length === 1 ? 'client' : 'clients'}: ${head}${more}`;
}

export function formatWarning(w: ConfigWarning): string {
  const where = w.line === undefined ? '' : ` (line ${w.line})`;
  const key = w.clients !== undefined ? w.key.replace(/^clients\[\d+\]/, 'clients[]') : w.key;
  const who = w.clients !== undefined ? ` [${clientList(w.clients)}]` : '';
  const tag = w.unsafe && !w.acknowledged ? ' (unsafe)' : '';
  return `${w.file}: ${key}${where}: ${w.message}${tag}${who}`;
}
