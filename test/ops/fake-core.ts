// A fake route-server core for the control socket and renderer tests.

import { makeAttributes } from '../../src/bgp/attributes.ts';
import type { CoreQueries } from '../../src/ops/model.ts';
import type { ClientConfig } from '../../src/rs/policy-api.ts';
import type {
  ClientSummary,
  ExportView,
  RouteQuery,
  RouteView,
  SessionSnapshot,
} from '../../src/rs/server.ts';

export function client(
  id: string,
  asn: number,
  addresses: string[],
  description = '',
): ClientConfig {
  return {
    id,
    asn,
    addresses,
    description,
    passive: true,
    addPath: false,
    filtering: { authorizedNextHops: [], irrPrefixes: null, irrOrigins: null },
  };
}

export const CLIENTS: ClientConfig[] = [
  client('AS64501', 64501, ['192.0.2.11', '2001:db8::11'], 'client A'),
  client('AS64502-1', 64502, ['192.0.2.12'], 'client B router 1'),
  client('AS64502-2', 64502, ['192.0.2.13'], 'client B router 2'),
];

export const T0 = Date.parse('2026-11-22T06:00:00Z');

export const REASONS: Record<number, string> = { 2: 'Prefix is bogon', 5: 'Invalid NEXT_HOP' };

/** Records the calls it gets; answers from fixed data. */
export class FakeCore implements CoreQueries {
  calls: string[] = [];

  routes(prefix: string, clientId?: string): RouteView[] {
    this.calls.push(`routes ${prefix} ${clientId ?? '-'}`);
    if (prefix !== '198.51.100.0/24') return [];
    const a = makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns: [64501] }],
      nextHop: '192.0.2.11',
      communities: [(64501 << 16) | 100],
      largeCommunities: [[64501, 1, 2]],
    });
    const b = makeAttributes({
      origin: 2,
      asPath: [
        { type: 2, asns: [64502, 64510] },
        { type: 1, asns: [1, 2] },
      ],
      nextHop: '192.0.2.12',
      med: 10,
    });
    const asked = clientId !== undefined;
    return [
      {
        prefix,
        receivedAt: 0,
        from: 'AS64501',
        session: 'AS64501@192.0.2.11',
        pathId: 0,
        rank: 1,
        accepted: true,
        reasons: [],
        stale: false,
        nextHop: { global: '192.0.2.11' },
        attrs: a,
        ...(asked ? { best: false, eligible: false } : {}),
      },
      {
        prefix,
        receivedAt: 0,
        from: 'AS64502-1',
        session: 'AS64502-1@192.0.2.12',
        pathId: 0,
        rank: 2,
        accepted: true,
        reasons: [],
        stale: true,
        nextHop: { global: '192.0.2.12' },
        attrs: b,
        ...(asked ? { best: true, eligible: true } : {}),
      },
      {
        prefix,
        receivedAt: 0,
        from: 'AS64502-2',
        session: 'AS64502-2@192.0.2.13',
        pathId: 0,
        rank: null,
        accepted: false,
        reasons: [5, 2],
        stale: false,
        nextHop: { global: '192.0.2.99' },
        attrs: b,
        ...(asked ? { best: false, eligible: false } : {}),
      },
    ];
  }

  findRoutes(q: RouteQuery): { routes: RouteView[]; truncated: boolean } {
    this.calls.push(`find ${JSON.stringify(q)}`);
    const all = this.routes('198.51.100.0/24', q.client);
    const routes = all.filter(
      (r) =>
        (q.only !== 'received' || r.accepted) &&
        (q.only !== 'filtered' || !r.accepted) &&
        (q.from === undefined || r.from === q.from),
    );
    return { routes, truncated: false };
  }

  exported(clientId: string, _limit?: number): { routes: ExportView[]; truncated: boolean } {
    this.calls.push(`exported ${clientId}`);
    const r = this.routes('198.51.100.0/24')[1]!;
    return {
      routes: [
        {
          prefix: r.prefix,
          session: `${clientId}@192.0.2.11`,
          pathId: 0,
          nextHop: r.nextHop,
          attrs: r.attrs,
        },
      ],
      truncated: false,
    };
  }

  clientSummary(clientId: string): ClientSummary {
    this.calls.push(`client ${clientId}`);
    return {
      id: clientId,
      received: 12,
      accepted: 9,
      rejected: 3,
      rejectedKept: 1,
      rejectedNotKept: 0,
      rejectedByReason: { '2': 1, '5': 2 },
      blocked: 0,
      withdrawnReceived: 4,
      treatAsWithdraw: 1,
      acceptedByAfi: { '1': 7, '2': 2 },
      sentUpdates: 30,
      sentNlri: 41,
    };
  }

  ribCount(clientId: string): number {
    this.calls.push(`rib ${clientId}`);
    return clientId.includes('@') ? 5 : 17;
  }

  sessions(): SessionSnapshot[] {
    this.calls.push('sessions');
    const s = (client: string, address: string, up: boolean): SessionSnapshot => ({
      client,
      session: `${client}@${address}`,
      address,
      state: up ? 'up' : 'idle',
      since: T0,
      families: up ? ['2/1', '1/1'] : [],
      group: up ? 'g' : null,
      blocked: false,
      dumping: [],
      held: up ? 17 : 0,
      adjIn: up ? 12 : 0,
    });
    return [
      s('AS64501', '192.0.2.11', true),
      s('AS64501', '2001:db8::11', false),
      s('AS64502-1', '192.0.2.12', true),
      s('AS64502-2', '192.0.2.13', false),
    ];
  }
}
