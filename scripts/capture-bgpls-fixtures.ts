// Captures BGP-LS byte fixtures: ixrs's encoding (src/bgpls through src/bgp)
// and GoBGP 3.10's re-encoding of it, with tshark 4.0's decode of each.
//
//   sudo npx node scripts/capture-bgpls-fixtures.ts [--out fixtures/bgpls]
//
// Runs the lab of test/interop/lib/bgpls.ts (gobgpd and two ixrs BGP-LS
// speakers in network namespaces): A announces RS-BFD requests over IPv4 and
// IPv6 sessions, B announces reports, gobgpd passes each side's routes to the
// other; then A withdraws a request and B a report. Every BGP-LS UPDATE of
// the capture is written as fixtures/bgpls/<sender>-<what>.hex with a .json
// sidecar holding tshark's decode of that message alone (see
// fixtures/bgpls/README.md).

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { decodeMessage } from '../src/bgp/codec.ts';
import type { UpdateMessage } from '../src/bgp/types.ts';
import { decodeLsUpdate } from '../src/bgpls/codec.ts';
import {
  A,
  B,
  GOBGP,
  REPORTS,
  REQUESTS_V4,
  startLsLab,
  tsharkDecodeMessage,
} from '../test/interop/lib/bgpls.ts';
import { requirePrograms, waitFor } from '../test/interop/lib/netns.ts';
import { tsharkMessages } from '../test/interop/lib/pcap.ts';

const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const outDir = outIdx >= 0 ? (args[outIdx + 1] ?? 'fixtures/bgpls') : 'fixtures/bgpls';

requirePrograms('gobgpd', 'gobgp', 'tshark', 'text2pcap');

const names: Record<string, string> = {
  [A.v4]: 'ixrs',
  [A.v6]: 'ixrs',
  [B.v4]: 'ixrs',
  [B.v6]: 'ixrs',
  [GOBGP.v4]: 'gobgp',
  [GOBGP.v6]: 'gobgp',
};

const lab = await startLsLab();
try {
  const count = (who: typeof lab.a, peer: string) =>
    who.events.filter((e) => e.event === 'update' && e.peer === peer).length;
  await waitFor('B gets the requests', () => count(lab.b, GOBGP.v4) >= 3, 60_000);
  await waitFor('A gets the reports', () => count(lab.a, GOBGP.v4) >= 2, 60_000);
  lab.a.command({ cmd: 'withdraw', peer: GOBGP.v4, items: [REQUESTS_V4[1]!] });
  lab.b.command({ cmd: 'withdraw', peer: GOBGP.v4, items: [REPORTS[1]!] });
  await waitFor('B gets the withdraw', () => count(lab.b, GOBGP.v4) >= 4, 60_000);
  await waitFor('A gets the withdraw', () => count(lab.a, GOBGP.v4) >= 3, 60_000);
  await new Promise((r) => setTimeout(r, 1000));
  await lab.stopCapture();

  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) {
    if (f.endsWith('.hex') || f.endsWith('.json')) rmSync(`${outDir}/${f}`);
  }
  const seen = new Set<string>();
  let written = 0;
  for (const m of tsharkMessages(lab.pcap)) {
    if (m.bytes[18] !== 2) continue;
    const ls = decodeLsUpdate(decodeMessage(m.bytes, { as4: true }) as UpdateMessage);
    if (ls === null) continue;
    const sender = names[m.src] ?? 'unknown';
    const transport = m.src.includes(':') ? 'v6session' : 'v4session';
    const nlri = ls.announced.length > 0 ? ls.announced : ls.withdrawn;
    const fam = [
      ...new Set(
        nlri.map((n) => (n.kind === 'link' && n.link.ipv6Interface !== undefined ? 'nh6' : 'nh4')),
      ),
    ].join('-');
    const what =
      ls.announced.length > 0
        ? ls.attribute?.igpMetric !== undefined
          ? `report-${ls.attribute.igpMetric === 0xffffff ? 'unreachable' : 'reachable'}`
          : 'request'
        : ls.withdrawn.length > 0
          ? 'withdraw'
          : 'eor';
    let name = [sender, what, fam, transport].filter(Boolean).join('-');
    for (let i = 2; seen.has(name); i++) name = `${name.replace(/-\d+$/, '')}-${i}`;
    seen.add(name);
    const hex = Buffer.from(m.bytes).toString('hex');
    const lines = hex.match(/.{1,64}/g) ?? [];
    writeFileSync(`${outDir}/${name}.hex`, `${lines.join('\n')}\n`);
    const { malformed, ...expected } = tsharkDecodeMessage(m.bytes, lab.lan.logDir);
    if (malformed) console.warn(`${name}: tshark reports it malformed`);
    writeFileSync(
      `${outDir}/${name}.json`,
      `${JSON.stringify(
        {
          sender,
          receiver: names[m.dst] ?? 'unknown',
          session: `${m.src} -> ${m.dst}`,
          opts: m.opts,
          malformed,
          expected,
        },
        null,
        2,
      )}\n`,
    );
    written++;
  }
  console.log(`capture: ${written} BGP-LS UPDATEs written to ${outDir}`);
} finally {
  lab.destroy();
}
