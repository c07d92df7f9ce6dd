// UPDATE message (RFC 4271 §4.3) with MP_REACH_NLRI / MP_UNREACH_NLRI
// (RFC 4760), ADD-PATH (RFC 7911), extended next hop (RFC 8950), RFC 7606
// error handling, and the route-server packer (encodeUpdates).

import {
  type AttrInterner,
  attributeName,
  copyBytes,
  decodeAttributes,
  encodeAttributes,
  FLAG,
  lookupInterned,
  stripAttributes,
} from './attributes.ts';
import { decodeNlri, formatIPv4, formatIPv6, parseAddress, writeNlri } from './prefix.ts';
import {
  BgpError,
  type CodecOptions,
  type ErrorAction,
  familyKey,
  MAX_EXTENDED_MESSAGE,
  MAX_MESSAGE,
  type MpReach,
  type MpUnreach,
  type NextHop,
  type Nlri,
  type PathAttributes,
  type UpdateError,
  type UpdateMessage,
} from './types.ts';

const HEADER = 19;
const EMPTY = new Uint8Array(0);

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function isUnicast(afi: number, safi: number): boolean {
  return (afi === 1 || afi === 2) && safi === 1;
}

function addPathRx(opts: CodecOptions, afi: number, safi: number): boolean {
  const s = opts.addPathRx;
  return s !== undefined && s.size > 0 && s.has(familyKey(afi, safi));
}

function addPathTx(opts: CodecOptions, afi: number, safi: number): boolean {
  const s = opts.addPathTx;
  return s !== undefined && s.size > 0 && s.has(familyKey(afi, safi));
}

function decodeNextHop(
  b: Uint8Array,
  s: number,
  n: number,
  afi: number,
  safi: number,
): NextHop | null {
  // RFC 4760 §3, RFC 2545 §3 (16 or 32 octets with link-local), RFC 8950 §3.
  if (n === 4) return { global: formatIPv4(b, s) };
  if (n === 16) return { global: formatIPv6(b, s) };
  if (n === 32) return { global: formatIPv6(b, s), linkLocal: formatIPv6(b, s + 16) };
  if (!isUnicast(afi, safi) && !(afi === 16388 && safi === 71)) return { global: '' };
  if (afi === 16388 && n === 0) return { global: '' };
  return null;
}

function decodeMpReach(
  msg: Uint8Array,
  loc: [number, number, number],
  opts: CodecOptions,
): MpReach {
  const [as, s, e] = loc;
  const attr = (): Uint8Array => copyBytes(msg, as, e);
  if (e - s < 5) {
    throw new BgpError(3, 9, `MP_REACH_NLRI length ${e - s} < 5 (RFC 7606 §5.3)`, attr());
  }
  const afi = u16(msg, s);
  const safi = msg[s + 2]!;
  const nhLen = msg[s + 3]!;
  if (s + 4 + nhLen + 1 > e) {
    throw new BgpError(
      3,
      9,
      `MP_REACH_NLRI next hop length ${nhLen} overruns (RFC 7606 §7.11)`,
      attr(),
    );
  }
  if (afi === 2 && safi === 1 && nhLen === 4) {
    throw new BgpError(3, 9, 'IPv6 MP_REACH_NLRI with a 4-octet next hop (RFC 7606 §7.11)', attr());
  }
  const nextHop = decodeNextHop(msg, s + 4, nhLen, afi, safi);
  if (nextHop === null) {
    throw new BgpError(
      3,
      9,
      `MP_REACH_NLRI next hop length ${nhLen} inconsistent with AFI ${afi}/SAFI ${safi} (RFC 7606 §7.11)`,
      attr(),
    );
  }
  const ns = s + 4 + nhLen + 1; // skip the reserved octet
  const m: MpReach = { afi, safi, nextHop, nlri: [] };
  if (isUnicast(afi, safi)) {
    const why = decodeNlri(msg, ns, e, afi, addPathRx(opts, afi, safi), m.nlri);
    if (why !== null) {
      throw new BgpError(3, 10, `MP_REACH_NLRI: ${why} (RFC 7606 §5.3, §3.j)`, attr());
    }
  } else m.raw = copyBytes(msg, ns, e);
  return m;
}

function decodeMpUnreach(
  msg: Uint8Array,
  loc: [number, number, number],
  opts: CodecOptions,
): MpUnreach {
  const [as, s, e] = loc;
  if (e - s < 3) {
    throw new BgpError(
      3,
      9,
      `MP_UNREACH_NLRI length ${e - s} < 3 (RFC 7606 §5.3)`,
      copyBytes(msg, as, e),
    );
  }
  const afi = u16(msg, s);
  const safi = msg[s + 2]!;
  const m: MpUnreach = { afi, safi, nlri: [] };
  if (isUnicast(afi, safi)) {
    const why = decodeNlri(msg, s + 3, e, afi, addPathRx(opts, afi, safi), m.nlri);
    if (why !== null) {
      throw new BgpError(
        3,
        10,
        `MP_UNREACH_NLRI: ${why} (RFC 7606 §5.3, §3.j)`,
        copyBytes(msg, as, e),
      );
    }
  } else m.raw = copyBytes(msg, s + 3, e);
  return m;
}

const STRENGTH: Record<ErrorAction, number> = {
  'attribute-discard': 1,
  'treat-as-withdraw': 2,
  'afi-safi-disable': 3,
  'session-reset': 4,
};

/** The most drastic action among `errors` (RFC 7606 §3.h), or null when none. */
export function worstAction(errors: readonly UpdateError[]): ErrorAction | null {
  let w: ErrorAction | null = null;
  for (const e of errors) if (w === null || STRENGTH[e.action] > STRENGTH[w]) w = e.action;
  return w;
}

/** Decode an UPDATE (header included, length already checked). */
export function decodeUpdate(
  msg: Uint8Array,
  opts: CodecOptions,
  interner?: AttrInterner,
): UpdateMessage {
  const end = msg.length;
  let p = HEADER;
  const wlen = u16(msg, p);
  p += 2;
  if (p + wlen + 2 > end) {
    throw new BgpError(
      3,
      1,
      `withdrawn routes length ${wlen} overruns the message (RFC 4271 §6.3, RFC 7606 §3.b)`,
    );
  }
  const ap4 = addPathRx(opts, 1, 1);
  const withdrawn: Nlri[] = [];
  let why = decodeNlri(msg, p, p + wlen, 1, ap4, withdrawn);
  if (why !== null) {
    throw new BgpError(3, 10, `withdrawn routes: ${why} (RFC 7606 §3.i, §5.3)`);
  }
  p += wlen;
  const tlen = u16(msg, p);
  p += 2;
  if (p + tlen > end) {
    throw new BgpError(
      3,
      1,
      `total path attribute length ${tlen} overruns the message (RFC 4271 §6.3, RFC 7606 §3.b)`,
    );
  }
  const attrEnd = p + tlen;
  const nlri: Nlri[] = [];
  why = decodeNlri(msg, attrEnd, end, 1, ap4, nlri);
  if (why !== null) throw new BgpError(3, 10, `NLRI: ${why} (RFC 7606 §5.3, §3.j)`);
  const u: UpdateMessage = {
    type: 'update',
    withdrawn,
    attrs: null,
    nlri,
    mpReach: null,
    mpUnreach: null,
    errors: [],
  };
  if (tlen === 0) {
    if (nlri.length > 0) {
      // RFC 7606 §3.d: NLRI without ORIGIN, AS_PATH, NEXT_HOP.
      u.errors.push({
        action: 'treat-as-withdraw',
        subcode: 3,
        data: new Uint8Array([1]),
        reason: 'NLRI without path attributes: missing ORIGIN, AS_PATH, NEXT_HOP (RFC 7606 §3.d)',
      });
    }
    return u;
  }
  const external = opts.external === true;
  const hit =
    interner !== undefined && opts.as4 ? lookupInterned(msg, p, attrEnd, interner, external) : null;
  const d = hit ?? decodeAttributes(msg, opts.as4, p, attrEnd, external);
  // RFC 7606 §3.j / §5.1: MP_REACH and MP_UNREACH parse errors reset the session.
  if (d.mpReach) u.mpReach = decodeMpReach(msg, d.mpReach, opts);
  if (d.mpUnreach) u.mpUnreach = decodeMpUnreach(msg, d.mpUnreach, opts);
  const errors = d.errors;
  u.errors = errors;
  let attrs = d.attrs;
  const reach =
    nlri.length > 0 ||
    (u.mpReach !== null && (u.mpReach.nlri.length > 0 || (u.mpReach.raw?.length ?? 0) > 0));
  if (reach && !d.abandoned) {
    // RFC 7606 §3.d: missing well-known mandatory attributes.
    const missing: number[] = [];
    if ((d.present & (1 << 1)) === 0) missing.push(1);
    if ((d.present & (1 << 2)) === 0) missing.push(2);
    if (nlri.length > 0 && (d.present & (1 << 3)) === 0) missing.push(3);
    for (const t of missing) {
      errors.push({
        action: 'treat-as-withdraw',
        subcode: 3,
        data: new Uint8Array([t]),
        reason: `missing well-known attribute ${attributeName(t)} (RFC 7606 §3.d)`,
      });
    }
  }
  if (!reach && (attrs !== null || d.abandoned || u.mpReach !== null)) {
    // RFC 7606 §5.2: attributes but no reachable NLRI: anything worse than
    // attribute discard becomes a session reset.
    for (const e of errors) {
      if (e.action !== 'attribute-discard') {
        throw new BgpError(3, e.subcode, `${e.reason}; no reachable NLRI (RFC 7606 §5.2)`, e.data);
      }
    }
  }
  if (
    attrs !== null &&
    interner !== undefined &&
    hit === null &&
    (errors.length === 0 || worstAction(errors) === 'attribute-discard')
  ) {
    attrs = interner.intern(attrs);
  }
  u.attrs = attrs;
  return u;
}

/** The family of an End-of-RIB marker (RFC 4724 §2), or null when `u` is not one. */
export function endOfRibFamily(u: UpdateMessage): { afi: number; safi: number } | null {
  if (u.withdrawn.length > 0 || u.nlri.length > 0 || u.attrs !== null || u.mpReach !== null) {
    return null;
  }
  if (u.mpUnreach === null) return { afi: 1, safi: 1 };
  if (u.mpUnreach.nlri.length > 0 || (u.mpUnreach.raw?.length ?? 0) > 0) return null;
  return { afi: u.mpUnreach.afi, safi: u.mpUnreach.safi };
}

// ---------------------------------------------------------------- encoding

function nextHopBytes(nh: NextHop): Uint8Array {
  if (nh.global === '') return EMPTY;
  const g = parseAddress(nh.global).bytes;
  if (nh.linkLocal === undefined) return g;
  const ll = parseAddress(nh.linkLocal).bytes;
  if (g.length !== 16 || ll.length !== 16) {
    throw new Error('a link-local next hop needs an IPv6 global next hop');
  }
  const out = new Uint8Array(32);
  out.set(g, 0);
  out.set(ll, 16);
  return out;
}

function writeNlriList(list: Nlri[], addPath: boolean, out: Uint8Array, off: number): number {
  for (const n of list) {
    const q = writeNlri(n, addPath, out, off, out.length);
    if (q < 0) throw new RangeError('UPDATE too long');
    off = q;
  }
  return off;
}

function nlriSize(list: Nlri[], addPath: boolean): number {
  const tmp = new Uint8Array(21);
  let n = 0;
  for (const x of list) n += writeNlri(x, addPath, tmp, 0, 21);
  return n;
}

function writeAttrHeader(out: Uint8Array, p: number, type: number, len: number): number {
  out[p] = FLAG.OPTIONAL | FLAG.EXTENDED;
  out[p + 1] = type;
  out[p + 2] = len >> 8;
  out[p + 3] = len & 0xff;
  return p + 4;
}

function mpReachBody(m: MpReach, opts: CodecOptions): Uint8Array {
  const nh = nextHopBytes(m.nextHop);
  const ap = addPathTx(opts, m.afi, m.safi);
  const nl = m.raw ?? EMPTY;
  const n = 5 + nh.length + (m.raw ? nl.length : nlriSize(m.nlri, ap));
  const out = new Uint8Array(n);
  out[0] = m.afi >> 8;
  out[1] = m.afi & 0xff;
  out[2] = m.safi;
  out[3] = nh.length;
  out.set(nh, 4);
  const p = 5 + nh.length;
  if (m.raw) out.set(nl, p);
  else writeNlriList(m.nlri, ap, out, p);
  return out;
}

function mpUnreachBody(m: MpUnreach, opts: CodecOptions): Uint8Array {
  const ap = addPathTx(opts, m.afi, m.safi);
  const n = 3 + (m.raw ? m.raw.length : nlriSize(m.nlri, ap));
  const out = new Uint8Array(n);
  out[0] = m.afi >> 8;
  out[1] = m.afi & 0xff;
  out[2] = m.safi;
  if (m.raw) out.set(m.raw, 3);
  else writeNlriList(m.nlri, ap, out, 3);
  return out;
}

/** The attribute section to send for `attrs` on a session with `opts`. */
export function attributeBytes(attrs: PathAttributes, opts: CodecOptions): Uint8Array {
  return opts.as4 && attrs.wire !== undefined ? attrs.wire : encodeAttributes(attrs, opts.as4);
}

/** Encode an UPDATE body (after the header) from its fields. */
export function encodeUpdateBody(m: UpdateMessage, opts: CodecOptions): Uint8Array {
  const ap4 = addPathTx(opts, 1, 1);
  const parts: Uint8Array[] = [];
  // RFC 7606 §5.1: MP_REACH_NLRI / MP_UNREACH_NLRI first.
  for (const [type, body] of [
    [15, m.mpUnreach ? mpUnreachBody(m.mpUnreach, opts) : null],
    [14, m.mpReach ? mpReachBody(m.mpReach, opts) : null],
  ] as const) {
    if (body === null) continue;
    const a = new Uint8Array(4 + body.length);
    writeAttrHeader(a, 0, type, body.length);
    a.set(body, 4);
    parts.push(a);
  }
  if (m.attrs) parts.push(attributeBytes(m.attrs, opts));
  const tlen = parts.reduce((s, x) => s + x.length, 0);
  const wlen = nlriSize(m.withdrawn, ap4);
  const nlen = nlriSize(m.nlri, ap4);
  const out = new Uint8Array(4 + wlen + tlen + nlen);
  out[0] = wlen >> 8;
  out[1] = wlen & 0xff;
  let p = writeNlriList(m.withdrawn, ap4, out, 2);
  out[p] = tlen >> 8;
  out[p + 1] = tlen & 0xff;
  p += 2;
  for (const x of parts) {
    out.set(x, p);
    p += x.length;
  }
  writeNlriList(m.nlri, ap4, out, p);
  return out;
}

/** Parameters of encodeUpdates. */
export interface UpdateParams {
  afi: number;
  safi: number;
  attrs: PathAttributes | null;
  /** Next hop to send; for IPv4 unicast with an IPv4 next hop it replaces NEXT_HOP. */
  nextHop?: NextHop;
  nlri: Nlri[];
  withdrawn: Nlri[];
}

/** Scratch space for encodeUpdates (messages are copied out by finish()). */
const packBuffer = new Uint8Array(MAX_EXTENDED_MESSAGE);

function startMessage(buf: Uint8Array): void {
  buf.fill(0xff, 0, 16);
  buf[18] = 2;
}

function finish(buf: Uint8Array, len: number): Uint8Array {
  buf[16] = len >> 8;
  buf[17] = len & 0xff;
  return buf.slice(0, len);
}

/** Rewrite the attribute section without NEXT_HOP, or with NEXT_HOP set to `nh`. */
function withNextHop(section: Uint8Array, nh: string | null): Uint8Array {
  const nhBytes = nh === null ? null : parseAddress(nh).bytes;
  if (nhBytes !== null && nhBytes.length !== 4) throw new Error(`NEXT_HOP must be IPv4: ${nh}`);
  const out = new Uint8Array(section.length + 7);
  let o = 0;
  let p = 0;
  let done = nhBytes === null;
  const put = (): void => {
    out[o] = 0x40;
    out[o + 1] = 3;
    out[o + 2] = 4;
    out.set(nhBytes!, o + 3);
    o += 7;
    done = true;
  };
  while (p < section.length) {
    const flags = section[p]!;
    const type = section[p + 1]!;
    const len = flags & FLAG.EXTENDED ? u16(section, p + 2) : section[p + 2]!;
    const e = p + (flags & FLAG.EXTENDED ? 4 : 3) + len;
    if (!done && type >= 3) put();
    if (type !== 3) {
      out.set(section.subarray(p, e), o);
      o += e - p;
    }
    p = e;
  }
  if (!done) put();
  return out.slice(0, o);
}

/**
 * Pack routes sharing one attribute set into as few UPDATEs as fit the
 * negotiated size (RFC 8654). Withdrawals go in their own messages first.
 * IPv4 unicast with an IPv4 next hop uses the Withdrawn Routes / NLRI fields;
 * everything else MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760, RFC 8950).
 */
export function encodeUpdates(opts: CodecOptions, p: UpdateParams): Uint8Array[] {
  const max = opts.extendedMessage ? MAX_EXTENDED_MESSAGE : MAX_MESSAGE;
  const ap = addPathTx(opts, p.afi, p.safi);
  const out: Uint8Array[] = [];
  const classic =
    p.afi === 1 &&
    p.safi === 1 &&
    (p.nextHop === undefined ||
      (p.nextHop.linkLocal === undefined && !p.nextHop.global.includes(':')));
  const buf = packBuffer;
  startMessage(buf);
  // ---- withdrawals
  let i = 0;
  while (i < p.withdrawn.length) {
    let q: number;
    if (classic) {
      q = HEADER + 2;
      while (i < p.withdrawn.length) {
        const r = writeNlri(p.withdrawn[i]!, ap, buf, q, max - 2);
        if (r < 0) break;
        q = r;
        i++;
      }
      const wlen = q - HEADER - 2;
      buf[HEADER] = wlen >> 8;
      buf[HEADER + 1] = wlen & 0xff;
      buf[q] = 0;
      buf[q + 1] = 0;
      q += 2;
    } else {
      buf[HEADER] = 0;
      buf[HEADER + 1] = 0;
      const a = HEADER + 4;
      q = a + 4;
      buf[q++] = p.afi >> 8;
      buf[q++] = p.afi & 0xff;
      buf[q++] = p.safi;
      while (i < p.withdrawn.length) {
        const r = writeNlri(p.withdrawn[i]!, ap, buf, q, max);
        if (r < 0) break;
        q = r;
        i++;
      }
      writeAttrHeader(buf, a, 15, q - a - 4);
      buf[HEADER + 2] = (q - a) >> 8;
      buf[HEADER + 3] = (q - a) & 0xff;
    }
    out.push(finish(buf, q));
  }
  if (p.nlri.length === 0) return out;
  // ---- announcements
  if (p.attrs === null) throw new Error('encodeUpdates: NLRI without path attributes');
  let section = attributeBytes(p.attrs, opts);
  i = 0;
  if (classic) {
    if (p.nextHop !== undefined && p.nextHop.global !== p.attrs.nextHop) {
      section = withNextHop(section, p.nextHop.global);
    }
    const base = HEADER + 4 + section.length;
    if (base >= max) throw new RangeError('path attributes do not fit in one UPDATE');
    buf[HEADER] = 0;
    buf[HEADER + 1] = 0;
    buf[HEADER + 2] = section.length >> 8;
    buf[HEADER + 3] = section.length & 0xff;
    buf.set(section, HEADER + 4);
    while (i < p.nlri.length) {
      let q = base;
      const first = i;
      while (i < p.nlri.length) {
        const r = writeNlri(p.nlri[i]!, ap, buf, q, max);
        if (r < 0) break;
        q = r;
        i++;
      }
      if (i === first) throw new RangeError('path attributes leave no room for NLRI');
      out.push(finish(buf, q));
    }
    return out;
  }
  const nh = p.nextHop ?? (p.attrs.nextHop !== undefined ? { global: p.attrs.nextHop } : undefined);
  if (nh === undefined) throw new Error('encodeUpdates: MP_REACH_NLRI needs a next hop');
  const nhb = nextHopBytes(nh);
  if (p.attrs.nextHop !== undefined) section = withNextHop(section, null);
  const limit = max - section.length;
  while (i < p.nlri.length) {
    buf[HEADER] = 0;
    buf[HEADER + 1] = 0;
    const a = HEADER + 4;
    let q = a + 4;
    buf[q++] = p.afi >> 8;
    buf[q++] = p.afi & 0xff;
    buf[q++] = p.safi;
    buf[q++] = nhb.length;
    buf.set(nhb, q);
    q += nhb.length;
    buf[q++] = 0;
    const first = i;
    while (i < p.nlri.length) {
      const r = writeNlri(p.nlri[i]!, ap, buf, q, limit);
      if (r < 0) break;
      q = r;
      i++;
    }
    if (i === first) throw new RangeError('path attributes leave no room for NLRI');
    writeAttrHeader(buf, a, 14, q - a - 4);
    buf.set(section, q);
    q += section.length;
    buf[HEADER + 2] = (q - a) >> 8;
    buf[HEADER + 3] = (q - a) & 0xff;
    out.push(finish(buf, q));
  }
  return out;
}

/** End-of-RIB marker (RFC 4724 §2): an empty UPDATE for IPv4 unicast, else an empty MP_UNREACH_NLRI. */
export function encodeEndOfRib(afi: number, safi: number, _opts?: CodecOptions): Uint8Array {
  if (afi === 1 && safi === 1) {
    const b = new Uint8Array(23);
    startMessage(b);
    return finish(b, 23);
  }
  const b = new Uint8Array(29);
  startMessage(b);
  b[HEADER + 3] = 6;
  b[HEADER + 4] = FLAG.OPTIONAL;
  b[HEADER + 5] = 15;
  b[HEADER + 6] = 3;
  b[HEADER + 7] = afi >> 8;
  b[HEADER + 8] = afi & 0xff;
  b[HEADER + 9] = safi;
  return finish(b, 29);
}

/**
 * The RFC 7606 rules that depend on the peer being external: LOCAL_PREF
 * (§7.5), ORIGINATOR_ID (§7.9) and CLUSTER_LIST (§7.10) from an external peer
 * are attribute-discard (decodeUpdate already does it, whatever their form,
 * when CodecOptions.external is set, as negotiate() sets it for a peer in
 * another AS; this covers an UPDATE decoded without it); an AS_PATH with
 * confederation segments from a peer outside the confederation is
 * treat-as-withdraw (RFC 5065 §5.3). Updates `u` in place (attrs replaced by a
 * copy without the discarded attributes, interned when `interner` is given)
 * and returns it. Route-server clients are always external (RFC 7947).
 */
export function applyExternalPeerRules(u: UpdateMessage, interner?: AttrInterner): UpdateMessage {
  const a = u.attrs;
  if (a === null) return u;
  const drop: number[] = [];
  const why: Record<number, string> = {
    5: 'LOCAL_PREF from an external peer (RFC 7606 §7.5)',
    9: 'ORIGINATOR_ID from an external peer (RFC 7606 §7.9)',
    10: 'CLUSTER_LIST from an external peer (RFC 7606 §7.10)',
  };
  if (a.localPref !== undefined) drop.push(5);
  if (a.originatorId !== undefined) drop.push(9);
  if (a.clusterList !== undefined) drop.push(10);
  if (a.asPath.some((s) => s.type === 3 || s.type === 4)) {
    u.errors.push({
      action: 'treat-as-withdraw',
      subcode: 11,
      data: EMPTY,
      reason: 'AS_PATH with confederation segments from an external peer (RFC 5065 §5.3)',
    });
  }
  if (drop.length === 0) return u;
  for (const t of drop) {
    u.errors.push({
      action: 'attribute-discard',
      subcode: 0,
      data: EMPTY,
      reason: why[t]!,
      discarded: [t],
    });
  }
  const stripped = stripAttributes(a, drop);
  u.attrs =
    interner !== undefined && worstAction(u.errors) === 'attribute-discard'
      ? interner.intern(stripped)
      : stripped;
  return u;
}
