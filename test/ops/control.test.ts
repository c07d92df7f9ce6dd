import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ControlContext,
  ControlError,
  ControlServer,
  controlRequest,
  controlRequests,
  handleAsync,
  handleRequest,
} from '../../src/ops/control.ts';
import type { ClientResult, RoutesResult, SessionRow } from '../../src/ops/model.ts';
import { selectClient } from '../../src/ops/model.ts';
import { CLIENTS, FakeCore, REASONS } from './fake-core.ts';

function ctx(core = new FakeCore()): ControlContext & { core: FakeCore } {
  return {
    core,
    clients: CLIENTS,
    reasons: REASONS,
    bgpState: (a) => (a === '192.0.2.11' || a === '192.0.2.12' ? 'Established' : 'Active'),
  };
}

describe('selectClient', () => {
  it('names a client by ASN, AS-prefixed ASN, id or address', () => {
    expect(selectClient(CLIENTS, '64501').coreId).toBe('AS64501');
    expect(selectClient(CLIENTS, 'as64501').coreId).toBe('AS64501');
    expect(selectClient(CLIENTS, 'AS64502-2').coreId).toBe('AS64502-2');
    const byIp = selectClient(CLIENTS, '192.0.2.12');
    expect(byIp.client.id).toBe('AS64502-1');
    expect(byIp.coreId).toBe('AS64502-1@192.0.2.12');
    // IPv6 in any spelling, canonicalised (RFC 5952).
    expect(selectClient(CLIENTS, '2001:DB8:0::11').coreId).toBe('AS64501@2001:db8::11');
  });

  it('explains ambiguous and unknown names', () => {
    expect(() => selectClient(CLIENTS, '64502')).toThrow(
      /2 client entries.*AS64502-1.*by id or IP/,
    );
    expect(() => selectClient(CLIENTS, '64999')).toThrow('no client with ASN 64999');
    expect(() => selectClient(CLIENTS, '192.0.2.200')).toThrow(
      'no client with address 192.0.2.200',
    );
    expect(() => selectClient(CLIENTS, 'bogus!')).toThrow(/neither an ASN/);
  });
});

describe('handleRequest', () => {
  it('sessions: one row per session with ASN, description and BGP state', () => {
    const r = handleRequest(ctx(), { id: 7, cmd: 'sessions' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.id).toBe(7);
    const rows = r.result as SessionRow[];
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({
      client: 'AS64501',
      asn: 64501,
      description: 'client A',
      address: '192.0.2.11',
      state: 'up',
      bgpState: 'Established',
      since: '2026-11-22T06:00:00.000Z',
      families: ['1/1', '2/1'],
      received: 12,
      sent: 17,
    });
    expect(rows[3]!.bgpState).toBe('Active');
  });

  it('routes: canonical prefix, reasons with text, attributes as text, per-client best', () => {
    const c = ctx();
    const r = handleRequest(c, {
      id: 'x',
      cmd: 'routes',
      prefix: '198.51.100.0/24',
      client: '192.0.2.12',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(c.core.calls).toContain('routes 198.51.100.0/24 AS64502-1@192.0.2.12');
    const res = r.result as RoutesResult;
    expect(res.client).toBe('AS64502-1');
    expect(res.routes.map((x) => [x.rank, x.best, x.eligible])).toEqual([
      [1, false, false],
      [2, true, true],
      [null, false, false],
    ]);
    expect(res.routes[0]).toMatchObject({
      from: 'AS64501',
      fromAsn: 64501,
      fromAddress: '192.0.2.11',
      nextHop: '192.0.2.11',
      asPath: '64501',
      asPathLength: 1,
      origin: 'IGP',
      communities: ['64501:100'],
      largeCommunities: ['64501:1:2'],
    });
    expect(res.routes[1]).toMatchObject({
      asPath: '64502 64510 {1 2}',
      asPathLength: 3,
      origin: 'INCOMPLETE',
      med: 10,
      stale: true,
    });
    expect(res.routes[2]!.reasons).toEqual([
      { code: 5, text: 'Invalid NEXT_HOP' },
      { code: 2, text: 'Prefix is bogon' },
    ]);
    // The result is plain JSON (no Uint8Array, no undefined surprises).
    expect(JSON.parse(JSON.stringify(res))).toEqual(res);
  });

  it('routes: the prefix is canonicalised before asking the core', () => {
    const c = ctx();
    const r = handleRequest(c, { cmd: 'routes', prefix: '2001:DB8:0:0::/32' });
    expect(r.ok).toBe(true);
    expect(c.core.calls).toEqual(['routes 2001:db8::/32 -']);
    const bad = handleRequest(c, { cmd: 'routes', prefix: '198.51.100.1/24' });
    expect(bad.ok).toBe(false);
  });

  it('client: counters, rejects by reason (most first) and its sessions', () => {
    const r = handleRequest(ctx(), { cmd: 'client', client: 'AS64501' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = r.result as ClientResult;
    expect(c).toMatchObject({ id: 'AS64501', asn: 64501, received: 12, rib: 17 });
    expect(c.rejectedByReason).toEqual([
      { code: 5, text: 'Invalid NEXT_HOP', count: 2 },
      { code: 2, text: 'Prefix is bogon', count: 1 },
    ]);
    expect(c.sessions.map((s) => s.address)).toEqual(['192.0.2.11', '2001:db8::11']);
  });

  it('rib: per client, or per session when named by address', () => {
    expect(handleRequest(ctx(), { cmd: 'rib', client: '64501' })).toEqual({
      id: null,
      ok: true,
      result: { client: 'AS64501', address: null, count: 17 },
    });
    expect(handleRequest(ctx(), { cmd: 'rib', client: '2001:db8::11' })).toEqual({
      id: null,
      ok: true,
      result: { client: 'AS64501', address: '2001:db8::11', count: 5 },
    });
  });

  it('dump: asks the daemon for an MRT file at an absolute path; errors are answers', async () => {
    const c = ctx();
    expect(await handleAsync(c, { id: 1, cmd: 'dump', what: 'rib', file: '/tmp/x.mrt' })).toEqual({
      id: 1,
      ok: false,
      error: 'this route server cannot write MRT dumps',
    });
    const files: string[] = [];
    const d = {
      ...c,
      dumpRib: async (file: string) => {
        files.push(file);
        return { file, prefixes: 1, paths: 2, bytes: 3, ms: 4 };
      },
    };
    expect(await handleAsync(d, { id: 2, cmd: 'dump', what: 'rib', file: '/tmp/x.mrt' })).toEqual({
      id: 2,
      ok: true,
      result: { file: '/tmp/x.mrt', prefixes: 1, paths: 2, bytes: 3, ms: 4 },
    });
    expect(await handleAsync(d, { id: 3, cmd: 'dump', what: 'rib', file: 'x.mrt' })).toMatchObject({
      ok: false,
      error: "'dump' needs 'file', an absolute path",
    });
    expect(await handleAsync(d, { id: 4, cmd: 'dump', what: 'adj' })).toMatchObject({ ok: false });
    expect(files).toEqual(['/tmp/x.mrt']);
    expect(await handleAsync(d, { id: 5, cmd: 'sessions' })).toMatchObject({ ok: true });
  });

  it('errors are answers, never exceptions', () => {
    expect(handleRequest(ctx(), null)).toMatchObject({ ok: false, error: /JSON object/ });
    expect(handleRequest(ctx(), { id: 3, cmd: 'reboot' })).toEqual({
      id: 3,
      ok: false,
      error:
        'unknown command "reboot" (known: sessions, routes, client, rib, nhib, nhib-matrix, dump, session)',
    });
    expect(handleRequest(ctx(), { cmd: 'routes' })).toMatchObject({
      ok: false,
      error: "'routes' needs 'prefix' (a prefix or an address), or 'from' (a client)",
    });
    expect(handleRequest(ctx(), { cmd: 'client', client: 5 })).toMatchObject({
      ok: false,
      error: "'client' must be a string",
    });
    expect(handleRequest(ctx(), { cmd: 'rib', client: '64502' })).toMatchObject({ ok: false });
  });
});

describe('ControlServer over a unix socket', () => {
  let dir: string;
  let path: string;
  let server: ControlServer | null = null;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ixrs-ops-'));
    path = join(dir, 'sub', 'ixrs.sock');
  });
  afterEach(async () => {
    await server?.close();
    server = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers newline-delimited JSON requests in order on one connection', async () => {
    server = await ControlServer.listen(path, ctx());
    const [sessions, routes, rib] = await controlRequests(path, [
      { cmd: 'sessions' },
      { cmd: 'routes', prefix: '198.51.100.0/24' },
      { cmd: 'rib', client: '192.0.2.12' },
    ]);
    expect((sessions as SessionRow[]).length).toBe(4);
    expect((routes as RoutesResult).routes.length).toBe(3);
    expect(rib).toEqual({ client: 'AS64502-1', address: '192.0.2.12', count: 5 });
    const c = await controlRequest(path, { cmd: 'client', client: '64501' });
    expect(c.id).toBe('AS64501');
  });

  it('raw protocol: ids echoed, bad JSON answered, split writes reassembled', async () => {
    server = await ControlServer.listen(path, ctx());
    const lines = await new Promise<string[]>((resolve, reject) => {
      const s = net.connect(path);
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        buf += d;
        const got = buf.split('\n').filter((l) => l !== '');
        if (got.length === 3) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
      s.write('{"id":1,"cmd":"ri');
      setTimeout(() => s.write('b","client":"64501"}\nnot json\n\n{"id":"z","cmd":"nope"}\n'), 20);
    });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { id: 1, ok: true, result: { client: 'AS64501', address: null, count: 17 } },
      { id: null, ok: false, error: 'request is not valid JSON' },
      {
        id: 'z',
        ok: false,
        error:
          'unknown command "nope" (known: sessions, routes, client, rib, nhib, nhib-matrix, dump, session)',
      },
    ]);
  });

  it('the client raises ControlError for an error answer', async () => {
    server = await ControlServer.listen(path, ctx());
    await expect(controlRequest(path, { cmd: 'client', client: '64999' })).rejects.toThrow(
      ControlError,
    );
    await expect(controlRequest(path, { cmd: 'client', client: '64999' })).rejects.toThrow(
      'no client with ASN 64999',
    );
  });

  it('replaces a stale socket file, refuses a live one, removes it on close', async () => {
    const first = await ControlServer.listen(path, ctx());
    await expect(ControlServer.listen(path, ctx())).rejects.toThrow(/in use/);
    await first.close();
    // A leftover file nobody answers on (a crashed ixrs) is replaced.
    writeFileSync(path, '');
    server = await ControlServer.listen(path, ctx());
    expect((await controlRequest(path, { cmd: 'sessions' })).length).toBe(4);
  });

  it('a missing socket gives a helpful error', async () => {
    await expect(controlRequest(join(dir, 'none.sock'), { cmd: 'sessions' })).rejects.toThrow(
      /cannot connect to control socket .*is ixrs running/,
    );
  });
});
