// The NHIB entries of every client in one set of typed-array columns, indexed
// by (client index, next-hop id) through an open-addressing hash table (linear
// probing, backward-shift deletion). No object per entry: about 33 bytes of
// columns plus 4-8 bytes of index per entry (see README.md for the measured
// figure).

/** Bits of `flags`. */
export const F_USED = 0x01;
/** The next hop is in the client's request set (rs-bfd-profile §5.1). */
export const F_REQUESTED = 0x02;
/** Held unreachable by damping. */
export const F_SUPPRESSED = 0x04;
/** Effectively unreachable, as last told to the core. */
export const F_EFFECTIVE = 0x08;
/** Reported state: shift and mask (0 unknown, 1 reachable, 2 unreachable). */
export const STATE_SHIFT = 4;
export const STATE_MASK = 0x30;

export const ST_UNKNOWN = 0;
export const ST_REACHABLE = 1;
export const ST_UNREACHABLE = 2;

const MIN_CAPACITY = 64;

function mix(client: number, nh: number): number {
  let h = Math.imul(client, 0x85ebca6b) ^ nh;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return h ^ (h >>> 15);
}

export class EntryTable {
  /** Client index (the NHIB's). */
  client = new Uint16Array(MIN_CAPACITY);
  /** Interned next-hop id; for a free slot, the next free slot + 1 (0 ends the list). */
  nh = new Uint32Array(MIN_CAPACITY);
  flags = new Uint8Array(MIN_CAPACITY);
  /** Transitions to unreachable, saturating at 65535. */
  flaps = new Uint16Array(MIN_CAPACITY);
  /** When the reported state last changed (the NHIB's clock, ms); NaN: never. */
  since = new Float64Array(MIN_CAPACITY);
  /** Damping penalty, log domain (damping.ts). */
  penalty = new Float64Array(MIN_CAPACITY);
  /** Interned parts of the report that set the state (0: none). */
  local = new Uint32Array(MIN_CAPACITY);
  remote = new Uint32Array(MIN_CAPACITY);

  /** Live entries. */
  size = 0;
  /** Slots ever handed out: live ones are below this. */
  top = 0;
  private freeHead = 0;
  private index = new Int32Array(MIN_CAPACITY * 2);
  private shift = 32 - Math.log2(MIN_CAPACITY * 2);
  private mask = MIN_CAPACITY * 2 - 1;

  get capacity(): number {
    return this.flags.length;
  }

  private home(client: number, nh: number): number {
    return mix(client, nh) >>> this.shift;
  }

  /** The slot of (client, nh), or -1. */
  find(client: number, nh: number): number {
    const idx = this.index;
    let i = this.home(client, nh);
    for (;;) {
      const s = idx[i]!;
      if (s === 0) return -1;
      const slot = s - 1;
      if (this.nh[slot] === nh && this.client[slot] === client) return slot;
      i = (i + 1) & this.mask;
    }
  }

  /** A new entry for (client, nh), which must be absent; every column zero but `flags` = F_USED. */
  add(client: number, nh: number): number {
    if ((this.size + 1) * 4 > this.index.length * 3) this.growIndex();
    let slot: number;
    if (this.freeHead !== 0) {
      slot = this.freeHead - 1;
      this.freeHead = this.nh[slot]!;
    } else {
      if (this.top === this.capacity) this.growColumns();
      slot = this.top++;
    }
    this.client[slot] = client;
    this.nh[slot] = nh;
    this.flags[slot] = F_USED;
    this.flaps[slot] = 0;
    this.since[slot] = Number.NaN;
    this.penalty[slot] = Number.NEGATIVE_INFINITY;
    this.local[slot] = 0;
    this.remote[slot] = 0;
    this.size++;
    this.insertIndex(slot);
    return slot;
  }

  remove(slot: number): void {
    const idx = this.index;
    const mask = this.mask;
    let i = this.home(this.client[slot]!, this.nh[slot]!);
    while (idx[i] !== slot + 1) i = (i + 1) & mask;
    // Backward-shift deletion: move later members of the cluster into the hole.
    let j = i;
    for (;;) {
      idx[i] = 0;
      for (;;) {
        j = (j + 1) & mask;
        const s = idx[j]!;
        if (s === 0) {
          this.release(slot);
          return;
        }
        const k = this.home(this.client[s - 1]!, this.nh[s - 1]!);
        // Can the entry at j move to i? Only if its home is not in (i, j] cyclically.
        const between = i <= j ? i < k && k <= j : i < k || k <= j;
        if (!between) {
          idx[i] = s;
          i = j;
          break;
        }
      }
    }
  }

  private release(slot: number): void {
    this.flags[slot] = 0;
    this.nh[slot] = this.freeHead;
    this.freeHead = slot + 1;
    this.size--;
  }

  private insertIndex(slot: number): void {
    const idx = this.index;
    let i = this.home(this.client[slot]!, this.nh[slot]!);
    while (idx[i] !== 0) i = (i + 1) & this.mask;
    idx[i] = slot + 1;
  }

  private growIndex(): void {
    const n = this.index.length * 2;
    this.index = new Int32Array(n);
    this.mask = n - 1;
    this.shift = 32 - Math.log2(n);
    for (let s = 0; s < this.top; s++) {
      if ((this.flags[s]! & F_USED) !== 0) this.insertIndex(s);
    }
  }

  private growColumns(): void {
    const n = Math.max(MIN_CAPACITY, Math.ceil(this.capacity * 1.5));
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.client = grow(this.client, (k) => new Uint16Array(k));
    this.nh = grow(this.nh, (k) => new Uint32Array(k));
    this.flags = grow(this.flags, (k) => new Uint8Array(k));
    this.flaps = grow(this.flaps, (k) => new Uint16Array(k));
    this.since = grow(this.since, (k) => new Float64Array(k));
    this.penalty = grow(this.penalty, (k) => new Float64Array(k));
    this.local = grow(this.local, (k) => new Uint32Array(k));
    this.remote = grow(this.remote, (k) => new Uint32Array(k));
  }

  /** Reserve room for `n` entries at once (one allocation instead of repeated growth). */
  reserve(n: number): void {
    while (this.capacity < n) this.growColumns();
    while (n * 4 > this.index.length * 3) this.growIndex();
  }

  /** Bytes held by the columns and the index. */
  bytes(): number {
    return (
      this.client.byteLength +
      this.nh.byteLength +
      this.flags.byteLength +
      this.flaps.byteLength +
      this.since.byteLength +
      this.penalty.byteLength +
      this.local.byteLength +
      this.remote.byteLength +
      this.index.byteLength
    );
  }
}
