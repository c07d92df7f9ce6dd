// A real Prometheus (Debian's `prometheus`) scrapes /metrics of a live
// `ixrs run` on loopback; a PromQL query for a client's accepted prefixes, asked
// through Prometheus' HTTP API, returns what `ixrs show client --json` says.
// Loopback only (127.0.0.0/8), no namespaces; the clients are ixrs' own BGP
// speaker in this process.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BgpSpeaker } from '../../src/bgp/speaker.ts';
import type { ClientResult } from '../../src/ops/model.ts';
import { announce, freePort, simClient, sleep, waitFor } from '../ops/lib/loopback.ts';
import { finished, runIxrs, spawnIxrs } from '../ops/subprocess.ts';

const PROMETHEUS = '/usr/bin/prometheus';

function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  return waitFor(what, f, ms, 250);
}

describe('Prometheus scrapes ixrs /metrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ixrs-prom-'));
  const children: ChildProcess[] = [];
  const speakers: BgpSpeaker[] = [];
  afterAll(async () => {
    for (const s of speakers) await s.stop();
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await sleep(300);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('PromQL for a client accepted IPv4 prefixes equals ixrs show', async () => {
    expect(existsSync(PROMETHEUS), `${PROMETHEUS} missing: run scripts/install-peers.sh`).toBe(
      true,
    );
    const [bgpPort, httpPort, promPort] = [await freePort(), await freePort(), await freePort()];
    const sock = join(dir, 'ixrs.sock');
    const general = join(dir, 'general.yml');
    const clients = join(dir, 'clients.yml');
    writeFileSync(
      general,
      `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  filtering:
    reject_invalid_as_in_as_path: False
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
  ixrs:
    listen: [{ address: "127.0.0.1", port: ${bgpPort} }]
    control_socket: "${sock}"
    http:
      port: ${httpPort}
`,
    );
    writeFileSync(
      clients,
      `clients:
  - asn: 64551
    ip: "127.0.0.51"
    cfg:
      passive: True
  - asn: 64552
    ip: "127.0.0.52"
    cfg:
      passive: True
`,
    );
    const ixrs = spawnIxrs('run', ['--general', general, '--clients', clients]);
    children.push(ixrs);
    const ixrsDone = finished(ixrs, 600_000);
    let ixrsLog = '';
    ixrs.stderr?.on('data', (d: Buffer) => {
      ixrsLog += d.toString();
    });
    await until(
      'ixrs /metrics',
      async () => {
        if (ixrs.exitCode !== null) throw new Error(`ixrs exited ${ixrs.exitCode}`);
        return (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).ok ? true : undefined;
      },
      20_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nixrs log:\n${ixrsLog.slice(-2000)}`);
    });

    // Two clients: 64551 announces 5 prefixes (one a bogon, rejected), 64552 two.
    const peers = [
      {
        asn: 64551,
        ip: '127.0.0.51',
        prefixes: ['193.0.0.0/24', '193.0.1.0/24', '193.0.2.0/24', '193.0.3.0/24', '10.1.0.0/16'],
      },
      { asn: 64552, ip: '127.0.0.52', prefixes: ['193.0.8.0/24', '193.0.9.0/24'] },
    ];
    for (const p of peers) {
      const peer = simClient(speakers, bgpPort, p.asn, p.ip);
      peer.once('established', () => peer.sendUpdate(announce(p.prefixes, p.asn, p.ip)));
    }
    const show = async (): Promise<ClientResult> => {
      const r = await runIxrs('show', ['client', '64551', '--json', '--socket', sock]);
      if (r.code !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as ClientResult;
    };
    const shown = await until('ixrs show: 64551 converged', async () => {
      const c = await show();
      return c.received === 5 ? c : undefined;
    });
    expect(shown.acceptedByAfi['1']).toBe(4);

    const promYml = join(dir, 'prometheus.yml');
    writeFileSync(
      promYml,
      `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ixrs
    static_configs:
      - targets: ["127.0.0.1:${httpPort}"]
`,
    );
    const prom = spawn(
      PROMETHEUS,
      [
        `--config.file=${promYml}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(prom);
    let promLog = '';
    prom.stderr?.on('data', (d: Buffer) => {
      promLog += d.toString();
    });

    const query = 'ixrs_protocol_prefix_import_count{client="AS64551",ip_version="4"}';
    type Answer = {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    const answer = await until(
      'Prometheus to have scraped ixrs',
      async () => {
        const r = await fetch(
          `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(query)}`,
        );
        const a = (await r.json()) as Answer;
        return a.status === 'success' && a.data.result.length === 1 ? a : undefined;
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nprometheus log:\n${promLog.slice(-2000)}`);
    });
    const [series] = answer.data.result;
    expect(series!.metric.job).toBe('ixrs');
    expect(series!.metric.asn).toBe('64551');
    expect(Number(series!.value[1])).toBe((await show()).acceptedByAfi['1']);

    // The scrape itself is healthy, and the session gauges are there too.
    const up = (await (
      await fetch(
        `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('up{job="ixrs"}')}`,
      )
    ).json()) as Answer;
    expect(up.data.result[0]!.value[1]).toBe('1');
    const sessions = (await (
      await fetch(
        `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('sum(ixrs_protocol_up)')}`,
      )
    ).json()) as Answer;
    expect(sessions.data.result[0]!.value[1]).toBe('2');

    ixrs.kill('SIGTERM');
    const done = await ixrsDone;
    expect(done.code).toBe(0);
  }, 120_000);
});
