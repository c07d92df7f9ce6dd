// The route-server core of `ixrs run` (RFC 7947), pure of sockets: sessions
// hand it UPDATEs and sinks; it keeps the Adj-RIBs-In and the ranked prefix
// table (rib.ts), decides per client (decision.ts) and writes packed UPDATEs
// (packer.ts), built once per group of sessions with identical output.
//
// RouteServer is the façade over one shared state (state.ts) and its
// sections: lifecycle.ts (clients, sessions, graceful restart, refresh),
// input.ts (UPDATEs in), output.ts (UPDATEs out), slices.ts (scheduling),
// views.ts (operator queries), reach.ts (the reachability input). All work
// runs in slices: receiveUpdate only queues; a slice processes input,
// changed prefixes and per-session work for a few milliseconds and yields.

import { canonicalAddress } from '../bgp/prefix.ts';
import type { UpdateMessage } from '../bgp/types.ts';
import type {
  ClientSummary,
  ExportView,
  RouteQuery,
  RouteServerOptions,
  RouteView,
  SessionHandle,
  SessionInfo,
  SessionRef,
  SessionSnapshot,
} from './api.ts';
import { Input } from './input.ts';
import { Lifecycle } from './lifecycle.ts';
import type { Client, Sink } from './model.ts';
import { Output } from './output.ts';
import type { ClientConfig } from './policy-api.ts';
import { Reachability } from './reach.ts';
import { Slices } from './slices.ts';
import { CoreState } from './state.ts';
import type { EntryStore } from './store.ts';
import { Views } from './views.ts';

export type {
  ClientSummary,
  ExportView,
  Log,
  MaxPrefixEvent,
  RouteQuery,
  RouteServerOptions,
  RouteView,
  Scheduler,
  SessionHandle,
  SessionInfo,
  SessionRef,
  SessionSnapshot,
  SettledEvent,
  Timers,
} from './api.ts';
export type { Sink } from './model.ts';
export { sessionKey } from './model.ts';
export type { WireEncoder } from './packer.ts';
export type { NextHopUsageEvent } from './reach.ts';

export class RouteServer {
  private readonly s: CoreState;
  private readonly life: Lifecycle;
  private readonly input: Input;
  private readonly output: Output;
  private readonly slicer: Slices;
  private readonly views: Views;

  constructor(opts: RouteServerOptions) {
    const s = new CoreState(opts);
    this.s = s;
    this.output = new Output(s);
    this.input = new Input(s, opts);
    s.reach = new Reachability(
      s.tables,
      s.decision,
      s.clientList,
      { detached: (slot, out) => this.input.detached(slot, out) },
      opts.onNextHopUsage,
    );
    this.life = new Lifecycle(s, this.input, this.output);
    this.slicer = new Slices(s, this.input, this.output, opts);
    this.views = new Views(s, this.life);
  }

  /** The prefix table (ranked paths per entry). */
  get entries(): EntryStore {
    return this.s.entries;
  }

  /** Number of slices run (scheduler turns). */
  get slices(): number {
    return this.slicer.slices;
  }

  /** Longest slice so far, ms (the event loop was busy with route work that long). */
  get maxSliceMs(): number {
    return this.slicer.maxSliceMs;
  }

  set maxSliceMs(v: number) {
    this.slicer.maxSliceMs = v;
  }

  // ================================================================ clients and sessions (lifecycle.ts)

  addClient(cfg: ClientConfig): void {
    this.life.addClient(cfg);
  }

  /** The handle of a client's session (its address as configured; the only one when omitted). */
  sessionHandle(clientId: string, address?: string): SessionHandle {
    return this.life.session(clientId, address);
  }

  sessionUp(ref: SessionRef, info: SessionInfo, sink: Sink): void {
    this.life.sessionUp(ref, info, sink);
  }

  sessionDown(ref: SessionRef, opts: { gracefulRestart?: { restartTime: number } } = {}): void {
    this.life.sessionDown(ref, opts);
  }

  /** Restart/stale-path timer expiry: drop the session's remaining stale paths. */
  expireStale(ref: SessionRef): void {
    this.life.expireStale(ref);
  }

  routeRefresh(ref: SessionRef, afi: number, safi: number): void {
    this.life.routeRefresh(ref, afi, safi);
  }

  // ================================================================ input (input.ts)

  /**
   * Queues an UPDATE. Returns false when the input queue is above its
   * high-water mark: stop reading until onInputDrain (the UPDATE is queued
   * all the same).
   */
  receiveUpdate(ref: SessionRef, msg: UpdateMessage): boolean {
    return this.input.receiveUpdate(this.life.session(ref), msg);
  }

  /** NLRI received and not yet applied. */
  get inputBacklog(): number {
    return this.input.inputBacklog;
  }

  // ================================================================ reachability (reach.ts)

  private client(clientId: string): Client {
    const c = this.s.clients.get(clientId);
    if (c === undefined) throw new Error(`unknown client ${clientId}`);
    return c;
  }

  private static address(text: string): string {
    const a = canonicalAddress(text);
    if (a === null) throw new Error(`not an address: ${text}`);
    return a;
  }

  /**
   * Client `clientId` (its id in clients.yml) can (not) reach next hop
   * `nextHop` (address text, canonicalised here): while unreachable, paths via
   * it are not eligible for that client (rs-bfd-profile §5). Queued and
   * applied at the next slice; a next hop no path uses yet is remembered.
   */
  setNextHopReachability(clientId: string, nextHop: string, unreachable: boolean): void {
    this.s.reach.set(this.client(clientId), RouteServer.address(nextHop), unreachable);
    this.s.kick();
  }

  /** Forgets every report of `clientId` (fail open: plain RFC 7947 for it again), at the next slice. */
  clearNextHopReachability(clientId: string): void {
    this.s.reach.clear(this.client(clientId));
    this.s.kick();
  }

  /** The next-hop addresses `clientId` reports unreachable (reports applied so far). */
  unreachableNextHops(clientId: string): string[] {
    return this.s.reach.unreachableFor(this.client(clientId));
  }

  /**
   * The next hops of every accepted path eligible for `clientId` by policy and
   * announcement control (whatever their reachability), its own addresses
   * excluded: what it should check (rs-bfd-profile §5.1).
   */
  nextHopsEligibleFor(clientId: string): string[] {
    return this.s.reach.eligibleNextHops(this.client(clientId));
  }

  /** Whether some accepted path via `nextHop` is eligible for `clientId` (as nextHopsEligibleFor). */
  nextHopEligibleFor(clientId: string, nextHop: string): boolean {
    const g = this.s.nhs.globalId(RouteServer.address(nextHop));
    const r = g < 0 ? null : this.s.nhs.globals[g]!;
    const c = this.client(clientId);
    return r !== null && !c.cfg.addresses.includes(r.addr) && this.s.reach.eligibleVia(r, c);
  }

  /** Paths of other clients via `nextHop` that `clientId` cannot use because it reported it unreachable. */
  hiddenPaths(clientId: string, nextHop: string): number {
    return this.s.reach.hidden(this.client(clientId), RouteServer.address(nextHop));
  }

  /** The prefixes of the first `limit` paths hiddenPaths() counts. */
  hiddenPrefixes(clientId: string, nextHop: string, limit: number): string[] {
    return this.s.reach.hiddenPrefixes(this.client(clientId), RouteServer.address(nextHop), limit);
  }

  /** The clients announcing accepted paths via `nextHop`. */
  nextHopAnnouncers(nextHop: string): string[] {
    return this.s.reach.announcers(RouteServer.address(nextHop));
  }

  /** Reachability walks so far (one per next hop per slice in which its state changed for some client). */
  get reachWalks(): number {
    return this.s.reach.walkCount;
  }

  // ================================================================ scheduling (slices.ts)

  /** One unit of each kind of pending work; false when idle (tests drive the core step by step). */
  step(): boolean {
    return this.slicer.step();
  }

  /** Runs all pending work now, synchronously (tests, shutdown). */
  flush(): void {
    this.slicer.flush();
  }

  /** Resolves when no work is pending (with the default scheduler). */
  idle(): Promise<void> {
    return this.slicer.idle();
  }

  shutdown(): void {
    const s = this.s;
    s.closed = true;
    for (const x of this.life.all()) {
      s.clearGrTimer(x);
      this.life.teardown(x);
    }
    this.input.reset();
    s.dirty.clear();
    s.pumpQueue.clear();
    this.slicer.wakeIdle();
  }

  // ================================================================ operator queries (views.ts)

  routes(prefix: string, clientId?: string): RouteView[] {
    return this.views.routes(prefix, clientId);
  }

  /** Routes by prefix relation and/or announcing client (Views.findRoutes). */
  findRoutes(q: RouteQuery): { routes: RouteView[]; truncated: boolean } {
    return this.views.findRoutes(q);
  }

  /** What was last announced to a client (Views.exported). */
  exported(clientId: string, limit?: number): { routes: ExportView[]; truncated: boolean } {
    return this.views.exported(clientId, limit);
  }

  /** What a session (`id@address`) holds now for prefix entry `e` (Views.exportedAt). */
  exportedAt(e: number, session: string): ExportView[] {
    return this.views.exportedAt(e, session);
  }

  clientSummary(clientId: string): ClientSummary {
    return this.views.clientSummary(clientId);
  }

  /** Prefixes (paths, with ADD-PATH) the client's sessions currently hold from the RS. */
  ribCount(clientId: string): number {
    return this.views.ribCount(clientId);
  }

  sessions(): SessionSnapshot[] {
    return this.views.sessions();
  }

  /** Internal counters for tests and `show` (interned attribute sets, table size). */
  stats(): { prefixes: number; attrSets: number; exportCalls: number; encodes: number } {
    return this.views.stats();
  }
}
