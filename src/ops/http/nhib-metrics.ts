// RS-BFD on /metrics and the web page's live feed: the NHIB per client (entries
// by state, damped, paths hidden), its report counters (received, dropped by
// reason, unrequested), the RS-BFD channel counters, and the latency from a
// report's arrival to the core having applied it and sent the UPDATEs.
//
// NhibTelemetry is fed by RsBfd's onChanges hook (src/rs/rsbfd.ts): a change
// carried by a report is timed from the report's arrival until the core is
// idle again (RouteServer.idle(): the reachability walk done and the UPDATEs
// it caused written), which is what a client sees. While the core converges
// for other reasons that includes the wait for that work too.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Nhib, NhibEvent, NhibTally } from '../../nhib/nhib.ts';
import type { RsBfdStats } from '../../rs/rsbfd.ts';
import { counterFamily, gaugeFamily, labelCache, labelText, withLabel } from './series.ts';

/** Buckets of the report-to-UPDATE histogram, seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class NhibTelemetry {
  /** Report arrival to UPDATEs out (registered into the HTTP registry by registerNhibMetrics). */
  readonly latency = new Histogram({
    name: 'ixrs_rsbfd_report_to_update_seconds',
    help: 'Time from an RS-BFD report that changed reachability to the core having applied it (UPDATEs sent)',
    buckets: LATENCY_BUCKETS,
    registers: [],
  });
  /** Bumped on every NHIB change (the web page's feed compares it). */
  version = 0;
  private readonly listeners = new Set<() => void>();
  private pending: number[] = [];
  private waiting = false;
  private readonly idle: () => Promise<void>;
  private readonly now: () => number;

  /** `idle`: resolves when the core has no work left; `now`: the clock of RsBfd's timers. */
  constructor(idle: () => Promise<void>, now: () => number = Date.now) {
    this.idle = idle;
    this.now = now;
  }

  /** RsBfdOptions.onChanges. */
  changes(events: readonly NhibEvent[], arrivedAt: number | null): void {
    if (!events.some((e) => e.kind === 'change')) return;
    this.version++;
    for (const l of this.listeners) l();
    if (arrivedAt === null || !events.some((e) => e.kind === 'change' && e.effectiveChanged))
      return;
    this.pending.push(arrivedAt);
    if (this.waiting) return;
    this.waiting = true;
    void this.idle().then(() => {
      const t = this.now();
      for (const a of this.pending) this.latency.observe(Math.max(0, t - a) / 1000);
      this.pending = [];
      this.waiting = false;
    });
  }

  /** Called on every NHIB change; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export interface NhibSources {
  nhib: Pick<Nhib, 'tally' | 'nhibMatrix' | 'nhibClient'>;
  stats: Readonly<RsBfdStats>;
  telemetry: NhibTelemetry;
}

const DROP_REASONS: [keyof NhibTally['counters'], string][] = [
  ['spoofed', 'spoofed'],
  ['foreignInstance', 'foreign-instance'],
  ['noSession', 'no-session'],
  ['disabled', 'disabled'],
  ['invalid', 'invalid'],
  ['overLimit', 'limit'],
];

/** Adds the NHIB and RS-BFD metrics to `registry`. */
export function registerNhibMetrics(registry: Registry, src: NhibSources): void {
  const regs = [registry];
  registry.registerMetric(src.telemetry.latency);
  // One pass over the NHIB per scrape: every collect() of a scrape runs in the
  // same turn, the next scrape computes it again.
  let cached: NhibTally[] | null = null;
  const tally = (): NhibTally[] => {
    if (cached === null) {
      cached = src.nhib.tally();
      setImmediate(() => {
        cached = null;
      });
    }
    return cached;
  };
  // Label text once per client (series.ts).
  const cl = labelCache(
    (x: NhibTally) => `${x.client}\n${x.asn}`,
    (x) =>
      labelText([
        ['client', x.client],
        ['asn', String(x.asn)],
      ]),
  );
  const withState = labelCache(
    ([x, k]: [NhibTally, string]) => `${x.client}\n${x.asn}\n${k}`,
    ([x, k]) => withLabel(cl(x), k.slice(0, k.indexOf('=')), k.slice(k.indexOf('=') + 1)),
  );
  const gauge = (name: string, help: string, pick: (x: NhibTally) => number): void => {
    gaugeFamily(registry, name, help, (emit) => {
      for (const x of tally()) emit(cl(x), pick(x));
    });
  };
  const counter = (name: string, help: string, pick: (x: NhibTally) => number): void => {
    counterFamily(registry, name, help, (emit) => {
      for (const x of tally()) emit(cl(x), pick(x));
    });
  };
  gaugeFamily(
    registry,
    'ixrs_nhib_entries',
    "NHIB entries of the client (next hops requested or reported) by reported state: 'unknown', 'reachable', 'unreachable'",
    (emit) => {
      for (const x of tally()) {
        emit(withState([x, 'state=unknown']), x.unknown);
        emit(withState([x, 'state=reachable']), x.reachable);
        emit(withState([x, 'state=unreachable']), x.unreachable);
      }
    },
  );
  gauge('ixrs_nhib_damped', 'Next hops of the client held unreachable by damping', (x) => x.damped);
  gauge(
    'ixrs_nhib_unreachable',
    'Next hops effectively unreachable for the client (reported unreachable or damped)',
    (x) => x.effective,
  );
  gauge(
    'ixrs_nhib_hidden_paths',
    'Paths the route server currently does not send the client because their next hop is unreachable for it',
    (x) => x.hiddenPaths,
  );
  gaugeFamily(
    registry,
    'ixrs_nhib_session_up',
    "The client's reachability session (its agent's BGP-LS, or BGP-LS on its routing session) is up (1) or not (0); absent when RS-BFD is disabled for it",
    (emit) => {
      for (const x of tally())
        if (x.session !== 'disabled') emit(cl(x), x.session === 'up' ? 1 : 0);
    },
  );
  counter(
    'ixrs_nhib_reports_total',
    'RS-BFD reports received from the client',
    (x) => x.counters.reports,
  );
  counter(
    'ixrs_nhib_report_withdraws_total',
    'RS-BFD report withdrawals received from the client',
    (x) => x.counters.withdraws,
  );
  counter(
    'ixrs_nhib_reports_applied_total',
    "Reports that changed an entry's state",
    (x) => x.counters.applied,
  );
  counterFamily(
    registry,
    'ixrs_nhib_reports_dropped_total',
    "Reports dropped, by reason: 'spoofed' (local node or address not the client's), 'foreign-instance', 'no-session', 'disabled', 'invalid', 'limit' (too many unrequested)",
    (emit) => {
      for (const x of tally()) {
        for (const [k, reason] of DROP_REASONS)
          emit(withState([x, `reason=${reason}`]), x.counters[k]);
      }
    },
  );
  counter(
    'ixrs_nhib_reports_unrequested_total',
    'Reports kept although their next hop was not requested from the client',
    (x) => x.counters.unrequested,
  );
  counter(
    'ixrs_nhib_flaps_total',
    'Transitions of a next hop to unreachable',
    (x) => x.counters.flaps,
  );
  counter(
    'ixrs_nhib_suppressions_total',
    'Times a next hop of the client became damped',
    (x) => x.counters.suppressions,
  );
  counter(
    'ixrs_nhib_session_losses_total',
    'Reachability sessions of the client lost (every entry back to unknown: fail open)',
    (x) => x.counters.sessionLosses,
  );

  const st = src.stats;
  new Gauge({
    name: 'ixrs_rsbfd_channels',
    help: 'Clients with an active reachability channel',
    registers: regs,
    collect() {
      this.set(st.channels);
    },
  });
  const total = (name: string, help: string, value: () => number): void => {
    new Counter({
      name,
      help,
      registers: regs,
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  };
  total(
    'ixrs_rsbfd_requests_sent_total',
    'Next-hop requests sent to clients',
    () => st.requestsSent,
  );
  total(
    'ixrs_rsbfd_requests_withdrawn_total',
    'Next-hop requests withdrawn',
    () => st.requestsWithdrawn,
  );
  total('ixrs_rsbfd_reports_total', 'Reports received (every client)', () => st.reports);
  total(
    'ixrs_rsbfd_reports_invalid_total',
    'BGP-LS NLRI received that are not RS-BFD reports',
    () => st.invalidReports,
  );
  total(
    'ixrs_rsbfd_malformed_total',
    'Malformed BGP-LS (RFC 9552 §8.2.2 outcomes)',
    () => st.malformed,
  );
}
