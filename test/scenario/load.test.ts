import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/types.ts';
import { loadScenario, parseScenario } from '../../src/scenario/load.ts';

const DIR = fileURLToPath(new URL('../../fixtures/scenarios/', import.meta.url));

const BASE = `name: t
route_server: { asn: 64500 }
clients:
  - { name: A, asn: 64501, ipv4: 192.0.2.11, prefixes: [198.18.1.0/24], agent: true }
  - { name: B, asn: 64502, ipv4: 192.0.2.12, prefixes: [198.18.2.0/24], agent: { bfd_interval_ms: 300 } }
steps:
  - converge:
`;

function err(text: string): ConfigError {
  try {
    parseScenario(text, 'bad.yml');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('scenario files', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yml'));

  it('ships the scenarios issue 12 asks for, and every one is valid', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) expect(() => loadScenario(`${DIR}${f}`), f).not.toThrow();
  });

  it('reads clients, agents, links and expectations', () => {
    const s = loadScenario(`${DIR}fallback-third-client.yml`);
    expect(s.clients.map((c) => c.name)).toEqual(['A', 'B', 'C', 'D']);
    expect(s.clients[0]!.agent).toEqual({
      intervalMs: 100,
      multiplier: 3,
      holdDownS: 0,
      bringUpTimeoutS: 10,
    });
    expect(s.steps[2]!.action).toEqual({ kind: 'cut', link: { a: 'A', b: 'B', oneWay: false } });
    expect(s.steps[3]!.withinS).toBe(5);
    expect(s.steps[3]!.action).toMatchObject({
      kind: 'expect',
      expectations: [
        { kind: 'present', at: ['A'], prefix: '198.51.100.0/24', via: 'C' },
        { kind: 'present', at: ['D'], via: 'B' },
        { kind: 'unchanged', at: ['D'], step: 2 },
      ],
    });
  });

  it('one way links and agent timers', () => {
    const s = parseScenario(`${BASE}  - cut: A -> B\n`, 'x.yml');
    expect(s.steps[1]!.action).toEqual({ kind: 'cut', link: { a: 'A', b: 'B', oneWay: true } });
    expect(s.clients[1]!.agent?.intervalMs).toBe(300);
  });

  it("`from: clients.yml` makes one builtin client per entry of the operator's file", () => {
    const s = loadScenario(`${DIR}operator-clients.yml`);
    expect(s.clients.map((c) => [c.name, c.asn, c.ipv4, c.prefixes])).toEqual([
      ['AS64511', 64511, '192.0.2.21', ['198.18.21.0/24', '198.18.121.0/24']],
      ['AS64512', 64512, '192.0.2.22', ['198.18.22.0/24']],
      ['AS64513', 64513, '192.0.2.23', ['198.18.23.0/24']],
    ]);
    expect(s.clients.every((c) => c.agent !== null && c.origin === 'clients.yml')).toBe(true);
  });

  it('errors name the file, the key and the line', () => {
    const e = err(`${BASE}  - cut: [A, Z]\n`);
    expect(e.message).toBe(
      "bad.yml: steps[1].cut[1] (line 8): no client named 'Z' (clients: A, B)",
    );
    expect(err(`${BASE}  - cutt: [A, B]\n`).message).toMatch(
      /steps\[1\] \(line 8\): a step is one of/,
    );
    expect(
      err(`${BASE}  - expect: { at: A, prefix: 198.18.2.0/24, absnt: true }\n`).message,
    ).toMatch(
      /steps\[1\]\.expect\.absnt \(line 8\): unknown key 'absnt' \(not a scenario key\); did you mean 'absent'\?/,
    );
    expect(err(BASE.replace('192.0.2.12', '10.0.0.1')).message).toMatch(
      /clients\[1\]\.ipv4 \(line 5\): 10\.0\.0\.1 is not inside the LAN 192\.0\.2\.0\/24/,
    );
    expect(err(`${BASE}  - expect: { at: A, unchanged_since: 2 }\n`).message).toMatch(
      /unchanged_since \(line 8\): step 2 is not before this step \(2\)/,
    );
    expect(err(BASE.replace('name: B', 'name: A')).message).toMatch(
      /client name 'A' is used twice/,
    );
    expect(err(`${BASE}  - agent: { client: A, action: explode }\n`).message).toMatch(
      /steps\[1\]\.agent\.action \(line 8\): expected one of 'kill', 'restart', 'pause', 'resume'/,
    );
    // What a real router cannot tell is refused before anything starts.
    expect(
      err(
        `${BASE.replace('name: B,', 'name: B, kind: bird,')}  - expect: { at: B, max_updates: 3, since_step: 1 }\n`,
      ).message,
    ).toMatch(
      /steps\[1\]\.expect\.max_updates \(line 8\): client B is a bird router: only builtin clients count the UPDATEs they receive/,
    );
  });
});
