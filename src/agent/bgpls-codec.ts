// The agent's BGP-LS codec: src/bgpls (RFC 9552, the Link NLRI of
// docs/rs-bfd-profile.md §4) behind the LsCodec interface of ls.ts.
//
// Placeholder until src/bgpls is merged: every call throws.

import type { LsCodec } from './ls.ts';

function missing(): never {
  throw new Error('the BGP-LS codec (src/bgpls) is not in this build yet');
}

export const bgplsCodec: LsCodec = {
  decodeRequests: missing,
  encodeReports: missing,
  encodeRequests: missing,
  decodeReports: missing,
};
