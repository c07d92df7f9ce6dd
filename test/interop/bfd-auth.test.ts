// ixrs BFD authentication (RFC 5880 §4.2-4.4, §6.7) against BIRD 2, which
// implements all five types (FRR 8.4 bfdd has none). The ixrs side is the real
// CLI, `ixrs bfd --auth TYPE --key-id N --key-file PATH`: the CLI has one key
// for all its sessions, so each type gets its own `ixrs bfd` (in its own
// namespace, with an IPv4 and an IPv6 --local) and its own BIRD, plus one pair
// where BIRD has the wrong key, which must never come Up. tshark captures on
// the LAN's bridge.
//
//   sudo npm run test:interop -- test/interop/bfd-auth.test.ts

import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BFD_PROGRAMS,
  type BirdAuth,
  BirdBfd,
  Capture,
  IxrsBfd,
  tsharkFields,
  waitDaemonState,
} from './lib/bfd-daemons.ts';
import { Lan, requirePrograms } from './lib/netns.ts';

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

const addr = (c: Case) => ({ v4: `192.0.2.${c.host}`, v6: `2001:db8::${c.host}` });
/** The addresses of the `ixrs bfd` that runs the case. */
const ixrsAddr = (c: Case) => ({
  v4: `192.0.2.${c.host + 20}`,
  v6: `2001:db8::${c.host + 20}`,
});
/** The CLI's --auth name for the case. */
const authName = (c: Case) => c.bird.replaceAll(' ', '-');

describe('BFD authentication interop: ixrs with BIRD (RFC 5880 §6.7)', () => {
  let lan: Lan;
  let cap: Capture;
  /** One `ixrs bfd` per case, by case name. */
  const ixrsByCase = new Map<string, IxrsBfd>();
  const birds = new Map<string, BirdBfd>();

  beforeAll(async () => {
    requirePrograms(...BFD_PROGRAMS);
    lan = new Lan('ixf-');
    cap = new Capture(lan, lan.switchNs, `${lan.logDir}/br0.pcapng`, 'br0');
    await cap.ready();
    for (const c of [...CASES, BAD]) {
      const a = addr(c);
      const m = lan.add({ name: `b${c.host}`, v4: `${a.v4}/24`, v6: `${a.v6}/64` });
      birds.set(
        c.name,
        new BirdBfd(lan, m, {
          routerId: a.v4,
          neighbors: [
            { peer: ixrsAddr(c).v4, local: a.v4 },
            { peer: ixrsAddr(c).v6, local: a.v6 },
          ],
          intervalMs: 100,
          idleTxMs: 300,
          multiplier: 3,
          auth: { type: c.bird, password: c.birdKey ?? c.key, id: KEY_ID },
        }),
      );
    }
    for (const b of birds.values()) await b.ready();
    for (const c of [...CASES, BAD]) {
      // The key goes in a file (one trailing newline, as an editor leaves it),
      // never on the command line.
      const keyFile = join(lan.logDir, `key-${c.name}`);
      writeFileSync(keyFile, `${c.key}\n`, { mode: 0o600 });
      chmodSync(keyFile, 0o600);
      const a = addr(c);
      const x = ixrsAddr(c);
      const m = lan.add({ name: `x${c.host}`, v4: `${x.v4}/24`, v6: `${x.v6}/64` });
      ixrsByCase.set(
        c.name,
        new IxrsBfd(
          lan,
          m,
          [
            '--local',
            x.v4,
            '--local',
            x.v6,
            '--peer',
            a.v4,
            '--peer',
            a.v6,
            '--interval',
            '100',
            '--multiplier',
            '3',
            '--auth',
            authName(c),
            '--key-id',
            String(KEY_ID),
            '--key-file',
            keyFile,
          ],
          `ixrs-auth-${c.name}`,
        ),
      );
    }
  });

  const stopIxrs = () => Promise.all([...ixrsByCase.values()].map((x) => x.stop()));

  afterAll(async () => {
    await stopIxrs();
    await cap?.stop();
    lan?.destroy();
  });

  for (const c of CASES) {
    const section = c.type === 1 ? '§6.7.2' : c.type <= 3 ? '§6.7.3' : '§6.7.4';
    it(`RFC 5880 ${section}: ${c.name} sessions come Up with BIRD, IPv4 and IPv6`, async () => {
      const a = addr(c);
      for (const fam of ['v4', 'v6'] as const) {
        const up = await ixrsByCase.get(c.name)!.waitEvent(a[fam], 'Up', 0, 20_000);
        // The CLI's line carries the timers and the peer's discriminator.
        expect(up.detectMs).toBeGreaterThan(0);
        expect(up.txMs).toBeGreaterThan(0);
        expect(up.remoteDiscriminator).toBeGreaterThan(0);
        await waitDaemonState(
          `bird ${c.name}`,
          () => birds.get(c.name)!.sessions(),
          ixrsAddr(c)[fam],
          'up',
        );
      }
    });
  }

  it('RFC 5880 §6.7.4: with the wrong key nothing comes Up, on either side', async () => {
    // By now every other session is Up; give this one the same time again.
    await new Promise((r) => setTimeout(r, 3000));
    const a = addr(BAD);
    const bad = ixrsByCase.get(BAD.name)!;
    expect(bad.events.filter((e) => e.peer === a.v4 || e.peer === a.v6)).toEqual([]);
    expect(bad.process.exitCode).toBe(null);
    const states = birds.get(BAD.name)!.sessions();
    expect(states.filter((s) => s.state === 'up' || s.state === 'init')).toEqual([]);
    // ixrs's packets did reach BIRD, which rejected them for their digest; and
    // BIRD accepted every packet of the sessions with the right key.
    const log = (c: Case) => readFileSync(join(birds.get(c.name)!.dir, 'bird.log'), 'utf8');
    for (const src of [ixrsAddr(BAD).v4, ixrsAddr(BAD).v6]) {
      expect(log(BAD)).toMatch(
        new RegExp(`Authentication failed for ${src} - wrong authentication code`),
      );
    }
    for (const c of CASES) expect(log(c), c.name).not.toMatch(/Authentication failed/);
  });

  it('RFC 5880 §4.1-4.4: tshark decodes what ixrs sent with each auth type, nothing malformed', async () => {
    await stopIxrs();
    for (const [name, x] of ixrsByCase) expect(x.process.exitCode, name).toBe(0);
    await cap.stop();
    const all = [...CASES, BAD];
    const rows = tsharkFields(
      cap.file,
      `(${all.map((c) => `ip.src == ${ixrsAddr(c).v4} || ipv6.src == ${ixrsAddr(c).v6}`).join(' || ')}) && udp.dstport == 3784 && !icmp && !icmpv6`,
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
