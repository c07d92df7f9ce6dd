// `ixrs bfd` against FRR bfdd and BIRD's BFD on a namespace LAN: sessions come
// Up over IPv4 and IPv6; an nftables cut of the path is detected within the
// detection time (measured at 300 ms x 3 and 100 ms x 3); the sessions come
// back Up after the cut is healed; tshark, capturing on the ixrs member, finds
// nothing malformed in what ixrs sends.
//
//   sudo npm run test:interop -- test/interop/bfd.test.ts
//
// Set IXRS_BFD_MARGIN_MS to change the scheduling margin (default 50 ms).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BFD_PROGRAMS,
  BirdBfd,
  type BirdBfdOptions,
  Capture,
  FrrBfdd,
  type FrrPeer,
  IxrsBfd,
  tsharkFields,
  waitDaemonState,
} from './lib/bfd-daemons.ts';
import { Lan, requirePrograms } from './lib/netns.ts';

const MARGIN_MS = Number(process.env.IXRS_BFD_MARGIN_MS ?? 50);

const IXRS = { name: 'ixrs', v4: '192.0.2.3', v6: '2001:db8::3' };
const FRR = { name: 'frr', v4: '192.0.2.1', v6: '2001:db8::1' };
const BIRD = { name: 'bird', v4: '192.0.2.2', v6: '2001:db8::2' };
const DAEMONS = [FRR, BIRD];

interface Measurement {
  daemon: string;
  peer: string;
  intervalMs: number;
  multiplier: number;
  detectMs: number;
  /** From just before the nft rule went in to the Down event's timestamp. */
  downAfterMs: number;
  /** How long applying the nft rule took (the cut is in force somewhere in there). */
  nftMs: number;
  /** From the heal to the Up line. */
  upAfterHealMs: number;
}

const measurements: Measurement[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BFD interop: ixrs bfd with FRR bfdd and BIRD (RFC 5880, RFC 5881)', () => {
  let lan: Lan;
  let cap: Capture;
  let frr: FrrBfdd;
  let bird: BirdBfd;
  let ixrs: { v4: IxrsBfd; v6: IxrsBfd } | undefined;

  const frrPeers = (intervalMs: number): FrrPeer[] => [
    { peer: IXRS.v4, local: FRR.v4, intervalMs, multiplier: 3 },
    { peer: IXRS.v6, local: FRR.v6, intervalMs, multiplier: 3 },
  ];
  const birdOpts = (intervalMs: number): BirdBfdOptions => ({
    routerId: BIRD.v4,
    neighbors: [
      { peer: IXRS.v4, local: BIRD.v4 },
      { peer: IXRS.v6, local: BIRD.v6 },
    ],
    intervalMs,
    multiplier: 3,
  });

  function startIxrs(intervalMs: number, multiplier: number): { v4: IxrsBfd; v6: IxrsBfd } {
    const m = lan.member('ixrs');
    const args = (fam: 'v4' | 'v6') => [
      '--local',
      IXRS[fam],
      ...DAEMONS.flatMap((d) => ['--peer', d[fam]]),
      '--interval',
      String(intervalMs),
      '--multiplier',
      String(multiplier),
    ];
    return {
      v4: new IxrsBfd(lan, m, args('v4'), `ixrs-v4-${intervalMs}`),
      v6: new IxrsBfd(lan, m, args('v6'), `ixrs-v6-${intervalMs}`),
    };
  }

  async function allUp(x: { v4: IxrsBfd; v6: IxrsBfd }, timeoutMs = 20_000): Promise<void> {
    for (const fam of ['v4', 'v6'] as const) {
      for (const d of DAEMONS) await x[fam].waitEvent(d[fam], 'Up', 0, timeoutMs);
    }
    for (const fam of ['v4', 'v6'] as const) {
      await waitDaemonState('frr', () => frr.sessions(), IXRS[fam], 'up', timeoutMs);
      await waitDaemonState('bird', () => bird.sessions(), IXRS[fam], 'up', timeoutMs);
    }
  }

  /** Cuts ixrs from one daemon, measures the Down on both families, heals, waits Up again. */
  async function cutAndHeal(
    x: { v4: IxrsBfd; v6: IxrsBfd },
    daemon: typeof FRR,
    intervalMs: number,
    multiplier: number,
  ): Promise<Measurement[]> {
    const other = DAEMONS.find((d) => d !== daemon)!;
    const mark = { v4: x.v4.events.length, v6: x.v6.events.length };
    // Let any Poll Sequence that followed the Up (§6.8.3) finish, so the
    // negotiated intervals are in force.
    await sleep(Math.max(1000, 4 * intervalMs));
    const before = Date.now();
    lan.cut('ixrs', daemon.name);
    const nftMs = Date.now() - before;
    const downs = {
      v4: await x.v4.waitEvent(daemon.v4, 'Down', mark.v4, 10_000),
      v6: await x.v6.waitEvent(daemon.v6, 'Down', mark.v6, 10_000),
    };
    // The other daemon's sessions were not touched by this cut.
    expect(x.v4.events.slice(mark.v4).filter((e) => e.peer === other.v4)).toEqual([]);
    expect(x.v6.events.slice(mark.v6).filter((e) => e.peer === other.v6)).toEqual([]);
    const mark2 = { v4: x.v4.events.length, v6: x.v6.events.length };
    const healedAt = Date.now();
    lan.heal('ixrs', daemon.name);
    const ups = {
      v4: await x.v4.waitEvent(daemon.v4, 'Up', mark2.v4, 20_000),
      v6: await x.v6.waitEvent(daemon.v6, 'Up', mark2.v6, 20_000),
    };
    const out: Measurement[] = [];
    for (const fam of ['v4', 'v6'] as const) {
      const m: Measurement = {
        daemon: daemon.name,
        peer: daemon[fam],
        intervalMs,
        multiplier,
        detectMs: multiplier * intervalMs,
        downAfterMs: Date.parse(downs[fam].time) - before,
        nftMs,
        upAfterHealMs: Date.parse(ups[fam].time) - healedAt,
      };
      expect(downs[fam].diag, 'RFC 5880 §6.8.4 diag').toBe('control-detection-time-expired');
      out.push(m);
      measurements.push(m);
    }
    return out;
  }

  beforeAll(async () => {
    requirePrograms(...BFD_PROGRAMS);
    lan = new Lan('ixf-');
    const ixrsM = lan.add({ name: 'ixrs', v4: `${IXRS.v4}/24`, v6: `${IXRS.v6}/64` });
    const frrM = lan.add({ name: 'frr', v4: `${FRR.v4}/24`, v6: `${FRR.v6}/64` });
    const birdM = lan.add({ name: 'bird', v4: `${BIRD.v4}/24`, v6: `${BIRD.v6}/64` });
    cap = new Capture(lan, ixrsM.ns, `${lan.logDir}/ixrs-lan0.pcapng`);
    await cap.ready();
    frr = new FrrBfdd(lan, frrM, frrPeers(300));
    bird = new BirdBfd(lan, birdM, birdOpts(300));
    await frr.ready();
    await bird.ready();
  });

  afterAll(async () => {
    if (ixrs) await Promise.all([ixrs.v4.stop(), ixrs.v6.stop()]);
    await cap?.stop();
    if (measurements.length > 0) {
      console.log(
        `BFD detection (ixrs side), margin ${MARGIN_MS} ms:\n${measurements
          .map(
            (m) =>
              `  ${m.daemon.padEnd(4)} ${m.peer.padEnd(12)} ${m.intervalMs} ms x ${m.multiplier}: ` +
              `detect ${m.detectMs} ms, Down ${m.downAfterMs} ms after cut (nft ${m.nftMs} ms), ` +
              `Up ${m.upAfterHealMs} ms after heal`,
          )
          .join('\n')}`,
      );
    }
    lan?.destroy();
  });

  it('RFC 5881 §4: ixrs sessions come Up with FRR bfdd and BIRD, IPv4 and IPv6', async () => {
    ixrs = startIxrs(300, 3);
    await allUp(ixrs);
  });

  for (const daemon of DAEMONS) {
    it(`RFC 5880 §6.8.4: at 300 ms x 3, a cut to ${daemon.name} is Down within the detection time, and Up again after heal`, async () => {
      expect(ixrs).toBeDefined();
      const ms = await cutAndHeal(ixrs!, daemon, 300, 3);
      for (const m of ms) {
        expect(m.downAfterMs).toBeLessThanOrEqual(m.detectMs + m.nftMs + MARGIN_MS);
        // The last packet before the cut arrived at most one interval earlier.
        expect(m.downAfterMs).toBeGreaterThanOrEqual(m.detectMs - m.intervalMs - MARGIN_MS);
      }
    });
  }

  it('RFC 5880 §6.5: FRR and BIRD change their timers with a Poll Sequence; ixrs answers Final and stays Up', async () => {
    const x = ixrs!;
    const mark = { v4: x.v4.events.length, v6: x.v6.events.length };
    for (const p of frrPeers(100)) frr.configurePeer(p);
    bird.reconfigure(birdOpts(100));
    await sleep(1500);
    expect(x.v4.events.slice(mark.v4)).toEqual([]);
    expect(x.v6.events.slice(mark.v6)).toEqual([]);
    for (const fam of ['v4', 'v6'] as const) {
      for (const d of DAEMONS) expect(x[fam].state(d[fam])).toBe('Up');
    }
  });

  it('RFC 5881 §4: ixrs at 100 ms x 3 comes Up with FRR bfdd and BIRD, IPv4 and IPv6', async () => {
    await Promise.all([ixrs!.v4.stop(), ixrs!.v6.stop()]);
    ixrs = startIxrs(100, 3);
    await allUp(ixrs);
  });

  for (const daemon of DAEMONS) {
    it(`RFC 5880 §6.8.4: at 100 ms x 3, a cut to ${daemon.name} is Down within the detection time, and Up again after heal`, async () => {
      expect(ixrs).toBeDefined();
      const ms = await cutAndHeal(ixrs!, daemon, 100, 3);
      for (const m of ms) {
        expect(m.downAfterMs).toBeLessThanOrEqual(m.detectMs + m.nftMs + MARGIN_MS);
        expect(m.downAfterMs).toBeGreaterThanOrEqual(m.detectMs - m.intervalMs - MARGIN_MS);
      }
    });
  }

  it('RFC 9468 style: ixrs with --allow only accepts the sessions FRR and BIRD start, IPv4 and IPv6', async () => {
    await Promise.all([ixrs!.v4.stop(), ixrs!.v6.stop()]);
    const m = lan.member('ixrs');
    ixrs = {
      v4: new IxrsBfd(
        lan,
        m,
        ['--local', IXRS.v4, '--allow', '192.0.2.0/24', '--interval', '100'],
        'ixrs-v4-allow',
      ),
      v6: new IxrsBfd(
        lan,
        m,
        ['--local', IXRS.v6, '--allow', '2001:db8::/64', '--interval', '100'],
        'ixrs-v6-allow',
      ),
    };
    await allUp(ixrs);
    for (const fam of ['v4', 'v6'] as const) {
      for (const d of DAEMONS) {
        expect(ixrs[fam].events.find((e) => e.peer === d[fam] && e.state === 'Up')?.passive).toBe(
          true,
        );
      }
    }
  });

  it('RFC 5881 §4, §5: tshark decodes every packet ixrs sent, none malformed, from ports 49152-65535 with TTL 255', async () => {
    await Promise.all([ixrs!.v4.stop(), ixrs!.v6.stop()]);
    await sleep(300);
    await cap.stop();
    const ixrsAddrs = new Set([IXRS.v4, IXRS.v6]);
    // One pass over the capture: every BFD-port datagram on the ixrs member.
    const rows = tsharkFields(cap.file, 'udp.dstport == 3784 && !icmp && !icmpv6', [
      'frame.number',
      'ip.src',
      'ipv6.src',
      'ip.dst',
      'ipv6.dst',
      'udp.srcport',
      'ip.ttl',
      'ipv6.hlim',
      'bfd.version',
      'bfd.sta',
      'bfd.flags.p',
      'bfd.flags.f',
      '_ws.malformed',
      '_ws.expert.severity',
    ]).map(([frame, s4, s6, d4, d6, sport, ttl, hlim, version, sta, p, f, malformed, sev]) => ({
      frame,
      src: s4 || s6,
      dst: d4 || d6,
      sport: Number(sport),
      ttl: Number(ttl || hlim),
      version,
      state: Number(sta),
      poll: p === '1' || p === 'True',
      final: f === '1' || f === 'True',
      malformed: malformed !== '',
      severity: sev ? Math.max(...sev.split(',').map(Number)) : 0,
    }));
    const sent = rows.filter((r) => ixrsAddrs.has(r.src!));
    expect(sent.length).toBeGreaterThan(100);
    for (const r of sent) {
      expect(r.version, `frame ${r.frame} decoded as BFD`).toBe('1');
      expect(r.malformed, `frame ${r.frame} malformed`).toBe(false);
      expect(r.severity, `frame ${r.frame} expert severity`).toBeLessThan(0x00800000);
      expect(r.sport, `frame ${r.frame} source port`).toBeGreaterThanOrEqual(49152);
      expect(r.ttl, `frame ${r.frame} TTL`).toBe(255);
    }
    // Nothing anywhere in the capture is a malformed BFD packet or an expert error.
    expect(tsharkFields(cap.file, 'bfd && _ws.malformed', ['frame.number'])).toEqual([]);
    expect(
      tsharkFields(cap.file, 'bfd && _ws.expert.severity >= 0x00800000', [
        'frame.number',
        '_ws.expert.message',
      ]),
    ).toEqual([]);
    // Poll Sequences both ways (§6.5): ixrs answered the daemons' Polls with
    // Final, and its own Polls (slow rate before Up, §6.8.3) were answered.
    for (const d of DAEMONS) {
      for (const fam of ['v4', 'v6'] as const) {
        const has = (src: string, dst: string, flag: 'poll' | 'final') =>
          rows.some((r) => r.src === src && r.dst === dst && r[flag]);
        expect(has(d[fam], IXRS[fam], 'poll'), `${d.name} ${fam} Poll`).toBe(true);
        expect(has(IXRS[fam], d[fam], 'final'), `ixrs ${fam} Final to ${d.name}`).toBe(true);
        expect(has(IXRS[fam], d[fam], 'poll'), `ixrs ${fam} Poll to ${d.name}`).toBe(true);
        expect(has(d[fam], IXRS[fam], 'final'), `${d.name} ${fam} Final`).toBe(true);
      }
    }
    // RFC 5881 §4 wants source ports 49152-65535; BIRD uses ephemeral ports
    // (often below), and ixrs must accept them anyway: the sessions came Up.
    const birdPorts = [
      ...new Set(rows.filter((r) => r.src === BIRD.v4 || r.src === BIRD.v6).map((r) => r.sport)),
    ];
    console.log(`BIRD sent BFD from source ports ${birdPorts.join(', ')}`);
    // AdminDown on exit (RFC 5880 §6.8.16), as `ixrs bfd` promises on SIGTERM.
    expect(sent.some((r) => r.state === 0)).toBe(true);
  });
});
