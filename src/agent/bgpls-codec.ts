// The agent's BGP-LS codec: src/bgpls (RFC 9552; the Link NLRI of
// docs/rs-bfd-profile.md §4) behind the LsCodec interface of ls.ts.

import type { UpdateMessage } from '../bgp/types.ts';
import {
  decodeLsUpdate,
  encodeLsUpdates,
  type HalfLink,
  halfLinkNlri,
  type LsNlri,
  parseHalfLink,
  parseReport,
  reportItem,
  requestItem,
} from '../bgpls/codec.ts';
import type { CheckLink, Report } from './core.ts';
import { isLsEndOfRib, type LsCodec, type LsDecoded, type LsEncodeOptions } from './ls.ts';

function toHalf(l: CheckLink): HalfLink {
  return {
    instanceId: BigInt(l.instanceId),
    local: l.local,
    remote: l.remote,
    localAddress: l.localAddress,
    nextHop: l.nextHop,
  };
}

function fromHalf(h: HalfLink): CheckLink {
  return {
    instanceId: Number(h.instanceId),
    local: h.local,
    remote: h.remote,
    localAddress: h.localAddress,
    nextHop: h.nextHop,
  };
}

function links(nlri: readonly LsNlri[], errors: string[]): CheckLink[] {
  const out: CheckLink[] = [];
  for (const n of nlri) {
    const h = parseHalfLink(n);
    if (h.ok) out.push(fromHalf(h.value));
    else errors.push(h.reason);
  }
  return out;
}

function params(o: LsEncodeOptions) {
  return { nextHop: o.nextHop, asPath: o.localAs === undefined ? [] : [o.localAs] };
}

function decode<T>(
  u: UpdateMessage,
  announced: (
    nlri: readonly LsNlri[],
    attr: ReturnType<typeof decodeLsUpdate>,
    errors: string[],
  ) => T[],
): LsDecoded<T> {
  const out: LsDecoded<T> = { announced: [], withdrawn: [], endOfRib: isLsEndOfRib(u), errors: [] };
  const d = decodeLsUpdate(u);
  if (d === null) return out;
  for (const p of d.problems) out.errors.push(`${p.action}: ${p.reason}`);
  out.withdrawn = links(d.withdrawn, out.errors);
  out.announced = announced(d.announced, d, out.errors);
  return out;
}

export const bgplsCodec: LsCodec = {
  decodeRequests: (u) => decode(u, (nlri, _d, errors) => links(nlri, errors)),
  decodeReports: (u) =>
    decode(u, (nlri, d, errors) => {
      const out: { link: CheckLink; state: Report }[] = [];
      for (const n of nlri) {
        const r = parseReport(n, d?.attribute ?? null);
        if (r.ok) out.push({ link: fromHalf(r.value), state: r.value.state });
        else errors.push(r.reason);
      }
      return out;
    }),
  encodeReports: (items, o) =>
    encodeLsUpdates(o.codec, {
      ...params(o),
      announce: items.flatMap((i) =>
        i.state === null ? [] : [reportItem(toHalf(i.link), i.state)],
      ),
      withdraw: items.flatMap((i) => (i.state === null ? [halfLinkNlri(toHalf(i.link))] : [])),
    }),
  encodeRequests: (announce, withdraw, o) =>
    encodeLsUpdates(o.codec, {
      ...params(o),
      announce: announce.map((l) => requestItem(toHalf(l))),
      withdraw: withdraw.map((l) => halfLinkNlri(toHalf(l))),
    }),
};
