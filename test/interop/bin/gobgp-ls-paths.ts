// What gobgpd itself parsed of BGP-LS paths, through its gRPC API: GoBGP
// 3.10's CLI cannot show an LS path's descriptors (`adj-in -a ls -j` prints
// "nlri": null, the text form panics), but ListPath returns them. A minimal
// gRPC client over node:http2 with a hand-rolled protobuf reader for the few
// messages involved (field numbers from gobgp v3.10 api/gobgp.proto and
// api/attribute.proto). Runs inside gobgpd's namespace:
//
//   node test/interop/bin/gobgp-ls-paths.ts PORT NEIGHBOR|global
//
// Prints one JSON array of paths: { prefix, protocolId, identifier (text),
// local, remote: { asn, bgpLsId, bgpRouterId, igpRouterId }, link: {
// ipv4Interface, ipv4Neighbor, ipv6Interface, ipv6Neighbor }, linkName,
// igpMetric, nextHops }.

import http2 from 'node:http2';

type Field = { n: number; wire: number; v: bigint | Uint8Array };

function varint(b: Uint8Array, p: { o: number }): bigint {
  let x = 0n;
  let shift = 0n;
  for (;;) {
    const c = b[p.o++];
    if (c === undefined) throw new Error('truncated varint');
    x |= BigInt(c & 0x7f) << shift;
    if ((c & 0x80) === 0) return x;
    shift += 7n;
  }
}

function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  const p = { o: 0 };
  while (p.o < b.length) {
    const key = Number(varint(b, p));
    const n = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ n, wire, v: varint(b, p) });
    else if (wire === 2) {
      const len = Number(varint(b, p));
      out.push({ n, wire, v: b.subarray(p.o, p.o + len) });
      p.o += len;
    } else if (wire === 5) {
      out.push({ n, wire, v: b.subarray(p.o, p.o + 4) });
      p.o += 4;
    } else if (wire === 1) {
      out.push({ n, wire, v: b.subarray(p.o, p.o + 8) });
      p.o += 8;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

function get(fs: Field[], n: number): Field['v'] | undefined {
  return fs.find((f) => f.n === n)?.v;
}
function all(fs: Field[], n: number): Field['v'][] {
  return fs.filter((f) => f.n === n).map((f) => f.v);
}
function bytes(v: Field['v'] | undefined): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}
function text(v: Field['v'] | undefined): string | undefined {
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : undefined;
}
function int(v: Field['v'] | undefined): number | undefined {
  return typeof v === 'bigint' ? Number(v) : undefined;
}

function any(v: Field['v'] | undefined): { type: string; value: Uint8Array } {
  const fs = fields(bytes(v));
  return { type: text(get(fs, 1)) ?? '', value: bytes(get(fs, 2)) };
}

function node(v: Field['v'] | undefined): Record<string, unknown> {
  const fs = fields(bytes(v));
  return {
    asn: int(get(fs, 1)) ?? 0,
    bgpLsId: int(get(fs, 2)) ?? 0,
    bgpRouterId: text(get(fs, 6)) ?? '',
    igpRouterId: text(get(fs, 5)) ?? '',
  };
}

function link(v: Field['v'] | undefined): Record<string, string> {
  const fs = fields(bytes(v));
  const out: Record<string, string> = {};
  for (const [k, n] of [
    ['ipv4Interface', 3],
    ['ipv4Neighbor', 4],
    ['ipv6Interface', 5],
    ['ipv6Neighbor', 6],
  ] as const) {
    const t = text(get(fs, n));
    if (t) out[k] = t;
  }
  return out;
}

function encodeVarint(x: number): number[] {
  const out: number[] = [];
  while (x > 0x7f) {
    out.push((x & 0x7f) | 0x80);
    x = Math.floor(x / 128);
  }
  out.push(x);
  return out;
}

function request(neighbor: string): Uint8Array {
  // ListPathRequest { table_type = 1; name = 2; family = 3 { afi = 1; safi = 2 } }
  const family = [0x08, ...encodeVarint(16388), 0x10, ...encodeVarint(71)];
  const name = [...new TextEncoder().encode(neighbor === 'global' ? '' : neighbor)];
  const body = [
    0x08,
    neighbor === 'global' ? 0 : 2, // GLOBAL or ADJ_IN
    ...(name.length > 0 ? [0x12, ...encodeVarint(name.length), ...name] : []),
    0x1a,
    ...encodeVarint(family.length),
    ...family,
  ];
  const frame = new Uint8Array(5 + body.length);
  new DataView(frame.buffer).setUint32(1, body.length);
  frame.set(body, 5);
  return frame;
}

async function listPath(port: number, neighbor: string): Promise<Uint8Array[]> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const data = await new Promise<Buffer>((resolve, reject) => {
      const req = client.request({
        ':method': 'POST',
        ':path': '/apipb.GobgpApi/ListPath',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('trailers', (t) => {
        if (t['grpc-status'] !== undefined && t['grpc-status'] !== '0') {
          reject(new Error(`grpc-status ${t['grpc-status']}: ${t['grpc-message']}`));
        }
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
      req.end(request(neighbor));
    });
    const msgs: Uint8Array[] = [];
    for (let o = 0; o + 5 <= data.length; ) {
      const len = data.readUInt32BE(o + 1);
      msgs.push(data.subarray(o + 5, o + 5 + len));
      o += 5 + len;
    }
    return msgs;
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const [port, neighbor] = process.argv.slice(2);
  if (!port || !neighbor) throw new Error('usage: gobgp-ls-paths.ts PORT NEIGHBOR|global');
  const out: Record<string, unknown>[] = [];
  for (const m of await listPath(Number(port), neighbor)) {
    const dest = fields(bytes(get(fields(m), 1)));
    const prefix = text(get(dest, 1));
    for (const pv of all(dest, 2)) {
      const path = fields(bytes(pv));
      const nlri = any(get(path, 1));
      const ls = fields(nlri.value); // LsAddrPrefix
      const inner = any(get(ls, 2));
      const body = fields(inner.value); // LsLinkNLRI or LsNodeNLRI
      const view: Record<string, unknown> = {
        prefix,
        nlriType: int(get(ls, 1)) ?? 0,
        nlriMessage: inner.type,
        protocolId: int(get(ls, 4)) ?? 0,
        identifier: (get(ls, 5) ?? 0n).toString(),
        local: node(get(body, 1)),
      };
      if (inner.type.endsWith('LsLinkNLRI')) {
        view.remote = node(get(body, 2));
        view.link = link(get(body, 3));
      }
      for (const a of all(path, 2).map(any)) {
        if (a.type.endsWith('.LsAttribute')) {
          const l = fields(bytes(get(fields(a.value), 2)));
          const name = text(get(l, 1));
          if (name) view.linkName = name;
          const metric = int(get(l, 8));
          if (metric !== undefined) view.igpMetric = metric;
        } else if (a.type.endsWith('.MpReachNLRIAttribute')) {
          view.nextHops = all(fields(a.value), 2).map(text);
        }
      }
      out.push(view);
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
