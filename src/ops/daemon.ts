// The process wiring of `ixrs run` (and `ixrs demo`): configuration -> policy
// -> route-server core (src/rs/server.ts) <-> BGP sessions (src/bgp/speaker.ts),
// plus the control socket (control.ts). No protocol logic lives here: peer
// events become core calls, core output goes to the peer's socket. Input flow
// control (input-gate.ts): while the core's input queue is full, no client
// socket is read.

import type pino from 'pino';
import { applyExternalPeerRules, encodeMessage } from '../bgp/codec.ts';
import { describeNotification } from '../bgp/fsm.ts';
import type { Negotiated } from '../bgp/negotiate.ts';
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
import type { HttpConfig, MrtConfig } from '../config/observability.ts';
import type { RsClientConfig, RsConfig } from '../config/types.ts';
import { type Bgp4mpEndpoints, FSM_STATE_NUMBER } from '../mrt/codec.ts';
import { MrtService, type RibDumpSource, writeRibDump } from '../mrt/writer.ts';
import { createPolicy, REJECT_REASON_TEXT, rejectCommunities } from '../rs/policy.ts';
import {
  type MaxPrefixEvent,
  RouteServer,
  type RouteView,
  type SessionHandle,
} from '../rs/server.ts';
import { codecEncoder } from '../rs/wire.ts';
import { type ControlContext, ControlServer } from './control.ts';
import { startHttp } from './http/index.ts';
import type { HttpServer } from './http/server.ts';
import { InputGate } from './input-gate.ts';
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
}

const UNICAST = [
  { afi: AFI.IPV4, safi: SAFI.UNICAST },
  { afi: AFI.IPV6, safi: SAFI.UNICAST },
];

/** RFC 8950 §4 for IPv4 unicast: we accept and send IPv4 NLRI with an IPv6 next hop where negotiated. */
const EXTENDED_NEXT_HOP = {
  kind: 'extended-next-hop' as const,
  entries: [{ afi: AFI.IPV4, safi: SAFI.UNICAST, nextHopAfi: AFI.IPV6 }],
};

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
 * reject_policy 'tag' (arouteserver): rejected paths are kept and shown by the
 * looking glass with the reject-reason large communities (RS_AS:65520:0 and
 * RS_AS:65520:<code>) added to what was received. Only the view changes: the
 * stored path keeps the received attributes, and rejected paths are never
 * sent to clients.
 */
export function tagRejectedViews(core: CoreQueries, rsAs: number): CoreQueries {
  return {
    routes: (prefix, clientId) =>
      core.routes(prefix, clientId).map((v): RouteView => {
        if (v.accepted) return v;
        const tags = rejectCommunities(rsAs, v.reasons);
        const have = v.attrs.largeCommunities ?? [];
        const add = tags.filter((t) => !have.some((h) => h.every((x, i) => x === t[i])));
        const attrs: PathAttributes = { ...v.attrs, largeCommunities: [...have, ...add] };
        return { ...v, attrs };
      }),
    clientSummary: (id) => core.clientSummary(id),
    ribCount: (id) => core.ribCount(id),
    sessions: () => core.sessions(),
  };
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
  /** Families already logged as ignored since the session came up. */
  ignoredLogged: Set<string>;
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
  private readonly log: pino.Logger;
  private readonly bindings = new Map<string, Binding>();
  private stopping: Promise<void> | null = null;

  constructor(opts: DaemonOptions) {
    const cfg = opts.config;
    this.config = cfg;
    this.log = opts.logger;
    this.httpConfig = opts.http === undefined ? cfg.ixrs.http : opts.http;
    this.core = new RouteServer({
      policy: createPolicy(cfg),
      encoder: codecEncoder,
      onMaxPrefix: (ev) => this.onMaxPrefix(ev),
      // 'tag' keeps rejected paths for the looking glass (never sent to clients).
      keepRejected: cfg.rejectPolicy === 'tag',
      ...(opts.inputHighWater !== undefined ? { inputHighWater: opts.inputHighWater } : {}),
      // Only called after construction (the gate is set below).
      onInputDrain: () => this.inputGate.drained(),
      log: this.log.child({ component: 'rs' }),
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
          families,
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
          ignoredLogged: new Set(),
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
          write: (bytes) => peer.sendRaw(bytes),
          onDrain: (cb) => {
            b.onDrain = cb;
          },
        },
      );
    });
    peer.on('drain', () => b.onDrain?.());
    peer.on('update', (msg: UpdateMessage) => {
      // The update log (MRT BGP4MP): the message as received, re-encoded with the session's options.
      if (this.mrt?.logging && b.negotiated !== null) {
        this.mrt.message(this.mrtEndpoints(b), encodeMessage(msg, b.negotiated.codec));
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
      const n = b.negotiated;
      b.negotiated = null;
      b.onDrain = null;
      if (!d.wasEstablished) return;
      if (this.stopping !== null) return;
      const restartTime = this.gracefulRestartTime(n, d);
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
    // False: the core's input queue is full; stop reading every client until it drains.
    if (!this.core.receiveUpdate(b.session, applyExternalPeerRules(update)))
      this.inputGate.full(b.peer);
  }

  /** UPDATEs (or parts of them) ignored on the session to `address` (families not negotiated). */
  ignoredUpdates(address: string): number {
    for (const b of this.bindings.values()) {
      if (b.address === address) return b.ignoredUpdates;
    }
    return 0;
  }

  /**
   * RFC 4724 §4.2 helper: keep the client's paths (stale) for its restart time
   * when the session ended without a NOTIFICATION (TCP loss, hold timer on the
   * client's side). We do not set the RFC 8538 N bit, so any NOTIFICATION, sent
   * or received, ends graceful restart (RFC 4724 §4.2, RFC 8538 §2).
   */
  private gracefulRestartTime(n: Negotiated | null, d: PeerDown): number {
    const gr = n?.gracefulRestart;
    if (gr === null || gr === undefined || gr.restartTime === 0) return 0;
    if (d.sent !== undefined || d.received !== undefined) return 0;
    return gr.restartTime;
  }

  private onMaxPrefix(ev: MaxPrefixEvent): void {
    // The core has logged it (warn); here the session layer acts.
    const b = this.bindings.get(ev.session);
    if (b === undefined || (ev.action !== 'shutdown' && ev.action !== 'restart')) return;
    // RFC 4486 §4: Cease / Maximum Number of Prefixes Reached; data AFI, SAFI, limit.
    const data = new Uint8Array(7);
    const dv = new DataView(data.buffer);
    dv.setUint16(0, ev.afi);
    data[2] = SAFI.UNICAST;
    dv.setUint32(3, ev.limit);
    const n = { code: 6, subcode: 1, data };
    // 'restart': AutomaticStop, the BGP layer restarts the session by itself
    // (idle hold time with backoff); 'shutdown': stays down until ixrs restarts.
    if (ev.action === 'restart') b.peer.reset(n);
    else void b.peer.stopWith(n);
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

  controlContext(): ControlContext {
    return {
      core:
        this.config.rejectPolicy === 'tag'
          ? tagRejectedViews(this.core, this.config.rsAs)
          : this.core,
      clients: this.config.clients,
      reasons: REJECT_REASON_TEXT,
      bgpState: (a) => this.bgpState(a),
      dumpRib: (file) => this.dumpRib(file),
    };
  }

  /** Open the control socket (unless null), then listeners and sessions. */
  async start(controlSocket: string | null): Promise<void> {
    if (controlSocket !== null) {
      this.control = await ControlServer.listen(controlSocket, this.controlContext());
    }
    try {
      this.mrt?.start();
      if (this.httpConfig !== null) {
        this.http = await startHttp(
          this.httpConfig,
          {
            ctx: this.controlContext(),
            counters: this.core,
            input: this.inputGate,
            rsAs: this.config.rsAs,
            routerId: this.config.routerId,
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
      await this.control?.close();
      this.control = null;
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
        this.inputGate.stop();
        await this.speaker.stop(message);
        await this.http?.close();
        await this.mrt?.close();
        await this.control?.close();
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
