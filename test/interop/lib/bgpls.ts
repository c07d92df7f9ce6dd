// A BGP-LS lab for the codec's interop test and fixture capture: a test LAN
// (namespaces `ixb-ls<pid>-*`) with gobgpd (AS 65000) and two ixrs BGP-LS
// speakers built on src/bgp + src/bgpls (test/interop/bin/ls-speaker.ts):
//   A (AS 65010) peers with gobgpd over IPv4 and IPv6 and announces
//     request-style Link NLRI (Link Name) for IPv4 and IPv6 next hops;
//   B (AS 65020) peers over IPv4 and announces reports (IGP Metric).
// gobgpd re-advertises each side's routes to the other, so A and B also
// receive GoBGP's own encoding. tshark captures the LAN bridge.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { FixtureLs, FixtureNlri, FixtureNode } from '../../bgpls/helpers.ts';
import type { LsItemSpec, LsSpeakerSpec } from '../bin/ls-speaker.ts';
import { Capture } from './bfd-daemons.ts';
import { nsRun } from './daemons.ts';
import { JsonLinesChild } from './json-child.ts';
import { Lan, type Member, waitFor } from './netns.ts';

export type { LsItemSpec } from '../bin/ls-speaker.ts';

const PROGRAM = new URL('../bin/ls-speaker.ts', import.meta.url).pathname;
const PATHS = new URL('../bin/gobgp-ls-paths.ts', import.meta.url).pathname;

/** One BGP-LS path as gobgpd parsed it (its gRPC ListPath; test/interop/bin/gobgp-ls-paths.ts). */
export interface GoBgpLsPath {
  prefix: string;
  nlriType: number;
  nlriMessage: string;
  protocolId: number;
  identifier: string;
  local: { asn: number; bgpLsId: number; bgpRouterId: string; igpRouterId: string };
  remote?: { asn: number; bgpLsId: number; bgpRouterId: string; igpRouterId: string };
  link?: Record<string, string>;
  linkName?: string;
  igpMetric?: number;
  nextHops?: string[];
}

export interface LsEvent {
  event: string;
  peer?: string;
  [k: string]: unknown;
}

type LsCommand =
  | { cmd: 'withdraw' | 'announce'; peer: string; items: LsItemSpec[] }
  | { cmd: 'exit' };

/** The ls-speaker process in a member namespace, with its events. */
export class LsSpeaker extends JsonLinesChild<LsEvent, LsCommand> {
  constructor(lan: Lan, member: Member, name: string, spec: LsSpeakerSpec) {
    super(PROGRAM, lan, member, name, spec);
  }
}

export const GOBGP = { as: 65000, v4: '192.0.2.1', v6: '2001:db8::1' };
export const A = { as: 65010, v4: '192.0.2.10', v6: '2001:db8::10' };
export const B = { as: 65020, v4: '192.0.2.20', v6: '2001:db8::20' };
const API = 50051;

function half(
  from: { as: number; v4: string },
  to: { as: number; v4: string },
  localAddress: string,
  nextHop: string,
  instanceId = '0',
): LsItemSpec['halfLink'] {
  return {
    instanceId,
    local: { asn: from.as, routerId: from.v4 },
    remote: { asn: to.as, routerId: to.v4 },
    localAddress,
    nextHop,
  };
}

/** A's requests over its IPv4 session: an IPv4 next hop of B and one of a 4-octet-ASN client. */
export const REQUESTS_V4: LsItemSpec[] = [
  { halfLink: half(A, B, A.v4, B.v4), name: 'AS65020 b' },
  {
    halfLink: half(A, { as: 4200000030, v4: '192.0.2.30' }, A.v4, '192.0.2.30', '42'),
    name: 'AS4200000030 c',
  },
];
/** A's request over its IPv6 session: B's IPv6 next hop. */
export const REQUESTS_V6: LsItemSpec[] = [
  { halfLink: half(A, B, A.v6, B.v6), name: 'AS65020 b (IPv6)' },
];
/** B's reports: A's IPv4 next hop unreachable, A's IPv6 next hop reachable. */
export const REPORTS: LsItemSpec[] = [
  { halfLink: half(B, A, B.v4, A.v4), state: 'unreachable' },
  { halfLink: half(B, A, B.v6, A.v6), state: 'reachable' },
];

function gobgpConfig(): string {
  const l = [
    '[global.config]',
    `  as = ${GOBGP.as}`,
    `  router-id = "${GOBGP.v4}"`,
    '  port = 179',
    `  local-address-list = ["${GOBGP.v4}", "${GOBGP.v6}"]`,
  ];
  for (const [addr, as] of [
    [A.v4, A.as],
    [A.v6, A.as],
    [B.v4, B.as],
  ] as const) {
    l.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${addr}"`,
      `    peer-as = ${as}`,
      '  [neighbors.transport.config]',
      '    passive-mode = true',
      '  [neighbors.timers.config]',
      '    connect-retry = 2',
      '    idle-hold-time-after-reset = 1',
      '  [[neighbors.afi-safis]]',
      '    [neighbors.afi-safis.config]',
      '      afi-safi-name = "ls"',
    );
  }
  return `${l.join('\n')}\n`;
}

export interface LsLab {
  lan: Lan;
  pcap: string;
  a: LsSpeaker;
  b: LsSpeaker;
  gobgp(args: string[]): Promise<string>;
  /** BGP-LS paths as gobgpd parsed them: a neighbor's Adj-RIB-In, or 'global'. */
  gobgpPaths(neighbor: string): Promise<GoBgpLsPath[]>;
  /** Stops the capture (file complete) and everything else. */
  stopCapture(): Promise<void>;
  destroy(): void;
}

/** Builds the lab and waits until every session is Established. */
export async function startLsLab(): Promise<LsLab> {
  const lan = new Lan('ixb-ls');
  try {
    const g = lan.add({ name: 'gobgp', v4: `${GOBGP.v4}/24`, v6: `${GOBGP.v6}/64` });
    const ma = lan.add({ name: 'a', v4: `${A.v4}/24`, v6: `${A.v6}/64` });
    const mb = lan.add({ name: 'b', v4: `${B.v4}/24`, v6: `${B.v6}/64` });
    const pcap = `${lan.logDir}/lan.pcap`;
    const capture = new Capture(lan, lan.switchNs, pcap, 'br0', 'tshark', 'tcp port 179');
    await capture.ready();
    const conf = `${lan.logDir}/gobgpd.toml`;
    writeFileSync(conf, gobgpConfig());
    lan.spawnIn(
      g.ns,
      'gobgpd',
      [
        '-f',
        conf,
        '-t',
        'toml',
        '--api-hosts',
        `127.0.0.1:${API}`,
        '--pprof-disable',
        '-l',
        'info',
      ],
      'gobgpd',
    );
    const gobgp = (args: string[]) =>
      nsRun(g.ns, 'gobgp', ['-u', '127.0.0.1', '-p', String(API), ...args]);
    await waitFor('gobgp answers', () => gobgp(['global']).then(() => true));
    const a = new LsSpeaker(lan, ma, 'ls-a', {
      peers: [
        {
          localAs: A.as,
          routerId: A.v4,
          peerAddress: GOBGP.v4,
          peerAs: GOBGP.as,
          localAddress: A.v4,
          announce: REQUESTS_V4,
        },
        {
          localAs: A.as,
          routerId: A.v4,
          peerAddress: GOBGP.v6,
          peerAs: GOBGP.as,
          localAddress: A.v6,
          announce: REQUESTS_V6,
        },
      ],
    });
    const b = new LsSpeaker(lan, mb, 'ls-b', {
      peers: [
        {
          localAs: B.as,
          routerId: B.v4,
          peerAddress: GOBGP.v4,
          peerAs: GOBGP.as,
          localAddress: B.v4,
          announce: REPORTS,
        },
      ],
    });
    for (const [s, peer] of [
      [a, GOBGP.v4],
      [a, GOBGP.v6],
      [b, GOBGP.v4],
    ] as const) {
      await s.waitEvent(
        `established with ${peer}`,
        (e) => e.event === 'established' && e.peer === peer,
      );
    }
    return {
      lan,
      pcap,
      a,
      b,
      gobgp,
      async gobgpPaths(neighbor: string) {
        const out = await nsRun(g.ns, process.execPath, [PATHS, String(API), neighbor]);
        return JSON.parse(out) as GoBgpLsPath[];
      },
      stopCapture: () => capture.stop(),
      destroy() {
        lan.destroy();
      },
    };
  } catch (err) {
    lan.destroy();
    throw err;
  }
}

// ------------------------------------------------------------------ tshark

/** tshark's decode of one BGP-LS UPDATE, in the fixture shape (test/bgpls/helpers.ts). */
export interface TsharkLs extends FixtureLs {
  /** tshark flagged the message malformed or with an expert error. */
  malformed: boolean;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function isObj(j: Json | undefined): j is Obj {
  return typeof j === 'object' && j !== null && !Array.isArray(j);
}

function list(j: Json | undefined): Obj[] {
  if (j === undefined) return [];
  return (Array.isArray(j) ? j : [j]).filter(isObj);
}

function str(j: Json | undefined): string | undefined {
  return typeof j === 'string' ? j : undefined;
}

function num(j: Json | undefined): number | undefined {
  const s = str(j);
  return s === undefined ? undefined : Number(s);
}

function tsNode(o: Obj | undefined): FixtureNode | undefined {
  if (o === undefined) return undefined;
  const n: FixtureNode = {};
  const as = list(o['bgp.ls.tlv.autonomous_system'])[0];
  if (as) n.asn = num(as['bgp.ls.tlv.autonomous_system.id']);
  const id = list(o['bgp.ls.tlv.bgp_ls_identifier'])[0];
  if (id) n.bgpLsId = num(id['bgp.ls.tlv.bgp_ls_identifier_id']);
  const area = list(o['bgp.ls.tlv.area_id'])[0];
  if (area) n.ospfArea = num(area['bgp.ls.tlv.area_id.id']);
  const rid = list(o['bgp.ls.tlv.bgp_router_id'])[0];
  if (rid) n.bgpRouterId = str(rid['bgp.ls.tlv.bgp_router_id.id']);
  return n;
}

const LINK_FIELDS: Record<string, [string, string]> = {
  ipv4Interface: ['bgp.ls.tlv.ipv4_interface_address', 'bgp.ls.nlri_ipv4_interface_address'],
  ipv4Neighbor: ['bgp.ls.tlv.ipv4_neighbor_address', 'bgp.ls.nlri_ipv4_neighbor_address'],
  ipv6Interface: ['bgp.ls.tlv.ipv6_interface_address', 'bgp.ls.nlri_ipv6_interface_address'],
  ipv6Neighbor: ['bgp.ls.tlv.ipv6_neighbor_address', 'bgp.ls.nlri_ipv6_neighbor_address'],
};

function tsNlri(o: Obj): FixtureNlri {
  const n: FixtureNlri = { nlriType: num(o['bgp.ls.nlri_type']) ?? -1 };
  const body = list(o['bgp.ls.nlri_link'])[0] ?? list(o['bgp.ls.nlri_node'])[0];
  if (!body) return n;
  n.protocolId = num(body['bgp.ls.nlri_node.protocol_id']);
  n.identifier = str(body['bgp.ls.nlri_node.identifier']);
  n.local = tsNode(list(body['bgp.ls.tlv.local_node_descriptors'])[0]);
  const remote = tsNode(list(body['bgp.ls.tlv.remote_node_descriptors'])[0]);
  if (remote) n.remote = remote;
  const ld = list(body['bgp.ls.nlri_link_descriptors_tlv'])[0];
  if (ld) {
    n.link = {};
    for (const [k, [tlv, field]] of Object.entries(LINK_FIELDS)) {
      const t = list(ld[tlv])[0];
      const v = t ? str(t[field]) : undefined;
      if (v !== undefined) n.link[k] = v;
    }
  }
  return n;
}

function containsKey(j: Json | undefined, re: RegExp): boolean {
  if (Array.isArray(j)) return j.some((x) => containsKey(x, re));
  if (!isObj(j)) return false;
  return Object.entries(j).some(([k, v]) => re.test(k) || containsKey(v, re));
}

/** Normalises the `bgp` layer of tshark's JSON for one BGP-LS UPDATE. */
export function tsharkLsOf(bgp: Obj, malformed: boolean): TsharkLs {
  const out: TsharkLs = { announced: [], withdrawn: [], attribute: null, malformed };
  const attrs = list(list(bgp['bgp.update.path_attributes'])[0]?.['bgp.update.path_attribute']);
  for (const a of attrs) {
    const type = num(a['bgp.update.path_attribute.type_code']);
    if (type === 14) {
      const nh = list(a['bgp.update.path_attribute.mp_reach_nlri.next_hop_tree'])[0];
      const v =
        str(nh?.['bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4']) ??
        str(nh?.['bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6']);
      if (v !== undefined) out.nextHop = v;
      const field = list(a['bgp.update.path_attribute.mp_reach_nlri'])[0];
      for (const n of list(field?.['bgp.ls.nlri'])) out.announced.push(tsNlri(n));
    } else if (type === 15) {
      const field = list(a['bgp.update.path_attribute.mp_unreach_nlri'])[0];
      for (const n of list(field?.['bgp.ls.nlri'])) out.withdrawn.push(tsNlri(n));
    } else if (type === 29) {
      const ls = list(a['bgp.update.path_attribute.link_state'])[0] ?? {};
      const attr: { igpMetric?: number; linkName?: string } = {};
      const m = list(ls['bgp.ls.tlv.metric'])[0];
      if (m) attr.igpMetric = num(m['bgp.ls.tlv.metric_value']);
      const name = list(ls['bgp.ls.tlv.link_name_attribute'])[0];
      if (name) attr.linkName = str(name['bgp.ls.tlv.link_name_attribute_value']);
      out.attribute = attr;
    }
  }
  return out;
}

/**
 * tshark's decode of one BGP message on its own: the bytes wrapped in a
 * TCP/179 packet by text2pcap, dissected with -T json.
 */
export function tsharkDecodeMessage(bytes: Uint8Array, dir: string): TsharkLs {
  const txt = `${dir}/msg.txt`;
  const pcap = `${dir}/msg.pcap`;
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const chunk = [...bytes.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, '0'));
    lines.push(`${i.toString(16).padStart(6, '0')} ${chunk.join(' ')}`);
  }
  writeFileSync(txt, `${lines.join('\n')}\n`);
  execFileSync('text2pcap', ['-q', '-T', '40179,179', txt, pcap], { stdio: 'ignore' });
  const j = JSON.parse(
    execFileSync('tshark', ['-r', pcap, '-T', 'json', '-J', 'bgp _ws', '--no-duplicate-keys'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as { _source: { layers: Obj } }[];
  const layers = j[0]?._source.layers ?? {};
  const bgp = list(layers.bgp)[0] ?? {};
  const malformed =
    containsKey(layers as Json, /^_ws\.malformed/) || containsKey(layers as Json, /^_ws\.expert/);
  return tsharkLsOf(bgp, malformed);
}
