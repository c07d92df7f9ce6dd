// The wiring of `ixrs run` in-process: max-prefix actions reach the session
// layer, graceful restart helper keeps a vanished client's paths stale.

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { makeAttributes } from '../../src/bgp/attributes.ts';
import type { BgpPeer, PeerConfig, PeerDown } from '../../src/bgp/speaker.ts';
import { BgpSpeaker } from '../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { type Daemon, groupKeyOf, ipv4ToU32, startDaemon } from '../../src/ops/daemon.ts';

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
});
