// Session lifecycle: clients and their sessions (one per configured
// address), established and lost, graceful restart as the helper (RFC 4724
// §4.2: stale paths, restart and stale-path timers, End-of-RIB), route
// refresh (RFC 2918, RFC 7313). Sessions are handles (Session objects);
// strings are resolved here once.

import { familyKey } from '../bgp/types.ts';
import type { SessionInfo, SessionRef } from './api.ts';
import type { Input } from './input.ts';
import { type Client, type Session, type Sink, sessionKey } from './model.ts';
import type { Output } from './output.ts';
import type { ClientConfig } from './policy-api.ts';
import type { CoreState } from './state.ts';
import { IdQueue, NONE, STALE } from './store.ts';

export class Lifecycle {
  private readonly s: CoreState;
  private readonly input: Input;
  private readonly output: Output;

  nextSlot = 0;

  nextGroupId = 1;

  addClient(cfg: ClientConfig): void {
    if (this.s.clients.has(cfg.id)) throw new Error(`client ${cfg.id} already added`);
    const idx = this.s.clients.size;
    if (idx >= this.s.clientCap) this.s.clientCap *= 2;
    const client: Client = {
      cfg,
      idx,
      uses: new Map(),
      acceptedByAfi: new Map(),
      maxPrefixHit: new Set(),
      nhDown: new Set(),
      sessions: new Map(),
      stats: {
        received: 0,
        accepted: 0,
        rejected: 0,
        rejectedByReason: new Map(),
        rejectedKept: 0,
        rejectedNotKept: 0,
        blocked: 0,
        withdrawnReceived: 0,
        treatAsWithdraw: 0,
        sentUpdates: 0,
        sentNlri: 0,
      },
    };
    this.s.clients.set(cfg.id, client);
    this.s.clientList.push(client);
    const addrs = cfg.addresses.length > 0 ? cfg.addresses : [''];
    for (const address of addrs) {
      if (this.nextSlot >= 0xffff) throw new Error('too many sessions (65535)');
      const s: Session = {
        key: sessionKey(cfg.id, address),
        client,
        address,
        bgpId: 0,
        slot: this.nextSlot++,
        mark: 0,
        adjHead: NONE,
        adjCount: 0,
        state: 'idle',
        since: this.s.timers.now(),
        epoch: 0,
        grTimer: null,
        up: null,
      };
      this.s.bySlot[s.slot] = s;
      client.sessions.set(address, s);
      this.s.sessionsByKey.set(s.key, s);
    }
  }

  /** The session named by a handle, `id@address` (sessionKey), or a client id when the client has one session. */
  session(ref: SessionRef, address?: string): Session {
    if (typeof ref !== 'string') {
      const s = ref as Session;
      if (this.s.bySlot[s.slot] !== s)
        throw new Error(`not a session of this route server: ${s.key}`);
      return s;
    }
    const direct = this.s.sessionsByKey.get(ref);
    if (direct !== undefined) return direct;
    const c = this.s.clients.get(ref);
    if (c === undefined) throw new Error(`unknown client ${ref}`);
    if (address !== undefined) {
      const s = c.sessions.get(address);
      if (s === undefined) throw new Error(`client ${ref} has no address ${address}`);
      return s;
    }
    if (c.sessions.size !== 1) {
      throw new Error(`client ${ref} has ${c.sessions.size} sessions: name one (id@address)`);
    }
    return c.sessions.values().next().value!;
  }

  sessionUp(clientId: SessionRef, info: SessionInfo, sink: Sink): void {
    const s = this.session(clientId, info.address);
    if (s.up !== null) this.sessionDown(s.key); // never told it went down: a plain loss
    s.epoch++;
    s.bgpId = info.bgpId ?? 0;
    s.state = 'up';
    s.since = this.s.timers.now();
    let g = this.s.groups.get(info.groupKey);
    if (g === undefined) {
      g = { id: this.nextGroupId++, key: info.groupKey, codec: info.codec, members: new Set() };
      this.s.groups.set(info.groupKey, g);
      this.s.groupList = [...this.s.groups.values()];
    }
    g.members.add(s);
    const up: Session['up'] = {
      codec: info.codec,
      families: info.families,
      addPathTx: info.addPathTx,
      extendedNextHop: info.extendedNextHop ?? new Set(),
      enhancedRefresh: info.enhancedRouteRefresh ?? false,
      group: g,
      sink,
      blocked: false,
      fam: new Map(),
      dirty: new IdQueue(false),
      apOut: new Map(),
      grPending: new Set(),
      muted: false,
      disabled: new Set(),
      held: 0,
    };
    s.up = up;
    for (const fam of info.families) {
      if (!this.s.rsFamilies.has(fam)) continue;
      up.fam.set(fam, { kind: 'dump', cursor: -1, refresh: false, start: -1, lapped: false });
      const list = this.s.active.get(fam);
      if (list === undefined) this.s.active.set(fam, [s]);
      else list.push(s);
    }
    if (up.fam.size > 0) this.s.dumping.add(s);
    if (info.addPathTx.size > 0) this.s.apSessions.add(s);
    sink.onDrain(() => {
      if (s.up !== up || !up.blocked) return;
      up.blocked = false;
      this.s.blockedSet.delete(s);
      this.s.pumpQueue.add(s);
      this.s.kick();
    });
    // RFC 4724 §4.2: stale paths stay until End-of-RIB or the stale-path timer.
    if (this.hasStale(s)) {
      if (info.gracefulRestart === false) {
        this.s.clearGrTimer(s);
        this.input.startCleanup(s, -1, true);
      } else {
        const P = this.s.paths;
        for (let p = s.adjHead; p !== NONE; p = P.sNext[p]!) {
          if ((P.flags[p]! & STALE) !== 0) up.grPending.add(this.s.entries.fam(P.entry[p]!));
        }
        const kept = info.gracefulRestartFamilies;
        if (kept !== undefined) {
          // A family without the F bit (or left out) loses its stale paths now.
          for (const fam of [...up.grPending]) {
            if (kept.has(fam)) continue;
            up.grPending.delete(fam);
            this.input.startCleanup(s, this.s.famSlot(fam), true);
          }
        }
        this.s.clearGrTimer(s);
        if (up.grPending.size > 0) {
          s.grTimer = this.s.timers.setTimeout(
            () => this.expireStale(s),
            this.s.stalePathTime * 1000,
          );
        }
      }
    }
    this.s.pumpQueue.add(s);
    this.s.kick();
  }

  sessionDown(
    clientId: SessionRef,
    opts: { gracefulRestart?: { restartTime: number } } = {},
  ): void {
    const s = this.session(clientId);
    const gr = opts.gracefulRestart;
    if (gr !== undefined && s.up !== null) this.input.drainSession(s);
    this.teardown(s);
    s.epoch++;
    s.since = this.s.timers.now();
    const P = this.s.paths;
    if (gr !== undefined && gr.restartTime > 0 && s.adjCount > 0) {
      // RFC 4724 §4.2: keep the paths, marked stale, for the restart time.
      for (let p = s.adjHead; p !== NONE; p = P.sNext[p]!) P.flags[p]! |= STALE;
      s.state = 'stale';
      this.s.clearGrTimer(s);
      s.grTimer = this.s.timers.setTimeout(() => this.expireStale(s), gr.restartTime * 1000);
      return;
    }
    s.state = 'idle';
    this.s.clearGrTimer(s);
    // The paths leave the Adj-RIB-In now (no lookup finds them) and the ranking in slices.
    if (s.adjCount > 0) this.input.detach(s);
  }

  /** Restart/stale-path timer expiry: drop the session's remaining stale paths. */
  expireStale(clientId: SessionRef): void {
    const s = this.session(clientId);
    s.grTimer = null;
    if (s.state === 'stale') s.state = 'idle';
    s.up?.grPending.clear();
    this.input.startCleanup(s, -1, true);
  }

  hasStale(s: Session): boolean {
    const P = this.s.paths;
    for (let p = s.adjHead; p !== NONE; p = P.sNext[p]!)
      if ((P.flags[p]! & STALE) !== 0) return true;
    return false;
  }

  teardown(s: Session): void {
    const up = s.up;
    if (up === null) return;
    up.group.members.delete(s);
    if (up.group.members.size === 0) {
      this.s.groups.delete(up.group.key);
      this.s.groupList = [...this.s.groups.values()];
    }
    for (const fam of up.fam.keys()) {
      const list = this.s.active.get(fam);
      if (list !== undefined) {
        const i = list.indexOf(s);
        if (i >= 0) list.splice(i, 1);
      }
    }
    for (const e of up.apOut.keys()) {
      this.s.entries.addApRef(e, -1);
      this.s.entries.maybeDelete(e);
    }
    this.s.pumpQueue.delete(s);
    this.s.blockedSet.delete(s);
    this.s.dumping.delete(s);
    this.s.apSessions.delete(s);
    s.up = null;
    s.state = 'idle';
  }

  routeRefresh(clientId: SessionRef, afi: number, safi: number): void {
    const s = this.session(clientId);
    const up = s.up;
    if (up === null) return;
    const fam = familyKey(afi, safi);
    const st = up.fam.get(fam);
    if (st === undefined) return;
    if (st.kind === 'dump' && !st.refresh) return; // the initial dump is still running
    if (up.enhancedRefresh) {
      // RFC 7313 §4: BoRR, the Adj-RIB-Out, then EoRR.
      this.output.writeRaw(s, this.s.encoder.encodeRouteRefresh(afi, safi, 1, up.codec));
    }
    up.fam.set(fam, { kind: 'dump', cursor: -1, refresh: true, start: -1, lapped: false });
    this.s.pumpQueue.add(s);
    this.s.kick();
  }

  constructor(s: CoreState, input: Input, output: Output) {
    this.s = s;
    this.input = input;
    this.output = output;
  }

  /** Every session (shutdown, views). */
  all(): Iterable<Session> {
    return this.s.sessionsByKey.values();
  }
}
