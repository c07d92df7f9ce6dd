// Loopback simulation of RS-BFD around `ixrs run`'s daemon (the pattern of
// test/ops/rsbfd.test.ts): simulated clients (routing sessions) and scripted
// agents (BGP-LS-only sessions from a client's address) that record what they
// are asked to check and send reports. Used by the metrics and web page tests.

import pino from 'pino';
import { makeAttributes } from '../../../src/bgp/attributes.ts';
import { encodeMessage, endOfRibFamily } from '../../../src/bgp/codec.ts';
import type { BgpPeer } from '../../../src/bgp/speaker.ts';
import { BgpSpeaker } from '../../../src/bgp/speaker.ts';
import { AFI, SAFI, type UpdateMessage } from '../../../src/bgp/types.ts';
import { type HalfLink, parseRequest, reportItem } from '../../../src/bgpls/rsbfd.ts';
import { decodeLsUpdate, encodeLsUpdates } from '../../../src/bgpls/update.ts';
import { ipv4ToU32 } from '../../../src/ops/daemon.ts';

export const silent = pino({ level: 'silent' });

/** general.yml of a loopback route server for these tests (IRR enforcement off: no IRR data here). */
export const GENERAL = `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  filtering:
    reject_invalid_as_in_as_path: False
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function announce(prefixes: string[], asPath: number[], nextHop: string): UpdateMessage {
  return {
    type: 'update',
    withdrawn: [],
    attrs: makeAttributes({ origin: 0, asPath: [{ type: 2, asns: asPath }], nextHop }),
    nlri: prefixes.map((prefix) => ({ prefix })),
    mpReach: null,
    mpUnreach: null,
    errors: [],
  };
}

/** A simulated client's routing session and what it holds (prefix -> first AS of the path). */
export interface SimClient {
  peer: BgpPeer;
  rib: Map<string, number>;
  updates: number;
  announce(prefixes: string[]): void;
}

/** A scripted agent: what it was asked to check, and reports. */
export interface SimAgent {
  peer: BgpPeer;
  requested: Map<string, HalfLink>;
  endOfRib: number;
  report(nextHop: string, state: 'reachable' | 'unreachable' | null): void;
}

/** Simulated clients and agents towards the daemon listening on 127.0.0.1:`port`. */
export class RsBfdSim {
  private readonly speakers: BgpSpeaker[] = [];
  private readonly port: number;

  constructor(port: number) {
    this.port = port;
  }

  private speaker(ip: string, asn: number, families: { afi: number; safi: number }[]): BgpPeer {
    const sp = new BgpSpeaker({ listen: [], logger: silent });
    this.speakers.push(sp);
    const peer = sp.addPeer({
      peerAddress: '127.0.0.1',
      port: this.port,
      localAddress: ip,
      localAs: asn,
      peerAs: 64500,
      routerId: ipv4ToU32(ip),
      families,
      connectRetryTime: 1,
    });
    void sp.start();
    return peer;
  }

  client(ip: string, asn: number): SimClient {
    const c: SimClient = {
      peer: this.speaker(ip, asn, [{ afi: 1, safi: 1 }]),
      rib: new Map(),
      updates: 0,
      announce(prefixes) {
        c.peer.sendRaw(encodeMessage(announce(prefixes, [asn], ip), c.peer.negotiated!.codec));
      },
    };
    c.peer.on('update', (m: UpdateMessage) => {
      c.updates++;
      for (const n of m.withdrawn) c.rib.delete(n.prefix);
      for (const n of m.nlri) c.rib.set(n.prefix, m.attrs?.asPath[0]?.asns[0] ?? 0);
    });
    return c;
  }

  agent(ip: string, asn: number): SimAgent {
    const peer = this.speaker(ip, asn, [{ afi: AFI.BGPLS, safi: SAFI.BGPLS }]);
    const a: SimAgent = {
      peer,
      requested: new Map(),
      endOfRib: 0,
      report(nextHop, state) {
        const h = a.requested.get(nextHop);
        if (h === undefined) throw new Error(`${nextHop} not requested from ${ip}`);
        const item = reportItem(h, state ?? 'reachable');
        for (const m of encodeLsUpdates(peer.negotiated!.codec, {
          nextHop: ip,
          asPath: [asn],
          announce: state === null ? [] : [item],
          withdraw: state === null ? [item.nlri] : [],
        })) {
          peer.sendRaw(m);
        }
      },
    };
    peer.on('update', (m: UpdateMessage) => {
      if (endOfRibFamily(m) !== null) {
        a.endOfRib++;
        return;
      }
      const ls = decodeLsUpdate(m);
      for (const n of ls?.withdrawn ?? []) {
        const r = parseRequest(n, null);
        if (r.ok) a.requested.delete(r.value.nextHop);
      }
      for (const n of ls?.announced ?? []) {
        const r = parseRequest(n, ls!.attribute);
        if (r.ok) a.requested.set(r.value.nextHop, r.value);
      }
    });
    return a;
  }

  async stop(): Promise<void> {
    for (const s of this.speakers.splice(0)) await s.stop();
  }
}
