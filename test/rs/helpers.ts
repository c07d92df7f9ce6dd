// Test doubles for the route-server core: a fake Policy (communities drive the
// verdicts), a structured fake encoder (bytes are tokens the fake peer looks
// up), and a fake peer that applies what it receives to its own RIB.

import type {
  AsPathSegment,
  CodecOptions,
  NextHop,
  Nlri,
  PathAttributes,
  RawAttribute,
  UpdateMessage,
} from '../../src/bgp/types.ts';
import type {
  ClientConfig,
  ExportVerdict,
  ImportVerdict,
  Policy,
} from '../../src/rs/policy-api.ts';
import type { Sink, WireEncoder } from '../../src/rs/server.ts';
import { RouteServer, type RouteServerOptions, type SessionInfo } from '../../src/rs/server.ts';

export const RS_AS = 64500;
/** RFC 1997-style control community: 0:<peer-as> = do not announce to that peer. */
export const noExportTo = (asn: number): number => asn >>> 0;
/** 65501:<peer-as> = prepend the announcing AS once toward that peer. */
export const prependTo = (asn: number): number => ((65501 << 16) | asn) >>> 0;
/** 65535:666 here marks a route the fake import policy rejects (reason 14). */
export const REJECT_ME = ((65535 << 16) | 666) >>> 0;

export interface AttrSpec {
  asPath?: number[] | AsPathSegment[];
  origin?: 0 | 1 | 2;
  med?: number;
  nextHop?: string;
  communities?: number[];
  largeCommunities?: [number, number, number][];
  other?: RawAttribute[];
}

const enc = new TextEncoder();

/** Hand-built PathAttributes; `wire` is a deterministic token of the fields (interning key). */
export function attrs(spec: AttrSpec): PathAttributes {
  const asPath: AsPathSegment[] =
    spec.asPath === undefined
      ? []
      : typeof spec.asPath[0] === 'number' || spec.asPath.length === 0
        ? [{ type: 2, asns: spec.asPath as number[] }]
        : (spec.asPath as AsPathSegment[]);
  const a: PathAttributes = {
    wire: new Uint8Array(0),
    origin: spec.origin ?? 0,
    asPath,
    other: spec.other ?? [],
  };
  if (spec.nextHop !== undefined) a.nextHop = spec.nextHop;
  if (spec.med !== undefined) a.med = spec.med;
  if (spec.communities !== undefined) a.communities = spec.communities;
  if (spec.largeCommunities !== undefined) a.largeCommunities = spec.largeCommunities;
  a.wire = enc.encode(
    JSON.stringify({
      ...a,
      wire: undefined,
      other: a.other.map((o) => [o.flags, o.type, [...o.value]]),
    }),
  );
  return a;
}

export function announce(
  prefixes: (string | Nlri)[],
  a: PathAttributes,
  v6NextHop?: NextHop,
): UpdateMessage {
  const nlri = prefixes.map((p) => (typeof p === 'string' ? { prefix: p } : p));
  if (v6NextHop !== undefined) {
    return {
      type: 'update',
      withdrawn: [],
      attrs: a,
      nlri: [],
      mpReach: { afi: 2, safi: 1, nextHop: v6NextHop, nlri },
      mpUnreach: null,
      errors: [],
    };
  }
  return {
    type: 'update',
    withdrawn: [],
    attrs: a,
    nlri,
    mpReach: null,
    mpUnreach: null,
    errors: [],
  };
}

export function withdraw(prefixes: (string | Nlri)[], afi = 1): UpdateMessage {
  const nlri = prefixes.map((p) => (typeof p === 'string' ? { prefix: p } : p));
  if (afi === 2) {
    return {
      type: 'update',
      withdrawn: [],
      attrs: null,
      nlri: [],
      mpReach: null,
      mpUnreach: { afi: 2, safi: 1, nlri },
      errors: [],
    };
  }
  return {
    type: 'update',
    withdrawn: nlri,
    attrs: null,
    nlri: [],
    mpReach: null,
    mpUnreach: null,
    errors: [],
  };
}

export function endOfRib(afi = 1): UpdateMessage {
  if (afi === 2) {
    return {
      type: 'update',
      withdrawn: [],
      attrs: null,
      nlri: [],
      mpReach: null,
      mpUnreach: { afi: 2, safi: 1, nlri: [] },
      errors: [],
    };
  }
  return {
    type: 'update',
    withdrawn: [],
    attrs: null,
    nlri: [],
    mpReach: null,
    mpUnreach: null,
    errors: [],
  };
}

export function client(
  asn: number,
  addresses: string[],
  extra: Partial<ClientConfig> = {},
): ClientConfig {
  const { filtering, ...rest } = extra;
  return {
    id: `AS${asn}`,
    asn,
    addresses,
    description: `client AS${asn}`,
    passive: false,
    addPath: false,
    ...rest,
    filtering: { authorizedNextHops: [], irrPrefixes: null, irrOrigins: null, ...filtering },
  };
}

/** Fake Policy: communities drive it, as the real one does with arouteserver's scheme. */
export class FakePolicy implements Policy {
  importCalls = 0;
  exportCalls = 0;
  private readonly outCache = new WeakMap<PathAttributes, Map<string, PathAttributes>>();

  importPath(
    _from: ClientConfig,
    _afi: number,
    _prefix: string,
    _nh: string,
    a: PathAttributes,
  ): ImportVerdict {
    this.importCalls++;
    if (a.communities?.includes(REJECT_ME)) return { accepted: false, reasons: [14] };
    return { accepted: true, reasons: [] };
  }

  exportPath(_from: ClientConfig, to: ClientConfig, a: PathAttributes): ExportVerdict {
    this.exportCalls++;
    const c = a.communities ?? [];
    if (c.includes(noExportTo(to.asn))) return { send: false, prepend: 0 };
    return { send: true, prepend: c.includes(prependTo(to.asn)) ? 1 : 0 };
  }

  outbound(a: PathAttributes, prepend: number, fromAsn: number): PathAttributes {
    const isControl = (x: number) => x >>> 16 === 0 || x >>> 16 === 65501;
    const strip = a.communities?.some(isControl) ?? false;
    if (!strip && prepend === 0) return a;
    let m = this.outCache.get(a);
    if (m === undefined) this.outCache.set(a, (m = new Map()));
    const k = `${prepend}/${fromAsn}`;
    let o = m.get(k);
    if (o === undefined) {
      const asPath = a.asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
      if (prepend > 0) {
        const first = asPath[0];
        const extra = new Array<number>(prepend).fill(fromAsn);
        if (first !== undefined && first.type === 2) first.asns.unshift(...extra);
        else asPath.unshift({ type: 2, asns: extra });
      }
      o = { ...a, asPath };
      if (a.communities !== undefined) {
        const kept = a.communities.filter((x) => !isControl(x));
        if (kept.length > 0) o.communities = kept;
        else delete o.communities;
      }
      o.wire = enc.encode(`${new TextDecoder().decode(a.wire)}|out:${k}`);
      m.set(k, o);
    }
    return o;
  }
}

// ---------------------------------------------------------------- fake wire

export type Sent =
  | {
      kind: 'update';
      opts: CodecOptions;
      afi: number;
      safi: number;
      attrs: PathAttributes | null;
      nextHop?: NextHop;
      nlri: Nlri[];
      withdrawn: Nlri[];
    }
  | { kind: 'eor'; afi: number; safi: number }
  | { kind: 'rr'; afi: number; safi: number; subtype: number };

export class FakeWire implements WireEncoder {
  readonly registry = new WeakMap<Uint8Array, Sent>();
  updateCalls = 0;

  encodeUpdates(opts: CodecOptions, p: Parameters<WireEncoder['encodeUpdates']>[1]): Uint8Array[] {
    this.updateCalls++;
    const b = new Uint8Array(1);
    this.registry.set(b, {
      kind: 'update',
      opts,
      ...p,
      nlri: [...p.nlri],
      withdrawn: [...p.withdrawn],
    });
    return [b];
  }

  encodeEndOfRib(afi: number, safi: number): Uint8Array {
    const b = new Uint8Array(1);
    this.registry.set(b, { kind: 'eor', afi, safi });
    return b;
  }

  encodeRouteRefresh(afi: number, safi: number, subtype: number): Uint8Array {
    const b = new Uint8Array(1);
    this.registry.set(b, { kind: 'rr', afi, safi, subtype });
    return b;
  }
}

export interface HeldRoute {
  attrs: PathAttributes;
  nextHop: NextHop | undefined;
}

/** A client as seen from the wire: applies the UPDATEs it is sent to its own RIB. */
export class FakePeer implements Sink {
  readonly sent: Sent[] = [];
  readonly rib = new Map<string, HeldRoute>();
  writes = 0;
  /** When false, write() reports back-pressure (the bytes are still taken). */
  writable = true;
  private drainCb: (() => void) | null = null;
  private readonly wire: FakeWire;

  constructor(wire: FakeWire) {
    this.wire = wire;
  }

  write(bytes: Uint8Array): boolean {
    this.writes++;
    const m = this.wire.registry.get(bytes);
    if (m === undefined) throw new Error('unknown bytes');
    this.sent.push(m);
    if (m.kind === 'update') {
      for (const n of m.withdrawn) this.rib.delete(key(n));
      for (const n of m.nlri) this.rib.set(key(n), { attrs: m.attrs!, nextHop: m.nextHop });
    }
    return this.writable;
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  drain(): void {
    this.writable = true;
    this.drainCb?.();
  }

  get(prefix: string, pathId?: number): HeldRoute | undefined {
    return this.rib.get(key({ prefix, pathId }));
  }

  /** First AS of the route's AS_PATH (who announced it to the RS). */
  from(prefix: string): number | undefined {
    return this.get(prefix)?.attrs.asPath[0]?.asns[0];
  }

  updates(): Extract<Sent, { kind: 'update' }>[] {
    return this.sent.filter((m): m is Extract<Sent, { kind: 'update' }> => m.kind === 'update');
  }

  clear(): void {
    this.sent.length = 0;
  }
}

function key(n: Nlri): string {
  return n.pathId === undefined ? n.prefix : `${n.prefix}#${n.pathId}`;
}

export const CODEC: CodecOptions = { as4: true };

export function info(extra: Partial<SessionInfo> = {}): SessionInfo {
  return {
    codec: CODEC,
    families: new Set(['1/1', '2/1']),
    addPathTx: new Set(),
    groupKey: 'as4',
    ...extra,
  };
}

export interface Lab {
  rs: RouteServer;
  wire: FakeWire;
  policy: FakePolicy;
  peers: Map<number, FakePeer>;
  /** Adds client AS<asn> at 192.0.2.<asn % 250> and brings its session up. */
  up(asn: number, extra?: Partial<SessionInfo>, cfg?: Partial<ClientConfig>): FakePeer;
  send(asn: number, msg: UpdateMessage): void;
}

export function lab(opts: Partial<RouteServerOptions> = {}): Lab {
  const wire = new FakeWire();
  const policy = new FakePolicy();
  const rs = new RouteServer({
    policy,
    encoder: wire,
    scheduler: 'manual',
    log: { warn: () => {}, info: () => {} },
    ...opts,
  });
  const peers = new Map<number, FakePeer>();
  return {
    rs,
    wire,
    policy,
    peers,
    up(asn, extra = {}, cfg = {}) {
      const id = `AS${asn}`;
      if (rs.sessions().every((s) => s.client !== id))
        rs.addClient(client(asn, [addrOf(asn)], cfg));
      const peer = new FakePeer(wire);
      peers.set(asn, peer);
      rs.sessionUp(id, info({ bgpId: asn, ...extra }), peer);
      rs.flush();
      return peer;
    },
    send(asn, msg) {
      rs.receiveUpdate(`AS${asn}`, msg);
      rs.flush();
    },
  };
}

export function addrOf(asn: number): string {
  return `192.0.2.${asn % 250}`;
}
