// UPDATE (RFC 4271 §4.3) — work in progress.
import type { AttrInterner } from './attributes.ts';
import { BgpError, type CodecOptions, type ErrorAction, type UpdateMessage } from './types.ts';

export interface UpdateParams {
  afi: number;
}
export function decodeUpdate(_m: Uint8Array, _o: CodecOptions, _i?: AttrInterner): UpdateMessage {
  throw new BgpError(3, 0, 'UPDATE decoding not implemented yet');
}
export function encodeUpdateBody(_m: UpdateMessage, _o: CodecOptions): Uint8Array {
  throw new Error('not implemented yet');
}
export function encodeUpdates(): Uint8Array[] {
  throw new Error('not implemented yet');
}
export function encodeEndOfRib(): Uint8Array {
  throw new Error('not implemented yet');
}
export function endOfRibFamily(): null {
  return null;
}
export function worstAction(): ErrorAction | null {
  return null;
}
