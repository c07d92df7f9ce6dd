// BGP-LS codec benchmark at the scale of the RS-BFD goal (issue #10: 300
// reporting clients, ~90,000 requests out and ~90,000 reports in): build the
// requests for N clients x M next hops (half IPv4, half IPv6) and encode them
// per client with encodeLsUpdates, then decode the same number of reports
// (decodeMessage + decodeLsUpdate + parseReport). One core, prints NLRI/s.
//
//   node bench/bgpls.ts [--clients 300] [--nexthops 300] [--rounds 3]

import { decodeMessage } from '../src/bgp/codec.ts';
import type { CodecOptions, UpdateMessage } from '../src/bgp/types.ts';
import {
  decodeLsUpdate,
  encodeLsUpdates,
  type HalfLink,
  parseReport,
  reportItem,
  requestItem,
} from '../src/bgpls/codec.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const CLIENTS = arg('clients', 300);
const NEXTHOPS = arg('nexthops', 300);
const ROUNDS = arg('rounds', 3);
/** --names 1: requests carry Link Name naming B (one UPDATE per owner). */
const NAMES = arg('names', 0) === 1;
const OPTS: CodecOptions = { as4: true };

function addr(i: number, v6: boolean): string {
  return v6 ? `2001:db8::${i.toString(16)}` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function halfLinks(client: number): HalfLink[] {
  const out: HalfLink[] = [];
  for (let j = 0; j < NEXTHOPS; j++) {
    const v6 = j % 2 === 1;
    const other = (client + j + 1) % (CLIENTS + NEXTHOPS);
    out.push({
      instanceId: 0n,
      local: { asn: 64512 + client, routerId: addr(client + 1, false) },
      remote: { asn: 64512 + other, routerId: addr(other + 1, false) },
      localAddress: addr(client + 1, v6),
      nextHop: addr(other + 1 + (v6 ? 0 : 0x10000), v6),
    });
  }
  return out;
}

const links = Array.from({ length: CLIENTS }, (_, c) => halfLinks(c));
const total = CLIENTS * NEXTHOPS;
for (let r = 0; r < ROUNDS; r++) {
  let t = performance.now();
  let msgs = 0;
  for (let c = 0; c < CLIENTS; c++) {
    const hs = links[c]!;
    msgs += encodeLsUpdates(OPTS, {
      nextHop: '192.0.2.254',
      asPath: [64500],
      announce: hs.map((h) => requestItem(h, NAMES ? `AS${h.remote.asn}` : undefined)),
      withdraw: [],
    }).length;
  }
  const enc = performance.now() - t;
  const reports: Uint8Array[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const hs = links[c]!;
    for (const state of ['reachable', 'unreachable'] as const) {
      reports.push(
        ...encodeLsUpdates(OPTS, {
          nextHop: hs[0]!.localAddress.includes(':') ? '2001:db8::1' : '192.0.2.1',
          asPath: [64512 + c],
          announce: hs
            .filter((_, j) => (j % 2 === 0) === (state === 'reachable'))
            .map((h) => reportItem(h, state)),
          withdraw: [],
        }),
      );
    }
  }
  t = performance.now();
  let ok = 0;
  for (const m of reports) {
    const ls = decodeLsUpdate(decodeMessage(m, OPTS) as UpdateMessage)!;
    for (const n of ls.announced) if (parseReport(n, ls.attribute).ok) ok++;
  }
  const dec = performance.now() - t;
  if (ok !== total) throw new Error(`decoded ${ok} reports, expected ${total}`);
  console.log(
    `round ${r + 1}: ${total} requests encoded in ${msgs} UPDATEs, ${enc.toFixed(0)} ms ` +
      `(${Math.round(total / (enc / 1000))} NLRI/s); ${total} reports in ${reports.length} UPDATEs ` +
      `decoded and parsed in ${dec.toFixed(0)} ms (${Math.round(total / (dec / 1000))} NLRI/s)`,
  );
}
