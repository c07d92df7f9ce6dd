// BGP communities addressed to the route server (arouteserver's "communities"
// section): parsing of the std/lrg/ext values with the rs_as, peer_as and
// dyn_val macros, and a matcher that reads announcement-control requests from
// a path and recognises every RS-addressed community for scrubbing.

/** arouteserver community kinds: inbound = clients ask the RS; outbound = RS tags for clients; internal = RS only. */
export type CommunityType = 'inbound' | 'outbound' | 'internal';

export interface CommunitySchema {
  type: CommunityType;
  /** The last part must be the `peer_as` macro. */
  peerAs?: true;
  /** The last part must be the `dyn_val` macro. */
  dynVal?: true;
  /** ixrs acts on it (otherwise parsed, scrubbed on output, and warned about). */
  implemented?: true;
}

/** Every built-in community name arouteserver's general.yml knows. */
export const COMMUNITY_SCHEMA: Readonly<Record<string, CommunitySchema>> = {
  origin_present_in_as_set: { type: 'outbound' },
  origin_not_present_in_as_set: { type: 'outbound' },
  prefix_present_in_as_set: { type: 'outbound' },
  prefix_not_present_in_as_set: { type: 'outbound' },
  prefix_validated_via_rpki_roas: { type: 'outbound' },
  prefix_validated_via_arin_whois_db_dump: { type: 'outbound' },
  prefix_validated_via_registrobr_whois_db_dump: { type: 'outbound' },
  route_validated_via_white_list: { type: 'outbound' },
  rpki_bgp_origin_validation_not_performed: { type: 'outbound' },
  rpki_bgp_origin_validation_valid: { type: 'internal' },
  rpki_bgp_origin_validation_unknown: { type: 'internal' },
  rpki_bgp_origin_validation_invalid: { type: 'internal' },
  blackholing: { type: 'inbound' },
  do_not_announce_to_any: { type: 'inbound', implemented: true },
  do_not_announce_to_peer: { type: 'inbound', peerAs: true, implemented: true },
  announce_to_peer: { type: 'inbound', peerAs: true, implemented: true },
  do_not_announce_to_peers_with_rtt_lower_than: { type: 'inbound', dynVal: true },
  do_not_announce_to_peers_with_rtt_higher_than: { type: 'inbound', dynVal: true },
  announce_to_peers_with_rtt_lower_than: { type: 'inbound', dynVal: true },
  announce_to_peers_with_rtt_higher_than: { type: 'inbound', dynVal: true },
  prepend_once_to_any: { type: 'inbound', implemented: true },
  prepend_twice_to_any: { type: 'inbound', implemented: true },
  prepend_thrice_to_any: { type: 'inbound', implemented: true },
  prepend_once_to_peer: { type: 'inbound', peerAs: true, implemented: true },
  prepend_twice_to_peer: { type: 'inbound', peerAs: true, implemented: true },
  prepend_thrice_to_peer: { type: 'inbound', peerAs: true, implemented: true },
  prepend_once_to_peers_with_rtt_lower_than: { type: 'inbound', dynVal: true },
  prepend_twice_to_peers_with_rtt_lower_than: { type: 'inbound', dynVal: true },
  prepend_thrice_to_peers_with_rtt_lower_than: { type: 'inbound', dynVal: true },
  prepend_once_to_peers_with_rtt_higher_than: { type: 'inbound', dynVal: true },
  prepend_twice_to_peers_with_rtt_higher_than: { type: 'inbound', dynVal: true },
  prepend_thrice_to_peers_with_rtt_higher_than: { type: 'inbound', dynVal: true },
  add_noexport_to_any: { type: 'inbound' },
  add_noadvertise_to_any: { type: 'inbound' },
  add_noexport_to_peer: { type: 'inbound', peerAs: true },
  add_noadvertise_to_peer: { type: 'inbound', peerAs: true },
  reject_cause: { type: 'internal', dynVal: true, implemented: true },
  rejected_route_announced_by: { type: 'internal', dynVal: true },
};

export type Part = number | 'peer_as' | 'dyn_val';

/** A standard community pattern `a:b` (RFC 1997); `b` may be a macro. */
export interface StdCommunity {
  a: number;
  b: Part;
}

/** A large community pattern `a:b:c` (RFC 8092); `c` may be a macro. */
export interface LrgCommunity {
  a: number;
  b: number;
  c: Part;
}

/** One named community with its resolved forms (rs_as replaced). */
export interface CommunityValue {
  std?: StdCommunity;
  lrg?: LrgCommunity;
  /** Extended form kept as text: parsed, not acted upon. */
  ext?: string;
}

/** name -> value, only for the names configured. */
export type ResolvedCommunities = Readonly<Record<string, CommunityValue>>;

/** Euro-IX reject-reason large community: RS_AS:65520:<code>. */
export const REJECT_REASON_LD1 = 65520;

/**
 * Parse one community text with macros. Returns the pattern or a message
 * saying what is wrong.
 */
export function parseCommunity(
  text: string,
  fmt: 'std' | 'lrg',
  rsAs: number,
  schema: CommunitySchema,
): StdCommunity | LrgCommunity | string {
  const parts = text.split(':');
  const want = fmt === 'std' ? 2 : 3;
  if (parts.length !== want) {
    return `invalid ${fmt === 'std' ? 'standard' : 'large'} community '${text}' (expected ${fmt === 'std' ? 'x:x' : 'x:x:x'})`;
  }
  const max = fmt === 'std' ? 0xffff : 0xffffffff;
  const values: Part[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const last = i === parts.length - 1;
    if (p === 'peer_as' || p === 'dyn_val') {
      if (!last) return `'${text}': the '${p}' macro may appear only in the last part`;
      if (p === 'peer_as' && !schema.peerAs) return `'${text}': 'peer_as' macro not allowed here`;
      if (p === 'dyn_val' && !schema.dynVal) return `'${text}': 'dyn_val' macro not allowed here`;
      values.push(p);
      continue;
    }
    let n: number;
    if (p === 'rs_as') {
      n = rsAs;
    } else if (/^[0-9]+$/.test(p)) {
      n = Number(p);
    } else {
      return `invalid ${fmt === 'std' ? 'standard' : 'large'} community '${text}': '${p}' is not a number or macro`;
    }
    if (n > max) {
      return `'${text}': ${p === 'rs_as' ? `rs_as (${rsAs})` : p} does not fit in ${fmt === 'std' ? '16' : '32'} bits`;
    }
    values.push(n);
  }
  const lastPart = values[values.length - 1]!;
  if (schema.peerAs && lastPart !== 'peer_as')
    return `'${text}': the 'peer_as' macro is mandatory in this community`;
  if (schema.dynVal && lastPart !== 'dyn_val')
    return `'${text}': the 'dyn_val' macro is mandatory in this community`;
  if (fmt === 'std') return { a: values[0] as number, b: values[1]! };
  return { a: values[0] as number, b: values[1] as number, c: values[2]! };
}

/** Check an extended community text ("rt:x:x" / "ro:x:x"); null when fine, else the problem. */
export function checkExtCommunity(text: string, schema: CommunitySchema): string | null {
  const m = /^(rt|ro):([^:]+):([^:]+)$/.exec(text);
  if (m === null) return `invalid extended community '${text}' (expected rt:x:x or ro:x:x)`;
  const last = m[3]!;
  if (schema.peerAs && last !== 'peer_as')
    return `'${text}': the 'peer_as' macro is mandatory in this community`;
  if (schema.dynVal && last !== 'dyn_val')
    return `'${text}': the 'dyn_val' macro is mandatory in this community`;
  if (m[2] === 'peer_as' || m[2] === 'dyn_val')
    return `'${text}': the '${m[2]}' macro may appear only in the last part`;
  return null;
}

export function formatStd(c: StdCommunity): string {
  return `${c.a}:${c.b}`;
}

export function formatLrg(c: LrgCommunity): string {
  return `${c.a}:${c.b}:${c.c}`;
}

// ---------------------------------------------------------------- matching

/** The announcement-control requests a path carries. */
export interface ControlRequests {
  /** No control community at all (the common case). */
  readonly none: boolean;
  readonly doNotAnnounceToAny: boolean;
  readonly doNotAnnounceToPeer: ReadonlySet<number>;
  readonly announceToPeer: ReadonlySet<number>;
  /** Per target ASN, the prepend count requested by *_to_peer (first of once/twice/thrice wins). */
  readonly prependToPeer: ReadonlyMap<number, number>;
  /** Count requested by *_to_any, 0 when none. */
  readonly prependToAny: number;
}

const EMPTY_SET: ReadonlySet<number> = new Set();
const EMPTY_MAP: ReadonlyMap<number, number> = new Map();

export const NO_CONTROL: ControlRequests = Object.freeze({
  none: true,
  doNotAnnounceToAny: false,
  doNotAnnounceToPeer: EMPTY_SET,
  announceToPeer: EMPTY_SET,
  prependToPeer: EMPTY_MAP,
  prependToAny: 0,
});

type Action =
  | 'do_not_announce_to_any'
  | 'do_not_announce_to_peer'
  | 'announce_to_peer'
  | 'prepend_to_any'
  | 'prepend_to_peer'
  | 'other';

interface Entry {
  action: Action;
  /** Prepend count for prepend_* actions. */
  count: number;
}

const PREPEND_COUNT: Record<string, number> = { once: 1, twice: 2, thrice: 3 };

function actionOf(name: string): Entry {
  switch (name) {
    case 'do_not_announce_to_any':
    case 'do_not_announce_to_peer':
    case 'announce_to_peer':
      return { action: name, count: 0 };
  }
  const m = /^prepend_(once|twice|thrice)_to_(any|peer)$/.exec(name);
  if (m !== null) {
    return {
      action: m[2] === 'any' ? 'prepend_to_any' : 'prepend_to_peer',
      count: PREPEND_COUNT[m[1]!]!,
    };
  }
  return { action: 'other', count: 0 };
}

/**
 * Precompiled lookups over the configured communities. Standard communities are
 * uint32 keys; large ones are keyed by text. Wildcard entries (peer_as,
 * dyn_val in the last part) are keyed by their fixed leading parts.
 */
export class CommunityMatcher {
  private readonly stdExact = new Map<number, Entry[]>();
  private readonly stdWild = new Map<number, Entry[]>();
  private readonly lrgExact = new Map<string, Entry[]>();
  private readonly lrgWild = new Map<string, Entry[]>();
  private readonly rsAs: number;
  /** True when some configured community requests announcement control. */
  readonly hasControl: boolean;

  constructor(communities: ResolvedCommunities, rsAs: number) {
    this.rsAs = rsAs;
    let hasControl = false;
    for (const [name, value] of Object.entries(communities)) {
      const entry = actionOf(name);
      if (entry.action !== 'other') hasControl = true;
      if (value.std !== undefined) {
        const { a, b } = value.std;
        if (typeof b === 'number') push(this.stdExact, ((a << 16) | b) >>> 0, entry);
        else push(this.stdWild, a, entry);
      }
      if (value.lrg !== undefined) {
        const { a, b, c } = value.lrg;
        if (typeof c === 'number') push(this.lrgExact, `${a}:${b}:${c}`, entry);
        else push(this.lrgWild, `${a}:${b}`, entry);
      }
    }
    this.hasControl = hasControl;
  }

  /** True when a standard community (uint32) is addressed to the RS and must not leave it. */
  isRsStd(c: number): boolean {
    return this.stdExact.has(c) || this.stdWild.has(c >>> 16);
  }

  /** True when a large community is addressed to the RS (configured, or an RS_AS:65520:* reject reason). */
  isRsLarge(a: number, b: number, c: number): boolean {
    if (a === this.rsAs && b === REJECT_REASON_LD1) return true;
    return this.lrgExact.has(`${a}:${b}:${c}`) || this.lrgWild.has(`${a}:${b}`);
  }

  /** The control requests carried by these communities. */
  control(
    communities: readonly number[] | undefined,
    large: readonly (readonly [number, number, number])[] | undefined,
  ): ControlRequests {
    if (!this.hasControl) return NO_CONTROL;
    let acc: Acc | null = null;
    if (communities !== undefined) {
      for (const c of communities) {
        const exact = this.stdExact.get(c);
        if (exact !== undefined) acc = apply(acc, exact, -1);
        const wild = this.stdWild.get(c >>> 16);
        if (wild !== undefined) acc = apply(acc, wild, c & 0xffff);
      }
    }
    if (large !== undefined && (this.lrgExact.size > 0 || this.lrgWild.size > 0)) {
      for (const [a, b, c] of large) {
        const exact = this.lrgExact.get(`${a}:${b}:${c}`);
        if (exact !== undefined) acc = apply(acc, exact, -1);
        const wild = this.lrgWild.get(`${a}:${b}`);
        if (wild !== undefined) acc = apply(acc, wild, c);
      }
    }
    if (acc === null) return NO_CONTROL;
    return {
      none: false,
      doNotAnnounceToAny: acc.doNotAny,
      doNotAnnounceToPeer: acc.doNotPeer,
      announceToPeer: acc.announcePeer,
      prependToPeer: acc.prependPeer,
      prependToAny: acc.prependAny,
    };
  }
}

interface Acc {
  doNotAny: boolean;
  doNotPeer: Set<number>;
  announcePeer: Set<number>;
  prependPeer: Map<number, number>;
  prependAny: number;
}

function push<K>(m: Map<K, Entry[]>, k: K, e: Entry): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [e]);
  else list.push(e);
}

function apply(acc: Acc | null, entries: Entry[], peer: number): Acc | null {
  for (const e of entries) {
    if (e.action === 'other') continue;
    acc ??= {
      doNotAny: false,
      doNotPeer: new Set(),
      announcePeer: new Set(),
      prependPeer: new Map(),
      prependAny: 0,
    };
    switch (e.action) {
      case 'do_not_announce_to_any':
        acc.doNotAny = true;
        break;
      case 'do_not_announce_to_peer':
        acc.doNotPeer.add(peer);
        break;
      case 'announce_to_peer':
        acc.announcePeer.add(peer);
        break;
      case 'prepend_to_any':
        // arouteserver tries once, twice, thrice in that order: the smallest wins.
        if (acc.prependAny === 0 || e.count < acc.prependAny) acc.prependAny = e.count;
        break;
      case 'prepend_to_peer': {
        const had = acc.prependPeer.get(peer);
        if (had === undefined || e.count < had) acc.prependPeer.set(peer, e.count);
        break;
      }
    }
  }
  return acc;
}
