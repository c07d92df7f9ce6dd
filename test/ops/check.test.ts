// `ixrs run --check` / `--strict` (issue #16 "Fail safe"): 'configuration OK'
// only when it is; unsafe settings exit non-zero and are counted; refused
// configurations name every client; an acknowledged one starts and says so once.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { listenerAccepts, preflight } from '../../src/ops/preflight.ts';
import { runIxrs } from './subprocess.ts';

const G = [
  'cfg:',
  '  rs_as: 64500',
  '  router_id: "127.0.0.1"',
  '  filtering:',
  '    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }',
];
const LOCAL = ['  ixrs:', '    listen: [{ address: "127.0.0.1", port: 11179 }]'];

function clients(n: number, extra: string[] = []): string {
  const out = ['clients:'];
  for (let i = 0; i < n; i++)
    out.push(`  - asn: ${65001 + i}`, `    ip: "127.0.0.${11 + i}"`, ...extra);
  return `${out.join('\n')}\n`;
}

describe('ixrs run --check / --strict (subprocess)', () => {
  let dir: string;
  let n = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ixrs-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function check(general: string[], clientsText: string, ...flags: string[]) {
    n++;
    const g = join(dir, `general-${n}.yml`);
    const c = join(dir, `clients-${n}.yml`);
    writeFileSync(g, `${general.join('\n')}\n`);
    writeFileSync(c, clientsText);
    return runIxrs('run', ['--general', g, '--clients', c, '--check', ...flags]);
  }

  it("'configuration OK' with counts in the singular and plural", async () => {
    const r = await check([...G, ...LOCAL], clients(1));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('configuration OK: AS64500, router id 127.0.0.1, 1 client, 1 session\n');
    expect(r.stderr).toBe('');
    const r2 = await check([...G, ...LOCAL], clients(3));
    expect(r2.stdout).toContain('3 clients, 3 sessions');
  });

  it('unsafe settings (RPKI reject_invalid, GTSM) exit 1: configuration has N unsafe settings', async () => {
    const g = [...G, '    rpki_bgp_origin_validation: { enabled: True }', '  gtsm: True', ...LOCAL];
    const r = await check(g, clients(21, ['    cfg: { gtsm: True }']));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^configuration has 3 unsafe settings/);
    expect(r.stdout).not.toContain('configuration OK');
    // The per-client warning names its clients: count and the first few.
    expect(r.stderr).toMatch(
      /clients\[\]\.cfg\.gtsm \(line 4\): GTSM .* \(unsafe\) \[21 clients: AS65001, AS65002, AS65003, AS65004, AS65005 and 16 more\]/,
    );
  });

  it('--strict: every warning is fatal', async () => {
    const g = [...G, '  multihop: 2', ...LOCAL];
    const relaxed = await check(g, clients(1));
    expect(relaxed.code).toBe(0);
    expect(relaxed.stderr).toContain('cfg.multihop');
    const strict = await check(g, clients(1), '--strict');
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe('configuration has 1 warning (--strict)\n');
  });

  it('a password is refused (exit 2) naming every client; acknowledged, OK says so once', async () => {
    const pw = clients(3, ['    password: "s3cret"']);
    const r = await check([...G, ...LOCAL], pw);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/configuration error: .*clients-\d+\.yml: clients\[0\]\.password/);
    for (const id of ['AS65001', 'AS65002', 'AS65003']) expect(r.stderr).toContain(id);
    const ok = await check([...G, ...LOCAL, '    allow_unauthenticated: all'], pw);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/configuration OK: .*, 1 acknowledged unsafe setting\n$/);
    const lines = ok.stderr.split('\n').filter((l) => l.includes('password'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WITHOUT their password .*\[3 clients: AS65001, AS65002, AS65003\]/);
  });

  it('IRR enforcement without data is refused (exit 2), every client named', async () => {
    const g = ['cfg:', '  rs_as: 64500', '  router_id: "127.0.0.1"', ...LOCAL];
    const r = await check(g, clients(4));
    expect(r.code).toBe(2);
    for (const id of ['AS65001', 'AS65002', 'AS65003', 'AS65004']) expect(r.stderr).toContain(id);
  });

  it('a client whose address matches no listener is reported; --ip-ver narrows the sessions', async () => {
    const c = 'clients:\n  - asn: 65001\n    ip: ["127.0.0.11", "2001:db8::11"]\n';
    const r = await check([...G, ...LOCAL], c);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'warning: client AS65001 address 2001:db8::11 matches no listener (127.0.0.1:11179)',
    );
    const v4 = await check([...G, ...LOCAL], c, '--ip-ver', '4');
    expect(v4.stderr).toBe('');
    expect(v4.stdout).toContain('1 client, 1 session');
  });
});

describe('preflight (pure)', () => {
  const host = [
    { address: '127.0.0.1', cidr: '127.0.0.1/8' },
    { address: '192.0.2.1', cidr: '192.0.2.1/24' },
    { address: '::1', cidr: '::1/128' },
  ];
  it('wildcards accept their family ("::" dual-stack unless IPv6-only); a specific address its subnets', () => {
    expect(listenerAccepts({ address: '::', port: 179 }, '192.0.2.9', host)).toBe(true);
    expect(listenerAccepts({ address: '::', port: 179, ipv6Only: true }, '192.0.2.9', host)).toBe(
      false,
    );
    expect(listenerAccepts({ address: '0.0.0.0', port: 179 }, '2001:db8::9', host)).toBe(false);
    expect(listenerAccepts({ address: '192.0.2.1', port: 179 }, '192.0.2.9', host)).toBe(true);
    expect(listenerAccepts({ address: '192.0.2.1', port: 179 }, '198.51.100.9', host)).toBe(false);
  });

  it('a local_address not on this host is reported', () => {
    const { config } = parseConfig(
      `${G.join('\n')}\n  ixrs:\n    local_address: { ipv4: "192.0.2.1", ipv6: "2001:db8::1" }\n`,
      'clients: []\n',
    );
    expect(preflight(config, config.ixrs.listen, host)).toEqual([
      'cfg.ixrs.local_address.ipv6 2001:db8::1 is not an address of this host: active IPv6 sessions will fail to connect',
    ]);
  });
});
