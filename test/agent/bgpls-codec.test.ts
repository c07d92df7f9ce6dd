import { describe, expect, it } from 'vitest';
import { bgplsCodec } from '../../src/agent/bgpls-codec.ts';
import type { CheckLink } from '../../src/agent/core.ts';
import { isLsEndOfRib } from '../../src/agent/ls.ts';
import { decodeMessage, encodeEndOfRib } from '../../src/bgp/codec.ts';
import type { UpdateMessage } from '../../src/bgp/types.ts';

const codec = { as4: true };
const A = { asn: 64501, routerId: '192.0.2.1' };
const B = { asn: 64502, routerId: '192.0.2.2' };
const v4: CheckLink = {
  instanceId: 0,
  local: A,
  remote: B,
  localAddress: '192.0.2.1',
  nextHop: '192.0.2.2',
};
const v6: CheckLink = {
  instanceId: 7,
  local: A,
  remote: B,
  localAddress: '2001:db8::1',
  nextHop: '2001:db8::2',
};

function decode(msgs: Uint8Array[]): UpdateMessage[] {
  return msgs.map((m) => decodeMessage(m, codec) as UpdateMessage);
}

describe('agent BGP-LS codec adapter (profile §4-5 over src/bgpls)', () => {
  it('profile §5.1: requests round-trip (IPv4 and IPv6 Link NLRI), announce and withdraw', () => {
    const us = decode(
      bgplsCodec.encodeRequests([v4, v6], [], { codec, nextHop: '192.0.2.254', localAs: 64500 }),
    );
    const got = us.flatMap((u) => bgplsCodec.decodeRequests(u).announced);
    expect(got).toEqual([v4, v6]);
    const w = decode(bgplsCodec.encodeRequests([], [v6], { codec, nextHop: '192.0.2.254' }));
    expect(w.flatMap((u) => bgplsCodec.decodeRequests(u).withdrawn)).toEqual([v6]);
  });

  it('profile §5.3: reports carry IGP Metric 1 or 0xFFFFFF; a withdraw is no opinion', () => {
    const us = decode(
      bgplsCodec.encodeReports(
        [
          { link: v4, state: 'reachable' },
          { link: v6, state: 'unreachable' },
        ],
        { codec, nextHop: '192.0.2.1', localAs: 64501 },
      ),
    );
    const got = us.flatMap((u) => bgplsCodec.decodeReports(u).announced);
    expect(got).toEqual([
      { link: v4, state: 'reachable' },
      { link: v6, state: 'unreachable' },
    ]);
    expect(us.every((u) => u.attrs?.asPath[0]?.asns[0] === 64501)).toBe(true);
    const w = decode(
      bgplsCodec.encodeReports([{ link: v4, state: null }], { codec, nextHop: '192.0.2.1' }),
    );
    expect(w.flatMap((u) => bgplsCodec.decodeReports(u).withdrawn)).toEqual([v4]);
  });

  it('RFC 4724 §2: the BGP-LS End-of-RIB is recognised', () => {
    const [u] = decode([encodeEndOfRib(16388, 71)]);
    expect(isLsEndOfRib(u!)).toBe(true);
    expect(bgplsCodec.decodeRequests(u!).endOfRib).toBe(true);
  });

  it('profile §4: an NLRI that is not a half link is reported as an error, the rest used', () => {
    const [u] = decode(bgplsCodec.encodeRequests([v4], [], { codec, nextHop: '192.0.2.254' }));
    const d = bgplsCodec.decodeRequests({
      ...u!,
      mpReach: { ...u!.mpReach!, raw: new Uint8Array([0, 1, 0, 1, 0]) },
    });
    expect(d.announced).toEqual([]);
    expect(d.errors.length).toBeGreaterThan(0);
  });
});
