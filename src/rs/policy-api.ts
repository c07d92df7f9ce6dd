// The boundary between the route-server core (rib, decision, packer) and the
// configuration + policy layer. The core calls these; src/config and
// src/rs/policy.ts implement them. Types only.

import type { PathAttributes } from '../bgp/types.ts';

/** One configured client (an entry of arouteserver's clients.yml), normalised. */
export interface ClientConfig {
  /** Stable id: `AS<asn>` when the ASN has one entry, else `AS<asn>-<n>`. */
  id: string;
  asn: number;
  /** LAN addresses (IPv4 and/or IPv6), canonical text. One BGP session per address. */
  addresses: string[];
  description: string;
  passive: boolean;
  /** Offer ADD-PATH send to this client (arouteserver cfg.add_path). */
  addPath: boolean;
  filtering: ClientFiltering;
}

export interface ClientFiltering {
  /** Extra next hops this client may use (next_hop.authorized_addresses) */
  authorizedNextHops: string[];
  ipv4PrefLen?: { min: number; max: number };
  ipv6PrefLen?: { min: number; max: number };
  maxPrefix?: { ipv4?: number; ipv6?: number; action: MaxPrefixAction };
  /** IRR allow-lists: prefixes (with optional "le"/"ge" as "192.0.2.0/24{24,32}") and origin ASNs. null = not enforced. */
  irrPrefixes: string[] | null;
  irrOrigins: number[] | null;
}

export type MaxPrefixAction = 'shutdown' | 'restart' | 'block' | 'warning';

/**
 * Euro-IX / arouteserver reject reasons (large community RS_AS:65520:<code>),
 * see arouteserver's "Reject policy" table. 0 means accepted.
 */
export type RejectCode = number;

export interface ImportVerdict {
  accepted: boolean;
  /** Every reason that applies, first is the primary; empty when accepted. */
  reasons: RejectCode[];
}

export interface ExportVerdict {
  /** Whether the path may be sent to this client at all (announcement control). */
  send: boolean;
  /** RS_AS-free prepend count requested by the announcing client for this target (0-3). */
  prepend: number;
}

/** What the core asks of the policy layer. Implementations must be fast and pure. */
export interface Policy {
  /** Import policy for a path received from `from` (RFC 7947 §2.1 Adj-RIB-In, then filters). */
  importPath(
    from: ClientConfig,
    afi: number,
    prefix: string,
    nextHop: string,
    attrs: PathAttributes,
  ): ImportVerdict;
  /** Export control (do-not-announce / announce-only / prepend communities) of a path from `from` toward `to`. */
  exportPath(from: ClientConfig, to: ClientConfig, attrs: PathAttributes): ExportVerdict;
  /**
   * The attributes actually sent: RS-addressed control communities removed, the
   * requested prepend applied (the announcing client's ASN, never the RS AS). Must
   * return the same object for the same (attrs, prepend) so the packer can group.
   */
  outbound(attrs: PathAttributes, prepend: number, fromAsn: number): PathAttributes;
}
