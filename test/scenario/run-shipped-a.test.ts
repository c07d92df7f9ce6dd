// The shipped loopback scenarios pass (docs/scenarios.md), part 1: the cut and
// heal family (rs-bfd-profile §5-6 end to end over the simulated fabric).

import { describe, expect, it } from 'vitest';
import { failures, play } from './run-lib.ts';

describe('ixrs scenario run --mode loopback: shipped scenarios (rs-bfd-profile §5, §6)', () => {
  for (const name of [
    'cut-and-heal.yml',
    'fallback-third-client.yml',
    'one-way.yml',
    'ipv6.yml',
    'operator-clients.yml',
  ]) {
    it(name, async () => {
      const p = await play(name);
      expect(failures(p)).toEqual([]);
      expect(p.ok).toBe(true);
    }, 40_000);
  }
});
