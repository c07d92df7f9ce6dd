// GET /metrics: Prometheus text exposition (prom-client), read at scrape time
// from the same core queries the control socket answers with (model.ts), so
// `ixrs show` and Prometheus never disagree.
//
// Names follow bird_exporter (czerwonk/bird_exporter, "new" format) where
// BIRD has a counterpart, with the prefix ixrs_ instead of bird_: per session
// (BIRD: per BGP protocol) ixrs_protocol_up, ixrs_protocol_uptime,
// ixrs_protocol_prefix_export_count, ixrs_bgp_state_count{state}; per client
// and IP version ixrs_protocol_prefix_import_count (accepted paths). The
// labels are bird_exporter's name / proto / ip_version plus client, asn and
// neighbor. Everything else is ixrs' own (docs/observability.md lists them).
//
// More metrics plug in through `registry` (the NHIB's, when RS-BFD lands):
// a prom-client metric with a collect() registered there is scraped with the
// rest.

import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ClientConfig } from '../../rs/policy-api.ts';
import type { CoreQueries, ReasonTexts } from '../model.ts';
import { reasonOf, sessionRow } from '../model.ts';
import { counterFamily, gaugeFamily, labelCache, labelText, withLabel } from './series.ts';
import type { HttpReply } from './server.ts';

/** Route-server internals that are not part of `ixrs show` (RouteServer has them). */
export interface CoreCounters {
  stats(): { prefixes: number; attrSets: number };
  readonly inputBacklog: number;
  readonly maxSliceMs: number;
  readonly slices: number;
}

/** Input flow control (InputGate). */
export interface InputCounters {
  readonly paused: boolean;
  readonly stats: { readonly pauses: number; readonly forcedRounds: number };
}

export interface MetricsSource {
  core: CoreQueries;
  counters: CoreCounters;
  input: InputCounters;
  clients: readonly ClientConfig[];
  reasons: ReasonTexts;
  bgpState: (address: string) => string | null;
  now?: () => number;
}

const AFI_VERSION: Record<string, string> = { '1': '4', '2': '6' };

export interface Metrics {
  /** Register more metrics here (prom-client `registers: [registry]`, values set in collect()). */
  readonly registry: Registry;
  /** One scrape: every collect() sees the same snapshot of sessions and clients. */
  scrape(): Promise<string>;
}

/** Build the registry. `defaults`: Node's process and event-loop metrics (prom-client's default set). */
export function createMetrics(src: MetricsSource, defaults = true): Metrics {
  const registry = new Registry();
  const regs = [registry];
  const now = src.now ?? Date.now;
  const byId = new Map(src.clients.map((c) => [c.id, c]));

  // One snapshot of the sessions per scrape, shared by the session families.
  type Row = ReturnType<typeof sessionRow>;
  let snap: Row[] | null = null;
  const sessions = (): Row[] => {
    snap ??= src.core.sessions().map((s) => sessionRow(s, byId, src.bgpState(s.address)));
    return snap;
  };
  // bird_exporter's labels of a session (name, proto, neighbor, client, asn),
  // as text once per session (series.ts).
  const sl = labelCache(
    (r: Row) => `${r.client}@${r.address}`,
    (r) =>
      labelText([
        ['name', `${r.client}@${r.address}`],
        ['proto', 'BGP'],
        ['neighbor', r.address],
        ['client', r.client],
        ['asn', String(r.asn)],
      ]),
  );
  const perSession = (name: string, help: string, value: (r: Row, t: number) => number): void => {
    gaugeFamily(registry, name, help, (emit) => {
      const t = now();
      for (const r of sessions()) emit(sl(r), value(r, t));
    });
  };

  perSession(
    'ixrs_protocol_up',
    'BGP session to the client address is established (1) or not (0)',
    (r) => (r.state === 'up' ? 1 : 0),
  );
  perSession('ixrs_protocol_uptime', 'Seconds since the session came up (0 while down)', (r, t) =>
    r.state === 'up' ? Math.max(0, (t - Date.parse(r.since)) / 1000) : 0,
  );
  const stateText = labelCache(
    (r: Row) => `${r.client}@${r.address}\n${r.bgpState ?? 'Unknown'}`,
    (r) =>
      labelText([
        ['name', `${r.client}@${r.address}`],
        ['proto', 'BGP'],
        ['state', r.bgpState ?? 'Unknown'],
      ]),
  );
  gaugeFamily(
    registry,
    'ixrs_bgp_state_count',
    'BGP FSM state of the session (RFC 4271 §8): 1 for the current state',
    (emit) => {
      for (const r of sessions()) emit(stateText(r), 1);
    },
  );
  gaugeFamily(
    registry,
    'ixrs_session_state',
    "Route-server state of the session: 1 for the current one ('up', 'idle', 'stale' = graceful restart)",
    (emit) => {
      for (const r of sessions()) emit(withLabel(sl(r), 'state', r.state), 1);
    },
  );
  perSession(
    'ixrs_session_prefix_receive_count',
    'Paths in the session Adj-RIB-In (accepted, and rejected ones kept with reject_policy tag)',
    (r) => r.received,
  );
  perSession(
    'ixrs_protocol_prefix_export_count',
    'Prefixes (paths, with ADD-PATH) the route server currently announces to the session',
    (r) => r.sent,
  );
  perSession(
    'ixrs_session_blocked',
    'Output to the session waits for its socket to drain (1) or not (0)',
    (r) => (r.blocked ? 1 : 0),
  );

  // Per client: the counters of `ixrs show client` (one clientSummary each).
  type Summary = ReturnType<CoreQueries['clientSummary']>;
  let sums: [ClientConfig, Summary, number][] | null = null;
  const summaries = (): [ClientConfig, Summary, number][] => {
    sums ??= src.clients.map((c) => [c, src.core.clientSummary(c.id), src.core.ribCount(c.id)]);
    return sums;
  };
  const clientText = new Map(
    src.clients.map((c) => [
      c,
      labelText([
        ['client', c.id],
        ['asn', String(c.asn)],
      ]),
    ]),
  );
  const cl = (c: ClientConfig): string => clientText.get(c)!;
  const importText = new Map(
    src.clients.map((c) => [
      c,
      ['1', '2'].map((afi) =>
        labelText([
          ['name', c.id],
          ['proto', 'BGP'],
          ['ip_version', AFI_VERSION[afi]!],
          ['client', c.id],
          ['asn', String(c.asn)],
        ]),
      ),
    ]),
  );

  gaugeFamily(
    registry,
    'ixrs_protocol_prefix_import_count',
    'Accepted paths of the client (all its sessions) by IP version: what the route server may send on',
    (emit) => {
      for (const [c, s] of summaries()) {
        const [v4, v6] = importText.get(c)!;
        emit(v4!, s.acceptedByAfi['1'] ?? 0);
        emit(v6!, s.acceptedByAfi['2'] ?? 0);
      }
    },
  );
  gaugeFamily(
    registry,
    'ixrs_client_prefix_export_count',
    'Prefixes the route server currently announces to the client (all its sessions), as ixrs show rib --count',
    (emit) => {
      for (const [c, , rib] of summaries()) emit(cl(c), rib);
    },
  );
  const counter = (name: string, help: string, pick: (s: Summary) => number): void => {
    counterFamily(registry, name, help, (emit) => {
      for (const [c, s] of summaries()) emit(cl(c), pick(s));
    });
  };
  counter(
    'ixrs_client_prefixes_received_total',
    'Prefix announcements received from the client (every path of every UPDATE)',
    (s) => s.received,
  );
  counter(
    'ixrs_client_prefixes_accepted_total',
    'Prefix announcements the import policy accepted',
    (s) => s.accepted,
  );
  counter(
    'ixrs_client_prefixes_blocked_total',
    "Prefixes dropped because max-prefix 'block' was reached",
    (s) => s.blocked,
  );
  counter(
    'ixrs_client_withdraws_received_total',
    'Withdrawals received from the client',
    (s) => s.withdrawnReceived,
  );
  counter(
    'ixrs_client_treat_as_withdraw_total',
    'Prefixes treated as withdrawn after a malformed UPDATE (RFC 7606)',
    (s) => s.treatAsWithdraw,
  );
  counter(
    'ixrs_client_updates_sent_total',
    'UPDATE messages sent to the client',
    (s) => s.sentUpdates,
  );
  counter(
    'ixrs_client_nlri_sent_total',
    'NLRI (announcements and withdrawals) sent to the client',
    (s) => s.sentNlri,
  );
  const filteredText = labelCache(
    ([c, code]: [ClientConfig, string]) => `${c.id}\n${code}`,
    ([c, code]) => {
      const r = reasonOf(Number(code), src.reasons);
      return withLabel(withLabel(cl(c), 'reason_code', String(r.code)), 'reason', r.text);
    },
  );
  counterFamily(
    registry,
    'ixrs_client_prefixes_filtered_total',
    'Prefix announcements the import policy rejected, by primary reason (arouteserver reject code)',
    (emit) => {
      for (const [c, s] of summaries()) {
        for (const [code, n] of Object.entries(s.rejectedByReason))
          emit(filteredText([c, code]), n);
      }
    },
  );

  // The core and its input flow control.
  new Gauge({
    name: 'ixrs_rs_prefixes',
    help: 'Prefixes in the route-server table (every family)',
    registers: regs,
    collect() {
      this.set(src.counters.stats().prefixes);
    },
  });
  new Gauge({
    name: 'ixrs_rs_attribute_sets',
    help: 'Distinct (interned) path attribute sets',
    registers: regs,
    collect() {
      this.set(src.counters.stats().attrSets);
    },
  });
  new Gauge({
    name: 'ixrs_rs_input_backlog',
    help: 'NLRI received and queued, not yet applied by the core',
    registers: regs,
    collect() {
      this.set(src.counters.inputBacklog);
    },
  });
  new Gauge({
    name: 'ixrs_rs_slice_max_seconds',
    help: 'Longest single turn of route work on the event loop since start',
    registers: regs,
    collect() {
      this.set(src.counters.maxSliceMs / 1000);
    },
  });
  new Counter({
    name: 'ixrs_rs_slices_total',
    help: 'Turns of route work run on the event loop',
    registers: regs,
    collect() {
      this.reset();
      this.inc(src.counters.slices);
    },
  });
  new Gauge({
    name: 'ixrs_input_paused',
    help: 'Input flow control: clients are not read now (1) because the core input queue is full',
    registers: regs,
    collect() {
      this.set(src.input.paused ? 1 : 0);
    },
  });
  new Counter({
    name: 'ixrs_input_pauses_total',
    help: 'Input flow control: times reading from the clients was paused',
    registers: regs,
    collect() {
      this.reset();
      this.inc(src.input.stats.pauses);
    },
  });
  new Counter({
    name: 'ixrs_input_forced_read_rounds_total',
    help: 'Input flow control: read rounds forced because input stayed paused for the bound (a third of the hold time)',
    registers: regs,
    collect() {
      this.reset();
      this.inc(src.input.stats.forcedRounds);
    },
  });
  // Node's own, among them nodejs_eventloop_lag_{min,max,mean,p50,p90,p99}_seconds
  // (perf_hooks.monitorEventLoopDelay): how long timers such as keepalives wait.
  if (defaults) collectDefaultMetrics({ register: registry });
  return {
    registry,
    async scrape() {
      snap = null;
      sums = null;
      try {
        return await registry.metrics();
      } finally {
        snap = null;
        sums = null;
      }
    },
  };
}

/** The exposition as a reply, encoded once (a cached reply answers many scrapes). */
export async function metricsReply(m: Metrics): Promise<HttpReply> {
  return { status: 200, type: m.registry.contentType, body: Buffer.from(await m.scrape()) };
}
