// The wiring of `ixrs run` in-process: max-prefix actions reach the session
// layer, graceful restart helper keeps a vanished client's paths stale.

import { afterEach, describe, expect, it } from 'vitest';
import { makeAttributes } from '../../src/bgp/attributes.ts';
import { encodeMessage } from '../../src/bgp/codec.ts';
import {
  extendedNextHopFamilies,
  gracefulRestartFamilies,
  negotiatedPart,
} from '../../src/bgp/negotiate.ts';
import type { BgpPeer, PeerConfig, PeerDown } from '../../src/bgp/speaker.ts';
import { BgpSpeaker } from '../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { type Daemon, type DaemonOptions, groupKeyOf, startDaemon } from '../../src/ops/daemon.ts';
import {
  announce,
  GENERAL,
  silent,
  simClient,
  sleep,
  startLoopbackDaemon,
  until,
} from './lib/loopback.ts';

describe('daemon wiring', () => {
  let daemon: Daemon | null = null;
  const speakers: BgpSpeaker[] = [];

  afterEach(async () => {
    await daemon?.stop('test over');
    daemon = null;
    for (const s of speakers.splice(0)) await s.stop();
  });

  async function start(
    clientsYaml: string,
    extra: Partial<DaemonOptions> = {},
    general = GENERAL,
  ): Promise<number> {
    daemon = await startLoopbackDaemon(clientsYaml, { ...extra, general });
    return daemon.addresses()[0]!.port;
  }

  function sim(asn: number, ip: string, port: number, extra: Partial<PeerConfig> = {}): BgpPeer {
    return simClient(speakers, port, asn, ip, extra);
  }

  it("listens on 0.0.0.0 and :: with the same port (IPv6-only '::')", async () => {
    const { config } = parseConfig(GENERAL, 'clients: []\n');
    // A free port: bind one, release it.
    const probe = new BgpSpeaker({ listen: [{ address: '127.0.0.1', port: 0 }], logger: silent });
    await probe.start();
    const port = probe.addresses()[0]!.port;
    await probe.stop();
    daemon = await startDaemon({
      config,
      logger: silent,
      listen: [
        { address: '0.0.0.0', port },
        { address: '::', port },
      ],
      controlSocket: null,
    });
    expect(
      daemon
        .addresses()
        .map((a) => a.address)
        .sort(),
    ).toEqual(['0.0.0.0', '::']);
  });

  it('RFC 8950: extended next hop families are those with an IPv6 next hop AFI', () => {
    expect([
      ...extendedNextHopFamilies({
        extendedNextHop: [
          { afi: 1, safi: 1, nextHopAfi: 2 },
          { afi: 1, safi: 2, nextHopAfi: 1 },
        ],
      }),
    ]).toEqual(['1/1']);
    expect(extendedNextHopFamilies({ extendedNextHop: [] }).size).toBe(0);
  });

  it('RFC 4724 §4.2: graceful restart families are those with the forwarding state bit', () => {
    expect(gracefulRestartFamilies({ gracefulRestart: null })).toBeUndefined();
    const gr = {
      kind: 'graceful-restart' as const,
      restarting: true,
      notification: false,
      restartTime: 120,
      families: [
        { afi: 1, safi: 1, forwardingPreserved: true },
        { afi: 2, safi: 1, forwardingPreserved: false },
      ],
    };
    expect([...gracefulRestartFamilies({ gracefulRestart: gr })!]).toEqual(['1/1']);
  });

  it('RFC 4760 §6: parts of an UPDATE for families not negotiated are left out', () => {
    const v4 = announce('193.0.20.0/24', 64501, '127.0.0.1');
    const v6: UpdateMessage = {
      ...v4,
      nlri: [],
      mpReach: {
        afi: 2,
        safi: 1,
        nextHop: { global: '2001:db8::1' },
        nlri: [{ prefix: '2001:db8:1::/48' }],
      },
    };
    const both: UpdateMessage = { ...v6, nlri: v4.nlri };
    const only4 = new Set(['1/1']);
    const only6 = new Set(['2/1']);
    expect(negotiatedPart(v4, only4)).toEqual({ update: v4, dropped: [] });
    expect(negotiatedPart(v6, only4)).toEqual({ update: null, dropped: ['2/1'] });
    const r = negotiatedPart(both, only4);
    expect(r.dropped).toEqual(['2/1']);
    expect(r.update?.mpReach).toBeNull();
    expect(r.update?.nlri).toEqual(v4.nlri);
    expect(both.mpReach).not.toBeNull(); // the received message is not modified
    const r6 = negotiatedPart(both, only6);
    expect(r6.dropped).toEqual(['1/1']);
    expect(r6.update?.nlri).toEqual([]);
    expect(r6.update?.mpReach).toEqual(v6.mpReach);
    // An empty UPDATE is the IPv4 End-of-RIB.
    const eor: UpdateMessage = { ...v4, attrs: null, nlri: [] };
    expect(negotiatedPart(eor, only4).update).toBe(eor);
    expect(negotiatedPart(eor, only6)).toEqual({ update: null, dropped: ['1/1'] });
  });

  it('groups sessions by their negotiated encoding', () => {
    expect(groupKeyOf({ as4: true })).toBe(groupKeyOf({ as4: true, addPathTx: new Set() }));
    expect(groupKeyOf({ as4: true })).not.toBe(groupKeyOf({ as4: false }));
    expect(groupKeyOf({ as4: true, addPathTx: new Set(['2/1', '1/1']) })).toBe(
      groupKeyOf({ as4: true, addPathTx: new Set(['1/1', '2/1']) }),
    );
  });

  it('RFC 4486 §4: max-prefix shutdown sends Cease 6/1 with AFI, SAFI and the limit, no restart', async () => {
    const port = await start(`clients:
  - asn: 64531
    ip: "127.0.0.31"
    cfg:
      filtering:
        max_prefix:
          limit_ipv4: 1
          action: "shutdown"
`);
    const peer = sim(64531, '127.0.0.31', port);
    await new Promise((r) => peer.once('established', r));
    const down = new Promise<PeerDown>((r) => peer.once('down', r));
    peer.sendUpdate(announce('193.0.10.0/24', 64531, '127.0.0.31'));
    peer.sendUpdate(announce('193.0.11.0/24', 64531, '127.0.0.31'));
    const d = await down;
    expect(d.received).toMatchObject({ code: 6, subcode: 1 });
    expect([...d.received!.data]).toEqual([0, 1, 1, 0, 0, 0, 1]);
    await sleep(300);
    expect(daemon!.bgpState('127.0.0.31')).toBe('Idle');
  });

  it('RFC 4486 §4: max-prefix restart sends Cease 6/1, then the session comes back', async () => {
    const port = await start(`clients:
  - asn: 64532
    ip: "127.0.0.32"
    cfg:
      filtering:
        max_prefix:
          limit_ipv4: 1
          action: "restart"
          restart_after: 0.05
`);
    const peer = sim(64532, '127.0.0.32', port, { fsm: { idleHoldTime: 1 } });
    await new Promise((r) => peer.once('established', r));
    const down = new Promise<PeerDown>((r) => peer.once('down', r));
    peer.sendUpdate(announce('193.0.10.0/24', 64532, '127.0.0.32'));
    peer.sendUpdate(announce('193.0.11.0/24', 64532, '127.0.0.32'));
    expect((await down).received).toMatchObject({ code: 6, subcode: 1 });
    const at = Date.now();
    // max_prefix.restart_after (minutes; 0.05 = 3 s) later the route server takes the client again.
    await new Promise((r) => peer.once('established', r));
    expect(Date.now() - at).toBeGreaterThanOrEqual(2900);
    await until(() => daemon!.bgpState('127.0.0.32') === 'Established');
    await until(() => daemon!.core.sessions()[0]!.state === 'up');
  }, 20_000);

  it('RFC 4724 §4.2: a client that vanishes without NOTIFICATION keeps its paths, stale', async () => {
    const port = await start(`clients:
  - asn: 64541
    ip: "127.0.0.41"
  - asn: 64542
    ip: "127.0.0.42"
`);
    const gr = sim(64541, '127.0.0.41', port, {
      gracefulRestart: { restartTime: 120 },
      fsm: { autoRestart: false },
    });
    const other = sim(64542, '127.0.0.42', port);
    const got = new Map<string, UpdateMessage>();
    other.on('update', (u: UpdateMessage) => {
      for (const n of u.nlri) got.set(n.prefix, u);
    });
    await Promise.all([
      new Promise((r) => gr.once('established', r)),
      new Promise((r) => other.once('established', r)),
    ]);
    gr.sendUpdate(announce('193.0.12.0/24', 64541, '127.0.0.41'));
    await until(() => got.has('193.0.12.0/24'));
    gr.destroy(); // TCP gone, no NOTIFICATION
    await until(() => daemon!.core.sessions().find((s) => s.client === 'AS64541')?.state !== 'up');
    const routes = daemon!.core.routes('193.0.12.0/24');
    expect(routes).toHaveLength(1);
    expect(routes[0]!.stale).toBe(true);
    expect(daemon!.core.sessions().find((s) => s.client === 'AS64541')?.state).toBe('stale');
  });
  it('RFC 7911: a client with cfg.add_path gets every path of a prefix, with path ids', async () => {
    const port = await start(`clients:
  - asn: 64551
    ip: "127.0.0.51"
  - asn: 64552
    ip: "127.0.0.52"
  - asn: 64553
    ip: "127.0.0.53"
    cfg:
      add_path: True
`);
    const a = sim(64551, '127.0.0.51', port);
    const b = sim(64552, '127.0.0.52', port);
    const c = sim(64553, '127.0.0.53', port, { addPath: [{ afi: 1, safi: 1, mode: 1 }] });
    const paths = new Map<number, string>();
    c.on('update', (u: UpdateMessage) => {
      for (const n of u.nlri) paths.set(n.pathId ?? 0, u.attrs?.nextHop ?? '');
    });
    const est = await Promise.all(
      [a, b, c].map(
        (p) => new Promise<{ addPathRx: Set<string> }>((r) => p.once('established', r)),
      ),
    );
    expect([...est[2]!.addPathRx]).toEqual(['1/1']);
    a.sendUpdate(announce('193.0.14.0/24', 64551, '127.0.0.51'));
    b.sendUpdate(announce('193.0.14.0/24', 64552, '127.0.0.52'));
    await until(() => paths.size === 2);
    expect([...paths.values()].sort()).toEqual(['127.0.0.51', '127.0.0.52']);
    expect([...paths.keys()].every((id) => id > 0)).toBe(true);
  });

  it('RFC 2918: a route refresh request makes the route server send the routes again', async () => {
    const port = await start(`clients:
  - asn: 64561
    ip: "127.0.0.61"
  - asn: 64562
    ip: "127.0.0.62"
`);
    const a = sim(64561, '127.0.0.61', port);
    const b = sim(64562, '127.0.0.62', port);
    let received = 0;
    b.on('update', (u: UpdateMessage) => {
      if (u.nlri.some((n) => n.prefix === '193.0.15.0/24')) received++;
    });
    await Promise.all([a, b].map((p) => new Promise((r) => p.once('established', r))));
    a.sendUpdate(announce('193.0.15.0/24', 64561, '127.0.0.61'));
    await until(() => received === 1);
    b.sendRouteRefresh(1, 1);
    await until(() => received === 2);
  });

  it('RFC 4760 §6: an UPDATE for a family not negotiated on the session is ignored and counted', async () => {
    const port = await start(`clients:
  - asn: 64571
    ip: "127.0.0.71"
`);
    const a = sim(64571, '127.0.0.71', port);
    const n = await new Promise<{ families: Set<string> }>((r) => a.once('established', r));
    expect([...n.families]).toEqual(['1/1']);
    const v6: UpdateMessage = {
      ...announce('193.0.21.0/24', 64571, '127.0.0.71'),
      nlri: [],
      mpReach: {
        afi: 2,
        safi: 1,
        nextHop: { global: '2001:db8::71' },
        nlri: [{ prefix: '2001:678::/48' }],
      },
    };
    a.sendUpdate(v6);
    a.sendUpdate(v6);
    a.sendUpdate(announce('193.0.21.0/24', 64571, '127.0.0.71'));
    await until(() => daemon!.core.routes('193.0.21.0/24').length === 1);
    expect(daemon!.ignoredUpdates('127.0.0.71')).toBe(2);
    expect(daemon!.core.routes('2001:678::/48')).toEqual([]);
  });

  it('RFC 7606 §7.5: LOCAL_PREF from a client (an external peer) is discarded; RFC 5065 §5.3: confederation segments are treat-as-withdraw', async () => {
    const port = await start(`clients:
  - asn: 64581
    ip: "127.0.0.81"
  - asn: 64582
    ip: "127.0.0.82"
`);
    const a = sim(64581, '127.0.0.81', port);
    const b = sim(64582, '127.0.0.82', port);
    const got = new Map<string, UpdateMessage>();
    b.on('update', (u: UpdateMessage) => {
      for (const n of u.nlri) got.set(n.prefix, u);
    });
    await Promise.all([a, b].map((p) => new Promise((r) => p.once('established', r))));
    a.sendUpdate({
      ...announce('193.0.22.0/24', 64581, '127.0.0.81'),
      attrs: makeAttributes({
        origin: 0,
        asPath: [{ type: 2, asns: [64581] }],
        nextHop: '127.0.0.81',
        localPref: 500,
      }),
    });
    a.sendUpdate({
      ...announce('193.0.23.0/24', 64581, '127.0.0.81'),
      attrs: makeAttributes({
        origin: 0,
        asPath: [
          { type: 3, asns: [65001] },
          { type: 2, asns: [64581] },
        ],
        nextHop: '127.0.0.81',
      }),
    });
    a.sendUpdate(announce('193.0.24.0/24', 64581, '127.0.0.81'));
    await until(() => got.has('193.0.24.0/24'));
    const u = got.get('193.0.22.0/24');
    expect(u).toBeDefined();
    expect(u!.attrs?.localPref).toBeUndefined();
    expect(daemon!.core.routes('193.0.22.0/24')[0]!.attrs.localPref).toBeUndefined();
    expect(got.has('193.0.23.0/24')).toBe(false);
    expect(daemon!.core.routes('193.0.23.0/24')).toEqual([]);
  });

  it('RFC 7606 §7.5: a malformed LOCAL_PREF from a client is discarded, the route kept (not treat-as-withdraw)', async () => {
    const port = await start(`clients:
  - asn: 64583
    ip: "127.0.0.83"
  - asn: 64584
    ip: "127.0.0.84"
`);
    const a = sim(64583, '127.0.0.83', port);
    const b = sim(64584, '127.0.0.84', port);
    const got = new Map<string, UpdateMessage>();
    b.on('update', (u: UpdateMessage) => {
      for (const n of u.nlri) got.set(n.prefix, u);
    });
    await Promise.all([a, b].map((p) => new Promise((r) => p.once('established', r))));
    // ORIGIN, AS_PATH 64583, NEXT_HOP 127.0.0.83, LOCAL_PREF of length 2, NLRI 193.0.25.0/24
    const attrs = [
      0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfc, 0x47, 0x40, 3, 4, 127, 0, 0, 83, 0x40, 5, 2, 0,
      1,
    ];
    const body = [0, 0, 0, attrs.length, ...attrs, 24, 193, 0, 25];
    const len = 19 + body.length;
    a.sendRaw(Uint8Array.from([...new Array(16).fill(0xff), 0, len, 2, ...body]));
    await until(() => got.has('193.0.25.0/24'));
    expect(got.get('193.0.25.0/24')!.attrs!.localPref).toBeUndefined();
    expect(a.state).toBe('Established');
  });

  it('cfg.ixrs.reconnect_backoff: a client whose session ends in an error is refused for the initial hold, then taken', async () => {
    const general = `${GENERAL}  ixrs:\n    reconnect_backoff:\n      initial: 0.5\n      max: 1\n`;
    const port = await start(
      `clients:
  - asn: 64585
    ip: "127.0.0.85"
`,
      {},
      general,
    );
    const peer = sim(64585, '127.0.0.85', port, { fsm: { idleHoldTime: 0.1 } });
    await new Promise((r) => peer.once('established', r));
    const rs = daemon!.speaker.getPeer('127.0.0.85')!;
    expect(rs.fsmState.config.idleHoldTime).toBe(0.5);
    expect(rs.fsmState.config.idleHoldMax).toBe(1);
    // an UPDATE the route server cannot parse: NOTIFICATION 3/1, an error end
    const down = new Promise<PeerDown>((r) => peer.once('down', r));
    peer.sendRaw(Uint8Array.from([...new Array(16).fill(0xff), 0, 23, 2, 0, 9, 0, 0]));
    expect((await down).received).toMatchObject({ code: 3 });
    expect(rs.fsmState.damped).toBe(true);
    const until0 = rs.dampedUntil()!.getTime();
    expect(until0 - Date.now()).toBeLessThanOrEqual(500);
    // the client comes back after the hold
    await new Promise((r) => peer.once('established', r));
    expect(Date.now()).toBeGreaterThanOrEqual(until0 - 5);
  }, 20_000);

  it("reject_policy 'tag': rejected paths are shown with the reject-reason communities, never sent", async () => {
    const general = `${GENERAL}    reject_policy:
      policy: "tag"
`;
    const { config } = parseConfig(
      general,
      `clients:
  - asn: 64591
    ip: "127.0.0.91"
  - asn: 64592
    ip: "127.0.0.92"
`,
    );
    daemon = await startDaemon({
      config,
      logger: silent,
      listen: [{ address: '127.0.0.1', port: 0 }],
      controlSocket: null,
    });
    const port = daemon.addresses()[0]!.port;
    const a = sim(64591, '127.0.0.91', port);
    const b = sim(64592, '127.0.0.92', port);
    const got = new Set<string>();
    b.on('update', (u: UpdateMessage) => {
      for (const n of u.nlri) got.add(n.prefix);
    });
    await Promise.all([a, b].map((p) => new Promise((r) => p.once('established', r))));
    a.sendUpdate(announce('10.0.0.0/8', 64591, '127.0.0.91')); // bogon
    a.sendUpdate(announce('193.0.25.0/24', 64591, '127.0.0.91'));
    await until(() => got.has('193.0.25.0/24'));
    await until(() => daemon!.core.routes('10.0.0.0/8').length === 1);
    expect(got.has('10.0.0.0/8')).toBe(false);
    const ctx = daemon.controlContext();
    const [r] = ctx.core.routes('10.0.0.0/8');
    expect(r!.accepted).toBe(false);
    expect(r!.attrs.largeCommunities).toEqual([
      [64500, 65520, 0],
      [64500, 65520, 2],
    ]);
    // The stored path keeps what was received.
    expect(daemon.core.routes('10.0.0.0/8')[0]!.attrs.largeCommunities ?? []).toEqual([]);
    expect(ctx.core.routes('193.0.25.0/24')[0]!.attrs.largeCommunities ?? []).toEqual([]);
  });

  it('RFC 8950: no extended next hop unless cfg.rfc8950 (arouteserver default False)', async () => {
    const port = await start(`clients:
  - asn: 64595
    ip: "127.0.0.95"
`);
    const a = sim(64595, '127.0.0.95', port, {
      extraCapabilities: [
        { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
      ],
    });
    const n = await new Promise<{ extendedNextHop: unknown[] }>((r) => a.once('established', r));
    expect(n.extendedNextHop).toEqual([]);
  });

  it('active sessions leave from cfg.ixrs.local_address of their family; ip_ver limits the instance to one family', async () => {
    const general = `${GENERAL}  ixrs:\n    local_address: { ipv4: "127.0.0.1", ipv6: "::1" }\n`;
    const clients = `clients:
  - asn: 64597
    ip: ["127.0.0.97", "::97"]
    cfg: { passive: False }
`;
    await start(clients, {}, general);
    expect(daemon!.speaker.getPeer('127.0.0.97')!.config.localAddress).toBe('127.0.0.1');
    expect(daemon!.speaker.getPeer('::97')!.config.localAddress).toBe('::1');
    await daemon!.stop('next');
    daemon = null;
    await start(clients, {}, `${general}    ip_ver: 6\n`);
    expect(daemon!.speaker.getPeer('127.0.0.97')).toBeUndefined();
    // Routing families: IPv6 unicast only (BGP-LS is offered beside it for RS-BFD, rs-bfd-profile §2).
    expect(daemon!.speaker.getPeer('::97')!.config.families.filter((f) => f.safi === 1)).toEqual([
      { afi: 2, safi: 1 },
    ]);
  });

  it('RFC 8950: the route server offers extended next hop for IPv4 unicast where cfg.rfc8950 is True', async () => {
    const port = await start(`clients:
  - asn: 64595
    ip: "127.0.0.95"
    cfg: { rfc8950: True }
`);
    const a = sim(64595, '127.0.0.95', port, {
      extraCapabilities: [
        { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
      ],
    });
    const n = await new Promise<{ extendedNextHop: unknown[] }>((r) => a.once('established', r));
    expect(n.extendedNextHop).toEqual([{ afi: 1, safi: 1, nextHopAfi: 2 }]);
  });

  it('input flow control: with a small inputHighWater the backlog stays within the mark plus one socket chunk of UPDATEs, and every route reaches the other client', async () => {
    const HIGH = 500;
    const PER_UPDATE = 10;
    const TOTAL = 20_000;
    const port = await start(
      `clients:
  - asn: 64601
    ip: "127.0.0.101"
  - asn: 64602
    ip: "127.0.0.102"
`,
      { inputHighWater: HIGH },
    );
    const core = daemon!.core;
    let maxBacklog = 0;
    let refused = 0;
    const receive = core.receiveUpdate.bind(core);
    core.receiveUpdate = (id, msg) => {
      const ok = receive(id, msg);
      if (!ok) refused++;
      maxBacklog = Math.max(maxBacklog, core.inputBacklog);
      return ok;
    };
    const a = sim(64601, '127.0.0.101', port);
    const b = sim(64602, '127.0.0.102', port);
    const got = new Set<string>();
    b.on('update', (u: UpdateMessage) => {
      for (const n of u.nlri) got.add(n.prefix);
    });
    await Promise.all([a, b].map((p) => new Promise((r) => p.once('established', r))));
    // Many attribute bytes per NLRI: one 64 KiB socket chunk holds few NLRI.
    const attrs = makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns: [64601] }],
      nextHop: '127.0.0.101',
      communities: Array.from({ length: 50 }, (_, i) => ((65001 << 16) | i) >>> 0),
    });
    const updates: UpdateMessage[] = [];
    for (let i = 0; i < TOTAL; i += PER_UPDATE) {
      const nlri = [];
      for (let j = i; j < i + PER_UPDATE; j++) {
        nlri.push({ prefix: `193.${j >> 8}.${j & 255}.0/24` });
      }
      updates.push({ ...announce('193.0.0.0/24', 64601, '127.0.0.101'), attrs, nlri });
    }
    const size = encodeMessage(updates[0]!, a.negotiated!.codec).length;
    for (const u of updates) a.sendUpdate(u);
    await until(() => got.size === TOTAL, 15_000);
    // A 64 KiB read completes at most floor(65536 / size) + 1 messages.
    const chunk = (Math.floor(65536 / size) + 1) * PER_UPDATE;
    expect(refused).toBeGreaterThan(0);
    expect(daemon!.inputGate.stats.pauses).toBeGreaterThan(0);
    expect(maxBacklog).toBeLessThanOrEqual(HIGH + chunk);
    expect(core.inputBacklog).toBe(0);
    expect(daemon!.inputGate.paused).toBe(false);
  }, 20_000);

  it('input flow control: a core that never drains does not keep client sockets paused past the bound (hold time 3 s stays up)', async () => {
    const port = await start(
      `clients:
  - asn: 64603
    ip: "127.0.0.103"
`,
      {},
      `${GENERAL}  ixrs:
    hold_time: 3
`,
    );
    const core = daemon!.core;
    const arrivals: number[] = [];
    core.receiveUpdate = () => {
      arrivals.push(Date.now());
      return false; // full, and onInputDrain never comes
    };
    const a = sim(64603, '127.0.0.103', port, { fsm: { autoRestart: false } });
    const downs: PeerDown[] = [];
    a.on('down', (d: PeerDown) => downs.push(d));
    await new Promise((r) => a.once('established', r));
    expect(a.negotiated!.holdTime).toBe(3);
    const t0 = Date.now();
    let sent = 0;
    while (Date.now() - t0 < 4500) {
      a.sendUpdate(announce(`193.1.${sent & 255}.0/24`, 64603, '127.0.0.103'));
      sent++;
      await sleep(100);
    }
    await until(() => arrivals.length === sent, 3000);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    expect(Math.max(...gaps)).toBeLessThan(1500);
    const gate = daemon!.inputGate;
    expect(gate.stats.forcedRounds).toBeGreaterThanOrEqual(3);
    expect(downs).toEqual([]);
    expect(daemon!.bgpState('127.0.0.103')).toBe('Established');
  }, 20_000);
});
