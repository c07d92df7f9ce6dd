// The route-server benchmark's workload, deterministic from (clients,
// prefixes, overlap): who announces which IPv4 /24 with which AS path, and
// how many prefixes each client must end up holding.
//
// Prefix index i is the /24 at BASE + i*256 (11.0.0.0 upwards: no bogons), so
// a receiver maps an NLRI to its index with three octets and a subtraction.
//   - client c announces `unique` own prefixes: c*unique .. c*unique+unique-1;
//   - and `shared` prefixes from a pool of P (index U + p), a window starting at
//     floor(c*P/N): each pool prefix is announced by ~K = 3 clients;
//   - own prefixes: AS_PATH [asn, origin]; shared ones: asn prepended c%4
//     extra times, so the clients announcing one prefix differ in path length.
// Expected view of client c: every distinct prefix not announced by c alone.

export const BASE = 11 << 24;
export const BASE24 = 11 << 16;
export const RS_AS = 64500;
export const RS_ROUTER_ID = '192.0.2.2';

export interface Scenario {
  clients: number;
  prefixes: number;
  unique: number;
  shared: number;
  pool: number;
  /** Number of distinct prefixes (U + used pool entries). */
  distinct: number;
  /** Index range upper bound (U + pool). */
  span: number;
  expected: Int32Array;
}

export const clientAsn = (c: number): number => 20000 + c;
export const originAsn = (c: number): number => 200000 + c;

/**
 * Where the route server listens and where clients connect from: the host
 * loopback (ixrs only), or two namespaces of bench/lib/netns.ts (needed by BIRD).
 */
export type NetMode = 'loopback' | 'netns';
export const rsAddress = (mode: NetMode): string => (mode === 'netns' ? '10.77.0.1' : '127.0.0.1');
export const clientAddress = (c: number, mode: NetMode): string =>
  mode === 'netns'
    ? `10.77.${1 + Math.floor(c / 250)}.${(c % 250) + 1}`
    : `127.10.${Math.floor(c / 250)}.${(c % 250) + 1}`;

export function prefixText(i: number): string {
  const a = BASE + i * 256;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/24`;
}

export function makeScenario(clients: number, prefixes: number, overlap: number): Scenario {
  const N = clients;
  const shared = N > 1 ? Math.round(prefixes * overlap) : 0;
  const unique = prefixes - shared;
  const k = Math.min(3, N);
  const pool = shared === 0 ? 0 : Math.max(shared, Math.floor((N * shared) / k));
  const U = N * unique;
  const span = U + pool;
  if (BASE + span * 256 >= 100 << 24) throw new Error(`too many prefixes (${span}) for 11/8..99/8`);
  const announcers = new Uint16Array(pool);
  for (let c = 0; c < N; c++) for (const p of sharedOf(c, N, shared, pool)) announcers[p]!++;
  let used = 0;
  for (let p = 0; p < pool; p++) if (announcers[p]! > 0) used++;
  const distinct = U + used;
  const expected = new Int32Array(N);
  for (let c = 0; c < N; c++) {
    let alone = unique;
    for (const p of sharedOf(c, N, shared, pool)) if (announcers[p] === 1) alone++;
    expected[c] = distinct - alone;
  }
  return { clients, prefixes, unique, shared, pool, distinct, span, expected };
}

/** Pool positions (0..pool-1) announced by client c. */
export function* sharedOf(c: number, N: number, shared: number, pool: number): Generator<number> {
  if (pool === 0) return;
  const start = Math.floor((c * pool) / N);
  for (let j = 0; j < shared; j++) yield (start + j) % pool;
}
