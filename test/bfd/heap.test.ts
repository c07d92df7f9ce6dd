import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineHeap, type HeapItem } from '../../src/bfd/heap.ts';

interface Item extends HeapItem {
  id: number;
}

describe('DeadlineHeap (the manager timer structure)', () => {
  it('random set/remove sequences keep the earliest deadline on top', () => {
    const op = fc.record({
      kind: fc.constantFrom('set', 'set', 'remove'),
      id: fc.integer({ min: 0, max: 19 }),
      at: fc.integer({ min: 0, max: 1000 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new DeadlineHeap<Item>();
        const items = Array.from({ length: 20 }, (_, id) => ({ id, deadline: 0, heapIndex: -1 }));
        const model = new Map<number, number>();
        for (const o of ops) {
          const it = items[o.id]!;
          if (o.kind === 'set') {
            heap.set(it, o.at);
            model.set(o.id, o.at);
          } else {
            heap.remove(it);
            model.delete(o.id);
          }
          expect(heap.size).toBe(model.size);
          const top = heap.peek();
          if (model.size === 0) expect(top).toBeUndefined();
          else expect(top!.deadline).toBe(Math.min(...model.values()));
        }
        // drain in order
        const out: number[] = [];
        for (let t = heap.peek(); t !== undefined; t = heap.peek()) {
          out.push(t.deadline);
          heap.remove(t);
        }
        expect(out).toEqual([...model.values()].sort((a, b) => a - b));
      }),
      { numRuns: 500 },
    );
  });
});
