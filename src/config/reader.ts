// A thin typed reader over the yaml library's document AST that knows, for
// every value, its file, key path and line, so every error can name all three.

import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from 'yaml';
import { ConfigError, type ConfigWarning } from './types.ts';

export class Ctx {
  readonly file: string;
  readonly lc: LineCounter;
  /** Set once the document is parsed; resolves aliases (*anchor). */
  doc: Document | null = null;
  readonly warnings: ConfigWarning[];
  private readonly warned: Map<string, ItemWarning>;

  constructor(
    file: string,
    lc: LineCounter,
    warnings: ConfigWarning[],
    warned: Map<string, ItemWarning>,
  ) {
    this.file = file;
    this.lc = lc;
    this.warnings = warnings;
    this.warned = warned;
  }

  lineOf(node: unknown): number | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (range === undefined) return undefined;
    return this.lc.linePos(range[0]).line;
  }

  /**
   * Record a warning once per (file, key path with list indexes folded,
   * message). A key under a list item (`clients[3].cfg.gtsm`) is one warning
   * for every item it concerns: later items are added to its `items`, which
   * parseConfig turns into client names.
   */
  warn(key: string, node: unknown, message: string, unsafe = false): void {
    const dedupe = `${this.file}\0${key.replace(/\[\d+\]/g, '[]')}\0${message}`;
    const item = /^[A-Za-z_]+\[\d+\]/.exec(key)?.[0];
    const had = this.warned.get(dedupe);
    if (had !== undefined) {
      if (item !== undefined && had.items !== undefined && !had.items.includes(item))
        had.items.push(item);
      return;
    }
    const w: ItemWarning = { file: this.file, key, line: this.lineOf(node), message };
    if (unsafe) w.unsafe = true;
    if (item !== undefined) w.items = [item];
    this.warned.set(dedupe, w);
    this.warnings.push(w);
  }
}

/** A warning while parsing: `items` are the list items (`clients[3]`) it concerns. */
export interface ItemWarning extends ConfigWarning {
  items?: string[];
}

/** Parse a YAML text; syntax errors become ConfigError with the line. */
export function parseYaml(
  file: string,
  text: string,
  warnings: ConfigWarning[],
  warned: Map<string, ItemWarning>,
): Val {
  const lc = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lc,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
  });
  const ctx = new Ctx(file, lc, warnings, warned);
  ctx.doc = doc;
  const err = doc.errors[0];
  if (err !== undefined) {
    const line = err.linePos?.[0]?.line ?? lc.linePos(err.pos[0]).line;
    throw new ConfigError(file, '', line, `YAML syntax: ${err.message.split('\n')[0]}`);
  }
  return new Val(ctx, '', doc.contents);
}

function typeName(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `the string '${v}'`;
    return `${typeof v} ${String(v)}`;
  }
  return 'an unsupported YAML node';
}

export class Val {
  readonly ctx: Ctx;
  readonly path: string;
  readonly node: unknown;

  constructor(ctx: Ctx, path: string, node: unknown) {
    this.ctx = ctx;
    this.path = path;
    this.node = resolveAlias(ctx, node);
  }

  get line(): number | undefined {
    return this.ctx.lineOf(this.node);
  }

  fail(problem: string): never {
    throw new ConfigError(this.ctx.file, this.path, this.line, problem);
  }

  warn(message: string, unsafe = false): void {
    this.ctx.warn(this.path, this.node, message, unsafe);
  }

  isNull(): boolean {
    return (
      this.node === null ||
      this.node === undefined ||
      (isScalar(this.node) && this.node.value === null)
    );
  }

  private scalar(): unknown {
    if (!isScalar(this.node)) return undefined;
    return this.node.value;
  }

  str(): string {
    const v = this.scalar();
    if (typeof v !== 'string') this.fail(`expected a string, got ${typeName(this.node)}`);
    return v;
  }

  /** A string, or a number written as text (e.g. a community "0:65500" is always a string). */
  text(): string {
    const v = this.scalar();
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    this.fail(`expected a string, got ${typeName(this.node)}`);
  }

  bool(): boolean {
    const v = this.scalar();
    if (typeof v !== 'boolean') this.fail(`expected true or false, got ${typeName(this.node)}`);
    return v;
  }

  int(min: number, max: number): number {
    const v = this.scalar();
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.fail(`expected an integer, got ${typeName(this.node)}`);
    }
    if (v < min || v > max) this.fail(`${v} is out of range (${min}..${max})`);
    return v;
  }

  /** A non-negative number (seconds may be fractional). */
  num(min: number, max: number): number {
    const v = this.scalar();
    if (typeof v !== 'number' || !Number.isFinite(v))
      this.fail(`expected a number, got ${typeName(this.node)}`);
    if (v < min || v > max) this.fail(`${v} is out of range (${min}..${max})`);
    return v;
  }

  oneOf<T extends string>(options: readonly T[]): T {
    const v = this.scalar();
    if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
      this.fail(
        `expected one of ${options.map((o) => `'${o}'`).join(', ')}, got ${typeName(this.node)}`,
      );
    }
    return v as T;
  }

  list(): Val[] {
    if (!isSeq(this.node)) this.fail(`expected a list, got ${typeName(this.node)}`);
    return this.node.items.map((item, i) => new Val(this.ctx, `${this.path}[${i}]`, item));
  }

  /** A scalar or a list of scalars (arouteserver's `ip`). */
  listOrOne(): Val[] {
    if (isSeq(this.node)) return this.list();
    return [this];
  }

  map(): MapReader {
    if (!isMap(this.node)) this.fail(`expected a mapping, got ${typeName(this.node)}`);
    return new MapReader(this);
  }
}

interface Entry {
  keyNode: unknown;
  value: unknown;
  used: boolean;
}

export class MapReader {
  readonly val: Val;
  private readonly entries = new Map<string, Entry>();
  /** Every key name asked for, present or not: the vocabulary for "did you mean". */
  private readonly asked = new Set<string>();

  constructor(val: Val) {
    this.val = val;
    if (!isMap(val.node)) val.fail('expected a mapping');
    this.addPairs(val.node.items, true);
  }

  /** Own keys win over `<<: *anchor` merged ones (YAML merge keys). */
  private addPairs(items: readonly { key: unknown; value: unknown }[], own: boolean): void {
    const ctx = this.val.ctx;
    const merged: unknown[] = [];
    for (const pair of items) {
      const k = pair.key;
      const key = isScalar(k) ? k.value : k;
      if (key === '<<' || (isScalar(k) && k.source === '<<')) {
        merged.push(pair.value);
        continue;
      }
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw new ConfigError(ctx.file, this.val.path, ctx.lineOf(k), 'keys must be plain strings');
      }
      if (!own && this.entries.has(String(key))) continue;
      this.entries.set(String(key), { keyNode: k, value: pair.value as Node | null, used: false });
    }
    for (const m of merged) {
      for (const t of isSeq(m) ? m.items : [m]) {
        const r = resolveAlias(ctx, t);
        if (!isMap(r)) {
          throw new ConfigError(
            ctx.file,
            `${this.val.path}.<<`,
            ctx.lineOf(t),
            'a merge key (<<) needs a mapping',
          );
        }
        this.addPairs(r.items, false);
      }
    }
  }

  private child(key: string): string {
    return this.val.path === '' ? key : `${this.val.path}.${key}`;
  }

  /** The value under `key`, or undefined when absent or null. */
  get(key: string): Val | undefined {
    this.asked.add(key);
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    e.used = true;
    const v = new Val(this.val.ctx, this.child(key), e.value);
    return v.isNull() ? undefined : v;
  }

  required(key: string): Val {
    const v = this.get(key);
    if (v === undefined) this.val.fail(`missing required key '${key}'`);
    return v;
  }

  /**
   * Keys arouteserver knows that ixrs does not implement: a warning when set to
   * something that would change behaviour (not null, false, empty, or a mapping
   * with `enabled: false`).
   */
  unimplemented(
    keys: readonly string[],
    why = 'not implemented by ixrs, ignored',
    unsafe = false,
  ): void {
    for (const key of keys) {
      this.asked.add(key);
      const e = this.entries.get(key);
      if (e === undefined) continue;
      e.used = true;
      if (isInert(e.value)) continue;
      this.val.ctx.warn(this.child(key), e.keyNode, why, unsafe);
    }
  }

  /** The line of `key`'s name, when present. */
  lineOf(key: string): number | undefined {
    const e = this.entries.get(key);
    return e === undefined ? undefined : this.val.ctx.lineOf(e.keyNode);
  }

  /** Throw for the first key nobody read: neither arouteserver's nor ixrs' (or `what` the file's keys are). */
  end(what = 'neither an arouteserver nor an ixrs key'): void {
    for (const [key, e] of this.entries) {
      if (e.used) continue;
      const hint = suggest(key, this.asked);
      throw new ConfigError(
        this.val.ctx.file,
        this.child(key),
        this.val.ctx.lineOf(e.keyNode),
        `unknown key '${key}' (${what})${hint}`,
      );
    }
  }

  /** Keys present in the mapping. */
  keys(): string[] {
    return [...this.entries.keys()];
  }
}

function resolveAlias(ctx: Ctx, node: unknown): unknown {
  if (isAlias(node) && ctx.doc !== null) return node.resolve(ctx.doc) ?? null;
  return node;
}

function isInert(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  if (isScalar(node)) return node.value === null || node.value === false || node.value === '';
  if (isSeq(node)) return node.items.length === 0;
  if (isMap(node)) {
    if (node.items.length === 0) return true;
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? pair.key.value : undefined;
      if (k === 'enabled') return isScalar(pair.value) && pair.value.value === false;
    }
    return node.items.every((pair) => isInert(pair.value));
  }
  return false;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...new Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(
        dp[i - 1]![j]! + 1,
        dp[i]![j - 1]! + 1,
        dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return dp[a.length]![b.length]!;
}

function suggest(key: string, words: Iterable<string>): string {
  let best = '';
  let bestD = 4;
  for (const w of words) {
    // A shortened key ("descr" for "description") counts as close.
    const d = key.length >= 4 && w.startsWith(key) ? 1 : distance(key, w);
    if (d < bestD) {
      best = w;
      bestD = d;
    }
  }
  return best === '' ? '' : `; did you mean '${best}'?`;
}
