// The route server's side of RS-BFD (docs/rs-bfd-profile.md §5-7) through
// the real core, the real NHIB and the real BGP-LS codec: fake channels
// stand in for the agents' sessions, a virtual clock for time.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, endOfRibFamily } from '../../src/bgp/codec.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import { type HalfLink, parseRequest, reportItem } from '../../src/bgpls/rsbfd.ts';
import { decodeLsUpdate, encodeLsUpdates } from '../../src/bgpls/update.ts';
import { Nhib } from '../../src/nhib/nhib.ts';
import { type LsChannel, RsBfd } from '../../src/rs/rsbfd.ts';
import type { Timers } from '../../src/rs/server.ts';
import {
  addrOf,
  announce,
  attrs,
  type FakePeer,
  type Lab,
  lab,
  noExportTo,
  withdraw,
} from './helpers.ts';

const CODEC = { as4: true };

/** Timers on a virtual clock: advance() runs what falls due, in order. */
class VirtualTimers implements Timers {
  t = 1_000_000;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.due.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.due.delete(h as number);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.due)
        if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.due.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}

/** An agent's session as the RS sees it: what was requested, and a way to report. */
class FakeAgent implements LsChannel {
  readonly codec = CODEC;
  readonly localAddress = '192.0.2.1';
  readonly kind = 'agent' as const;
  readonly peerRouterId: string;
  readonly requested = new Map<string, HalfLink>();
  endOfRib = 0;
  updates = 0;
  readonly asn: number;
  constructor(asn: number) {
    this.asn = asn;
    this.peerRouterId = addrOf(asn);
  }
  send(messages: Uint8Array[]): void {
    for (const bytes of messages) {
      const m = decodeMessage(bytes, CODEC);
      if (m.type !== 'update') throw new Error('not an UPDATE');
      if (endOfRibFamily(m) !== null) {
        this.endOfRib++;
        continue;
      }
      const ls = decodeLsUpdate(m);
      if (ls === null) throw new Error('not BGP-LS');
      this.updates++;
      expect(ls.problems).toEqual([]);
      for (const n of ls.withdrawn) {
        const r = parseRequest(n, null);
        if (r.ok) this.requested.delete(r.value.nextHop);
      }
      for (const n of ls.announced) {
        const r = parseRequest(n, ls.attribute);
        if (!r.ok) throw new Error(r.reason);
        this.requested.set(r.value.nextHop, r.value);
      }
    }
  }
  /** The UPDATE this agent sends to report `nextHop`, or to withdraw its report (state null). */
  report(
    nextHop: string,
    state: 'reachable' | 'unreachable' | null,
    spoof?: Partial<HalfLink>,
  ): UpdateMessage {
    const h = { ...this.requested.get(nextHop)!, ...spoof };
    if (h.nextHop === undefined) throw new Error(`${nextHop} was not requested from AS${this.asn}`);
    const bytes = encodeLsUpdates(CODEC, {
      nextHop: addrOf(this.asn),
      asPath: [this.asn],
      announce: state === null ? [] : [reportItem(h, state)],
      withdraw: state === null ? [reportItem(h, 'reachable').nlri] : [],
    });
    const m = decodeMessage(bytes[0]!, CODEC);
    if (m.type !== 'update') throw new Error('not an UPDATE');
    return m;
  }
}

const A = 65001;
const B = 65002;
const C = 65003;
const D = 65004;
const P = '198.51.100.0/24'; // B (best, shorter path) and C
const Q = '203.0.113.0/24'; // B only
const R = '198.18.3.0/24'; // C only

interface World {
  l: Lab;
  rsbfd: RsBfd;
  nhib: Nhib;
  timers: VirtualTimers;
  peer: (asn: number) => FakePeer;
  agents: Map<number, FakeAgent>;
  agentUp: (asn: number) => FakeAgent;
  agentDown: (asn: number) => void;
  /** Runs the core and the request batching until nothing is pending. */
  settle: () => void;
  receive: (asn: number, m: UpdateMessage) => void;
}

function world(asns = [A, B, C, D], damping = false): World {
  const timers = new VirtualTimers();
  let rsbfd: RsBfd | null = null;
  const l = lab({ onNextHopUsage: (ev) => rsbfd?.nextHopUsage(ev), timers });
  for (const asn of asns) l.up(asn);
  const nhib = new Nhib({
    now: timers.now,
    hiddenPaths: (c, nh) => l.rs.hiddenPaths(c, nh),
    hiddenPrefixes: (c, nh, n) => l.rs.hiddenPrefixes(c, nh, n),
  });
  const settings = {
    enabled: true,
    instanceId: 0,
    damping: {
      enabled: damping,
      penalty: 1000,
      suppressThreshold: 2000,
      reuseThreshold: 750,
      halfLifeMs: 15_000,
      maxSuppressMs: 60_000,
    },
  };
  for (const asn of asns) {
    nhib.addClient({ id: `AS${asn}`, asn, addresses: [addrOf(asn)], settings });
  }
  rsbfd = new RsBfd({
    core: l.rs,
    nhib,
    clients: asns.map((asn) => ({
      id: `AS${asn}`,
      asn,
      description: '',
      addresses: [addrOf(asn)],
      enabled: true,
    })),
    rsAs: 64500,
    instanceId: 0,
    routerIdOf: (id) => addrOf(Number(id.slice(2))),
    timers,
    log: { info: () => {}, warn: () => {} },
  });
  const agents = new Map<number, FakeAgent>();
  const w: World = {
    l,
    rsbfd,
    nhib,
    timers,
    agents,
    peer: (asn) => l.peers.get(asn)!,
    settle() {
      for (let i = 0; i < 5; i++) {
        l.rs.flush();
        timers.advance(50);
      }
      l.rs.flush();
    },
    agentUp(asn) {
      const a = new FakeAgent(asn);
      agents.set(asn, a);
      w.rsbfd.channelUp(`AS${asn}`, a);
      w.settle();
      return a;
    },
    agentDown(asn) {
      w.rsbfd.channelDown(`AS${asn}`, agents.get(asn));
      agents.delete(asn);
      w.settle();
    },
    receive(asn, m) {
      expect(w.rsbfd.receive(`AS${asn}`, m)).toBe(true);
      w.settle();
    },
  };
  l.send(B, announce([P, Q], attrs({ asPath: [B], nextHop: addrOf(B) })));
  l.send(C, announce([P, R], attrs({ asPath: [C, 9], nextHop: addrOf(C) })));
  l.send(D, announce(['198.18.4.0/24'], attrs({ asPath: [D], nextHop: addrOf(D) })));
  return w;
}

describe('RS-BFD requests (rs-bfd-profile §5.1)', () => {
  it('§5.1: a client is asked for the next hops of paths eligible for it whose owner runs an agent, then End-of-RIB', () => {
    const w = world();
    const a = w.agentUp(A);
    expect([...a.requested.keys()]).toEqual([]); // nobody else runs an agent yet
    expect(a.endOfRib).toBe(1);
    const b = w.agentUp(B);
    expect([...a.requested.keys()]).toEqual([addrOf(B)]);
    expect([...b.requested.keys()]).toEqual([]); // A announces nothing
    w.agentUp(C);
    expect([...a.requested.keys()].sort()).toEqual([addrOf(B), addrOf(C)].sort());
    expect([...b.requested.keys()]).toEqual([addrOf(C)]); // never its own next hop
    const h = a.requested.get(addrOf(B))!;
    expect(h).toMatchObject({
      instanceId: 0n,
      local: { asn: A, routerId: addrOf(A) },
      remote: { asn: B, routerId: addrOf(B) },
      localAddress: addrOf(A),
      nextHop: addrOf(B),
    });
    expect(a.endOfRib).toBe(1); // once, after the initial set
  });

  it('§5.1: the request set follows routes, policy and agents, batched', () => {
    const w = world();
    const a = w.agentUp(A);
    w.agentUp(B);
    w.agentUp(D);
    expect([...a.requested.keys()].sort()).toEqual([addrOf(B), addrOf(D)].sort());
    // D's only path becomes not eligible for A (do not announce to A): no longer requested.
    w.l.send(
      D,
      announce(
        ['198.18.4.0/24'],
        attrs({ asPath: [D], nextHop: addrOf(D), communities: [noExportTo(A)] }),
      ),
    );
    w.settle();
    expect([...a.requested.keys()]).toEqual([addrOf(B)]);
    // B withdraws everything: its next hop leaves the set.
    w.l.send(B, withdraw([P, Q]));
    w.settle();
    expect([...a.requested.keys()]).toEqual([]);
    w.l.send(B, announce([Q], attrs({ asPath: [B], nextHop: addrOf(B) })));
    w.settle();
    expect([...a.requested.keys()]).toEqual([addrOf(B)]);
    // B's agent goes: nothing to ask about B (its BFD would not answer).
    w.agentDown(B);
    expect([...a.requested.keys()]).toEqual([]);
    const before = a.updates;
    // 50 route changes within one batch: one UPDATE, not fifty.
    w.agentUp(B);
    expect(a.updates).toBe(before + 1);
  });
});

describe('RS-BFD reports and selection (rs-bfd-profile §5.3-5.4, §7)', () => {
  it('§5.4: unreachable hides the paths via that next hop from that client only; the next best is sent; reachable again brings them back', () => {
    const w = world();
    const a = w.agentUp(A);
    w.agentUp(B);
    w.agentUp(C);
    const x = w.peer(A);
    const d = w.peer(D);
    expect(x.from(P)).toBe(B);
    d.clear();
    w.peer(C).clear();
    w.receive(A, a.report(addrOf(B), 'unreachable'));
    expect(x.from(P)).toBe(C); // fallback to the third client's path (implicit withdraw)
    expect(x.get(Q)).toBeUndefined(); // no other path: withdrawn
    expect(x.from(R)).toBe(C);
    expect(d.sent).toHaveLength(0); // nobody else sees anything
    expect(w.peer(C).sent).toHaveLength(0);
    expect(w.l.rs.hiddenPaths(`AS${A}`, addrOf(B))).toBe(2);
    expect(w.nhib.stateOf(`AS${A}`, addrOf(B))).toBe('unreachable');
    // Which: the prefixes of the paths counted, as `ixrs show nhib` lists them.
    expect(w.l.rs.hiddenPrefixes(`AS${A}`, addrOf(B), 10).sort()).toEqual([P, Q].sort());
    expect(w.l.rs.hiddenPrefixes(`AS${A}`, addrOf(B), 1)).toHaveLength(1);
    expect(w.l.rs.hiddenPrefixes(`AS${D}`, addrOf(B), 10)).toEqual([]);
    const row = w.nhib.nhibClient(`AS${A}`)!.entries.find((e) => e.nextHop === addrOf(B))!;
    expect(row).toMatchObject({ hiddenPaths: 2 });
    expect(row.hiddenPrefixes.sort()).toEqual([P, Q].sort());

    w.receive(A, a.report(addrOf(B), 'reachable'));
    expect(x.from(P)).toBe(B);
    expect(x.from(Q)).toBe(B);
    w.receive(A, a.report(addrOf(B), 'unreachable'));
    expect(x.get(Q)).toBeUndefined();
    w.receive(A, a.report(addrOf(B), null)); // withdrawn: no opinion, unknown
    expect(x.from(Q)).toBe(B);
    expect(w.nhib.stateOf(`AS${A}`, addrOf(B))).toBe('unknown');
  });

  it("§3: an agent's second session (its other address family) takes over: the first one's requests are withdrawn on it, and its late reports are ignored", () => {
    const w = world();
    const a1 = w.agentUp(A);
    w.agentUp(B);
    expect([...a1.requested.keys()]).toEqual([addrOf(B)]);
    const late = a1.report(addrOf(B), 'unreachable');
    const a2 = new FakeAgent(A);
    w.rsbfd.channelUp(`AS${A}`, a2);
    w.settle();
    expect([...a1.requested.keys()]).toEqual([]);
    expect([...a2.requested.keys()]).toEqual([addrOf(B)]);
    // The old session's BFD went down after the hand-over: not this client's view.
    expect(w.rsbfd.receive(`AS${A}`, late, a1)).toBe(true);
    w.settle();
    expect(w.peer(A).from(P)).toBe(B);
    expect(w.nhib.stateOf(`AS${A}`, addrOf(B))).not.toBe('unreachable');
    expect(w.rsbfd.receive(`AS${A}`, a2.report(addrOf(B), 'unreachable'), a2)).toBe(true);
    w.settle();
    expect(w.peer(A).from(P)).toBe(C);
  });

  it('§7: a report whose local node or address is not the reporting client is dropped and counted', () => {
    const w = world();
    const a = w.agentUp(A);
    w.agentUp(B);
    const c = w.agentUp(C);
    // C's agent sends a report with A's local descriptors.
    const spoof = c.report(addrOf(B), 'unreachable', {
      local: { asn: A, routerId: addrOf(A) },
      localAddress: addrOf(A),
    });
    w.receive(C, spoof);
    w.receive(A, a.report(addrOf(B), 'reachable'));
    expect(w.peer(A).from(Q)).toBe(B);
    expect(w.peer(C).from(Q)).toBe(B);
    expect(w.nhib.counters(`AS${C}`).spoofed).toBe(1);
    expect(w.nhib.stateOf(`AS${A}`, addrOf(B))).toBe('reachable');
  });

  it('§7: losing the reachability session fails open at once', () => {
    const w = world();
    const a = w.agentUp(A);
    w.agentUp(B);
    w.receive(A, a.report(addrOf(B), 'unreachable'));
    expect(w.peer(A).get(Q)).toBeUndefined();
    w.agentDown(A);
    expect(w.peer(A).from(Q)).toBe(B);
    expect(w.nhib.stateOf(`AS${A}`, addrOf(B))).toBe('unknown');
    expect(w.l.rs.unreachableNextHops(`AS${A}`)).toEqual([]);
    // B's agent going away does not change A's view of a reported next hop... but
    // A stops being asked for it, and its (kept) report stays until A's session ends.
  });

  it('§7 (RFC 2439 style): damping holds a flapping next hop unreachable and releases it after decay', () => {
    const w = world([A, B, C, D], true);
    const a = w.agentUp(A);
    w.agentUp(B);
    const x = w.peer(A);
    for (let i = 0; i < 3; i++) {
      w.receive(A, a.report(addrOf(B), 'unreachable'));
      expect(x.get(Q)).toBeUndefined(); // the Down is never delayed
      w.receive(A, a.report(addrOf(B), 'reachable'));
    }
    // Third flap: suppressed, held unreachable although reported reachable.
    expect(w.nhib.isDamped(`AS${A}`, addrOf(B))).toBe(true);
    expect(x.get(Q)).toBeUndefined();
    const updates = x.updates().length;
    w.timers.advance(70_000);
    w.settle();
    expect(w.nhib.isDamped(`AS${A}`, addrOf(B))).toBe(false);
    expect(x.from(Q)).toBe(B);
    expect(x.updates().length - updates).toBeLessThanOrEqual(2); // the release, not a storm
  });

  it('a report for the RS over a wrong instance, or not a Link NLRI of the profile, changes nothing', () => {
    const w = world();
    const a = w.agentUp(A);
    w.agentUp(B);
    w.receive(A, a.report(addrOf(B), 'unreachable', { instanceId: 7n }));
    expect(w.peer(A).from(Q)).toBe(B);
    expect(w.rsbfd.stats.invalidReports).toBe(1);
  });

  it('property (§5.4): through random reports, flaps and session losses, every client holds exactly its best path whose next hop it does not report unreachable', () => {
    const clients = [A, B, C, D];
    const op = fc.oneof(
      fc.record({
        k: fc.constant('report' as const),
        who: fc.constantFrom(...clients),
        nh: fc.constantFrom(B, C, D),
        state: fc.constantFrom('reachable' as const, 'unreachable' as const, null),
      }),
      fc.record({ k: fc.constant('down' as const), who: fc.constantFrom(...clients) }),
      fc.record({ k: fc.constant('up' as const), who: fc.constantFrom(...clients) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const w = world(clients);
        for (const asn of clients) w.agentUp(asn);
        for (const o of ops) {
          if (o.k === 'report') {
            const ag = w.agents.get(o.who);
            if (ag === undefined || !ag.requested.has(addrOf(o.nh))) continue;
            w.receive(o.who, ag.report(addrOf(o.nh), o.state));
          } else if (o.k === 'down') {
            if (w.agents.has(o.who)) w.agentDown(o.who);
          } else if (!w.agents.has(o.who)) w.agentUp(o.who);
        }
        // Expected: per client, for each prefix, the first path of the ranking
        // (B before C for P) not its own and whose next hop it reports unreachable.
        const ranking: Record<string, number[]> = {
          [P]: [B, C],
          [Q]: [B],
          [R]: [C],
          '198.18.4.0/24': [D],
        };
        for (const who of clients) {
          const bad = (nh: number) =>
            w.agents.has(who) && w.nhib.stateOf(`AS${who}`, addrOf(nh)) === 'unreachable';
          for (const [prefix, by] of Object.entries(ranking)) {
            const want = by.find((o) => o !== who && !bad(o));
            expect(w.peer(who).from(prefix), `AS${who} ${prefix}`).toBe(want);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
