import { describe, expect, it } from 'vitest';
import {
  buildOpen,
  collisionKeep,
  isBgpLsOnly,
  type LocalOpenConfig,
  negotiate,
} from '../../src/bgp/negotiate.ts';
import { AS_TRANS, BgpError, type OpenMessage } from '../../src/bgp/types.ts';

const V4 = { afi: 1, safi: 1 };
const V6 = { afi: 2, safi: 1 };
const LS = { afi: 16388, safi: 71 };

const local: LocalOpenConfig = {
  localAs: 64500,
  routerId: 0x0a000001,
  peerAs: 64501,
  holdTime: 90,
  families: [V4, V6],
};

function peerOpen(over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    ...buildOpen({ localAs: 64501, routerId: 0x0a000002, peerAs: 64500, families: [V4, V6] }),
    ...over,
  };
}

function expectBgpError(f: () => unknown, code: number, subcode: number): BgpError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BgpError);
    const be = e as BgpError;
    expect([be.code, be.subcode]).toEqual([code, subcode]);
    return be;
  }
  throw new Error('expected BgpError');
}

describe('negotiate', () => {
  const ours = buildOpen(local);

  it('RFC 4271 §4.2: hold time is the minimum of both, keepalive one third', () => {
    const n = negotiate(local, ours, peerOpen({ holdTime: 30 }));
    expect(n.holdTime).toBe(30);
    expect(n.keepaliveTime).toBe(10);
    expect(n.peerAs).toBe(64501);
    expect(n.peerBgpId).toBe(0x0a000002);
    expect(n.as4).toBe(true);
  });

  it('RFC 4271 §4.2: hold time 0 on either side means no keepalives', () => {
    const n = negotiate(local, ours, peerOpen({ holdTime: 0 }));
    expect(n.holdTime).toBe(0);
    expect(n.keepaliveTime).toBe(0);
  });

  it('RFC 4271 §6.2: hold time 1 or 2 is rejected with OPEN error subcode 6', () => {
    expectBgpError(() => negotiate(local, ours, peerOpen({ holdTime: 1 })), 2, 6);
    expectBgpError(() => negotiate(local, ours, peerOpen({ holdTime: 2 })), 2, 6);
    expect(negotiate(local, ours, peerOpen({ holdTime: 3 })).holdTime).toBe(3);
  });

  it('RFC 4271 §6.2: unsupported version gives 2/1 with our version as data', () => {
    const e = expectBgpError(() => negotiate(local, ours, peerOpen({ version: 5 })), 2, 1);
    expect([...e.data]).toEqual([0, 4]);
  });

  it('RFC 4271 §6.2: peer AS mismatch gives 2/2', () => {
    const p = buildOpen({ localAs: 64999, routerId: 2, peerAs: 64500, families: [V4] });
    expectBgpError(() => negotiate(local, ours, p), 2, 2);
  });

  it('RFC 4271 §6.2: expected peer AS 0 accepts any AS (the agent need not know the RS AS)', () => {
    const p = buildOpen({ localAs: 64999, routerId: 2, peerAs: 64500, families: [V4] });
    expect(negotiate({ ...local, peerAs: 0 }, ours, p).peerAs).toBe(64999);
  });

  it('RFC 6793 §4.1: 4-octet peer AS from the AS4 capability, My AS = AS_TRANS', () => {
    const cfg = { ...local, peerAs: 4200000001 };
    const p = buildOpen({ localAs: 4200000001, routerId: 2, peerAs: 64500, families: [V4] });
    expect(p.myAs).toBe(AS_TRANS);
    expect(negotiate(cfg, buildOpen(cfg), p).peerAs).toBe(4200000001);
  });

  it('RFC 6793 §9: AS_TRANS inside the AS4 capability is a Bad Peer AS', () => {
    const p = peerOpen({ myAs: AS_TRANS, capabilities: [{ kind: 'as4', asn: AS_TRANS }] });
    expectBgpError(() => negotiate({ ...local, peerAs: AS_TRANS }, ours, p), 2, 2);
  });

  it('RFC 6793 §4.1: My AS disagreeing with the AS4 capability is a Bad Peer AS', () => {
    const p = peerOpen({ myAs: 64502 });
    expectBgpError(() => negotiate(local, ours, p), 2, 2);
  });

  it('RFC 6793 §4.1: a 2-octet-only peer is identified by My AS, as4 false', () => {
    const p = peerOpen({ capabilities: [{ kind: 'multiprotocol', ...V4 }] });
    const n = negotiate(local, ours, p);
    expect(n.as4).toBe(false);
    expect(n.codec.as4).toBe(false);
    expect(n.peerAs).toBe(64501);
  });

  it('RFC 6286 §2.2: BGP identifier 0 is rejected (2/3)', () => {
    expectBgpError(() => negotiate(local, ours, peerOpen({ bgpId: 0 })), 2, 3);
  });

  it('RFC 6286 §2.2: identifier equal to ours is rejected only on internal sessions', () => {
    expect(negotiate(local, ours, peerOpen({ bgpId: local.routerId })).peerBgpId).toBe(
      local.routerId,
    );
    const ibgp = { ...local, peerAs: 64500 };
    const p = buildOpen({
      localAs: 64500,
      routerId: local.routerId,
      peerAs: 64500,
      families: [V4],
    });
    expectBgpError(() => negotiate(ibgp, buildOpen(ibgp), p), 2, 3);
  });

  it('RFC 5492 §3 / RFC 4271 §6.2: optional parameter other than capabilities gives 2/4', () => {
    const p = peerOpen({ otherParams: [{ type: 1, value: new Uint8Array(2) }] });
    expectBgpError(() => negotiate(local, ours, p), 2, 4);
  });

  it('RFC 4760 §8: families are those announced by both', () => {
    const p = peerOpen({
      capabilities: [
        { kind: 'multiprotocol', ...V6 },
        { kind: 'multiprotocol', ...LS },
        { kind: 'as4', asn: 64501 },
      ],
    });
    expect([...negotiate(local, ours, p).families]).toEqual(['2/1']);
  });

  it('RFC 4760 §8: IPv4 unicast is implied when neither side sends MP capabilities', () => {
    const l = { ...local, families: [] };
    const p = peerOpen({ capabilities: [{ kind: 'as4', asn: 64501 }] });
    expect([...negotiate(l, buildOpen(l), p).families]).toEqual(['1/1']);
    // a side without MP capabilities speaks IPv4 unicast only
    expect([...negotiate(local, ours, p).families]).toEqual(['1/1']);
  });

  it('RFC 7911 §4: ADD-PATH directions follow the send/receive modes of both sides', () => {
    const l: LocalOpenConfig = {
      ...local,
      addPath: [
        { ...V4, mode: 2 }, // we send
        { ...V6, mode: 3 }, // both
      ],
    };
    const p = peerOpen({
      capabilities: [
        ...peerOpen().capabilities,
        {
          kind: 'add-path',
          entries: [
            { ...V4, mode: 3 },
            { ...V6, mode: 2 }, // peer only sends
          ],
        },
      ],
    });
    const n = negotiate(l, buildOpen(l), p);
    expect([...n.addPathTx].sort()).toEqual(['1/1']);
    expect([...n.addPathRx].sort()).toEqual(['2/1']);
    expect(n.codec.addPathTx).toBe(n.addPathTx);
  });

  it('RFC 8654 §3: extended message only when both announce it', () => {
    const l = { ...local, extendedMessage: true };
    const withExt = peerOpen({
      capabilities: [...peerOpen().capabilities, { kind: 'extended-message' }],
    });
    expect(negotiate(l, buildOpen(l), withExt).extendedMessage).toBe(true);
    expect(negotiate(l, buildOpen(l), peerOpen()).extendedMessage).toBe(false);
    expect(negotiate(local, ours, withExt).codec.extendedMessage).toBe(false);
  });

  it('RFC 2918 / RFC 7313 / RFC 4724: route refresh, enhanced RR, peer GR, unknown caps kept', () => {
    const unknown = { kind: 'unknown' as const, code: 73, value: Uint8Array.of(1, 2) };
    const gr = {
      kind: 'graceful-restart' as const,
      restarting: true,
      notification: false,
      restartTime: 120,
      families: [{ ...V4, forwardingPreserved: true }],
    };
    const p = peerOpen({ capabilities: [...peerOpen().capabilities, gr, unknown] });
    const n = negotiate(local, ours, p);
    expect(n.routeRefresh).toBe(true);
    expect(n.enhancedRouteRefresh).toBe(true);
    expect(n.gracefulRestart).toEqual(gr);
    expect(n.peerCapabilities).toContainEqual(unknown);
    const noRr = { ...local, routeRefresh: false };
    expect(negotiate(noRr, buildOpen(noRr), p).routeRefresh).toBe(false);
  });

  it('RFC 8950 §3: extended next hop entries announced by both', () => {
    const e = { afi: 1, safi: 1, nextHopAfi: 2 };
    const l = {
      ...local,
      extraCapabilities: [{ kind: 'extended-next-hop' as const, entries: [e] }],
    };
    const p = peerOpen({
      capabilities: [
        ...peerOpen().capabilities,
        { kind: 'extended-next-hop', entries: [e, { afi: 1, safi: 128, nextHopAfi: 2 }] },
      ],
    });
    expect(negotiate(l, buildOpen(l), p).extendedNextHop).toEqual([e]);
  });

  it('rs-bfd-profile §3: an OPEN offering only BGP-LS is recognised', () => {
    const ls = buildOpen({ ...local, families: [LS] });
    expect(isBgpLsOnly(ls)).toBe(true);
    expect(isBgpLsOnly(buildOpen({ ...local, families: [V4, LS] }))).toBe(false);
    expect(isBgpLsOnly(buildOpen({ ...local, families: [] }))).toBe(false);
  });

  it('RFC 4271 §6.8 / RFC 6286 §2.3: collision keeps the higher identifier, then the larger AS', () => {
    expect(collisionKeep(2, 1, 1, 1)).toBe('local-initiated');
    expect(collisionKeep(1, 2, 1, 1)).toBe('remote-initiated');
    expect(collisionKeep(0xffffffff, 1, 1, 1)).toBe('local-initiated');
    expect(collisionKeep(5, 5, 64501, 64500)).toBe('local-initiated');
    expect(collisionKeep(5, 5, 64500, 64501)).toBe('remote-initiated');
  });
});
