// Import and export policy of the route server (src/rs/policy-api.ts), built
// once from the configuration: every list becomes a set or a prefix-rule index,
// so a decision costs a few lookups. Semantics follow arouteserver's filters
// (reject reasons, announcement-control communities) and RFC 7947.

import type { AttributeFields } from '../bgp/attributes.ts';
import { makeAttributes as codecMakeAttributes } from '../bgp/attributes.ts';
import { tryParsePrefixInto } from '../bgp/prefix.ts';
import type { AsPathSegment, PathAttributes } from '../bgp/types.ts';
import type { ClientPolicySettings, PrefLen, RsClientConfig, RsConfig } from '../config/types.ts';
import { PrefixRuleSet, parseRangedPrefix } from './bogons.ts';
import { CommunityMatcher, type ControlRequests, REJECT_REASON_LD1 } from './communities.ts';
import type {
  ClientConfig,
  ExportVerdict,
  ImportVerdict,
  Policy,
  RejectCode,
} from './policy-api.ts';

/** arouteserver's reject reasons (large community RS_AS:65520:<code>). */
export const REJECT = {
  AS_PATH_LEN: 1,
  BOGON: 2,
  GLOBAL_BLACK_LIST: 3,
  INVALID_AFI: 4,
  INVALID_NEXT_HOP: 5,
  INVALID_LEFT_MOST_ASN: 6,
  INVALID_ASN_IN_AS_PATH: 7,
  TRANSIT_FREE_ASN: 8,
  ORIGIN_NOT_IN_IRR: 9,
  IPV6_NOT_GLOBAL_UNICAST: 10,
  CLIENT_BLACK_LIST: 11,
  PREFIX_NOT_IN_IRR: 12,
  INVALID_PREFIX_LEN: 13,
  RPKI_INVALID: 14,
  NEVER_VIA_RS_ASN: 15,
  /**
   * arouteserver's code for a reject without a reason of its own (its BIRD
   * templates use it for "AFI not enabled", hooks, ...). ixrs uses it for a
   * BLACKHOLE request: blackhole filtering is not implemented, and a request
   * must never travel on as an ordinary route.
   */
  UNKNOWN: 65535,
} as const;

/** BLACKHOLE well-known community (RFC 7999 §5), 65535:666. */
export const BLACKHOLE = 0xffff029a;

export const REJECT_REASON_TEXT: Readonly<Record<number, string>> = {
  1: 'Invalid AS_PATH length',
  2: 'Prefix is bogon',
  3: 'Prefix is in global blacklist',
  4: 'Invalid AFI',
  5: 'Invalid NEXT_HOP',
  6: 'Invalid left-most ASN',
  7: 'Invalid ASN in AS_PATH',
  8: 'Transit-free ASN in AS_PATH',
  9: 'Origin ASN not in IRRDB AS-SETs',
  10: 'IPv6 prefix not in global unicast space',
  11: 'Prefix is in client blacklist',
  12: 'Prefix not in IRRDB AS-SETs',
  13: 'Invalid prefix length',
  14: 'RPKI INVALID route',
  15: 'Never via route-servers ASN in AS_PATH',
  65535: 'Unknown (ixrs: BLACKHOLE request, blackhole filtering not implemented)',
};

/**
 * The large communities arouteserver's 'tag' reject policy attaches: RS_AS:65520:0
 * ("treat as rejected") and RS_AS:65520:<code> for the primary reason.
 */
export function rejectCommunities(
  rsAs: number,
  reasons: readonly RejectCode[],
): [number, number, number][] {
  const out: [number, number, number][] = [[rsAs, REJECT_REASON_LD1, 0]];
  const primary = reasons[0];
  if (primary !== undefined) out.push([rsAs, REJECT_REASON_LD1, primary]);
  return out;
}

/** True for ASNs that must not appear in an AS_PATH (RFC 7607, 6793, 5398, 6996, 7300; IANA reserved). */
export function isInvalidAsn(a: number): boolean {
  if (a === 0 || a === 23456) return true; // RFC 7607, AS_TRANS (RFC 6793)
  if (a >= 64496 && a <= 65551) return true; // documentation, private, 65535, documentation (32-bit)
  if (a >= 65552 && a <= 131071) return true; // IANA reserved
  return a >= 4200000000; // private (RFC 6996) and 4294967295 (RFC 7300)
}

interface ClientCtx {
  asn: number;
  nextHops: ReadonlySet<string>;
  v4: PrefLen;
  v6: PrefLen;
  maxAsPathLen: number;
  rejectInvalidAsn: boolean;
  blackList: PrefixRuleSet | null;
  irrPrefixes: PrefixRuleSet | null;
  irrOrigins: ReadonlySet<number> | null;
}

export interface PolicyOptions {
  /** Builds attributes (wire included) from fields; the codec's by default. */
  makeAttributes?: (f: AttributeFields) => PathAttributes;
}

const ACCEPT: ImportVerdict = Object.freeze({
  accepted: true,
  reasons: Object.freeze([]) as unknown as RejectCode[],
});
const NO_SEND: ExportVerdict = Object.freeze({ send: false, prepend: 0 });
const SEND: readonly ExportVerdict[] = [0, 1, 2, 3].map((n) =>
  Object.freeze({ send: true, prepend: n }),
);

export function createPolicy(cfg: RsConfig, opts: PolicyOptions = {}): Policy {
  return new RsPolicy(cfg, opts);
}

/** `reasons` with `code` added; the array is made with the first reason. */
function also(reasons: RejectCode[] | null, code: RejectCode): RejectCode[] {
  if (reasons === null) return [code];
  reasons.push(code);
  return reasons;
}

class RsPolicy implements Policy {
  private readonly rsAs: number;
  private readonly bogons: PrefixRuleSet;
  private readonly globalBlackList: PrefixRuleSet;
  private readonly transitFree: ReadonlySet<number>;
  private readonly neverVia: ReadonlySet<number>;
  private readonly matcher: CommunityMatcher;
  /** BLACKHOLE (65535:666) and the configured `blackholing` community, standard and large. */
  private readonly blackholeStd = new Set<number>([BLACKHOLE]);
  private readonly blackholeLrg: readonly [number, number, number] | null;
  private readonly make: (f: AttributeFields) => PathAttributes;
  private readonly cfg: RsConfig;
  /** ASN -> every LAN address of its clients (next_hop.policy same-as). */
  private readonly asnAddresses = new Map<number, Set<string>>();
  private readonly byObject = new WeakMap<ClientConfig, ClientCtx>();
  private readonly byId = new Map<string, ClientCtx>();
  private readonly controlCache = new WeakMap<PathAttributes, ControlRequests>();
  private readonly outCache = new WeakMap<PathAttributes, Map<number, PathAttributes>>();
  /** importPath parses each prefix into these (tryParsePrefixInto). */
  private readonly scratch4 = { afi: 1 as const, len: 0, bytes: new Uint8Array(4) };
  private readonly scratch6 = { afi: 2 as const, len: 0, bytes: new Uint8Array(16) };

  constructor(cfg: RsConfig, opts: PolicyOptions) {
    this.cfg = cfg;
    this.rsAs = cfg.rsAs;
    this.make = opts.makeAttributes ?? codecMakeAttributes;
    const f = cfg.filtering;
    this.bogons = new PrefixRuleSet(f.bogons);
    this.globalBlackList = new PrefixRuleSet(f.globalBlackList);
    this.transitFree = new Set(f.transitFree.action === 'reject' ? f.transitFree.asns : []);
    this.neverVia = new Set(f.neverViaRouteServers.asns);
    this.matcher = new CommunityMatcher(cfg.communities, cfg.rsAs);
    const bh = cfg.communities['blackholing'];
    if (bh?.std !== undefined && typeof bh.std.b === 'number')
      this.blackholeStd.add(((bh.std.a << 16) | bh.std.b) >>> 0);
    this.blackholeLrg =
      bh?.lrg !== undefined && typeof bh.lrg.c === 'number' ? [bh.lrg.a, bh.lrg.b, bh.lrg.c] : null;
    for (const c of cfg.clients) {
      let set = this.asnAddresses.get(c.asn);
      if (set === undefined) this.asnAddresses.set(c.asn, (set = new Set()));
      for (const a of c.addresses) set.add(a);
    }
    for (const c of cfg.clients) {
      const ctx = this.build(c, c.policy);
      this.byObject.set(c, ctx);
      this.byId.set(c.id, ctx);
    }
  }

  private build(c: ClientConfig, s: ClientPolicySettings | undefined): ClientCtx {
    const f = this.cfg.filtering;
    const policy = s?.nextHopPolicy ?? f.nextHopPolicy;
    const nextHops = new Set<string>(c.addresses);
    if (policy === 'same-as') for (const a of this.asnAddresses.get(c.asn) ?? []) nextHops.add(a);
    for (const a of c.filtering.authorizedNextHops) nextHops.add(a);
    let irrPrefixes: PrefixRuleSet | null = null;
    if (c.filtering.irrPrefixes !== null) {
      irrPrefixes = new PrefixRuleSet(
        c.filtering.irrPrefixes.map((t) => {
          const r = parseRangedPrefix(t);
          if (typeof r === 'string') throw new Error(`client ${c.id}: ${r}`);
          return r;
        }),
      );
    }
    return {
      asn: c.asn,
      nextHops,
      v4: c.filtering.ipv4PrefLen ?? f.ipv4PrefLen,
      v6: c.filtering.ipv6PrefLen ?? f.ipv6PrefLen,
      maxAsPathLen: s?.maxAsPathLen ?? f.maxAsPathLen,
      rejectInvalidAsn: s?.rejectInvalidAsInAsPath ?? f.rejectInvalidAsInAsPath,
      blackList: s !== undefined && s.blackList.length > 0 ? new PrefixRuleSet(s.blackList) : null,
      irrPrefixes,
      irrOrigins: c.filtering.irrOrigins === null ? null : new Set(c.filtering.irrOrigins),
    };
  }

  private ctxOf(c: ClientConfig): ClientCtx {
    let ctx = this.byObject.get(c);
    if (ctx !== undefined) return ctx;
    ctx = this.byId.get(c.id);
    if (ctx === undefined || ctx.asn !== c.asn) {
      ctx = this.build(c, (c as Partial<RsClientConfig>).policy);
    }
    this.byObject.set(c, ctx);
    return ctx;
  }

  importPath(
    from: ClientConfig,
    afi: number,
    prefix: string,
    nextHop: string,
    attrs: PathAttributes,
  ): ImportVerdict {
    const ctx = this.ctxOf(from);
    // Nothing allocated for an accepted path (the common case, once per NLRI
    // received): the reasons array only with a first reject, the prefix parsed
    // into this policy's scratch.
    let reasons: RejectCode[] | null = null;

    // Prefix checks: one parse (cheaper than a cache keyed by the text).
    const p = tryParsePrefixInto(prefix, this.scratch4, this.scratch6);
    if (p === null || p.afi !== afi) {
      reasons = also(reasons, REJECT.INVALID_AFI);
    } else {
      const bounds = p.afi === 1 ? ctx.v4 : ctx.v6;
      if (p.len < bounds.min || p.len > bounds.max)
        reasons = also(reasons, REJECT.INVALID_PREFIX_LEN);
      if (this.bogons.matches(p)) reasons = also(reasons, REJECT.BOGON);
      if (p.afi === 2 && (p.len < 3 || (p.bytes[0]! & 0xe0) !== 0x20))
        reasons = also(reasons, REJECT.IPV6_NOT_GLOBAL_UNICAST);
      if (this.globalBlackList.matches(p)) reasons = also(reasons, REJECT.GLOBAL_BLACK_LIST);
      if (ctx.blackList?.matches(p)) reasons = also(reasons, REJECT.CLIENT_BLACK_LIST);
    }

    // NEXT_HOP (RFC 7948 §4.8): the client's own address, or as next_hop.policy allows.
    if (!ctx.nextHops.has(nextHop)) reasons = also(reasons, REJECT.INVALID_NEXT_HOP);

    // AS_PATH.
    const path = attrs.asPath;
    let length = 0;
    let invalid = false;
    let transit = false;
    let never = false;
    const checkTransit = this.transitFree.size > 0;
    const checkNever = this.neverVia.size > 0;
    let first: number | undefined;
    let origin: number | undefined;
    for (let s = 0; s < path.length; s++) {
      const seg = path[s]!;
      const asns = seg.asns;
      if (seg.type === 2) length += asns.length;
      else if (seg.type === 1) length += 1; // an AS_SET counts as one (RFC 4271 §9.1.2.2)
      if (s === 0 && seg.type === 2) first = asns[0];
      for (let i = 0; i < asns.length; i++) {
        const a = asns[i]!;
        if (ctx.rejectInvalidAsn && isInvalidAsn(a)) invalid = true;
        if (checkTransit && (s !== 0 || i !== 0) && this.transitFree.has(a)) transit = true;
        if (checkNever && this.neverVia.has(a)) never = true;
      }
    }
    const last = path[path.length - 1];
    if (last !== undefined && last.type === 2) origin = last.asns[last.asns.length - 1];
    if (length > ctx.maxAsPathLen) reasons = also(reasons, REJECT.AS_PATH_LEN);
    if (first !== from.asn) reasons = also(reasons, REJECT.INVALID_LEFT_MOST_ASN);
    if (invalid) reasons = also(reasons, REJECT.INVALID_ASN_IN_AS_PATH);
    // arouteserver: a transit-free network may announce its own routes (left-most position).
    if (transit && !(first !== undefined && this.transitFree.has(first)))
      reasons = also(reasons, REJECT.TRANSIT_FREE_ASN);
    if (never) reasons = also(reasons, REJECT.NEVER_VIA_RS_ASN);

    // IRR allow-lists.
    if (ctx.irrPrefixes !== null && (p === null || !ctx.irrPrefixes.matches(p)))
      reasons = also(reasons, REJECT.PREFIX_NOT_IN_IRR);
    if (ctx.irrOrigins !== null && (origin === undefined || !ctx.irrOrigins.has(origin))) {
      reasons = also(reasons, REJECT.ORIGIN_NOT_IN_IRR);
    }

    // BLACKHOLE: blackhole filtering is not implemented; a request is rejected
    // (arouteserver's 65535), never passed on as an ordinary route.
    if (this.isBlackhole(attrs)) reasons = also(reasons, REJECT.UNKNOWN);

    return reasons === null ? ACCEPT : { accepted: false, reasons };
  }

  private isBlackhole(attrs: PathAttributes): boolean {
    const std = attrs.communities;
    if (std !== undefined) {
      for (let i = 0; i < std.length; i++) if (this.blackholeStd.has(std[i]!)) return true;
    }
    const l = this.blackholeLrg;
    const lrg = attrs.largeCommunities;
    if (l !== null && lrg !== undefined) {
      for (const [a, b, c] of lrg) if (a === l[0] && b === l[1] && c === l[2]) return true;
    }
    return false;
  }

  private controlOf(attrs: PathAttributes): ControlRequests {
    let c = this.controlCache.get(attrs);
    if (c === undefined) {
      c = this.matcher.control(attrs.communities, attrs.largeCommunities);
      this.controlCache.set(attrs, c);
    }
    return c;
  }

  exportPath(_from: ClientConfig, to: ClientConfig, attrs: PathAttributes): ExportVerdict {
    if (!this.matcher.hasControl) return SEND[0]!;
    if (attrs.communities === undefined && attrs.largeCommunities === undefined) return SEND[0]!;
    const c = this.controlOf(attrs);
    if (c.none) return SEND[0]!;
    // arouteserver route_can_be_announced_to(): do_not_announce_to_peer wins, then
    // announce_to_peer, then do_not_announce_to_any.
    if (c.doNotAnnounceToPeer.has(to.asn)) return NO_SEND;
    if (c.doNotAnnounceToAny && !c.announceToPeer.has(to.asn)) return NO_SEND;
    // apply_prepend(): *_to_peer first, then *_to_any.
    const n = c.prependToPeer.get(to.asn) ?? c.prependToAny;
    return SEND[n]!;
  }

  outbound(attrs: PathAttributes, prepend: number, fromAsn: number): PathAttributes {
    const key = prepend * 4294967296 + fromAsn;
    let byKey = this.outCache.get(attrs);
    const hit = byKey?.get(key);
    if (hit !== undefined) return hit;

    const m = this.matcher;
    let communities = attrs.communities;
    if (communities?.some((c) => m.isRsStd(c))) {
      communities = communities.filter((c) => !m.isRsStd(c));
    }
    let large = attrs.largeCommunities;
    if (large?.some(([a, b, c]) => m.isRsLarge(a, b, c))) {
      large = large.filter(([a, b, c]) => !m.isRsLarge(a, b, c));
    }
    if (communities === attrs.communities && large === attrs.largeCommunities && prepend <= 0) {
      // Sent as received (the usual case): nothing built, so nothing cached —
      // a Map per attribute set was ~230 bytes each, 4-5 MiB at 20,000 sets.
      return attrs;
    }
    const { wire: _wire, ...fields } = attrs;
    const f: AttributeFields = { ...fields };
    if (communities !== attrs.communities) {
      if (communities !== undefined && communities.length > 0) f.communities = communities;
      else delete f.communities;
    }
    if (large !== attrs.largeCommunities) {
      if (large !== undefined && large.length > 0) f.largeCommunities = large;
      else delete f.largeCommunities;
    }
    const asn = prepend > 0 ? this.prependAsn(attrs, fromAsn) : undefined;
    if (asn !== undefined) f.asPath = prependPath(attrs.asPath, prepend, asn);
    const result = this.make(f);
    if (byKey === undefined) {
      byKey = new Map();
      this.outCache.set(attrs, byKey);
    }
    byKey.set(key, result);
    return result;
  }

  /** The ASN to prepend: the announcing client's, never the RS's own (RFC 7947 §2.2). */
  private prependAsn(attrs: PathAttributes, fromAsn: number): number | undefined {
    if (fromAsn !== this.rsAs) return fromAsn;
    const first = attrs.asPath[0];
    const leftMost = first !== undefined && first.type === 2 ? first.asns[0] : undefined;
    return leftMost === this.rsAs ? undefined : leftMost;
  }
}

/** AS_PATH with `asn` prepended `n` times (into the leading AS_SEQUENCE when it has room). */
export function prependPath(
  path: readonly AsPathSegment[],
  n: number,
  asn: number,
): AsPathSegment[] {
  const add = new Array<number>(n).fill(asn);
  const head = path[0];
  if (head !== undefined && head.type === 2 && head.asns.length + n <= 255) {
    return [{ type: 2, asns: [...add, ...head.asns] }, ...path.slice(1)];
  }
  return [{ type: 2, asns: add }, ...path];
}
