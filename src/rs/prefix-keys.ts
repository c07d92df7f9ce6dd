// PrefixKeys: the prefix table's key index. Maps (family slot, prefix text) to
// a dense integer id that the route-server core uses to index its typed-array
// columns (store.ts), without a JS Map entry and a retained key string per
// prefix (~70-80 bytes each at 400k prefixes).
//
// Canonical IPv4 text ("a.b.c.d/len": decimal octets 0-255 without leading
// zeros, len 0-32, host bits kept as given) is parsed without allocating and
// stored as numbers: per id a 32-bit address and a 16-bit (len | fam << 8),
// 6 bytes, found through an open-addressing table of 4-byte slots (linear
// probing, load 0.5-0.75, grown by 1.5x, backward-shift deletion): 11-17
// bytes per key with all slack (~14-16 measured at 400k /24s, against ~69
// for a Map entry plus a flat key string, ~98 with the decoder's cons
// strings). text() formats the address back (a new string per call), which
// gives the original string exactly because only canonical text takes this
// path. Anything else (IPv6, non-canonical IPv4, garbage) goes to
// a per-family Map<string, id>, its string kept in a side array.
//
// A table slot holds (id + 1) in its low 25 bits and 7 bits of the key's hash
// above them, so most probes that do not match are rejected without reading
// the id's columns. Hence at most 2^25 - 1 ids.
//
// Freed ids are chained through their address column (intrusive free list)
// and handed out again, most recently freed first, before the id range grows.

/** Low byte of `meta` for an id whose key is kept as text. */
const TEXT = 0xfe;
/** Low byte of `meta` for a freed id. */
const FREE = 0xff;

const ID_BITS = 25;
const ID_MASK = (1 << ID_BITS) - 1;
const TAG_MASK = ~ID_MASK;
const MAX_IDS = ID_MASK;
const MAX_LOAD = 0.75;
const TWO_POW_M32 = 2 ** -32;

/** Octet values as text followed by a dot, and '/len' suffixes. */
const OCTET_DOT: string[] = [];
for (let i = 0; i < 256; i++) OCTET_DOT.push(`${i}.`);
const OCTET: string[] = [];
for (let i = 0; i < 256; i++) OCTET.push(`${i}`);
const SLASH_LEN: string[] = [];
for (let i = 0; i <= 32; i++) SLASH_LEN.push(`/${i}`);

/** Address of the last successful parse4 (as an int32). */
let parsedAddr = 0;

/**
 * The prefix length of `s` if it is canonical IPv4 prefix text, its address
 * left in `parsedAddr`; -1 otherwise.
 */
function parse4(s: string): number {
  const n = s.length;
  // "0.0.0.0/0" .. "255.255.255.255/32"
  if (n < 9 || n > 18) return -1;
  let i = 0;
  let addr = 0;
  for (let k = 0; k < 4; k++) {
    if (i >= n) return -1;
    const c = s.charCodeAt(i++) - 48;
    if (c < 0 || c > 9) return -1;
    let v = c;
    if (c !== 0) {
      // Up to two more digits; a leading zero ends the octet (so "01" fails at the separator).
      if (i < n) {
        const d = s.charCodeAt(i) - 48;
        if (d >= 0 && d <= 9) {
          v = v * 10 + d;
          i++;
          if (i < n) {
            const e = s.charCodeAt(i) - 48;
            if (e >= 0 && e <= 9) {
              v = v * 10 + e;
              i++;
              if (v > 255) return -1;
            }
          }
        }
      }
    }
    if (i >= n) return -1;
    if (s.charCodeAt(i++) !== (k === 3 ? 47 : 46)) return -1;
    addr = (addr << 8) | v;
  }
  if (i >= n) return -1;
  const c = s.charCodeAt(i++) - 48;
  if (c < 0 || c > 9) return -1;
  let len = c;
  if (i < n) {
    if (c === 0 || i + 1 !== n) return -1;
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    len = c * 10 + d;
    if (len > 32) return -1;
  }
  parsedAddr = addr;
  return len;
}

/** 32-bit hash of a numeric key (murmur3's finaliser over address and meta). */
function hash4(addr: number, meta: number): number {
  let h = addr ^ Math.imul(meta, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Home slot of hash `h` in a table of `cap` slots (high bits of h * cap). */
function home(h: number, cap: number): number {
  return ((h >>> 0) * cap * TWO_POW_M32) | 0;
}

function checkFam(fam: number): void {
  if ((fam & 0xff) !== fam) throw new RangeError(`PrefixKeys: family slot ${fam} not in 0..255`);
}

export class PrefixKeys {
  /** Canonical IPv4: the address (int32). Text keys: the index in `strs`. Freed: the next free id. */
  private addr: Int32Array;
  /** len (0..32) or TEXT or FREE in the low byte, fam in the high byte. */
  private meta: Uint16Array;
  /** Ids below this have been handed out at least once. */
  private next = 0;
  private count = 0;
  private freeHead = -1;

  /** Slots: 0 empty, else (hash tag << 25) | (id + 1). Canonical IPv4 keys only. */
  private table: Int32Array;
  private tcap: number;
  /** Keys in `table`. */
  private used = 0;
  /** Grow `table` past this many keys. */
  private tmax: number;

  /** Text keys: one Map per family slot. */
  private readonly alt: (Map<string, number> | null)[] = new Array(256).fill(null);
  /** Text keys' strings, dense (swap-removed); strOwner[i] is the id of strs[i]. */
  private readonly strs: string[] = [];
  private readonly strOwner: number[] = [];

  constructor(initialCapacity = 64) {
    const cap = initialCapacity > 8 ? Math.min(MAX_IDS, Math.ceil(initialCapacity)) : 8;
    this.addr = new Int32Array(cap);
    this.meta = new Uint16Array(cap);
    this.tcap = Math.ceil(cap / MAX_LOAD) + 1;
    this.tmax = Math.floor(this.tcap * MAX_LOAD);
    this.table = new Int32Array(this.tcap);
  }

  /** Number of live ids. */
  get size(): number {
    return this.count;
  }

  /** Every live id is < limit (iteration bound: for (let id = 0; id < keys.limit; id++) if (keys.live(id)) ...). */
  get limit(): number {
    return this.next;
  }

  /** The id of (fam, prefix), or -1. `fam` is a small integer 0..255 chosen by the caller (one per address family). */
  get(fam: number, prefix: string): number {
    if ((fam & 0xff) !== fam) return -1;
    const len = parse4(prefix);
    if (len < 0) {
      const m = this.alt[fam];
      if (m === null) return -1;
      return m.get(prefix) ?? -1;
    }
    const r = this.probe(parsedAddr, len | (fam << 8));
    return r >= 0 ? r : -1;
  }

  /** The id of (fam, prefix), created when missing. */
  intern(fam: number, prefix: string): number {
    checkFam(fam);
    const len = parse4(prefix);
    if (len < 0) return this.internText(fam, prefix);
    const addr = parsedAddr;
    const meta = len | (fam << 8);
    let r = this.probe(addr, meta);
    if (r >= 0) return r;
    const h = hash4(addr, meta);
    if (this.used >= this.tmax) {
      this.growTable();
      r = this.emptySlot(h);
    } else r = -1 - r;
    const id = this.alloc();
    this.addr[id] = addr;
    this.meta[id] = meta;
    this.table[r] = (h << ID_BITS) | (id + 1);
    this.used++;
    return id;
  }

  /** Frees `id`; it may be handed out again by a later intern (reuse freed ids before growing). No-op unless live. */
  delete(id: number): void {
    if (!this.live(id)) return;
    const m = this.meta[id]!;
    if ((m & 0xff) === TEXT) this.deleteText(id, m >>> 8);
    else this.unlink(id, hash4(this.addr[id]!, m));
    this.meta[id] = FREE;
    this.addr[id] = this.freeHead;
    this.freeHead = id;
    this.count--;
  }

  live(id: number): boolean {
    return id >= 0 && id < this.next && (this.meta[id]! & 0xff) !== FREE;
  }

  famOf(id: number): number {
    return this.meta[id]! >>> 8;
  }

  /**
   * The prefix text of a live id; always exactly the string given to intern (text(intern(f, s)) === s).
   * Canonical IPv4 text is rebuilt on every call. Throws a RangeError for an id that is not live.
   */
  text(id: number): string {
    if (!this.live(id)) throw new RangeError(`PrefixKeys: id ${id} is not live`);
    const len = this.meta[id]! & 0xff;
    const a = this.addr[id]!;
    if (len === TEXT) return this.strs[a]!;
    return (
      OCTET_DOT[a >>> 24]! +
      OCTET_DOT[(a >>> 16) & 0xff]! +
      OCTET_DOT[(a >>> 8) & 0xff]! +
      OCTET[a & 0xff]! +
      SLASH_LEN[len]!
    );
  }

  /** The id of a numeric key, or -1 - (the empty slot where it would go). */
  private probe(addr: number, meta: number): number {
    const t = this.table;
    const cap = this.tcap;
    const h = hash4(addr, meta);
    const tag = h << ID_BITS;
    let i = home(h, cap);
    for (;;) {
      const v = t[i]!;
      if (v === 0) return -1 - i;
      if ((v & TAG_MASK) === tag) {
        const id = (v & ID_MASK) - 1;
        if (this.addr[id] === addr && this.meta[id] === meta) return id;
      }
      if (++i === cap) i = 0;
    }
  }

  private emptySlot(h: number): number {
    const t = this.table;
    const cap = this.tcap;
    let i = home(h, cap);
    while (t[i] !== 0) if (++i === cap) i = 0;
    return i;
  }

  /** Removes numeric key `id` (hash `h`) from the table by backward shift. */
  private unlink(id: number, h: number): void {
    const t = this.table;
    const cap = this.tcap;
    let i = home(h, cap);
    while ((t[i]! & ID_MASK) !== id + 1) if (++i === cap) i = 0;
    // i is the hole; pull back every later entry of the cluster whose home is not in (i, j].
    let j = i;
    for (;;) {
      if (++j === cap) j = 0;
      const v = t[j]!;
      if (v === 0) break;
      const o = (v & ID_MASK) - 1;
      const k = home(hash4(this.addr[o]!, this.meta[o]!), cap);
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      t[i] = v;
      i = j;
    }
    t[i] = 0;
    this.used--;
  }

  private growTable(): void {
    const cap = Math.ceil(this.tcap * 1.5);
    const t = new Int32Array(cap);
    const addr = this.addr;
    const meta = this.meta;
    for (let id = 0; id < this.next; id++) {
      const m = meta[id]!;
      if ((m & 0xff) > 32) continue;
      const h = hash4(addr[id]!, m);
      let i = home(h, cap);
      while (t[i] !== 0) if (++i === cap) i = 0;
      t[i] = (h << ID_BITS) | (id + 1);
    }
    this.table = t;
    this.tcap = cap;
    this.tmax = Math.floor(cap * MAX_LOAD);
  }

  private alloc(): number {
    const f = this.freeHead;
    if (f >= 0) {
      this.freeHead = this.addr[f]!;
      this.count++;
      return f;
    }
    const id = this.next;
    if (id === this.addr.length) {
      if (id >= MAX_IDS) throw new RangeError(`PrefixKeys: more than ${MAX_IDS} ids`);
      const cap = Math.min(MAX_IDS, Math.ceil(id * 1.5) + 8);
      const addr = new Int32Array(cap);
      addr.set(this.addr);
      this.addr = addr;
      const meta = new Uint16Array(cap);
      meta.set(this.meta);
      this.meta = meta;
    }
    this.next = id + 1;
    this.count++;
    return id;
  }

  private internText(fam: number, s: string): number {
    let m = this.alt[fam];
    if (m === null) m = this.alt[fam] = new Map();
    const known = m.get(s);
    if (known !== undefined) return known;
    const id = this.alloc();
    this.meta[id] = TEXT | (fam << 8);
    this.addr[id] = this.strs.length;
    this.strs.push(s);
    this.strOwner.push(id);
    m.set(s, id);
    return id;
  }

  private deleteText(id: number, fam: number): void {
    const at = this.addr[id]!;
    this.alt[fam]!.delete(this.strs[at]!);
    const last = this.strs.length - 1;
    if (at !== last) {
      const owner = this.strOwner[last]!;
      this.strs[at] = this.strs[last]!;
      this.strOwner[at] = owner;
      this.addr[owner] = at;
    }
    this.strs.pop();
    this.strOwner.pop();
  }
}
