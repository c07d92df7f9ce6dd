import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Framer } from '../../src/bgp/framing.ts';
import { BgpError } from '../../src/bgp/types.ts';

function message(type: number, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(19 + body.length);
  m.fill(0xff, 0, 16);
  m[16] = m.length >> 8;
  m[17] = m.length & 0xff;
  m[18] = type;
  m.set(body, 19);
  return m;
}

/** Random messages that pass RFC 4271 §6.1 header checks (sizes per type). */
const arbMessage = (max: number) =>
  fc.oneof(
    fc.constant(message(4, new Uint8Array(0))),
    fc.uint8Array({ minLength: 10, maxLength: 200 }).map((b) => message(1, b)),
    fc.uint8Array({ minLength: 4, maxLength: max - 19 }).map((b) => message(2, b)),
    fc.uint8Array({ minLength: 2, maxLength: 300 }).map((b) => message(3, b)),
    fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => message(5, b)),
  );

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function frameAll(f: Framer, chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) f.push(c, (m) => void out.push(m.slice()));
  return out;
}

function split(stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    chunks.push(stream.subarray(prev, p)); // empty chunks included on purpose
    prev = p;
  }
  return chunks;
}

describe('Framer (RFC 4271 §4.1)', () => {
  it('RFC 4271 §4.1: any segmentation of a message stream yields the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(arbMessage(4096), { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        (msgs, cuts) => {
          const stream = concat(msgs);
          const got = frameAll(new Framer(), split(stream, cuts));
          expect(got).toEqual(msgs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stopping at any message and pushing the rest of the chunk again later yields the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(arbMessage(4096), { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
        (msgs, cuts, stops) => {
          const f = new Framer();
          const got: Uint8Array[] = [];
          let k = 0;
          const onMessage = (m: Uint8Array): boolean => {
            got.push(m.slice());
            return !stops[k++ % stops.length];
          };
          for (const chunk of split(concat(msgs), cuts)) {
            let rest = chunk;
            for (;;) {
              const used = f.push(rest, onMessage);
              expect(used).toBeGreaterThanOrEqual(0);
              expect(used).toBeLessThanOrEqual(rest.length);
              if (used === rest.length) break;
              rest = rest.subarray(used);
            }
          }
          expect(got).toEqual(msgs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('RFC 8654 §4: up to 65535 octets once Extended Message is negotiated, byte by byte in linear time', () => {
    const big = message(2, new Uint8Array(65535 - 19).fill(7));
    const f = new Framer();
    f.maxLength = 65535;
    const out: Uint8Array[] = [];
    const t0 = performance.now();
    for (let i = 0; i < big.length; i++) f.push(big.subarray(i, i + 1), (m) => void out.push(m));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual(big);
    expect(f.pending).toBe(0);
  });

  it('RFC 8654 §4 / RFC 4271 §6.1: a message longer than 4096 without Extended Message is 1/2', () => {
    const big = message(2, new Uint8Array(5000));
    try {
      new Framer().push(big.subarray(0, 19), () => undefined);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BgpError);
      expect([(e as BgpError).code, (e as BgpError).subcode]).toEqual([1, 2]);
    }
  });

  it('RFC 4271 §6.1: a bad marker split across chunks is 1/1', () => {
    const m = message(4, new Uint8Array(0));
    m[3] = 0;
    const f = new Framer();
    f.push(m.subarray(0, 5), () => undefined);
    expect(() => f.push(m.subarray(5), () => undefined)).toThrow(BgpError);
  });

  it('whole messages inside a chunk are handed out without copying', () => {
    const a = message(4, new Uint8Array(0));
    const stream = concat([a, a]);
    const seen: Uint8Array[] = [];
    new Framer().push(stream, (m) => void seen.push(m));
    expect(seen.map((m) => m.buffer === stream.buffer)).toEqual([true, true]);
  });

  it('returning false from the callback stops framing', () => {
    const a = message(4, new Uint8Array(0));
    let n = 0;
    new Framer().push(concat([a, a, a]), () => {
      n++;
      return false;
    });
    expect(n).toBe(1);
  });
});
