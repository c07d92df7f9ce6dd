// Loopback simulation of RS-BFD around `ixrs run`'s daemon (the pattern of
// test/ops/rsbfd.test.ts): simulated clients (routing sessions) and scripted
// agents (BGP-LS-only sessions from a client's address) that record what they
// are asked to check and send reports. Used by the metrics and web page tests.

import { encodeMessage, endOfRibFamily } from '../../../src/bgp/codec.ts';
import type { BgpPeer, BgpSpeaker } from '../../../src/bgp/speaker.ts';
import { AFI, SAFI, type UpdateMessage } from '../../../src/bgp/types.ts';
import { type HalfLink, parseRequest, reportItem } from '../../../src/bgpls/rsbfd.ts';
import { decodeLsUpdate, encodeLsUpdates } from '../../../src/bgpls/update.ts';
import { announce, simClient, until as untilCond } from './loopback.ts';

export { announce, GENERAL, silent, sleep } from './loopback.ts';

/** Polls `cond` (see loopback.ts), naming `what` when it times out. */
export function until(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  return untilCond(cond, ms, what);
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
    return simClient(this.speakers, this.port, asn, ip, { families });
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
