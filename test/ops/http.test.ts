// The HTTP listener of `ixrs run` (cfg.ixrs.http): /metrics from the same data
// path as the control socket, read-only, configuration errors that name the key.

import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { BgpPeer, BgpSpeaker } from '../../src/bgp/speaker.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { handleRequest } from '../../src/ops/control.ts';
import { type Daemon, startDaemon } from '../../src/ops/daemon.ts';
import type { ClientResult } from '../../src/ops/model.ts';
import {
  announce,
  GENERAL,
  silent,
  simClient,
  startLoopbackDaemon,
  until,
} from './lib/loopback.ts';
import { sample } from './prom.ts';

const CLIENTS = `clients:
  - asn: 64541
    ip: "127.0.0.41"
  - asn: 64542
    ip: "127.0.0.42"
`;

describe('HTTP listener: /metrics', () => {
  let daemon: Daemon | null = null;
  const speakers: BgpSpeaker[] = [];
  afterEach(async () => {
    await daemon?.stop('test over');
    daemon = null;
    for (const s of speakers.splice(0)) await s.stop();
  });

  function sim(asn: number, ip: string, port: number): BgpPeer {
    return simClient(speakers, port, asn, ip);
  }

  it('serves session and prefix metrics equal to what the control socket answers', async () => {
    daemon = await startLoopbackDaemon(CLIENTS, {
      http: { listen: '127.0.0.1', port: 0, maxConnections: 8 },
    });
    const port = daemon.addresses()[0]!.port;
    const base = `http://127.0.0.1:${daemon.http!.address().port}`;
    const a = sim(64541, '127.0.0.41', port);
    const b = sim(64542, '127.0.0.42', port);
    await Promise.all([
      new Promise((r) => a.once('established', r)),
      new Promise((r) => b.once('established', r)),
    ]);
    // Two accepted, one bogon (10/8 is rejected: reason 2).
    a.sendUpdate(announce(['193.0.20.0/24', '193.0.21.0/24', '10.0.0.0/8'], 64541, '127.0.0.41'));
    const ctx = daemon.controlContext();
    const client = (): ClientResult => {
      const r = handleRequest(ctx, { cmd: 'client', client: '64541' });
      if (!r.ok) throw new Error(r.error);
      return r.result as ClientResult;
    };
    await until(() => client().received === 3 && daemon!.core.ribCount('AS64542') === 2);

    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const c = client();
    expect(
      sample(text, 'ixrs_protocol_prefix_import_count', { client: c.id, ip_version: '4' }),
    ).toBe(c.acceptedByAfi['1']);
    expect(c.acceptedByAfi['1']).toBe(2);
    const name = `${c.id}@127.0.0.41`;
    expect(sample(text, 'ixrs_protocol_up', { name, proto: 'BGP', asn: '64541' })).toBe(1);
    expect(sample(text, 'ixrs_bgp_state_count', { name, state: 'Established' })).toBe(1);
    expect(sample(text, 'ixrs_session_prefix_receive_count', { name })).toBe(
      c.sessions[0]!.received,
    );
    expect(sample(text, 'ixrs_protocol_prefix_export_count', { name: 'AS64542@127.0.0.42' })).toBe(
      2,
    );
    expect(
      sample(text, 'ixrs_client_prefixes_filtered_total', { client: c.id, reason_code: '2' }),
    ).toBe(1);
    expect(sample(text, 'ixrs_client_prefixes_received_total', { client: c.id })).toBe(3);
    expect(sample(text, 'ixrs_input_pauses_total', {})).toBe(daemon.inputGate.stats.pauses);
    expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(sample(text, 'ixrs_http_requests_total', {})).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('ixrs_bmp_up');
    expect(sample(text, 'ixrs_protocol_uptime', { name })).toBeGreaterThanOrEqual(0);

    // One rendering answers every scrape within a second: gzipped when the
    // scraper accepts it (Prometheus does), the same exposition either way.
    const raw = (enc: string): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> =>
      new Promise((resolve, reject) => {
        http
          .get(`${base}/metrics`, { headers: { 'Accept-Encoding': enc } }, (r) => {
            const chunks: Buffer[] = [];
            r.on('data', (d: Buffer) => chunks.push(d));
            r.on('end', () => resolve({ headers: r.headers, body: Buffer.concat(chunks) }));
          })
          .on('error', reject);
      });
    // (A rendering lives a second: a pair straddling its end is asked again.)
    let plain = await raw('identity');
    let gz = await raw('deflate, gzip;q=0.8');
    for (let i = 0; i < 3 && gunzipSync(gz.body).toString() !== plain.body.toString(); i++) {
      plain = await raw('identity');
      gz = await raw('deflate, gzip;q=0.8');
    }
    const none = await raw('gzip;q=0');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(none.headers['content-encoding']).toBeUndefined();
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    expect(Number(gz.headers['content-length'])).toBe(gz.body.length);
    expect(gz.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(gz.body).toString()).toBe(plain.body.toString());
  });

  it('is read-only: POST gets 405, unknown paths 404', async () => {
    const { config } = parseConfig(GENERAL, 'clients: []\n');
    daemon = await startDaemon({
      config,
      logger: silent,
      listen: [{ address: '127.0.0.1', port: 0 }],
      controlSocket: null,
      http: { listen: '127.0.0.1', port: 0, maxConnections: 8 },
    });
    const base = `http://127.0.0.1:${daemon.http!.address().port}`;
    expect((await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('fails to start with a clear error when the port is taken', async () => {
    const { config } = parseConfig(GENERAL, 'clients: []\n');
    daemon = await startDaemon({
      config,
      logger: silent,
      listen: [{ address: '127.0.0.1', port: 0 }],
      controlSocket: null,
      http: { listen: '127.0.0.1', port: 0, maxConnections: 8 },
    });
    const taken = daemon.http!.address().port;
    await expect(
      startDaemon({
        config,
        logger: silent,
        listen: [{ address: '127.0.0.1', port: 0 }],
        controlSocket: null,
        http: { listen: '127.0.0.1', port: taken, maxConnections: 8 },
      }),
    ).rejects.toThrow(/cfg\.ixrs\.http: .*127\.0\.0\.1.*in use/);
  });
});

describe('configuration: cfg.ixrs.http, mrt, bmp', () => {
  const general = (ixrs: string): string => `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  ixrs:
${ixrs}`;

  it('is off by default, loopback unless configured', () => {
    expect(parseConfig(GENERAL, 'clients: []\n').config.ixrs.http).toBeNull();
    const { config } = parseConfig(general('    http:\n      port: 9179\n'), 'clients: []\n');
    expect(config.ixrs.http).toEqual({ listen: '127.0.0.1', port: 9179, maxConnections: 64 });
    expect(config.ixrs.mrt).toBeNull();
    expect(config.ixrs.bmp).toBeNull();
  });

  it.each([
    ['    http:\n      listen: "::1"\n', 'cfg.ixrs.http', 6, /port/],
    ['    http:\n      port: 70000\n', 'cfg.ixrs.http.port', 6, /out of range/],
    [
      '    http:\n      port: 80\n      listen: "localhost"\n',
      'cfg.ixrs.http.listen',
      7,
      /not an IPv4/,
    ],
    ['    http:\n      port: 80\n      prot: 1\n', 'cfg.ixrs.http.prot', 7, /unknown key/],
    [
      '    mrt:\n      directory: "/tmp/x"\n      rib_file: "a/b"\n',
      'cfg.ixrs.mrt.rib_file',
      7,
      /plain file name/,
    ],
    [
      '    mrt:\n      directory: "/tmp/x"\n      rib_interval: 5\n',
      'cfg.ixrs.mrt.rib_interval',
      7,
      /at least 60/,
    ],
    ['    bmp:\n      address: "127.0.0.1"\n', 'cfg.ixrs.bmp', 6, /port/],
  ])('names file, key and line: %s', (ixrs, key, line, problem) => {
    let err: unknown;
    try {
      parseConfig(general(ixrs), 'clients: []\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.key).toBe(key);
    expect(ce.line).toBe(line);
    expect(ce.problem).toMatch(problem);
    expect(ce.message).toMatch(/^general\.yml: /);
  });
});
