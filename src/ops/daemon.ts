// The process wiring of `ixrs run` (and `ixrs demo`): configuration -> policy
// -> route-server core (src/rs/server.ts) <-> BGP sessions (src/bgp/speaker.ts),
// plus the control socket (control.ts). No protocol logic lives here: peer
// events become core calls, core output goes to the peer's socket; the
// protocol decisions it needs are the BGP modules' (negotiate.ts: RFC 4760,
// 4724, 8950; notification.ts: RFC 4486). Input flow
// control (input-gate.ts): while the core's input queue is full, no client
// socket is read.

import type pino from 'pino';
import { applyExternalPeerRules, encodeMessage } from '../bgp/codec.ts';
import { describeNotification } from '../bgp/fsm.ts';
import {
  extendedNextHopFamilies,
  gracefulRestartFamilies,
  helperRestartTime,
  type Negotiated,
  negotiatedPart,
} from '../bgp/negotiate.ts';
import { maxPrefixCease } from '../bgp/notification.ts';
import { parseAddress } from '../bgp/prefix.ts';
import { type BgpPeer, BgpSpeaker, type ListenAddress, type PeerDown } from '../bgp/speaker.ts';
import {
  AFI,
  type CodecOptions,
  familyKey,
  type PathAttributes,
  SAFI,
  type UpdateMessage,
} from '../bgp/types.ts';
import { PEER_DOWN } from '../bmp/codec.ts';
import { BmpExporter, type BmpPeer, type BmpSource } from '../bmp/exporter.ts';
import type { BmpConfig, HttpConfig, MrtConfig } from '../config/observability.ts';
import type { RsClientConfig, RsConfig } from '../config/types.ts';
import { type Bgp4mpEndpoints, FSM_STATE_NUMBER } from '../mrt/codec.ts';
import { MrtService, type RibDumpSource, writeRibDump } from '../mrt/writer.ts';
import { Nhib } from '../nhib/nhib.ts';
import { createPolicy, REJECT_REASON_TEXT, rejectCommunities } from '../rs/policy.ts';
import { type LsChannel, RsBfd } from '../rs/rsbfd.ts';
import {
  type MaxPrefixEvent,
  RouteServer,
  type RouteView,
  type SessionHandle,
} from '../rs/server.ts';
import { codecEncoder } from '../rs/wire.ts';
import {
  adminSocketPath,
  type ControlContext,
  ControlServer,
  type SessionAction,
  type SessionActionResult,
  type SessionStatus,
} from './control.ts';
import { startHttp } from './http/index.ts';
import { NhibTelemetry } from './http/nhib-metrics.ts';
import type { HttpServer } from './http/server.ts';
import { InputGate } from './input-gate.ts';
import { MemoryReclaimer } from './memory.ts';
import type { CoreQueries } from './model.ts';

export interface DaemonOptions {
  config: RsConfig;
  logger: pino.Logger;
  /** Listen addresses instead of cfg.ixrs.listen (demo, tests). */
  listen?: ListenAddress[];
  /** Control socket path instead of cfg.ixrs.control_socket; null: no control socket. */
  controlSocket?: string | null;
  /** The core's input high-water mark, NLRI (RouteServerOptions.inputHighWater; tests). */
  inputHighWater?: number;
  /** Longest pause of input flow control, milliseconds (default 1000; tests). */
  inputMaxPauseMs?: number;
  /** HTTP listener instead of cfg.ixrs.http (tests: port 0); null: none. */
  http?: HttpConfig | null;
  /** MRT settings instead of cfg.ixrs.mrt (tests); null: none. */
  mrt?: MrtConfig | null;
  /** BMP settings instead of cfg.ixrs.bmp (tests); null: none. */
  bmp?: BmpConfig | null;
}

const UNICAST = [
  { afi: AFI.IPV4, safi: SAFI.UNICAST },
  { afi: AFI.IPV6, safi: SAFI.UNICAST },
];
const BGPLS = { afi: AFI.BGPLS, safi: SAFI.BGPLS };
const BGPLS_KEY = familyKey(AFI.BGPLS, SAFI.BGPLS);

/** RFC 8950 §4 for IPv4 unicast: we accept and send IPv4 NLRI with an IPv6 next hop where negotiated. */
const EXTENDED_NEXT_HOP = {
  kind: 'extended-next-hop' as const,
  entries: [{ afi: AFI.IPV4, safi: SAFI.UNICAST, nextHopAfi: AFI.IPV6 }],
};

/**
 * reject_policy 'tag' (arouteserver): rejected paths are kept and shown by the
 * looking glass with the reject-reason large communities (RS_AS:65520:0 and
 * RS_AS:65520:<code>) added to what was received. Only the view changes: the
 * stored path keeps the received attributes, and rejected paths are never
 * sent to clients.
 */
export function tagRejectedViews(core: CoreQueries, rsAs: number): CoreQueries {
  const tag = (v: RouteView): RouteView => {
    if (v.accepted) return v;
    const tags = rejectCommunities(rsAs, v.reasons);
    const have = v.attrs.largeCommunities ?? [];
    const add = tags.filter((t) => !have.some((h) => h.every((x, i) => x === t[i])));
    const attrs: PathAttributes = { ...v.attrs, largeCommunities: [...have, ...add] };
    return { ...v, attrs };
  };
  return {
    routes: (prefix, clientId) => core.routes(prefix, clientId).map(tag),
    findRoutes: (q) => {
      const r = core.findRoutes(q);
      return { routes: r.routes.map(tag), truncated: r.truncated };
    },
    exported: (id, limit) => core.exported(id, limit),
    clientSummary: (id) => core.clientSummary(id),
    ribCount: (id) => core.ribCount(id),
    sessions: () => core.sessions(),
  };
}

export function u32ToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function ipv4ToU32(text: string): number {
  const b = parseAddress(text).bytes;
  if (b.length !== 4) throw new Error(`router id must be IPv4: ${text}`);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** Sessions whose output would be byte-identical share a group (same codec options). */
export function groupKeyOf(codec: CodecOptions): string {
  const ap = [...(codec.addPathTx ?? [])].sort().join(',');
  return `as4=${codec.as4 ? 1 : 0};ext=${codec.extendedMessage ? 1 : 0};aptx=${ap}`;
}

/** One BGP session of the route server: a client address. */
interface Binding {
  client: RsClientConfig;
  address: string;
  /** The core's session (its key names it in logs). */
  session: SessionHandle;
  peer: BgpPeer;
  negotiated: Negotiated | null;
  onDrain: (() => void) | null;
  /** UPDATEs (or parts) ignored: families not negotiated on this session. */
  ignoredUpdates: number;
  /** When the session last came up (BMP Peer Up), ms since the epoch. */
  upSince: number;
  /** Families already logged as ignored since the session came up. */
  ignoredLogged: Set<string>;
  /** RS-BFD over this routing session (BGP-LS negotiated on it), while up. */
  lsChannel: LsChannel | null;
  /** `ixrs session disable`: stays down until `enable`. */
  disabled: boolean;
  /** Stopped by max-prefix (shutdown, or restart until restartAt). */
  maxPrefixStop: { afi: number; limit: number; at: Date; restartAt: Date | null } | null;
  restartTimer: NodeJS.Timeout | null;
  establishedAt: Date | null;
  lastDown: { at: Date; reason: string; sent: string | null; received: string | null } | null;
}

export class Daemon {
  readonly config: RsConfig;
  readonly core: RouteServer;
  readonly speaker: BgpSpeaker;
  /** Input flow control over the clients' routing sessions (not reachability sessions). */
  readonly inputGate: InputGate;
  control: ControlServer | null = null;
  /** cfg.ixrs.http (src/ops/http/), when configured. */
  http: HttpServer | null = null;
  private readonly httpConfig: HttpConfig | null;
  /** cfg.ixrs.mrt (src/mrt/): periodic RIB dumps and the update log, when configured. */
  mrt: MrtService | null = null;
  /** cfg.ixrs.bmp (src/bmp/): the BMP exporter, when configured. */
  bmp: BmpExporter | null = null;
  /** The owner-only socket beside `control` (state-changing commands). */
  admin: ControlServer | null = null;
  private readonly log: pino.Logger;
  private readonly bindings = new Map<string, Binding>();
  private stopping: Promise<void> | null = null;
  private readonly memory: MemoryReclaimer;
  /** RS-BFD (docs/rs-bfd-profile.md): the clients' NHIBs, requests and reports. */
  readonly nhib: Nhib;
  readonly rsbfd: RsBfd;
  /** NHIB changes for /metrics and the web page (report-to-UPDATE latency). */
  readonly nhibTelemetry: NhibTelemetry;

  constructor(opts: DaemonOptions) {
    const cfg = opts.config;
    this.config = cfg;
    this.log = opts.logger;
    this.httpConfig = opts.http === undefined ? cfg.ixrs.http : opts.http;
    this.memory = new MemoryReclaimer({ log: this.log.child({ component: 'memory' }) });
    this.core = new RouteServer({
      policy: createPolicy(cfg),
      encoder: codecEncoder,
      onMaxPrefix: (ev) => this.onMaxPrefix(ev),
      // 'tag' keeps rejected paths for the looking glass (never sent to clients).
      keepRejected: cfg.rejectPolicy === 'tag',
      ...(opts.inputHighWater !== undefined ? { inputHighWater: opts.inputHighWater } : {}),
      // Only called after construction (the gate is set below).
      onInputDrain: () => this.inputGate.drained(),
      // Only called after construction (rsbfd is set below).
      onNextHopUsage: (ev) => this.rsbfd.nextHopUsage(ev),
      // Gives memory back after a mass session loss (ops/memory.ts).
      onSettled: (ev) => this.memory.settled(ev),
      log: this.log.child({ component: 'rs' }),
    });
    const rsBfd = cfg.ixrs.rsBfd;
    this.nhib = new Nhib({
      hiddenPaths: (c, nh) => this.core.hiddenPaths(c, nh),
      hiddenPrefixes: (c, nh, n) => this.core.hiddenPrefixes(c, nh, n),
    });
    for (const c of cfg.clients) {
      this.nhib.addClient({
        id: c.id,
        asn: c.asn,
        addresses: c.addresses,
        settings: {
          enabled: c.rsBfd.enabled,
          instanceId: rsBfd.instanceId,
          damping: c.rsBfd.damping,
        },
      });
    }
    this.nhibTelemetry = new NhibTelemetry(() => this.core.idle());
    this.rsbfd = new RsBfd({
      core: this.core,
      onChanges: (ev, at) => this.nhibTelemetry.changes(ev, at),
      nhib: this.nhib,
      clients: cfg.clients.map((c) => ({
        id: c.id,
        asn: c.asn,
        description: c.description,
        addresses: c.addresses,
        enabled: c.rsBfd.enabled,
      })),
      rsAs: cfg.rsAs,
      instanceId: rsBfd.instanceId,
      routerIdOf: (id) => this.routerIdOf(id),
      timers: {
        now: () => Date.now(),
        setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
        clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
      },
      log: this.log.child({ component: 'rs-bfd' }),
    });
    const ipVer = cfg.ixrs.ipVersion;
    this.speaker = new BgpSpeaker({
      // The speaker binds "::" IPv6-only when "0.0.0.0" shares its port, or
      // when this instance is limited to IPv6 (ip_ver 6, beside an IPv4 one).
      listen: (opts.listen ?? cfg.ixrs.listen).map((l) =>
        ipVer === 6 && l.address === '::' ? { ...l, ipv6Only: true } : l,
      ),
      logger: this.log.child({ component: 'bgp' }),
    });
    const routerId = ipv4ToU32(cfg.routerId);
    // One family per instance (ip_ver): only that family's sessions and routes.
    const families =
      ipVer === null
        ? UNICAST
        : UNICAST.filter((f) => f.afi === (ipVer === 4 ? AFI.IPV4 : AFI.IPV6));
    for (const client of cfg.clients) {
      this.core.addClient(client);
      for (const address of client.addresses) {
        const v6 = address.includes(':');
        if (ipVer !== null && (ipVer === 6) !== v6) continue;
        // Active sessions leave from the configured address (BIRD's `local`).
        const localAddress = v6 ? cfg.ixrs.localAddress.ipv6 : cfg.ixrs.localAddress.ipv4;
        const session = this.core.sessionHandle(client.id, address);
        const peer = this.speaker.addPeer({
          name: session.key,
          peerAddress: address,
          peerAs: client.asn,
          localAs: cfg.rsAs,
          routerId,
          passive: client.passive,
          ...(localAddress !== null ? { localAddress } : {}),
          holdTime: cfg.ixrs.holdTime,
          fsm: {
            idleHoldTime: cfg.ixrs.reconnectBackoff.initialS,
            idleHoldMax: cfg.ixrs.reconnectBackoff.maxS,
          },
          // RS-BFD profile §2-3: BGP-LS offered on the routing session too, for a
          // router that does the agent's job itself; an OPEN offering only
          // BGP-LS from the client's address is its agent's reachability session.
          families: client.rsBfd.enabled ? [...families, BGPLS] : families,
          acceptLsSession: client.rsBfd.enabled,
          // RFC 7911: offer to send several paths per prefix when the client asked (cfg.add_path).
          addPath: client.addPath ? families.map((f) => ({ ...f, mode: 2 as const })) : [],
          // RFC 4724 helper: we announce the capability (restart time 0, no
          // forwarding state) so clients may restart gracefully toward us.
          gracefulRestart: { restartTime: 0 },
          extendedMessage: true,
          routeRefresh: true,
          // RFC 8950 only where cfg.rfc8950 asks for it (arouteserver's default False).
          extraCapabilities: client.rfc8950 && ipVer !== 6 ? [EXTENDED_NEXT_HOP] : [],
        });
        const b: Binding = {
          client,
          address,
          session,
          peer,
          negotiated: null,
          onDrain: null,
          ignoredUpdates: 0,
          upSince: 0,
          ignoredLogged: new Set(),
          lsChannel: null,
          disabled: false,
          maxPrefixStop: null,
          restartTimer: null,
          establishedAt: null,
          lastDown: null,
        };
        this.bindings.set(session.key, b);
        this.wire(b);
      }
    }
    // Every configured peer, whatever its state: one that connects while input
    // is paused starts paused. BGP-LS reachability sessions (RS-BFD, speaker
    // 'ls-session') feed no UPDATEs to the core and are never paused.
    this.inputGate = new InputGate(
      [...this.bindings.values()].map((b) => b.peer),
      {
        maxPauseMs: opts.inputMaxPauseMs ?? (() => this.inputPauseBound()),
        log: this.log.child({ component: 'input' }),
      },
    );
    this.speaker.on('ls-session', (ls: BgpPeer, owner: BgpPeer) => this.wireLs(ls, owner));
    const bmp = opts.bmp === undefined ? cfg.ixrs.bmp : opts.bmp;
    if (bmp !== null) {
      this.bmp = new BmpExporter(bmp, this.bmpSource(bmp), this.log.child({ component: 'bmp' }));
    }
    const mrt = opts.mrt === undefined ? cfg.ixrs.mrt : opts.mrt;
    if (mrt !== null) {
      this.mrt = new MrtService(mrt, this.ribDumpSource(), this.log.child({ component: 'mrt' }));
    }
  }

  /**
   * How long input may stay paused: a third of the smallest hold time
   * negotiated on an established session (its peer's KEEPALIVEs come at that
   * interval, so each socket is read at least once per hold time), 1 to 30 s.
   */
  private inputPauseBound(): number {
    let ms = 30_000;
    for (const b of this.bindings.values()) {
      const h = b.negotiated?.holdTime ?? 0;
      if (h > 0) ms = Math.min(ms, (h * 1000) / 3);
    }
    return Math.max(1000, Math.floor(ms));
  }

  private wire(b: Binding): void {
    const { peer } = b;
    const log = this.log.child({ peer: b.session.key });
    peer.on('established', (n: Negotiated) => {
      b.negotiated = n;
      b.upSince = Date.now();
      b.establishedAt = new Date();
      b.ignoredLogged.clear();
      log.warn(
        {
          asn: b.client.asn,
          holdTime: n.holdTime,
          families: [...n.families],
          addPathTx: [...n.addPathTx],
        },
        'session up',
      );
      // BMP Peer Up first: the core's first writes to the session are Adj-RIB-Out.
      this.bmp?.peerUp(this.bmpPeer(b, n));
      this.core.sessionUp(
        b.session,
        {
          codec: n.codec,
          families: n.families,
          addPathTx: n.addPathTx,
          groupKey: groupKeyOf(n.codec),
          bgpId: n.peerBgpId,
          address: b.address,
          enhancedRouteRefresh: n.enhancedRouteRefresh,
          gracefulRestart: n.gracefulRestart !== null,
          extendedNextHop: extendedNextHopFamilies(n),
          ...(n.gracefulRestart !== null
            ? { gracefulRestartFamilies: gracefulRestartFamilies(n) }
            : {}),
        },
        {
          write: (bytes) => {
            this.bmp?.sent(b.session.key, bytes);
            return peer.sendRaw(bytes);
          },
          onDrain: (cb) => {
            b.onDrain = cb;
          },
        },
      );
      this.mainLsUp(b, n);
    });
    peer.on('drain', () => b.onDrain?.());
    peer.on('update', (msg: UpdateMessage) => {
      // The update log (MRT BGP4MP) and BMP pre-policy Route Monitoring: the
      // message as received, re-encoded with the session's options.
      const mrt = this.mrt?.logging === true;
      if ((mrt || this.bmp?.connected) && b.negotiated !== null) {
        const bytes = encodeMessage(msg, b.negotiated.codec);
        if (mrt) this.mrt!.message(this.mrtEndpoints(b), bytes);
        this.bmp?.received(b.session.key, bytes);
      }
      this.onUpdate(b, msg, log);
    });
    peer.on('state', (from: string, to: string) => {
      if (!this.mrt?.logging) return;
      const f = FSM_STATE_NUMBER[from];
      const t = FSM_STATE_NUMBER[to];
      if (f !== undefined && t !== undefined) this.mrt.stateChange(this.mrtEndpoints(b), f, t);
    });
    peer.on('route-refresh', (msg: { afi: number; safi: number; subtype: number }) => {
      // RFC 7313: only a normal request (subtype 0) asks us to re-advertise;
      // BoRR/EoRR from the client frame its own re-advertisement.
      if (msg.subtype === 0) this.core.routeRefresh(b.session, msg.afi, msg.safi);
    });
    peer.on('down', (d: PeerDown) => {
      if (d.wasEstablished && this.bmp !== null) {
        // RFC 7854 §4.9: who closed it, with the NOTIFICATION when there was one.
        const codec = b.negotiated?.codec ?? { as4: true };
        if (d.sent !== undefined) {
          this.bmp.peerDown(
            b.session.key,
            PEER_DOWN.LOCAL_NOTIFICATION,
            encodeMessage(d.sent, codec),
          );
        } else if (d.received !== undefined) {
          this.bmp.peerDown(
            b.session.key,
            PEER_DOWN.REMOTE_NOTIFICATION,
            encodeMessage(d.received, codec),
          );
        } else {
          this.bmp.peerDown(b.session.key, PEER_DOWN.REMOTE_NO_DATA);
        }
      }
      const n = b.negotiated;
      b.negotiated = null;
      b.onDrain = null;
      if (b.lsChannel !== null) this.rsbfd.channelDown(b.client.id, b.lsChannel);
      b.lsChannel = null;
      b.establishedAt = null;
      b.lastDown = {
        at: new Date(),
        reason: d.reason,
        sent: d.sent !== undefined ? describeNotification(d.sent) : null,
        received: d.received !== undefined ? describeNotification(d.received) : null,
      };
      if (!d.wasEstablished) return;
      if (this.stopping !== null) return;
      const restartTime = helperRestartTime(n, d);
      log.warn(
        {
          reason: d.reason,
          ...(d.sent !== undefined ? { sent: describeNotification(d.sent) } : {}),
          ...(d.received !== undefined ? { received: describeNotification(d.received) } : {}),
          ...(restartTime > 0 ? { gracefulRestart: restartTime } : {}),
        },
        'session down',
      );
      this.core.sessionDown(b.session, restartTime > 0 ? { gracefulRestart: { restartTime } } : {});
    });
  }

  /**
   * A received UPDATE on its way to the core: parts for families not
   * negotiated on the session are ignored (counted, logged once per family and
   * session), then the RFC 7606 rules for external peers apply (every route
   * server client is one, RFC 7947 §2).
   */
  private onUpdate(b: Binding, msg: UpdateMessage, log: pino.Logger): void {
    const n = b.negotiated;
    if (n === null) return;
    const { update, dropped } = negotiatedPart(msg, n.families);
    if (dropped.length > 0) {
      b.ignoredUpdates++;
      const fresh = dropped.filter((f) => !b.ignoredLogged.has(f));
      if (fresh.length > 0) {
        for (const f of fresh) b.ignoredLogged.add(f);
        log.warn(
          { families: fresh, negotiated: [...n.families] },
          'UPDATE for a family not negotiated on this session ignored',
        );
      }
    }
    if (update === null) return;
    let routes: UpdateMessage | null = update;
    if (n.families.has(BGPLS_KEY) && this.rsbfd.receive(b.client.id, update)) {
      // The BGP-LS part went to RS-BFD; what is left (if anything) is routes.
      routes = negotiatedPart(update, this.routingFamilies(n)).update;
      if (routes === null) return;
    }
    // False: the core's input queue is full; stop reading every client until it drains.
    if (!this.core.receiveUpdate(b.session, applyExternalPeerRules(routes)))
      this.inputGate.full(b.peer);
  }

  private routingFamilies(n: Negotiated): Set<string> {
    const f = new Set(n.families);
    f.delete(BGPLS_KEY);
    return f;
  }

  /**
   * RS-BFD over a client's routing session (profile §2: a router that does
   * the agent's job itself): active while BGP-LS is negotiated on it and no
   * agent's reachability session is (the agent's is preferred).
   */
  private mainLsUp(b: Binding, n: Negotiated): void {
    if (!n.families.has(BGPLS_KEY) || this.rsbfd.hasChannel(b.client.id)) return;
    const ch: LsChannel = {
      kind: 'main',
      codec: n.codec,
      localAddress: b.peer.localAddress ?? this.config.routerId,
      peerRouterId: u32ToIpv4(n.peerBgpId),
      send: (msgs) => {
        for (const m of msgs) b.peer.sendRaw(m);
      },
    };
    b.lsChannel = ch;
    this.rsbfd.channelUp(b.client.id, ch);
  }

  /**
   * The client's agent connected: its BGP-LS-only session (speaker
   * 'ls-session', profile §3) becomes the client's reachability channel.
   */
  private wireLs(ls: BgpPeer, owner: BgpPeer): void {
    const b = [...this.bindings.values()].find((x) => x.peer === owner);
    if (b === undefined) return;
    const id = b.client.id;
    const log = this.log.child({ peer: `${b.session.key}/ls` });
    let ch: LsChannel | null = null;
    ls.on('established', (n: Negotiated) => {
      if (!n.families.has(BGPLS_KEY)) return;
      log.warn({ asn: b.client.asn, routerId: u32ToIpv4(n.peerBgpId) }, 'reachability session up');
      ch = {
        kind: 'agent',
        codec: n.codec,
        localAddress: ls.localAddress ?? this.config.routerId,
        peerRouterId: u32ToIpv4(n.peerBgpId),
        send: (msgs) => {
          for (const m of msgs) ls.sendRaw(m);
        },
      };
      // The routing session's channel (if any) gives way to the agent's.
      for (const x of this.bindings.values()) if (x.client.id === id) x.lsChannel = null;
      this.rsbfd.channelUp(id, ch);
    });
    ls.on('update', (msg: UpdateMessage) => {
      if (ch !== null) this.rsbfd.receive(id, msg, ch);
    });
    ls.on('down', (d: PeerDown) => {
      if (ch === null) return;
      log.warn({ reason: d.reason }, 'reachability session down: fail open');
      this.rsbfd.channelDown(id, ch);
      ch = null;
      // Back to the routing session's BGP-LS, where negotiated.
      for (const x of this.bindings.values()) {
        if (x.client.id === id && x.negotiated !== null) this.mainLsUp(x, x.negotiated);
      }
    });
  }

  /** The BGP Identifier of the client's routing session (else its agent's, else 0.0.0.0). */
  private routerIdOf(clientId: string): string {
    for (const b of this.bindings.values()) {
      if (b.client.id === clientId && b.negotiated !== null)
        return u32ToIpv4(b.negotiated.peerBgpId);
    }
    return '0.0.0.0';
  }

  /** UPDATEs (or parts of them) ignored on the session to `address` (families not negotiated). */
  ignoredUpdates(address: string): number {
    for (const b of this.bindings.values()) {
      if (b.address === address) return b.ignoredUpdates;
    }
    return 0;
  }

  private onMaxPrefix(ev: MaxPrefixEvent): void {
    // The core has logged it (warn); here the session layer acts.
    const b = this.bindings.get(ev.session);
    if (b === undefined || (ev.action !== 'shutdown' && ev.action !== 'restart')) return;
    const n = maxPrefixCease(ev.afi, SAFI.UNICAST, ev.limit);
    // 'shutdown': down until `ixrs session enable` (or a restart of ixrs);
    // 'restart': down for max_prefix.restart_after minutes, then started again.
    const now = new Date();
    const afterMs = b.client.maxPrefixRestartAfter * 60_000;
    b.maxPrefixStop = {
      afi: ev.afi,
      limit: ev.limit,
      at: now,
      restartAt: ev.action === 'restart' ? new Date(now.getTime() + afterMs) : null,
    };
    this.clearRestart(b);
    void b.peer.stopWith(n);
    if (ev.action === 'restart') {
      b.restartTimer = setTimeout(() => {
        b.restartTimer = null;
        b.maxPrefixStop = null;
        if (this.stopping === null && !b.disabled) b.peer.start();
      }, afterMs);
      b.restartTimer.unref?.();
    }
  }

  private clearRestart(b: Binding): void {
    if (b.restartTimer !== null) clearTimeout(b.restartTimer);
    b.restartTimer = null;
  }

  /**
   * `ixrs session ACTION C` (admin socket): on every session of the client, or
   * the one at `address`.
   *  - disable: Cease 6/2 with the shutdown message (RFC 9003); down until enable.
   *  - enable: start again (also clears a max-prefix stop, without a restart of ixrs).
   *  - reset: Cease 6/4 Administrative Reset with the message, then start at
   *    once; only this session goes down (its paths are withdrawn from the
   *    others as for any session loss).
   *  - refresh: soft reset, nothing goes down: ROUTE-REFRESH to the client for
   *    every negotiated family (RFC 2918) and our routes sent to it again.
   */
  async sessionAction(
    client: RsClientConfig,
    address: string | null,
    action: SessionAction,
    message: string | undefined,
  ): Promise<SessionActionResult> {
    const bs = [...this.bindings.values()].filter(
      (b) => b.client.id === client.id && (address === null || b.address === address),
    );
    if (bs.length === 0) throw new Error(`${client.id} has no session in this instance`);
    const text = message ?? `ixrs session ${action} by the operator`;
    const out: SessionActionResult = { client: client.id, action, sessions: [] };
    for (const b of bs) {
      let done: string;
      const was = b.peer.state;
      switch (action) {
        case 'disable':
          b.disabled = true;
          this.clearRestart(b);
          await b.peer.stopWith({ code: 6, subcode: 2, shutdownMessage: text });
          done =
            was === 'Established'
              ? 'sent Cease 6/2 (Administrative Shutdown), disabled'
              : 'disabled';
          break;
        case 'enable': {
          const cleared = b.maxPrefixStop !== null;
          b.disabled = false;
          b.maxPrefixStop = null;
          this.clearRestart(b);
          if (b.peer.state === 'Idle') b.peer.start();
          done = cleared
            ? 'max-prefix stop cleared, started'
            : was === 'Idle'
              ? 'started'
              : 'already enabled';
          break;
        }
        case 'reset':
          if (b.disabled) {
            done = 'disabled: not reset (enable it)';
            break;
          }
          b.maxPrefixStop = null;
          this.clearRestart(b);
          await b.peer.stopWith({ code: 6, subcode: 4, shutdownMessage: text });
          b.peer.start();
          done =
            was === 'Established'
              ? 'sent Cease 6/4 (Administrative Reset), restarted'
              : 'restarted';
          break;
        case 'refresh': {
          const n = b.negotiated;
          if (n === null || b.peer.state !== 'Established') {
            done = 'not established: nothing to refresh';
            break;
          }
          const fams = [...n.families].map((f) => f.split('/').map(Number) as [number, number]);
          for (const [afi, safi] of fams) {
            b.peer.sendRouteRefresh(afi, safi);
            this.core.routeRefresh(b.session, afi, safi);
          }
          done = n.routeRefresh
            ? 'ROUTE-REFRESH sent, routes re-sent'
            : 'routes re-sent (the client did not negotiate route refresh)';
          break;
        }
      }
      this.log.warn({ peer: b.session.key, action, message: text }, `session ${action} (operator)`);
      out.sessions.push({ address: b.address, done, bgpState: b.peer.state });
    }
    return out;
  }

  /** BGP4MP endpoints of a session: our address is the listen address of its family, if specific. */
  private mrtEndpoints(b: Binding): Bgp4mpEndpoints {
    const v6 = b.address.includes(':');
    const own = this.config.ixrs.listen.find(
      (l) => l.address.includes(':') === v6 && l.address !== '::' && l.address !== '0.0.0.0',
    );
    return {
      peerAs: b.client.asn,
      localAs: this.config.rsAs,
      peerAddress: b.address,
      localAddress: own?.address ?? (v6 ? '::' : '0.0.0.0'),
    };
  }

  /** A session as BMP shows it: its OPENs (ours as sent, the client's re-encoded from what it announced). */
  private bmpPeer(b: Binding, n: Negotiated): BmpPeer {
    const open = {
      type: 'open' as const,
      version: 4,
      myAs: n.peerAs > 0xffff ? 23456 : n.peerAs,
      holdTime: n.holdTime,
      bgpId: n.peerBgpId,
      capabilities: n.peerCapabilities,
      otherParams: [],
    };
    return {
      key: b.session.key,
      address: b.address,
      asn: b.client.asn,
      bgpId: n.peerBgpId,
      sentOpen: encodeMessage(b.peer.localOpen, n.codec),
      receivedOpen: encodeMessage(open, n.codec),
      families: [...n.families].sort(),
      as4: n.as4,
      addPathTx: n.addPathTx.size > 0,
      since: b.upSince,
    };
  }

  private bmpSource(cfg: BmpConfig): BmpSource {
    return {
      rib: this.core,
      peers: () => {
        const out: BmpPeer[] = [];
        for (const b of this.bindings.values()) {
          if (b.negotiated !== null && b.peer.state === 'Established') {
            out.push(this.bmpPeer(b, b.negotiated));
          }
        }
        return out;
      },
      local: (peerAddress) => {
        const e = this.mrtEndpoints(
          [...this.bindings.values()].find((b) => b.address === peerAddress) ??
            [...this.bindings.values()][0]!,
        );
        return { address: e.localAddress, port: this.config.ixrs.listen[0]?.port ?? 179 };
      },
      sysName: cfg.sysName ?? `ixrs ${this.config.routerId}`,
      sysDescr: `ixrs route server (RFC 7947), AS${this.config.rsAs}, router id ${this.config.routerId}`,
    };
  }

  /** What an MRT RIB dump reads: the core, and every configured session as a peer. */
  ribDumpSource(): RibDumpSource {
    return {
      rib: this.core,
      sessions: () =>
        [...this.bindings.values()].map((b) => ({
          key: b.session.key,
          address: b.address,
          asn: b.client.asn,
          bgpId: b.negotiated?.peerBgpId ?? 0,
        })),
      routerId: ipv4ToU32(this.config.routerId),
      viewName: '',
    };
  }

  /** `ixrs dump rib FILE`: a TABLE_DUMP_V2 file of the accepted paths. */
  async dumpRib(file: string): Promise<{
    file: string;
    prefixes: number;
    paths: number;
    bytes: number;
    ms: number;
  }> {
    const r = await writeRibDump(file, this.ribDumpSource());
    return { file: r.file, prefixes: r.prefixes, paths: r.paths, bytes: r.bytes, ms: r.ms };
  }

  /** BGP FSM state of the session to `address`. */
  bgpState(address: string): string | null {
    return this.speaker.getPeer(address)?.state ?? null;
  }

  /** Session-layer status of the session to `address` (ixrs show client). */
  sessionStatus(address: string): SessionStatus | null {
    let b: Binding | undefined;
    for (const x of this.bindings.values()) if (x.address === address) b = x;
    if (b === undefined) return null;
    const n = b.negotiated;
    const mp = b.maxPrefixStop;
    return {
      address,
      bgpState: b.peer.state,
      admin: b.disabled ? 'disabled' : mp !== null ? 'max-prefix stop' : 'enabled',
      maxPrefixStop:
        mp === null
          ? null
          : {
              afi: mp.afi,
              limit: mp.limit,
              since: mp.at.toISOString(),
              restartAt: mp.restartAt?.toISOString() ?? null,
            },
      establishedSince: b.establishedAt?.toISOString() ?? null,
      lastDown:
        b.lastDown === null
          ? null
          : {
              at: b.lastDown.at.toISOString(),
              reason: b.lastDown.reason,
              sent: b.lastDown.sent,
              received: b.lastDown.received,
            },
      lastConnectError: b.peer.lastConnectFailure,
      negotiated:
        n === null
          ? null
          : {
              holdTime: n.holdTime,
              families: [...n.families],
              as4: n.as4,
              routeRefresh: n.routeRefresh,
              enhancedRouteRefresh: n.enhancedRouteRefresh,
              extendedMessage: n.extendedMessage,
              gracefulRestart: n.gracefulRestart !== null,
              addPathTx: [...n.addPathTx],
              extendedNextHop: n.extendedNextHop.length > 0,
            },
      messages: {
        in: b.peer.stats.messagesIn,
        out: b.peer.stats.messagesOut,
        updatesIn: b.peer.stats.updatesIn,
      },
    };
  }

  controlContext(): ControlContext {
    return {
      core:
        this.config.rejectPolicy === 'tag'
          ? tagRejectedViews(this.core, this.config.rsAs)
          : this.core,
      clients: this.config.clients,
      reasons: REJECT_REASON_TEXT,
      bgpState: (a) => this.bgpState(a),
      nhib: this.nhib,
      dumpRib: (file) => this.dumpRib(file),
      sessionStatus: (a) => this.sessionStatus(a),
      sessionAction: (c, a, action, msg) => this.sessionAction(c as RsClientConfig, a, action, msg),
    };
  }

  /** Open the control socket (unless null), then listeners and sessions. */
  async start(controlSocket: string | null): Promise<void> {
    if (controlSocket !== null) {
      const ctl = this.config.ixrs.control;
      const ctx = this.controlContext();
      this.control = await ControlServer.listen(controlSocket, ctx, {
        mode: ctl.mode,
        group: ctl.group,
      });
      try {
        this.admin = await ControlServer.listen(adminSocketPath(controlSocket), ctx, {
          mode: 0o600,
          admin: true,
        });
      } catch (err) {
        await this.control.close();
        this.control = null;
        throw err;
      }
    }
    try {
      this.mrt?.start();
      this.bmp?.start();
      if (this.httpConfig !== null) {
        this.http = await startHttp(
          this.httpConfig,
          {
            ctx: this.controlContext(),
            counters: this.core,
            input: this.inputGate,
            rsAs: this.config.rsAs,
            routerId: this.config.routerId,
            table: this.core.entries,
            bmp: this.bmp,
            mrt: this.mrt,
            nhib: { nhib: this.nhib, stats: this.rsbfd.stats, telemetry: this.nhibTelemetry },
            prefLen: {
              ipv4: this.config.filtering.ipv4PrefLen,
              ipv6: this.config.filtering.ipv6PrefLen,
            },
          },
          this.log.child({ component: 'http' }),
        );
      }
      await this.speaker.start();
    } catch (err) {
      // Close the listeners that did bind, so the process can exit.
      await this.speaker.stop();
      await this.http?.close();
      this.http = null;
      await this.mrt?.close();
      await this.bmp?.close();
      await this.control?.close();
      await this.admin?.close();
      this.control = null;
      this.admin = null;
      throw err;
    }
    this.log.info(
      { listen: this.speaker.addresses(), controlSocket, clients: this.config.clients.length },
      'route server started',
    );
  }

  addresses(): ListenAddress[] {
    return this.speaker.addresses();
  }

  /**
   * Graceful shutdown: every client gets Cease / Administrative Shutdown (RFC
   * 4486 6/2) with `message` (RFC 8203/9003), then listeners and the control
   * socket close. Idempotent.
   */
  stop(message: string): Promise<void> {
    if (this.stopping === null) {
      this.stopping = (async () => {
        this.core.shutdown();
        this.rsbfd.close();
        this.inputGate.stop();
        for (const b of this.bindings.values()) this.clearRestart(b);
        await this.speaker.stop(message);
        await this.http?.close();
        await this.mrt?.close();
        await this.bmp?.close();
        await this.control?.close();
        await this.admin?.close();
        this.log.info({ message }, 'route server stopped');
      })();
    }
    return this.stopping;
  }
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const d = new Daemon(opts);
  await d.start(
    opts.controlSocket === undefined ? opts.config.ixrs.controlSocket : opts.controlSocket,
  );
  return d;
}
