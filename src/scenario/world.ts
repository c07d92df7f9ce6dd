// The seam between the scenario engine (run.ts: steps, expectations,
// deadlines, timings, messages) and where a scenario is played: a "world"
// holds the route server, the clients and their agents, plays the faults and
// tells what each client holds. Loopback mode (loopback.ts) is one process on
// 127.0.0.0/8 with BFD over a simulated fabric; netns mode (netns/world.ts)
// is network namespaces, real processes and nftables cuts.

import type { RibChange, RibEntry } from './client.ts';
import type { LinkRef } from './types.ts';

/** The engine's clock: ms since the scenario started. */
export interface Clock {
  now(): number;
}

/** What one client holds and how its sessions are, at one moment. */
export interface ClientView {
  /** prefix -> route, as read from the client itself. */
  rib: ReadonlyMap<string, RibEntry>;
  /** UPDATEs received so far; null when this kind of client cannot count them. */
  updates: number | null;
  /** Every change with its time on the engine's clock, when the client records them (null: the engine infers them from successive views). */
  changes: readonly RibChange[] | null;
  /** When `rib` was read (the engine's clock; the engine stamps inferred changes with it). */
  readAt: number;
  /** The client's BGP session with the route server, and its agent's, Established. */
  sessionsUp: boolean;
  /** The agent's checks as one comparable string ('' without an agent). */
  agentChecks: string;
  /** No check of the agent still pending or holding down. */
  agentSettled: boolean;
}

export type AgentAction = 'kill' | 'restart' | 'pause' | 'resume';

export interface World {
  /** Starts the route server, the clients and their agents. */
  setUp(): Promise<void>;
  /** Stops everything setUp() started; safe to call after a failed setUp(). */
  tearDown(): Promise<void>;
  clientNames(): string[];
  observe(): Promise<Map<string, ClientView>>;
  setLink(l: LinkRef, cut: boolean): Promise<void>;
  agent(client: string, action: AgentAction): Promise<void>;
  /** announce (true) or withdraw (false) prefixes at a client. */
  routes(client: string, prefixes: string[], announce: boolean): Promise<void>;
  restartRouteServer(): Promise<void>;
  /** The client's address of a family, as next hops show it (null: none). */
  addressOf(client: string, family: 'ipv4' | 'ipv6'): string | null;
  /** A next hop as messages show it, e.g. "B (127.77.0.12)". */
  ownerOf(nextHop: string): string;
}
