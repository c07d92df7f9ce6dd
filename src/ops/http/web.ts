// The web page at `/`: sessions and the client × next-hop-owner reachability
// matrix, live. Read-only, no secrets: what `ixrs show sessions` and
// `ixrs show nhib --matrix` / `ixrs show nhib CLIENT` answer, from the same
// queries.
//
//   GET /                the page (web-page.ts: one HTML, one script, one style sheet)
//   GET /web/app.js, /web/app.css
//   GET /web/state       the snapshot as JSON: matrix, sessions, version
//   GET /web/client?id=  one client's NHIB (ixrs show nhib CLIENT --json)
//   GET /web/events      server-sent events: 'matrix' (the whole matrix, on
//                        connect), 'cells' (the cells that changed, within
//                        debounceMs of an NHIB change), 'sessions' (when the
//                        session list changed, polled every sessionPollMs)
//
// One feed for every open page: the matrix is computed once per change and
// the difference broadcast; a page that stops reading is dropped by the
// server (STREAM_MAX_BUFFERED), never waited for.

import type { NhibMatrixView } from '../../nhib/nhib.ts';
import type { ControlContext } from '../control.ts';
import { type SessionRow, sessionRow } from '../model.ts';
import type { NhibSources } from './nhib-metrics.ts';
import type { EventStream, HttpServer } from './server.ts';
import { jsonReply } from './server.ts';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './web-page.ts';

export interface WebSources {
  ctx: ControlContext;
  nhib: NhibSources | null;
  /** Shown in the page's title line. */
  version: string;
}

export interface WebOptions {
  /** An NHIB change is pushed after at most this long, ms (default 100). */
  debounceMs?: number;
  /** Session list polling while a page is open, ms (default 2000). */
  sessionPollMs?: number;
  /** Keep-alive comment interval, ms (default 10000). */
  heartbeatMs?: number;
}

interface MatrixMsg {
  version: number;
  owners: string[];
  rows: { client: string; asn: number; session: string; cells: string; unreachable: number }[];
  counts: NhibMatrixView['counts'] | null;
  legend: Readonly<Record<string, string>>;
}

const EMPTY_LEGEND: Readonly<Record<string, string>> = {};

export class WebFeed {
  private readonly src: WebSources;
  private readonly streams = new Set<EventStream>();
  private base: MatrixMsg | null = null;
  private sessionsJson = '';
  private debounce: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private beat: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private readonly opts: Required<WebOptions>;
  /** Events sent (every stream), for tests and the bench. */
  readonly stats = { matrices: 0, cellEvents: 0, sessionEvents: 0 };

  constructor(src: WebSources, opts: WebOptions = {}) {
    this.src = src;
    this.opts = {
      debounceMs: opts.debounceMs ?? 100,
      sessionPollMs: opts.sessionPollMs ?? 2000,
      heartbeatMs: opts.heartbeatMs ?? 10_000,
    };
    this.unsubscribe = src.nhib?.telemetry.subscribe(() => this.changed()) ?? (() => {});
  }

  mount(server: HttpServer): void {
    const page = (type: string, body: string) => () => ({ status: 200, type, body });
    server.route('/', page('text/html; charset=utf-8', PAGE_HTML));
    server.route('/index.html', page('text/html; charset=utf-8', PAGE_HTML));
    server.route('/web/app.js', page('text/javascript; charset=utf-8', PAGE_JS));
    server.route('/web/app.css', page('text/css; charset=utf-8', PAGE_CSS));
    server.route('/web/state', () =>
      jsonReply({ matrix: this.matrix(), sessions: this.sessions(), ixrs: this.src.version }),
    );
    server.route('/web/client', (req) => {
      const id = req.query.get('id') ?? '';
      const v = this.src.nhib?.nhib.nhibClient(id) ?? null;
      if (v === null) return jsonReply({ error: `no such client: ${id}` }, 404);
      return jsonReply(v);
    });
    server.routeStream('/web/events', (_req, s) => this.open(s));
  }

  /** Open pages. */
  get clients(): number {
    return this.streams.size;
  }

  close(): void {
    this.unsubscribe();
    for (const t of [this.debounce, this.poll, this.beat]) if (t !== null) clearTimeout(t);
    this.debounce = this.poll = this.beat = null;
    for (const s of [...this.streams]) s.close();
  }

  // ---------------------------------------------------------------- data

  private matrix(): MatrixMsg {
    const n = this.src.nhib;
    if (n === null) return { version: 0, owners: [], rows: [], counts: null, legend: EMPTY_LEGEND };
    const m = n.nhib.nhibMatrix();
    return {
      version: n.telemetry.version,
      owners: m.owners,
      rows: m.rows.map((r) => ({
        client: r.client,
        asn: r.asn,
        session: r.session,
        cells: r.cells,
        unreachable: r.unreachable,
      })),
      counts: m.counts,
      legend: m.legend,
    };
  }

  private sessions(): SessionRow[] {
    const ctx = this.src.ctx;
    const byId = new Map(ctx.clients.map((c) => [c.id, c]));
    return ctx.core
      .sessions()
      .map((s) => sessionRow(s, byId, ctx.bgpState?.(s.address) ?? null))
      .sort((a, b) => a.client.localeCompare(b.client) || a.address.localeCompare(b.address));
  }

  // ---------------------------------------------------------------- streams

  private open(s: EventStream): void {
    this.refresh();
    this.base ??= this.matrix();
    this.streams.add(s);
    s.onClose(() => {
      this.streams.delete(s);
      if (this.streams.size === 0) this.idle();
    });
    s.send('matrix', JSON.stringify(this.base));
    this.stats.matrices++;
    const sessions = this.sessions();
    this.sessionsJson = JSON.stringify(sessions);
    s.send('sessions', this.sessionsJson);
    this.stats.sessionEvents++;
    this.poll ??= setInterval(() => this.pollSessions(), this.opts.sessionPollMs).unref();
    this.beat ??= setInterval(() => {
      for (const x of this.streams) x.comment('keep-alive');
    }, this.opts.heartbeatMs).unref();
  }

  private idle(): void {
    for (const t of [this.debounce, this.poll, this.beat]) if (t !== null) clearTimeout(t);
    this.debounce = this.poll = this.beat = null;
    this.base = null;
  }

  private changed(): void {
    if (this.streams.size === 0 || this.debounce !== null) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.refresh();
    }, this.opts.debounceMs).unref();
  }

  private broadcast(event: string, data: string): void {
    for (const s of this.streams) s.send(event, data);
  }

  /** Computes the matrix and sends the difference from the last one to every open page. */
  private refresh(): void {
    if (this.streams.size === 0) {
      this.base = null;
      return;
    }
    const old = this.base;
    const cur = this.matrix();
    this.base = cur;
    if (old === null) return;
    const sameShape =
      old.owners.length === cur.owners.length &&
      old.rows.length === cur.rows.length &&
      old.owners.every((o, i) => cur.owners[i] === o) &&
      old.rows.every((r, i) => cur.rows[i]!.client === r.client);
    if (!sameShape) {
      this.broadcast('matrix', JSON.stringify(cur));
      this.stats.matrices += this.streams.size;
      return;
    }
    const cells: [number, number, string][] = [];
    const rows: [number, string, number][] = [];
    for (let i = 0; i < cur.rows.length; i++) {
      const a = old.rows[i]!;
      const b = cur.rows[i]!;
      if (a.session !== b.session || a.unreachable !== b.unreachable)
        rows.push([i, b.session, b.unreachable]);
      if (a.cells === b.cells) continue;
      for (let j = 0; j < b.cells.length; j++) {
        if (a.cells[j] !== b.cells[j]) cells.push([i, j, b.cells[j]!]);
      }
    }
    if (cells.length === 0 && rows.length === 0 && old.version === cur.version) return;
    this.broadcast(
      'cells',
      JSON.stringify({ version: cur.version, cells, rows, counts: cur.counts, at: Date.now() }),
    );
    this.stats.cellEvents += this.streams.size;
  }

  private pollSessions(): void {
    if (this.streams.size === 0) return;
    const json = JSON.stringify(this.sessions());
    if (json === this.sessionsJson) return;
    this.sessionsJson = json;
    this.broadcast('sessions', json);
    this.stats.sessionEvents += this.streams.size;
  }
}
