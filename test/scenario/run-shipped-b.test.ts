// The shipped loopback scenarios pass, part 2: agent loss (fail open,
// rs-bfd-profile §7), damping (§6), route-server restart, 20 clients.

import { describe, expect, it } from 'vitest';
import { failures, play } from './run-lib.ts';

describe('ixrs scenario run --mode loopback: shipped scenarios (rs-bfd-profile §6, §7)', () => {
  for (const name of ['agent-loss.yml', 'flapping-link.yml', 'rs-restart.yml']) {
    it(name, async () => {
      const p = await play(name);
      expect(failures(p)).toEqual([]);
      expect(p.ok).toBe(true);
    }, 90_000);
  }

  it('twenty-clients.yml: three simultaneous cuts, cut-to-withdraw time at each affected client, under 60 s', async () => {
    const p = await play('twenty-clients.yml');
    expect(failures(p)).toEqual([]);
    expect(p.ms).toBeLessThan(60_000);
    const absent = p.results.filter((r) => r.step === 5 && r.name.endsWith('absent'));
    expect(absent).toHaveLength(6);
    for (const r of absent) {
      expect(r.timings).toHaveLength(1);
      expect(r.timings[0]!.ms).toBeGreaterThan(0);
      expect(r.timings[0]!.ms).toBeLessThan(5000);
    }
    process.stdout.write(
      `twenty-clients: ${(p.ms / 1000).toFixed(1)} s; cut to withdraw: ${absent.map((r) => `${r.timings[0]!.client} ${r.timings[0]!.ms} ms`).join(', ')}\n`,
    );
  }, 70_000);
});
