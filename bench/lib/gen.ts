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
//    NOTIFICATIONs and closes are counted as drops (except after 'close').
//
// Whole-run phases after convergence (bench/rs.ts drives them):
//  - 'churn' withdraw/announce: the client named withdraws (then announces
//    again) its first `count` own prefixes; done when every client holds its
//    expected view less those prefixes (then its full view again);
//  - 'close': every client sends a Cease (6/2) and closes at once;
//  - 'reconnect': every client connects again and sends its whole table as
//    soon as its session is up; done when every client holds its full view.
//
// IPC in:  {cmd:'start', ...StartCmd}, {cmd:'go'}, {cmd:'churn', step, client, count},
//          {cmd:'close'}, {cmd:'reconnect', timeoutMs}, {cmd:'stop'}
// IPC out: {ev:'established'}, {ev:'progress', ...}, {ev:'done', ...}, {ev:'phase', at},
//          {ev:'closed'}, {ev:'drop', ...}, {ev:'error'}

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
  /**
   * 0: two attribute sets per client (own prefixes, shared ones). k > 0:
   * every k prefixes of a client get their own attribute set (AS path of
   * the client plus 0-3 ASNs, 1-3 communities), see `clientTable`.
   */
  prefixesPerSet: number;
}

/** A phase step finished in this generator: every client reached its target at `at`. */
export interface PhaseEvent {
  ev: 'phase';
  at: number;
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
  /** Prefix count this client must hold for the current step (its full view unless churning). */
  target = 0;
  done = false;
  closing = false;
  /** Closing: its socket has not closed yet (the route server has not closed its side). */
  awaitClose = false;
  readonly bitmap: Uint8Array;
  readonly other = new Set<number>();
  readonly expected: number;
  readonly updates: Buffer;
  constructor(c: number, span: number, expected: number, updates: Buffer) {
    this.c = c;
    this.bitmap = new Uint8Array(span);
    this.expected = expected;
    this.target = expected;
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
/** A phase step is under way (churn, reconnect): count clients reaching their target. */
let stepping = false;
let reached = 0;
let lastReachedAt = 0;
/** Churn messages of the client this generator churns (withdraw, announce). */
let churn: { client: number; withdraw: Buffer; announce: Buffer } | null = null;

function drop(cl: Client, why: string): void {
  if (cl.state === 'down' || stopping || cl.closing) return;
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
  if (!cl.done && cl.held === cl.target) {
    cl.done = true;
    if (stepping) {
      reached++;
      lastReachedAt = now();
      if (reached === clients.length) stepDone();
    } else if (going) {
      doneCount++;
      if (doneCount === clients.length) finish();
    }
  }
}

function stepDone(): void {
  stepping = false;
  const ev: PhaseEvent = { ev: 'phase', at: lastReachedAt };
  send(ev);
}

/** Start a phase step: new targets, clients already there count at once. */
function beginStep(target: (cl: Client) => number): void {
  stepping = true;
  reached = 0;
  lastReachedAt = now();
  for (const cl of clients) {
    cl.target = target(cl);
    cl.done = cl.held === cl.target && cl.state === 'established';
    if (cl.done) reached++;
  }
  if (reached === clients.length) stepDone();
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
            if (stepping) {
              // reconnecting: the whole table at once, as a client would
              cl.sock?.write(cl.updates);
              if (cl.target === 0 && !cl.done) {
                cl.done = true;
                reached++;
                if (reached === clients.length) stepDone();
              }
            } else if (established === clients.length) send({ ev: 'established' });
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
    if (cl.awaitClose && s === cl.sock) {
      cl.awaitClose = false;
      if (--closingPending === 0) send({ ev: 'closed' });
    }
    if (stopping || cl.closing) return;
    if (cl.state === 'connecting' || cl.state === 'opensent') {
      // daemon not listening yet (or refused before OPEN): retry until the deadline
      if (performance.now() > deadline) {
        send({ ev: 'error', why: `client ${cl.c}: cannot establish a session` });
        return;
      }
      setTimeout(() => connect(cl, deadline), stepping ? 100 : 250);
      return;
    }
    drop(cl, 'connection closed');
  });
}

/** One UPDATE's worth of routes: an attribute set and its prefixes (indices). */
interface Group {
  attrs: ReturnType<typeof makeAttributes>;
  prefixes: number[];
  own: boolean;
}

/**
 * What client c announces, grouped by attribute set. Own prefixes first,
 * then shared ones (AS prepended c%4 extra times, so the announcers of a
 * shared prefix differ in path length). prefixesPerSet 0: one set for each;
 * k: every k prefixes their own set — AS_PATH [client (prepends), 0-3 more
 * ASNs], 1-3 communities `client:n` (n distinct per set), as a customer cone.
 */
export function clientTable(
  c: number,
  clientsN: number,
  unique: number,
  shared: number,
  pool: number,
  k: number,
  mode: NetMode,
): Group[] {
  const asn = clientAsn(c);
  const nextHop = clientAddress(c, mode);
  const U = clientsN * unique;
  const own: number[] = [];
  for (let j = 0; j < unique; j++) own.push(c * unique + j);
  const sh: number[] = [];
  for (const p of sharedOf(c, clientsN, shared, pool)) sh.push(U + p);
  const groups: Group[] = [];
  if (k <= 0) {
    groups.push({
      attrs: makeAttributes({
        origin: 0,
        asPath: [{ type: 2, asns: [asn, originAsn(c)] }],
        nextHop,
      }),
      prefixes: own,
      own: true,
    });
    if (sh.length > 0)
      groups.push({
        attrs: makeAttributes({
          origin: 0,
          asPath: [{ type: 2, asns: [...Array(1 + (c % 4)).fill(asn), originAsn(c)] }],
          nextHop,
        }),
        prefixes: sh,
        own: false,
      });
    return groups;
  }
  let set = 0;
  for (const [list, isOwn] of [
    [own, true],
    [sh, false],
  ] as const) {
    for (let i = 0; i < list.length; i += k, set++) {
      const asns = isOwn ? [asn] : Array<number>(1 + (c % 4)).fill(asn);
      for (let t = 0; t < set % 4; t++)
        asns.push(300000 + ((c * 7919 + set * 31 + t * 977) % 500000));
      const communities: number[] = [];
      for (let t = 0; t <= set % 3; t++)
        communities.push(((asn << 16) | ((set + t * 4099) & 0xffff)) >>> 0);
      groups.push({
        attrs: makeAttributes({ origin: 0, asPath: [{ type: 2, asns }], nextHop, communities }),
        prefixes: list.slice(i, i + k),
        own: isOwn,
      });
    }
  }
  return groups;
}

/** UPDATE bytes announcing (or withdrawing) the groups' prefixes. */
function encodeGroups(groups: Group[], withdraw: boolean): Buffer {
  const opts = { as4: true };
  const msgs: Uint8Array[] = [];
  if (withdraw) {
    const w = groups.flatMap((g) => g.prefixes.map((i) => ({ prefix: prefixText(i) })));
    if (w.length > 0)
      msgs.push(
        ...encodeUpdates(opts, {
          afi: 1,
          safi: 1,
          attrs: groups[0]!.attrs,
          nlri: [],
          withdrawn: w,
        }),
      );
  } else
    for (const g of groups)
      msgs.push(
        ...encodeUpdates(opts, {
          afi: 1,
          safi: 1,
          attrs: g.attrs,
          nlri: g.prefixes.map((i) => ({ prefix: prefixText(i) })),
          withdrawn: [],
        }),
      );
  return Buffer.concat(msgs);
}

function start(m: StartCmd): void {
  cfg = m;
  const sc = makeScenario(m.clients, m.prefixes, m.overlap);
  span = sc.span;
  for (let c = m.lo; c < m.hi; c++) {
    const groups = clientTable(
      c,
      m.clients,
      sc.unique,
      sc.shared,
      sc.pool,
      m.prefixesPerSet,
      m.mode,
    );
    clients.push(new Client(c, sc.span, sc.expected[c]!, encodeGroups(groups, false)));
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

/** The first `count` own prefixes of client c, with the attribute sets they were announced with. */
function churnGroups(c: number, count: number): Group[] {
  const sc = makeScenario(cfg.clients, cfg.prefixes, cfg.overlap);
  const out: Group[] = [];
  let left = Math.min(count, sc.unique);
  for (const g of clientTable(
    c,
    cfg.clients,
    sc.unique,
    sc.shared,
    sc.pool,
    cfg.prefixesPerSet,
    cfg.mode,
  )) {
    if (!g.own || left === 0) break;
    const p = g.prefixes.slice(0, left);
    left -= p.length;
    out.push({ ...g, prefixes: p });
  }
  return out;
}

interface ChurnCmd {
  cmd: 'churn';
  step: 'withdraw' | 'announce';
  client: number;
  count: number;
}

function churnStep(m: ChurnCmd): void {
  const mine = clients.find((cl) => cl.c === m.client);
  if (mine !== undefined && churn?.client !== m.client) {
    const g = churnGroups(m.client, m.count);
    churn = { client: m.client, withdraw: encodeGroups(g, true), announce: encodeGroups(g, false) };
  }
  beginStep((cl) =>
    m.step === 'withdraw' && cl.c !== m.client ? cl.expected - m.count : cl.expected,
  );
  if (mine !== undefined)
    mine.sock?.write(m.step === 'withdraw' ? churn!.withdraw : churn!.announce);
}

const CEASE_SHUTDOWN = encodeMessage(
  { type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0) },
  { as4: true },
);

let closingPending = 0;

/**
 * Every client sends a Cease and closes its side; 'closed' once every socket
 * has closed, i.e. the route server read the Cease and closed too (reconnecting
 * earlier could meet the old session: a collision, Cease 6/7). Sockets still
 * open after 60 s are destroyed.
 */
function closeAll(): void {
  closingPending = 0;
  for (const cl of clients) {
    cl.closing = true;
    const s = cl.sock;
    if (s !== null && !s.destroyed) {
      cl.awaitClose = true;
      closingPending++;
      if (cl.state === 'established') s.end(CEASE_SHUTDOWN);
      else s.destroy();
    }
    cl.state = 'down';
  }
  if (closingPending === 0) send({ ev: 'closed' });
  else
    setTimeout(() => {
      for (const cl of clients) if (cl.awaitClose) cl.sock?.destroy();
    }, 60_000).unref();
}

function reconnectAll(m: { timeoutMs: number }): void {
  established = 0;
  for (const cl of clients) {
    cl.closing = false;
    cl.buf = null;
    cl.bitmap.fill(0);
    cl.other.clear();
    cl.held = 0;
  }
  beginStep((cl) => cl.expected);
  // a route server may refuse a client for a while after a mass session loss
  // (BIRD, flushing the routes of 100 sessions): retry for the phase's time
  const deadline = performance.now() + m.timeoutMs;
  for (const cl of clients) connect(cl, deadline);
}

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'start') start(m as StartCmd);
  else if (m.cmd === 'go') go();
  else if (m.cmd === 'churn') churnStep(m as ChurnCmd);
  else if (m.cmd === 'close') closeAll();
  else if (m.cmd === 'reconnect') reconnectAll(m as unknown as { timeoutMs: number });
  else if (m.cmd === 'stop') {
    stopping = true;
    for (const cl of clients) cl.sock?.destroy();
    clients = [];
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
