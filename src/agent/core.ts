// The companion agent's report state machine (docs/rs-bfd-profile.md §5.2-5.3,
// §6, §7): pure, events in, actions out, the clock passed in as `now` (ms,
// monotonic), timers as deadlines the driver arms (`nextDeadline()`).
//
// Events: request / withdrawRequest (a Link NLRI the route server announced or
// withdrew on one of the agent's BGP-LS sessions, a "channel"), bfd (a BFD
// state change of the session to a next hop), timer (a deadline passed),
// sessionUp / sessionDown / endOfRib (the channel's BGP-LS session).
//
// Actions: bfd-start / bfd-stop (one active BFD session per next-hop address,
// however many requests name it), report (the request's Link NLRI back with
// reachable or unreachable), withdraw (the report: "no opinion"), end-of-rib
// (after the reports that follow a session coming up).
//
// Rules (profile §6):
//  - reachable once BFD is Up, after the hold-down (default 0) if one is set;
//    while held down the previous report stands;
//  - unreachable when a session that was Up goes Down (detection timeout or
//    the neighbour signalled Down), and when a requested session is not Up
//    within the bring-up timeout (default 10 s) of the request;
//  - AdminDown on either side is maintenance: the report is withdrawn, and
//    nothing is reported until the session comes Up again;
//  - a withdrawn request withdraws its report; the BFD session stops when no
//    request names the next hop any more;
//  - when a channel's session goes down, the route server forgets our reports
//    (§7): its requests are kept (BFD keeps running) but marked stale; when it
//    comes up, every request's report is sent again, then End-of-RIB. Stale
//    requests the route server does not announce again are dropped at its
//    End-of-RIB, or `staleMs` after the session came up.

import { DeadlineHeap, type HeapItem } from '../bfd/heap.ts';

export interface NodeId {
  asn: number;
  /** BGP Identifier, dotted quad. */
  routerId: string;
}

/** One requested check: the Link NLRI of profile §4, as parsed. */
export interface CheckLink {
  instanceId: number;
  local: NodeId;
  remote: NodeId;
  /** The agent's (client A's) LAN address. */
  localAddress: string;
  /** The next hop N to check. */
  nextHop: string;
}

export type Report = 'reachable' | 'unreachable';
/** What we tell (or told) the route server about a request. */
export type ReportState = Report | 'none';

/**
 * The agent's judgement of a next hop:
 *  - pending: requested, BFD not Up yet, bring-up timer running;
 *  - holding: Up, hold-down running (the previous report stands);
 *  - reachable / unreachable: reported as such;
 *  - maintenance: AdminDown seen (either side), no opinion until Up.
 */
export type Verdict = 'pending' | 'holding' | 'reachable' | 'unreachable' | 'maintenance';

export type BfdStateName = 'AdminDown' | 'Down' | 'Init' | 'Up';

export interface BfdChange {
  /** The next hop's address (the BFD peer). */
  peer: string;
  state: BfdStateName;
  previous: BfdStateName;
  diag: string;
  remoteState: BfdStateName;
}

export type AgentAction =
  | { type: 'bfd-start'; nextHop: string }
  | { type: 'bfd-stop'; nextHop: string }
  | { type: 'report'; channel: string; link: CheckLink; state: Report; previous: ReportState }
  | { type: 'withdraw'; channel: string; link: CheckLink; previous: Report }
  | { type: 'end-of-rib'; channel: string }
  | {
      type: 'verdict';
      nextHop: string;
      asn: number;
      verdict: Verdict;
      previous: Verdict;
      /** Why, e.g. 'BFD Up', 'bring-up timeout', 'BFD Down (control-detection-time-expired)'. */
      reason: string;
    };

export interface AgentCoreOptions {
  /** A requested session not Up within this is reported unreachable (ms, default 10000). */
  bringUpMs?: number;
  /** Up must last this long before reachable is reported (ms, default 0). */
  holdDownMs?: number;
  /** Stale requests are dropped this long after their session came up (ms, default 60000). */
  staleMs?: number;
}

export interface RequestStatus {
  channel: string;
  link: CheckLink;
  reported: ReportState;
  stale: boolean;
}

export interface NextHopStatus {
  nextHop: string;
  /** The remote ASNs named by the requests. */
  asns: number[];
  bfd: BfdStateName;
  remoteState: BfdStateName;
  diag: string;
  verdict: Verdict;
  /** The report the requests carry (or will carry once their session is up). */
  report: ReportState;
  /** ms (the core's clock) of the last verdict change. */
  since: number;
  lastReason: string;
  /** Pending deadlines, ms (the core's clock). */
  bringUpAt: number | null;
  holdUntil: number | null;
  requests: RequestStatus[];
}

interface RequestEntry {
  key: string;
  channel: string;
  link: CheckLink;
  reported: ReportState;
  stale: boolean;
}

interface NextHopEntry extends HeapItem {
  address: string;
  requests: Map<string, RequestEntry>;
  bfd: BfdStateName;
  remoteState: BfdStateName;
  diag: string;
  verdict: Verdict;
  report: ReportState;
  since: number;
  lastReason: string;
  bringUpAt: number;
  holdUntil: number;
}

interface ChannelEntry {
  up: boolean;
  /** When stale requests are dropped (while up), else +Infinity. */
  staleAt: number;
}

const NEVER = Number.POSITIVE_INFINITY;

/** The identity of a Link NLRI (every field of profile §4). */
export function linkKey(l: CheckLink): string {
  return `${l.instanceId}|${l.local.asn}|${l.local.routerId}|${l.remote.asn}|${l.remote.routerId}|${l.localAddress}|${l.nextHop}`;
}

export class AgentCore {
  readonly bringUpMs: number;
  readonly holdDownMs: number;
  readonly staleMs: number;
  private readonly nextHops = new Map<string, NextHopEntry>();
  private readonly channels = new Map<string, ChannelEntry>();
  private readonly heap = new DeadlineHeap<NextHopEntry>();

  constructor(o: AgentCoreOptions = {}) {
    this.bringUpMs = o.bringUpMs ?? 10_000;
    this.holdDownMs = o.holdDownMs ?? 0;
    this.staleMs = o.staleMs ?? 60_000;
  }

  // ------------------------------------------------------------------ events

  /** The route server asks (again) for a check (profile §5.1). */
  request(channel: string, link: CheckLink, now: number): AgentAction[] {
    const out: AgentAction[] = [];
    const key = `${channel}#${linkKey(link)}`;
    let nh = this.nextHops.get(link.nextHop);
    const existing = nh?.requests.get(key);
    if (existing !== undefined) {
      // The whole request set re-sent, or the RS re-announcing after a reconnect.
      existing.stale = false;
      return out;
    }
    if (nh === undefined) {
      nh = {
        address: link.nextHop,
        requests: new Map(),
        bfd: 'Down',
        remoteState: 'Down',
        diag: 'none',
        verdict: 'pending',
        report: 'none',
        since: now,
        lastReason: 'requested',
        bringUpAt: now + this.bringUpMs,
        holdUntil: NEVER,
        deadline: NEVER,
        heapIndex: -1,
      };
      this.nextHops.set(link.nextHop, nh);
      this.reschedule(nh);
      out.push({ type: 'bfd-start', nextHop: link.nextHop });
    }
    const r: RequestEntry = { key, channel, link, reported: 'none', stale: false };
    nh.requests.set(key, r);
    this.sync(r, nh.report, out);
    return out;
  }

  /** The route server no longer asks for this check: withdraw our report. */
  withdrawRequest(channel: string, link: CheckLink, _now: number): AgentAction[] {
    const out: AgentAction[] = [];
    this.dropRequest(`${channel}#${linkKey(link)}`, link.nextHop, out);
    return out;
  }

  /** A BFD state change of the session to `e.peer`. */
  bfd(e: BfdChange, now: number): AgentAction[] {
    const out: AgentAction[] = [];
    const nh = this.nextHops.get(e.peer);
    if (nh === undefined) return out; // a passive session: someone checking us
    const before = nh.bfd;
    nh.bfd = e.state;
    nh.remoteState = e.remoteState;
    nh.diag = e.diag;
    if (e.state === 'Up') {
      if (before === 'Up') return out;
      nh.bringUpAt = NEVER;
      if (this.holdDownMs > 0) {
        nh.holdUntil = now + this.holdDownMs;
        this.setVerdict(nh, 'holding', 'BFD Up, hold-down', now, out);
      } else {
        this.setVerdict(nh, 'reachable', 'BFD Up', now, out);
      }
    } else if (e.state === 'AdminDown' || e.remoteState === 'AdminDown') {
      // §6: maintenance, not failure (our AdminDown, or the peer's).
      nh.bringUpAt = NEVER;
      nh.holdUntil = NEVER;
      const who = e.state === 'AdminDown' ? 'local' : 'peer';
      this.setVerdict(nh, 'maintenance', `BFD AdminDown (${who})`, now, out);
    } else if (e.state === 'Down' && before === 'Up') {
      nh.holdUntil = NEVER;
      this.setVerdict(nh, 'unreachable', `BFD Down (${e.diag})`, now, out);
    }
    // Init, or Down from Init / AdminDown: the verdict stands (a pending
    // request keeps its bring-up timer).
    this.reschedule(nh);
    return out;
  }

  /** Deadlines up to `now` passed. */
  timer(now: number): AgentAction[] {
    const out: AgentAction[] = [];
    for (;;) {
      const nh = this.heap.peek();
      if (nh === undefined || nh.deadline > now) break;
      if (nh.bringUpAt <= now) {
        nh.bringUpAt = NEVER;
        if (nh.bfd !== 'Up') {
          const secs = this.bringUpMs / 1000;
          this.setVerdict(
            nh,
            'unreachable',
            `not Up within the bring-up timeout (${secs} s)`,
            now,
            out,
          );
        }
      }
      if (nh.holdUntil <= now) {
        nh.holdUntil = NEVER;
        if (nh.bfd === 'Up') this.setVerdict(nh, 'reachable', 'BFD Up, hold-down over', now, out);
      }
      this.reschedule(nh);
    }
    for (const [channel, c] of this.channels) {
      if (c.staleAt <= now) {
        c.staleAt = NEVER;
        this.purgeStale(channel, out);
      }
    }
    return out;
  }

  /** The channel's BGP-LS session is Established: report everything, then End-of-RIB. */
  sessionUp(channel: string, now: number): AgentAction[] {
    const out: AgentAction[] = [];
    const c = this.channel(channel);
    c.up = true;
    let stale = false;
    for (const nh of this.nextHops.values()) {
      for (const r of nh.requests.values()) {
        if (r.channel !== channel) continue;
        if (r.stale) stale = true;
        this.sync(r, nh.report, out);
      }
    }
    c.staleAt = stale ? now + this.staleMs : NEVER;
    out.push({ type: 'end-of-rib', channel });
    return out;
  }

  /** The channel's session went down: the RS forgot our reports; its requests go stale. */
  sessionDown(channel: string, _now: number): AgentAction[] {
    const c = this.channel(channel);
    c.up = false;
    c.staleAt = NEVER;
    for (const nh of this.nextHops.values()) {
      for (const r of nh.requests.values()) {
        if (r.channel !== channel) continue;
        r.reported = 'none';
        r.stale = true;
      }
    }
    return [];
  }

  /** The route server's End-of-RIB for its requests: requests it did not renew are gone. */
  endOfRib(channel: string, _now: number): AgentAction[] {
    const out: AgentAction[] = [];
    this.channel(channel).staleAt = NEVER;
    this.purgeStale(channel, out);
    return out;
  }

  // ----------------------------------------------------------------- queries

  /** The earliest deadline (ms), or +Infinity. */
  nextDeadline(): number {
    let d = this.heap.peek()?.deadline ?? NEVER;
    for (const c of this.channels.values()) if (c.staleAt < d) d = c.staleAt;
    return d;
  }

  isChecked(nextHop: string): boolean {
    return this.nextHops.has(nextHop);
  }

  /** The remote ASN of a checked next hop (the first request's), or undefined. */
  asnOf(nextHop: string): number | undefined {
    const nh = this.nextHops.get(nextHop);
    if (nh === undefined) return undefined;
    for (const r of nh.requests.values()) return r.link.remote.asn;
    return undefined;
  }

  get size(): number {
    return this.nextHops.size;
  }

  status(): NextHopStatus[] {
    const out: NextHopStatus[] = [];
    for (const nh of this.nextHops.values()) {
      const requests = [...nh.requests.values()].map((r) => ({
        channel: r.channel,
        link: r.link,
        reported: r.reported,
        stale: r.stale,
      }));
      out.push({
        nextHop: nh.address,
        asns: [...new Set(requests.map((r) => r.link.remote.asn))],
        bfd: nh.bfd,
        remoteState: nh.remoteState,
        diag: nh.diag,
        verdict: nh.verdict,
        report: nh.report,
        since: nh.since,
        lastReason: nh.lastReason,
        bringUpAt: nh.bringUpAt === NEVER ? null : nh.bringUpAt,
        holdUntil: nh.holdUntil === NEVER ? null : nh.holdUntil,
        requests,
      });
    }
    return out;
  }

  // --------------------------------------------------------------- internals

  private channel(name: string): ChannelEntry {
    let c = this.channels.get(name);
    if (c === undefined) {
      c = { up: false, staleAt: NEVER };
      this.channels.set(name, c);
    }
    return c;
  }

  private setVerdict(
    nh: NextHopEntry,
    verdict: Verdict,
    reason: string,
    now: number,
    out: AgentAction[],
  ): void {
    if (nh.verdict === verdict) return;
    const previous = nh.verdict;
    nh.verdict = verdict;
    nh.since = now;
    nh.lastReason = reason;
    let asn = 0;
    for (const r of nh.requests.values()) {
      asn = r.link.remote.asn;
      break;
    }
    out.push({ type: 'verdict', nextHop: nh.address, asn, verdict, previous, reason });
    if (verdict === 'reachable' || verdict === 'unreachable') nh.report = verdict;
    else if (verdict === 'maintenance' || verdict === 'pending') nh.report = 'none';
    // holding: the previous report stands until the hold-down is over.
    for (const r of nh.requests.values()) this.sync(r, nh.report, out);
  }

  /** Bring one request's report on the wire to `want` (when its session is up). */
  private sync(r: RequestEntry, want: ReportState, out: AgentAction[]): void {
    if (r.reported === want) return;
    if (this.channels.get(r.channel)?.up !== true) return;
    const previous = r.reported;
    r.reported = want;
    if (want === 'none') {
      out.push({
        type: 'withdraw',
        channel: r.channel,
        link: r.link,
        previous: previous as Report,
      });
    } else {
      out.push({ type: 'report', channel: r.channel, link: r.link, state: want, previous });
    }
  }

  private dropRequest(key: string, nextHop: string, out: AgentAction[]): void {
    const nh = this.nextHops.get(nextHop);
    const r = nh?.requests.get(key);
    if (nh === undefined || r === undefined) return;
    nh.requests.delete(key);
    if (r.reported !== 'none' && this.channels.get(r.channel)?.up === true) {
      out.push({ type: 'withdraw', channel: r.channel, link: r.link, previous: r.reported });
    }
    if (nh.requests.size === 0) {
      this.heap.remove(nh);
      this.nextHops.delete(nextHop);
      out.push({ type: 'bfd-stop', nextHop });
    }
  }

  private purgeStale(channel: string, out: AgentAction[]): void {
    const drop: RequestEntry[] = [];
    for (const nh of this.nextHops.values()) {
      for (const r of nh.requests.values()) if (r.channel === channel && r.stale) drop.push(r);
    }
    for (const r of drop) this.dropRequest(r.key, r.link.nextHop, out);
  }

  private reschedule(nh: NextHopEntry): void {
    const d = Math.min(nh.bringUpAt, nh.holdUntil);
    if (d === NEVER) this.heap.remove(nh);
    else if (d !== nh.deadline || nh.heapIndex < 0) this.heap.set(nh, d);
  }
}
