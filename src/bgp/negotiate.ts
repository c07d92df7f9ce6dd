// Capability negotiation and OPEN validation (RFC 4271 §6.2, RFC 5492, RFC 6793,
// RFC 4760, RFC 7911, RFC 8654, RFC 2918, RFC 7313, RFC 4724, RFC 8950, RFC 6286).
//
// Pure functions, no I/O:
//   buildOpen(local)                     -> the OPEN we send for a local config
//   validateOpen(local, theirs)          -> throws BgpError (code 2) for an unacceptable OPEN
//   negotiate(local, ours, theirs)       -> Negotiated (validates first)
//   isBgpLsOnly(open)                    -> the OPEN offers only the BGP-LS family
//                                           (RS-BFD reachability session, rs-bfd-profile.md §3)
//   negotiatedPart(update, families)     -> the UPDATE without families not negotiated (RFC 4760 §6)
//   extendedNextHopFamilies(n)           -> families sent with an IPv6 next hop (RFC 8950)
//   gracefulRestartFamilies(n)           -> families whose stale paths wait for End-of-RIB (RFC 4724 §4.2)
//   helperRestartTime(n, down)           -> how long a lost session's paths stay stale (RFC 4724 §4.2)

import {
  AFI,
  AS_TRANS,
  BgpError,
  type Capability,
  type CodecOptions,
  type Family,
  familyKey,
  type OpenMessage,
  SAFI,
  type UpdateMessage,
} from './types.ts';

/** What the OPEN we send and the checks on theirs depend on. */
export interface LocalOpenConfig {
  localAs: number;
  /** Our BGP Identifier, unsigned 32-bit. */
  routerId: number;
  /** Expected peer AS; 0 accepts any. */
  peerAs: number;
  /** Proposed hold time in seconds (0, or >= 3). Default 90. */
  holdTime?: number;
  /** Families announced in Multiprotocol capabilities. Empty = no MP capability (IPv4 unicast implied). */
  families: Family[];
  addPath?: { afi: number; safi: number; mode: 1 | 2 | 3 }[];
  gracefulRestart?: { restartTime: number };
  /** Announce RFC 8654 Extended Message. Default false. */
  extendedMessage?: boolean;
  /** Announce route refresh (RFC 2918) and enhanced route refresh (RFC 7313). Default true. */
  routeRefresh?: boolean;
  extraCapabilities?: Capability[];
}

type GracefulRestartCap = Extract<Capability, { kind: 'graceful-restart' }>;
type ExtendedNextHopEntry = Extract<Capability, { kind: 'extended-next-hop' }>['entries'][number];

/** The outcome of the OPEN exchange. */
export interface Negotiated {
  /** Both sides announced 4-octet AS support (RFC 6793). */
  as4: boolean;
  /** The peer's AS, from its AS4 capability when present, else the My AS field. */
  peerAs: number;
  peerBgpId: number;
  /** min(ours, theirs) in seconds; 0 = no hold timer and no keepalives. */
  holdTime: number;
  /** holdTime / 3, rounded down; 0 when holdTime is 0. */
  keepaliveTime: number;
  /** `${afi}/${safi}` announced by both (IPv4 unicast implied for a side without MP capabilities, RFC 4760 §8). */
  families: Set<string>;
  /** Families where we receive path identifiers (we announced receive, they send; RFC 7911 §4). */
  addPathRx: Set<string>;
  /** Families where we send path identifiers (we announced send, they receive). */
  addPathTx: Set<string>;
  extendedMessage: boolean;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  /** The peer's Graceful Restart capability, or null. */
  gracefulRestart: GracefulRestartCap | null;
  /** Extended next hop encodings announced by both (RFC 8950). */
  extendedNextHop: ExtendedNextHopEntry[];
  /** Every capability the peer sent, unknown ones included. */
  peerCapabilities: Capability[];
  /** What the codec needs for this session. */
  codec: CodecOptions;
}

const DEFAULT_HOLD = 90;

function u16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}

/** The OPEN message we send for a local configuration. */
export function buildOpen(local: LocalOpenConfig): OpenMessage {
  const caps: Capability[] = [];
  for (const f of local.families) caps.push({ kind: 'multiprotocol', afi: f.afi, safi: f.safi });
  if (local.routeRefresh !== false) {
    caps.push({ kind: 'route-refresh' });
    caps.push({ kind: 'enhanced-route-refresh' });
  }
  if (local.extendedMessage) caps.push({ kind: 'extended-message' });
  if (local.gracefulRestart) {
    caps.push({
      kind: 'graceful-restart',
      restarting: false,
      // No N bit: we do not implement RFC 8538 (Hard Reset wrapping), so a
      // NOTIFICATION from us must end the peer's GR procedures.
      notification: false,
      restartTime: local.gracefulRestart.restartTime,
      families: local.families.map((f) => ({ ...f, forwardingPreserved: false })),
    });
  }
  caps.push({ kind: 'as4', asn: local.localAs });
  if (local.addPath && local.addPath.length > 0) {
    caps.push({ kind: 'add-path', entries: local.addPath.map((e) => ({ ...e })) });
  }
  if (local.extraCapabilities) caps.push(...local.extraCapabilities);
  return {
    type: 'open',
    version: 4,
    myAs: local.localAs > 0xffff ? AS_TRANS : local.localAs,
    holdTime: local.holdTime ?? DEFAULT_HOLD,
    bgpId: local.routerId >>> 0,
    capabilities: caps,
    otherParams: [],
  };
}

function findCap<K extends Capability['kind']>(
  caps: Capability[],
  kind: K,
): Extract<Capability, { kind: K }> | undefined {
  return caps.find((c) => c.kind === kind) as Extract<Capability, { kind: K }> | undefined;
}

/** The AS a received OPEN speaks for (RFC 6793 §4.1: the AS4 capability wins over My AS). */
export function openAs(open: OpenMessage): number {
  const as4 = findCap(open.capabilities, 'as4');
  return as4 ? as4.asn : open.myAs;
}

/** Families an OPEN announces, IPv4 unicast when it carries no MP capability (RFC 4760 §8). */
export function openFamilies(open: OpenMessage): Set<string> {
  const s = new Set<string>();
  for (const c of open.capabilities)
    if (c.kind === 'multiprotocol') s.add(familyKey(c.afi, c.safi));
  if (s.size === 0) s.add(familyKey(AFI.IPV4, SAFI.UNICAST));
  return s;
}

/**
 * RS-BFD profile §3: the OPEN offers the BGP-LS family (16388/71) in a
 * Multiprotocol capability and no other family.
 */
export function isBgpLsOnly(open: OpenMessage): boolean {
  let ls = false;
  for (const c of open.capabilities) {
    if (c.kind !== 'multiprotocol') continue;
    if (c.afi === AFI.BGPLS && c.safi === SAFI.BGPLS) ls = true;
    else return false;
  }
  return ls;
}

/**
 * Checks a received OPEN (RFC 4271 §6.2). Throws BgpError(2, subcode) with the
 * NOTIFICATION to send:
 *  - 1 Unsupported Version Number, data = the largest version we support (4);
 *  - 2 Bad Peer AS: AS differs from the configured one, or the AS4 capability
 *    carries AS_TRANS or disagrees with My AS (RFC 6793 §4.1, §9);
 *  - 3 Bad BGP Identifier: zero, or equal to ours on an internal session (RFC 6286 §2.2);
 *  - 4 Unsupported Optional Parameter: any optional parameter other than Capabilities;
 *  - 6 Unacceptable Hold Time: 1 or 2 seconds.
 */
export function validateOpen(local: LocalOpenConfig, theirs: OpenMessage): void {
  if (theirs.version !== 4) {
    throw new BgpError(2, 1, `unsupported BGP version ${theirs.version}`, u16(4));
  }
  const as4 = findCap(theirs.capabilities, 'as4');
  if (as4) {
    if (as4.asn === AS_TRANS) {
      throw new BgpError(2, 2, 'AS4 capability carries AS_TRANS (RFC 6793 §9)', u16(theirs.myAs));
    }
    const expectedMyAs = as4.asn > 0xffff ? AS_TRANS : as4.asn;
    if (theirs.myAs !== expectedMyAs) {
      throw new BgpError(
        2,
        2,
        `My AS ${theirs.myAs} disagrees with AS4 capability ${as4.asn} (RFC 6793 §4.1)`,
        u16(theirs.myAs),
      );
    }
  }
  const peerAs = as4 ? as4.asn : theirs.myAs;
  // peerAs 0: any AS (the companion agent, which need not know the RS's AS).
  if (local.peerAs !== 0 && peerAs !== local.peerAs) {
    throw new BgpError(2, 2, `peer AS ${peerAs}, expected ${local.peerAs}`, u16(theirs.myAs));
  }
  const id = theirs.bgpId >>> 0;
  if (id === 0) throw new BgpError(2, 3, 'BGP identifier 0');
  if (id === local.routerId >>> 0 && peerAs === local.localAs) {
    throw new BgpError(2, 3, 'BGP identifier equal to ours on an internal session (RFC 6286 §2.2)');
  }
  if (theirs.otherParams.length > 0) {
    throw new BgpError(
      2,
      4,
      `unsupported optional parameter ${theirs.otherParams[0]!.type}`,
      Uint8Array.of(theirs.otherParams[0]!.type),
    );
  }
  if (theirs.holdTime === 1 || theirs.holdTime === 2) {
    throw new BgpError(2, 6, `unacceptable hold time ${theirs.holdTime}`);
  }
}

/** Validates their OPEN and computes what both sides agreed. Throws BgpError (code 2). */
export function negotiate(
  local: LocalOpenConfig,
  ours: OpenMessage,
  theirs: OpenMessage,
): Negotiated {
  validateOpen(local, theirs);
  const oc = ours.capabilities;
  const tc = theirs.capabilities;
  const as4 = findCap(oc, 'as4') !== undefined && findCap(tc, 'as4') !== undefined;

  const holdTime = Math.min(ours.holdTime, theirs.holdTime);
  const keepaliveTime = Math.floor(holdTime / 3);

  const ourFams = openFamilies(ours);
  const families = new Set<string>();
  for (const f of openFamilies(theirs)) if (ourFams.has(f)) families.add(f);

  // RFC 7911 §4: receive when we said receive (1|3) and they said send (2|3);
  // send when we said send and they said receive.
  const addPathRx = new Set<string>();
  const addPathTx = new Set<string>();
  const ourAp = new Map<string, number>();
  const theirAp = new Map<string, number>();
  for (const c of oc)
    if (c.kind === 'add-path')
      for (const e of c.entries) ourAp.set(familyKey(e.afi, e.safi), e.mode);
  for (const c of tc)
    if (c.kind === 'add-path')
      for (const e of c.entries) theirAp.set(familyKey(e.afi, e.safi), e.mode);
  for (const [k, mine] of ourAp) {
    const peer = theirAp.get(k);
    if (peer === undefined || !families.has(k)) continue;
    if (mine & 1 && peer & 2) addPathRx.add(k);
    if (mine & 2 && peer & 1) addPathTx.add(k);
  }

  const both = (kind: Capability['kind']): boolean =>
    findCap(oc, kind) !== undefined && findCap(tc, kind) !== undefined;
  const extendedMessage = both('extended-message');

  const ourEnh = findCap(oc, 'extended-next-hop')?.entries ?? [];
  const theirEnh = findCap(tc, 'extended-next-hop')?.entries ?? [];
  const extendedNextHop = theirEnh.filter((t) =>
    ourEnh.some((o) => o.afi === t.afi && o.safi === t.safi && o.nextHopAfi === t.nextHopAfi),
  );

  const codec: CodecOptions = {
    as4,
    addPathRx,
    addPathTx,
    extendedMessage,
    external: openAs(theirs) !== local.localAs,
  };
  return {
    as4,
    peerAs: openAs(theirs),
    peerBgpId: theirs.bgpId >>> 0,
    holdTime,
    keepaliveTime,
    families,
    addPathRx,
    addPathTx,
    extendedMessage,
    routeRefresh: both('route-refresh'),
    enhancedRouteRefresh: both('enhanced-route-refresh'),
    gracefulRestart: findCap(tc, 'graceful-restart') ?? null,
    extendedNextHop,
    peerCapabilities: tc,
    codec,
  };
}

/**
 * Connection collision (RFC 4271 §6.8, RFC 6286 §2.3): which connection to keep
 * when two exist to the same peer. Keep the one initiated by the speaker with the
 * higher BGP Identifier; when the identifiers are equal, the one initiated by the
 * speaker with the larger AS number.
 */
export function collisionKeep(
  localId: number,
  remoteId: number,
  localAs: number,
  remoteAs: number,
): 'local-initiated' | 'remote-initiated' {
  const l = localId >>> 0;
  const r = remoteId >>> 0;
  if (l !== r) return l > r ? 'local-initiated' : 'remote-initiated';
  return localAs >= remoteAs ? 'local-initiated' : 'remote-initiated';
}

// ---------------------------------------------------------------- what a session does with the negotiation

/** RFC 8950: the families whose NLRI may be sent to this session with an IPv6 next hop. */
export function extendedNextHopFamilies(n: Pick<Negotiated, 'extendedNextHop'>): Set<string> {
  return new Set(
    n.extendedNextHop.filter((e) => e.nextHopAfi === AFI.IPV6).map((e) => familyKey(e.afi, e.safi)),
  );
}

/**
 * RFC 4724 §4.2: the families of the client's Graceful Restart capability with
 * the Forwarding State bit set (their stale paths wait for End-of-RIB; the
 * others go at once). Undefined when the client sent no GR capability.
 */
export function gracefulRestartFamilies(
  n: Pick<Negotiated, 'gracefulRestart'>,
): Set<string> | undefined {
  const gr = n.gracefulRestart;
  if (gr === null) return undefined;
  return new Set(
    gr.families.filter((f) => f.forwardingPreserved).map((f) => familyKey(f.afi, f.safi)),
  );
}

/**
 * An UPDATE with the parts for families not negotiated on the session removed
 * (RFC 4760 §6: multiprotocol routes only for the families both sides
 * announced). `update` is null when nothing is left to process; `dropped`
 * lists the families ignored. An empty UPDATE is the IPv4 End-of-RIB.
 */
export function negotiatedPart(
  u: UpdateMessage,
  families: ReadonlySet<string>,
): { update: UpdateMessage | null; dropped: string[] } {
  const dropped: string[] = [];
  const v4 = familyKey(AFI.IPV4, SAFI.UNICAST);
  const empty =
    u.attrs === null &&
    u.withdrawn.length === 0 &&
    u.nlri.length === 0 &&
    u.mpReach === null &&
    u.mpUnreach === null;
  if (empty) return families.has(v4) ? { update: u, dropped } : { update: null, dropped: [v4] };
  let out = u;
  const copy = (): UpdateMessage => {
    if (out === u) out = { ...u };
    return out;
  };
  if ((u.withdrawn.length > 0 || u.nlri.length > 0) && !families.has(v4)) {
    dropped.push(v4);
    const c = copy();
    c.withdrawn = [];
    c.nlri = [];
  }
  if (u.mpReach !== null) {
    const f = familyKey(u.mpReach.afi, u.mpReach.safi);
    if (!families.has(f)) {
      if (!dropped.includes(f)) dropped.push(f);
      copy().mpReach = null;
    }
  }
  if (u.mpUnreach !== null) {
    const f = familyKey(u.mpUnreach.afi, u.mpUnreach.safi);
    if (!families.has(f)) {
      if (!dropped.includes(f)) dropped.push(f);
      copy().mpUnreach = null;
    }
  }
  if (out === u) return { update: u, dropped };
  const left =
    out.withdrawn.length > 0 ||
    out.nlri.length > 0 ||
    out.mpReach !== null ||
    out.mpUnreach !== null;
  return { update: left ? out : null, dropped };
}

/**
 * RFC 4724 §4.2 helper: how long to keep the client's paths (stale) after a
 * session ended: its restart time when the session ended without a
 * NOTIFICATION (TCP loss, hold timer on the client's side), else 0. We do not
 * set the RFC 8538 N bit, so any NOTIFICATION, sent or received, ends
 * graceful restart (RFC 4724 §4.2, RFC 8538 §2).
 */
export function helperRestartTime(
  n: Pick<Negotiated, 'gracefulRestart'> | null,
  down: { sent?: unknown; received?: unknown },
): number {
  const gr = n?.gracefulRestart;
  if (gr === null || gr === undefined || gr.restartTime === 0) return 0;
  if (down.sent !== undefined || down.received !== undefined) return 0;
  return gr.restartTime;
}
