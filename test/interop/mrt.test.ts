// MRT (RFC 6396) files of a live `ixrs run`, read by bgpdump (Debian's
// `bgpdump`): `ixrs dump rib FILE` (TABLE_DUMP_V2) lists exactly the accepted
// paths `ixrs show routes` gives for the same moment, IPv4 and IPv6; the
// BGP4MP update log (cfg.ixrs.mrt) holds every UPDATE the clients sent and
// their session state changes. Loopback only; the clients are ixrs' own BGP
// speaker in this process.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeAttributes } from '../../src/bgp/attributes.ts';
import type { BgpSpeaker } from '../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import type { RoutesResult, SessionRow } from '../../src/ops/model.ts';
import { freePort, simClient, V4_V6, waitFor } from '../ops/lib/loopback.ts';
import { finished, runIxrs, spawnIxrs } from '../ops/subprocess.ts';

const BGPDUMP = '/usr/bin/bgpdump';

function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  return waitFor(what, f, ms, 200);
}

function v4(
  prefixes: string[],
  asns: number[],
  nextHop: string,
  communities?: number[],
): UpdateMessage {
  return {
    type: 'update',
    withdrawn: [],
    attrs: makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns }],
      nextHop,
      ...(communities ? { communities } : {}),
    }),
    nlri: prefixes.map((prefix) => ({ prefix })),
    mpReach: null,
    mpUnreach: null,
    errors: [],
  };
}

function v6(prefixes: string[], asns: number[], nextHop: string): UpdateMessage {
  return {
    type: 'update',
    withdrawn: [],
    attrs: makeAttributes({ origin: 0, asPath: [{ type: 2, asns }], med: 10 }),
    nlri: [],
    mpReach: {
      afi: 2,
      safi: 1,
      nextHop: { global: nextHop },
      nlri: prefixes.map((prefix) => ({ prefix })),
    },
    mpUnreach: null,
    errors: [],
  };
}

/** bgpdump -m: one line per route, fields split on '|'. */
function bgpdump(file: string): string[][] {
  const r = spawnSync(BGPDUMP, ['-m', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bgpdump ${file}: exit ${r.status}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('|'));
}

describe('MRT files read by bgpdump', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ixrs-mrt-'));
  const speakers: BgpSpeaker[] = [];
  afterAll(async () => {
    for (const s of speakers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('RFC 6396 §4.3: ixrs dump rib equals ixrs show; §4.4: the update log holds what clients sent', async () => {
    expect(existsSync(BGPDUMP), `${BGPDUMP} missing: run scripts/install-peers.sh`).toBe(true);
    const bgpPort = await freePort();
    const sock = join(dir, 'ixrs.sock');
    const mrtDir = join(dir, 'mrt');
    const general = join(dir, 'general.yml');
    const clients = join(dir, 'clients.yml');
    writeFileSync(
      general,
      `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  filtering:
    reject_invalid_as_in_as_path: False
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
    next_hop:
      policy: "authorized_addresses"
  ixrs:
    listen: [{ address: "127.0.0.1", port: ${bgpPort} }]
    control_socket: "${sock}"
    mrt:
      directory: "${mrtDir}"
      rib_interval: 0
      updates_interval: 300
`,
    );
    writeFileSync(
      clients,
      `clients:
  - asn: 64561
    ip: "127.0.0.61"
    cfg:
      passive: True
      filtering:
        next_hop:
          authorized_addresses_list: ["127.0.0.61", "2001:db8::61"]
  - asn: 64562
    ip: "127.0.0.62"
    cfg:
      passive: True
      filtering:
        next_hop:
          authorized_addresses_list: ["127.0.0.62", "2001:db8::62"]
`,
    );
    const ixrs = spawnIxrs('run', ['--general', general, '--clients', clients]);
    const done = finished(ixrs, 120_000);
    await until('the control socket', async () =>
      (await runIxrs('show', ['sessions', '--socket', sock])).code === 0 ? true : undefined,
    );

    const sent: { ip: string; asn: number; msgs: UpdateMessage[] }[] = [
      {
        ip: '127.0.0.61',
        asn: 64561,
        msgs: [
          v4(['193.0.0.0/24', '193.0.1.0/24'], [64561], '127.0.0.61', [(64561 << 16) | 7]),
          v4(['193.0.4.0/22'], [64561, 64999], '127.0.0.61'),
          v6(['2001:67c:2e8::/48', '2001:67c:2e9::/48'], [64561], '2001:db8::61'),
        ],
      },
      {
        ip: '127.0.0.62',
        asn: 64562,
        // 193.0.0.0/24 from both: two paths for one prefix.
        msgs: [
          v4(['193.0.0.0/24', '193.0.8.0/24'], [64562, 64562], '127.0.0.62'),
          v6(['2001:67c:2e8::/48'], [64562], '2001:db8::62'),
        ],
      },
    ];
    for (const c of sent) {
      const peer = simClient(speakers, bgpPort, c.asn, c.ip, { families: V4_V6 });
      peer.once('established', () => {
        for (const m of c.msgs) peer.sendUpdate(m);
      });
    }
    const show = async <T>(args: string[]): Promise<T> => {
      const r = await runIxrs('show', [...args, '--json', '--socket', sock]);
      if (r.code !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as T;
    };
    await until('every path received', async () => {
      const s = await show<SessionRow[]>(['sessions']);
      const n = s.reduce((a, r) => a + r.received, 0);
      return n === 8 ? true : undefined;
    });

    const file = join(dir, 'rib.mrt');
    const d = await runIxrs('dump', ['rib', file, '--json', '--socket', sock]);
    expect(d.code, d.stderr).toBe(0);
    const result = JSON.parse(d.stdout) as { prefixes: number; paths: number };
    expect(result).toMatchObject({ prefixes: 6, paths: 8 });

    // What bgpdump reads ...
    const rows = bgpdump(file);
    const fromDump = rows
      .map((f) => {
        expect(f[0]).toBe('TABLE_DUMP2');
        return [f[5], f[3], f[4], f[6], f[8]].join(' ');
      })
      .sort();
    // ... is what ixrs show says for every prefix in it, at the same moment (nothing changes now).
    const fromShow: string[] = [];
    for (const prefix of new Set(rows.map((f) => f[5]!))) {
      const r = await show<RoutesResult>(['routes', prefix]);
      for (const x of r.routes) {
        if (x.accepted)
          fromShow.push(
            [x.prefix, x.fromAddress, String(x.fromAsn), x.asPath, x.nextHop].join(' '),
          );
      }
    }
    expect(fromDump).toEqual(fromShow.sort());
    expect(fromDump).toContain('2001:67c:2e8::/48 127.0.0.62 64562 64562 2001:db8::62');
    expect(fromDump).toContain('193.0.4.0/22 127.0.0.61 64561 64561 64999 127.0.0.61');
    // Communities and MED pass through.
    expect(rows.find((f) => f[5] === '193.0.1.0/24')![11]).toBe('64561:7');
    expect(rows.find((f) => f[5] === '2001:67c:2e9::/48')![10]).toBe('10');

    // The update log: every announcement the clients sent, and the sessions coming up.
    const logs = readdirSync(mrtDir).filter((n) => n.startsWith('updates.'));
    expect(logs.length).toBe(1);
    const upd = await until('the update log on disk', async () => {
      const u = bgpdump(join(mrtDir, logs[0]!));
      return u.filter((f) => f[2] === 'A').length >= 8 ? u : undefined;
    });
    const announced = upd
      .filter((f) => f[0] === 'BGP4MP' && f[2] === 'A')
      .map((f) => `${f[3]} ${f[4]} ${f[5]} ${f[6]}`)
      .sort();
    const expected = sent
      .flatMap((c) =>
        c.msgs.flatMap((m) =>
          [...m.nlri, ...(m.mpReach?.nlri ?? [])].map(
            (n) => `${c.ip} ${c.asn} ${n.prefix} ${m.attrs!.asPath[0]!.asns.join(' ')}`,
          ),
        ),
      )
      .sort();
    expect(announced).toEqual(expected);
    const states = upd.filter((f) => f[2] === 'STATE').map((f) => `${f[3]} ${f[5]}-${f[6]}`);
    expect(states).toContain('127.0.0.61 5-6');
    expect(states).toContain('127.0.0.62 5-6');

    ixrs.kill('SIGTERM');
    expect((await done).code).toBe(0);
  }, 120_000);
});
