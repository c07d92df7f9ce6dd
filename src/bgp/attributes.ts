// Path attributes (RFC 4271 §4.3, §5) — work in progress.
import type { PathAttributes } from './types.ts';

export class AttrInterner {
  readonly #map = new Map<string, PathAttributes>();
  get size(): number {
    return this.#map.size;
  }
  intern(a: PathAttributes): PathAttributes {
    return a;
  }
}
export function decodeAttributes(): never {
  throw new Error('not implemented yet');
}
export function encodeAttributes(): never {
  throw new Error('not implemented yet');
}
export function makeAttributes(): never {
  throw new Error('not implemented yet');
}
