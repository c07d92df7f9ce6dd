// The builtin scenario client: ixrs's own BGP speaker (src/bgp) with one
// session to the route server, announcing what the scenario says (IPv4
// prefixes with NEXT_HOP, IPv6 prefixes in MP_REACH_NLRI with the client's
// IPv6 address as next hop, both over the one session) and recording what it
// receives: its RIB (prefix -> next hop, AS path), each change with its time,
// and how many UPDATEs arrived.

import type pino from 'pino';
import { makeAttributes } from '../bgp/attributes.ts';
import { encodeEndOfRib, encodeMessage, endOfRibFamily } from '../bgp/codec.ts';
import { type BgpPeer, BgpSpeaker } from '../bgp/speaker.ts';
import { AFI, SAFI, type UpdateMessage } from '../bgp/types.ts';
import { ipv4ToU32 } from '../ops/daemon.ts';

export interface RibEntry {
  nextHop: string;
  asPath: number[];
}

/** One change of one prefix at a client; `nextHop` null: withdrawn. */
export interface RibChange {
  at: number;
  prefix: string;
  nextHop: string | null;
}

export interface BuiltinClientOptions {
  name: string;
  asn: number;
  /** The address the session comes from (loopback: the mapped IPv4). */
  local: string;
  /** Next hop of IPv4 prefixes. */
  nextHop4: string;
  /** Next hop of IPv6 prefixes (null: announces none). */
  nextHop6: string | null;
  rsAddress: string;
  rsPort: number;
  rsAsn: number;
  prefixes: string[];
  logger: pino.Logger;
  now: () => number;
}

export class BuiltinClient {
  readonly o: BuiltinClientOptions;
  readonly rib = new Map<string, RibEntry>();
  readonly changes: RibChange[] = [];
  updates = 0;
  readonly announced = new Set<string>();
  private readonly speaker: BgpSpeaker;
  readonly peer: BgpPeer;

  constructor(o: BuiltinClientOptions) {
    this.o = o;
    for (const p of o.prefixes) this.announced.add(p);
    this.speaker = new BgpSpeaker({ listen: [], logger: o.logger });
    this.peer = this.speaker.addPeer({
      peerAddress: o.rsAddress,
      port: o.rsPort,
      localAddress: o.local,
      localAs: o.asn,
      peerAs: o.rsAsn,
      routerId: ipv4ToU32(o.local),
      families: [
        { afi: AFI.IPV4, safi: SAFI.UNICAST },
        { afi: AFI.IPV6, safi: SAFI.UNICAST },
      ],
      connectRetryTime: 1,
    });
    this.peer.on('update', (m: UpdateMessage) => this.onUpdate(m));
    this.peer.on('established', () => {
      this.send([...this.announced], []);
      this.peer.sendRaw(encodeEndOfRib(AFI.IPV4, SAFI.UNICAST));
      this.peer.sendRaw(encodeEndOfRib(AFI.IPV6, SAFI.UNICAST));
    });
    // The route server went away: what it sent is gone (no graceful restart).
    this.peer.on('down', () => {
      for (const prefix of [...this.rib.keys()]) this.set(prefix, null);
    });
  }

  get established(): boolean {
    return this.peer.state === 'Established';
  }

  async start(): Promise<void> {
    await this.speaker.start();
  }

  async stop(): Promise<void> {
    await this.speaker.stop('scenario over');
  }

  announce(prefixes: string[]): void {
    for (const p of prefixes) this.announced.add(p);
    if (this.established) this.send(prefixes, []);
  }

  withdraw(prefixes: string[]): void {
    for (const p of prefixes) this.announced.delete(p);
    if (this.established) this.send([], prefixes);
  }

  /** The RIB as one comparable string. */
  snapshot(): string {
    return [...this.rib.entries()]
      .map(([p, e]) => `${p} ${e.nextHop} ${e.asPath.join(' ')}`)
      .sort()
      .join('\n');
  }

  private send(announce: string[], withdraw: string[]): void {
    const codec = this.peer.negotiated?.codec;
    if (codec === undefined) return;
    const v4 = (l: string[]) => l.filter((p) => !p.includes(':')).map((prefix) => ({ prefix }));
    const v6 = (l: string[]) => l.filter((p) => p.includes(':')).map((prefix) => ({ prefix }));
    const msgs: UpdateMessage[] = [];
    const base = {
      type: 'update' as const,
      withdrawn: [],
      nlri: [],
      mpReach: null,
      mpUnreach: null,
      errors: [],
    };
    if (v4(announce).length > 0) {
      msgs.push({
        ...base,
        attrs: makeAttributes({
          origin: 0,
          asPath: [{ type: 2, asns: [this.o.asn] }],
          nextHop: this.o.nextHop4,
        }),
        nlri: v4(announce),
      });
    }
    if (v6(announce).length > 0 && this.o.nextHop6 !== null) {
      msgs.push({
        ...base,
        attrs: makeAttributes({ origin: 0, asPath: [{ type: 2, asns: [this.o.asn] }] }),
        mpReach: {
          afi: AFI.IPV6,
          safi: SAFI.UNICAST,
          nextHop: { global: this.o.nextHop6 },
          nlri: v6(announce),
        },
      });
    }
    if (v4(withdraw).length > 0) msgs.push({ ...base, attrs: null, withdrawn: v4(withdraw) });
    if (v6(withdraw).length > 0) {
      msgs.push({
        ...base,
        attrs: null,
        mpUnreach: { afi: AFI.IPV6, safi: SAFI.UNICAST, nlri: v6(withdraw) },
      });
    }
    for (const m of msgs) this.peer.sendRaw(encodeMessage(m, codec));
  }

  private onUpdate(m: UpdateMessage): void {
    if (endOfRibFamily(m) !== null) return;
    this.updates++;
    for (const n of m.withdrawn) this.set(n.prefix, null);
    for (const n of m.mpUnreach?.nlri ?? []) this.set(n.prefix, null);
    const asPath = (m.attrs?.asPath ?? []).flatMap((s) => s.asns);
    if (m.attrs?.nextHop !== undefined) {
      for (const n of m.nlri) this.set(n.prefix, { nextHop: m.attrs.nextHop, asPath });
    }
    if (m.mpReach !== null) {
      for (const n of m.mpReach.nlri) {
        this.set(n.prefix, { nextHop: m.mpReach.nextHop.global, asPath });
      }
    }
  }

  private set(prefix: string, e: RibEntry | null): void {
    const before = this.rib.get(prefix);
    if (e === null) {
      if (before === undefined) return;
      this.rib.delete(prefix);
    } else {
      if (before !== undefined && before.nextHop === e.nextHop) {
        this.rib.set(prefix, e);
        return;
      }
      this.rib.set(prefix, e);
    }
    this.changes.push({ at: this.o.now(), prefix, nextHop: e?.nextHop ?? null });
  }
}
