// A small BGP-LS speaker for interop tests: src/bgp/speaker.ts with the
// BGP-LS family only, announcing RS-BFD profile Link NLRI built by src/bgpls,
// printing one JSON line per event on stdout.
//
//   node test/interop/bin/ls-speaker.ts SPEC.json [COMMANDS.jsonl]
//
// SPEC: { "peers": [{ "localAs": 65010, "routerId": "192.0.2.10",
//           "peerAddress": "192.0.2.1", "peerAs": 65000, "localAddress": "192.0.2.10",
//           "announce": [ITEM, ...] }] }
// ITEM: { "halfLink": { "instanceId": "0", "local": {"asn","routerId"},
//           "remote": {"asn","routerId"}, "localAddress", "nextHop" },
//         "name"?: "B" (request with Link Name) | "state"?: "reachable"|"unreachable" (report) }
// Once Established: the items (encodeLsUpdates, next hop = localAddress,
// AS_PATH [localAs]) then End-of-RIB (event 'end-of-rib').
//
// COMMANDS (polled; append JSON lines): {"cmd":"withdraw","peer":ADDR,"items":[ITEM...]},
// {"cmd":"announce","peer":ADDR,"items":[ITEM...]}, {"cmd":"exit"}.
//
// Events: {"event":"established","peer","families"}, {"event":"sent","peer","messages":N},
// {"event":"update","peer","ls":{announced,attribute,withdrawn,problems,nextHop}} (bigint as
// text, bytes as hex), {"event":"down","peer","reason"}, {"event":"error","message"}.

import { existsSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { encodeEndOfRib } from '../../../src/bgp/codec.ts';
import type { Negotiated } from '../../../src/bgp/negotiate.ts';
import { type BgpPeer, BgpSpeaker, type PeerDown } from '../../../src/bgp/speaker.ts';
import type { UpdateMessage } from '../../../src/bgp/types.ts';
import {
  AFI_BGPLS,
  decodeLsUpdate,
  encodeLsUpdates,
  type HalfLink,
  type LsAttribute,
  type LsNlri,
  reportItem,
  requestItem,
  SAFI_BGPLS,
} from '../../../src/bgpls/codec.ts';

export interface LsHalfLinkSpec {
  instanceId: string;
  local: { asn: number; routerId: string };
  remote: { asn: number; routerId: string };
  localAddress: string;
  nextHop: string;
}

export interface LsItemSpec {
  halfLink: LsHalfLinkSpec;
  name?: string;
  state?: 'reachable' | 'unreachable';
}

export interface LsPeerSpec {
  localAs: number;
  routerId: string;
  peerAddress: string;
  peerAs: number;
  localAddress: string;
  announce?: LsItemSpec[];
}

export interface LsSpeakerSpec {
  peers: LsPeerSpec[];
}

function out(e: Record<string, unknown>): void {
  process.stdout.write(
    `${JSON.stringify(e, (_k, v) =>
      typeof v === 'bigint'
        ? v.toString()
        : v instanceof Uint8Array
          ? Buffer.from(v).toString('hex')
          : v,
    )}\n`,
  );
}

function halfLink(s: LsHalfLinkSpec): HalfLink {
  return { ...s, instanceId: BigInt(s.instanceId) };
}

function item(s: LsItemSpec): { nlri: LsNlri; attribute?: LsAttribute } {
  const h = halfLink(s.halfLink);
  return s.state !== undefined ? reportItem(h, s.state) : requestItem(h, s.name);
}

function ipv4ToUint(a: string): number {
  return a.split('.').reduce((n, x) => n * 256 + Number(x), 0) >>> 0;
}

async function main(): Promise<void> {
  const [specFile, cmdFile] = process.argv.slice(2);
  if (!specFile) throw new Error('usage: ls-speaker.ts SPEC.json [COMMANDS.jsonl]');
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as LsSpeakerSpec;
  const logger = pino({ level: process.env.IXB_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const speaker = new BgpSpeaker({ listen: [], logger });
  const peers = new Map<string, { peer: BgpPeer; spec: LsPeerSpec; n?: Negotiated }>();
  const send = (addr: string, announce: LsItemSpec[], withdraw: LsItemSpec[]): void => {
    const p = peers.get(addr);
    if (!p?.n) {
      out({ event: 'error', message: `peer ${addr} not established` });
      return;
    }
    const msgs = encodeLsUpdates(p.n.codec, {
      nextHop: p.spec.localAddress,
      asPath: [p.spec.localAs],
      announce: announce.map(item),
      withdraw: withdraw.map((w) => item(w).nlri),
    });
    for (const m of msgs) p.peer.sendRaw(m);
    out({ event: 'sent', peer: addr, messages: msgs.length });
  };
  for (const ps of spec.peers) {
    const peer = speaker.addPeer({
      localAs: ps.localAs,
      routerId: ipv4ToUint(ps.routerId),
      peerAddress: ps.peerAddress,
      peerAs: ps.peerAs,
      localAddress: ps.localAddress,
      families: [{ afi: AFI_BGPLS, safi: SAFI_BGPLS }],
      connectRetryTime: 2,
    });
    const addr = ps.peerAddress;
    const entry: { peer: BgpPeer; spec: LsPeerSpec; n?: Negotiated } = { peer, spec: ps };
    peers.set(addr, entry);
    peer.on('established', (n: Negotiated) => {
      entry.n = n;
      out({ event: 'established', peer: addr, families: [...n.families].sort() });
      try {
        send(addr, ps.announce ?? [], []);
        // End-of-RIB in a TCP segment of its own (200 ms later): tshark 4.0
        // flags a segment holding a BGP-LS UPDATE followed by a BGP-LS
        // End-of-RIB as malformed (an exception in its dissector; each message
        // alone, or the two the other way round, decode clean), and the
        // interop test wants a capture without malformed packets.
        setTimeout(() => {
          peer.sendRaw(encodeEndOfRib(AFI_BGPLS, SAFI_BGPLS, n.codec));
          out({ event: 'end-of-rib', peer: addr });
        }, 200);
      } catch (err) {
        out({ event: 'error', peer: addr, message: String(err) });
      }
    });
    peer.on('update', (u: UpdateMessage) => {
      const ls = decodeLsUpdate(u);
      out({ event: 'update', peer: addr, ls });
    });
    peer.on('down', (d: PeerDown) => out({ event: 'down', peer: addr, reason: d.reason }));
  }
  await speaker.start();
  out({ event: 'listening' });
  const exit = async (): Promise<void> => {
    await Promise.all(
      [...peers.values()].map((p) => p.peer.stop('test finished').catch(() => undefined)),
    );
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
          const c = JSON.parse(line) as { cmd: string; peer?: string; items?: LsItemSpec[] };
          if (c.cmd === 'withdraw') send(c.peer ?? '', [], c.items ?? []);
          else if (c.cmd === 'announce') send(c.peer ?? '', c.items ?? [], []);
          else if (c.cmd === 'exit') void exit();
          else out({ event: 'error', message: `unknown command ${c.cmd}` });
        } catch (err) {
          out({ event: 'error', message: `bad command ${line}: ${String(err)}` });
        }
      }
    }, 100);
  }
}

main().catch((err) => {
  out({ event: 'error', message: String(err instanceof Error ? err.stack : err) });
  process.exit(1);
});
