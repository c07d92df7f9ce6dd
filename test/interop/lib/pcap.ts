// Reads a pcap of BGP sessions with tshark: reassembles each TCP stream
// direction, splits it into BGP messages (exact bytes), and pairs each message
// with what tshark decoded, normalised to the shapes of src/bgp/types.ts (an
// independent decoder, used as the expected values of byte fixtures).

import { execFileSync } from 'node:child_process';

export interface ExpectedNlri {
  prefix: string;
  pathId?: number;
}

export interface ExpectedCapability {
  kind: string;
  code: number;
  [k: string]: unknown;
}

export interface ExpectedAttrs {
  /** Attribute type codes in wire order (MP_REACH/MP_UNREACH included). */
  types: number[];
  origin?: number;
  asPath: { type: number; asns: number[] }[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  /** RFC 1997 communities as uint32, sorted. */
  communities?: number[];
  largeCommunities?: [number, number, number][];
}

export type Expected =
  | {
      type: 'open';
      version: number;
      myAs: number;
      holdTime: number;
      bgpId: string;
      capabilities: ExpectedCapability[];
    }
  | { type: 'keepalive' }
  | {
      type: 'notification';
      code: number;
      subcode: number;
      shutdownMessage?: string;
    }
  | { type: 'route-refresh'; afi: number; safi: number; subtype: number }
  | {
      type: 'update';
      withdrawn: ExpectedNlri[];
      nlri: ExpectedNlri[];
      attrs: ExpectedAttrs | null;
      mpReach: {
        afi: number;
        safi: number;
        nextHop: { global: string; linkLocal?: string };
        nlri: ExpectedNlri[];
      } | null;
      mpUnreach: { afi: number; safi: number; nlri: ExpectedNlri[] } | null;
    };

export interface FixtureOpts {
  as4: boolean;
  addPathRx: string[];
}

export interface TsharkMessage {
  stream: number;
  src: string;
  dst: string;
  bytes: Uint8Array;
  /** Codec options for decoding this message (from both OPENs of its session). */
  opts: FixtureOpts;
  expected: Expected;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function tshark(args: string[]): string {
  return execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

/** All (key, leaf value) pairs under a JSON node, in document order. */
function leaves(node: Json, out: [string, string][] = [], key = ''): [string, string][] {
  if (Array.isArray(node)) for (const x of node) leaves(x, out, key);
  else if (node !== null && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) leaves(v, out, k);
  else if (node !== null) out.push([key, String(node)]);
  return out;
}

/** Objects under node (node included) that have key `k`, outermost first. */
function objectsWith(
  node: Json,
  k: string,
  out: { [k: string]: Json }[] = [],
): { [k: string]: Json }[] {
  if (Array.isArray(node)) for (const x of node) objectsWith(x, k, out);
  else if (node !== null && typeof node === 'object') {
    if (k in node) {
      out.push(node);
      return out;
    }
    for (const v of Object.values(node)) objectsWith(v, k, out);
  }
  return out;
}

function first(l: [string, string][], re: RegExp): string | undefined {
  return l.find(([k]) => re.test(k))?.[1];
}

function all(l: [string, string][], re: RegExp): string[] {
  return l.filter(([k]) => re.test(k)).map(([, v]) => v);
}

function num(s: string | undefined): number {
  if (s === undefined) return Number.NaN;
  return s.startsWith('0x') ? Number.parseInt(s, 16) : Number(s);
}

function nlris(node: Json): ExpectedNlri[] {
  return objectsWith(node, 'bgp.prefix_length').map((o) => {
    const l = leaves(o);
    const len = first(l, /^bgp\.prefix_length$/);
    const addr = l.find(([k]) => /prefix$/.test(k) && k !== 'bgp.prefix_length')?.[1] ?? '';
    const pid = first(l, /path_id$/);
    const n: ExpectedNlri = { prefix: `${addr}/${len}` };
    if (pid !== undefined) n.pathId = num(pid);
    return n;
  });
}

function capability(o: { [k: string]: Json }): ExpectedCapability {
  const l = leaves(o);
  const code = num(first(l, /^bgp\.cap\.type$/));
  const length = num(first(l, /^bgp\.cap\.length$/));
  switch (code) {
    case 1:
      return {
        kind: 'multiprotocol',
        code,
        afi: num(first(l, /mp\.afi$/)),
        safi: num(first(l, /mp\.safi$/)),
      };
    case 2:
      return { kind: 'route-refresh', code };
    case 5: {
      const afis = all(l, /enh\.afi$/).map(num);
      const safis = all(l, /enh\.safi$/).map(num);
      const nh = all(l, /enh\.nhafi$/).map(num);
      return {
        kind: 'extended-next-hop',
        code,
        entries: afis.map((afi, i) => ({ afi, safi: safis[i], nextHopAfi: nh[i] })),
      };
    }
    case 6:
      return { kind: 'extended-message', code };
    case 64: {
      const afis = all(l, /gr\.afi$/).map(num);
      const safis = all(l, /gr\.safi$/).map(num);
      const fwd = all(l, /gr\.af\.flags$|gr\.flag\.pfs$|gr\.af\.fwd$/).map(num);
      return {
        kind: 'graceful-restart',
        code,
        restarting: first(l, /restart_flag$/) === '1',
        notification: first(l, /notification_flag$/) === '1',
        restartTime: num(first(l, /restart_time$/)),
        families: afis.map((afi, i) => ({
          afi,
          safi: safis[i],
          forwardingPreserved: ((fwd[i] ?? 0) & 0x80) !== 0 || fwd[i] === 1,
        })),
      };
    }
    case 65:
      return { kind: 'as4', code, asn: num(first(l, /4as$/)) };
    case 69: {
      const afis = all(l, /ap\.afi$/).map(num);
      const safis = all(l, /ap\.safi$/).map(num);
      const modes = all(l, /ap\.sendreceive$/).map(num);
      return {
        kind: 'add-path',
        code,
        entries: afis.map((afi, i) => ({ afi, safi: safis[i], mode: modes[i] })),
      };
    }
    case 70:
      return { kind: 'enhanced-route-refresh', code };
    default:
      return { kind: 'unknown', code, length };
  }
}

function attrsOf(pas: { [k: string]: Json }[]): ExpectedAttrs {
  const a: ExpectedAttrs = { types: [], asPath: [] };
  for (const o of pas) {
    const l = leaves(o);
    const t = num(first(l, /path_attribute\.type_code$/));
    a.types.push(t);
    switch (t) {
      case 1:
        a.origin = num(first(l, /\.origin$/));
        break;
      case 2:
        for (const seg of objectsWith(o, 'bgp.update.path_attribute.as_path_segment.type')) {
          const sl = leaves(seg);
          a.asPath.push({
            type: num(first(sl, /segment\.type$/)),
            asns: all(sl, /segment\.as[24]$/).map(num),
          });
        }
        break;
      case 3:
        a.nextHop = first(l, /\.next_hop$/);
        break;
      case 4:
        a.med = num(first(l, /multi_exit_disc$/));
        break;
      case 5:
        a.localPref = num(first(l, /local_pref$/));
        break;
      case 6:
        a.atomicAggregate = true;
        break;
      case 7:
        a.aggregator = {
          asn: num(first(l, /aggregator_as$/)),
          address: first(l, /aggregator_origin$/) ?? '',
        };
        break;
      case 8: {
        const as = all(l, /community_as$/).map(num);
        const vals = all(l, /community_value$/).map(num);
        const wk = all(l, /community_wellknown$/).map(num);
        a.communities = [...as.map((x, i) => x * 65536 + (vals[i] ?? 0)), ...wk].sort(
          (x, y) => x - y,
        );
        break;
      }
      case 32: {
        const ga = all(l, /large_communities\.ga$/).map(num);
        const l1 = all(l, /large_communities\.ldp1$/).map(num);
        const l2 = all(l, /large_communities\.ldp2$/).map(num);
        a.largeCommunities = ga.map((g, i) => [g, l1[i] ?? 0, l2[i] ?? 0]);
        break;
      }
    }
  }
  return a;
}

function expectedOf(b: { [k: string]: Json }): Expected {
  const l = leaves(b);
  const type = num(first(l, /^bgp\.type$/));
  switch (type) {
    case 1:
      return {
        type: 'open',
        version: num(first(l, /open\.version$/)),
        myAs: num(first(l, /open\.myas$/)),
        holdTime: num(first(l, /open\.holdtime$/)),
        bgpId: first(l, /open\.identifier$/) ?? '',
        capabilities: objectsWith(b, 'bgp.cap.type').map(capability),
      };
    case 2: {
      const pas = objectsWith(b, 'bgp.update.path_attribute.type_code');
      const reach = pas.find((o) => leaves(o).some(([k, v]) => /type_code$/.test(k) && v === '14'));
      const unreach = pas.find((o) =>
        leaves(o).some(([k, v]) => /type_code$/.test(k) && v === '15'),
      );
      const other = pas.filter((o) => o !== reach && o !== unreach);
      const attrs = pas.length ? attrsOf(pas) : null;
      const u: Expected = {
        type: 'update',
        withdrawn: nlris(b['bgp.update.withdrawn_routes'] ?? null),
        nlri: nlris(b['bgp.update.nlri'] ?? null),
        attrs: other.length || pas.length ? attrs : null,
        mpReach: null,
        mpUnreach: null,
      };
      if (reach) {
        const rl = leaves(reach);
        const nh: { global: string; linkLocal?: string } = {
          global:
            first(rl, /next_hop\.ipv6$|next_hop\.ipv4$/) ??
            first(rl, /mp_reach_nlri\.next_hop$/) ??
            '',
        };
        const ll = first(rl, /next_hop\.ipv6\.link_local$/);
        if (ll) nh.linkLocal = ll;
        u.mpReach = {
          afi: num(first(rl, /mp_reach_nlri\.afi$/)),
          safi: num(first(rl, /mp_reach_nlri\.safi$/)),
          nextHop: nh,
          nlri: nlris(reach),
        };
      }
      if (unreach) {
        const ul = leaves(unreach);
        u.mpUnreach = {
          afi: num(first(ul, /mp_unreach_nlri\.afi$/)),
          safi: num(first(ul, /mp_unreach_nlri\.safi$/)),
          nlri: nlris(unreach),
        };
      }
      return u;
    }
    case 3: {
      const n: Expected = {
        type: 'notification',
        code: num(first(l, /notify\.major_error$/)),
        subcode: num(first(l, /notify\.minor_/)),
      };
      const msg = first(l, /notify\.communication$|shutdown.*communication$|communication_string$/);
      if (msg !== undefined) n.shutdownMessage = msg;
      return n;
    }
    case 4:
      return { type: 'keepalive' };
    default:
      return {
        type: 'route-refresh',
        afi: num(first(l, /route_refresh\.afi$/)),
        safi: num(first(l, /route_refresh\.safi$/)),
        subtype: num(first(l, /route_refresh\.subtype$/) ?? '0'),
      };
  }
}

interface Seg {
  stream: number;
  src: string;
  dst: string;
  seq: number;
  payload: Buffer;
}

/** Splits reassembled stream bytes into BGP messages (drops a trailing partial one). */
export function splitMessages(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (buf.length - off >= 19) {
    const len = (buf[off + 16]! << 8) | buf[off + 17]!;
    if (len < 19 || buf.length - off < len) break;
    out.push(buf.slice(off, off + len));
    off += len;
  }
  return out;
}

export function tsharkMessages(pcap: string): TsharkMessage[] {
  // 1. Raw bytes: TCP payloads per stream direction, ordered by sequence number,
  //    retransmissions dropped.
  const rows = tshark([
    '-r',
    pcap,
    '-Y',
    'tcp.len > 0',
    '-T',
    'fields',
    '-E',
    'separator=\t',
    '-e',
    'tcp.stream',
    '-e',
    'ip.src',
    '-e',
    'ipv6.src',
    '-e',
    'ip.dst',
    '-e',
    'ipv6.dst',
    '-e',
    'tcp.seq_raw',
    '-e',
    'tcp.payload',
  ]);
  const dirs = new Map<string, Seg[]>();
  for (const line of rows.split('\n')) {
    const [stream, s4, s6, d4, d6, seq, payload] = line.split('\t');
    if (!payload) continue;
    const seg: Seg = {
      stream: Number(stream),
      src: s4 || s6 || '',
      dst: d4 || d6 || '',
      seq: Number(seq),
      payload: Buffer.from(payload.replace(/:/g, ''), 'hex'),
    };
    const k = `${seg.stream} ${seg.src}`;
    const list = dirs.get(k) ?? [];
    list.push(seg);
    dirs.set(k, list);
  }
  const raw = new Map<string, { src: string; dst: string; stream: number; msgs: Uint8Array[] }>();
  for (const [k, segs] of dirs) {
    const base = segs[0]?.seq ?? 0;
    const parts: Buffer[] = [];
    let next = 0;
    for (const s of [...segs].sort((a, b) => ((a.seq - base) >>> 0) - ((b.seq - base) >>> 0))) {
      const rel = (s.seq - base) >>> 0;
      if (rel + s.payload.length <= next) continue; // retransmission
      parts.push(s.payload.subarray(Math.max(0, next - rel)));
      next = rel + s.payload.length;
    }
    const s0 = segs[0] as Seg;
    raw.set(k, {
      src: s0.src,
      dst: s0.dst,
      stream: s0.stream,
      msgs: splitMessages(Buffer.concat(parts)),
    });
  }

  // 2. tshark's decode of every BGP PDU, in frame order.
  const j = JSON.parse(
    tshark(['-r', pcap, '-Y', 'bgp', '-T', 'json', '-J', 'ip ipv6 tcp bgp', '--no-duplicate-keys']),
  ) as { _source: { layers: { [k: string]: Json } } }[];
  const decoded = new Map<string, Expected[]>();
  for (const pkt of j) {
    const layers = pkt._source.layers;
    const lt = leaves(layers.tcp ?? null);
    const stream = first(lt, /^tcp\.stream$/);
    const src =
      first(leaves(layers.ip ?? null), /^ip\.src$/) ??
      first(leaves(layers.ipv6 ?? null), /^ipv6\.src$/);
    const bgp = layers.bgp;
    const pdus = Array.isArray(bgp) ? bgp : [bgp];
    const k = `${stream} ${src}`;
    const list = decoded.get(k) ?? [];
    for (const b of pdus)
      if (b && typeof b === 'object' && !Array.isArray(b)) list.push(expectedOf(b));
    decoded.set(k, list);
  }

  // 3. Codec options per session, from the two OPENs.
  const opens = new Map<string, Extract<Expected, { type: 'open' }>>();
  for (const [k, list] of decoded) {
    const o = list.find((e) => e.type === 'open');
    if (o && o.type === 'open') opens.set(k, o);
  }
  const out: TsharkMessage[] = [];
  for (const [k, r] of raw) {
    const exp = decoded.get(k) ?? [];
    const sent = opens.get(k);
    const recv = opens.get(`${r.stream} ${r.dst}`);
    const cap = (o: typeof sent, kind: string) =>
      o?.capabilities.filter((c) => c.kind === kind) ?? [];
    const as4 = cap(sent, 'as4').length > 0 && cap(recv, 'as4').length > 0;
    const addPathRx: string[] = [];
    for (const c of cap(sent, 'add-path')) {
      for (const e of c.entries as { afi: number; safi: number; mode: number }[]) {
        if (!(e.mode & 2)) continue;
        const peer = cap(recv, 'add-path').flatMap(
          (x) => x.entries as { afi: number; safi: number; mode: number }[],
        );
        if (peer.some((p) => p.afi === e.afi && p.safi === e.safi && p.mode & 1))
          addPathRx.push(`${e.afi}/${e.safi}`);
      }
    }
    if (exp.length !== r.msgs.length) {
      console.warn(
        `pcap: stream ${k}: ${r.msgs.length} messages, tshark decoded ${exp.length}; skipped`,
      );
      continue;
    }
    const TYPES = ['', 'open', 'update', 'notification', 'keepalive', 'route-refresh'];
    if (r.msgs.some((m, i) => TYPES[m[18] ?? 0] !== exp[i]?.type)) {
      console.warn(`pcap: stream ${k}: message types differ from tshark's; skipped`);
      continue;
    }
    r.msgs.forEach((bytes, i) => {
      const e = exp[i] as Expected;
      out.push({
        stream: r.stream,
        src: r.src,
        dst: r.dst,
        bytes,
        opts: { as4, addPathRx },
        expected: e,
      });
    });
  }
  return out;
}
