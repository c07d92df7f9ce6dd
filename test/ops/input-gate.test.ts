// Input flow control of the daemon (src/ops/input-gate.ts) with stub members
// and a hand-driven clock.

import { describe, expect, it } from 'vitest';
import { InputGate, type Pausable } from '../../src/ops/input-gate.ts';

class Member implements Pausable {
  paused = false;
  readonly name: string;
  private readonly log: string[];
  constructor(name: string, log: string[]) {
    this.name = name;
    this.log = log;
  }
  pauseInput(): void {
    this.paused = true;
  }
  resumeInput(): void {
    this.paused = false;
    this.log.push(this.name);
  }
}

/** Timers run by advance(); the gate's process.nextTick rounds by tick(). */
function clock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let id = 0;
  return {
    setTimeout: (fn: () => void, ms: number): unknown => {
      timers.set(++id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h: unknown): void => {
      timers.delete(h as number);
    },
    advance(ms: number): void {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= end)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    pending: (): number => timers.size,
  };
}

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

function setup(maxPauseMs = 1000) {
  const resumed: string[] = [];
  const members = ['a', 'b', 'c', 'd'].map((n) => new Member(n, resumed));
  const c = clock();
  const gate = new InputGate(members, {
    maxPauseMs,
    setTimeout: c.setTimeout,
    clearTimeout: c.clearTimeout,
  });
  return { gate, members, resumed, c };
}

describe('InputGate (input flow control)', () => {
  it('a full core pauses every member once; a drain resumes them all', () => {
    const { gate, members, resumed } = setup();
    gate.full(members[0]!);
    gate.full(members[0]!); // the rest of the chunk: already paused
    expect(members.every((m) => m.paused)).toBe(true);
    expect(gate.paused).toBe(true);
    expect(gate.stats.pauses).toBe(1);
    gate.drained();
    expect(members.some((m) => m.paused)).toBe(false);
    expect(resumed).toHaveLength(4);
  });

  it('resumes starting after the member whose UPDATE filled the queue (round robin)', () => {
    const { gate, members, resumed } = setup();
    gate.full(members[1]!);
    gate.drained();
    expect(resumed).toEqual(['c', 'd', 'a', 'b']);
    resumed.length = 0;
    gate.full(members[3]!);
    gate.drained();
    expect(resumed).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a core that never drains: after the bound every member is resumed for one read round, then paused again', async () => {
    const { gate, members, resumed, c } = setup(1000);
    gate.full(members[0]!);
    c.advance(999);
    expect(resumed).toEqual([]);
    c.advance(1);
    expect(members.some((m) => m.paused)).toBe(false);
    expect(gate.stats.forcedRounds).toBe(1);
    // During the round a full core does not pause: every member gets its turn.
    gate.full(members[1]!);
    expect(members.some((m) => m.paused)).toBe(false);
    await tick();
    expect(members.every((m) => m.paused)).toBe(true);
    // The next pause is bounded again.
    c.advance(1000);
    expect(gate.stats.forcedRounds).toBe(2);
    await tick();
    expect(gate.paused).toBe(true);
  });

  it('the bound counts from the first pause since every member last had its turn', async () => {
    const { gate, members, c } = setup(1000);
    gate.full(members[0]!);
    c.advance(500);
    // A drain, and the first resumed member fills the queue again at once.
    gate.drained();
    gate.full(members[1]!);
    await tick();
    c.advance(500);
    expect(gate.stats.forcedRounds).toBe(1);
  });

  it('a drain after which input stays open clears the bound', async () => {
    const { gate, members, c } = setup(1000);
    gate.full(members[0]!);
    c.advance(500);
    gate.drained();
    await tick();
    expect(c.pending()).toBe(0);
    c.advance(1000);
    expect(gate.stats.forcedRounds).toBe(0);
    gate.full(members[2]!);
    c.advance(999);
    expect(gate.stats.forcedRounds).toBe(0);
    c.advance(1);
    expect(gate.stats.forcedRounds).toBe(1);
  });

  it('a drain during the forced round leaves input open', async () => {
    const { gate, members, c } = setup(1000);
    gate.full(members[0]!);
    c.advance(1000);
    gate.drained();
    await tick();
    expect(gate.paused).toBe(false);
    expect(c.pending()).toBe(0);
  });

  it('stop() resumes the members and clears the bound; later calls do nothing', () => {
    const { gate, members, c } = setup();
    gate.full(members[0]!);
    gate.stop();
    expect(members.some((m) => m.paused)).toBe(false);
    expect(c.pending()).toBe(0);
    gate.full(members[0]!);
    expect(gate.paused).toBe(false);
  });
});
