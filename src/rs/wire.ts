// The real codec behind the packer's WireEncoder (src/bgp/codec.ts).

import { encodeEndOfRib, encodeRouteRefresh, encodeUpdates } from '../bgp/codec.ts';
import type { WireEncoder } from './packer.ts';

export const codecEncoder: WireEncoder = {
  encodeUpdates,
  encodeEndOfRib,
  encodeRouteRefresh: (afi, safi, subtype, opts) => encodeRouteRefresh(afi, safi, subtype, opts),
};
