// BGP-LS codec (RFC 9552, RFC 9086), public API: everything above the codec
// (the route server's reachability sessions, the companion agent) imports from
// here. Pure: bytes and decoded src/bgp UpdateMessages in, typed values out;
// the only error thrown is BgpLsError. See src/bgpls/README.md.
//
//   types.ts      LsNlri (node | link | opaque), NodeDescriptor, LinkDescriptor,
//                 LsAttribute, LsProblem (RFC 9552 §8.2.2), BgpLsError, code points
//   nlri.ts       encodeNlri, decodeNlri, decodeNlriField, nlriKey, compareTlv
//   attribute.ts  encodeLsAttribute, decodeLsAttribute (path attribute 29 value)
//   update.ts     decodeLsUpdate, buildLsUpdates, encodeLsUpdates (through src/bgp)
//   rsbfd.ts      the RS-BFD profile: half-link NLRI, requests, reports, keys

export { decodeLsAttribute, encodeLsAttribute } from './attribute.ts';
export { compareTlv, decodeNlri, decodeNlriField, encodeNlri, nlriKey } from './nlri.ts';
export {
  type HalfLink,
  halfLinkKey,
  halfLinkNlri,
  METRIC_REACHABLE,
  METRIC_UNREACHABLE,
  type Parsed,
  type ParseOptions,
  parseHalfLink,
  parseReport,
  parseRequest,
  type ReachState,
  type Report,
  type Request,
  type RsBfdNode,
  reportItem,
  requestItem,
} from './rsbfd.ts';
export {
  AFI_BGPLS,
  BgpLsError,
  type LinkDescriptor,
  type LinkNlri,
  type LsAttribute,
  type LsNlri,
  type LsProblem,
  NLRI_TYPE,
  type NodeDescriptor,
  type NodeNlri,
  type OpaqueNlri,
  PROTOCOL,
  SAFI_BGPLS,
  TLV,
  type Tlv,
} from './types.ts';
export {
  buildLsUpdates,
  decodeLsUpdate,
  encodeLsUpdates,
  type LsUpdate,
  type LsUpdateParams,
} from './update.ts';
