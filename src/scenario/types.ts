// The scenario model (`ixrs scenario`): a peering LAN, the faults to play on
// it and what every client must (or must not) see, each expectation with a
// deadline. docs/scenarios.md describes the YAML; load.ts reads it.

export type ScenarioMode = 'loopback' | 'netns';
export const SCENARIO_MODES: readonly ScenarioMode[] = ['loopback', 'netns'];

export type ClientKind = 'builtin' | 'bird' | 'frr' | 'gobgp' | 'openbgpd';
export const CLIENT_KINDS: readonly ClientKind[] = ['builtin', 'bird', 'frr', 'gobgp', 'openbgpd'];

/** BFD timers of an agent (rs-bfd-profile §6). */
export interface AgentSpec {
  intervalMs: number;
  multiplier: number;
  holdDownS: number;
  bringUpTimeoutS: number;
}

export interface ClientSpec {
  name: string;
  kind: ClientKind;
  asn: number;
  /** LAN addresses as written (netns mode uses them as they are; loopback maps IPv4, see docs). */
  ipv4: string | undefined;
  ipv6: string | undefined;
  /** Prefixes it announces (IPv4 and IPv6; overlaps with other clients allowed). */
  prefixes: string[];
  /** null: no agent beside this client. */
  agent: AgentSpec | null;
  /** Where the client came from: the scenario file, or an operator's clients.yml. */
  origin: 'scenario' | 'clients.yml';
}

export interface RouteServerSpec {
  asn: number;
  routerId: string;
  /** The operator's own files (paths resolved against the scenario file), or generated. */
  general: string | undefined;
  clients: string | undefined;
}

export interface LanSpec {
  ipv4: string;
  ipv6: string;
}

/** One direction or both: `a` to `b` only when oneWay. */
export interface LinkRef {
  a: string;
  b: string;
  oneWay: boolean;
}

export type Expectation =
  /** At client `at`, `prefix` is present (via the next hop of client `via`, when given). */
  | { kind: 'present'; at: string[]; prefix: string; via: string | undefined }
  | { kind: 'absent'; at: string[]; prefix: string }
  /** Every BGP session of these clients (all when empty) is Established. */
  | { kind: 'sessions-up'; at: string[] }
  | { kind: 'route-count'; at: string[]; count: number }
  /** What these clients received is the same as when step `step` (1-based) ended. */
  | { kind: 'unchanged'; at: string[]; step: number }
  /** No more than `max` UPDATEs reached each client since step `step` ended. */
  | { kind: 'max-updates'; at: string[]; step: number; max: number };

export type StepAction =
  | { kind: 'converge' }
  | { kind: 'cut'; link: LinkRef }
  | { kind: 'heal'; link: LinkRef }
  | { kind: 'agent'; client: string; action: 'kill' | 'restart' | 'pause' | 'resume' }
  | { kind: 'flap'; link: LinkRef; times: number; periodS: number }
  | { kind: 'announce'; client: string; prefixes: string[] }
  | { kind: 'withdraw'; client: string; prefixes: string[] }
  | { kind: 'restart-route-server' }
  | { kind: 'wait'; seconds: number }
  | { kind: 'expect'; expectations: Expectation[] };

export interface Step {
  /** 1-based, as printed. */
  index: number;
  /** Line in the scenario file. */
  line: number | undefined;
  /** Deadline for the step (converge, expect), seconds. */
  withinS: number;
  action: StepAction;
}

export interface Scenario {
  file: string;
  name: string;
  description: string;
  /** The modes this scenario is meant for. */
  modes: ScenarioMode[];
  lan: LanSpec;
  routeServer: RouteServerSpec;
  clients: ClientSpec[];
  steps: Step[];
}
