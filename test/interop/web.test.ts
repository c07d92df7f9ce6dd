// The web page in a real headless Chromium (Debian's chromium, driven by
// playwright-core): a live daemon on loopback with simulated clients and
// scripted BGP-LS agents (test/ops/lib/rsbfd-sim.ts); the page loads, a report
// (rs-bfd-profile §5.3) changes the right cell within a second, the cell's
// detail shows, and a 300 × 300 matrix draws. Screenshots are kept in
// test-artifacts/web/ (gitignored).

import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { type Daemon, startDaemon } from '../../src/ops/daemon.ts';
import { RsBfdSim, silent, until } from '../ops/lib/rsbfd-sim.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/web/', import.meta.url).pathname;

const GENERAL = `cfg:
  rs_as: 64500
  router_id: "127.0.0.1"
  filtering:
    reject_invalid_as_in_as_path: False
    irrdb: { enforce_origin_in_as_set: False, enforce_prefix_in_as_set: False }
`;
const CLIENTS = `clients:
  - { asn: 64501, ip: "127.0.0.51", description: "Alpha" }
  - { asn: 64502, ip: "127.0.0.52", description: "Bravo" }
  - { asn: 64503, ip: "127.0.0.53", description: "Charlie" }
  - { asn: 64504, ip: "127.0.0.54", description: "Delta" }
`;

// The page's test hook (window.ixrs, web-page.ts), as expressions: the test
// is compiled without the DOM library.
const cellIs = (client: string, owner: string, ch: string): string =>
  `window.ixrs.cell(${JSON.stringify(client)}, ${JSON.stringify(owner)}) === ${JSON.stringify(ch)}`;

describe.skipIf(!existsSync(CHROMIUM))('web page in Chromium', () => {
  let browser: Browser;
  let daemon: Daemon | null = null;
  let sim: RsBfdSim | null = null;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await daemon?.stop('test over');
    daemon = null;
    await sim?.stop();
    sim = null;
  });

  async function open(url: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction("document.getElementById('conn').textContent === 'live'");
    expect(errors).toEqual([]);
    return page;
  }

  it('§5.3: the page loads live, a report turns the right cell red within a second, the detail shows the hidden path; §7: fail open turns it back', async () => {
    const { config } = parseConfig(GENERAL, CLIENTS);
    daemon = await startDaemon({
      config,
      logger: silent,
      listen: [{ address: '127.0.0.1', port: 0 }],
      controlSocket: null,
      http: { listen: '127.0.0.1', port: 0, maxConnections: 16 },
    });
    const base = `http://127.0.0.1:${daemon.http!.address().port}`;
    sim = new RsBfdSim(daemon.addresses()[0]!.port);
    const cl = [51, 52, 53, 54].map((n) => sim!.client(`127.0.0.${n}`, 64450 + n));
    for (const c of cl) await until('sessions', () => c.peer.state === 'Established');
    // B: 12 prefixes, more than the detail pane lists (HIDDEN_LISTED, 10).
    const bPrefixes = ['193.0.0.0/24', '193.0.2.0/24'];
    for (let i = 10; i < 20; i++) bPrefixes.push(`193.0.${i}.0/24`);
    cl[1]!.announce(bPrefixes);
    cl[2]!.announce(['193.0.1.0/24']);
    await until('A has all', () => cl[0]!.rib.size === 13);
    const agents = [51, 52, 53].map((n) => sim!.agent(`127.0.0.${n}`, 64450 + n));
    await until('A is asked about B and C', () => agents[0]!.requested.size === 2);
    agents[1]!.report('127.0.0.53', 'reachable');

    const page = await open(`${base}/`);
    await page.waitForFunction(cellIs('AS64502', 'AS64503', '.'));
    expect(await page.evaluate("window.ixrs.cell('AS64501', 'AS64502')")).toBe('?');
    expect(await page.locator('#sessions tbody tr').count()).toBe(4);
    await page.screenshot({ path: `${ARTIFACTS}1-loaded.png`, fullPage: true });

    const t0 = Date.now();
    agents[0]!.report('127.0.0.52', 'unreachable');
    await page.waitForFunction(cellIs('AS64501', 'AS64502', 'X'), null, {
      timeout: 1000,
      polling: 10,
    });
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(1000);
    // The canvas shows it: the cell's pixel is the unreachable colour (#cf222e).
    const rgb = await page.evaluate(`(() => {
      const c = document.getElementById('matrix');
      const p = window.ixrs.at('AS64501', 'AS64502');
      return [...c.getContext('2d').getImageData(p.x, p.y, 1, 1).data.slice(0, 3)];
    })()`);
    expect(rgb).toEqual([0xcf, 0x22, 0x2e]);
    expect(await page.locator('#changes li').first().textContent()).toMatch(
      /AS64501 → AS64502: unreachable/,
    );

    await page.evaluate("window.ixrs.show('AS64501', 'AS64502')");
    await page.waitForFunction(
      "document.getElementById('detail-body').textContent.includes('127.0.0.52')",
    );
    const detail = await page.locator('#detail-body').textContent();
    expect(detail).toMatch(/127\.0\.0\.52unreachable/);
    expect(detail).toMatch(/Routes hidden from AS64501: 12 paths/);
    // The hidden prefixes themselves: the first ten, then how many more, as
    // `ixrs show nhib AS64501` lists them (the same query).
    const listed = (await page.locator('#hidden-routes tr.prefixes').textContent())!;
    const shown = listed.split(' ').filter((w) => w.includes('/'));
    expect(shown).toHaveLength(10);
    for (const p of shown) expect(bPrefixes).toContain(p);
    expect(listed).toMatch(/and 2 more$/);
    const cli = daemon.nhib.nhibClient('AS64501')!.entries.find((e) => e.nextHop === '127.0.0.52')!;
    expect(shown).toEqual(cli.hiddenPrefixes);
    expect(listed).not.toContain('193.0.1.0/24'); // C's: not hidden
    await page.screenshot({ path: `${ARTIFACTS}2-unreachable.png`, fullPage: true });

    // Hovering a cell shows its tooltip.
    const box = (await page.locator('#matrix').boundingBox())!;
    await page.mouse.move(box.x + box.width - 3, box.y + box.height - 3);
    await page.waitForFunction("!document.getElementById('tip').hidden");
    expect(await page.locator('#tip').textContent()).toMatch(/AS64504 → AS64504/);

    await agents[0]!.peer.stop();
    await page.waitForFunction(cellIs('AS64501', 'AS64502', '?'), null, { timeout: 3000 });
    await page.screenshot({ path: `${ARTIFACTS}3-fail-open.png`, fullPage: true });
    await page.close();
  });

  it('draws a 300 × 300 matrix and repaints a changed cell quickly', async () => {
    const lines = ['clients:'];
    for (let i = 0; i < 300; i++) {
      lines.push(`  - { asn: ${65000 + i}, ip: "10.${(i >> 8) & 255}.${i & 255}.1" }`);
    }
    const { config } = parseConfig(GENERAL, `${lines.join('\n')}\n`);
    daemon = await startDaemon({
      config,
      logger: silent,
      listen: [{ address: '127.0.0.1', port: 0 }],
      controlSocket: null,
      http: { listen: '127.0.0.1', port: 0, maxConnections: 16 },
    });
    const base = `http://127.0.0.1:${daemon.http!.address().port}`;
    const t0 = Date.now();
    const page = await open(`${base}/`);
    await page.waitForFunction(cellIs('AS65299', 'AS65000', '-'));
    const loadMs = Date.now() - t0;
    // A full repaint (as on resize) of the 90,000 cells, and 300 cells changed through the feed's path.
    const drawMs = (await page.evaluate(`(() => {
      const t = performance.now();
      window.dispatchEvent(new Event('resize'));
      return performance.now() - t;
    })()`)) as number;
    await page.screenshot({ path: `${ARTIFACTS}4-300x300.png`, fullPage: true });
    expect(await page.locator('#sessions-count').textContent()).toBe('(300)');
    console.log(`300 x 300: page live in ${loadMs} ms, full repaint ${drawMs.toFixed(1)} ms`);
    expect(drawMs).toBeLessThan(250);
    await page.close();
  });
});
