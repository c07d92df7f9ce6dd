// A stand-in for the BGP-LS codec in tests, used only until src/bgpls/ is on
// main: each NLRI is a length-prefixed JSON text in MP_REACH/MP_UNREACH of
// AFI 16388 / SAFI 71 (real BGP framing, fake NLRI bytes), the report state in
// the BGP-LS attribute (type 29). Both ends of a test must use it.

import type { CheckLink, Report } from '../../../src/agent/core.ts';
import {
  isLsEndOfRib,
  type LsCodec,
  type LsDecoded,
  type LsEncodeOptions,
} from '../../../src/agent/ls.ts';
import { makeAttributes } from '../../../src/bgp/attributes.ts';
import { encodeMessage } from '../../../src/bgp/codec.ts';
import type { UpdateMessage } from '../../../src/bgp/types.ts';

function pack(links: readonly CheckLink[]): Uint8Array {
  const parts = links.map((l) => Buffer.from(JSON.stringify(l)));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 2 + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.writeUInt16BE(p.length, o);
    p.copy(out, o + 2);
    o += 2 + p.length;
  }
  return new Uint8Array(out);
}

function unpack(raw: Uint8Array | undefined): CheckLink[] {
  if (raw === undefined) return [];
  const b = Buffer.from(raw);
  const out: CheckLink[] = [];
  for (let o = 0; o + 2 <= b.length; ) {
    const n = b.readUInt16BE(o);
    out.push(JSON.parse(b.subarray(o + 2, o + 2 + n).toString()) as CheckLink);
    o += 2 + n;
  }
  return out;
}

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

function update(
  reach: readonly CheckLink[],
  unreach: readonly CheckLink[],
  attr: Uint8Array | null,
  o: LsEncodeOptions,
): Uint8Array {
  const u: UpdateMessage = {
    type: 'update',
    withdrawn: [],
    nlri: [],
    attrs:
      reach.length > 0
        ? makeAttributes({ origin: 0, asPath: [], ...(attr ? { bgpLs: attr } : {}) })
        : null,
    mpReach:
      reach.length > 0
        ? { afi: 16388, safi: 71, nextHop: { global: o.nextHop }, nlri: [], raw: pack(reach) }
        : null,
    mpUnreach: unreach.length > 0 ? { afi: 16388, safi: 71, nlri: [], raw: pack(unreach) } : null,
    errors: [],
  };
  return encodeMessage(u, o.codec);
}

const PER_MESSAGE = 15;

export const fakeLsCodec: LsCodec = {
  decodeRequests(u) {
    const out: LsDecoded<CheckLink> = {
      announced: unpack(u.mpReach?.raw),
      withdrawn: unpack(u.mpUnreach?.raw),
      endOfRib: isLsEndOfRib(u),
      errors: [],
    };
    return out;
  },
  decodeReports(u) {
    const metric = u.attrs?.bgpLs ? JSON.parse(Buffer.from(u.attrs.bgpLs).toString()) : null;
    const state: Report = metric === 0xffffff ? 'unreachable' : 'reachable';
    return {
      announced: unpack(u.mpReach?.raw).map((link) => ({ link, state })),
      withdrawn: unpack(u.mpUnreach?.raw),
      endOfRib: isLsEndOfRib(u),
      errors: [],
    };
  },
  encodeRequests(announce, withdraw, o) {
    return [
      ...chunks(withdraw, PER_MESSAGE).map((c) => update([], c, null, o)),
      ...chunks(announce, PER_MESSAGE).map((c) => update(c, [], null, o)),
    ];
  },
  encodeReports(items, o) {
    const out: Uint8Array[] = [];
    const w = items.filter((i) => i.state === null).map((i) => i.link);
    for (const c of chunks(w, PER_MESSAGE)) out.push(update([], c, null, o));
    for (const s of ['reachable', 'unreachable'] as const) {
      const attr = Buffer.from(JSON.stringify(s === 'reachable' ? 1 : 0xffffff));
      const ls = items.filter((i) => i.state === s).map((i) => i.link);
      for (const c of chunks(ls, PER_MESSAGE)) out.push(update(c, [], attr, o));
    }
    return out;
  },
};
