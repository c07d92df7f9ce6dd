// contrib/systemd units verified by systemd-analyze: in the interop project the
// tool must exist (scripts/install-peers.sh installs systemd); never skipped.

import { describe, expect, it } from 'vitest';
import { hasSystemdAnalyze, UNITS, verifyUnit } from '../ops/systemd-units.ts';

describe('contrib/systemd (systemd-analyze verify)', () => {
  it('systemd-analyze is installed', () => {
    expect(
      hasSystemdAnalyze(),
      'systemd-analyze not found: install the systemd package (apt-get install systemd) to verify contrib/systemd units',
    ).toBe(true);
  });
  for (const name of UNITS) {
    it(`${name} verifies without a warning`, () => {
      const r = verifyUnit(name);
      expect(r.output).toBe('');
      expect(r.status).toBe(0);
    });
  }
});
