// The route-server core's view of a client's next-hop information base (NHIB).
// A client's NHIB says, per next-hop address, whether the client reported it
// unreachable (rs-bfd-profile.md §5). Only `unreachable` excludes paths; unknown
// and reachable both mean "use it" (fail open, §7).

export interface NextHopOracle {
  /** True only when `clientId` reported `nextHop` (canonical address text) unreachable. */
  isUnreachable(clientId: string, nextHop: string): boolean;
}

/** The default: every next hop is reachable for every client (plain RFC 7947). */
export const alwaysReachable: NextHopOracle = {
  isUnreachable: () => false,
};

/** A small mutable oracle, for tests and for drivers without damping. */
export class StaticNextHopOracle implements NextHopOracle {
  private readonly down = new Map<string, Set<string>>();

  isUnreachable(clientId: string, nextHop: string): boolean {
    return this.down.get(clientId)?.has(nextHop) ?? false;
  }

  /** Marks (or clears) `nextHop` as unreachable for `clientId`. Returns true if that changed anything. */
  set(clientId: string, nextHop: string, unreachable: boolean): boolean {
    let s = this.down.get(clientId);
    if (unreachable) {
      if (s === undefined) this.down.set(clientId, (s = new Set()));
      if (s.has(nextHop)) return false;
      s.add(nextHop);
      return true;
    }
    if (s === undefined || !s.has(nextHop)) return false;
    s.delete(nextHop);
    return true;
  }
}
