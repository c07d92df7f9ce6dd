import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ControlServer, handleRequest } from '../../src/ops/control.ts';
import type { ClientResult, RibResult, RoutesResult, SessionRow } from '../../src/ops/model.ts';
import {
  duration,
  renderClient,
  renderJson,
  renderRibCount,
  renderRoutes,
  renderSessions,
  table,
} from '../../src/ops/render.ts';
import { main as show } from '../../src/ops/show.ts';
import { CLIENTS, FakeCore, REASONS, T0 } from './fake-core.ts';

const ctx = {
  core: new FakeCore(),
  clients: CLIENTS,
  reasons: REASONS,
  bgpState: (a: string) => (a === '192.0.2.11' || a === '192.0.2.12' ? 'Established' : 'Active'),
};

function result<T>(req: object): T {
  const r = handleRequest(ctx, req);
  if (!r.ok) throw new Error(r.error);
  return r.result as T;
}

/** Start offsets of every column, from the header line. */
function columnStarts(header: string): number[] {
  const starts: number[] = [];
  for (let i = 0; i < header.length; i++) {
    if (header[i] !== ' ' && (i === 0 || (header[i - 1] === ' ' && header[i - 2] === ' '))) {
      starts.push(i);
    }
  }
  return starts;
}

describe('text renderers', () => {
  it('table aligns every column to its widest cell', () => {
    expect(
      table(
        ['A', 'LONG'],
        [
          ['xxxx', 'y'],
          ['z', 'w'],
        ],
      ),
    ).toBe('A     LONG\nxxxx  y\nz     w');
  });

  it('duration is compact', () => {
    expect(duration(12_000)).toBe('12s');
    expect(duration(247_000)).toBe('4m07s');
    expect(duration(2 * 3600_000 + 5 * 60_000)).toBe('2h05m');
    expect(duration(3 * 86400_000 + 4 * 3600_000)).toBe('3d04h');
    expect(duration(-5)).toBe('0s');
  });

  it('sessions: one aligned line per session', () => {
    const text = renderSessions(result<SessionRow[]>({ cmd: 'sessions' }), T0 + 125_000);
    expect(text).toBe(
      [
        'CLIENT     ASN    ADDRESS       STATE        FOR    PATHS IN  SENT  FAMILIES   DESCRIPTION',
        'AS64501    64501  192.0.2.11    Established  2m05s  12        17    ipv4,ipv6  client A',
        'AS64501    64501  2001:db8::11  Active       2m05s  0         0     -          client A',
        'AS64502-1  64502  192.0.2.12    Established  2m05s  12        17    ipv4,ipv6  client B router 1',
        'AS64502-2  64502  192.0.2.13    Active       2m05s  0         0     -          client B router 2',
        '',
      ].join('\n'),
    );
  });

  it('routes: rank, best marker, communities, reject reasons', () => {
    const res = result<RoutesResult>({
      cmd: 'routes',
      prefix: '198.51.100.0/24',
      client: '192.0.2.12',
    });
    const text = renderRoutes(res, Date.parse('1970-01-01T00:01:05Z'));
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('198.51.100.0/24 (as seen by AS64502-1)');
    expect(lines[2]).toMatch(
      /^ {3}1 +AS64501 +192\.0\.2\.11 +64501 +64501:100 64501:1:2 +1m05s +accepted, not sent to AS64502-1: ineligible$/,
    );
    expect(lines[3]).toMatch(
      /^ {2}\*2 +AS64502-1 +192\.0\.2\.12 +64502 64510 \{1 2\} +- +1m05s +accepted, stale, best for AS64502-1$/,
    );
    expect(lines[4]).toMatch(/rejected: Invalid NEXT_HOP \(5\), Prefix is bogon \(2\)$/);
    // Every row's cells start under the header's columns.
    const starts = columnStarts(lines[1]!);
    expect(starts).toHaveLength(7);
    for (const l of lines.slice(2)) for (const s of starts.slice(1)) expect(l[s - 1]).toBe(' ');
    expect(renderRoutes({ prefix: '192.0.2.0/24', client: null, routes: [] }, 0)).toBe(
      '192.0.2.0/24: no paths\n',
    );
  });

  it('client and rib count', () => {
    const text = renderClient(result<ClientResult>({ cmd: 'client', client: '64501' }), T0 + 1000);
    expect(text).toContain('client:                   AS64501\n');
    expect(text).toContain('accepted now by afi:      ipv4 7, ipv6 2\n');
    expect(text).toContain('paths now:                10 (accepted 9, rejected 1)\n');
    expect(text).toContain('announcements:            received 12, accepted 9, rejected 3 (since');
    expect(text).toContain('prefixes announced to it: 17\n');
    expect(text).toMatch(/CODE +COUNT +REASON\n +5 +2 +Invalid NEXT_HOP\n +2 +1 +Prefix is bogon/);
    expect(text).toMatch(/sessions:\n {2}CLIENT/);
    expect(renderRibCount(result<RibResult>({ cmd: 'rib', client: '192.0.2.12' }))).toBe(
      'AS64502-1 (192.0.2.12): 5 prefixes announced by the route server\n',
    );
  });

  it('JSON renders the same result the socket carries', () => {
    const res = result<RoutesResult>({ cmd: 'routes', prefix: '198.51.100.0/24' });
    expect(JSON.parse(renderJson(res))).toEqual(res);
  });
});

describe('ixrs show', () => {
  let dir: string;
  let path: string;
  let server: ControlServer;
  let out: string;
  let err: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ixrs-show-'));
    path = join(dir, 'ixrs.sock');
    server = await ControlServer.listen(path, ctx);
    out = '';
    err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out += String(s);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err += String(s);
      return true;
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sessions as text and as JSON', async () => {
    expect(await show(['sessions', '--socket', path])).toBe(0);
    expect(out).toMatch(/^CLIENT +ASN +ADDRESS +STATE/);
    out = '';
    expect(await show(['sessions', '--socket', path, '--json'])).toBe(0);
    expect((JSON.parse(out) as SessionRow[]).map((s) => s.address)).toEqual([
      '192.0.2.11',
      '2001:db8::11',
      '192.0.2.12',
      '192.0.2.13',
    ]);
  });

  it('routes --client, client, rib --count', async () => {
    expect(
      await show(['routes', '198.51.100.0/24', '--client', 'AS64502-1', '--socket', path]),
    ).toBe(0);
    expect(out).toContain('(as seen by AS64502-1)');
    out = '';
    expect(await show(['client', '2001:db8::11', '--socket', path, '--json'])).toBe(0);
    expect((JSON.parse(out) as ClientResult).id).toBe('AS64501');
    out = '';
    expect(await show(['rib', '--client', '64501', '--count', '--socket', path])).toBe(0);
    expect(out).toBe('AS64501: 17 prefixes announced by the route server\n');
  });

  it('routes IP, --filtered, --exported and rib --client C list through the socket', async () => {
    expect(await show(['routes', '198.51.100.7', '--socket', path])).toBe(0);
    expect(out).toMatch(/^longest match for 198\.51\.100\.7\n +PREFIX +RANK/);
    out = '';
    expect(await show(['routes', '--client', 'AS64502-2', '--filtered', '--socket', path])).toBe(0);
    expect(out).toMatch(/^filtered from AS64502-2\n/);
    expect(out).toMatch(/198\.51\.100\.0\/24 .*rejected: Invalid NEXT_HOP \(5\)/);
    out = '';
    expect(await show(['routes', '--client', '64501', '--exported', '--socket', path])).toBe(0);
    expect(out).toMatch(/^announced to AS64501 \(1 route\)\n +PREFIX +SESSION +NEXT HOP/);
    out = '';
    expect(await show(['rib', '--client', '64501', '--json', '--socket', path])).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      client: 'AS64501',
      routes: [{ prefix: '198.51.100.0/24', nextHop: '192.0.2.12', asPath: '64502 64510 {1 2}' }],
    });
  });

  it('usage errors exit 2, server errors exit 1', async () => {
    expect(await show(['routes', '--socket', path])).toBe(2);
    expect(err).toContain('routes needs a PREFIX');
    expect(await show(['routes', '--received', '--socket', path])).toBe(2);
    expect(err).toContain('need --client C');
    expect(await show(['routes', '10.0.0.1', '--longer', '--socket', path])).toBe(2);
    expect(await show(['frobnicate', '--socket', path])).toBe(2);
    err = '';
    expect(await show(['client', '64502', '--socket', path])).toBe(1);
    expect(err).toMatch(/^ixrs show: AS64502 has 2 client entries/);
    err = '';
    expect(await show(['sessions', '--socket', join(dir, 'nope.sock')])).toBe(1);
    expect(err).toContain('is ixrs running?');
    out = '';
    expect(await show(['--help'])).toBe(0);
    expect(out).toContain('Usage: ixrs show');
  });
});
