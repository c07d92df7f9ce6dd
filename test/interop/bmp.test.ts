// BMP (RFC 7854) to a real collector, Debian's pmacct `pmbmpd`: its message log
// shows Peer Up for every client session, every client's Adj-RIB-In
// (pre-policy: rejected paths too, with reject_policy 'tag'), later UPDATEs and
// Peer Down. And a collector that stops reading never delays a keepalive: the
// BMP session is dropped at the bound, the BGP sessions stay up. Loopback
// only; the route server runs in this process, its clients are ixrs' own BGP
// speaker.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { makeAttributes } from '../../src/bgp/attributes.ts';
import type { BgpPeer, BgpSpeaker } from '../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { BmpConfig } from '../../src/config/observability.ts';
import { type Daemon, startDaemon } from '../../src/ops/daemon.ts';
import {
  announce,
  freePort,
  silent,
  simClient,
  sleep,
  V4_V6,
  waitFor,
} from '../ops/lib/loopback.ts';

const PMBMPD = '/usr/sbin/pmbmpd';

function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  return waitFor(what, f, ms, 200);
}

function v6(prefixes: string[], asns: number[], nextHop: string): UpdateMessage {
  return {
    type: 'update',
    withdrawn: [],
    attrs: makeAttributes({ origin: 0, asPath: [{ type: 2, asns }] }),
    nlri: [],
    mpReach: {
      afi: 2,
      safi: 1,
      nextHop: { global: nextHop },
      nlri: prefixes.map((prefix) => ({ prefix })),
    },
    mpUnreach: null,
    errors: [],
  };
}

const GENERAL = `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  filtering:
    reject_invalid_as_in_as_path: False
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
    next_hop:
      policy: "authorized_addresses"
    reject_policy:
      policy: tag
  ixrs:
    hold_time: 3
`;
const CLIENTS = `clients:
  - asn: 64581
    ip: "127.0.0.81"
    cfg:
      passive: True
      filtering:
        next_hop:
          authorized_addresses_list: ["127.0.0.81", "2001:db8::81"]
  - asn: 64582
    ip: "127.0.0.82"
    cfg:
      passive: True
      filtering:
        next_hop:
          authorized_addresses_list: ["127.0.0.82"]
`;

describe('BMP to pmacct pmbmpd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ixrs-bmp-'));
  const children: ChildProcess[] = [];
  const speakers: BgpSpeaker[] = [];
  let daemon: Daemon | null = null;
  afterAll(async () => {
    await daemon?.stop('test over');
    for (const s of speakers) await s.stop();
    // pmbmpd blocks SIGTERM while running; it is ours, by pid.
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function client(
    port: number,
    asn: number,
    ip: string,
    msgs: UpdateMessage[],
  ): Promise<BgpPeer> {
    const peer = simClient(speakers, port, asn, ip, { holdTime: 3, families: V4_V6 });
    await new Promise((r) => peer.once('established', r));
    for (const m of msgs) peer.sendUpdate(m);
    return peer;
  }

  /** pmbmpd listening on `port`, its JSON message log in `name`.json; its output so far. */
  async function pmbmpd(
    port: number,
    name: string,
  ): Promise<{ out: () => string; lines: () => Record<string, unknown>[] }> {
    expect(existsSync(PMBMPD), `${PMBMPD} missing: run scripts/install-peers.sh`).toBe(true);
    const log = join(dir, `${name}.json`);
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      `daemonize: false
bmp_daemon_ip: 127.0.0.1
bmp_daemon_port: ${port}
bmp_daemon_msglog_file: ${log}
bmp_daemon_msglog_output: json
`,
    );
    const pm = spawn(PMBMPD, ['-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(pm);
    let pmOut = '';
    pm.stdout?.on('data', (d: Buffer) => {
      pmOut += d.toString();
    });
    pm.stderr?.on('data', (d: Buffer) => {
      pmOut += d.toString();
    });
    await until('pmbmpd listening', () =>
      pmOut.includes('waiting for BMP data') ? true : undefined,
    );
    const lines = (): Record<string, unknown>[] => {
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    return { out: () => pmOut, lines };
  }

  /** A fresh route server (the previous one and its clients stopped) exporting BMP to 127.0.0.1:`port`. */
  async function start(port: number, bmp: Partial<BmpConfig>): Promise<Daemon> {
    await daemon?.stop('next test');
    daemon = null;
    for (const s of speakers.splice(0)) await s.stop();
    const { config } = parseConfig(GENERAL, CLIENTS);
    daemon = await startDaemon({
      config,
      logger: silent,
      listen: [{ address: '127.0.0.1', port: 0 }],
      controlSocket: null,
      bmp: {
        address: '127.0.0.1',
        port,
        bufferBytes: 1 << 20,
        reconnectS: 1,
        adjRibOut: false,
        sysName: 'ixrs-test',
        ...bmp,
      },
    });
    return daemon;
  }

  it("RFC 7854 §4.6/§4.10: pmbmpd shows Peer Up and every client's Adj-RIB-In, then live UPDATEs and Peer Down", async () => {
    const bmpPort = await freePort();
    const pm = await pmbmpd(bmpPort, 'msglog');
    const lines = pm.lines;

    const rs = await start(bmpPort, {});
    const port = rs.addresses()[0]!.port;
    // Routes present before the collector connects come from the initial dump.
    await client(port, 64581, '127.0.0.81', [
      announce(['193.0.0.0/24', '193.0.1.0/24'], [64581], '127.0.0.81'),
      announce(['10.0.0.0/8'], [64581], '127.0.0.81'), // bogon: rejected, still pre-policy Adj-RIB-In
      v6(['2001:67c:2e8::/48'], [64581], '2001:db8::81'),
    ]);
    const b = await client(port, 64582, '127.0.0.82', [
      announce(['193.0.8.0/24'], [64582, 64999], '127.0.0.82'),
    ]);
    await until('every path in the core', () =>
      rs.core.sessions().reduce((n, s) => n + s.adjIn, 0) === 5 ? true : undefined,
    );

    const routes = (): string[] =>
      lines()
        .filter((l) => l.bmp_msg_type === 'route_monitor' && l.log_type === 'update')
        .map((l) => `${l.peer_ip} ${l.ip_prefix} ${l.bgp_nexthop} ${l.as_path}`)
        .sort();
    const expected = [
      '127.0.0.81 10.0.0.0/8 127.0.0.81 64581',
      '127.0.0.81 193.0.0.0/24 127.0.0.81 64581',
      '127.0.0.81 193.0.1.0/24 127.0.0.81 64581',
      '127.0.0.81 2001:67c:2e8::/48 2001:db8::81 64581',
      '127.0.0.82 193.0.8.0/24 127.0.0.82 64582 64999',
    ];
    await until(
      'pmbmpd to log every route',
      () => (JSON.stringify(routes()) === JSON.stringify(expected) ? true : undefined),
      20_000,
    ).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\nlogged: ${JSON.stringify(routes())}\n${pm.out().slice(-1500)}`,
      );
    });
    const ups = lines().filter((l) => l.bmp_msg_type === 'peer_up');
    expect(ups.map((l) => l.peer_ip).sort()).toEqual(['127.0.0.81', '127.0.0.82']);
    expect(lines().some((l) => l.bmp_msg_type === 'init')).toBe(true);

    // A live UPDATE, then a session going down.
    b.sendUpdate(announce(['193.0.9.0/24'], [64582], '127.0.0.82'));
    await until('the live UPDATE', () =>
      routes().includes('127.0.0.82 193.0.9.0/24 127.0.0.82 64582') ? true : undefined,
    );
    b.stop();
    await until('Peer Down', () =>
      lines().some((l) => l.bmp_msg_type === 'peer_down' && l.peer_ip === '127.0.0.82')
        ? true
        : undefined,
    );
    expect(rs.bmp!.stats.drops).toBe(0);
  }, 90_000);

  it("RFC 8671: a collector connecting late gets every client's Adj-RIB-Out (O flag, post-policy), then End-of-RIB, then live changes", async () => {
    const bmpPort = await freePort();
    const rs = await start(bmpPort, { adjRibOut: true });
    const port = rs.addresses()[0]!.port;
    await client(port, 64581, '127.0.0.81', [
      announce(['193.0.0.0/24', '193.0.1.0/24'], [64581], '127.0.0.81'),
      v6(['2001:67c:2e8::/48'], [64581], '2001:db8::81'),
    ]);
    const b = await client(port, 64582, '127.0.0.82', [
      announce(['193.0.8.0/24', '193.0.9.0/24'], [64582, 64999], '127.0.0.82'),
    ]);
    const held = (): number => rs.core.sessions().reduce((n, s) => n + s.held, 0);
    await until('every client holds the other one routes', () => (held() === 5 ? true : undefined));
    expect(rs.bmp!.connected).toBe(false);
    // The collector comes up now: nothing was mirrored before.
    const pm = await pmbmpd(bmpPort, 'late');
    const out = (): string[] =>
      pm
        .lines()
        .filter((l) => l.bmp_msg_type === 'route_monitor' && l.is_out === 1)
        .map((l) =>
          `${l.peer_ip} ${l.log_type} ${l.ip_prefix} ${l.bgp_nexthop ?? ''} ${l.as_path ?? ''}`.trim(),
        )
        .sort();
    const expected = [
      '127.0.0.81 update 193.0.8.0/24 127.0.0.82 64582 64999',
      '127.0.0.81 update 193.0.9.0/24 127.0.0.82 64582 64999',
      '127.0.0.82 update 193.0.0.0/24 127.0.0.81 64581',
      '127.0.0.82 update 193.0.1.0/24 127.0.0.81 64581',
      '127.0.0.82 update 2001:67c:2e8::/48 2001:db8::81 64581',
    ];
    await until(
      "pmbmpd to log every client's Adj-RIB-Out",
      () => (JSON.stringify(out()) === JSON.stringify(expected) ? true : undefined),
      20_000,
    ).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\nlogged: ${JSON.stringify(out())}\n${JSON.stringify(pm.lines().slice(-3))}\n${pm.out().slice(-1500)}`,
      );
    });
    // The dump ends with End-of-RIB per session and family (pmbmpd does not
    // log End-of-RIB; test/bmp/exporter.test.ts decodes it): the dump is done.
    await until('the initial dump done', () => (rs.bmp!.stats.dumps === 1 ? true : undefined));
    // A live change after the dump: the withdrawal reaches the collector as Adj-RIB-Out of 81.
    b.sendUpdate({
      ...announce([], [64582], '127.0.0.82'),
      withdrawn: [{ prefix: '193.0.9.0/24' }],
    });
    await until('the mirrored withdrawal', () =>
      out().includes('127.0.0.81 withdraw 193.0.9.0/24') ? true : undefined,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nlogged: ${JSON.stringify(out())}`);
    });
    expect(rs.bmp!.stats.drops).toBe(0);
  }, 90_000);

  it('a collector that stops reading never delays a keepalive: dropped at the bound, BGP stays up', async () => {
    // A "collector" that accepts and never reads; it starts listening once the
    // route server holds the routes, so the BMP initial dump is big.
    const sinkPort = await freePort();
    const stalled: net.Socket[] = [];
    const sink = net.createServer((s) => {
      s.pause();
      stalled.push(s);
    });
    const rs = await start(sinkPort, {
      bufferBytes: 256 * 1024,
      adjRibOut: true,
      sysName: null,
    });
    const port = rs.addresses()[0]!.port;
    const eld = monitorEventLoopDelay({ resolution: 10 });
    eld.enable();
    const connects = rs.bmp!.stats.connects;
    // 120,000 prefixes (a few hundred large UPDATEs): ~12 MB of Route
    // Monitoring, more than the loopback socket buffers hold.
    const prefixes: string[] = [];
    for (let i = 0; i < 120_000; i++)
      prefixes.push(`${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
    const chunks: UpdateMessage[] = [];
    for (let i = 0; i < prefixes.length; i += 800)
      chunks.push(announce(prefixes.slice(i, i + 800), [64581], '127.0.0.81'));
    const a = await client(port, 64581, '127.0.0.81', chunks);
    const b = await client(port, 64582, '127.0.0.82', []);
    await until(
      'the routes in the core',
      () => (rs.core.sessions().reduce((n, x) => n + x.adjIn, 0) === 120_000 ? true : undefined),
      60_000,
    );
    await rs.core.idle();
    eld.reset();
    await new Promise<void>((r) => sink.listen(sinkPort, '127.0.0.1', () => r()));
    const t0 = Date.now();
    await until(
      'the stalled collector dropped',
      () => (rs.bmp!.stats.drops > 0 ? true : undefined),
      60_000,
    );
    // Both sessions stay up for well over a hold time (3 s) after the stall.
    await sleep(5000);
    expect(a.state).toBe('Established');
    expect(b.state).toBe('Established');
    eld.disable();
    expect(rs.bmp!.stats.connects).toBeGreaterThan(connects);
    // Hold time 3 s, keepalives every second: no turn of the event loop came near.
    expect(eld.max / 1e6).toBeLessThan(1000);
    if (process.env.IXRS_TEST_VERBOSE)
      console.info(
        `event-loop delay max ${(eld.max / 1e6).toFixed(0)} ms, p99 ${(eld.percentile(99) / 1e6).toFixed(0)} ms; BMP connects ${rs.bmp!.stats.connects}, drops ${rs.bmp!.stats.drops}`,
      );
    expect(Date.now() - t0).toBeGreaterThan(5000);
    for (const s of stalled) s.destroy();
    await new Promise<void>((r) => sink.close(() => r()));
  }, 120_000);
});
