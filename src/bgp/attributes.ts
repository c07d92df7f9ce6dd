// Path attributes (RFC 4271 §4.3, §5) with RFC 7606 error handling, 4-octet AS
// handling (RFC 6793) and interning by wire bytes.
//
// decodeAttributes walks the attribute section once. MP_REACH_NLRI and
// MP_UNREACH_NLRI are only located here (update.ts decodes them). Every
// malformation gets the action RFC 7606 prescribes; session-reset cases are
// thrown as BgpError.

import { formatIPv4, parseAddress } from './prefix.ts';
import {
  AS_TRANS,
  type AsPathSegment,
  BgpError,
  type ErrorAction,
  type PathAttributes,
  type RawAttribute,
  type UpdateError,
} from './types.ts';

export const ATTR = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  ORIGINATOR_ID: 9,
  CLUSTER_LIST: 10,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  EXTENDED_COMMUNITIES: 16,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  BGP_LS: 29,
  LARGE_COMMUNITY: 32,
} as const;

export const FLAG = { OPTIONAL: 0x80, TRANSITIVE: 0x40, PARTIAL: 0x20, EXTENDED: 0x10 } as const;

/** Expected Optional/Transitive bits of the attributes this speaker recognises; -1 unknown. */
const EXPECT = new Int16Array(256).fill(-1);
for (const t of [1, 2, 3, 5, 6]) EXPECT[t] = 0x40; // well-known
for (const t of [7, 8, 16, 17, 18, 32]) EXPECT[t] = 0xc0; // optional transitive
for (const t of [4, 9, 10, 14, 15, 29]) EXPECT[t] = 0x80; // optional non-transitive

/**
 * The flags octet to send for an attribute received with `flags` (RFC 4271
 * §4.3): Optional and Transitive as its type requires when recognised (as
 * received otherwise), Partial only on an optional transitive attribute and
 * kept there, Extended Length only when the value needs two length octets,
 * the four unused low-order bits zero.
 */
export function sendFlags(flags: number, type: number, len: number): number {
  const e = EXPECT[type]!;
  const ot = e >= 0 ? e : flags & 0xc0;
  return ot | (ot === 0xc0 ? flags & FLAG.PARTIAL : 0) | (len > 255 ? FLAG.EXTENDED : 0);
}

/**
 * `wire` (a well-formed attribute section of our own) with every flags octet
 * as sendFlags wants it: patched in place, or a shorter copy when an
 * Extended Length header must become a one-octet one.
 */
function normaliseFlags(w: Uint8Array): Uint8Array {
  let shrink = 0;
  for (let p = 0; p < w.length; ) {
    const flags = w[p]!;
    const ext = (flags & FLAG.EXTENDED) !== 0;
    const len = ext ? u16(w, p + 2) : w[p + 2]!;
    const want = sendFlags(flags, w[p + 1]!, len);
    if (ext && (want & FLAG.EXTENDED) === 0) shrink++;
    else w[p] = want;
    p += (ext ? 4 : 3) + len;
  }
  if (shrink === 0) return w;
  const out = new Uint8Array(w.length - shrink);
  let o = 0;
  for (let p = 0; p < w.length; ) {
    const flags = w[p]!;
    const type = w[p + 1]!;
    const ext = (flags & FLAG.EXTENDED) !== 0;
    const len = ext ? u16(w, p + 2) : w[p + 2]!;
    const vs = p + (ext ? 4 : 3);
    const want = sendFlags(flags, type, len);
    out[o] = want;
    out[o + 1] = type;
    if (want & FLAG.EXTENDED) {
      out[o + 2] = len >> 8;
      out[o + 3] = len & 0xff;
      o += 4;
    } else {
      out[o + 2] = len;
      o += 3;
    }
    out.set(w.subarray(vs, vs + len), o);
    o += len;
    p = vs + len;
  }
  return out;
}

const ATTR_NAMES: Record<number, string> = {
  1: 'ORIGIN',
  2: 'AS_PATH',
  3: 'NEXT_HOP',
  4: 'MULTI_EXIT_DISC',
  5: 'LOCAL_PREF',
  6: 'ATOMIC_AGGREGATE',
  7: 'AGGREGATOR',
  8: 'COMMUNITIES',
  9: 'ORIGINATOR_ID',
  10: 'CLUSTER_LIST',
  14: 'MP_REACH_NLRI',
  15: 'MP_UNREACH_NLRI',
  16: 'EXTENDED_COMMUNITIES',
  17: 'AS4_PATH',
  18: 'AS4_AGGREGATOR',
  29: 'BGP-LS',
  32: 'LARGE_COMMUNITY',
};

export function attributeName(type: number): string {
  return ATTR_NAMES[type] ?? `attribute ${type}`;
}

const EMPTY = new Uint8Array(0);

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}
function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** Result of walking an attribute section. Offsets index the input buffer. */
export interface DecodedAttributes {
  /** Null when the section holds no attribute other than MP_REACH/MP_UNREACH. */
  attrs: PathAttributes | null;
  errors: UpdateError[];
  /** Offsets of the MP_REACH_NLRI attribute (header start, value start, value end), or -1. */
  mpReach: [number, number, number] | null;
  mpUnreach: [number, number, number] | null;
  /** Bit t set when attribute type t (< 32) was present (even if malformed). */
  present: number;
  /** The walk stopped early (RFC 7606 §4 length conflict). */
  abandoned: boolean;
}

const seen = new Uint32Array(256);
let generation = 0;

function newAttrs(): PathAttributes {
  // Every key set up front: one object shape for all decoded attribute sets.
  return {
    wire: EMPTY,
    origin: undefined,
    asPath: [],
    nextHop: undefined,
    med: undefined,
    localPref: undefined,
    atomicAggregate: undefined,
    aggregator: undefined,
    communities: undefined,
    extCommunities: undefined,
    largeCommunities: undefined,
    originatorId: undefined,
    clusterList: undefined,
    bgpLs: undefined,
    other: [],
    partial: undefined,
  };
}

/** Set by parseAsPath when the path holds AS 0 (RFC 7607). */
let sawAs0 = false;

/** Parse AS_PATH / AS4_PATH segments; returns null when malformed (RFC 7606 §7.2). */
function parseAsPath(b: Uint8Array, s: number, e: number, size: 2 | 4): AsPathSegment[] | null {
  sawAs0 = false;
  const out: AsPathSegment[] = [];
  let p = s;
  while (p < e) {
    if (p + 2 > e) return null;
    const type = b[p]!;
    const n = b[p + 1]!;
    if (type < 1 || type > 4 || n === 0) return null;
    p += 2;
    if (p + n * size > e) return null;
    const asns = new Array<number>(n);
    if (size === 4) {
      for (let i = 0; i < n; i++, p += 4) if ((asns[i] = u32(b, p)) === 0) sawAs0 = true;
    } else {
      for (let i = 0; i < n; i++, p += 2) if ((asns[i] = u16(b, p)) === 0) sawAs0 = true;
    }
    out.push({ type: type as 1 | 2 | 3 | 4, asns });
  }
  // push gave `out` room for 17 segments: an interned attribute set keeps its
  // path as long as a route uses it, so keep an exactly sized copy (40 bytes
  // instead of 152 for the usual one segment)
  return out.length === 1 ? [out[0]!] : out.slice();
}

/** Number of ASes in a path for RFC 6793 §4.2.3 (AS_SET counts 1, confed segments 0). */
function pathCount(path: AsPathSegment[]): number {
  let n = 0;
  for (const s of path) n += s.type === 2 ? s.asns.length : s.type === 1 ? 1 : 0;
  return n;
}

/** RFC 6793 §4.2.3: rebuild the 4-octet path from AS_PATH and AS4_PATH. */
export function mergeAs4Path(asPath: AsPathSegment[], as4Path: AsPathSegment[]): AsPathSegment[] {
  const n1 = pathCount(asPath);
  const n2 = pathCount(as4Path);
  if (n1 < n2) return asPath;
  let need = n1 - n2;
  const out: AsPathSegment[] = [];
  for (const seg of asPath) {
    if (need === 0) break;
    if (seg.type === 3 || seg.type === 4) out.push(seg);
    else if (seg.type === 1) {
      out.push(seg);
      need--;
    } else {
      const k = Math.min(need, seg.asns.length);
      out.push({ type: 2, asns: seg.asns.slice(0, k) });
      need -= k;
    }
  }
  for (let i = 0; i < as4Path.length; i++) {
    const seg = as4Path[i]!;
    const last = out[out.length - 1];
    // join the kept leading sequence with the first AS4_PATH sequence
    if (
      i === 0 &&
      last &&
      last.type === 2 &&
      seg.type === 2 &&
      last.asns.length + seg.asns.length <= 255
    ) {
      out[out.length - 1] = { type: 2, asns: [...last.asns, ...seg.asns] };
    } else out.push({ type: seg.type, asns: seg.asns.slice() });
  }
  return out;
}

/**
 * Walk the attribute section buf[start..end). `as4`: the session uses 4-octet
 * AS numbers (RFC 6793). `external`: the peer is in another AS (RFC 7606 §7.5,
 * §7.9, §7.10). Throws BgpError for the session-reset cases.
 *
 * The `wire` of the result is what to send on: received bytes are kept as
 * they are except for each attribute's flags octet, which is made what RFC
 * 4271 §4.3 allows a speaker to send (sendFlags). It is done here, once per
 * received attribute section, so every path and client sharing the interned
 * set shares the corrected bytes.
 */
export function decodeAttributes(
  buf: Uint8Array,
  as4: boolean,
  start = 0,
  end: number = buf.length,
  external = false,
): DecodedAttributes {
  if (++generation === 0xffffffff) {
    seen.fill(0);
    generation = 1;
  }
  const gen = generation;
  const r: DecodedAttributes = {
    attrs: null,
    errors: [],
    mpReach: null,
    mpUnreach: null,
    present: 0,
    abandoned: false,
  };
  const a = newAttrs();
  let any = false;
  let modified = false; // wire differs from the received section minus MP attributes
  let badFlags = false; // some kept attribute's flags octet is not as it must be sent
  let as4Path: AsPathSegment[] | null = null;
  let as4Agg: { asn: number; address: string } | null = null;
  const errors = r.errors;
  const err = (
    action: ErrorAction,
    subcode: number,
    s: number,
    e: number,
    reason: string,
    type: number,
  ): void => {
    const ue: UpdateError = { action, subcode, data: copyBytes(buf, s, e), reason };
    if (action !== 'treat-as-withdraw') ue.discarded = [type];
    errors.push(ue);
  };
  let p = start;
  while (p < end) {
    if (end - p < 3) {
      errors.push({
        action: 'treat-as-withdraw',
        subcode: 1,
        data: EMPTY,
        reason: `fewer than 3 octets left for an attribute header (RFC 7606 §4)`,
      });
      r.abandoned = true;
      modified = true;
      break;
    }
    const flags = buf[p]!;
    const type = buf[p + 1]!;
    let len: number;
    let vs: number;
    if (flags & FLAG.EXTENDED) {
      if (end - p < 4) {
        errors.push({
          action: 'treat-as-withdraw',
          subcode: 1,
          data: EMPTY,
          reason: `fewer than 4 octets left for an extended-length attribute header (RFC 7606 §4)`,
        });
        r.abandoned = true;
        modified = true;
        break;
      }
      len = u16(buf, p + 2);
      vs = p + 4;
    } else {
      len = buf[p + 2]!;
      vs = p + 3;
    }
    const as = p;
    const ve = vs + len;
    if (ve > end) {
      errors.push({
        action: 'treat-as-withdraw',
        subcode: 5,
        data: copyBytes(buf, as, end),
        reason: `${attributeName(type)} length ${len} overruns the attribute section (RFC 7606 §4)`,
      });
      r.abandoned = true;
      modified = true;
      break;
    }
    p = ve;
    if (type < 32) r.present |= 1 << type;
    if (type === ATTR.MP_REACH_NLRI || type === ATTR.MP_UNREACH_NLRI) {
      const name = attributeName(type);
      if (seen[type] === gen) {
        throw new BgpError(3, 1, `${name} appears more than once (RFC 7606 §3.g)`);
      }
      seen[type] = gen;
      if ((flags & 0xc0) !== 0x80) {
        throw new BgpError(
          3,
          4,
          `${name} flags 0x${flags.toString(16)} inconsistent with RFC 4760 (RFC 7606 §5.3, §3.j)`,
          copyBytes(buf, as, ve),
        );
      }
      const loc: [number, number, number] = [as, vs, ve];
      if (type === ATTR.MP_REACH_NLRI) r.mpReach = loc;
      else r.mpUnreach = loc;
      continue;
    }
    any = true;
    if (seen[type] === gen) {
      err(
        'attribute-discard',
        1,
        as,
        ve,
        `${attributeName(type)} appears more than once; later copies discarded (RFC 7606 §3.g)`,
        type,
      );
      modified = true;
      continue;
    }
    seen[type] = gen;
    if (external && (type === 5 || type === 9 || type === 10)) {
      // RFC 7606 §7.5, §7.9, §7.10: from an external peer, discarded whatever its form.
      err(
        'attribute-discard',
        0,
        as,
        ve,
        `${attributeName(type)} from an external peer (RFC 7606 §${type === 5 ? '7.5' : type === 9 ? '7.9' : '7.10'})`,
        type,
      );
      modified = true;
      continue;
    }
    const expect = EXPECT[type]!;
    if (expect < 0) {
      // Not recognised.
      if ((flags & FLAG.OPTIONAL) === 0) {
        throw new BgpError(
          3,
          2,
          `unrecognized well-known attribute ${type} (RFC 4271 §6.3)`,
          copyBytes(buf, as, ve),
        );
      }
      if ((flags & FLAG.TRANSITIVE) === 0) {
        modified = true; // optional non-transitive: quietly ignored (RFC 4271 §5)
        continue;
      }
      // Optional transitive: passed on with the Partial bit set (RFC 4271 §5).
      if ((flags & FLAG.PARTIAL) === 0) modified = true;
      else if (sendFlags(flags, type, len) !== flags) badFlags = true;
      a.other.push({ flags: (flags | FLAG.PARTIAL) & 0xe0, type, value: copyBytes(buf, vs, ve) });
      continue;
    }
    if ((flags & 0xc0) !== expect) {
      err(
        'treat-as-withdraw',
        4,
        as,
        ve,
        `${attributeName(type)} flags 0x${flags.toString(16)} conflict with its type (RFC 7606 §3.c)`,
        type,
      );
      modified = true;
      continue;
    }
    // RFC 4271 §4.3: unused bits, Partial on a well-known or non-transitive
    // attribute, Extended Length on a short one are ignored on receipt and
    // corrected in what is sent on.
    if (sendFlags(flags, type, len) !== flags) badFlags = true;
    if (flags & FLAG.PARTIAL && expect === 0xc0 && type !== 17 && type !== 18) {
      // RFC 4271 §5: a Partial bit set by some AS is never cleared.
      (a.partial ??= []).push(type);
    }
    switch (type) {
      case ATTR.ORIGIN:
        if (len !== 1) {
          err('treat-as-withdraw', 5, as, ve, `ORIGIN length ${len} (RFC 7606 §7.1)`, type);
          modified = true;
        } else if (buf[vs]! > 2) {
          err('treat-as-withdraw', 6, as, ve, `ORIGIN value ${buf[vs]} (RFC 7606 §7.1)`, type);
          modified = true;
        } else a.origin = buf[vs] as 0 | 1 | 2;
        break;
      case ATTR.AS_PATH: {
        const path = parseAsPath(buf, vs, ve, as4 ? 4 : 2);
        if (path === null) {
          err('treat-as-withdraw', 11, as, ve, 'malformed AS_PATH (RFC 7606 §7.2)', type);
          modified = true;
        } else if (sawAs0) {
          err(
            'treat-as-withdraw',
            11,
            as,
            ve,
            'AS 0 in AS_PATH (RFC 7607 §2, RFC 7606 §7.2)',
            type,
          );
          modified = true;
        } else a.asPath = path;
        break;
      }
      case ATTR.NEXT_HOP:
        if (len !== 4) {
          err('treat-as-withdraw', 5, as, ve, `NEXT_HOP length ${len} (RFC 7606 §7.3)`, type);
          modified = true;
        } else if (u32(buf, vs) === 0 || buf[vs]! >= 224) {
          // RFC 4271 §6.3: not a valid host address (0.0.0.0, multicast, class E).
          err(
            'treat-as-withdraw',
            8,
            as,
            ve,
            `NEXT_HOP ${formatIPv4(buf, vs)} is not a valid host address (RFC 7606 §7.3, RFC 4271 §6.3)`,
            type,
          );
          modified = true;
        } else a.nextHop = formatIPv4(buf, vs);
        break;
      case ATTR.MULTI_EXIT_DISC:
        if (len !== 4) {
          err(
            'treat-as-withdraw',
            5,
            as,
            ve,
            `MULTI_EXIT_DISC length ${len} (RFC 7606 §7.4)`,
            type,
          );
          modified = true;
        } else a.med = u32(buf, vs);
        break;
      case ATTR.LOCAL_PREF:
        if (len !== 4) {
          err('treat-as-withdraw', 5, as, ve, `LOCAL_PREF length ${len} (RFC 7606 §7.5)`, type);
          modified = true;
        } else a.localPref = u32(buf, vs);
        break;
      case ATTR.ATOMIC_AGGREGATE:
        if (len !== 0) {
          err(
            'attribute-discard',
            5,
            as,
            ve,
            `ATOMIC_AGGREGATE length ${len} (RFC 7606 §7.6)`,
            type,
          );
          modified = true;
        } else a.atomicAggregate = true;
        break;
      case ATTR.AGGREGATOR: {
        const want = as4 ? 8 : 6;
        if (len !== want) {
          err(
            'attribute-discard',
            5,
            as,
            ve,
            `AGGREGATOR length ${len}, expected ${want} (RFC 7606 §7.7)`,
            type,
          );
          modified = true;
        } else {
          const asn = as4 ? u32(buf, vs) : u16(buf, vs);
          if (asn === 0) {
            err(
              'attribute-discard',
              9,
              as,
              ve,
              'AS 0 in AGGREGATOR (RFC 7607 §2, RFC 7606 §7.7)',
              type,
            );
            modified = true;
          } else a.aggregator = { asn, address: formatIPv4(buf, vs + (as4 ? 4 : 2)) };
        }
        break;
      }
      case ATTR.COMMUNITIES:
        if (len === 0 || len % 4 !== 0) {
          err('treat-as-withdraw', 5, as, ve, `COMMUNITIES length ${len} (RFC 7606 §7.8)`, type);
          modified = true;
        } else {
          const c = new Array<number>(len >> 2);
          for (let i = 0, q = vs; q < ve; i++, q += 4) c[i] = u32(buf, q);
          a.communities = c;
        }
        break;
      case ATTR.ORIGINATOR_ID:
        if (len !== 4) {
          err('treat-as-withdraw', 5, as, ve, `ORIGINATOR_ID length ${len} (RFC 7606 §7.9)`, type);
          modified = true;
        } else a.originatorId = u32(buf, vs);
        break;
      case ATTR.CLUSTER_LIST:
        if (len === 0 || len % 4 !== 0) {
          err('treat-as-withdraw', 5, as, ve, `CLUSTER_LIST length ${len} (RFC 7606 §7.10)`, type);
          modified = true;
        } else {
          const c = new Array<number>(len >> 2);
          for (let i = 0, q = vs; q < ve; i++, q += 4) c[i] = u32(buf, q);
          a.clusterList = c;
        }
        break;
      case ATTR.EXTENDED_COMMUNITIES:
        if (len === 0 || len % 8 !== 0) {
          err(
            'treat-as-withdraw',
            5,
            as,
            ve,
            `EXTENDED_COMMUNITIES length ${len} (RFC 7606 §7.14)`,
            type,
          );
          modified = true;
        } else {
          const c: Uint8Array[] = [];
          for (let q = vs; q < ve; q += 8) c.push(copyBytes(buf, q, q + 8));
          a.extCommunities = c;
        }
        break;
      case ATTR.LARGE_COMMUNITY:
        if (len === 0 || len % 12 !== 0) {
          err('treat-as-withdraw', 5, as, ve, `LARGE_COMMUNITY length ${len} (RFC 8092 §6)`, type);
          modified = true;
        } else {
          const c: [number, number, number][] = [];
          for (let q = vs; q < ve; q += 12) c.push([u32(buf, q), u32(buf, q + 4), u32(buf, q + 8)]);
          a.largeCommunities = c;
        }
        break;
      case ATTR.AS4_PATH:
        modified = true;
        if (as4) break; // RFC 6793 §4.1: not used between NEW speakers; discarded
        {
          const path = parseAsPath(buf, vs, ve, 4);
          if (path === null || sawAs0 || path.some((s) => s.type > 2) || len === 0) {
            err('attribute-discard', 9, as, ve, 'malformed AS4_PATH (RFC 6793 §6)', type);
          } else as4Path = path;
        }
        break;
      case ATTR.AS4_AGGREGATOR:
        modified = true;
        if (as4) break;
        if (len !== 8 || u32(buf, vs) === 0) {
          err(
            'attribute-discard',
            5,
            as,
            ve,
            'malformed AS4_AGGREGATOR (RFC 6793 §6, RFC 7607)',
            type,
          );
        } else as4Agg = { asn: u32(buf, vs), address: formatIPv4(buf, vs + 4) };
        break;
      case ATTR.BGP_LS:
        if (len === 0) {
          err('attribute-discard', 9, as, ve, 'empty BGP-LS attribute (RFC 9552 §8.2.2)', type);
          modified = true;
        } else a.bgpLs = copyBytes(buf, vs, ve);
        break;
    }
  }
  if (!as4) {
    // RFC 6793 §4.2.3: reconstruct the 4-octet path and aggregator.
    if (as4Agg !== null) {
      if (a.aggregator && a.aggregator.asn !== AS_TRANS) as4Path = null;
      else if (a.aggregator) a.aggregator = as4Agg;
    }
    if (as4Path !== null) a.asPath = mergeAs4Path(a.asPath, as4Path);
    if (a.aggregator !== undefined) modified = true; // 6-octet form becomes 8-octet in wire
    if (a.asPath.length > 0) modified = true; // 2-octet AS_PATH becomes 4-octet in wire
  }
  if (!any) return r;
  if (!modified) {
    // The received bytes, less MP_REACH/MP_UNREACH, with the flags as they must be sent.
    a.wire = sliceWithout(buf, start, end, r.mpReach, r.mpUnreach);
    if (badFlags) a.wire = normaliseFlags(a.wire);
  } else a.wire = encodeAttributes(a, true);
  r.attrs = a;
  return r;
}

/**
 * A copy of buf[s..e) in a buffer of its own. A received message is a view
 * into the socket's read chunk, a Node Buffer, whose `slice` is a view too:
 * what a decoded message keeps (the attribute section as `wire`, unknown
 * attributes, extended communities) must not hold the whole chunk alive —
 * an interned attribute set lives as long as a path uses it. Up to 64 octets
 * (most attribute sets) V8 keeps the copy in its heap, with no ArrayBuffer.
 */
export function copyBytes(buf: Uint8Array, s: number, e: number): Uint8Array {
  const out = new Uint8Array(e - s);
  out.set(buf.subarray(s, e));
  return out;
}

/**
 * Byte strings packed into slabs: a copy is a view into the current slab,
 * which costs its typed-array object, where a Uint8Array of its own also
 * costs an ArrayBuffer, a backing store and a malloc block (~250 bytes more).
 * A slab is freed once none of its views is alive, so a pool suits bytes
 * that live long together (interned attribute sections), not bytes whose
 * lifetimes differ (encoded UPDATEs: a slab would live as long as the session
 * slowest to send any of its messages).
 */
export class BytePool {
  private readonly size: number;
  private slab = new Uint8Array(0);
  private used = 0;

  constructor(slabSize: number) {
    this.size = slabSize;
  }

  /** A copy of `w` (w[0..n) when `n` is given). */
  copy(w: Uint8Array, n: number = w.length): Uint8Array {
    if (this.used + n > this.slab.length) {
      this.slab = new Uint8Array(Math.max(this.size, n));
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + n);
    out.set(n === w.length ? w : w.subarray(0, n));
    this.used += n;
    return out;
  }
}

function sliceWithout(
  buf: Uint8Array,
  start: number,
  end: number,
  x: [number, number, number] | null,
  y: [number, number, number] | null,
): Uint8Array {
  // a view: what interns the set copies it (AttrInterner, rs/rib.ts AttrInternTable)
  if (x === null && y === null) return buf.subarray(start, end);
  const cut: [number, number][] = [];
  if (x) cut.push([x[0], x[2]]);
  if (y) cut.push([y[0], y[2]]);
  cut.sort((m, n) => m[0] - n[0]);
  let n = end - start;
  for (const [s, e] of cut) n -= e - s;
  const out = new Uint8Array(n);
  let o = 0;
  let p = start;
  for (const [s, e] of cut) {
    out.set(buf.subarray(p, s), o);
    o += s - p;
    p = e;
  }
  out.set(buf.subarray(p, end), o);
  return out;
}

// ---------------------------------------------------------------- encoding

type Entry = { type: number; flags: number; value: Uint8Array };

function asPathValue(path: AsPathSegment[], size: 2 | 4, skipConfed: boolean): Uint8Array {
  const segs: { type: number; asns: number[] }[] = [];
  for (const s of path) {
    if (skipConfed && s.type > 2) continue;
    for (let i = 0; i < s.asns.length; i += 255) {
      segs.push({ type: s.type, asns: s.asns.slice(i, i + 255) });
    }
  }
  let n = 0;
  for (const s of segs) n += 2 + s.asns.length * size;
  const out = new Uint8Array(n);
  let p = 0;
  for (const s of segs) {
    out[p++] = s.type;
    out[p++] = s.asns.length;
    for (const asn of s.asns) {
      if (size === 4) {
        out[p] = asn >>> 24;
        out[p + 1] = (asn >>> 16) & 0xff;
        out[p + 2] = (asn >>> 8) & 0xff;
        out[p + 3] = asn & 0xff;
        p += 4;
      } else {
        const v = asn > 0xffff ? AS_TRANS : asn;
        out[p] = v >> 8;
        out[p + 1] = v & 0xff;
        p += 2;
      }
    }
  }
  return out;
}

function u32v(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = (v >>> 16) & 0xff;
    out[4 * i + 2] = (v >>> 8) & 0xff;
    out[4 * i + 3] = v & 0xff;
  }
  return out;
}

function ipv4(text: string): Uint8Array {
  const a = parseAddress(text);
  if (a.afi !== 1) throw new Error(`expected an IPv4 address, got "${text}"`);
  return a.bytes;
}

function aggregatorValue(asn: number, address: string, size: 2 | 4): Uint8Array {
  const out = new Uint8Array(size + 4);
  if (size === 4) out.set(u32v([asn]), 0);
  else {
    const v = asn > 0xffff ? AS_TRANS : asn;
    out[0] = v >> 8;
    out[1] = v & 0xff;
  }
  out.set(ipv4(address), size);
  return out;
}

/** The fields of PathAttributes, without `wire`; asPath and other may be left out. */
export type AttributeFields = Omit<PathAttributes, 'wire' | 'asPath' | 'other'> & {
  asPath?: AsPathSegment[];
  other?: RawAttribute[];
};

/**
 * Encode the attribute section (without MP_REACH/MP_UNREACH) in ascending type
 * order. For a 2-octet-AS peer (`as4` false), ASNs over 65535 become AS_TRANS
 * and AS4_PATH / AS4_AGGREGATOR carry the real ones (RFC 6793 §4.2.2).
 */
export function encodeAttributes(f: AttributeFields, as4: boolean): Uint8Array {
  const e: Entry[] = [];
  const asPath = f.asPath ?? [];
  if (f.origin !== undefined) e.push({ type: 1, flags: 0x40, value: new Uint8Array([f.origin]) });
  e.push({ type: 2, flags: 0x40, value: asPathValue(asPath, as4 ? 4 : 2, false) });
  if (f.nextHop !== undefined) e.push({ type: 3, flags: 0x40, value: ipv4(f.nextHop) });
  if (f.med !== undefined) e.push({ type: 4, flags: 0x80, value: u32v([f.med]) });
  if (f.localPref !== undefined) e.push({ type: 5, flags: 0x40, value: u32v([f.localPref]) });
  if (f.atomicAggregate) e.push({ type: 6, flags: 0x40, value: EMPTY });
  if (f.aggregator !== undefined) {
    const { asn, address } = f.aggregator;
    e.push({ type: 7, flags: 0xc0, value: aggregatorValue(asn, address, as4 ? 4 : 2) });
    if (!as4 && asn > 0xffff) {
      e.push({ type: 18, flags: 0xc0, value: aggregatorValue(asn, address, 4) });
    }
  }
  if (f.communities?.length) e.push({ type: 8, flags: 0xc0, value: u32v(f.communities) });
  if (f.originatorId !== undefined) {
    e.push({ type: 9, flags: 0x80, value: u32v([f.originatorId]) });
  }
  if (f.clusterList?.length) e.push({ type: 10, flags: 0x80, value: u32v(f.clusterList) });
  if (f.extCommunities?.length) {
    const v = new Uint8Array(8 * f.extCommunities.length);
    f.extCommunities.forEach((c, i) => {
      v.set(c.subarray(0, 8), 8 * i);
    });
    e.push({ type: 16, flags: 0xc0, value: v });
  }
  if (!as4 && asPath.some((s) => s.type <= 2 && s.asns.some((x) => x > 0xffff))) {
    e.push({ type: 17, flags: 0xc0, value: asPathValue(asPath, 4, true) });
  }
  if (f.bgpLs !== undefined) e.push({ type: 29, flags: 0x80, value: f.bgpLs });
  if (f.largeCommunities?.length) {
    const flat: number[] = [];
    for (const [g, l1, l2] of f.largeCommunities) flat.push(g, l1, l2);
    e.push({ type: 32, flags: 0xc0, value: u32v(flat) });
  }
  for (const o of f.other ?? []) e.push({ type: o.type, flags: o.flags, value: o.value });
  if (f.partial !== undefined) {
    // RFC 4271 §5: Partial stays set on recognised optional transitive attributes.
    for (const x of e) if (x.flags === 0xc0 && f.partial.includes(x.type)) x.flags |= FLAG.PARTIAL;
  }
  e.sort((x, y) => x.type - y.type);
  let n = 0;
  for (const x of e) n += (x.value.length > 255 ? 4 : 3) + x.value.length;
  const out = new Uint8Array(n);
  let p = 0;
  for (const x of e) {
    const ext = x.value.length > 255;
    out[p] = sendFlags(x.flags, x.type, x.value.length);
    out[p + 1] = x.type;
    if (ext) {
      out[p + 2] = x.value.length >> 8;
      out[p + 3] = x.value.length & 0xff;
      p += 4;
    } else {
      out[p + 2] = x.value.length;
      p += 3;
    }
    out.set(x.value, p);
    p += x.value.length;
  }
  return out;
}

/** Build a PathAttributes (wire included, for 4-octet-AS peers) from its fields. */
export function makeAttributes(f: AttributeFields): PathAttributes {
  const a = newAttrs();
  Object.assign(a, f);
  a.asPath = f.asPath ?? [];
  // canonical order: encodeAttributes sends attributes by ascending type
  a.other = [...(f.other ?? [])].sort((x, y) => x.type - y.type);
  // what is not sent is not there: the object equals its wire decoded
  if (!a.communities?.length) a.communities = undefined;
  if (!a.extCommunities?.length) a.extCommunities = undefined;
  if (!a.largeCommunities?.length) a.largeCommunities = undefined;
  if (!a.clusterList?.length) a.clusterList = undefined;
  if (!a.atomicAggregate) a.atomicAggregate = undefined;
  a.wire = encodeAttributes(a, true);
  return a;
}

// ---------------------------------------------------------------- interning

/** Hash of b[s..e) (FNV-1a over 32-bit words), for interning by wire bytes. */
export function hashBytes(b: Uint8Array, s: number, e: number): number {
  // FNV-1a style over 32-bit words, then the tail octets
  let h = 0x811c9dc5 ^ (e - s);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    h = Math.imul(
      h ^ ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!),
      0x01000193,
    );
    h ^= h >>> 15;
  }
  for (; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** True when `a` holds exactly the octets b[s..e). */
export function sameBytes(a: Uint8Array, b: Uint8Array, s: number, e: number): boolean {
  if (a.length !== e - s) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[s + i]) return false;
  return true;
}

/**
 * One shared PathAttributes per distinct `wire`. Keeps a copy of the wire
 * bytes it owns, so received buffers are not retained.
 */
export class AttrInterner {
  readonly #buckets = new Map<number, PathAttributes[]>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The interned attributes equal to `a` (by wire bytes), adding `a` when new. */
  intern(a: PathAttributes): PathAttributes {
    const w = a.wire;
    const h = hashBytes(w, 0, w.length);
    const bucket = this.#buckets.get(h);
    if (bucket) {
      for (const x of bucket) if (sameBytes(x.wire, w, 0, w.length)) return x;
    }
    if (w.byteOffset !== 0 || w.buffer.byteLength !== w.length) a.wire = copyBytes(w, 0, w.length);
    if (bucket) bucket.push(a);
    else this.#buckets.set(h, [a]);
    this.#size++;
    return a;
  }

  /** Look up by wire bytes buf[start..end) without adding. */
  get(buf: Uint8Array, start = 0, end: number = buf.length): PathAttributes | undefined {
    const bucket = this.#buckets.get(hashBytes(buf, start, end));
    if (!bucket) return undefined;
    for (const x of bucket) if (sameBytes(x.wire, buf, start, end)) return x;
    return undefined;
  }

  /** Forget `a` (when no path uses it any more). */
  delete(a: PathAttributes): boolean {
    const h = hashBytes(a.wire, 0, a.wire.length);
    const bucket = this.#buckets.get(h);
    if (!bucket) return false;
    const i = bucket.indexOf(a);
    if (i < 0) return false;
    bucket.splice(i, 1);
    if (bucket.length === 0) this.#buckets.delete(h);
    this.#size--;
    return true;
  }

  clear(): void {
    this.#buckets.clear();
    this.#size = 0;
  }
}

/**
 * Route-server fast path for 4-octet-AS sessions: when the attribute section
 * is plainly well formed (recognised attributes with the right flags, no
 * duplicates, no AS4_PATH/AS4_AGGREGATOR) and its bytes other than
 * MP_REACH/MP_UNREACH are already interned, return the interned attributes
 * without decoding them again. Null means: decode normally.
 */
export function lookupInterned(
  buf: Uint8Array,
  start: number,
  end: number,
  interner: AttrInterner,
  external = false,
): DecodedAttributes | null {
  let p = start;
  let present = 0;
  let large = false;
  let mpReach: [number, number, number] | null = null;
  let mpUnreach: [number, number, number] | null = null;
  while (p < end) {
    if (end - p < 3) return null;
    const flags = buf[p]!;
    const type = buf[p + 1]!;
    let vs: number;
    let len: number;
    if (flags & FLAG.EXTENDED) {
      if (end - p < 4) return null;
      len = u16(buf, p + 2);
      vs = p + 4;
    } else {
      len = buf[p + 2]!;
      vs = p + 3;
    }
    const ve = vs + len;
    if (ve > end) return null;
    const expect = EXPECT[type]!;
    if (expect < 0 || type === 17 || type === 18 || (flags & 0xc0) !== expect) return null;
    // from an external peer these are discarded (RFC 7606 §7.5, §7.9, §7.10): decode
    if (external && (type === 5 || type === 9 || type === 10)) return null;
    if (type === 32) {
      if (large) return null;
      large = true;
    } else {
      const bit = 1 << type;
      if (present & bit) return null;
      present |= bit;
    }
    if (type === 14) mpReach = [p, vs, ve];
    else if (type === 15) mpUnreach = [p, vs, ve];
    p = ve;
  }
  // the non-MP attributes must be one contiguous run
  let s = start;
  let e = end;
  if (mpReach !== null) {
    if (mpReach[0] === s) s = mpReach[2];
    else if (mpReach[2] === e) e = mpReach[0];
  }
  if (mpUnreach !== null) {
    if (mpUnreach[0] === s) s = mpUnreach[2];
    else if (mpUnreach[2] === e) e = mpUnreach[0];
    else return null;
  }
  if (mpReach !== null && mpReach[0] >= s && mpReach[2] <= e) {
    // MP_REACH was neither first nor last: retry with MP_UNREACH already removed
    if (mpReach[0] === s) s = mpReach[2];
    else if (mpReach[2] === e) e = mpReach[0];
    else return null;
  }
  if (s >= e) return null;
  const hit = interner.get(buf, s, e);
  if (hit === undefined) return null;
  return { attrs: hit, errors: [], mpReach, mpUnreach, present, abandoned: false };
}

const FIELD_OF: Record<number, keyof PathAttributes> = {
  1: 'origin',
  3: 'nextHop',
  4: 'med',
  5: 'localPref',
  6: 'atomicAggregate',
  7: 'aggregator',
  8: 'communities',
  9: 'originatorId',
  10: 'clusterList',
  16: 'extCommunities',
  29: 'bgpLs',
};

/**
 * A copy of `a` without the attributes of the given types, keeping the rest of
 * the wire byte-exact. Returns `a` itself when none of them is present.
 */
export function stripAttributes(a: PathAttributes, types: readonly number[]): PathAttributes {
  const w = a.wire;
  const keep: [number, number][] = [];
  let dropped = false;
  let p = 0;
  while (p < w.length) {
    const ext = (w[p]! & FLAG.EXTENDED) !== 0;
    const len = ext ? u16(w, p + 2) : w[p + 2]!;
    const e = p + (ext ? 4 : 3) + len;
    if (types.includes(w[p + 1]!)) dropped = true;
    else keep.push([p, e]);
    p = e;
  }
  if (!dropped) return a;
  const n = keep.reduce((s, [x, y]) => s + y - x, 0);
  const wire = new Uint8Array(n);
  let o = 0;
  for (const [x, y] of keep) {
    wire.set(w.subarray(x, y), o);
    o += y - x;
  }
  const out: PathAttributes = { ...a, wire, other: a.other.filter((x) => !types.includes(x.type)) };
  for (const t of types) {
    if (t === 2) out.asPath = [];
    else if (t === 32) out.largeCommunities = undefined;
    else {
      const f = FIELD_OF[t];
      if (f !== undefined) (out as unknown as Record<string, unknown>)[f] = undefined;
    }
  }
  return out;
}
