// Load generator of the route-server benchmark: a forked child process (see
// bench/rs.ts) holding BGP sessions for clients [lo, hi) of the scenario.
//
// Minimal raw BGP client, not BgpPeer: BgpPeer decodes every received UPDATE
// into objects (decodeMessage), which for 100 clients x ~400k prefixes would
// make the generator the bottleneck. Here:
//  - each client's UPDATEs are encoded once (codec encodeUpdates, as many
//    prefixes per 4096-octet message as fit) and written in one go on 'go';
//  - received bytes are framed with readHeader and the withdrawn/NLRI fields
//    walked in place: a /24 of the scenario sets/clears a byte in a per-client
//    bitmap indexed by prefix number; anything else goes to a Set keyed
//    addr*64+len. held === expected -> that client has converged.
//  - hold timer enforced on received traffic; keepalives every hold/3;
//    NOTIFICATIONs and closes are counted as drops.
//
// IPC in:  {cmd:'start', port, clients, prefixes, overlap, lo, hi, hold}, {cmd:'go'}, {cmd:'stop'}
// IPC out: {ev:'established'}, {ev:'progress', ...}, {ev:'done', ...}, {ev:'drop', ...}, {ev:'error'}

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  encodeMessage,
  encodeUpdates,
  KEEPALIVE,
  makeAttributes,
  readHeader,
} from '../../src/bgp/codec.ts';
import {
  BASE24,
  clientAddress,
  clientAsn,
  makeScenario,
  type NetMode,
  originAsn,
  prefixText,
  rsAddress,
  sharedOf,
} from './scenario.ts';

export interface StartCmd {
  cmd: 'start';
  port: number;
  clients: number;
  prefixes: number;
  overlap: number;
  lo: number;
  hi: number;
  hold: number;
  connectTimeoutMs: number;
  mode: NetMode;
}

export interface DoneEvent {
  ev: 'done';
  firstSentAt: number;
  lastDoneAt: number;
  drops: number;
  bytesIn: number;
  msgsIn: number;
  cpuMs: number;
  elu: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const send = (m: object): void => {
  process.send?.(m);
};

class Client {
  readonly c: number;
  sock: net.Socket | null = null;
  state: 'connecting' | 'opensent' | 'openconfirm' | 'established' | 'down' = 'connecting';
  buf: Buffer | null = null;
  lastRecv = 0;
  hold = 0;
  held = 0;
  done = false;
  readonly bitmap: Uint8Array;
  readonly other = new Set<number>();
  readonly expected: number;
  readonly updates: Buffer;
  constructor(c: number, span: number, expected: number, updates: Buffer) {
    this.c = c;
    this.bitmap = new Uint8Array(span);
    this.expected = expected;
    this.updates = updates;
  }
}

const HOLD_EXPIRED = encodeMessage(
  { type: 'notification', code: 4, subcode: 0, data: new Uint8Array(0) },
  { as4: true },
);

let cfg: StartCmd;
let clients: Client[] = [];
let span = 0;
let stopping = false;
let drops = 0;
let bytesIn = 0;
let msgsIn = 0;
let doneCount = 0;
let firstSentAt = 0;
let lastDoneAt = 0;
let going = false;
let cpu0 = process.cpuUsage();
let elu0 = performance.eventLoopUtilization();
let established = 0;

function drop(cl: Client, why: string): void {
  if (cl.state === 'down' || stopping) return;
  cl.state = 'down';
  drops++;
  send({ ev: 'drop', client: cl.c, why });
  cl.sock?.destroy();
}

function onUpdate(cl: Client, b: Buffer, off: number, end: number): void {
  let p = off + 19;
  const wl = (b[p]! << 8) | b[p + 1]!;
  p += 2;
  const wend = p + wl;
  const bm = cl.bitmap;
  while (p < wend) {
    const len = b[p]!;
    if (len === 24) {
      const i = ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) - BASE24;
      if (i >= 0 && i < span) {
        if (bm[i] === 1) {
          bm[i] = 0;
          cl.held--;
        }
      } else if (cl.other.delete(key(b, p))) cl.held--;
    } else if (cl.other.delete(key(b, p))) cl.held--;
    p += 1 + ((len + 7) >> 3);
  }
  const al = (b[p]! << 8) | b[p + 1]!;
  p += 2 + al;
  while (p < end) {
    const len = b[p]!;
    if (len === 24) {
      const i = ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) - BASE24;
      if (i >= 0 && i < span) {
        if (bm[i] === 0) {
          bm[i] = 1;
          cl.held++;
        }
      } else addOther(cl, b, p);
    } else addOther(cl, b, p);
    p += 1 + ((len + 7) >> 3);
  }
  if (!cl.done && cl.held === cl.expected && going) {
    cl.done = true;
    doneCount++;
    if (doneCount === clients.length) finish();
  }
}

function key(b: Buffer, p: number): number {
  const len = b[p]!;
  let a = 0;
  for (let k = 0; k < 4; k++) a = a * 256 + (k < (len + 7) >> 3 ? b[p + 1 + k]! : 0);
  return a * 64 + len;
}
function addOther(cl: Client, b: Buffer, p: number): void {
  const k = key(b, p);
  if (!cl.other.has(k)) {
    cl.other.add(k);
    cl.held++;
  }
}

function finish(): void {
  lastDoneAt = now();
  const cu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const ev: DoneEvent = {
    ev: 'done',
    firstSentAt,
    lastDoneAt,
    drops,
    bytesIn,
    msgsIn,
    cpuMs: (cu.user + cu.system) / 1000,
    elu: elu.utilization,
  };
  send(ev);
}

function onData(cl: Client, chunk: Buffer): void {
  cl.lastRecv = performance.now();
  bytesIn += chunk.length;
  let b = chunk;
  if (cl.buf !== null) {
    b = Buffer.concat([cl.buf, chunk]);
    cl.buf = null;
  }
  let off = 0;
  const len = b.length;
  try {
    while (off < len) {
      const h = readHeader(b, off, 4096);
      if (h === null || off + h.length > len) {
        cl.buf = Buffer.from(b.subarray(off));
        return;
      }
      msgsIn++;
      const end = off + h.length;
      switch (h.type) {
        case 2:
          if (cl.state === 'established') onUpdate(cl, b, off, end);
          break;
        case 1: {
          // OPEN: hold time at octets 22-23
          const theirs = (b[off + 22]! << 8) | b[off + 23]!;
          cl.hold = Math.min(cfg.hold, theirs);
          cl.sock?.write(KEEPALIVE);
          cl.state = 'openconfirm';
          break;
        }
        case 4:
          if (cl.state === 'openconfirm') {
            cl.state = 'established';
            established++;
            if (established === clients.length) send({ ev: 'established' });
          }
          break;
        case 3:
          drop(cl, `NOTIFICATION ${b[off + 19]}/${b[off + 20]}`);
          return;
        default:
          break;
      }
      off = end;
    }
  } catch (e) {
    drop(cl, `framing: ${(e as Error).message}`);
  }
}

function connect(cl: Client, deadline: number): void {
  const s = net.connect({
    host: rsAddress(cfg.mode),
    port: cfg.port,
    localAddress: clientAddress(cl.c, cfg.mode),
  });
  s.setNoDelay(true);
  cl.sock = s;
  cl.state = 'connecting';
  s.on('connect', () => {
    cl.state = 'opensent';
    cl.lastRecv = performance.now();
    s.write(
      encodeMessage(
        {
          type: 'open',
          version: 4,
          myAs: clientAsn(cl.c) > 65535 ? 23456 : clientAsn(cl.c),
          holdTime: cfg.hold,
          bgpId: (0x7f0a0000 + cl.c + 1) >>> 0,
          capabilities: [
            { kind: 'multiprotocol', afi: 1, safi: 1 },
            { kind: 'route-refresh' },
            { kind: 'as4', asn: clientAsn(cl.c) },
          ],
          otherParams: [],
        },
        { as4: true },
      ),
    );
  });
  s.on('data', (d: Buffer) => onData(cl, d));
  s.on('error', () => {});
  s.on('close', () => {
    if (stopping) return;
    if (cl.state === 'connecting' || cl.state === 'opensent') {
      // daemon not listening yet (or refused before OPEN): retry until the deadline
      if (performance.now() > deadline) {
        send({ ev: 'error', why: `client ${cl.c}: cannot establish a session` });
        return;
      }
      setTimeout(() => connect(cl, deadline), 250);
      return;
    }
    drop(cl, 'connection closed');
  });
}

function start(m: StartCmd): void {
  cfg = m;
  const sc = makeScenario(m.clients, m.prefixes, m.overlap);
  span = sc.span;
  const U = m.clients * sc.unique;
  for (let c = m.lo; c < m.hi; c++) {
    const asn = clientAsn(c);
    const nextHop = clientAddress(c, m.mode);
    const own = makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns: [asn, originAsn(c)] }],
      nextHop,
    });
    const sh = makeAttributes({
      origin: 0,
      asPath: [{ type: 2, asns: [...Array(1 + (c % 4)).fill(asn), originAsn(c)] }],
      nextHop,
    });
    const msgs: Uint8Array[] = [];
    const ownNlri = [];
    for (let j = 0; j < sc.unique; j++) ownNlri.push({ prefix: prefixText(c * sc.unique + j) });
    const shNlri = [];
    for (const p of sharedOf(c, m.clients, sc.shared, sc.pool))
      shNlri.push({ prefix: prefixText(U + p) });
    const opts = { as4: true };
    msgs.push(
      ...encodeUpdates(opts, { afi: 1, safi: 1, attrs: own, nlri: ownNlri, withdrawn: [] }),
    );
    if (shNlri.length > 0)
      msgs.push(
        ...encodeUpdates(opts, { afi: 1, safi: 1, attrs: sh, nlri: shNlri, withdrawn: [] }),
      );
    clients.push(new Client(c, sc.span, sc.expected[c]!, Buffer.concat(msgs)));
  }
  const deadline = performance.now() + m.connectTimeoutMs;
  for (const cl of clients) connect(cl, deadline);
  // Keepalives every hold/3 (negotiated), hold timer on what we receive.
  setInterval(() => {
    const t = performance.now();
    for (const cl of clients) {
      if (cl.state === 'established' || cl.state === 'openconfirm') {
        if (cl.hold > 0 && t - cl.lastRecv > cl.hold * 1000) {
          cl.sock?.write(HOLD_EXPIRED);
          drop(cl, `hold timer expired (${cl.hold} s)`);
        }
      }
    }
  }, 500).unref();
  setInterval(
    () => {
      for (const cl of clients) if (cl.state === 'established') cl.sock?.write(KEEPALIVE);
    },
    (m.hold * 1000) / 3,
  ).unref();
  setInterval(() => {
    if (!going) return;
    let held = 0;
    let exp = 0;
    for (const cl of clients) {
      held += cl.held;
      exp += cl.expected;
    }
    send({ ev: 'progress', held, expected: exp, done: doneCount });
  }, 1000).unref();
}

function go(): void {
  cpu0 = process.cpuUsage();
  elu0 = performance.eventLoopUtilization();
  going = true;
  firstSentAt = now();
  for (const cl of clients) cl.sock?.write(cl.updates);
  // a client whose expected view is empty is done at once
  for (const cl of clients) {
    if (!cl.done && cl.held === cl.expected) {
      cl.done = true;
      doneCount++;
    }
  }
  if (doneCount === clients.length) finish();
}

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'start') start(m as StartCmd);
  else if (m.cmd === 'go') go();
  else if (m.cmd === 'stop') {
    stopping = true;
    for (const cl of clients) cl.sock?.destroy();
    clients = [];
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
