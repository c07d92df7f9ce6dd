// ixrs BGP speaker for interop tests: runs src/bgp/speaker.ts from a JSON spec
// and prints one JSON line per event on stdout.
//
//   node test/interop/bin/speaker.ts SPEC.json [COMMANDS.jsonl]
//
// SPEC: {
//   "listen": [{ "address": "192.0.2.10", "port": 179 }],      // optional
//   "peers": [{ "localAs": 65100, "routerId": "192.0.2.10", "peerAddress": "192.0.2.1",
//               "peerAs": 65001, "localAddress": "192.0.2.10", "passive": false,
//               "families": ["ipv4", "ipv6"], "addPath": false, "holdTime": 90,
//               "connectRetryTime": 2, "gracefulRestart": false }],
//   "routes": [{ "prefix": "203.0.113.0/24", "med": 5, "communities": [[65100, 1]],
//                "largeCommunities": [[65100, 1, 2]], "asPath": [65100, 64999],
//                "nextHop": "192.0.2.10", "peers": ["192.0.2.1"] }]   // peers: default all
// }
// Routes are announced to each peer once it is Established (per negotiated
// family, next hop = the peer's localAddress unless given; asPath default
// [localAs]), followed by End-of-RIB.
//
// COMMANDS (polled; append JSON lines): {"cmd":"stop","peer":"192.0.2.1","message":"..."}
// (peer omitted: every peer), {"cmd":"exit"}. SIGTERM stops every peer and exits.
//
// Events: {"event":"listening"}, {"event":"state","peer","from","to"},
// {"event":"established","peer","negotiated":{...}}, {"event":"update","peer",...decoded},
// {"event":"down","peer","reason","wasEstablished","sent"?,"received"?},
// {"event":"stopped","peer"}, {"event":"error","message"}.

import { existsSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { encodeEndOfRib, makeAttributes } from '../../../src/bgp/codec.ts';
import type { Negotiated } from '../../../src/bgp/negotiate.ts';
import { type BgpPeer, BgpSpeaker, type PeerDown } from '../../../src/bgp/speaker.ts';
import type {
  Capability,
  Family,
  NotificationMessage,
  UpdateMessage,
} from '../../../src/bgp/types.ts';

export interface SpeakerPeerSpec {
  localAs: number;
  routerId: string;
  peerAddress: string;
  peerAs: number;
  localAddress?: string;
  passive?: boolean;
  families?: ('ipv4' | 'ipv6')[];
  addPath?: boolean;
  holdTime?: number;
  connectRetryTime?: number;
  gracefulRestart?: boolean;
}

export interface SpeakerRouteSpec {
  prefix: string;
  med?: number;
  communities?: [number, number][];
  largeCommunities?: [number, number, number][];
  /** Full AS path to send (default [localAs]). */
  asPath?: number[];
  nextHop?: string;
  /** Peers to announce to (default all). */
  peers?: string[];
}

export interface SpeakerSpec {
  listen?: { address: string; port: number }[];
  peers: SpeakerPeerSpec[];
  routes?: SpeakerRouteSpec[];
}

/** One printed event line (the JSON shapes tests read back). */
export interface SpeakerEvent {
  event: string;
  peer?: string;
  [k: string]: unknown;
}

const FAMILY: Record<'ipv4' | 'ipv6', Family> = {
  ipv4: { afi: 1, safi: 1 },
  ipv6: { afi: 2, safi: 1 },
};

function out(e: SpeakerEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

function ipv4ToUint(a: string): number {
  return a.split('.').reduce((n, x) => n * 256 + Number(x), 0) >>> 0;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function community(c: number): string {
  return `${Math.floor(c / 65536)}:${c % 65536}`;
}

export function notificationView(n: NotificationMessage | undefined): unknown {
  if (!n) return undefined;
  return {
    code: n.code,
    subcode: n.subcode,
    data: hex(n.data),
    ...(n.shutdownMessage !== undefined ? { shutdownMessage: n.shutdownMessage } : {}),
  };
}

function capView(c: Capability): unknown {
  if (c.kind === 'unknown') return { kind: c.kind, code: c.code, value: hex(c.value) };
  return c;
}

function negotiatedView(n: Negotiated): unknown {
  return {
    as4: n.as4,
    peerAs: n.peerAs,
    peerBgpId: n.peerBgpId,
    holdTime: n.holdTime,
    families: [...n.families].sort(),
    addPathRx: [...n.addPathRx].sort(),
    addPathTx: [...n.addPathTx].sort(),
    extendedMessage: n.extendedMessage,
    routeRefresh: n.routeRefresh,
    enhancedRouteRefresh: n.enhancedRouteRefresh,
    gracefulRestart: n.gracefulRestart,
    extendedNextHop: n.extendedNextHop,
    peerCapabilities: n.peerCapabilities.map(capView),
  };
}

export function updateView(u: UpdateMessage): Record<string, unknown> {
  const a = u.attrs;
  return {
    withdrawn: u.withdrawn,
    nlri: u.nlri,
    mpReach: u.mpReach
      ? {
          afi: u.mpReach.afi,
          safi: u.mpReach.safi,
          nextHop: u.mpReach.nextHop,
          nlri: u.mpReach.nlri,
        }
      : null,
    mpUnreach: u.mpUnreach
      ? { afi: u.mpUnreach.afi, safi: u.mpUnreach.safi, nlri: u.mpUnreach.nlri }
      : null,
    attrs: a
      ? {
          origin: a.origin,
          asPath: a.asPath,
          nextHop: a.nextHop,
          med: a.med,
          localPref: a.localPref,
          communities: (a.communities ?? []).map(community),
          largeCommunities: (a.largeCommunities ?? []).map((c) => c.join(':')),
          extCommunities: (a.extCommunities ?? []).map(hex),
          other: a.other.map((o) => ({ flags: o.flags, type: o.type, value: hex(o.value) })),
        }
      : null,
    errors: u.errors.map((e) => ({ action: e.action, subcode: e.subcode, reason: e.reason })),
  };
}

function familyOfPrefix(p: string): 'ipv4' | 'ipv6' {
  return p.includes(':') ? 'ipv6' : 'ipv4';
}

function announce(spec: SpeakerSpec, ps: SpeakerPeerSpec, peer: BgpPeer, n: Negotiated): void {
  const local = ps.localAddress;
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const f = FAMILY[fam];
    const key = `${f.afi}/${f.safi}`;
    if (!n.families.has(key)) continue;
    const withPathId = n.addPathTx.has(key);
    for (const r of spec.routes ?? []) {
      if (familyOfPrefix(r.prefix) !== fam) continue;
      if (r.peers && !r.peers.includes(ps.peerAddress)) continue;
      const nh = r.nextHop ?? local ?? '';
      const attrs = makeAttributes({
        origin: 0,
        asPath: [{ type: 2, asns: r.asPath ?? [ps.localAs] }],
        ...(fam === 'ipv4' ? { nextHop: nh } : {}),
        ...(r.med !== undefined ? { med: r.med } : {}),
        ...(r.communities?.length
          ? { communities: r.communities.map(([x, y]) => x * 65536 + y) }
          : {}),
        ...(r.largeCommunities?.length ? { largeCommunities: r.largeCommunities } : {}),
      });
      const nlri = [{ prefix: r.prefix, ...(withPathId ? { pathId: 1 } : {}) }];
      const msg: UpdateMessage = {
        type: 'update',
        withdrawn: [],
        attrs,
        nlri: fam === 'ipv4' ? nlri : [],
        mpReach: fam === 'ipv6' ? { afi: 2, safi: 1, nextHop: { global: nh }, nlri } : null,
        mpUnreach: null,
        errors: [],
      };
      peer.sendUpdate(msg);
    }
    peer.sendRaw(encodeEndOfRib(f.afi, f.safi, n.codec));
  }
}

async function main(): Promise<void> {
  const [specFile, cmdFile] = process.argv.slice(2);
  if (!specFile) throw new Error('usage: speaker.ts SPEC.json [COMMANDS.jsonl]');
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as SpeakerSpec;
  const logger = pino({ level: process.env.IXB_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const speaker = new BgpSpeaker({ listen: spec.listen ?? [], logger });
  const peers = new Map<string, BgpPeer>();
  for (const ps of spec.peers) {
    const families = (ps.families ?? [familyOfPrefix(ps.peerAddress)]).map((f) => FAMILY[f]);
    const peer = speaker.addPeer({
      localAs: ps.localAs,
      routerId: ipv4ToUint(ps.routerId),
      peerAddress: ps.peerAddress,
      peerAs: ps.peerAs,
      families,
      ...(ps.localAddress ? { localAddress: ps.localAddress } : {}),
      ...(ps.passive ? { passive: true } : {}),
      ...(ps.holdTime !== undefined ? { holdTime: ps.holdTime } : {}),
      connectRetryTime: ps.connectRetryTime ?? 2,
      ...(ps.addPath
        ? { addPath: families.map((f) => ({ afi: f.afi, safi: f.safi, mode: 3 as const })) }
        : {}),
      ...(ps.gracefulRestart ? { gracefulRestart: { restartTime: 120 } } : {}),
    });
    const addr = ps.peerAddress;
    peers.set(addr, peer);
    peer.on('state', (from: string, to: string) => out({ event: 'state', peer: addr, from, to }));
    peer.on('established', (n: Negotiated) => {
      out({ event: 'established', peer: addr, negotiated: negotiatedView(n) });
      try {
        announce(spec, ps, peer, n);
      } catch (err) {
        out({ event: 'error', peer: addr, message: String(err) });
      }
    });
    peer.on('update', (u: UpdateMessage) => out({ event: 'update', peer: addr, ...updateView(u) }));
    peer.on('down', (d: PeerDown) =>
      out({
        event: 'down',
        peer: addr,
        reason: d.reason,
        wasEstablished: d.wasEstablished,
        sent: notificationView(d.sent),
        received: notificationView(d.received),
      }),
    );
  }
  await speaker.start();
  out({ event: 'listening', addresses: speaker.addresses() });

  const stop = async (addr: string | undefined, message: string | undefined): Promise<void> => {
    const list = addr ? [[addr, peers.get(addr)] as const] : [...peers];
    await Promise.all(
      list.map(async ([a, p]) => {
        if (!p) return out({ event: 'error', message: `no peer ${a}` });
        await p.stop(message);
        out({ event: 'stopped', peer: a });
      }),
    );
  };
  const exit = async (): Promise<void> => {
    await stop(undefined, 'ixrs interop test finished').catch(() => undefined);
    await speaker.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void exit());

  if (cmdFile) {
    let done = 0;
    setInterval(() => {
      if (!existsSync(cmdFile)) return;
      const lines = readFileSync(cmdFile, 'utf8').split('\n').filter(Boolean);
      for (const line of lines.slice(done)) {
        done++;
        try {
          const c = JSON.parse(line) as { cmd: string; peer?: string; message?: string };
          if (c.cmd === 'stop') void stop(c.peer, c.message);
          else if (c.cmd === 'exit') void exit();
          else out({ event: 'error', message: `unknown command ${c.cmd}` });
        } catch (err) {
          out({ event: 'error', message: `bad command ${line}: ${String(err)}` });
        }
      }
    }, 200);
  }
}

main().catch((err) => {
  out({ event: 'error', message: String(err instanceof Error ? err.stack : err) });
  process.exit(1);
});
