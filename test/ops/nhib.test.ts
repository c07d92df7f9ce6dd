import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HIDDEN_LISTED, Nhib } from '../../src/nhib/nhib.ts';
import type { ReachabilityReport } from '../../src/nhib/types.ts';
import { type ControlContext, ControlServer, handleRequest } from '../../src/ops/control.ts';
import type { NhibClientView, NhibMatrixView } from '../../src/ops/model.ts';
import { renderNhibClient, renderNhibMatrix } from '../../src/ops/render.ts';
import { main as show } from '../../src/ops/show.ts';
import { CLIENTS, client, FakeCore, REASONS, T0 } from './fake-core.ts';

function rep(
  asn: number,
  localAddress: string,
  nextHop: string,
  state: 'reachable' | 'unreachable',
): ReachabilityReport {
  return {
    instanceId: 0,
    local: { asn, routerId: '10.0.0.1' },
    remote: { asn: 64502, routerId: '10.0.0.2' },
    localAddress,
    nextHop,
    state,
  };
}

/** The NHIB the daemon would hold: AS64501 reports 192.0.2.12 down, 192.0.2.13 up. */
function nhibFixture(): { nhib: Nhib; clock: { now: number } } {
  const clock = { now: T0 };
  const nhib = new Nhib({
    now: () => clock.now,
    hiddenPaths: (c, nh) => (c === 'AS64501' && nh === '192.0.2.12' ? 17 : 0),
    hiddenPrefixes: (c, nh, n) =>
      c === 'AS64501' && nh === '192.0.2.12'
        ? Array.from({ length: 17 }, (_, i) => `198.51.${i}.0/24`).slice(0, n)
        : [],
  });
  for (const c of CLIENTS) nhib.addClient(c);
  nhib.sessionUp('AS64501');
  for (const nh of ['192.0.2.12', '192.0.2.13']) nhib.setRequested('AS64501', nh, true);
  nhib.report('AS64501', rep(64501, '192.0.2.11', '192.0.2.12', 'unreachable'));
  nhib.report('AS64501', rep(64501, '192.0.2.11', '192.0.2.13', 'reachable'));
  clock.now += 125_000;
  return { nhib, clock };
}

function ctxWith(nhib?: Nhib): ControlContext {
  return { core: new FakeCore(), clients: CLIENTS, reasons: REASONS, ...(nhib ? { nhib } : {}) };
}

function result<T>(ctx: ControlContext, req: object): T {
  const r = handleRequest(ctx, req);
  if (!r.ok) throw new Error(r.error);
  return r.result as T;
}

describe('control socket: nhib queries (rs-bfd-profile §8)', () => {
  it('§8: nhib C answers every next hop with owner, state, since, hidden paths, flaps, damping, last report', () => {
    const { nhib } = nhibFixture();
    const v = result<NhibClientView>(ctxWith(nhib), { cmd: 'nhib', client: '192.0.2.11' });
    expect(v.client).toBe('AS64501');
    expect(v.session).toBe('up');
    expect(v.entries.map((e) => [e.nextHop, e.owner, e.state, e.hiddenPaths])).toEqual([
      ['192.0.2.12', 'AS64502-1', 'unreachable', 17],
      ['192.0.2.13', 'AS64502-2', 'reachable', 0],
    ]);
    expect(v.entries[0]!.since).toBe('2026-11-22T06:00:00.000Z');
    // The first HIDDEN_LISTED prefixes hidden, the rest counted.
    expect(v.entries[0]!.hiddenPrefixes).toHaveLength(HIDDEN_LISTED);
    expect(v.entries[0]!.hiddenPrefixes[0]).toBe('198.51.0.0/24');
    expect(v.entries[1]!.hiddenPrefixes).toEqual([]);
    expect(v.entries[0]!.report).toMatchObject({
      state: 'unreachable',
      localAddress: '192.0.2.11',
    });
    // JSON-safe: what the socket carries parses back to the same.
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
  });

  it('nhib-matrix answers the matrix; without an NHIB both commands explain', () => {
    const { nhib } = nhibFixture();
    const m = result<NhibMatrixView>(ctxWith(nhib), { cmd: 'nhib-matrix' });
    expect(m.rows.map((r) => r.cells)).toEqual(['\\XX'.replace('XX', 'X.'), '-\\-', '--\\']);
    const r = handleRequest(ctxWith(), { cmd: 'nhib', client: '64501' });
    expect(r).toMatchObject({ ok: false, error: expect.stringContaining('RS-BFD is not running') });
    expect(handleRequest(ctxWith(), { cmd: 'nhib-matrix' }).ok).toBe(false);
    expect(handleRequest(ctxWith(nhib), { cmd: 'nhib' })).toMatchObject({
      ok: false,
      error: "'nhib' needs 'client'",
    });
  });
});

describe('nhib renderers', () => {
  it('§8: one client: header with counters, one aligned line per next hop', () => {
    const { nhib, clock } = nhibFixture();
    const text = renderNhibClient(nhib.nhibClient('AS64501')!, clock.now);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'AS64501 (AS64501): reachability session up for 2m05s, BGP-LS instance 0',
    );
    expect(text).toContain('next hops 2: 1 unreachable, hiding 17 paths');
    expect(text).toContain('dropped: none');
    const header = lines.find((l) => l.startsWith('NEXT HOP'))!;
    expect(header).toMatch(/^NEXT HOP +OWNER +STATE +FOR +HIDDEN +FLAPS +DAMPED +LAST REPORT$/);
    const row = lines.find((l) => l.startsWith('192.0.2.12'))!;
    expect(row).toMatch(
      /^192\.0\.2\.12 +AS64502-1 +unreachable +2m05s +17 +1 +no, 3 +unreachable from 192\.0\.2\.11/,
    );
    expect(text).toContain(
      'hidden from AS64501:\n  192.0.2.12 (AS64502-1): 198.51.0.0/24 198.51.1.0/24',
    );
    expect(text).toContain('198.51.9.0/24 and 7 more\n');
  });

  it('§8: a damped next hop shows its penalty and when it is released', () => {
    const { nhib, clock } = nhibFixture();
    for (let i = 0; i < 3; i++) {
      nhib.report('AS64501', rep(64501, '192.0.2.11', '192.0.2.13', 'unreachable'));
      clock.now += 100;
      nhib.report('AS64501', rep(64501, '192.0.2.11', '192.0.2.13', 'reachable'));
      clock.now += 100;
    }
    const text = renderNhibClient(nhib.nhibClient('AS64501')!, clock.now);
    expect(text).toMatch(/192\.0\.2\.13 +AS64502-2 +reachable\* .* yes, \d+ until \d+s/);
    expect(text).toContain('* held unreachable by damping');
  });

  /** `n` clients, every one reporting every other's next hop; `down` (client, owner) pairs unreachable. */
  function lan(n: number, down: [number, number][]): NhibMatrixView {
    const nhib = new Nhib({ now: () => T0 });
    const cs = Array.from({ length: n }, (_, i) =>
      client(`AS${65000 + i}`, 65000 + i, [`10.0.${i >> 8}.${i & 255}`]),
    );
    for (const c of cs) nhib.addClient(c);
    for (const a of cs) {
      nhib.sessionUp(a.id);
      for (const b of cs) {
        if (a === b) continue;
        nhib.setRequested(a.id, b.addresses[0]!, true);
        nhib.report(a.id, rep(a.asn, a.addresses[0]!, b.addresses[0]!, 'reachable'));
      }
    }
    for (const [a, b] of down) {
      nhib.report(
        cs[a]!.id,
        rep(cs[a]!.asn, cs[a]!.addresses[0]!, cs[b]!.addresses[0]!, 'unreachable'),
      );
    }
    return nhib.nhibMatrix();
  }

  it('§8: the matrix of 30 clients fits an 80-column terminal, one character per cell', () => {
    const m = lan(30, [[2, 7]]);
    const text = renderNhibMatrix(m);
    const lines = text.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(lines.slice(0, 2)).toEqual([
      'RS-BFD: 30 clients, 30 reachability sessions up; 870 entries (870 requested):',
      '  869 reachable, 0 unknown, 1 unreachable (0 damped)',
    ]);
    const rows = lines.filter((l) => /^ ?\d+ AS650/.test(l));
    expect(rows).toHaveLength(30);
    expect(rows[2]).toBe(` 3 AS65002 up   ..\\....X${'.'.repeat(22)}`);
    expect(rows[0]).toBe(` 1 AS65000 up   \\${'.'.repeat(29)}`);
    // Column numbers, tens over units, line up with the cells.
    const first = lines.indexOf(rows[0]!);
    const tens = lines[first - 2]!;
    const units = lines[first - 1]!;
    const at = rows[2]!.indexOf('X');
    expect(tens[at]).toBe(' ');
    expect(units[at]).toBe('8');
  });

  it('§8: beyond 80 columns only the clients and owners with something unreachable, with counts', () => {
    const m = lan(120, [
      [3, 90],
      [3, 100],
      [77, 90],
    ]);
    const text = renderNhibMatrix(m);
    const lines = text.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(text).toContain(
      'only the 2 of 120 clients and 2 of 120 owners with something unreachable',
    );
    const rows = lines.filter((l) => /^ *\d+ AS650/.test(l));
    expect(rows).toEqual(['  4 AS65003 up   XX', ' 78 AS65077 up   X.']);
    expect(text).toContain('columns: 91=AS65090 101=AS65100');
    expect(renderNhibMatrix(lan(120, []))).toContain('nothing unreachable');
  });
});

describe('ixrs show nhib', () => {
  let dir: string;
  let path: string;
  let server: ControlServer;
  let out: string;
  let err: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ixrs-show-nhib-'));
    path = join(dir, 'ixrs.sock');
    server = await ControlServer.listen(path, ctxWith(nhibFixture().nhib));
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

  it('nhib C and nhib --matrix, as text and as JSON', async () => {
    expect(await show(['nhib', '64501', '--socket', path])).toBe(0);
    expect(out).toContain('AS64501 (AS64501): reachability session up');
    out = '';
    expect(await show(['nhib', 'AS64501', '--json', '--socket', path])).toBe(0);
    expect((JSON.parse(out) as NhibClientView).entries).toHaveLength(2);
    out = '';
    expect(await show(['nhib', '--matrix', '--socket', path])).toBe(0);
    expect(out).toMatch(/^RS-BFD: 3 clients, 1 reachability sessions up/);
    out = '';
    expect(await show(['nhib', '--matrix', '--json', '--socket', path])).toBe(0);
    expect((JSON.parse(out) as NhibMatrixView).owners).toEqual([
      'AS64501',
      'AS64502-1',
      'AS64502-2',
    ]);
  });

  it('usage errors exit 2; --help tells about nhib', async () => {
    expect(await show(['nhib', '--socket', path])).toBe(2);
    expect(err).toContain('nhib needs a client C, or --matrix');
    expect(await show(['nhib', '64501', '--matrix', '--socket', path])).toBe(2);
    expect(await show(['--help'])).toBe(0);
    expect(out).toContain('nhib C');
    expect(out).toContain('nhib --matrix');
  });
});
