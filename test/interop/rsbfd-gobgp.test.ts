// RS-BFD requests as real tools see them (docs/rs-bfd-profile.md §4, §5.1):
// the real `ixrs run` process on a LAN of network namespaces, with
//   B = BIRD 2 (AS65003), announcing a prefix, plus a scripted BGP-LS reporter
//       beside it (test/interop/bin/ls-speaker.ts) so that B's next hop is one
//       the route server asks about;
//   G = gobgpd 3.10 (AS65005), a client whose one session carries IPv4
//       unicast and BGP-LS (a router doing the agent's job itself): the
//       route server's requests arrive on it.
// GoBGP's own parse of what it received (its gRPC ListPath,
// test/interop/bin/gobgp-ls-paths.ts; its CLI cannot show LS descriptors)
// must be the Link NLRI for B's next hop with the right descriptors; tshark,
// capturing the LAN bridge, must decode every BGP-LS UPDATE of the route
// server with the same descriptors and no malformed packet or expert error.
// Needs root.

import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/bgp/codec.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';
import { decodeLsUpdate } from '../../src/bgpls/codec.ts';
import { lsAsFixture } from '../bgpls/helpers.ts';
import { Capture, tsharkFields } from './lib/bfd-daemons.ts';
import { type GoBgpLsPath, LsSpeaker, tsharkDecodeMessage } from './lib/bgpls.ts';
import { DAEMON_PROGRAMS, type Daemon, nsRun } from './lib/daemons.ts';
import { Lan, requirePrograms, waitFor } from './lib/netns.ts';
import { tsharkMessages } from './lib/pcap.ts';
import { createRsClient, RouteServerProcess } from './lib/rs.ts';

const RS = { as: 64500, v4: '192.0.2.100' };
const B = { as: 65003, v4: '192.0.2.3' };
const G = { as: 65005, v4: '192.0.2.5' };
const B_PREFIX = '198.51.100.0/27';
const API = 50051;
const PATHS = new URL('./bin/gobgp-ls-paths.ts', import.meta.url).pathname;

function gobgpConfig(): string {
  return `[global.config]
  as = ${G.as}
  router-id = "${G.v4}"
  port = 179
  local-address-list = ["${G.v4}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${RS.v4}"
    peer-as = ${RS.as}
  [neighbors.timers.config]
    connect-retry = 2
    idle-hold-time-after-reset = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ls"
`;
}

describe('RS-BFD requests seen by GoBGP 3.10 and tshark 4.0', () => {
  let lan: Lan | undefined;
  let rs: RouteServerProcess;
  let bird: Daemon;
  let reporter: LsSpeaker;
  let pcap: string;
  let stopCapture: () => Promise<void>;
  let gobgp: (args: string[]) => Promise<string>;
  let lsPaths: () => Promise<GoBgpLsPath[]>;

  beforeAll(async () => {
    requirePrograms(...DAEMON_PROGRAMS.bird, 'gobgpd', 'gobgp', 'tshark', 'text2pcap', 'nft');
    lan = new Lan('ixr-');
    const mrs = lan.add({ name: 'rs', v4: `${RS.v4}/24` });
    const mb = lan.add({ name: 'b', v4: `${B.v4}/24` });
    const mg = lan.add({ name: 'g', v4: `${G.v4}/24` });
    pcap = `${lan.logDir}/lan.pcap`;
    const capture = new Capture(lan, lan.switchNs, pcap, 'br0', 'tshark', 'tcp port 179');
    await capture.ready();
    stopCapture = () => capture.stop();
    rs = new RouteServerProcess(lan, mrs, {
      rsAs: RS.as,
      routerId: RS.v4,
      controlSocket: `${lan.logDir}/ixrs.sock`,
      clients: [
        { asn: B.as, addresses: [B.v4], description: 'bird' },
        { asn: G.as, addresses: [G.v4], description: 'gobgp' },
      ],
    });
    await rs.start();
    bird = createRsClient(lan, {
      kind: 'bird',
      name: 'b',
      member: mb,
      as: B.as,
      routerId: B.v4,
      neighbors: [{ address: RS.v4, as: RS.as }],
      routes: [{ prefix: B_PREFIX }],
    });
    await bird.start();
    const conf = `${lan.logDir}/gobgpd.toml`;
    writeFileSync(conf, gobgpConfig());
    lan.spawnIn(
      mg.ns,
      'gobgpd',
      ['-f', conf, '-t', 'toml', '--api-hosts', `127.0.0.1:${API}`, '--pprof-disable'],
      'gobgpd',
    );
    gobgp = (args) => nsRun(mg.ns, 'gobgp', ['-u', '127.0.0.1', '-p', String(API), ...args]);
    lsPaths = async () =>
      JSON.parse(
        await nsRun(mg.ns, process.execPath, [PATHS, String(API), RS.v4]),
      ) as GoBgpLsPath[];
    await waitFor('gobgp answers', () => gobgp(['global']).then(() => true));
    await bird.waitEstablished(RS.v4, 60_000);
    reporter = new LsSpeaker(lan, mb, 'rep-b', {
      peers: [
        {
          localAs: B.as,
          routerId: B.v4,
          peerAddress: RS.v4,
          peerAs: RS.as,
          localAddress: B.v4,
          announce: [],
        },
      ],
    });
    await reporter.waitEvent('established with the route server', (e) => e.event === 'established');
  }, 120_000);

  afterAll(async () => {
    if (process.env.IXR_KEEP) {
      console.log(`rsbfd-gobgp: IXR_KEEP set, kept; logs in ${lan?.logDir}`);
      return;
    }
    reporter?.command({ cmd: 'exit' });
    await stopCapture?.().catch(() => undefined);
    await rs?.stop().catch(() => undefined);
    await bird?.stop().catch(() => undefined);
    lan?.destroy();
  }, 30_000);

  it("profile §4, §5.1, RFC 9552 §5.2.2: GoBGP, a client with BGP-LS on its routing session, holds the request for B's next hop with the right descriptors", async () => {
    const paths = await waitFor(
      'GoBGP has a BGP-LS path from the route server',
      async () => {
        const p = await lsPaths();
        return p.length > 0 ? p : false;
      },
      60_000,
      500,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- ixrs log:\n${rs.logTail()}`);
    });
    expect(paths).toHaveLength(1);
    expect(paths[0]).toMatchObject({
      nlriType: 2,
      protocolId: 7,
      identifier: '0',
      local: { asn: G.as },
      remote: { asn: B.as },
      link: { ipv4Interface: G.v4, ipv4Neighbor: B.v4 },
      nextHops: [RS.v4],
    });
    expect(paths[0]!.igpMetric).toBeUndefined();
    // The session stays up with both families.
    const n = JSON.parse(await gobgp(['neighbor', RS.v4, '-j'])) as {
      state?: { session_state?: number | string };
    };
    expect(String(n.state?.session_state)).toMatch(/6|established/i);
  });

  it("profile §5.1: B's reporter leaving withdraws the request: GoBGP's Adj-RIB-In empties", async () => {
    reporter.command({ cmd: 'exit' });
    await waitFor('GoBGP drops the request', async () => (await lsPaths()).length === 0, 30_000);
  });

  it('tshark decodes every BGP-LS UPDATE of the route server as we do, with no malformed packet or expert error', async () => {
    await new Promise((r) => setTimeout(r, 500));
    await stopCapture();
    const bad = tsharkFields(pcap, '_ws.malformed || _ws.expert.severity >= 8388608', [
      'frame.number',
      '_ws.expert.message',
    ]);
    expect(bad).toEqual([]);
    let fromRs = 0;
    let withdraws = 0;
    for (const m of tsharkMessages(pcap)) {
      if (m.bytes[18] !== 2 || m.src !== RS.v4) continue;
      const ours = decodeLsUpdate(decodeMessage(m.bytes, { as4: true }) as UpdateMessage);
      if (ours === null) continue;
      expect(ours.problems).toEqual([]);
      const theirs = tsharkDecodeMessage(m.bytes, lan!.logDir);
      expect(theirs.malformed, `${m.src} -> ${m.dst}`).toBe(false);
      const { malformed: _, ...rest } = theirs;
      expect(rest, `${m.src} -> ${m.dst}`).toEqual(lsAsFixture(ours));
      if (ours.announced.length > 0) fromRs++;
      withdraws += ours.withdrawn.length;
    }
    expect(fromRs).toBeGreaterThanOrEqual(1);
    expect(withdraws).toBeGreaterThanOrEqual(1);
  });
});
