// Writing MRT files: TABLE_DUMP_V2 RIB dumps (`ixrs dump rib FILE`, and
// periodic ones with cfg.ixrs.mrt.rib_interval) and the BGP4MP update log
// rotated every cfg.ixrs.mrt.updates_interval. Neither may stall the route
// server: the RIB walk runs in slices (src/ops/rib-walk.ts) and writes
// asynchronously; the update log buffers at most cfg.ixrs.mrt.buffer octets
// for the disk and drops (counts) records beyond.

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type pino from 'pino';
import type { MrtConfig } from '../config/observability.ts';
import type { RibSource } from '../ops/rib-walk.ts';
import { walkRib } from '../ops/rib-walk.ts';
import {
  type Bgp4mpEndpoints,
  bgp4mpMessage,
  bgp4mpStateChange,
  type MrtPeer,
  type MrtRibEntry,
  peerIndexTable,
  ribAttributes,
  ribRecord,
} from './codec.ts';

/** A session of the route server as an MRT peer. */
export interface MrtSession {
  /** The core's session key (`client@address`), RouteView.session. */
  key: string;
  address: string;
  asn: number;
  /** The peer's BGP Identifier, 0 when never seen. */
  bgpId: number;
}

export interface RibDumpSource {
  rib: RibSource;
  /** Every configured session, in a stable order (the peer index). */
  sessions(): MrtSession[];
  /** Our BGP Identifier (router id). */
  routerId: number;
  viewName: string;
  now?: () => number;
}

export interface RibDumpResult {
  file: string;
  prefixes: number;
  paths: number;
  bytes: number;
  /** When the walk started, ms since the epoch. */
  startedAt: number;
  ms: number;
}

/**
 * Write a TABLE_DUMP_V2 file of the accepted paths (what the route server
 * ranks and sends from) to `file`: written beside it, renamed into place when
 * complete, so a reader never sees half a dump.
 */
export async function writeRibDump(file: string, src: RibDumpSource): Promise<RibDumpResult> {
  const now = src.now ?? Date.now;
  const startedAt = now();
  const ts = Math.floor(startedAt / 1000);
  const sessions = src.sessions();
  const index = new Map<string, number>();
  const peers: MrtPeer[] = sessions.map((s, i) => {
    index.set(s.key, i);
    return { bgpId: s.bgpId, address: s.address, asn: s.asn };
  });
  const tmp = `${file}.part-${process.pid}`;
  const fh = await open(tmp, 'w');
  let bytes = 0;
  let paths = 0;
  let seq = 0;
  let chunks: Uint8Array[] = [];
  let pending = 0;
  const flush = async (): Promise<void> => {
    if (chunks.length === 0) return;
    const buf = Buffer.concat(chunks);
    chunks = [];
    pending = 0;
    await fh.write(buf);
  };
  const put = (rec: Uint8Array): void => {
    chunks.push(rec);
    pending += rec.length;
    bytes += rec.length;
  };
  try {
    put(peerIndexTable(ts, src.routerId, src.viewName, peers));
    let prefixes = 0;
    await walkRib(
      src.rib,
      (prefix, views) => {
        const entries: MrtRibEntry[] = [];
        for (const v of views) {
          if (!v.accepted) continue;
          const pi = index.get(v.session);
          if (pi === undefined) continue;
          const afi = prefix.includes(':') ? 2 : 1;
          entries.push({
            peerIndex: pi,
            originated: ts,
            attributes: ribAttributes(v.attrs, afi, v.nextHop),
          });
        }
        if (entries.length === 0) return;
        put(ribRecord(ts, seq++, prefix, entries));
        paths += entries.length;
        prefixes++;
      },
      {
        // Flush between slices: the file grows while the walk goes on.
        yieldTo: async () => {
          if (pending > 1 << 20) await flush();
          await new Promise<void>((r) => setImmediate(r));
        },
      },
    );
    await flush();
    await fh.close();
    await rename(tmp, file);
    return { file, prefixes, paths, bytes, startedAt, ms: now() - startedAt };
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** strftime-like %Y %m %d %H %M %S %% in UTC. */
export function fileNameAt(pattern: string, ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return pattern.replace(/%([YmdHMS%])/g, (_, c: string) => {
    switch (c) {
      case 'Y':
        return String(d.getUTCFullYear());
      case 'm':
        return two(d.getUTCMonth() + 1);
      case 'd':
        return two(d.getUTCDate());
      case 'H':
        return two(d.getUTCHours());
      case 'M':
        return two(d.getUTCMinutes());
      case 'S':
        return two(d.getUTCSeconds());
      default:
        return '%';
    }
  });
}

export interface MrtTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

const realTimers: MrtTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * cfg.ixrs.mrt: periodic RIB dumps and the rotated BGP4MP update log, in
 * cfg.ixrs.mrt.directory. Periods are aligned to the clock (every 5 minutes:
 * at :00, :05, ...), file names carry the UTC start of the period.
 */
export class MrtService {
  readonly stats = { ribDumps: 0, ribErrors: 0, records: 0, dropped: 0, files: 0 };
  private readonly cfg: MrtConfig;
  private readonly src: RibDumpSource;
  private readonly log: pino.Logger;
  private readonly t: MrtTimers;
  private ribTimer: unknown = null;
  private rotateTimer: unknown = null;
  private stream: WriteStream | null = null;
  private dumping: Promise<unknown> | null = null;
  private closed = false;
  /** The update log being written, if any. */
  current: string | null = null;

  constructor(
    cfg: MrtConfig,
    src: RibDumpSource,
    log: pino.Logger,
    timers: MrtTimers = realTimers,
  ) {
    this.cfg = cfg;
    this.src = src;
    this.log = log;
    this.t = timers;
  }

  /** Creates the directory (errors name the key) and arms the timers. */
  start(): void {
    try {
      mkdirSync(this.cfg.directory, { recursive: true });
    } catch (err) {
      throw new Error(
        `cfg.ixrs.mrt.directory: cannot create ${this.cfg.directory}: ${(err as Error).message}`,
      );
    }
    if (this.cfg.updatesIntervalS > 0) this.rotate();
    if (this.cfg.ribIntervalS > 0) this.armRib();
  }

  private untilNext(periodS: number): number {
    const p = periodS * 1000;
    const now = this.t.now();
    return p - (now % p);
  }

  private armRib(): void {
    this.ribTimer = this.t.setTimeout(() => {
      this.ribTimer = null;
      if (this.closed) return;
      void this.dumpNow();
      this.armRib();
    }, this.untilNext(this.cfg.ribIntervalS));
  }

  /** A periodic dump now (skipped while one still runs). */
  dumpNow(): Promise<RibDumpResult | null> {
    if (this.dumping !== null) {
      this.log.warn('MRT RIB dump still running at the next period: skipped');
      return Promise.resolve(null);
    }
    const file = join(this.cfg.directory, fileNameAt(this.cfg.ribFile, this.t.now()));
    const run = writeRibDump(file, this.src).then(
      (r) => {
        this.stats.ribDumps++;
        this.log.info({ file, prefixes: r.prefixes, paths: r.paths, ms: r.ms }, 'MRT RIB dump');
        return r;
      },
      (err: unknown) => {
        this.stats.ribErrors++;
        this.log.error({ err, file }, 'MRT RIB dump failed');
        return null;
      },
    );
    this.dumping = run;
    void run.finally(() => {
      this.dumping = null;
    });
    return run;
  }

  /** Close the update log being written and open the next one. */
  rotate(): void {
    if (this.rotateTimer !== null) this.t.clearTimeout(this.rotateTimer);
    this.rotateTimer = null;
    this.stream?.end();
    this.stream = null;
    if (this.closed) return;
    const now = this.t.now();
    const p = this.cfg.updatesIntervalS * 1000;
    const file = join(this.cfg.directory, fileNameAt(this.cfg.updatesFile, now - (now % p)));
    const s = createWriteStream(file, { flags: 'a' });
    s.on('error', (err) => {
      this.log.error({ err, file }, 'MRT update log write failed; records dropped until rotation');
      if (this.stream === s) this.stream = null;
    });
    this.stream = s;
    this.current = file;
    this.stats.files++;
    this.rotateTimer = this.t.setTimeout(
      () => this.rotate(),
      this.untilNext(this.cfg.updatesIntervalS),
    );
  }

  private append(rec: Uint8Array): void {
    const s = this.stream;
    if (s === null) return;
    if (s.writableLength + rec.length > this.cfg.bufferBytes) {
      if (this.stats.dropped++ === 0) {
        this.log.warn({ file: this.current }, 'MRT update log: disk too slow, records dropped');
      }
      return;
    }
    this.stats.records++;
    s.write(rec);
  }

  /** A BGP message received from (or sent to) a client, whole (header included). */
  message(e: Bgp4mpEndpoints, bytes: Uint8Array): void {
    if (this.stream === null) return;
    this.append(bgp4mpMessage(this.t.now() / 1000, e, bytes));
  }

  /** A session's FSM state change (RFC 6396 §4.4.1 numbers). */
  stateChange(e: Bgp4mpEndpoints, from: number, to: number): void {
    if (this.stream === null) return;
    this.append(bgp4mpStateChange(this.t.now() / 1000, e, from, to));
  }

  /** True while the update log is written. */
  get logging(): boolean {
    return this.stream !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ribTimer !== null) this.t.clearTimeout(this.ribTimer);
    if (this.rotateTimer !== null) this.t.clearTimeout(this.rotateTimer);
    const s = this.stream;
    this.stream = null;
    if (s !== null) await new Promise<void>((r) => s.end(() => r()));
    await this.dumping;
  }
}
