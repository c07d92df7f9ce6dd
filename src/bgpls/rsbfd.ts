// The RS-BFD profile mapping (docs/rs-bfd-profile.md §4-5): one directed
// half-link Link NLRI per (client A, next-hop address N of client B). Pure, no I/O.
//
//   halfLinkNlri(h)              HalfLink -> LinkNlri (Protocol-ID 7, Identifier =
//                                instance id, 256 {512, 516}, 257 {512, 516},
//                                259/260 or 261/262)
//   requestItem(h, name?)        what the RS announces to A: the NLRI, with Link
//                                Name (1098) naming B when given
//   reportItem(h, state)         what A's agent announces back: the NLRI with IGP
//                                Metric (1095, 3 octets) 1 or 0xFFFFFF
//   parseHalfLink(nlri, opts?)   received NLRI -> HalfLink, or why it is not one
//   parseReport(nlri, attr, opts?) -> Report (HalfLink + state), or why not
//   parseRequest(nlri, attr, opts?) -> Request (HalfLink + name?), or why not
//   halfLinkKey(localAddress, nextHop)  stable map key for one (A's address, N)
//
// Matching is on parsed fields: TLV order, a 513 BGP-LS Identifier (any value;
// deprecated by RFC 9552), 517 Member-ASN, 258 link ids, 263 and unknown TLVs
// are ignored. Addresses are canonical text (src/bgp/prefix.ts).

import { parseAddress } from '../bgp/prefix.ts';
import {
  BgpLsError,
  type LinkNlri,
  type LsAttribute,
  type LsNlri,
  type NodeDescriptor,
  PROTOCOL,
} from './types.ts';

/** IGP Metric of a report: N reachable (any value below 0xFFFFFF; agents send 1). */
export const METRIC_REACHABLE = 1;
/** IGP Metric of a report: N unreachable (the maximum 3-octet metric, "do not use"). */
export const METRIC_UNREACHABLE = 0xffffff;

const S = 'docs/rs-bfd-profile.md §4';

/** A BGP speaker of the profile: ASN and BGP Identifier (dotted quad). */
export interface RsBfdNode {
  asn: number;
  routerId: string;
}

/** One directed half link: A (local) checks next hop `nextHop` of B (remote). */
export interface HalfLink {
  /** The Identifier field: 0, or the operator's per-LAN instance id. */
  instanceId: bigint;
  /** Client A, the one that checks (and reports). */
  local: RsBfdNode;
  /** Client B, owner of the next hop. */
  remote: RsBfdNode;
  /** A's LAN address (IPv4, or global IPv6), canonical text. */
  localAddress: string;
  /** N, B's next-hop address, same family as localAddress, canonical text. */
  nextHop: string;
}

export type ReachState = 'reachable' | 'unreachable';

/** A report (profile §5.3): a half link and the state A found. */
export interface Report extends HalfLink {
  state: ReachState;
  /** The IGP Metric as received. */
  metric: number;
}

/** A request (profile §5.1): a half link to check, and B's name when the RS gave one. */
export interface Request extends HalfLink {
  name?: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface ParseOptions {
  /** Only this Identifier is accepted (the configured instance id). */
  instanceId?: bigint;
}

/** The stable key of one (A's LAN address, N) pair, for maps. */
export function halfLinkKey(localAddress: string, nextHop: string): string {
  return `${localAddress}>${nextHop}`;
}

function isLinkLocal(b: Uint8Array): boolean {
  return b.length === 16 && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

/** fe80::/10 in canonical text (as decoded): the first group is fe80 to febf. */
function isLinkLocalText(a: string): boolean {
  return a.length > 4 && a[4] === ':' && a.startsWith('fe') && '89ab'.includes(a[2]!);
}

/** The Link NLRI of a half link. Throws BgpLsError when the half link breaks the profile. */
export function halfLinkNlri(h: HalfLink): LinkNlri {
  let a: Uint8Array;
  let n: Uint8Array;
  try {
    a = parseAddress(h.localAddress).bytes;
    n = parseAddress(h.nextHop).bytes;
  } catch (err) {
    throw new BgpLsError(err instanceof Error ? err.message : String(err), S);
  }
  if (a.length !== n.length) {
    throw new BgpLsError(`${h.localAddress} and ${h.nextHop} are of different families`, S);
  }
  if (isLinkLocal(a) || isLinkLocal(n)) {
    throw new BgpLsError('IPv6 link-local addresses are never used, only global ones', S);
  }
  const v4 = a.length === 4;
  return {
    kind: 'link',
    protocolId: PROTOCOL.BGP,
    identifier: h.instanceId,
    local: { asn: h.local.asn, bgpRouterId: h.local.routerId },
    remote: { asn: h.remote.asn, bgpRouterId: h.remote.routerId },
    link: v4
      ? { ipv4Interface: h.localAddress, ipv4Neighbor: h.nextHop }
      : { ipv6Interface: h.localAddress, ipv6Neighbor: h.nextHop },
  };
}

/** What the RS announces to A for one next hop: the NLRI, and Link Name naming B (display only). */
export function requestItem(
  h: HalfLink,
  name?: string,
): { nlri: LinkNlri; attribute?: LsAttribute } {
  const nlri = halfLinkNlri(h);
  return name !== undefined && name !== '' ? { nlri, attribute: { linkName: name } } : { nlri };
}

/** What A's agent announces back: the NLRI with IGP Metric 1 (reachable) or 0xFFFFFF (unreachable). */
export function reportItem(
  h: HalfLink,
  state: ReachState,
): { nlri: LinkNlri; attribute: LsAttribute } {
  return {
    nlri: halfLinkNlri(h),
    attribute: {
      igpMetric: state === 'reachable' ? METRIC_REACHABLE : METRIC_UNREACHABLE,
      igpMetricLength: 3,
    },
  };
}

function node(d: NodeDescriptor, which: string): RsBfdNode | string {
  if (d.asn === undefined) return `${which} Node Descriptors without AS (512)`;
  if (d.bgpRouterId === undefined) return `${which} Node Descriptors without BGP Router-ID (516)`;
  return { asn: d.asn, routerId: d.bgpRouterId };
}

/** A received NLRI as a half link of the profile, or the reason it is not one. */
export function parseHalfLink(n: LsNlri, opts: ParseOptions = {}): Parsed<HalfLink> {
  const no = (reason: string): Parsed<HalfLink> => ({ ok: false, reason: `${reason} (${S})` });
  if (n.kind !== 'link') {
    return no(`not a Link NLRI (${n.kind === 'node' ? 'Node NLRI' : `NLRI type ${n.nlriType}`})`);
  }
  if (n.protocolId !== PROTOCOL.BGP) return no(`Protocol-ID ${n.protocolId}, expected 7 (BGP)`);
  if (opts.instanceId !== undefined && n.identifier !== opts.instanceId) {
    return no(`Identifier ${n.identifier}, expected instance id ${opts.instanceId}`);
  }
  const local = node(n.local, 'Local');
  if (typeof local === 'string') return no(local);
  const remote = node(n.remote, 'Remote');
  if (typeof remote === 'string') return no(remote);
  const l = n.link;
  const has4 = l.ipv4Interface !== undefined || l.ipv4Neighbor !== undefined;
  const has6 = l.ipv6Interface !== undefined || l.ipv6Neighbor !== undefined;
  if (has4 && has6) return no('both IPv4 (259/260) and IPv6 (261/262) link descriptors');
  let localAddress: string | undefined;
  let nextHop: string | undefined;
  if (has4) {
    localAddress = l.ipv4Interface;
    nextHop = l.ipv4Neighbor;
    if (localAddress === undefined)
      return no('IPv4 neighbor address (260) without interface address (259)');
    if (nextHop === undefined)
      return no('IPv4 interface address (259) without neighbor address (260)');
  } else if (has6) {
    localAddress = l.ipv6Interface;
    nextHop = l.ipv6Neighbor;
    if (localAddress === undefined)
      return no('IPv6 neighbor address (262) without interface address (261)');
    if (nextHop === undefined)
      return no('IPv6 interface address (261) without neighbor address (262)');
    if (isLinkLocalText(localAddress) || isLinkLocalText(nextHop)) {
      return no('IPv6 link-local address in the link descriptors');
    }
  } else return no('no interface/neighbor address link descriptors (259/260 or 261/262)');
  if (localAddress === nextHop) return no(`interface and neighbor address are both ${nextHop}`);
  return {
    ok: true,
    value: { instanceId: n.identifier, local, remote, localAddress, nextHop },
  };
}

/** A received NLRI and attribute as a report (profile §5.3), or the reason it is not one. */
export function parseReport(
  n: LsNlri,
  attr: LsAttribute | null,
  opts: ParseOptions = {},
): Parsed<Report> {
  const h = parseHalfLink(n, opts);
  if (!h.ok) return h;
  const m = attr?.igpMetric;
  if (m === undefined) {
    return { ok: false, reason: 'report without IGP Metric (1095) (docs/rs-bfd-profile.md §5)' };
  }
  const state: ReachState = m === METRIC_UNREACHABLE ? 'unreachable' : 'reachable';
  return { ok: true, value: { ...h.value, state, metric: m } };
}

/** A received NLRI and attribute as a request (profile §5.1), or the reason it is not one. */
export function parseRequest(
  n: LsNlri,
  attr: LsAttribute | null,
  opts: ParseOptions = {},
): Parsed<Request> {
  const h = parseHalfLink(n, opts);
  if (!h.ok) return h;
  const name = attr?.linkName;
  return { ok: true, value: name !== undefined ? { ...h.value, name } : h.value };
}
