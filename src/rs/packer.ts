// Output packing: the changes decided for a batch of prefixes are bucketed by
// (output group, family, attribute set + next hop, member set). Each bucket is
// encoded once (many NLRI per UPDATE, via the codec's encodeUpdates) and the
// same bytes are written to every session of the member set.

import type { CodecOptions, NextHop, Nlri, PathAttributes } from '../bgp/types.ts';
import type { Group, OutRef, Session } from './model.ts';

/** The codec functions the packer needs (src/bgp/codec.ts provides them; tests fake them). */
export interface WireEncoder {
  encodeUpdates(
    opts: CodecOptions,
    p: {
      afi: number;
      safi: number;
      attrs: PathAttributes | null;
      nextHop?: NextHop;
      nlri: Nlri[];
      withdrawn: Nlri[];
    },
  ): Uint8Array[];
  encodeEndOfRib(afi: number, safi: number, opts: CodecOptions): Uint8Array;
  /** ROUTE-REFRESH with RFC 7313 subtype (1 BoRR, 2 EoRR). */
  encodeRouteRefresh(afi: number, safi: number, subtype: number, opts: CodecOptions): Uint8Array;
}

interface Bucket {
  group: Group;
  afi: number;
  safi: number;
  out: OutRef | null;
  members: Session[] | (() => Session[]);
  nlri: Nlri[];
  /** Change of the members' held-prefix count per NLRI (+1 new, 0 replaced, -1 withdrawn). */
  delta: number;
}

/** Writes `msgs` to `s`; `nlri` is the number of NLRI they carry, `held` the change of prefixes held. */
export type WriteSink = (s: Session, msgs: Uint8Array[], nlri: number, held: number) => void;

export class OutBatch {
  private readonly buckets = new Map<string, Bucket>();
  /** addAllBut's last bucket per group id. */
  private readonly lastAllBut = new Map<
    number,
    { famSlot: number; out: OutRef | null; delta: number; ex: Session[]; bucket: Bucket }
  >();
  /** encodeUpdates calls made by flush (each builds the bytes for a whole member set). */
  encodes = 0;

  get empty(): boolean {
    return this.buckets.size === 0;
  }

  /**
   * Adds `nlri` to the bucket of (group, family, out, delta, member set
   * `membersKey`). Returns the bucket's NLRI list: until the flush, a caller
   * may push more NLRI of the same bucket there without a key.
   */
  add(
    group: Group,
    membersKey: string,
    members: Session[],
    fam: { slot: number; afi: number; safi: number },
    out: OutRef | null,
    nlri: Nlri,
    delta: number,
  ): Nlri[] {
    const key = bucketKey(group, fam.slot, out, delta, membersKey);
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { group, afi: fam.afi, safi: fam.safi, out, members, nlri: [], delta };
      this.buckets.set(key, b);
    }
    b.nlri.push(nlri);
    return b.nlri;
  }

  /**
   * Like add, for "every member of `group` with `famKey` up except
   * exclude[0..n)". The members are found at flush; `exclude` may be the
   * caller's scratch (copied when a bucket is new). Consecutive prefixes
   * mostly land in the same bucket (one UPDATE's prefixes from one client),
   * so the group's last bucket is compared field by field first and the
   * string key is built only on a miss: no allocation per prefix.
   */
  addAllBut(
    group: Group,
    exclude: readonly Session[],
    n: number,
    famKey: string,
    fam: { slot: number; afi: number; safi: number },
    out: OutRef | null,
    nlri: Nlri,
    delta: number,
  ): void {
    const last = this.lastAllBut.get(group.id);
    if (
      last !== undefined &&
      last.famSlot === fam.slot &&
      last.out === out &&
      last.delta === delta &&
      sameSessions(last.ex, exclude, n)
    ) {
      last.bucket.nlri.push(nlri);
      return;
    }
    let ek = 'R';
    for (let i = 0; i < n; i++) ek += `${exclude[i]!.slot},`;
    const key = bucketKey(group, fam.slot, out, delta, ek);
    const ex = exclude.slice(0, n);
    let b = this.buckets.get(key);
    if (b === undefined) {
      const members = (): Session[] => {
        const ms: Session[] = [];
        for (const s of group.members) if (s.up!.fam.has(famKey) && !ex.includes(s)) ms.push(s);
        return ms;
      };
      b = { group, afi: fam.afi, safi: fam.safi, out, members, nlri: [], delta };
      this.buckets.set(key, b);
    }
    this.lastAllBut.set(group.id, { famSlot: fam.slot, out, delta, ex, bucket: b });
    b.nlri.push(nlri);
  }

  /** Encodes each bucket once and writes it to its members; withdraws first. Empties the batch. */
  flush(
    encoder: WireEncoder,
    write: WriteSink,
    onTooBig?: (group: Group, out: OutRef, nlri: number) => void,
  ): void {
    if (this.buckets.size === 0) return;
    const all = [...this.buckets.values()];
    this.buckets.clear();
    this.lastAllBut.clear();
    for (const pass of [0, 1]) {
      for (const b of all) {
        if ((b.out === null) !== (pass === 0)) continue;
        const members = typeof b.members === 'function' ? b.members() : b.members;
        const live = members.filter((s) => s.up !== null && s.up.group === b.group);
        if (live.length === 0) continue;
        this.encodes++;
        let msgs: Uint8Array[];
        try {
          msgs = encoder.encodeUpdates(b.group.codec, {
            afi: b.afi,
            safi: b.safi,
            attrs: b.out === null ? null : b.out.attrs,
            ...(b.out === null ? {} : { nextHop: b.out.nextHop }),
            nlri: b.out === null ? [] : b.nlri,
            withdrawn: b.out === null ? b.nlri : [],
          });
        } catch (err) {
          if (!(err instanceof RangeError) || b.out === null) throw err;
          // RFC 8654 §4: attributes too big for this group's message size (no
          // Extended Message): the routes are withdrawn toward it instead.
          onTooBig?.(b.group, b.out, b.nlri.length);
          msgs = encoder.encodeUpdates(b.group.codec, {
            afi: b.afi,
            safi: b.safi,
            attrs: null,
            nlri: [],
            withdrawn: b.nlri,
          });
        }
        for (const s of live) write(s, msgs, b.nlri.length, b.delta * b.nlri.length);
      }
    }
  }
}

/** A bucket: output group, family slot, what is sent, held-count delta, member set. */
function bucketKey(
  group: Group,
  famSlot: number,
  out: OutRef | null,
  delta: number,
  membersKey: string,
): string {
  return `${group.id}|${famSlot}|${out === null ? 0 : out.id}|${delta}|${membersKey}`;
}

function sameSessions(a: readonly Session[], b: readonly Session[], n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
