// The companion agent's driver (docs/rs-bfd-profile.md §2, §5.2-5.3, §6): one
// BGP session carrying only BGP-LS to the route server per address family,
// from the member's LAN address; the BFD manager in a worker thread
// (bfd-thread.ts); the pure report state machine (core.ts) in between.
//
//   const agent = new Agent({ asn, routerId, rs, local, codec, ... });
//   await agent.start();        // BfdStartError when UDP 3784 is taken
//   agent.status();             // what `ixrs agent status` prints
//   await agent.stop();         // BFD AdminDown to every peer, Cease to the RS

import { BlockList, isIPv4 } from 'node:net';
import { getPriority, networkInterfaces, setPriority } from 'node:os';
import pino from 'pino';
import type { AuthConfig } from '../bfd/auth.ts';
import type { BfdStateEvent, SessionInfo } from '../bfd/manager.ts';
import type { UdpSocketFactory } from '../bfd/transport.ts';
import { encodeEndOfRib } from '../bgp/codec.ts';
import { BgpPeer, type PeerDown } from '../bgp/session.ts';
import { AFI, SAFI, type UpdateMessage } from '../bgp/types.ts';
import { type BfdBackend, BfdInThread, BfdThread } from './bfd-thread.ts';
import {
  type AgentAction,
  AgentCore,
  type BfdStateName,
  type NextHopStatus,
  type ReportState,
} from './core.ts';
import type { LsCodec, ReportItem } from './ls.ts';

export interface AgentOptions {
  /** The member's ASN (the client's, as the RS knows it). */
  asn: number;
  /** BGP Identifier, dotted quad (default: the IPv4 --local). */
  routerId?: string;
  /** The route server's IPv4 address (the IPv4 BGP-LS session). */
  rs?: string;
  /** The route server's IPv6 address (the IPv6 BGP-LS session). */
  rs6?: string;
  /** The RS's AS; 0 or absent: accept any. */
  rsAsn?: number;
  /** TCP port of the RS (default 179). */
  rsPort?: number;
  /** The member's IPv4 LAN address (its router's). */
  local?: string;
  /** The member's IPv6 LAN address (global). */
  local6?: string;
  /** Prefixes from which other agents may start BFD sessions (default: learned from the interfaces). */
  lan?: string[];
  bfdIntervalMs?: number;
  bfdMultiplier?: number;
  /** UDP port for BFD (default 3784; tests use another). */
  bfdPort?: number;
  bringUpMs?: number;
  holdDownMs?: number;
  staleMs?: number;
  auth?: AuthConfig;
  /** BGP hold time proposed, s (default 90). */
  holdTime?: number;
  /** First reconnect delay, s (default 5; doubles up to 60). */
  connectRetryS?: number;
  codec: LsCodec;
  /** One line per change (default: stdout). */
  out?: (line: string) => void;
  json?: boolean;
  logger?: pino.Logger;
  now?: () => number;
  wallNow?: () => number;
  /**
   * BFD stopped working (its thread died): the agent has stopped itself (Cease
   * to the route server, which fails open for this member).
   */
  onFatal?: (reason: string) => void;
  /**
   * When the BFD thread cannot raise its priority, lower the main thread's
   * instead (default true; tests that share a process turn it off).
   */
  lowerMainPriority?: boolean;
  /**
   * Loopback demos, scenarios and tests only: run BFD on this thread, not in
   * a worker, with these UDP sockets (a factory that drops packets cuts a link
   * without root; `ixrs demo` and `ixrs scenario run` in loopback mode do). BFD timing then shares the event loop with the
   * BGP-LS work.
   */
  bfdSocketFactory?: UdpSocketFactory;
}

/** Nice levels the BFD thread runs above the agent's main thread. */
export const BFD_PRIORITY_BOOST = 5;

export const AGENT_DEFAULTS = {
  bfdIntervalMs: 1000,
  bfdMultiplier: 3,
  bringUpS: 10,
  holdDownS: 0,
  staleS: 60,
  holdTime: 90,
  connectRetryS: 5,
} as const;

export interface ChannelStatus {
  channel: 'ipv4' | 'ipv6';
  rs: string;
  local: string;
  state: string;
  established: boolean;
  /** ISO time of the last state change. */
  since: string;
  /** Why it is not Established (null when it is). */
  notConnected: string | null;
  requestsReceived: number;
  reportsSent: number;
}

export interface NextHopView extends Omit<NextHopStatus, 'since' | 'bringUpAt' | 'holdUntil'> {
  since: string;
  bringUpAt: string | null;
  holdUntil: string | null;
  detectMs: number | null;
  txIntervalMs: number | null;
  reported: ReportState[];
}

export interface AgentStatus {
  asn: number;
  routerId: string;
  local: string[];
  lan: string[];
  timers: {
    bfdIntervalMs: number;
    bfdMultiplier: number;
    detectMs: number;
    bringUpS: number;
    holdDownS: number;
  };
  sessions: ChannelStatus[];
  nextHops: NextHopView[];
  /** BFD sessions other agents started with us (RFC 9468 style). */
  passive: { peer: string; local: string; state: string }[];
}

interface Channel {
  name: 'ipv4' | 'ipv6';
  rs: string;
  local: string;
  peer: BgpPeer;
  state: string;
  since: number;
  notConnected: string;
  requestsReceived: number;
  reportsSent: number;
}

export function ipv4ToNumber(a: string): number {
  const p = a.split('.').map(Number);
  return (((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0) as number;
}

/**
 * The prefixes (CIDR) of the host's interface networks that hold these
 * addresses: the address itself, or (loopback aliases) a network containing it.
 */
export function interfacePrefixes(addresses: readonly string[]): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.cidr === null) continue;
      const [net, len] = i.cidr.split('/');
      const type = i.family === 'IPv4' ? 'ipv4' : 'ipv6';
      const bl = new BlockList();
      bl.addSubnet(net!, Number(len), type);
      for (const a of addresses) {
        if ((isIPv4(a) ? 'ipv4' : 'ipv6') !== type) continue;
        if (a === i.address || bl.check(a, type)) {
          // The network, not the host: 192.0.2.11/24 -> 192.0.2.0/24.
          out.add(networkOf(i.address, Number(len), type));
        }
      }
    }
  }
  return [...out];
}

function networkOf(address: string, len: number, type: 'ipv4' | 'ipv6'): string {
  if (type === 'ipv4') {
    const n = len === 0 ? 0 : (ipv4ToNumber(address) & (0xffffffff << (32 - len))) >>> 0;
    return `${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')}/${len}`;
  }
  // IPv6: the interface address with its length (BlockList ignores the host bits).
  return `${address}/${len}`;
}

export class Agent {
  readonly opts: AgentOptions;
  readonly core: AgentCore;
  readonly log: pino.Logger;
  private readonly now: () => number;
  private readonly wallNow: () => number;
  private readonly out: (line: string) => void;
  private readonly channels = new Map<string, Channel>();
  private bfd: BfdBackend | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private lan: string[] = [];
  private readonly unsupported = new Set<string>();
  private stopping = false;
  private bfdInfo = new Map<string, SessionInfo>();
  private readonly routerId: string;

  constructor(opts: AgentOptions) {
    this.opts = opts;
    if (opts.local === undefined && opts.local6 === undefined) {
      throw new Error('agent: give a local address');
    }
    const rid = opts.routerId ?? opts.local;
    if (rid === undefined || !isIPv4(rid)) {
      throw new Error('agent: a router ID (dotted quad) is needed without an IPv4 local address');
    }
    this.routerId = rid;
    this.core = new AgentCore({
      bringUpMs: opts.bringUpMs ?? AGENT_DEFAULTS.bringUpS * 1000,
      holdDownMs: opts.holdDownMs ?? AGENT_DEFAULTS.holdDownS * 1000,
      staleMs: opts.staleMs ?? AGENT_DEFAULTS.staleS * 1000,
    });
    this.log = opts.logger ?? pino({ level: 'warn' });
    this.now = opts.now ?? (() => performance.now());
    this.wallNow = opts.wallNow ?? Date.now;
    this.out = opts.out ?? ((line) => process.stdout.write(`${line}\n`));
  }

  /** The local addresses, IPv4 first. */
  get locals(): string[] {
    return [this.opts.local, this.opts.local6].filter((x): x is string => x !== undefined);
  }

  /**
   * Start BFD (first: a taken UDP port stops everything before anything is
   * sent), then the BGP-LS session(s). Rejects with BfdStartError.
   */
  async start(): Promise<void> {
    const locals = this.locals;
    this.lan =
      this.opts.lan && this.opts.lan.length > 0 ? [...this.opts.lan] : interfacePrefixes(locals);
    const bfdOpts = {
      local: locals,
      port: this.opts.bfdPort,
      intervalMs: this.opts.bfdIntervalMs ?? AGENT_DEFAULTS.bfdIntervalMs,
      multiplier: this.opts.bfdMultiplier ?? AGENT_DEFAULTS.bfdMultiplier,
      allow: this.lan,
      auth: this.opts.auth,
      priorityBoost: BFD_PRIORITY_BOOST,
    };
    const factory = this.opts.bfdSocketFactory;
    this.bfd =
      factory === undefined
        ? await BfdThread.start(bfdOpts)
        : await BfdInThread.start({ ...bfdOpts, socketFactory: factory });
    if (factory === undefined && !this.bfd.boosted && this.opts.lowerMainPriority !== false) {
      // Without the right to raise the BFD thread, lower this (the BGP-LS) thread.
      try {
        setPriority(0, Math.min(19, getPriority(0) + BFD_PRIORITY_BOOST));
      } catch {
        // keep it
      }
    }
    this.bfd.subscribe((e) => this.onBfd(e));
    this.bfd.onAdded((i) => this.onBfdAdded(i));
    this.bfd.onCrash = (reason) => {
      this.log.error({ reason }, 'BFD thread died: stopping, the route server fails open');
      void this.stop(`ixrs agent: BFD failed (${reason})`).then(() => this.opts.onFatal?.(reason));
    };
    this.bfd.onError = (message, ctx) =>
      this.log.warn({ peer: ctx.peer, local: ctx.local }, `bfd: ${message}`);
    if (this.opts.rs !== undefined && this.opts.local !== undefined) {
      this.addChannel('ipv4', this.opts.rs, this.opts.local);
    }
    if (this.opts.rs6 !== undefined && this.opts.local6 !== undefined) {
      this.addChannel('ipv6', this.opts.rs6, this.opts.local6);
    }
    for (const c of this.channels.values()) c.peer.start();
  }

  /** BFD AdminDown to every peer (§6.8.16), a Cease to the route server. */
  async stop(message = 'ixrs agent stopping'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await Promise.all([
      this.bfd?.close({ adminDown: true }),
      ...[...this.channels.values()].map((c) => c.peer.stop(message)),
    ]);
  }

  /** Refresh the BFD session details the status shows (asked of the worker). */
  async refreshBfd(): Promise<void> {
    const list = (await this.bfd?.sessions()) ?? [];
    this.bfdInfo = new Map(list.map((s) => [s.peer, s]));
  }

  /** Everything `ixrs agent status` shows (call refreshBfd first for fresh BFD timers). */
  status(): AgentStatus {
    const now = this.now();
    const wall = this.wallNow();
    const iso = (t: number) => new Date(wall - (now - t)).toISOString();
    const interval = this.opts.bfdIntervalMs ?? AGENT_DEFAULTS.bfdIntervalMs;
    const mult = this.opts.bfdMultiplier ?? AGENT_DEFAULTS.bfdMultiplier;
    return {
      asn: this.opts.asn,
      routerId: this.routerId,
      local: this.locals,
      lan: this.lan,
      timers: {
        bfdIntervalMs: interval,
        bfdMultiplier: mult,
        detectMs: interval * mult,
        bringUpS: this.core.bringUpMs / 1000,
        holdDownS: this.core.holdDownMs / 1000,
      },
      sessions: [...this.channels.values()].map((c) => ({
        channel: c.name,
        rs: c.rs,
        local: c.local,
        state: c.state,
        established: c.state === 'Established',
        since: iso(c.since),
        notConnected: c.state === 'Established' ? null : c.notConnected,
        requestsReceived: c.requestsReceived,
        reportsSent: c.reportsSent,
      })),
      nextHops: this.core.status().map((s) => {
        const b = this.bfdInfo.get(s.nextHop);
        return {
          ...s,
          since: iso(s.since),
          bringUpAt: s.bringUpAt === null ? null : iso(s.bringUpAt),
          holdUntil: s.holdUntil === null ? null : iso(s.holdUntil),
          detectMs: b?.detectMs ?? null,
          txIntervalMs: b?.txIntervalMs ?? null,
          reported: s.requests.map((r) => r.reported),
        };
      }),
      passive: [...this.bfdInfo.values()]
        .filter((s) => s.passive)
        .map((s) => ({ peer: s.peer, local: s.local, state: s.state })),
    };
  }

  /**
   * Tests and drills: end the BFD thread at once, without AdminDown, as if the
   * host's BFD had died (peers see their detection time expire).
   */
  async killBfd(): Promise<void> {
    await this.bfd?.terminate();
  }

  /** BFD thread statistics (packets, stalls). */
  bfdStats(reset = false) {
    return this.bfd?.stats(reset);
  }

  // ---------------------------------------------------------------- BGP-LS

  private addChannel(name: 'ipv4' | 'ipv6', rs: string, local: string): void {
    const o = this.opts;
    const retry = o.connectRetryS ?? AGENT_DEFAULTS.connectRetryS;
    const ch: Channel = {
      name,
      rs,
      local,
      peer: undefined as unknown as BgpPeer,
      state: 'Idle',
      since: this.now(),
      notConnected: 'not started',
      requestsReceived: 0,
      reportsSent: 0,
    };
    // The peer logs why a connection failed ('connect failed', err): keep it for the status.
    const base = this.log;
    const peerLog = pino(
      {
        // Every line reaches the hook (the reasons are logged at debug once
        // repeated); only those at the agent's level are written.
        level: 'debug',
        hooks: {
          logMethod(args, method, level) {
            const [first, second] = args as unknown[];
            if (typeof first === 'object' && first !== null && typeof second === 'string') {
              const f = first as { err?: unknown; reason?: unknown };
              if (second === 'connect failed') ch.notConnected = `connect failed: ${String(f.err)}`;
              else if (second === 'session down' && f.reason !== undefined) {
                ch.notConnected = `session down: ${String(f.reason)}`;
              }
            }
            if (level >= base.levelVal) method.apply(this, args);
          },
        },
      },
      pino.destination(2),
    ).child({ rs, channel: name });
    const peer = new BgpPeer(
      {
        localAs: o.asn,
        routerId: ipv4ToNumber(this.routerId),
        peerAs: o.rsAsn ?? 0,
        peerAddress: rs,
        port: o.rsPort,
        localAddress: local,
        families: [{ afi: AFI.BGPLS, safi: SAFI.BGPLS }],
        holdTime: o.holdTime ?? AGENT_DEFAULTS.holdTime,
        routeRefresh: true,
        connectRetryTime: retry,
        name: `rs ${rs}`,
        fsm: {
          connectRetryTime: retry,
          connectRetryMax: Math.max(retry, 60),
          idleHoldTime: Math.min(retry, 5),
          idleHoldMax: Math.max(retry, 60),
        },
      },
      { logger: peerLog, now: this.now },
    );
    ch.peer = peer;
    peer.on('state', (from: string, to: string) => {
      ch.state = to;
      ch.since = this.now();
      if (to === 'Connect' && ch.notConnected === 'not started') ch.notConnected = 'connecting';
      this.line(
        { event: 'rs', rs, channel: name, previous: from, state: to },
        () =>
          `rs ${rs} ${from} -> ${to}${(to === 'Idle' || to === 'Active') && !this.stopping ? ` (${ch.notConnected})` : ''}`,
      );
    });
    peer.on('established', () => {
      ch.notConnected = '';
      this.apply(this.core.sessionUp(name, this.now()));
    });
    peer.on('down', (d: PeerDown) => {
      ch.notConnected = d.received
        ? `route server sent NOTIFICATION ${d.received.code}/${d.received.subcode}${d.received.shutdownMessage ? ` "${d.received.shutdownMessage}"` : ''}`
        : d.sent
          ? `we sent NOTIFICATION ${d.sent.code}/${d.sent.subcode} (${d.reason})`
          : d.reason;
      if (d.wasEstablished) this.apply(this.core.sessionDown(name, this.now()));
    });
    peer.on('update', (u: UpdateMessage) => this.onUpdate(ch, u));
    this.channels.set(name, ch);
  }

  private onUpdate(ch: Channel, u: UpdateMessage): void {
    const d = this.opts.codec.decodeRequests(u);
    for (const e of d.errors) this.log.warn({ peer: ch.rs }, `request: ${e}`);
    const withdrawAll = u.errors.some((e) => e.action === 'treat-as-withdraw');
    const now = this.now();
    const acts: AgentAction[] = [];
    for (const l of d.withdrawn) acts.push(...this.core.withdrawRequest(ch.name, l, now));
    for (const l of d.announced) {
      if (withdrawAll) {
        acts.push(...this.core.withdrawRequest(ch.name, l, now));
        continue;
      }
      if (this.locals.includes(l.nextHop)) {
        this.warnOnce(l.nextHop, 'requested next hop is our own address: not checked');
        continue;
      }
      if (this.localFor(l.nextHop) === undefined) {
        this.warnOnce(
          l.nextHop,
          'requested next hop has no local address of its family: not checked',
        );
        continue;
      }
      ch.requestsReceived++;
      acts.push(...this.core.request(ch.name, l, now));
    }
    if (d.endOfRib) acts.push(...this.core.endOfRib(ch.name, now));
    this.apply(acts);
  }

  private warnOnce(nextHop: string, msg: string): void {
    if (this.unsupported.has(nextHop)) return;
    this.unsupported.add(nextHop);
    this.log.warn({ peer: nextHop }, msg);
  }

  private localFor(nextHop: string): string | undefined {
    return isIPv4(nextHop) ? this.opts.local : this.opts.local6;
  }

  // ------------------------------------------------------------------- BFD

  private onBfd(e: BfdStateEvent): void {
    const asn = this.core.asnOf(e.peer);
    const role = e.passive ? ' passive' : asn === undefined ? ' unrequested' : '';
    this.line(
      {
        event: 'bfd',
        peer: e.peer,
        asn: asn ?? null,
        local: e.local,
        previous: e.previous,
        state: e.state,
        diag: e.diag,
        remoteDiag: e.remoteDiag,
        remoteState: e.remoteState,
        detectMs: e.detectMs,
        passive: e.passive,
      },
      () =>
        `bfd ${e.peer}${asn === undefined ? '' : ` AS${asn}`}${role} ${e.previous} -> ${e.state} diag=${e.diag} remote-diag=${e.remoteDiag} detect=${e.detectMs}ms`,
    );
    if (this.stopping) return;
    this.apply(
      this.core.bfd(
        {
          peer: e.peer,
          state: e.state as BfdStateName,
          previous: e.previous as BfdStateName,
          diag: e.diag,
          remoteState: e.remoteState as BfdStateName,
        },
        this.now(),
      ),
    );
  }

  /** A session added for a request may already be Up (another agent started it). */
  private onBfdAdded(i: SessionInfo): void {
    if (this.stopping || i.state !== 'Up' || !this.core.isChecked(i.peer)) return;
    this.apply(
      this.core.bfd(
        {
          peer: i.peer,
          state: 'Up',
          previous: 'Down',
          diag: i.diag,
          remoteState: i.remoteState as BfdStateName,
        },
        this.now(),
      ),
    );
  }

  // --------------------------------------------------------------- actions

  private apply(acts: AgentAction[]): void {
    const batches = new Map<string, ReportItem[]>();
    for (const a of acts) {
      switch (a.type) {
        case 'bfd-start': {
          const local = this.localFor(a.nextHop);
          if (local !== undefined) this.bfd?.addPeer(a.nextHop, local);
          break;
        }
        case 'bfd-stop': {
          const local = this.localFor(a.nextHop);
          if (local !== undefined) this.bfd?.removePeer(a.nextHop, local);
          break;
        }
        case 'report':
        case 'withdraw': {
          let b = batches.get(a.channel);
          if (b === undefined) batches.set(a.channel, (b = []));
          b.push({ link: a.link, state: a.type === 'report' ? a.state : null });
          break;
        }
        case 'end-of-rib':
          this.flush(a.channel, batches.get(a.channel));
          batches.delete(a.channel);
          this.send(a.channel, [encodeEndOfRib(AFI.BGPLS, SAFI.BGPLS)]);
          break;
        case 'verdict': {
          const report =
            a.verdict === 'reachable' || a.verdict === 'unreachable'
              ? a.verdict
              : a.verdict === 'maintenance' || a.verdict === 'pending'
                ? 'no opinion'
                : 'unchanged';
          this.line(
            {
              event: 'report',
              peer: a.nextHop,
              asn: a.asn,
              previous: a.previous,
              state: a.verdict,
              report,
              reason: a.reason,
            },
            () =>
              `report ${a.nextHop} AS${a.asn} ${a.previous} -> ${a.verdict} (${a.reason}): ${report}`,
          );
          break;
        }
      }
    }
    for (const [channel, items] of batches) this.flush(channel, items);
    this.arm();
  }

  private flush(channel: string, items: ReportItem[] | undefined): void {
    if (items === undefined || items.length === 0) return;
    const ch = this.channels.get(channel);
    const codec = ch?.peer.negotiated?.codec;
    if (ch === undefined || codec === undefined) return;
    let msgs: Uint8Array[];
    try {
      msgs = this.opts.codec.encodeReports(items, {
        codec,
        nextHop: ch.local,
        localAs: this.opts.asn,
      });
    } catch (err) {
      this.log.error({ err: (err as Error).message, rs: ch.rs }, 'cannot encode reports');
      return;
    }
    ch.reportsSent += items.length;
    this.send(channel, msgs);
  }

  private send(channel: string, msgs: Uint8Array[]): void {
    const ch = this.channels.get(channel);
    if (ch === undefined || ch.peer.state !== 'Established') return;
    for (const m of msgs) ch.peer.sendRaw(m);
  }

  private arm(): void {
    if (this.stopping) return;
    const at = this.core.nextDeadline();
    if (at === this.timerAt && this.timer !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.apply(this.core.timer(this.now()));
      },
      Math.max(0, Math.ceil(at - this.now())),
    );
  }

  private line(json: Record<string, unknown>, text: () => string): void {
    const time = new Date(this.wallNow()).toISOString();
    this.out(this.opts.json ? JSON.stringify({ time, ...json }) : `${time} ${text()}`);
  }
}
