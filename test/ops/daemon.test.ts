// The wiring of `ixrs run` in-process: max-prefix actions reach the session
// layer, graceful restart helper keeps a vanished client's paths stale.

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { makeAttributes } from '../../src/bgp/attributes.ts';
import type { BgpPeer, PeerConfig, PeerDown } from '../../src/bgp/speaker.ts';
import { BgpSpeaker } from '../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import {
  type Daemon,
  effectiveListen,
  groupKeyOf,
  ipv4ToU32,
  startDaemon,
} from '../../src/ops/daemon.ts';

const silent = pino({ level: 'silent' });
// Default bogons apply: the test prefixes are real (RIPE NCC) space, never routed here.
const GENERAL = `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  filtering:
    reject_invalid_as_in_as_path: False
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

function announce(prefix: string, asn: number, nextHop: string): UpdateMessage {
  return {
    type: 'update',
    withdrawn: [],
    attrs: makeAttributes({ origin: 0, asPath: [{ type: 2, asns: [asn] }], nextHop }),
    nlri: [{ prefix }],
    mpReach: null,
    mpUnreach: null,
    errors: [],
  };
}

describe('daemon wiring', () => {
  let daemon: Daemon | null = null;
  const speakers: BgpSpeaker[] = [];

  afterEach(async () => {
    await daemon?.stop('test over');
    daemon = null;
    for (const s of speakers.splice(0)) await s.stop();
  });

  async function start(clientsYaml: string): Promise<number> {
    const { config } = parseConfig(GENERAL, clientsYaml);
    daemon = await startDaemon({
      config,
      logger: silent,
      listen: [{ address: '127.0.0.1', port: 0 }],
      controlSocket: null,
    });
    return daemon.addresses()[0]!.port;
  }

  function sim(asn: number, ip: string, port: number, extra: Partial<PeerConfig> = {}): BgpPeer {
    const sp = new BgpSpeaker({ listen: [], logger: silent });
    speakers.push(sp);
    const peer = sp.addPeer({
      peerAddress: '127.0.0.1',
      port,
      localAddress: ip,
      localAs: asn,
      peerAs: 64500,
      routerId: ipv4ToU32(ip),
      families: [{ afi: 1, safi: 1 }],
      connectRetryTime: 1,
      ...extra,
    });
    void sp.start();
    return peer;
  }

  it('listening on 0.0.0.0 and :: (same port) keeps only the dual-stack :: unless bindv6only', () => {
    const both = [
      { address: '0.0.0.0', port: 179 },
      { address: '::', port: 179 },
      { address: '0.0.0.0', port: 1179 },
    ];
    expect(effectiveListen(both, false)).toEqual([
      { address: '::', port: 179 },
      { address: '0.0.0.0', port: 1179 },
    ]);
    expect(effectiveListen(both, true)).toEqual(both);
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
`);
    const peer = sim(64532, '127.0.0.32', port, { fsm: { idleHoldTime: 1 } });
    await new Promise((r) => peer.once('established', r));
    const down = new Promise<PeerDown>((r) => peer.once('down', r));
    peer.sendUpdate(announce('193.0.10.0/24', 64532, '127.0.0.32'));
    peer.sendUpdate(announce('193.0.11.0/24', 64532, '127.0.0.32'));
    expect((await down).received).toMatchObject({ code: 6, subcode: 1 });
    // After the idle hold time the route server takes the client again.
    await new Promise((r) => peer.once('established', r));
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
});
