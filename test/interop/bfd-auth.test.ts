// ixrs BFD authentication (RFC 5880 §4.2-4.4, §6.7) against BIRD 2, which
// implements all five types (FRR 8.4 bfdd has none). `ixrs bfd` has no
// authentication option yet, so the ixrs side is the BfdManager run by a tiny
// script printing the CLI's JSON lines. One BIRD per type, IPv4 and IPv6, and
// one BIRD with the wrong key, which must never come Up.
//
//   sudo npm run test:interop -- test/interop/bfd-auth.test.ts

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BFD_PROGRAMS,
  type BirdAuth,
  BirdBfd,
  Capture,
  IxrsBfd,
  REPO,
  tsharkFields,
  waitDaemonState,
} from './lib/bfd-daemons.ts';
import { Lan, requirePrograms } from './lib/netns.ts';

const IXRS = { v4: '192.0.2.3', v6: '2001:db8::3' };

interface Case {
  name: string;
  bird: BirdAuth;
  type: number;
  key: string;
  /** Key BIRD uses, when it differs from ixrs's (a mismatch). */
  birdKey?: string;
  host: number;
}

const CASES: Case[] = [
  { name: 'simple', bird: 'simple', type: 1, key: 'ixrs-simple', host: 11 },
  { name: 'keyed-md5', bird: 'keyed md5', type: 2, key: 'ixrs-md5', host: 12 },
  {
    name: 'meticulous-keyed-md5',
    bird: 'meticulous keyed md5',
    type: 3,
    key: 'ixrs-mmd5',
    host: 13,
  },
  { name: 'keyed-sha1', bird: 'keyed sha1', type: 4, key: 'ixrs-sha1', host: 14 },
  {
    name: 'meticulous-keyed-sha1',
    bird: 'meticulous keyed sha1',
    type: 5,
    key: 'ixrs-msha1',
    host: 15,
  },
];
const BAD: Case = {
  name: 'badkey',
  bird: 'keyed sha1',
  type: 4,
  key: 'ixrs-right',
  birdKey: 'ixrs-wrong',
  host: 16,
};
const KEY_ID = 7;

// Runs a BfdManager with per-peer authentication; prints `ixrs bfd --json` lines.
const RUNNER = `
import { BfdManager } from ${JSON.stringify(join(REPO, 'src/bfd/manager.ts'))};
const cfg = JSON.parse(process.argv[2]);
const mgr = new BfdManager({
  local: cfg.local,
  intervalMs: cfg.intervalMs,
  multiplier: 3,
  onError: (err, ctx) => process.stderr.write(\`\${ctx.peer ?? ''} \${err.message}\\n\`),
});
mgr.subscribe((e) => process.stdout.write(JSON.stringify({ ...e, time: new Date(e.at).toISOString() }) + '\\n'));
await mgr.start();
for (const p of cfg.peers) {
  mgr.addPeer(p.peer, {
    local: p.local,
    auth: { type: p.type, keyId: p.keyId, secret: new TextEncoder().encode(p.key) },
  });
}
const stop = () => mgr.close({ adminDown: true }).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

const addr = (c: Case) => ({ v4: `192.0.2.${c.host}`, v6: `2001:db8::${c.host}` });

describe('BFD authentication interop: ixrs with BIRD (RFC 5880 §6.7)', () => {
  let lan: Lan;
  let cap: Capture;
  let ixrs: IxrsBfd;
  const birds = new Map<string, BirdBfd>();

  beforeAll(async () => {
    requirePrograms(...BFD_PROGRAMS);
    lan = new Lan('ixf-');
    const ixrsM = lan.add({ name: 'ixrs', v4: `${IXRS.v4}/24`, v6: `${IXRS.v6}/64` });
    cap = new Capture(lan, ixrsM.ns, `${lan.logDir}/ixrs-lan0.pcapng`);
    await cap.ready();
    for (const c of [...CASES, BAD]) {
      const a = addr(c);
      const m = lan.add({ name: `b${c.host}`, v4: `${a.v4}/24`, v6: `${a.v6}/64` });
      birds.set(
        c.name,
        new BirdBfd(lan, m, {
          routerId: a.v4,
          neighbors: [
            { peer: IXRS.v4, local: a.v4 },
            { peer: IXRS.v6, local: a.v6 },
          ],
          intervalMs: 100,
          idleTxMs: 300,
          multiplier: 3,
          auth: { type: c.bird, password: c.birdKey ?? c.key, id: KEY_ID },
        }),
      );
    }
    for (const b of birds.values()) await b.ready();
    const script = join(lan.logDir, 'bfd-auth-runner.mjs');
    writeFileSync(script, RUNNER);
    const cfg = {
      local: [IXRS.v4, IXRS.v6],
      intervalMs: 100,
      peers: [...CASES, BAD].flatMap((c) =>
        (['v4', 'v6'] as const).map((fam) => ({
          peer: addr(c)[fam],
          local: IXRS[fam],
          type: c.type,
          keyId: KEY_ID,
          key: c.key,
        })),
      ),
    };
    ixrs = new IxrsBfd(lan, ixrsM, [JSON.stringify(cfg)], 'ixrs-auth', script);
  });

  afterAll(async () => {
    await ixrs?.stop();
    await cap?.stop();
    lan?.destroy();
  });

  for (const c of CASES) {
    const section = c.type === 1 ? '§6.7.2' : c.type <= 3 ? '§6.7.3' : '§6.7.4';
    it(`RFC 5880 ${section}: ${c.name} sessions come Up with BIRD, IPv4 and IPv6`, async () => {
      const a = addr(c);
      for (const fam of ['v4', 'v6'] as const) {
        await ixrs.waitEvent(a[fam], 'Up', 0, 20_000);
        await waitDaemonState(
          `bird ${c.name}`,
          () => birds.get(c.name)!.sessions(),
          IXRS[fam],
          'up',
        );
      }
    });
  }

  it('RFC 5880 §6.7.4: with the wrong key nothing comes Up, on either side', async () => {
    // By now every other session is Up; give this one the same time again.
    await new Promise((r) => setTimeout(r, 3000));
    const a = addr(BAD);
    expect(ixrs.events.filter((e) => e.peer === a.v4 || e.peer === a.v6)).toEqual([]);
    const states = birds.get(BAD.name)!.sessions();
    expect(states.filter((s) => s.state === 'up' || s.state === 'init')).toEqual([]);
    // ixrs's packets did reach BIRD, which rejected them for their digest; and
    // BIRD accepted every packet of the sessions with the right key.
    const log = (c: Case) => readFileSync(join(birds.get(c.name)!.dir, 'bird.log'), 'utf8');
    for (const src of [IXRS.v4, IXRS.v6]) {
      expect(log(BAD)).toMatch(
        new RegExp(`Authentication failed for ${src} - wrong authentication code`),
      );
    }
    for (const c of CASES) expect(log(c), c.name).not.toMatch(/Authentication failed/);
  });

  it('RFC 5880 §4.1-4.4: tshark decodes what ixrs sent with each auth type, nothing malformed', async () => {
    await ixrs.stop();
    await cap.stop();
    const rows = tsharkFields(
      cap.file,
      `(ip.src == ${IXRS.v4} || ipv6.src == ${IXRS.v6}) && udp.dstport == 3784 && !icmp && !icmpv6`,
      [
        'frame.number',
        'ip.dst',
        'ipv6.dst',
        'bfd.version',
        'bfd.flags.a',
        'bfd.auth.type',
        'bfd.auth.key',
        'bfd.auth.password',
        '_ws.malformed',
        '_ws.expert.severity',
      ],
    );
    expect(rows.length).toBeGreaterThan(50);
    const typeByDst = new Map<string, number>();
    for (const c of [...CASES, BAD]) {
      typeByDst.set(addr(c).v4, c.type);
      typeByDst.set(addr(c).v6, c.type);
    }
    const seen = new Set<number>();
    for (const [frame, d4, d6, version, a, type, keyId, password, malformed, sev] of rows) {
      const dst = d4 || d6!;
      expect(version, `frame ${frame}`).toBe('1');
      expect(a === '1' || a === 'True', `frame ${frame} A bit`).toBe(true);
      expect(Number(type), `frame ${frame} auth type to ${dst}`).toBe(typeByDst.get(dst));
      expect(Number(keyId), `frame ${frame} key id`).toBe(KEY_ID);
      if (Number(type) === 1) expect(password).toBe('ixrs-simple');
      expect(malformed, `frame ${frame} malformed`).toBe('');
      const severity = sev ? Math.max(...sev.split(',').map(Number)) : 0;
      expect(severity, `frame ${frame} expert severity`).toBeLessThan(0x00800000);
      seen.add(Number(type));
    }
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(tsharkFields(cap.file, 'bfd && _ws.malformed', ['frame.number'])).toEqual([]);
  });
});
