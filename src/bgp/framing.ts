// Stream framer: cuts a TCP byte stream into whole BGP messages (RFC 4271 §4.1),
// whatever the segmentation.
//
//   const f = new Framer();            // max 4096 octets
//   f.maxLength = 65535;               // after RFC 8654 Extended Message is negotiated
//   f.push(chunk, (msg) => ...);       // msg: one complete message, header included
//
// Messages that lie wholly inside a chunk are handed out as subarrays of it (no
// copy; valid until the callback returns unless the consumer keeps the chunk
// alive, so copy what you keep). A message split across chunks is assembled in
// a buffer of its own length allocated once its header is known, so the cost is
// linear in the bytes received (no repeated concatenation).
//
// Header errors (marker, length, type) throw the codec's BgpError; the framer
// is then unusable (the session must send the NOTIFICATION and close).

import { readHeader } from './codec.ts';
import { MAX_MESSAGE } from './types.ts';

const HEADER = 19;

export class Framer {
  /** Largest acceptable message, 4096 or 65535 (RFC 8654). */
  maxLength: number = MAX_MESSAGE;
  /** Partial message: the header (19 octets) until its length is known, then the whole message. */
  private partial: Uint8Array | null = null;
  private filled = 0;
  private headerBuf = new Uint8Array(HEADER);

  /** Octets held waiting for the rest of a message. */
  get pending(): number {
    return this.filled;
  }

  /**
   * Feed bytes; `onMessage` is called once per complete message, in order. If
   * `onMessage` returns false, framing stops there. Returns the octets of
   * `chunk` consumed: all of them, or up to the end of the message for which
   * `onMessage` returned false (the caller may drop the rest, or push it again
   * later to go on where it stopped).
   */
  push(chunk: Uint8Array, onMessage: (msg: Uint8Array) => unknown): number {
    let off = 0;
    const len = chunk.length;
    // Finish a partial message first.
    if (this.partial !== null) {
      let p = this.partial;
      if (p === this.headerBuf) {
        const n = Math.min(HEADER - this.filled, len);
        p.set(chunk.subarray(0, n), this.filled);
        this.filled += n;
        off = n;
        if (this.filled < HEADER) return len;
        const h = readHeader(p, 0, this.maxLength)!;
        if (h.length === HEADER) {
          this.partial = null;
          this.filled = 0;
          if (onMessage(p.slice()) === false) return off;
        } else {
          const m = new Uint8Array(h.length);
          m.set(p, 0);
          this.partial = p = m;
        }
      }
      if (this.partial !== null) {
        const need = p.length - this.filled;
        const n = Math.min(need, len - off);
        p.set(chunk.subarray(off, off + n), this.filled);
        this.filled += n;
        off += n;
        if (this.filled < p.length) return len;
        this.partial = null;
        this.filled = 0;
        if (onMessage(p) === false) return off;
      }
    }
    // Whole messages straight from the chunk.
    while (off < len) {
      const h = readHeader(chunk, off, this.maxLength);
      if (h === null) {
        this.headerBuf = new Uint8Array(HEADER);
        this.headerBuf.set(chunk.subarray(off), 0);
        this.partial = this.headerBuf;
        this.filled = len - off;
        return len;
      }
      if (off + h.length > len) {
        const m = new Uint8Array(h.length);
        m.set(chunk.subarray(off), 0);
        this.partial = m;
        this.filled = len - off;
        return len;
      }
      const msg = chunk.subarray(off, off + h.length);
      off += h.length;
      if (onMessage(msg) === false) return off;
    }
    return len;
  }
}
