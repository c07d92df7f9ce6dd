// Metric families with one series per session or client, rendered cheaply:
// prom-client's Gauge/Counter hash a label object per set() and format and
// escape every label of every series per scrape; at 100 clients that was
// ~2,800 series and most of a rendering's 15 ms (bench/metrics.ts). Here the
// caller keeps each series' label text (built once with labelText) and the
// family hands registry.metrics() the series with that text as its
// metricName and no labels, which prom-client prints as it is: the same
// exposition, byte for byte, as the label objects gave (test/ops/series.test.ts).

import { Counter, Gauge, type Registry } from 'prom-client';

/** Emits one series: its label text (`{a="x",b="y"}`, from labelText) and value. */
export type Emit = (labels: string, value: number) => void;
export type Rows = (emit: Emit) => void;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** `{a="x",b="y"}` for label pairs in order, escaped as prom-client escapes them. */
export function labelText(pairs: readonly (readonly [string, string])[]): string {
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** `labels` (from labelText) with one more pair at the end. */
export function withLabel(labels: string, name: string, value: string): string {
  return `${labels.slice(0, -1)},${name}="${escapeLabelValue(value)}"}`;
}

const NO_LABELS: Record<string, never> = {};

interface Series {
  value: number;
  labels: Record<string, never>;
  sharedLabels: Record<string, never>;
  metricName: string;
}

/**
 * The series `rows` emits, in first-emitted order; a repeated label text is
 * one series (a gauge keeps the last value, a counter the sum), as
 * prom-client's set() and inc() do.
 */
function collect(name: string, rows: Rows, sum: boolean): Series[] {
  const out: Series[] = [];
  const at = new Map<string, number>();
  rows((labels, value) => {
    const i = at.get(labels);
    if (i === undefined) {
      at.set(labels, out.length);
      out.push({ value, labels: NO_LABELS, sharedLabels: NO_LABELS, metricName: name + labels });
    } else if (sum) out[i]!.value += value;
    else out[i]!.value = value;
  });
  return out;
}

class GaugeFamily extends Gauge<string> {
  private readonly rows: Rows;
  constructor(reg: Registry, name: string, help: string, rows: Rows) {
    super({ name, help, registers: [reg] });
    this.rows = rows;
  }
  override async get(): ReturnType<Gauge<string>['get']> {
    const base = await super.get();
    return { ...base, values: collect(base.name, this.rows, false) };
  }
}

class CounterFamily extends Counter<string> {
  private readonly rows: Rows;
  constructor(reg: Registry, name: string, help: string, rows: Rows) {
    super({ name, help, registers: [reg] });
    this.rows = rows;
  }
  override async get(): ReturnType<Counter<string>['get']> {
    const base = await super.get();
    return { ...base, values: collect(base.name, this.rows, true) };
  }
}

/** A gauge family: `rows` emits its series at each scrape. */
export function gaugeFamily(reg: Registry, name: string, help: string, rows: Rows): void {
  new GaugeFamily(reg, name, help, rows);
}

/** A counter family: `rows` emits its series (totals) at each scrape. */
export function counterFamily(reg: Registry, name: string, help: string, rows: Rows): void {
  new CounterFamily(reg, name, help, rows);
}

/** Label text memoised by key (a session, a client: its labels never change). */
export function labelCache<T>(key: (x: T) => string, make: (x: T) => string): (x: T) => string {
  const m = new Map<string, string>();
  return (x) => {
    const k = key(x);
    let t = m.get(k);
    if (t === undefined) {
      t = make(x);
      m.set(k, t);
    }
    return t;
  };
}
