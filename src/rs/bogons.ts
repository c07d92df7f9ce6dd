// Default bogon lists and the prefix-rule matcher used for bogons, the global
// black list, per-client black lists and IRR prefix allow-lists.
//
// A rule matches a prefix P when P lies inside the rule's network and P's length
// is within [ge, le]. Without ge/le, a rule matches the network and every more
// specific prefix ("or longer"), unless `exact` (then only the network itself).

import { formatPrefixText, type ParsedPrefix, parsePrefixText, sameBits } from '../config/net.ts';

export interface PrefixRule {
  /** Canonical "network/len". */
  prefix: string;
  /** Match only this exact prefix. */
  exact?: boolean;
  /** Inclusive bounds on the matched prefix's length. */
  ge?: number;
  le?: number;
  comment?: string;
}

/** IANA special-purpose and unallocated IPv4 space never valid in the DFZ. */
export const DEFAULT_BOGONS_IPV4: readonly PrefixRule[] = [
  { prefix: '0.0.0.0/0', exact: true, comment: 'default route' },
  { prefix: '0.0.0.0/8', comment: 'RFC 1122 "this network"' },
  { prefix: '10.0.0.0/8', comment: 'RFC 1918 private' },
  { prefix: '100.64.0.0/10', comment: 'RFC 6598 shared address space' },
  { prefix: '127.0.0.0/8', comment: 'RFC 1122 loopback' },
  { prefix: '169.254.0.0/16', comment: 'RFC 3927 link local' },
  { prefix: '172.16.0.0/12', comment: 'RFC 1918 private' },
  { prefix: '192.0.0.0/24', comment: 'RFC 6890 IETF protocol assignments' },
  { prefix: '192.0.2.0/24', comment: 'RFC 5737 TEST-NET-1' },
  { prefix: '192.168.0.0/16', comment: 'RFC 1918 private' },
  { prefix: '198.18.0.0/15', comment: 'RFC 2544 benchmarking' },
  { prefix: '198.51.100.0/24', comment: 'RFC 5737 TEST-NET-2' },
  { prefix: '203.0.113.0/24', comment: 'RFC 5737 TEST-NET-3' },
  { prefix: '224.0.0.0/4', comment: 'RFC 5771 multicast' },
  { prefix: '240.0.0.0/4', comment: 'RFC 1112 reserved, and limited broadcast' },
];

/** IPv6 special-purpose space. Space outside 2000::/3 is rejected separately (code 10). */
export const DEFAULT_BOGONS_IPV6: readonly PrefixRule[] = [
  { prefix: '::/0', exact: true, comment: 'default route' },
  { prefix: '::/8', comment: 'RFC 4291 loopback, unspecified, IPv4-mapped' },
  { prefix: '64:ff9b::/96', comment: 'RFC 6052 IPv4/IPv6 translation' },
  { prefix: '64:ff9b:1::/48', comment: 'RFC 8215 local-use IPv4/IPv6 translation' },
  { prefix: '100::/64', comment: 'RFC 6666 discard-only' },
  { prefix: '2001::/32', comment: 'RFC 4380 Teredo' },
  { prefix: '2001:2::/48', comment: 'RFC 5180 benchmarking' },
  { prefix: '2001:10::/28', comment: 'RFC 4843 ORCHID (deprecated)' },
  { prefix: '2001:20::/28', comment: 'RFC 7343 ORCHIDv2' },
  { prefix: '2001:db8::/32', comment: 'RFC 3849 documentation' },
  { prefix: '2002::/16', comment: 'RFC 3056 6to4' },
  { prefix: '3ffe::/16', comment: 'RFC 3701 former 6bone' },
  { prefix: '3fff::/20', comment: 'RFC 9637 documentation' },
  { prefix: '5f00::/16', comment: 'RFC 9602 SRv6 SIDs' },
  { prefix: 'fc00::/7', comment: 'RFC 4193 unique local' },
  { prefix: 'fe80::/10', comment: 'RFC 4291 link local' },
  { prefix: 'fec0::/10', comment: 'RFC 3879 site local (deprecated)' },
  { prefix: 'ff00::/8', comment: 'RFC 4291 multicast' },
];

export const DEFAULT_BOGONS: readonly PrefixRule[] = [
  ...DEFAULT_BOGONS_IPV4,
  ...DEFAULT_BOGONS_IPV6,
];

interface CompiledRule {
  net: ParsedPrefix;
  ge: number;
  le: number;
}

/**
 * A compiled set of prefix rules. Rules are bucketed by family and network
 * length, keyed by the network bytes, so a lookup costs one map probe per
 * distinct rule length rather than one comparison per rule.
 */
export class PrefixRuleSet {
  readonly size: number;
  private readonly v4: Map<number, Map<number | string, CompiledRule[]>> = new Map();
  private readonly v6: Map<number, Map<number | string, CompiledRule[]>> = new Map();
  private readonly v4Lens: number[];
  private readonly v6Lens: number[];

  constructor(rules: readonly PrefixRule[]) {
    this.size = rules.length;
    for (const r of rules) {
      const net = parsePrefixText(r.prefix, false);
      if (typeof net === 'string') throw new Error(`invalid prefix rule: ${net}`);
      const max = net.afi === 1 ? 32 : 128;
      const ge = r.exact ? net.len : (r.ge ?? net.len);
      const le = r.exact ? net.len : (r.le ?? max);
      const byLen = net.afi === 1 ? this.v4 : this.v6;
      let bucket = byLen.get(net.len);
      if (bucket === undefined) byLen.set(net.len, (bucket = new Map()));
      const key = keyOf(net.bytes, net.len);
      const list = bucket.get(key);
      if (list === undefined) bucket.set(key, [{ net, ge, le }]);
      else list.push({ net, ge, le });
    }
    this.v4Lens = [...this.v4.keys()].sort((a, b) => a - b);
    this.v6Lens = [...this.v6.keys()].sort((a, b) => a - b);
  }

  /** True when some rule matches the prefix. */
  matches(p: ParsedPrefix): boolean {
    if (this.size === 0) return false;
    const byLen = p.afi === 1 ? this.v4 : this.v6;
    const lens = p.afi === 1 ? this.v4Lens : this.v6Lens;
    for (const len of lens) {
      if (len > p.len) break;
      const list = byLen.get(len)!.get(keyOf(p.bytes, len));
      if (list === undefined) continue;
      for (const r of list) {
        if (p.len >= r.ge && p.len <= r.le && sameBits(r.net.bytes, p.bytes, len)) return true;
      }
    }
    return false;
  }
}

/** Key of the first `len` bits of `bytes`: a number for IPv4, a string for IPv6. */
function keyOf(bytes: Uint8Array, len: number): number | string {
  if (bytes.length === 4) {
    if (len === 0) return 0;
    const v = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    return (v & (0xffffffff << (32 - len))) >>> 0;
  }
  let s = '';
  const full = len >> 3;
  for (let i = 0; i < full; i++) s += String.fromCharCode(bytes[i]!);
  const rest = len & 7;
  if (rest !== 0) s += String.fromCharCode(bytes[full]! & ((0xff << (8 - rest)) & 0xff));
  return s;
}

/** Parse arouteserver's "192.0.2.0/24{24,32}" or "192.0.2.0/24" IRR prefix notation. */
export function parseRangedPrefix(text: string): PrefixRule | string {
  const m = /^([^{]+?)(?:\{(\d+),(\d+)\})?$/.exec(text.trim());
  if (m === null) return `'${text}' is not a prefix`;
  const p = parsePrefixText(m[1]!, true);
  if (typeof p === 'string') return p;
  const prefix = formatPrefixText(p);
  if (m[2] === undefined) return { prefix, exact: true };
  const ge = Number(m[2]);
  const le = Number(m[3]);
  const max = p.afi === 1 ? 32 : 128;
  if (ge < p.len || le < ge || le > max) {
    return `'${text}': range {${ge},${le}} must satisfy ${p.len} <= ge <= le <= ${max}`;
  }
  return { prefix, ge, le };
}
