// Renderers of the control socket's results (model.ts rows): aligned text
// tables for people, JSON for programs. Pure functions of (result, now).

import type { ClientResult, RibResult, RouteRow, RoutesResult, SessionRow } from './model.ts';

/** Align columns: every cell padded to its column's width (the last column is not padded). */
export function table(header: string[], rows: string[][], indent = ''): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    indent +
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function familyName(key: string): string {
  if (key === '1/1') return 'ipv4';
  if (key === '2/1') return 'ipv6';
  if (key === '16388/71') return 'bgp-ls';
  return key;
}

/** "3d04h", "2h05m", "4m07s", "12s". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (d > 0) return `${d}d${two(h)}h`;
  if (h > 0) return `${h}h${two(m)}m`;
  if (m > 0) return `${m}m${two(sec)}s`;
  return `${sec}s`;
}

export function renderSessions(rows: SessionRow[], now: number): string {
  if (rows.length === 0) return 'no clients configured\n';
  const body = rows.map((r) => [
    r.client,
    String(r.asn),
    r.address,
    r.bgpState ?? r.state,
    duration(now - Date.parse(r.since)),
    String(r.received),
    String(r.sent),
    r.families.map(familyName).join(',') || '-',
    [r.blocked ? 'blocked' : '', r.dumping.length > 0 ? 'dumping' : '', r.description]
      .filter((x) => x !== '')
      .join(' '),
  ]);
  return `${table(
    ['CLIENT', 'ASN', 'ADDRESS', 'STATE', 'FOR', 'RECEIVED', 'SENT', 'FAMILIES', 'DESCRIPTION'],
    body,
  )}\n`;
}

function routeStatus(r: RouteRow, client: string | null): string {
  if (!r.accepted) {
    return `rejected: ${r.reasons.map((x) => `${x.text} (${x.code})`).join(', ')}`;
  }
  const parts = ['accepted'];
  if (r.stale) parts.push('stale');
  if (client !== null) {
    if (r.best) parts.push(`best for ${client}`);
    else if (r.eligible === false) parts.push(`not for ${client}`);
  }
  return parts.join(', ');
}

export function renderRoutes(res: RoutesResult): string {
  const head = `${res.prefix}${res.client !== null ? ` (as seen by ${res.client})` : ''}`;
  if (res.routes.length === 0) return `${head}: no paths\n`;
  const body = res.routes.map((r) => [
    `${r.best ? '*' : ' '}${r.rank === null ? '-' : String(r.rank)}`,
    r.from,
    r.nextHop,
    r.asPath === '' ? '(empty)' : r.asPath,
    [...r.communities, ...r.largeCommunities].join(' ') || '-',
    routeStatus(r, res.client),
  ]);
  return `${head}\n${table(['RANK', 'FROM', 'NEXT HOP', 'AS PATH', 'COMMUNITIES', 'STATUS'], body, '  ')}\n`;
}

export function renderClient(c: ClientResult, now: number): string {
  const kv: [string, string][] = [
    ['client', c.id],
    ['asn', String(c.asn)],
    ['description', c.description || '-'],
    ['addresses', c.addresses.join(', ')],
    ['passive', c.passive ? 'yes' : 'no'],
    ['add-path', c.addPath ? 'send offered' : 'no'],
    ['received', String(c.received)],
    ['accepted', String(c.accepted)],
    [
      'accepted by afi',
      Object.entries(c.acceptedByAfi)
        .map(([afi, n]) => `${afi === '1' ? 'ipv4' : afi === '2' ? 'ipv6' : `afi ${afi}`} ${n}`)
        .join(', ') || '-',
    ],
    ['rejected', String(c.rejected)],
    ['blocked (max-prefix)', String(c.blocked)],
    ['withdrawn received', String(c.withdrawnReceived)],
    ['treat-as-withdraw', String(c.treatAsWithdraw)],
    ['sent updates', String(c.sentUpdates)],
    ['sent nlri', String(c.sentNlri)],
    ['prefixes announced to it', String(c.rib)],
  ];
  const w = Math.max(...kv.map(([k]) => k.length));
  let out = kv.map(([k, v]) => `${`${k}:`.padEnd(w + 2)}${v}`).join('\n');
  out += '\n';
  if (c.rejectedByReason.length > 0) {
    out += `\nrejected by reason:\n${table(
      ['CODE', 'COUNT', 'REASON'],
      c.rejectedByReason.map((r) => [String(r.code), String(r.count), r.text]),
      '  ',
    )}\n`;
  }
  if (c.sessions.length > 0) {
    out += `\nsessions:\n${renderSessions(c.sessions, now)
      .trimEnd()
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n')}\n`;
  }
  return out;
}

export function renderRibCount(r: RibResult): string {
  const who = r.address === null ? r.client : `${r.client} (${r.address})`;
  return `${who}: ${r.count} prefixes announced by the route server\n`;
}

export function renderJson(result: unknown): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
