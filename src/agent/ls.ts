// What the agent needs of a BGP-LS codec (RFC 9552, the Link NLRI of
// docs/rs-bfd-profile.md §4): decode the route server's requests, encode our
// reports. The RS side (encode requests, decode reports) is here too so that
// tests can script a route server with the same codec.
//
// The codec itself lives in src/bgpls/ (rsbfd.ts); bgpls-codec.ts adapts it.

import type { CodecOptions, UpdateMessage } from '../bgp/types.ts';
import type { CheckLink, Report } from './core.ts';

/** Links announced and withdrawn by one UPDATE, and whether it was an End-of-RIB. */
export interface LsDecoded<T> {
  announced: T[];
  withdrawn: CheckLink[];
  endOfRib: boolean;
  /** Problems with parts of the message (logged; the rest is used). */
  errors: string[];
}

export interface ReportItem {
  link: CheckLink;
  /** A report, or null to withdraw it. */
  state: Report | null;
}

export interface LsEncodeOptions {
  /** The session's codec options (4-octet AS, extended messages). */
  codec: CodecOptions;
  /** Our address on the session, for the MP_REACH next hop. */
  nextHop: string;
  /** Our AS: AS_PATH [localAs] on an external session (absent: empty AS_PATH). */
  localAs?: number;
}

export interface LsCodec {
  /** Agent side: the requests in one UPDATE from the route server. Never throws. */
  decodeRequests(u: UpdateMessage): LsDecoded<CheckLink>;
  /** Agent side: BGP UPDATE messages (whole, with header) carrying these reports. */
  encodeReports(items: readonly ReportItem[], o: LsEncodeOptions): Uint8Array[];
  /** RS side: UPDATE messages announcing and withdrawing requests. */
  encodeRequests(
    announce: readonly CheckLink[],
    withdraw: readonly CheckLink[],
    o: LsEncodeOptions,
  ): Uint8Array[];
  /** RS side: the reports in one UPDATE from an agent. Never throws. */
  decodeReports(u: UpdateMessage): LsDecoded<{ link: CheckLink; state: Report }>;
}

/** An UPDATE that is the BGP-LS End-of-RIB marker (RFC 4724 §2: empty MP_UNREACH_NLRI). */
export function isLsEndOfRib(u: UpdateMessage): boolean {
  const m = u.mpUnreach;
  return (
    m !== null &&
    m.afi === 16388 &&
    m.safi === 71 &&
    m.nlri.length === 0 &&
    (m.raw?.length ?? 0) === 0 &&
    u.mpReach === null &&
    u.nlri.length === 0 &&
    u.withdrawn.length === 0
  );
}
