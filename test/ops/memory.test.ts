import { describe, expect, it } from 'vitest';
import { MemoryReclaimer } from '../../src/ops/memory.ts';
import type { SettledEvent } from '../../src/rs/server.ts';
import { addrOf, announce, attrs, lab, withdraw } from '../rs/helpers.ts';

const pfx = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.0/24`;
const range = (n: number) => Array.from({ length: n }, (_, i) => pfx(i));

describe('core: onSettled reports the paths released', () => {
  it('once the work is done, with how many paths were released and how many are left', () => {
    const events: SettledEvent[] = [];
    const l = lab({ onSettled: (ev) => events.push(ev) });
    l.up(65010);
    l.up(65001);
    l.send(65001, announce(range(10), attrs({ asPath: [65001], nextHop: addrOf(65001) })));
    expect(events).toEqual([]); // nothing released yet
    l.send(65001, withdraw(range(3)));
    expect(events).toEqual([{ pathsReleased: 3, paths: 7 }]);
    l.rs.sessionDown('AS65001');
    l.rs.flush();
    expect(events.at(-1)).toEqual({ pathsReleased: 7, paths: 0 });
    l.rs.flush();
    expect(events).toHaveLength(2); // no new event without new releases
  });
});

describe('MemoryReclaimer', () => {
  const make = (over: { minPaths?: number; minIntervalMs?: number } = {}) => {
    let t = 0;
    let calls = 0;
    const r = new MemoryReclaimer({
      gc: () => calls++,
      minPaths: over.minPaths ?? 100,
      minIntervalMs: over.minIntervalMs ?? 1000,
      now: () => t,
    });
    return {
      r,
      calls: () => calls,
      advance: (ms: number) => {
        t += ms;
      },
    };
  };

  it('collects once enough paths were released, counting across events', () => {
    const m = make();
    expect(m.r.settled({ pathsReleased: 60, paths: 0 })).toBe(false);
    expect(m.r.settled({ pathsReleased: 60, paths: 0 })).toBe(true);
    expect(m.calls()).toBe(1);
  });

  it('not when what was released is small against what is left', () => {
    const m = make();
    // 200 released, 10,000 left: a quarter would be 2,500.
    expect(m.r.settled({ pathsReleased: 200, paths: 10_000 })).toBe(false);
    expect(m.calls()).toBe(0);
  });

  it('at most once per interval (a flapping client is no GC loop)', () => {
    const m = make();
    expect(m.r.settled({ pathsReleased: 500, paths: 0 })).toBe(true);
    expect(m.r.settled({ pathsReleased: 500, paths: 0 })).toBe(false);
    m.advance(1000);
    expect(m.r.settled({ pathsReleased: 1, paths: 0 })).toBe(true); // the 500 waited
    expect(m.calls()).toBe(2);
  });

  it('does nothing without a collector (no --expose-gc)', () => {
    const r = new MemoryReclaimer({ gc: undefined, minPaths: 1 });
    expect(r.enabled).toBe(false);
    expect(r.settled({ pathsReleased: 1e6, paths: 0 })).toBe(false);
  });
});
