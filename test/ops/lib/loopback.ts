// The pieces every "daemon + simulated clients on loopback" test shares: a
// general.yml for a loopback route server, polling, an UPDATE builder, the
// daemon started on 127.0.0.1 with an ephemeral port, and simulated clients
// (a BgpSpeaker each, from their own 127.0.0.x address).

import net from 'node:net';
import pino from 'pino';
import { makeAttributes } from '../../../src/bgp/attributes.ts';
import { type BgpPeer, BgpSpeaker, type PeerConfig } from '../../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../../src/bgp/types.ts';
import { parseConfig } from '../../../src/config/load.ts';
import {
  type Daemon,
  type DaemonOptions,
  ipv4ToU32,
  startDaemon,
} from '../../../src/ops/daemon.ts';

export const silent = pino({ level: 'silent' });

/** general.yml of a loopback route server (IRR enforcement off: no IRR data here; default bogons apply). */
export const GENERAL = `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  filtering:
    reject_invalid_as_in_as_path: False
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms; throws after `ms`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 8000,
  what = 'a condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** An IPv4 unicast announcement: ORIGIN IGP, an AS_SEQUENCE, NEXT_HOP. */
export function announce(
  prefixes: string | string[],
  asPath: number | number[],
  nextHop: string,
): UpdateMessage {
  return {
    type: 'update',
    withdrawn: [],
    attrs: makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns: typeof asPath === 'number' ? [asPath] : asPath }],
      nextHop,
    }),
    nlri: (typeof prefixes === 'string' ? [prefixes] : prefixes).map((prefix) => ({ prefix })),
    mpReach: null,
    mpUnreach: null,
    errors: [],
  };
}

/** IPv4 and IPv6 unicast, for a simulated client's `families`. */
export const V4_V6 = [
  { afi: 1, safi: 1 },
  { afi: 2, safi: 1 },
];

/** `ixrs run`'s daemon in-process on 127.0.0.1 (ephemeral port, no control socket unless given). */
export async function startLoopbackDaemon(
  clientsYaml: string,
  options: Partial<DaemonOptions> & { general?: string } = {},
): Promise<Daemon> {
  const { general = GENERAL, ...extra } = options;
  const { config } = parseConfig(general, clientsYaml);
  return startDaemon({
    config,
    logger: silent,
    listen: [{ address: '127.0.0.1', port: 0 }],
    controlSocket: null,
    ...extra,
  });
}

/**
 * A simulated client: a speaker of its own (pushed on `speakers`, for the
 * caller to stop) with one session from `ip` to the route server (AS64500)
 * on 127.0.0.1:`port`, IPv4 unicast unless `extra` says otherwise.
 */
export function simClient(
  speakers: BgpSpeaker[],
  port: number,
  asn: number,
  ip: string,
  extra: Partial<PeerConfig> = {},
): BgpPeer {
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

/** A TCP port free on 127.0.0.1 right now (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

/** Polls until a value comes (src/lab/netns.ts; a throw or false counts as not yet). */
export { waitFor } from '../../../src/lab/netns.ts';
