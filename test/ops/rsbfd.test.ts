// RS-BFD end to end in `ixrs run`'s wiring, on loopback: simulated clients
// (routing sessions) and, beside some of them, a scripted agent (a BGP-LS-only
// session from the client's address, rs-bfd-profile §3) that receives the
// requests and sends reports.

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { makeAttributes } from '../../src/bgp/attributes.ts';
import { encodeMessage, endOfRibFamily } from '../../src/bgp/codec.ts';
import type { BgpPeer } from '../../src/bgp/speaker.ts';
import { BgpSpeaker } from '../../src/bgp/speaker.ts';
import { AFI, SAFI, type UpdateMessage } from '../../src/bgp/types.ts';
import { type HalfLink, parseRequest, reportItem } from '../../src/bgpls/rsbfd.ts';
import { decodeLsUpdate, encodeLsUpdates } from '../../src/bgpls/update.ts';
import { parseConfig } from '../../src/config/load.ts';
import { type Daemon, ipv4ToU32, startDaemon } from '../../src/ops/daemon.ts';

const silent = pino({ level: 'silent' });
const GENERAL = `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  filtering:
    reject_invalid_as_in_as_path: False
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
`;
const CLIENTS = `clients:
  - { asn: 64501, ip: "127.0.0.11" }
  - { asn: 64502, ip: "127.0.0.12" }
  - { asn: 64503, ip: "127.0.0.13" }
`;
const P = '193.0.0.0/21'; // B (best) and C
const Q = '193.0.8.0/24'; // B only

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function announce(prefixes: string[], asPath: number[], nextHop: string): UpdateMessage {
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
interface Client {
  peer: BgpPeer;
  rib: Map<string, number>;
  updates: number;
}

/** A scripted agent: what it was asked to check, and reports. */
interface Agent {
  peer: BgpPeer;
  requested: Map<string, HalfLink>;
  endOfRib: number;
  report(nextHop: string, state: 'reachable' | 'unreachable' | null): void;
}

describe('RS-BFD in ixrs run (rs-bfd-profile §3-7)', () => {
  let daemon: Daemon | null = null;
  const speakers: BgpSpeaker[] = [];

  afterEach(async () => {
    await daemon?.stop('test over');
    daemon = null;
    for (const s of speakers.splice(0)) await s.stop();
  });

  function speaker(
    ip: string,
    asn: number,
    port: number,
    families: { afi: number; safi: number }[],
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
      families,
      connectRetryTime: 1,
    });
    void sp.start();
    return peer;
  }

  function client(ip: string, asn: number, port: number): Client {
    const c: Client = {
      peer: speaker(ip, asn, port, [{ afi: 1, safi: 1 }]),
      rib: new Map(),
      updates: 0,
    };
    c.peer.on('update', (m: UpdateMessage) => {
      c.updates++;
      for (const n of m.withdrawn) c.rib.delete(n.prefix);
      for (const n of m.nlri) c.rib.set(n.prefix, m.attrs?.asPath[0]?.asns[0] ?? 0);
    });
    return c;
  }

  function agent(ip: string, asn: number, port: number): Agent {
    const peer = speaker(ip, asn, port, [{ afi: AFI.BGPLS, safi: SAFI.BGPLS }]);
    const a: Agent = {
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

  it('§5: A reports B unreachable: A loses B-only prefixes and falls back to C for a shared one; B and C see nothing; all back on withdraw and on agent loss', async () => {
    const { config } = parseConfig(GENERAL, CLIENTS);
    daemon = await startDaemon({
      config,
      logger: silent,
      listen: [{ address: '127.0.0.1', port: 0 }],
      controlSocket: null,
    });
    const port = daemon.addresses()[0]!.port;
    const A = client('127.0.0.11', 64501, port);
    const B = client('127.0.0.12', 64502, port);
    const C = client('127.0.0.13', 64503, port);
    for (const c of [A, B, C]) await until('sessions', () => c.peer.state === 'Established');
    B.peer.sendRaw(
      encodeMessage(announce([P, Q], [64502], '127.0.0.12'), B.peer.negotiated!.codec),
    );
    C.peer.sendRaw(
      encodeMessage(announce([P], [64503, 64999], '127.0.0.13'), C.peer.negotiated!.codec),
    );
    await until('A has P and Q via B', () => A.rib.get(P) === 64502 && A.rib.get(Q) === 64502);

    const agA = agent('127.0.0.11', 64501, port);
    const agB = agent('127.0.0.12', 64502, port);
    await until('A is asked about B', () => agA.requested.has('127.0.0.12'));
    expect(agA.endOfRib).toBe(1);
    expect(agA.requested.get('127.0.0.12')).toMatchObject({
      local: { asn: 64501, routerId: '127.0.0.11' },
      remote: { asn: 64502, routerId: '127.0.0.12' },
      localAddress: '127.0.0.11',
    });
    // C runs no agent: nobody is asked about C's next hop.
    expect([...agA.requested.keys()]).toEqual(['127.0.0.12']);
    expect(daemon.rsbfd.requested('AS64501')).toEqual(['127.0.0.12']);
    // Every session stays up beside the reachability sessions.
    expect([A, B, C].map((c) => c.peer.state)).toEqual([
      'Established',
      'Established',
      'Established',
    ]);

    const bBefore = B.updates;
    const cBefore = C.updates;
    agA.report('127.0.0.12', 'unreachable');
    await until('A falls back', () => A.rib.get(P) === 64503 && !A.rib.has(Q));
    expect(daemon.nhib.stateOf('AS64501', '127.0.0.12')).toBe('unreachable');
    expect(daemon.core.hiddenPaths('AS64501', '127.0.0.12')).toBe(2);
    await sleep(100);
    expect([B.updates, C.updates]).toEqual([bBefore, cBefore]);

    agA.report('127.0.0.12', null); // withdrawn: no opinion
    await until('A gets B back', () => A.rib.get(P) === 64502 && A.rib.get(Q) === 64502);

    agA.report('127.0.0.12', 'unreachable');
    await until('A loses Q again', () => !A.rib.has(Q));
    await agA.peer.stop(); // the agent goes away: fail open (§7)
    await until(
      'A gets B back after agent loss',
      () => A.rib.get(Q) === 64502 && A.rib.get(P) === 64502,
    );
    expect(daemon.nhib.stateOf('AS64501', '127.0.0.12')).toBe('unknown');
    // B's agent going away removes the reason to ask about B.
    await agB.peer.stop();
    expect([A, B, C].map((c) => c.peer.state)).toEqual([
      'Established',
      'Established',
      'Established',
    ]);
  });
});
