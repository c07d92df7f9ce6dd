// The scripted RS-BFD route server (test/agent/lib/scripted-rs.ts) as a
// process, for tests that run it inside a network namespace.
//
//   node test/interop/bin/scripted-rs.ts '{"address":"192.0.2.254","address6":"2001:db8::fe","port":179,"asn":64500}'
//
// Commands, one JSON line each on stdin:
//   {"cmd":"client","address":"192.0.2.1","asn":64501,"routerId":"192.0.2.1"}
//   {"cmd":"request","client":"192.0.2.1","links":[CheckLink...]}
//   {"cmd":"withdraw","client":"192.0.2.1","links":[CheckLink...]}
//   {"cmd":"resend","client":"192.0.2.1"}   {"cmd":"bounce","client":"192.0.2.1"}
//   {"cmd":"exit"}
// Events, one JSON line each on stdout: {"event":"listening"}, then every
// RsEvent ({"event":"rs","time":<Date.now()>,"client","kind","link"?,"state"?,"reason"?}),
// and {"event":"error","message"} for a command that failed.

import { bgplsCodec } from '../../../src/agent/bgpls-codec.ts';
import type { CheckLink } from '../../../src/agent/core.ts';
import { type RsClient, ScriptedRs, type ScriptedRsOptions } from '../../agent/lib/scripted-rs.ts';

type Command =
  | ({ cmd: 'client' } & RsClient)
  | { cmd: 'request' | 'withdraw'; client: string; links: CheckLink[] }
  | { cmd: 'resend' | 'bounce'; client: string }
  | { cmd: 'exit' };

const opts = JSON.parse(process.argv[2] ?? '{}') as Omit<ScriptedRsOptions, 'codec'>;
const rs = new ScriptedRs({ ...opts, codec: bgplsCodec });
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

// Forward every recorded event with a wall-clock time (comparable across processes).
const origPush = rs.events.push.bind(rs.events);
rs.events.push = (...items) => {
  for (const e of items) out({ event: 'rs', time: Date.now(), ...e });
  return origPush(...items);
};

async function main(): Promise<void> {
  await rs.start();
  out({ event: 'listening' });
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        run(JSON.parse(line) as Command);
      } catch (err) {
        out({ event: 'error', message: (err as Error).message });
      }
    }
  });
  const stop = () => void rs.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
}

function run(c: Command): void {
  switch (c.cmd) {
    case 'client':
      rs.addClient({ address: c.address, asn: c.asn, routerId: c.routerId });
      return;
    case 'request':
      rs.request(c.client, c.links);
      return;
    case 'withdraw':
      rs.withdraw(c.client, c.links);
      return;
    case 'resend':
      rs.resend(c.client);
      return;
    case 'bounce':
      rs.bounce(c.client);
      return;
    case 'exit':
      void rs.stop().then(() => process.exit(0));
      return;
  }
}

void main();
