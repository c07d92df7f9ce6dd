import { describe, expect, it } from 'vitest';
import {
  COMMUNITY_SCHEMA,
  CommunityMatcher,
  checkExtCommunity,
  NO_CONTROL,
  parseCommunity,
} from '../../src/rs/communities.ts';

const S = COMMUNITY_SCHEMA;
const std = (a: number, b: number): number => ((a << 16) | b) >>> 0;

describe('arouteserver community values (general.yml "communities", rs_as/peer_as/dyn_val macros)', () => {
  it('rs_as is replaced in any part; peer_as and dyn_val stay as wildcards in the last part', () => {
    expect(parseCommunity('0:rs_as', 'std', 64500, S['do_not_announce_to_any']!)).toEqual({
      a: 0,
      b: 64500,
    });
    expect(parseCommunity('rs_as:peer_as', 'std', 64500, S['announce_to_peer']!)).toEqual({
      a: 64500,
      b: 'peer_as',
    });
    expect(
      parseCommunity('rs_as:0:peer_as', 'lrg', 4200000001, S['do_not_announce_to_peer']!),
    ).toEqual({
      a: 4200000001,
      b: 0,
      c: 'peer_as',
    });
    expect(parseCommunity('rs_as:65520:dyn_val', 'lrg', 64500, S['reject_cause']!)).toEqual({
      a: 64500,
      b: 65520,
      c: 'dyn_val',
    });
  });

  it("'peer_as' is mandatory for *_to_peer and not allowed elsewhere; dyn_val likewise", () => {
    expect(parseCommunity('0:65000', 'std', 64500, S['do_not_announce_to_peer']!)).toMatch(
      /mandatory/,
    );
    expect(parseCommunity('0:peer_as', 'std', 64500, S['do_not_announce_to_any']!)).toMatch(
      /not allowed/,
    );
    expect(parseCommunity('peer_as:0', 'std', 64500, S['announce_to_peer']!)).toMatch(
      /only in the last part/,
    );
    expect(parseCommunity('rs_as:65520:7', 'lrg', 64500, S['reject_cause']!)).toMatch(
      /dyn_val.*mandatory/,
    );
  });

  it('RFC 1997 standard parts are 16 bits, RFC 8092 large parts 32 bits', () => {
    expect(parseCommunity('65536:1', 'std', 64500, S['do_not_announce_to_any']!)).toMatch(
      /16 bits/,
    );
    expect(parseCommunity('0:rs_as', 'std', 4200000001, S['do_not_announce_to_any']!)).toMatch(
      /16 bits/,
    );
    expect(parseCommunity('4294967296:0:0', 'lrg', 1, S['do_not_announce_to_any']!)).toMatch(
      /32 bits/,
    );
    expect(parseCommunity('1:2:3', 'std', 1, S['do_not_announce_to_any']!)).toMatch(/expected x:x/);
    expect(parseCommunity('1:2', 'lrg', 1, S['do_not_announce_to_any']!)).toMatch(/expected x:x:x/);
    expect(parseCommunity('a:b', 'std', 1, S['do_not_announce_to_any']!)).toMatch(/not a number/);
  });

  it('extended forms rt:x:x / ro:x:x are checked', () => {
    expect(checkExtCommunity('rt:65535:peer_as', S['do_not_announce_to_peer']!)).toBeNull();
    expect(checkExtCommunity('xx:1:2', S['do_not_announce_to_any']!)).toMatch(/invalid extended/);
  });
});

describe('CommunityMatcher', () => {
  const m = new CommunityMatcher(
    {
      do_not_announce_to_any: { std: { a: 0, b: 64500 }, lrg: { a: 64500, b: 0, c: 0 } },
      do_not_announce_to_peer: {
        std: { a: 0, b: 'peer_as' },
        lrg: { a: 64500, b: 0, c: 'peer_as' },
      },
      prepend_twice_to_peer: { std: { a: 65512, b: 'peer_as' } },
      blackholing: { std: { a: 64500, b: 666 } },
    },
    64500,
  );

  it('0:rs_as is both do_not_announce_to_any and (harmlessly) do_not_announce_to_peer rs_as', () => {
    const c = m.control([std(0, 64500)], undefined);
    expect(c.doNotAnnounceToAny).toBe(true);
    expect([...c.doNotAnnounceToPeer]).toEqual([64500]);
  });

  it('recognises every configured community and RS_AS:65520:* as addressed to the RS', () => {
    expect(m.isRsStd(std(0, 1234))).toBe(true);
    expect(m.isRsStd(std(65512, 9))).toBe(true);
    expect(m.isRsStd(std(64500, 666))).toBe(true);
    expect(m.isRsStd(std(64500, 667))).toBe(false);
    expect(m.isRsLarge(64500, 0, 0)).toBe(true);
    expect(m.isRsLarge(64500, 0, 77)).toBe(true);
    expect(m.isRsLarge(64500, 65520, 13)).toBe(true);
    expect(m.isRsLarge(64500, 1, 77)).toBe(false);
  });

  it('paths without control communities share NO_CONTROL', () => {
    expect(m.control(undefined, undefined)).toBe(NO_CONTROL);
    expect(m.control([std(64500, 666), std(1, 1)], [[1, 2, 3]])).toBe(NO_CONTROL);
    expect(new CommunityMatcher({}, 64500).hasControl).toBe(false);
  });
});
