// Captures BFD Control packets from real daemons and writes them as byte
// fixtures: fixtures/bfd/<daemon>-<state>[-diagN][-poll|-final]-<v4|v6>[-<auth>].hex
// (the UDP payload, hex) with a sidecar .json holding what tshark decoded.
//
//   sudo npx node scripts/capture-bfd-fixtures.ts [OUTDIR]
//
// Runs on a test LAN of network namespaces (prefix ixf-, removed at the end):
//   - FRR bfdd <-> BIRD, IPv4 and IPv6, no authentication: bring-up (Down,
//     Init, Up), a Poll Sequence started by each side (timer change), FRR
//     AdminDown (`shutdown`) and BIRD's answer, and a detection-time Down on
//     FRR's side when BIRD goes away.
//   - BIRD <-> BIRD pairs, one per authentication type (FRR 8.4 bfdd has no
//     BFD authentication): bring-up and a Poll Sequence, IPv4 and IPv6.
// Needs root, FRR, BIRD and tshark. Re-running gives new discriminators,
// sequence numbers and digests, so the fixtures change: commit a run, not a mix.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BFD_PROGRAMS,
  type BirdAuth,
  BirdBfd,
  type BirdBfdOptions,
  Capture,
  FrrBfdd,
  tsharkFields,
  waitDaemonState,
} from '../test/interop/lib/bfd-daemons.ts';
import { Lan, requirePrograms } from '../test/interop/lib/netns.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = resolve(process.argv[2] ?? join(REPO, 'fixtures/bfd'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const AUTHS: { type: BirdAuth; slug: string; password: string }[] = [
  { type: 'simple', slug: 'simple', password: 'ixrs-simple' },
  { type: 'keyed md5', slug: 'keyed-md5', password: 'ixrs-md5' },
  { type: 'meticulous keyed md5', slug: 'meticulous-keyed-md5', password: 'ixrs-mmd5' },
  { type: 'keyed sha1', slug: 'keyed-sha1', password: 'ixrs-sha1' },
  { type: 'meticulous keyed sha1', slug: 'meticulous-keyed-sha1', password: 'ixrs-msha1' },
];

const FIELDS = [
  'frame.number',
  'ip.src',
  'ipv6.src',
  'ip.dst',
  'ipv6.dst',
  'ip.ttl',
  'ipv6.hlim',
  'udp.srcport',
  'udp.dstport',
  'udp.payload',
  'bfd.version',
  'bfd.diag',
  'bfd.sta',
  'bfd.flags.p',
  'bfd.flags.f',
  'bfd.flags.c',
  'bfd.flags.a',
  'bfd.flags.d',
  'bfd.flags.m',
  'bfd.detect_time_multiplier',
  'bfd.message_length',
  'bfd.my_discriminator',
  'bfd.your_discriminator',
  'bfd.desired_min_tx_interval',
  'bfd.required_min_rx_interval',
  'bfd.required_min_echo_interval',
  'bfd.auth.type',
  'bfd.auth.len',
  'bfd.auth.key',
  'bfd.auth.password',
  'bfd.auth.seq_num',
  '_ws.malformed',
  '_ws.expert.severity',
];

const STATE_SLUG = ['admindown', 'down', 'init', 'up'];

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  return Number(v);
}
function bool(v: string | undefined): boolean {
  return v === '1' || v === 'True' || v === 'true';
}

function version(cmd: string, args: string[]): string {
  // bird --version prints to stderr, the others to stdout.
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (
    `${r.stdout ?? ''}${r.stderr ?? ''}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('Running as user'))[0] ?? ''
  );
}

/** Which daemon sent from which address, and with which authentication. */
interface Sender {
  daemon: string;
  version: string;
  auth?: string;
}

function extract(capFile: string, senders: Map<string, Sender>, written: Set<string>): number {
  const rows = tsharkFields(capFile, 'bfd && !icmp && !icmpv6', FIELDS);
  let n = 0;
  for (const r of rows) {
    const f = Object.fromEntries(FIELDS.map((k, i) => [k, r[i] ?? '']));
    const v6 = f['ipv6.src'] !== '';
    const src = v6 ? f['ipv6.src']! : f['ip.src']!;
    const sender = senders.get(src);
    if (!sender) continue;
    const state = num(f['bfd.sta'])!;
    const diag = num(f['bfd.diag'])!;
    const poll = bool(f['bfd.flags.p']);
    const final = bool(f['bfd.flags.f']);
    const name = [
      sender.daemon,
      STATE_SLUG[state],
      diag !== 0 ? `diag${diag}` : undefined,
      poll ? 'poll' : undefined,
      final ? 'final' : undefined,
      v6 ? 'v6' : 'v4',
      sender.auth,
    ]
      .filter((x) => x !== undefined)
      .join('-');
    if (written.has(name)) continue;
    written.add(name);
    const payload = f['udp.payload']!.replace(/:/g, '').toLowerCase();
    const hasAuth = bool(f['bfd.flags.a']);
    const decoded = {
      version: num(f['bfd.version']),
      diag,
      state,
      flags: {
        poll,
        final,
        cpi: bool(f['bfd.flags.c']),
        auth: hasAuth,
        demand: bool(f['bfd.flags.d']),
        multipoint: bool(f['bfd.flags.m']),
      },
      detectMult: num(f['bfd.detect_time_multiplier']),
      length: num(f['bfd.message_length']),
      myDiscriminator: num(f['bfd.my_discriminator']),
      yourDiscriminator: num(f['bfd.your_discriminator']),
      desiredMinTx: num(f['bfd.desired_min_tx_interval']),
      requiredMinRx: num(f['bfd.required_min_rx_interval']),
      requiredMinEchoRx: num(f['bfd.required_min_echo_interval']),
      ...(hasAuth
        ? {
            auth: {
              type: num(f['bfd.auth.type']),
              len: num(f['bfd.auth.len']),
              keyId: num(f['bfd.auth.key']),
              ...(f['bfd.auth.password'] ? { password: f['bfd.auth.password'] } : {}),
              ...(f['bfd.auth.seq_num'] ? { sequence: num(f['bfd.auth.seq_num']) } : {}),
            },
          }
        : {}),
    };
    const sidecar = {
      source: {
        daemon: sender.daemon,
        version: sender.version,
        tshark: version('tshark', ['--version']),
        family: v6 ? 'ipv6' : 'ipv4',
        src,
        dst: v6 ? f['ipv6.dst'] : f['ip.dst'],
        srcPort: num(f['udp.srcport']),
        dstPort: num(f['udp.dstport']),
        ttl: num(v6 ? f['ipv6.hlim'] : f['ip.ttl']),
        capturedAt: new Date().toISOString().slice(0, 10),
        malformed: f['_ws.malformed'] !== '',
        expertSeverity: f['_ws.expert.severity'] || undefined,
      },
      tshark: decoded,
    };
    writeFileSync(join(OUT, `${name}.hex`), `${payload}\n`);
    writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(sidecar, null, 2)}\n`);
    n++;
  }
  return n;
}

async function main(): Promise<void> {
  requirePrograms(...BFD_PROGRAMS);
  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(OUT)) {
    if (f.endsWith('.hex') || f.endsWith('.json')) rmSync(join(OUT, f));
  }
  const lan = new Lan('ixf-');
  const cleanup = () => lan.destroy();
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const frrVersion = version('/usr/lib/frr/bfdd', ['--version']);
  const birdVersion = version('/usr/sbin/bird', ['--version']);
  const senders = new Map<string, Sender>();
  const written = new Set<string>();
  try {
    const frrM = lan.add({ name: 'frr', v4: '192.0.2.1/24', v6: '2001:db8::1/64' });
    const birdM = lan.add({ name: 'bird', v4: '192.0.2.2/24', v6: '2001:db8::2/64' });
    senders.set('192.0.2.1', { daemon: 'frr', version: frrVersion });
    senders.set('2001:db8::1', { daemon: 'frr', version: frrVersion });
    senders.set('192.0.2.2', { daemon: 'bird', version: birdVersion });
    senders.set('2001:db8::2', { daemon: 'bird', version: birdVersion });
    const pairs: {
      a: BirdBfd;
      b: BirdBfd;
      oa: BirdBfdOptions;
      ob: BirdBfdOptions;
      peers: string[];
    }[] = [];
    const authMembers = AUTHS.map((auth, i) => {
      const ha = 10 + 2 * i;
      const hb = ha + 1;
      const a = lan.add({ name: `a${i}a`, v4: `192.0.2.${ha}/24`, v6: `2001:db8::${ha}/64` });
      const b = lan.add({ name: `a${i}b`, v4: `192.0.2.${hb}/24`, v6: `2001:db8::${hb}/64` });
      for (const h of [ha, hb]) {
        const s = { daemon: 'bird', version: birdVersion, auth: auth.slug };
        senders.set(`192.0.2.${h}`, s);
        senders.set(`2001:db8::${h}`, s);
      }
      return { auth, a, b, ha, hb };
    });

    const cap = new Capture(lan, lan.switchNs, join(lan.logDir, 'lan.pcapng'), 'br0');
    await cap.ready();

    // FRR <-> BIRD, 300 ms.
    const frrPeers = [
      { peer: '192.0.2.2', local: '192.0.2.1', intervalMs: 300, multiplier: 3 },
      { peer: '2001:db8::2', local: '2001:db8::1', intervalMs: 300, multiplier: 3 },
    ];
    const birdOpts: BirdBfdOptions = {
      routerId: '192.0.2.2',
      neighbors: [
        { peer: '192.0.2.1', local: '192.0.2.2' },
        { peer: '2001:db8::1', local: '2001:db8::2' },
      ],
      intervalMs: 300,
      multiplier: 3,
    };
    const frr = new FrrBfdd(lan, frrM, frrPeers);
    const bird = new BirdBfd(lan, birdM, birdOpts);

    // BIRD <-> BIRD with authentication, all pairs at once.
    for (const { auth, a, b, ha, hb } of authMembers) {
      const mk = (me: number, peer: number): BirdBfdOptions => ({
        routerId: `192.0.2.${me}`,
        neighbors: [
          { peer: `192.0.2.${peer}`, local: `192.0.2.${me}` },
          { peer: `2001:db8::${peer}`, local: `2001:db8::${me}` },
        ],
        intervalMs: 300,
        multiplier: 3,
        auth: { type: auth.type, password: auth.password, id: 7 },
      });
      const oa = mk(ha, hb);
      const ob = mk(hb, ha);
      pairs.push({
        a: new BirdBfd(lan, a, oa, `bird-${a.name}`),
        b: new BirdBfd(lan, b, ob, `bird-${b.name}`),
        oa,
        ob,
        peers: [`192.0.2.${hb}`, `2001:db8::${hb}`],
      });
    }

    await frr.ready();
    await bird.ready();
    const frrSessions = () => frr.sessions();
    const birdSessions = () => bird.sessions();
    for (const p of ['192.0.2.2', '2001:db8::2'])
      await waitDaemonState('frr', frrSessions, p, 'up');
    for (const p of ['192.0.2.1', '2001:db8::1'])
      await waitDaemonState('bird', birdSessions, p, 'up');
    for (const pair of pairs) {
      await pair.a.ready();
      for (const p of pair.peers)
        await waitDaemonState('bird auth', () => pair.a.sessions(), p, 'up');
    }
    console.log('all sessions up');
    await sleep(1000);

    // FRR starts a Poll Sequence (BIRD answers Final).
    for (const p of frrPeers) frr.configurePeer({ ...p, intervalMs: 200 });
    await sleep(1500);
    // BIRD starts a Poll Sequence (FRR answers Final), and so do the auth pairs.
    bird.reconfigure({ ...birdOpts, intervalMs: 250 });
    for (const pair of pairs) pair.a.reconfigure({ ...pair.oa, intervalMs: 250 });
    await sleep(1500);
    // FRR AdminDown; BIRD goes Down (diag 3).
    for (const p of frrPeers) frr.configurePeer({ ...p, intervalMs: 200, shutdown: true });
    await sleep(2000);
    for (const p of frrPeers) frr.configurePeer({ ...p, intervalMs: 200, shutdown: false });
    for (const p of ['192.0.2.2', '2001:db8::2'])
      await waitDaemonState('frr', frrSessions, p, 'up');
    await sleep(1000);
    // BIRD goes away: FRR's detection time expires (Down, diag 1).
    bird.process.kill('SIGKILL');
    for (const p of ['192.0.2.2', '2001:db8::2']) {
      await waitDaemonState('frr', frrSessions, p, 'down');
    }
    await sleep(1500);
    await cap.stop();

    const n = extract(cap.file, senders, written);
    console.log(`wrote ${n} fixtures to ${OUT}:`);
    console.log([...written].sort().join('\n'));
  } finally {
    cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
