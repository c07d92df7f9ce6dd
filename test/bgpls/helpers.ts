// Shared helpers of the BGP-LS tests.

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Hex text (whitespace ignored) to bytes. */
export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

import type { LsNlri, LsUpdate, NodeDescriptor } from '../../src/bgpls/codec.ts';

/** A node descriptor in the shape of fixtures/bgpls (what tshark shows of it). */
export interface FixtureNode {
  asn?: number;
  bgpLsId?: number;
  ospfArea?: number;
  bgpRouterId?: string;
}

export interface FixtureNlri {
  nlriType: number;
  protocolId?: number;
  identifier?: string;
  local?: FixtureNode;
  remote?: FixtureNode;
  link?: Record<string, string>;
}

/** A BGP-LS UPDATE in the shape of fixtures/bgpls/*.json `expected` (tshark's decode). */
export interface FixtureLs {
  nextHop?: string;
  announced: FixtureNlri[];
  withdrawn: FixtureNlri[];
  attribute: { igpMetric?: number; linkName?: string } | null;
}

function node(d: NodeDescriptor): FixtureNode {
  const n: FixtureNode = {};
  if (d.asn !== undefined) n.asn = d.asn;
  if (d.bgpLsId !== undefined) n.bgpLsId = d.bgpLsId;
  if (d.ospfArea !== undefined) n.ospfArea = d.ospfArea;
  if (d.bgpRouterId !== undefined) n.bgpRouterId = d.bgpRouterId;
  return n;
}

function nlri(x: LsNlri): FixtureNlri {
  if (x.kind === 'opaque') return { nlriType: x.nlriType };
  const n: FixtureNlri = {
    nlriType: x.kind === 'node' ? 1 : 2,
    protocolId: x.protocolId,
    identifier: x.identifier.toString(),
    local: node(x.local),
  };
  if (x.kind === 'link') {
    n.remote = node(x.remote);
    const link: Record<string, string> = {};
    for (const k of ['ipv4Interface', 'ipv4Neighbor', 'ipv6Interface', 'ipv6Neighbor'] as const) {
      const v = x.link[k];
      if (v !== undefined) link[k] = v;
    }
    n.link = link;
  }
  return n;
}

/** Our decode of a BGP-LS UPDATE in the fixture shape, to compare with tshark's. */
export function lsAsFixture(ls: LsUpdate): FixtureLs {
  const out: FixtureLs = {
    announced: ls.announced.map(nlri),
    withdrawn: ls.withdrawn.map(nlri),
    attribute: null,
  };
  if (ls.nextHop !== '') out.nextHop = ls.nextHop;
  if (ls.attribute !== null) {
    const a: { igpMetric?: number; linkName?: string } = {};
    if (ls.attribute.igpMetric !== undefined) a.igpMetric = ls.attribute.igpMetric;
    if (ls.attribute.linkName !== undefined) a.linkName = ls.attribute.linkName;
    out.attribute = a;
  }
  return out;
}
