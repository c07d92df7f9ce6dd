// Summarise a V8 heap snapshot: self size and count per (type, name), biggest
// first. For the benchmark's --heap-snapshot; not part of the benchmark itself.
//   node bench/lib/heapsummary.ts FILE.heapsnapshot [top=30]

import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: heapsummary.ts FILE [top]');
const top = Number(process.argv[3] ?? 30);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const f = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const W = f.length;
const iType = f.indexOf('type');
const iName = f.indexOf('name');
const iSize = f.indexOf('self_size');
const iEdges = f.indexOf('edge_count');
const EW = snap.snapshot.meta.edge_fields.length;
const eTypes = snap.snapshot.meta.edge_types[0];
const propType = eTypes.indexOf('property');
const agg = new Map<string, { n: number; bytes: number }>();
let total = 0;
let e = 0;
for (let i = 0; i < snap.nodes.length; i += W) {
  const type = types[snap.nodes[i + iType]!]!;
  let name =
    type === 'object' || type === 'closure' || type === 'native'
      ? snap.strings[snap.nodes[i + iName]!]!
      : '';
  const ec = snap.nodes[i + iEdges]!;
  if (type === 'object' && name === 'Object') {
    // plain objects: named by their first property names
    const props: string[] = [];
    for (let k = 0; k < ec && props.length < 4; k++) {
      const at = e + k * EW;
      if (snap.edges[at] === propType) props.push(snap.strings[snap.edges[at + 1]!]!);
    }
    name = `{${props.join(',')}}`;
  }
  e += ec * EW;
  if (name.length > 60) name = `${name.slice(0, 57)}...`;
  const key = `${type} ${name}`;
  const size = snap.nodes[i + iSize]!;
  total += size;
  const a = agg.get(key) ?? { n: 0, bytes: 0 };
  a.n++;
  a.bytes += size;
  agg.set(key, a);
}
console.log(`total self size ${(total / 2 ** 20).toFixed(1)} MiB`);
for (const [k, v] of [...agg].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
  console.log(`${(v.bytes / 2 ** 20).toFixed(1).padStart(8)} MiB ${String(v.n).padStart(9)}  ${k}`);
}

// Internal arrays (V8 FixedArrays: element and property stores, hash tables)
// and strings, by what holds them: (holder type/name, edge name).
{
  const iTo = snap.snapshot.meta.edge_fields.indexOf('to_node');
  const iEName = snap.snapshot.meta.edge_fields.indexOf('name_or_index');
  const iEType = snap.snapshot.meta.edge_fields.indexOf('type');
  const byHolder = new Map<string, { n: number; bytes: number }>();
  const arrayType = types.indexOf('array');
  const consType = types.indexOf('concatenated string');
  const strType = types.indexOf('string');
  let edge = 0;
  const seen = new Uint8Array(snap.nodes.length / W);
  for (let i = 0; i < snap.nodes.length; i += W) {
    const ec = snap.nodes[i + iEdges]!;
    const holderType = types[snap.nodes[i + iType]!]!;
    let holder = snap.strings[snap.nodes[i + iName]!]!;
    if (holderType === 'object' && holder === 'Object') holder = 'plain object';
    if (holder.length > 40) holder = `${holder.slice(0, 37)}...`;
    for (let k = 0; k < ec; k++) {
      const at = edge + k * EW;
      const to = snap.edges[at + iTo]!;
      const t = snap.nodes[to + iType];
      if (t !== arrayType && t !== consType && t !== strType) continue;
      const idx = to / W;
      if (seen[idx]) continue;
      seen[idx] = 1;
      const et = eTypes[snap.edges[at + iEType]!];
      const en =
        et === 'element' || et === 'hidden' ? `[${et}]` : snap.strings[snap.edges[at + iEName]!];
      const key = `${types[t!]} <- ${holderType} ${holder} .${en}`;
      const a = byHolder.get(key) ?? { n: 0, bytes: 0 };
      a.n++;
      a.bytes += snap.nodes[to + iSize]!;
      byHolder.set(key, a);
    }
    edge += ec * EW;
  }
  console.log('\narrays and strings by first holder:');
  for (const [k, v] of [...byHolder].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
    console.log(
      `${(v.bytes / 2 ** 20).toFixed(1).padStart(8)} MiB ${String(v.n).padStart(9)}  ${k}`,
    );
  }
}

// JavaScript Array objects by what holds them (holder, property), with the
// size of their element stores: which field's arrays make the 'array' line.
{
  const iTo = snap.snapshot.meta.edge_fields.indexOf('to_node');
  const iEName = snap.snapshot.meta.edge_fields.indexOf('name_or_index');
  const iEType = snap.snapshot.meta.edge_fields.indexOf('type');
  const firstEdge = new Int32Array(snap.nodes.length / W + 1);
  for (let i = 0, e = 0; i < snap.nodes.length; i += W) {
    firstEdge[i / W] = e;
    e += snap.nodes[i + iEdges]! * EW;
  }
  const elementsOf = (node: number): number => {
    const ec = snap.nodes[node + iEdges]!;
    const e0 = firstEdge[node / W]!;
    for (let k = 0; k < ec; k++) {
      const at = e0 + k * EW;
      if (snap.strings[snap.edges[at + iEName]!] === 'elements')
        return snap.nodes[snap.edges[at + iTo]! + iSize]!;
    }
    return 0;
  };
  const byHolder = new Map<string, { n: number; bytes: number }>();
  const seen = new Uint8Array(snap.nodes.length / W);
  for (let i = 0; i < snap.nodes.length; i += W) {
    const holderType = types[snap.nodes[i + iType]!]!;
    let holder = snap.strings[snap.nodes[i + iName]!]!;
    if (holderType === 'object' && holder === 'Object') holder = 'plain object';
    if (holder.length > 40) holder = `${holder.slice(0, 37)}...`;
    const ec = snap.nodes[i + iEdges]!;
    const e0 = firstEdge[i / W]!;
    for (let k = 0; k < ec; k++) {
      const at = e0 + k * EW;
      const to = snap.edges[at + iTo]!;
      if (
        types[snap.nodes[to + iType]!] !== 'object' ||
        snap.strings[snap.nodes[to + iName]!] !== 'Array'
      )
        continue;
      if (seen[to / W]) continue;
      seen[to / W] = 1;
      const et = eTypes[snap.edges[at + iEType]!];
      const en =
        et === 'element' || et === 'hidden' ? `[${et}]` : snap.strings[snap.edges[at + iEName]!];
      const key = `Array <- ${holderType} ${holder} .${en}`;
      const a = byHolder.get(key) ?? { n: 0, bytes: 0 };
      a.n++;
      a.bytes += snap.nodes[to + iSize]! + elementsOf(to);
      byHolder.set(key, a);
    }
  }
  console.log('\nArray objects (with their elements) by first holder:');
  for (const [k, v] of [...byHolder].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
    console.log(
      `${(v.bytes / 2 ** 20).toFixed(1).padStart(8)} MiB ${String(v.n).padStart(9)}  ${k}`,
    );
  }
}
