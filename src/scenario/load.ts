// Reads a scenario file (docs/scenarios.md) into the model of types.ts. Every
// error names the file, the key path and the line (src/config/reader.ts), and
// nothing is started before a whole file has been read.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parsePrefix } from '../bgp/prefix.ts';
import { loadConfig } from '../config/load.ts';
import { canonicalIp } from '../config/net.ts';
import { type MapReader, parseYaml, type Val } from '../config/reader.ts';
import { ConfigError, type ConfigWarning } from '../config/types.ts';
import {
  type AgentSpec,
  CLIENT_KINDS,
  type ClientSpec,
  type Expectation,
  type LanSpec,
  type LinkRef,
  type RouteServerSpec,
  SCENARIO_MODES,
  type Scenario,
  type ScenarioMode,
  type Step,
  type StepAction,
} from './types.ts';

/** Defaults of an agent beside a scenario client (faster than the profile's 1000 ms × 3, for CI). */
export const DEFAULT_AGENT: AgentSpec = {
  intervalMs: 100,
  multiplier: 3,
  holdDownS: 0,
  bringUpTimeoutS: 10,
};

const DEFAULT_LAN: LanSpec = { ipv4: '192.0.2.0/24', ipv6: '2001:db8::/64' };
/** Default deadline of a step that waits (converge, expect), seconds. */
const DEFAULT_WITHIN_S = 10;
const DEFAULT_CONVERGE_S = 60;
/** How an unknown key is described in errors. */
const SCENARIO_KEYS = 'not a scenario key';

export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, '', undefined, `cannot read file: ${(err as Error).message}`);
  }
  return parseScenario(text, path);
}

export function parseScenario(text: string, file: string): Scenario {
  const warnings: ConfigWarning[] = [];
  const root = parseYaml(file, text, warnings, new Map());
  if (root.isNull()) root.fail('the file is empty; expected a scenario mapping');
  const top = root.map();
  const name = top.required('name').text();
  const description = top.get('description')?.text() ?? '';
  const modes = modesOf(top.get('modes'));
  const lan = lanOf(top.get('lan'));
  const defaults = agentOf(top.get('agent_defaults'), DEFAULT_AGENT) ?? DEFAULT_AGENT;
  const routeServer = routeServerOf(top.required('route_server'), file);
  const clients = clientsOf(top.required('clients'), lan, defaults, routeServer, file);
  const names = new Map(clients.map((c) => [c.name, c]));
  const steps = stepsOf(top.required('steps'), names);
  top.end(SCENARIO_KEYS);
  return { file, name, description, modes, lan, routeServer, clients, steps };
}

function modesOf(v: Val | undefined): ScenarioMode[] {
  if (v === undefined) return [...SCENARIO_MODES];
  const modes = v.listOrOne().map((m) => m.oneOf(SCENARIO_MODES));
  if (modes.length === 0) v.fail('give at least one mode');
  return [...new Set(modes)];
}

function lanOf(v: Val | undefined): LanSpec {
  if (v === undefined) return DEFAULT_LAN;
  const m = v.map();
  const lan = {
    ipv4: prefixOf(m.get('ipv4'), 1) ?? DEFAULT_LAN.ipv4,
    ipv6: prefixOf(m.get('ipv6'), 2) ?? DEFAULT_LAN.ipv6,
  };
  m.end(SCENARIO_KEYS);
  return lan;
}

function prefixOf(v: Val | undefined, afi: 1 | 2): string | undefined {
  if (v === undefined) return undefined;
  const text = v.text();
  try {
    const p = parsePrefix(text);
    if (p.afi !== afi) v.fail(`expected an IPv${afi === 1 ? 4 : 6} prefix, got '${text}'`);
    return text;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    return v.fail(`'${text}' is not a prefix`);
  }
}

function addressOf(v: Val, afi: 1 | 2, lanPrefix: string): string {
  const text = v.text();
  const c = canonicalIp(text);
  if (c === null) v.fail(`'${text}' is not an IP address`);
  const isV6 = c.includes(':');
  if (isV6 !== (afi === 2)) v.fail(`expected an IPv${afi === 1 ? 4 : 6} address, got '${text}'`);
  if (!inPrefix(c, lanPrefix)) v.fail(`${c} is not inside the LAN ${lanPrefix}`);
  return c;
}

function inPrefix(address: string, prefix: string): boolean {
  const p = parsePrefix(prefix);
  const a = parsePrefix(`${address}/${address.includes(':') ? 128 : 32}`);
  if (a.afi !== p.afi) return false;
  for (let bit = 0; bit < p.len; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((a.bytes[bit >> 3]! & mask) !== (p.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

function agentOf(v: Val | undefined, base: AgentSpec): AgentSpec | null {
  if (v === undefined) return null;
  if (!v.isNull() && typeof (v.node as { value?: unknown }).value === 'boolean') {
    return v.bool() ? { ...base } : null;
  }
  const m = v.map();
  const a: AgentSpec = {
    intervalMs: m.get('bfd_interval_ms')?.int(10, 60_000) ?? base.intervalMs,
    multiplier: m.get('bfd_multiplier')?.int(1, 255) ?? base.multiplier,
    holdDownS: m.get('hold_down_s')?.num(0, 3600) ?? base.holdDownS,
    bringUpTimeoutS: m.get('bring_up_timeout_s')?.num(0.1, 3600) ?? base.bringUpTimeoutS,
  };
  m.end(SCENARIO_KEYS);
  return a;
}

function routeServerOf(v: Val, file: string): RouteServerSpec {
  const m = v.map();
  const rel = (x: Val | undefined): string | undefined =>
    x === undefined ? undefined : resolve(dirname(file), x.str());
  const rs: RouteServerSpec = {
    asn: m.get('asn')?.int(1, 0xffffffff) ?? 64500,
    routerId: m.get('router_id')?.text() ?? '192.0.2.1',
    general: rel(m.get('general')),
    clients: rel(m.get('clients')),
  };
  if ((rs.general === undefined) !== (rs.clients === undefined)) {
    v.fail("give both 'general' and 'clients' (the operator's own files), or neither");
  }
  if (canonicalIp(rs.routerId)?.includes('.') !== true) {
    m.required('router_id').fail(`'${rs.routerId}' is not an IPv4 address`);
  }
  m.end(SCENARIO_KEYS);
  return rs;
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

function clientsOf(
  v: Val,
  lan: LanSpec,
  defaults: AgentSpec,
  rs: RouteServerSpec,
  file: string,
): ClientSpec[] {
  const out: ClientSpec[] = [];
  const seen = new Map<string, Val>();
  const addresses = new Map<string, string>();
  const add = (c: ClientSpec, at: Val): void => {
    if (seen.has(c.name)) at.fail(`client name '${c.name}' is used twice`);
    seen.set(c.name, at);
    for (const a of [c.ipv4, c.ipv6]) {
      if (a === undefined) continue;
      const other = addresses.get(a);
      if (other !== undefined) at.fail(`address ${a} is already client '${other}''s`);
      addresses.set(a, c.name);
    }
    out.push(c);
  };
  for (const item of v.list()) {
    const m = item.map();
    const from = m.get('from');
    if (from !== undefined) {
      for (const c of fromClientsYml(from, m, defaults, rs, file)) add(c, item);
      m.end(SCENARIO_KEYS);
      continue;
    }
    const nameV = m.required('name');
    const name = nameV.str();
    if (!NAME_RE.test(name)) nameV.fail('a name is a letter then letters, digits, - or _ (≤ 32)');
    const ipv4V = m.get('ipv4');
    const ipv6V = m.get('ipv6');
    if (ipv4V === undefined && ipv6V === undefined) item.fail("give 'ipv4', 'ipv6' or both");
    const prefixes = (m.get('prefixes')?.list() ?? []).map((p) => {
      const t = p.text();
      try {
        parsePrefix(t);
      } catch {
        p.fail(`'${t}' is not a prefix`);
      }
      return t;
    });
    add(
      {
        name,
        kind: m.get('kind')?.oneOf(CLIENT_KINDS) ?? 'builtin',
        asn: m.required('asn').int(1, 0xffffffff),
        ipv4: ipv4V === undefined ? undefined : addressOf(ipv4V, 1, lan.ipv4),
        ipv6: ipv6V === undefined ? undefined : addressOf(ipv6V, 2, lan.ipv6),
        prefixes,
        agent: agentOf(m.get('agent'), defaults),
        origin: 'scenario',
      },
      item,
    );
    m.end(SCENARIO_KEYS);
  }
  if (out.length < 2) v.fail('a scenario needs at least two clients');
  return out;
}

/** `from: clients.yml`: one builtin client per entry of the operator's file, announcing what its filters allow. */
function fromClientsYml(
  from: Val,
  m: MapReader,
  defaults: AgentSpec,
  rs: RouteServerSpec,
  file: string,
): ClientSpec[] {
  const path = resolve(dirname(file), from.str());
  if (rs.clients === undefined || rs.general === undefined) {
    from.fail("'from' needs route_server.general and route_server.clients (the production policy)");
  }
  if (path !== rs.clients) from.fail(`'from' must name route_server.clients (${rs.clients})`);
  let cfg: ReturnType<typeof loadConfig>['config'];
  try {
    cfg = loadConfig(rs.general, rs.clients).config;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    return from.fail(`cannot load the route server's configuration: ${(err as Error).message}`);
  }
  const agent = agentOf(m.get('agent'), defaults);
  const perClient = m.get('prefixes_per_client')?.int(0, 10_000) ?? 4;
  return cfg.clients.map((c) => ({
    name: c.id.replace(/[^A-Za-z0-9_-]/g, '_'),
    kind: 'builtin' as const,
    asn: c.asn,
    ipv4: c.addresses.find((a) => a.includes('.')),
    ipv6: c.addresses.find((a) => a.includes(':')),
    prefixes: (c.filtering.irrPrefixes ?? [])
      .map((p) => p.replace(/\{.*\}$/, ''))
      .slice(0, perClient),
    agent,
    origin: 'clients.yml' as const,
  }));
}

const STEP_KINDS = [
  'converge',
  'cut',
  'heal',
  'agent',
  'flap',
  'announce',
  'withdraw',
  'restart_route_server',
  'wait',
  'expect',
] as const;

function stepsOf(v: Val, clients: Map<string, ClientSpec>): Step[] {
  const steps: Step[] = [];
  const list = v.list();
  if (list.length === 0) v.fail('a scenario needs at least one step');
  list.forEach((item, i) => {
    const m = item.map();
    const present = STEP_KINDS.filter((k) => m.keys().includes(k));
    if (present.length !== 1) {
      item.fail(
        present.length === 0
          ? `a step is one of ${STEP_KINDS.map((k) => `'${k}'`).join(', ')}`
          : `a step does one thing; this one has ${present.join(' and ')}`,
      );
    }
    const kind = present[0]!;
    const withinV = m.get('within');
    const index = i + 1;
    const val = m.get(kind);
    const bare = kind === 'converge' || kind === 'restart_route_server';
    if (val === undefined && !bare) item.fail(`'${kind}' needs a value`);
    const action = actionOf(kind, val ?? item, clients, index);
    const withinS =
      withinV?.num(0.01, 3600) ?? (kind === 'converge' ? DEFAULT_CONVERGE_S : DEFAULT_WITHIN_S);
    m.end(SCENARIO_KEYS);
    steps.push({ index, line: item.line, withinS, action });
  });
  return steps;
}

function clientRef(v: Val, clients: Map<string, ClientSpec>): string {
  const name = v.text();
  if (!clients.has(name)) {
    v.fail(`no client named '${name}' (clients: ${[...clients.keys()].slice(0, 8).join(', ')})`);
  }
  return name;
}

function clientList(v: Val | undefined, clients: Map<string, ClientSpec>): string[] {
  if (v === undefined) return [];
  return v.listOrOne().map((c) => clientRef(c, clients));
}

/** `[A, B]` (both ways) or `A -> B` (one way, A's packets toward B are dropped). */
function linkOf(v: Val, clients: Map<string, ClientSpec>): LinkRef {
  if (!v.isNull() && typeof (v.node as { value?: unknown }).value === 'string') {
    const t = v.str();
    const mm = /^\s*(\S+)\s*->\s*(\S+)\s*$/.exec(t);
    const bare = mm === null ? null : [mm[1]!, mm[2]!];
    if (bare === null) v.fail(`expected 'A -> B' (one way) or [A, B] (both ways), got '${t}'`);
    for (const n of bare) {
      if (!clients.has(n)) v.fail(`no client named '${n}'`);
    }
    if (bare[0] === bare[1]) v.fail('a link joins two different clients');
    return { a: bare[0]!, b: bare[1]!, oneWay: true };
  }
  const l = v.list();
  if (l.length !== 2) v.fail('a link is two clients: [A, B]');
  const a = clientRef(l[0]!, clients);
  const b = clientRef(l[1]!, clients);
  if (a === b) v.fail('a link joins two different clients');
  return { a, b, oneWay: false };
}

function prefixList(v: Val): string[] {
  return v.listOrOne().map((p) => {
    const t = p.text();
    try {
      parsePrefix(t);
    } catch {
      p.fail(`'${t}' is not a prefix`);
    }
    return t;
  });
}

function actionOf(
  kind: (typeof STEP_KINDS)[number],
  v: Val,
  clients: Map<string, ClientSpec>,
  index: number,
): StepAction {
  switch (kind) {
    case 'converge':
      return { kind: 'converge' };
    case 'restart_route_server':
      return { kind: 'restart-route-server' };
    case 'wait':
      return { kind: 'wait', seconds: v.num(0, 3600) };
    case 'cut':
    case 'heal':
      return { kind, link: linkOf(v, clients) };
    case 'flap': {
      const m = v.map();
      const f: StepAction = {
        kind: 'flap',
        link: linkOf(m.required('link'), clients),
        times: m.required('times').int(1, 1000),
        periodS: m.required('period').num(0.05, 3600),
      };
      m.end(SCENARIO_KEYS);
      return f;
    }
    case 'agent': {
      const m = v.map();
      const client = clientRef(m.required('client'), clients);
      const action = m.required('action').oneOf(['kill', 'restart', 'pause', 'resume'] as const);
      if (clients.get(client)!.agent === null) {
        m.required('client').fail(`client '${client}' runs no agent`);
      }
      m.end(SCENARIO_KEYS);
      return { kind: 'agent', client, action };
    }
    case 'announce':
    case 'withdraw': {
      const m = v.map();
      const a: StepAction = {
        kind,
        client: clientRef(m.required('client'), clients),
        prefixes: prefixList(m.required('prefixes')),
      };
      m.end(SCENARIO_KEYS);
      return a;
    }
    case 'expect':
      return {
        kind: 'expect',
        expectations: v.listOrOne().map((e) => expectationOf(e, clients, index)),
      };
  }
}

function expectationOf(v: Val, clients: Map<string, ClientSpec>, index: number): Expectation {
  const m = v.map();
  const at = clientList(m.get('at'), clients);
  const stepRef = (x: Val): number => {
    const n = x.int(1, 100_000);
    if (n >= index) x.fail(`step ${n} is not before this step (${index})`);
    return n;
  };
  let e: Expectation;
  const keys = m.keys();
  if (keys.includes('sessions_up')) {
    m.required('sessions_up').bool() || m.required('sessions_up').fail('only true makes sense');
    e = { kind: 'sessions-up', at };
  } else if (keys.includes('unchanged_since')) {
    e = { kind: 'unchanged', at, step: stepRef(m.required('unchanged_since')) };
  } else if (keys.includes('max_updates')) {
    const real = at.find((n) => clients.get(n)!.kind !== 'builtin');
    if (real !== undefined) {
      m.required('max_updates').fail(
        `client ${real} is a ${clients.get(real)!.kind} router: only builtin clients count the UPDATEs they receive`,
      );
    }
    e = {
      kind: 'max-updates',
      at,
      max: m.required('max_updates').int(0, 1_000_000),
      step: stepRef(m.required('since_step')),
    };
  } else if (keys.includes('routes')) {
    e = { kind: 'route-count', at, count: m.required('routes').int(0, 10_000_000) };
  } else {
    const prefix = prefixList(m.required('prefix'))[0]!;
    if (at.length === 0)
      v.fail("an expectation about a prefix needs 'at' (the client that sees it)");
    const absent = m.get('absent')?.bool() ?? false;
    const via = m.get('via');
    if (absent && via !== undefined) via.fail("'via' and 'absent: true' contradict each other");
    e = absent
      ? { kind: 'absent', at, prefix }
      : {
          kind: 'present',
          at,
          prefix,
          via: via === undefined ? undefined : clientRef(via, clients),
        };
  }
  m.end(SCENARIO_KEYS);
  return e;
}
