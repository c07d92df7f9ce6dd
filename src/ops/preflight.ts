// Checks of a configuration against the host, before anything binds: a client
// whose address no listener can accept (it could never reach the route
// server), a local address that is not on this host.

import { networkInterfaces } from 'node:os';
import { canonicalIp, parseIp, sameBits } from '../config/net.ts';
import type { ListenAddress, RsConfig } from '../config/types.ts';

/** One address of this host with its subnet (os.networkInterfaces()). */
export interface HostAddress {
  address: string;
  /** CIDR, e.g. "192.0.2.1/24". */
  cidr: string | null;
}

export function hostAddresses(): HostAddress[] {
  const out: HostAddress[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.push({ address: a.address, cidr: a.cidr });
  }
  return out;
}

/** Can a connection from `client` reach listener `l`? */
export function listenerAccepts(
  l: ListenAddress,
  client: string,
  host: readonly HostAddress[],
): boolean {
  const c = parseIp(client);
  if (c === null) return false;
  const v6 = c.length === 16;
  if (l.address === '0.0.0.0') return !v6;
  if (l.address === '::') return v6 || l.ipv6Only !== true;
  const la = parseIp(l.address);
  if (la === null || la.length !== c.length) return false;
  // A specific address: the client must be on one of that address's subnets.
  const nets = host.filter((h) => canonicalIp(h.address) === canonicalIp(l.address));
  if (nets.length === 0) return true; // not on this host: binding it fails with its own error
  return nets.some((h) => {
    if (h.cidr === null) return true;
    const [, len] = h.cidr.split('/');
    return sameBits(c, la, Number(len));
  });
}

/**
 * Problems between the configuration and this host, one line each: a client
 * address no listener accepts, a local_address not configured here.
 */
export function preflight(
  config: RsConfig,
  listen: readonly ListenAddress[] = config.ixrs.listen,
  host: readonly HostAddress[] = hostAddresses(),
): string[] {
  const out: string[] = [];
  const ipVer = config.ixrs.ipVersion;
  const shown = listen.map(
    (l) => `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`,
  );
  for (const c of config.clients) {
    for (const a of c.addresses) {
      if (ipVer !== null && (ipVer === 6) !== a.includes(':')) continue;
      if (listen.some((l) => listenerAccepts(l, a, host))) continue;
      out.push(
        `client ${c.id} address ${a} matches no listener (${shown.join(', ')}): its session can only come up if ixrs connects out`,
      );
    }
  }
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const la = config.ixrs.localAddress[fam];
    if (la === null) continue;
    const here = host.some((h) => canonicalIp(h.address) === la);
    if (!here) {
      out.push(
        `cfg.ixrs.local_address.${fam} ${la} is not an address of this host: active ${fam === 'ipv4' ? 'IPv4' : 'IPv6'} sessions will fail to connect`,
      );
    }
  }
  return out;
}
