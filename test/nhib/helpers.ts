// Shared fixtures of the NHIB tests: three clients on one LAN, a settable clock.

import {
  DEFAULT_SETTINGS,
  Nhib,
  type NhibOptions,
  type ReachabilityReport,
} from '../../src/nhib/nhib.ts';
import type { NhibChange, NhibEvent, NhibSettings } from '../../src/nhib/types.ts';

export const A = { id: 'AS64501', asn: 64501, addresses: ['192.0.2.11', '2001:db8::11'] };
export const B = { id: 'AS64502', asn: 64502, addresses: ['192.0.2.12', '2001:db8::12'] };
export const C = { id: 'AS64503', asn: 64503, addresses: ['192.0.2.13'] };

export interface Rig {
  nhib: Nhib;
  clock: { now: number };
}

export function rig(settings: Partial<NhibSettings> = {}, opts: NhibOptions = {}): Rig {
  const clock = { now: Date.parse('2026-12-01T00:00:00Z') };
  const nhib = new Nhib({ now: () => clock.now, ...opts });
  const s: NhibSettings = { ...DEFAULT_SETTINGS, ...settings };
  for (const c of [A, B, C]) nhib.addClient({ ...c, settings: s });
  return { nhib, clock };
}

/** A report from `from` about `nextHop`, as the BGP-LS codec gives it. */
export function report(
  from: { asn: number; addresses: string[] },
  nextHop: string,
  state: 'reachable' | 'unreachable',
  over: Partial<ReachabilityReport> = {},
): ReachabilityReport {
  const v6 = nextHop.includes(':');
  return {
    instanceId: 0,
    local: { asn: from.asn, routerId: '10.0.0.1' },
    remote: { asn: 64502, routerId: '10.0.0.2' },
    localAddress: from.addresses.find((a) => a.includes(':') === v6)!,
    nextHop,
    state,
    ...over,
  };
}

export function changes(events: NhibEvent[]): NhibChange[] {
  return events.filter((e): e is NhibChange => e.kind === 'change');
}

/** The effective changes as the core sees them: "client nextHop true|false". */
export function effective(events: NhibEvent[]): string[] {
  return changes(events)
    .filter((e) => e.effectiveChanged)
    .map((e) => `${e.client} ${e.nextHop} ${e.unreachable}`);
}
