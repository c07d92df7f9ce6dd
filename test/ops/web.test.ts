// The web page at `/` and its live feed (server-sent events), on loopback with
// simulated clients and scripted agents (rs-bfd-profile §5.3: a report changes
// the client's row of the matrix). The page itself runs in Chromium in
// test/interop/web.test.ts.

import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/ops/daemon.ts';
import { startLoopbackDaemon } from './lib/loopback.ts';
import { RsBfdSim, until } from './lib/rsbfd-sim.ts';

const CLIENTS = `clients:
  - { asn: 64501, ip: "127.0.0.31" }
  - { asn: 64502, ip: "127.0.0.32" }
  - { asn: 64503, ip: "127.0.0.33" }
`;

interface Sse {
  events: { event: string; data: unknown; at: number }[];
  close(): void;
}

/** Reads a text/event-stream into a list of events. */
async function sse(url: string): Promise<Sse> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const out: Sse = { events: [], close: () => ac.abort() };
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let k = buf.indexOf('\n\n');
        while (k >= 0) {
          const block = buf.slice(0, k);
          buf = buf.slice(k + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0)
            out.events.push({ event, data: JSON.parse(data.join('\n')), at: Date.now() });
          k = buf.indexOf('\n\n');
        }
      }
    } catch {
      // aborted
    }
  })();
  return out;
}

interface MatrixMsg {
  owners: string[];
  rows: { client: string; session: string; cells: string }[];
}
interface CellsMsg {
  cells: [number, number, string][];
}

describe('web page and its live feed', () => {
  let daemon: Daemon | null = null;
  let sim: RsBfdSim | null = null;
  const streams: Sse[] = [];
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await daemon?.stop('test over');
    daemon = null;
    await sim?.stop();
    sim = null;
  });

  it('serves the page, its script and style, read-only', async () => {
    daemon = await startLoopbackDaemon(CLIENTS, {
      http: { listen: '127.0.0.1', port: 0, maxConnections: 8 },
    });
    const base = `http://127.0.0.1:${daemon.http!.address().port}`;
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/web/app.js');
    const js = await fetch(`${base}/web/app.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    const code = await js.text();
    expect(() => new Function(code)).not.toThrow(); // parses (not run)
    expect((await fetch(`${base}/web/app.css`)).status).toBe(200);
    expect((await fetch(`${base}/web/client?id=nobody`)).status).toBe(404);
    expect((await fetch(`${base}/web/events`, { method: 'POST' })).status).toBe(405);
    const state = (await (await fetch(`${base}/web/state`)).json()) as { matrix: MatrixMsg };
    expect(state.matrix.owners).toEqual(['AS64501', 'AS64502', 'AS64503']);
    expect(state.matrix.rows.map((r) => r.session)).toEqual(['down', 'down', 'down']);
    const pages = (await (await fetch(`${base}/pages`)).json()) as { pages: string[] };
    expect(pages.pages).toContain('/metrics');
  });

  it('§5.3: a report pushes the changed cell within a second; the agent going away pushes the row back to unknown (§7)', async () => {
    daemon = await startLoopbackDaemon(CLIENTS, {
      http: { listen: '127.0.0.1', port: 0, maxConnections: 8 },
    });
    const base = `http://127.0.0.1:${daemon.http!.address().port}`;
    sim = new RsBfdSim(daemon.addresses()[0]!.port);
    const A = sim.client('127.0.0.31', 64501);
    const B = sim.client('127.0.0.32', 64502);
    const C = sim.client('127.0.0.33', 64503);
    for (const c of [A, B, C]) await until('sessions', () => c.peer.state === 'Established');
    B.announce(['193.0.0.0/24']);
    C.announce(['193.0.1.0/24']);
    await until('A has both', () => A.rib.size === 2);
    const agA = sim.agent('127.0.0.31', 64501);
    sim.agent('127.0.0.32', 64502);
    sim.agent('127.0.0.33', 64503);
    await until('A is asked about B and C', () => agA.requested.size === 2);

    const s = await sse(`${base}/web/events`);
    streams.push(s);
    await until('the matrix', () => s.events.some((e) => e.event === 'matrix'));
    await until('the sessions', () => s.events.some((e) => e.event === 'sessions'));
    const m = s.events.find((e) => e.event === 'matrix')!.data as MatrixMsg;
    const row = m.rows.findIndex((r) => r.client === 'AS64501');
    const col = m.owners.indexOf('AS64502');
    expect(m.rows[row]!.cells).toBe('\\??');
    expect(m.rows[row]!.session).toBe('up');

    const t0 = Date.now();
    agA.report('127.0.0.32', 'unreachable');
    const hit = (e: Sse['events'][number]): boolean =>
      e.event === 'cells' &&
      (e.data as CellsMsg).cells.some(([i, j, ch]) => i === row && j === col && ch === 'X');
    await until('the cell turns unreachable', () => s.events.some(hit), 3000);
    expect(s.events.find(hit)!.at - t0).toBeLessThan(1000);
    // Only that cell changed.
    expect((s.events.find(hit)!.data as CellsMsg).cells).toEqual([[row, col, 'X']]);

    const view = (await (await fetch(`${base}/web/client?id=AS64501`)).json()) as {
      entries: {
        nextHop: string;
        state: string;
        hiddenPaths: number;
        hiddenPrefixes: string[];
        flaps: number;
      }[];
    };
    expect(view.entries.find((e) => e.nextHop === '127.0.0.32')).toMatchObject({
      state: 'unreachable',
      hiddenPaths: 1,
      hiddenPrefixes: ['193.0.0.0/24'],
      flaps: 1,
    });
    expect(view.entries.find((e) => e.nextHop === '127.0.0.33')?.hiddenPrefixes).toEqual([]);

    await agA.peer.stop();
    await until(
      'the row goes back to unknown',
      () =>
        s.events.some(
          (e) =>
            e.event === 'cells' &&
            (e.data as CellsMsg).cells.some(([i, j, ch]) => i === row && j === col && ch === '?'),
        ),
      3000,
    );
  });
});
