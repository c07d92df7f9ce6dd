// series.ts: families rendered from cached label text print exactly what
// prom-client's Gauge and Counter print for the same label objects: escaping,
// label order, repeated series (gauge: last value, counter: sum), no series.

import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  counterFamily,
  gaugeFamily,
  labelCache,
  labelText,
  withLabel,
} from '../../src/ops/http/series.ts';

const ROWS: [Record<string, string>, number][] = [
  [{ client: 'AS1', asn: '1', reason: 'plain' }, 3],
  [{ client: 'back\\slash "quoted"', asn: '2', reason: 'new\nline' }, 0],
  [{ client: 'AS1', asn: '1', reason: 'plain' }, 4],
  [{ client: 'ünïcode ✓', asn: '4200000000', reason: '' }, 1.5],
];

describe('metric families from label text', () => {
  it('render byte-identical to prom-client Gauge and Counter', async () => {
    const theirs = new Registry();
    new Gauge({
      name: 'x_gauge',
      help: 'a "gauge"\nwith\\ escapes',
      labelNames: ['client', 'asn', 'reason'],
      registers: [theirs],
      collect() {
        this.reset();
        for (const [l, v] of ROWS) this.set(l, v);
      },
    });
    new Counter({
      name: 'x_total',
      help: 'a counter',
      labelNames: ['client', 'asn', 'reason'],
      registers: [theirs],
      collect() {
        this.reset();
        for (const [l, v] of ROWS) this.inc(l, v);
      },
    });
    new Gauge({ name: 'x_empty', help: 'no series', labelNames: ['client'], registers: [theirs] });
    const ours = new Registry();
    const text = labelCache(
      (l: Record<string, string>) => JSON.stringify(l),
      (l) =>
        withLabel(
          labelText([
            ['client', l.client!],
            ['asn', l.asn!],
          ]),
          'reason',
          l.reason!,
        ),
    );
    gaugeFamily(ours, 'x_gauge', 'a "gauge"\nwith\\ escapes', (emit) => {
      for (const [l, v] of ROWS) emit(text(l), v);
    });
    counterFamily(ours, 'x_total', 'a counter', (emit) => {
      for (const [l, v] of ROWS) emit(text(l), v);
    });
    gaugeFamily(ours, 'x_empty', 'no series', () => undefined);
    const expected = await theirs.metrics();
    expect(expected).toContain('x_total{client="AS1",asn="1",reason="plain"} 7');
    expect(expected).toContain('x_gauge{client="AS1",asn="1",reason="plain"} 4');
    expect(await ours.metrics()).toBe(expected);
    // Twice: the cached text and fresh series per scrape.
    expect(await ours.metrics()).toBe(expected);
  });
});
