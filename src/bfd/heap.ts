// Indexed binary min-heap of deadlines: O(log n) insert, update, remove; every
// item remembers its slot so a changed deadline moves in place.

export interface HeapItem {
  deadline: number;
  heapIndex: number;
}

export class DeadlineHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** Insert, or move an item already present to its new deadline. */
  set(item: T, deadline: number): void {
    const i = item.heapIndex;
    if (i >= 0 && this.items[i] === item) {
      const old = item.deadline;
      item.deadline = deadline;
      if (deadline < old) this.up(i);
      else if (deadline > old) this.down(i);
      return;
    }
    item.deadline = deadline;
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0 || this.items[i] !== item) return;
    const last = this.items.pop()!;
    item.heapIndex = -1;
    if (last !== item) {
      this.items[i] = last;
      last.heapIndex = i;
      this.up(i);
      this.down(last.heapIndex);
    }
  }

  private up(i: number): void {
    const a = this.items;
    const x = a[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const y = a[p]!;
      if (y.deadline <= x.deadline) break;
      a[i] = y;
      y.heapIndex = i;
      i = p;
    }
    a[i] = x;
    x.heapIndex = i;
  }

  private down(i: number): void {
    const a = this.items;
    const n = a.length;
    const x = a[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.deadline < a[l]!.deadline ? r : l;
      const y = a[c]!;
      if (y.deadline >= x.deadline) break;
      a[i] = y;
      y.heapIndex = i;
      i = c;
    }
    a[i] = x;
    x.heapIndex = i;
  }
}
