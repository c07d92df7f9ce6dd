// BGP-LS on the wire through src/bgp: src/bgp decodes the UPDATE and keeps the
// BGP-LS MP_REACH/MP_UNREACH NLRI field (`raw`) and the attribute 29 value
// (`attrs.bgpLs`) as bytes; this module turns them into typed NLRI and back.
// Pure, no I/O.
//
//   decodeLsUpdate(u)        decoded UpdateMessage -> LsUpdate (announced,
//                            attribute, withdrawn, RFC 9552 §8.2.2 problems),
//                            or null when the UPDATE carries no BGP-LS
//   buildLsUpdates(opts, p)  announcements (each with its attribute) and
//                            withdrawals -> UpdateMessage[] packed into as few
//                            UPDATEs as fit the negotiated size (4096, or
//                            65535 with RFC 8654); NLRI sharing an attribute
//                            share an UPDATE
//   encodeLsUpdates(opts, p) the same, as message bytes (src/bgp's encoder)
//
// Next hop (RFC 9552 §5.4, BGP Next-Hop Information): the MP_REACH next hop is
// the local address of the session, 4 octets on an IPv4 session, 16 on IPv6
// (32 with a link-local one, as RFC 4760 allows). src/bgp accepts 0, 4, 16 or
// 32 octets for BGP-LS; nothing in ixrs uses the received next hop.

import { makeAttributes } from '../bgp/attributes.ts';
import { encodeMessage } from '../bgp/codec.ts';
import { parseAddress } from '../bgp/prefix.ts';
import {
  type CodecOptions,
  MAX_EXTENDED_MESSAGE,
  MAX_MESSAGE,
  type NextHop,
  type UpdateMessage,
} from '../bgp/types.ts';
import { attributeBytes, worstAction } from '../bgp/update.ts';
import { decodeLsAttribute, encodeLsAttribute } from './attribute.ts';
import { decodeNlriField, encodeNlriView } from './nlri.ts';
import {
  AFI_BGPLS,
  BgpLsError,
  type LsAttribute,
  type LsNlri,
  type LsProblem,
  SAFI_BGPLS,
} from './types.ts';

/** What one UPDATE says about BGP-LS. */
export interface LsUpdate {
  /** NLRI announced (MP_REACH_NLRI), all with `attribute`. */
  announced: LsNlri[];
  /** The BGP-LS attribute of the announced NLRI; null when absent. */
  attribute: LsAttribute | null;
  /** MP_REACH next hop as src/bgp decoded it ('' for a 0-octet next hop). */
  nextHop: string;
  /** NLRI withdrawn: MP_UNREACH_NLRI, plus announced ones treated as withdrawn. */
  withdrawn: LsNlri[];
  /** RFC 9552 §8.2.2 outcomes; empty when all was well. */
  problems: LsProblem[];
}

function isLs(afi: number, safi: number): boolean {
  return afi === AFI_BGPLS && safi === SAFI_BGPLS;
}

/**
 * The BGP-LS content of a decoded UPDATE, or null when it has none (another
 * family: leave it to the unicast path). Never throws.
 *
 * RFC 9552 §8.2.2: a malformed NLRI is left out ('nlri-discard'); a malformed
 * BGP-LS attribute is discarded and the NLRI announced with it move to
 * `withdrawn` ('attribute-discard'); src/bgp's RFC 7606 treat-as-withdraw
 * moves every announced NLRI to `withdrawn`; an NLRI field that cannot be
 * framed gives 'afi-safi-disable' (see LsProblem).
 */
export function decodeLsUpdate(u: UpdateMessage): LsUpdate | null {
  const reach = u.mpReach !== null && isLs(u.mpReach.afi, u.mpReach.safi) ? u.mpReach : null;
  const unreach =
    u.mpUnreach !== null && isLs(u.mpUnreach.afi, u.mpUnreach.safi) ? u.mpUnreach : null;
  if (reach === null && unreach === null) return null;
  const out: LsUpdate = {
    announced: [],
    attribute: null,
    nextHop: reach?.nextHop.global ?? '',
    withdrawn: [],
    problems: [],
  };
  if (unreach !== null) {
    const d = decodeNlriField(unreach.raw ?? new Uint8Array(0), 'mp-unreach');
    out.withdrawn.push(...d.nlri);
    out.problems.push(...d.problems);
  }
  if (reach === null) return out;
  const d = decodeNlriField(reach.raw ?? new Uint8Array(0), 'mp-reach');
  out.problems.push(...d.problems);
  let withdraw = false;
  if (
    worstAction(u.errors) === 'treat-as-withdraw' ||
    worstAction(u.errors) === 'afi-safi-disable'
  ) {
    withdraw = true;
    for (const e of u.errors) {
      if (e.action === 'attribute-discard') continue;
      out.problems.push({
        action: 'treat-as-withdraw',
        where: 'update',
        reason: e.reason,
        bytes: e.data,
      });
    }
  }
  const raw = u.attrs?.bgpLs;
  const discarded29 = u.errors.find((e) => e.discarded?.includes(29));
  if (discarded29 !== undefined) {
    withdraw = true;
    out.problems.push({
      action: 'attribute-discard',
      where: 'attribute',
      reason: `${discarded29.reason}; the NLRI it came with are treated as withdrawn`,
      bytes: discarded29.data,
    });
  } else if (raw !== undefined) {
    try {
      out.attribute = decodeLsAttribute(raw);
    } catch (err) {
      withdraw = true;
      out.problems.push({
        action: 'attribute-discard',
        where: 'attribute',
        reason: `malformed BGP-LS attribute discarded, the NLRI it came with are treated as withdrawn: ${
          err instanceof Error ? err.message : String(err)
        }`,
        bytes: raw,
      });
    }
  }
  if (withdraw) {
    out.attribute = null;
    out.withdrawn.push(...d.nlri);
  } else out.announced = d.nlri;
  return out;
}

/** Parameters of buildLsUpdates / encodeLsUpdates. */
export interface LsUpdateParams {
  /** MP_REACH next hop: the local address of the session (RFC 9552 §5.4). */
  nextHop: string | NextHop;
  /** AS_PATH to send: [local AS] to an external peer, [] to an internal one. */
  asPath: number[];
  /** NLRI to announce, each with its attribute (none: no attribute 29). */
  announce: { nlri: LsNlri; attribute?: LsAttribute }[];
  /** NLRI to withdraw. */
  withdraw: LsNlri[];
}

const FIXED = 19 + 2 + 2; // header, withdrawn routes length, total path attribute length
const MP_HEADER = 4; // attribute flags, type, 2-octet length

/**
 * The UPDATEs for a batch, withdrawals first, each at most the negotiated
 * size. Throws BgpLsError when an NLRI or attribute cannot be encoded or an
 * NLRI alone does not fit one message.
 */
export function buildLsUpdates(opts: CodecOptions, p: LsUpdateParams): UpdateMessage[] {
  const max = opts.extendedMessage ? MAX_EXTENDED_MESSAGE : MAX_MESSAGE;
  const out: UpdateMessage[] = [];
  // NLRI are encoded into a scratch view and copied into the message being
  // filled: one allocation per UPDATE, not per NLRI.
  const pack = (list: LsNlri[], room: number, emit: (raw: Uint8Array) => void): void => {
    let n = 0;
    for (const x of list) {
      const v = encodeNlriView(x);
      if (v.length > room) {
        throw new BgpLsError(
          `an NLRI of ${v.length} octets does not fit one UPDATE`,
          'RFC 4271 §4.3',
        );
      }
      if (n + v.length > room) {
        emit(packBuffer.slice(0, n));
        n = 0;
      }
      packBuffer.set(v, n);
      n += v.length;
    }
    if (n > 0) emit(packBuffer.slice(0, n));
  };
  // ---- withdrawals: MP_UNREACH_NLRI only
  pack(p.withdraw, max - FIXED - MP_HEADER - 3, (raw) =>
    out.push({
      type: 'update',
      withdrawn: [],
      attrs: null,
      nlri: [],
      mpReach: null,
      mpUnreach: { afi: AFI_BGPLS, safi: SAFI_BGPLS, nlri: [], raw },
      errors: [],
    }),
  );
  if (p.announce.length === 0) return out;
  // ---- announcements, grouped by attribute
  const nextHop: NextHop = typeof p.nextHop === 'string' ? { global: p.nextHop } : p.nextHop;
  let nhLen: number;
  try {
    nhLen = parseAddress(nextHop.global).bytes.length + (nextHop.linkLocal !== undefined ? 16 : 0);
  } catch (err) {
    throw new BgpLsError(
      `next hop: ${err instanceof Error ? err.message : String(err)}`,
      'RFC 9552 §5.4',
    );
  }
  const groups = new Map<string, { attr: LsAttribute | undefined; nlri: LsNlri[] }>();
  for (const a of p.announce) {
    const key = attributeKey(a.attribute);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { attr: a.attribute, nlri: [] }));
    g.nlri.push(a.nlri);
  }
  for (const g of groups.values()) {
    // An attribute without TLVs is not sent: an empty attribute 29 is malformed (§8.2.2).
    const ls = g.attr !== undefined ? encodeLsAttribute(g.attr) : undefined;
    const attrs = makeAttributes({
      origin: 0,
      asPath: p.asPath.length > 0 ? [{ type: 2, asns: p.asPath }] : [],
      ...(ls !== undefined && ls.length > 0 ? { bgpLs: ls } : {}),
    });
    const section = attributeBytes(attrs, opts).length;
    const room = max - FIXED - MP_HEADER - 5 - nhLen - section;
    pack(g.nlri, room, (raw) =>
      out.push({
        type: 'update',
        withdrawn: [],
        attrs,
        nlri: [],
        mpReach: { afi: AFI_BGPLS, safi: SAFI_BGPLS, nextHop, nlri: [], raw },
        mpUnreach: null,
        errors: [],
      }),
    );
  }
  return out;
}

const packBuffer = new Uint8Array(MAX_EXTENDED_MESSAGE);

/** Equal for attributes that encode the same (cheap for the profile's two shapes). */
function attributeKey(a: LsAttribute | undefined): string {
  if (a === undefined) return '';
  if (a.unknown === undefined || a.unknown.length === 0) {
    return `${a.igpMetric ?? ''}/${a.igpMetric !== undefined ? (a.igpMetricLength ?? 3) : ''}/${a.linkName ?? ''}`;
  }
  return Buffer.from(encodeLsAttribute(a)).toString('hex');
}

/** buildLsUpdates, encoded (header included) for a session with `opts`. */
export function encodeLsUpdates(opts: CodecOptions, p: LsUpdateParams): Uint8Array[] {
  return buildLsUpdates(opts, p).map((m) => encodeMessage(m, opts));
}
