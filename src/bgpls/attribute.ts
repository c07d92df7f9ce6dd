// The BGP-LS attribute (path attribute 29, RFC 9552 §5.3): the value bytes
// that src/bgp keeps in PathAttributes.bgpLs. Pure, no I/O.
//
//   encodeLsAttribute(a)     LsAttribute -> value bytes, TLVs sorted by type
//   decodeLsAttribute(v)     value bytes -> LsAttribute; throws BgpLsError only
//
// Known TLVs: 1095 IGP Metric (1 to 3 octets; a 1-octet metric is 6 bits,
// RFC 9552 §5.3.2.4) and 1098 Link Name (1 to 255 octets, §5.3.2.7). Every
// other TLV is kept byte-exact in `unknown` and re-sent as received. Malformed
// (RFC 9552 §8.2.2): TLVs not filling the attribute exactly, a known TLV of a
// bad length, a known TLV twice.

import { BgpLsError, type LsAttribute, TLV, type Tlv } from './types.ts';

const S_ATTR = 'RFC 9552 §5.3';
const S_METRIC = 'RFC 9552 §5.3.2.4';
const S_NAME = 'RFC 9552 §5.3.2.7';
const S_FAULT = 'RFC 9552 §8.2.2';

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Decode the attribute 29 value. Throws BgpLsError, nothing else. */
export function decodeLsAttribute(v: Uint8Array): LsAttribute {
  const a: LsAttribute = {};
  let p = 0;
  let sawMetric = false;
  let sawName = false;
  while (p < v.length) {
    if (p + 4 > v.length) {
      throw new BgpLsError(
        `BGP-LS attribute: ${v.length - p} stray octets after the last TLV`,
        S_FAULT,
      );
    }
    const type = (v[p]! << 8) | v[p + 1]!;
    const len = (v[p + 2]! << 8) | v[p + 3]!;
    const s = p + 4;
    const e = s + len;
    if (e > v.length) {
      throw new BgpLsError(
        `BGP-LS attribute: TLV ${type} length ${len} overruns the attribute`,
        S_FAULT,
      );
    }
    if (type === TLV.IGP_METRIC) {
      if (sawMetric) throw new BgpLsError('BGP-LS attribute: IGP Metric twice', S_FAULT);
      sawMetric = true;
      if (len === 1) a.igpMetric = v[s]! & 0x3f;
      else if (len === 2) a.igpMetric = (v[s]! << 8) | v[s + 1]!;
      else if (len === 3) a.igpMetric = (v[s]! << 16) | (v[s + 1]! << 8) | v[s + 2]!;
      else throw new BgpLsError(`IGP Metric of ${len} octets, expected 1 to 3`, S_METRIC);
      a.igpMetricLength = len;
    } else if (type === TLV.LINK_NAME) {
      if (sawName) throw new BgpLsError('BGP-LS attribute: Link Name twice', S_FAULT);
      sawName = true;
      if (len < 1 || len > 255) {
        throw new BgpLsError(`Link Name of ${len} octets, expected 1 to 255`, S_NAME);
      }
      a.linkName = utf8.decode(v.subarray(s, e));
    } else (a.unknown ??= []).push({ type, value: v.slice(s, e) });
    p = e;
  }
  return a;
}

/** Encode an attribute 29 value, TLVs by ascending type. Throws BgpLsError on unsendable values. */
export function encodeLsAttribute(a: LsAttribute): Uint8Array {
  const list: Tlv[] = [];
  if (a.igpMetric !== undefined) {
    const len = a.igpMetricLength ?? 3;
    const max = len === 1 ? 0x3f : len === 2 ? 0xffff : 0xffffff;
    const m = a.igpMetric;
    if (!Number.isInteger(m) || m < 0 || m > max || ![1, 2, 3].includes(len)) {
      throw new BgpLsError(`IGP Metric ${m} does not fit ${len} octets`, S_METRIC);
    }
    const v = new Uint8Array(len);
    for (let i = 0; i < len; i++) v[i] = (m >> (8 * (len - 1 - i))) & 0xff;
    list.push({ type: TLV.IGP_METRIC, value: v });
  }
  if (a.linkName !== undefined) {
    const v = utf8Encoder.encode(a.linkName);
    if (v.length < 1 || v.length > 255) {
      throw new BgpLsError(`Link Name of ${v.length} octets, expected 1 to 255`, S_NAME);
    }
    list.push({ type: TLV.LINK_NAME, value: v });
  }
  for (const u of a.unknown ?? []) list.push(u);
  list.sort((x, y) => x.type - y.type);
  let n = 0;
  for (const t of list) {
    if (t.value.length > 0xffff) throw new BgpLsError(`TLV ${t.type} value too long`, S_ATTR);
    n += 4 + t.value.length;
  }
  const out = new Uint8Array(n);
  let p = 0;
  for (const t of list) {
    out[p] = t.type >> 8;
    out[p + 1] = t.type & 0xff;
    out[p + 2] = t.value.length >> 8;
    out[p + 3] = t.value.length & 0xff;
    out.set(t.value, p + 4);
    p += 4 + t.value.length;
  }
  return out;
}
