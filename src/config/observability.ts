// cfg.ixrs.http, cfg.ixrs.mrt and cfg.ixrs.bmp: the listeners and exporters
// that feed an IXP's operations tools (docs/observability.md). Each is off
// while its key is absent. Errors name the file, the key path and the line
// (reader.ts).

import { canonicalIp } from './net.ts';
import type { Val } from './reader.ts';

export interface HttpConfig {
  /** Canonical IP text; 127.0.0.1 unless configured. */
  listen: string;
  port: number;
  /** Simultaneous HTTP connections; more are closed at once. */
  maxConnections: number;
}

export interface MrtConfig {
  /** Directory the files are written to (created when missing). */
  directory: string;
  /** Seconds between TABLE_DUMP_V2 RIB dumps; 0: no periodic dumps. */
  ribIntervalS: number;
  /** File name pattern of RIB dumps: strftime-like %Y %m %d %H %M %S (UTC). */
  ribFile: string;
  /** Seconds after which the BGP4MP update log is rotated; 0: no update log. */
  updatesIntervalS: number;
  updatesFile: string;
  /** Octets the update log may have waiting for the disk; beyond, records are dropped (counted). */
  bufferBytes: number;
}

export interface BmpConfig {
  /** The collector: canonical IP text and TCP port. */
  address: string;
  port: number;
  /** Octets waiting for the collector before the BMP session is dropped. */
  bufferBytes: number;
  /** Seconds before reconnecting after the collector went away. */
  reconnectS: number;
  /** RFC 8671 Adj-RIB-Out (post-policy) Route Monitoring as well. */
  adjRibOut: boolean;
  /** sysName in the Initiation message (RFC 7854 §4.4); default the router id. */
  sysName: string | null;
}

const FILE_PATTERN_OK = /^[A-Za-z0-9._%+-]+$/;

function fileName(v: Val): string {
  const s = v.str();
  if (!FILE_PATTERN_OK.test(s)) {
    v.fail(`'${s}' is not a plain file name (letters, digits, . _ - + and %Y %m %d %H %M %S)`);
  }
  const bad = /%[^YmdHMS%]/.exec(s);
  if (bad !== null) v.fail(`unknown conversion '${bad[0]}' (known: %Y %m %d %H %M %S %%)`);
  return s;
}

function address(v: Val): string {
  const text = v.str();
  return canonicalIp(text) ?? v.fail(`'${text}' is not an IPv4 or IPv6 address`);
}

export function parseHttp(v: Val | undefined): HttpConfig | null {
  if (v === undefined || v.isNull()) return null;
  const m = v.map();
  const out: HttpConfig = { listen: '127.0.0.1', port: 0, maxConnections: 64 };
  const l = m.get('listen');
  if (l !== undefined) out.listen = address(l);
  out.port = m.required('port').int(1, 65535);
  const mc = m.get('max_connections');
  if (mc !== undefined) out.maxConnections = mc.int(1, 10_000);
  m.end();
  return out;
}

export function parseMrt(v: Val | undefined): MrtConfig | null {
  if (v === undefined || v.isNull()) return null;
  const m = v.map();
  const dirV = m.required('directory');
  const out: MrtConfig = {
    directory: dirV.str(),
    ribIntervalS: 7200,
    ribFile: 'rib.%Y%m%d.%H%M%S.mrt',
    updatesIntervalS: 300,
    updatesFile: 'updates.%Y%m%d.%H%M%S.mrt',
    bufferBytes: 16 * 1024 * 1024,
  };
  if (out.directory === '') dirV.fail('must not be empty');
  const ri = m.get('rib_interval');
  if (ri !== undefined) {
    out.ribIntervalS = ri.int(0, 7 * 86400);
    if (out.ribIntervalS > 0 && out.ribIntervalS < 60) ri.fail('0 (off) or at least 60 seconds');
  }
  const rf = m.get('rib_file');
  if (rf !== undefined) out.ribFile = fileName(rf);
  const ui = m.get('updates_interval');
  if (ui !== undefined) {
    out.updatesIntervalS = ui.int(0, 86400);
    if (out.updatesIntervalS > 0 && out.updatesIntervalS < 60)
      ui.fail('0 (no update log) or at least 60 seconds');
  }
  const uf = m.get('updates_file');
  if (uf !== undefined) out.updatesFile = fileName(uf);
  const b = m.get('buffer');
  if (b !== undefined) out.bufferBytes = b.int(65_536, 1024 * 1024 * 1024);
  m.end();
  return out;
}

export function parseBmp(v: Val | undefined): BmpConfig | null {
  if (v === undefined || v.isNull()) return null;
  const m = v.map();
  const out: BmpConfig = {
    address: address(m.required('address')),
    port: m.required('port').int(1, 65535),
    bufferBytes: 8 * 1024 * 1024,
    reconnectS: 30,
    adjRibOut: false,
    sysName: null,
  };
  const b = m.get('buffer');
  if (b !== undefined) out.bufferBytes = b.int(65_536, 1024 * 1024 * 1024);
  const r = m.get('reconnect');
  if (r !== undefined) out.reconnectS = r.num(0.1, 3600);
  const a = m.get('adj_rib_out');
  if (a !== undefined) out.adjRibOut = a.bool();
  const s = m.get('sys_name');
  if (s !== undefined) out.sysName = s.str();
  m.end();
  return out;
}
