// Renderers of the control socket's results (model.ts rows): aligned text
// tables for people, JSON for programs. Pure functions of (result, now).

import type {
  ClientResult,
  NhibClientView,
  NhibEntryRow,
  NhibMatrixView,
  RibListResult,
  RibResult,
  RouteRow,
  RoutesResult,
  SessionRow,
} from './model.ts';

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
    ['CLIENT', 'ASN', 'ADDRESS', 'STATE', 'FOR', 'PATHS IN', 'SENT', 'FAMILIES', 'DESCRIPTION'],
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
    else if (r.notSent === 'next-hop-unreachable') {
      parts.push(`skipped for ${client}: next hop unreachable (RS-BFD)`);
    } else if (r.notSent === 'own') parts.push(`not sent to ${client}: its own route`);
    else if (r.notSent === 'export-policy') {
      parts.push(`not sent to ${client}: export policy (communities)`);
    } else if (r.eligible === false)
      parts.push(`not sent to ${client}: ${r.notSent ?? 'ineligible'}`);
    else parts.push(`not best for ${client}`);
  }
  return parts.join(', ');
}

export function renderRoutes(res: RoutesResult, now: number): string {
  const what: string[] = [];
  if (res.prefix !== null) {
    const m = res.match ?? 'exact';
    what.push(
      m === 'longest'
        ? `longest match for ${res.prefix.replace(/\/(32|128)$/, '')}`
        : m === 'longer'
          ? `${res.prefix} and longer`
          : m === 'shorter'
            ? `${res.prefix} and shorter`
            : res.prefix,
    );
  }
  if (res.from != null) {
    what.push(
      `${res.only === 'filtered' ? 'filtered' : res.only === 'received' ? 'accepted' : 'received'} from ${res.from}`,
    );
  }
  const head = `${what.join(', ')}${res.client !== null ? ` (as seen by ${res.client})` : ''}`;
  if (res.routes.length === 0) return `${head}: no paths\n`;
  const many = res.prefix === null || (res.match !== undefined && res.match !== 'exact');
  const body = res.routes.map((r) => [
    ...(many ? [r.prefix] : []),
    `${r.best ? '*' : ' '}${r.rank === null ? '-' : String(r.rank)}`,
    r.from,
    r.nextHop,
    r.asPath === '' ? '(empty)' : r.asPath,
    [...r.communities, ...r.largeCommunities].join(' ') || '-',
    duration(now - Date.parse(r.receivedAt)),
    routeStatus(r, res.client),
  ]);
  const cols = ['RANK', 'FROM', 'NEXT HOP', 'AS PATH', 'COMMUNITIES', 'AGE', 'STATUS'];
  const more = res.truncated === true ? `  ... more (raise --limit)\n` : '';
  return `${head}\n${table(many ? ['PREFIX', ...cols] : cols, body, '  ')}\n${more}`;
}

/** `ixrs show rib --client C`: what the route server announces to C. */
export function renderRibList(res: RibListResult): string {
  const head = `announced to ${res.client}${res.address !== null ? ` at ${res.address}` : ''}`;
  if (res.routes.length === 0) return `${head}: nothing\n`;
  const body = res.routes.map((r) => [
    r.prefix,
    r.address,
    r.nextHop,
    r.asPath === '' ? '(empty)' : r.asPath,
    [...r.communities, ...r.largeCommunities].join(' ') || '-',
  ]);
  const more = res.truncated ? `  ... more (raise --limit)\n` : '';
  const n = res.routes.length;
  return `${head} (${n}${res.truncated ? '+' : ''} route${n === 1 && !res.truncated ? '' : 's'})\n${table(['PREFIX', 'SESSION', 'NEXT HOP', 'AS PATH', 'COMMUNITIES'], body, '  ')}\n${more}`;
}

export function renderClient(c: ClientResult, now: number): string {
  const kv: [string, string][] = [
    ['client', c.id],
    ['asn', String(c.asn)],
    ['description', c.description || '-'],
    ['addresses', c.addresses.join(', ')],
    ['passive', c.passive ? 'yes' : 'no'],
    ['add-path', c.addPath ? 'send offered' : 'no'],
    [
      'paths now',
      `${c.pathsAccepted + c.rejectedKept} (accepted ${c.pathsAccepted}, rejected ${c.rejectedKept})`,
    ],
    [
      'accepted now by afi',
      Object.entries(c.acceptedByAfi)
        .map(([afi, n]) => `${afi === '1' ? 'ipv4' : afi === '2' ? 'ipv6' : `afi ${afi}`} ${n}`)
        .join(', ') || '-',
    ],
    [
      'announcements',
      `received ${c.received}, accepted ${c.accepted}, rejected ${c.rejected} (since start, re-announcements count again)`,
    ],
    [
      'rejected not kept',
      c.rejectedNotKept === 0 ? '0' : `${c.rejectedNotKept} (over the per-client bound)`,
    ],
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

// ---------------------------------------------------------------- NHIB (RS-BFD)

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}

function damping(v: NhibClientView): string {
  const d = v.damping;
  if (!d.enabled) return 'off';
  return `penalty ${d.penalty}, suppress ${d.suppressThreshold}, reuse ${d.reuseThreshold}, half-life ${seconds(d.halfLifeMs)}, max ${seconds(d.maxSuppressMs)}`;
}

function lastReport(e: NhibEntryRow): string {
  const r = e.report;
  if (r === null) return '-';
  return `${r.state} from ${r.localAddress} (AS${r.local.asn} ${r.local.routerId} -> AS${r.remote.asn} ${r.remote.routerId}, id ${r.instanceId})`;
}

/** `ixrs show nhib CLIENT`: the client's reachability session, counters, and one line per next hop. */
export function renderNhibClient(v: NhibClientView, now: number): string {
  const c = v.counters;
  const since = v.sessionSince === null ? '' : ` for ${duration(now - Date.parse(v.sessionSince))}`;
  const dropped = (
    [
      ['spoofed', c.spoofed],
      ['foreign instance', c.foreignInstance],
      ['no session', c.noSession],
      ['disabled', c.disabled],
      ['invalid', c.invalid],
      ['over limit', c.overLimit],
    ] as const
  )
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const unreachable = v.entries.filter((e) => e.unreachable);
  const lines = [
    `${v.client} (AS${v.asn}): reachability session ${v.session}${since}, BGP-LS instance ${v.instanceId}`,
    `damping: ${damping(v)}`,
    `reports ${c.reports} (applied ${c.applied}, unrequested ${c.unrequested}), withdraws ${c.withdraws}, dropped: ${dropped || 'none'}`,
    `flaps ${c.flaps}, damped ${c.suppressions} times, sessions lost ${c.sessionLosses}`,
    `next hops ${v.entries.length}: ${unreachable.length} unreachable, hiding ${unreachable.reduce((n, e) => n + e.hiddenPaths, 0)} paths`,
  ];
  let out = `${lines.join('\n')}\n`;
  if (v.entries.length === 0) return out;
  const body = v.entries.map((e) => [
    e.nextHop,
    e.owner ?? '-',
    `${e.state}${e.unreachable && e.state !== 'unreachable' ? '*' : ''}${e.requested ? '' : ' (unrequested)'}`,
    e.since === null ? '-' : duration(now - Date.parse(e.since)),
    String(e.hiddenPaths),
    String(e.flaps),
    e.damped
      ? `yes, ${e.penalty}${e.reuseAt === null ? '' : ` until ${duration(Date.parse(e.reuseAt) - now)}`}`
      : e.penalty > 0
        ? `no, ${e.penalty}`
        : 'no',
    lastReport(e),
  ]);
  out += `\n${table(['NEXT HOP', 'OWNER', 'STATE', 'FOR', 'HIDDEN', 'FLAPS', 'DAMPED', 'LAST REPORT'], body)}\n`;
  if (v.entries.some((e) => e.unreachable && e.state !== 'unreachable')) {
    out += '* held unreachable by damping\n';
  }
  const hiding = unreachable.filter((e) => e.hiddenPaths > 0);
  if (hiding.length > 0) {
    out += `\nhidden from ${v.client}:\n`;
    for (const e of hiding) out += `  ${e.nextHop} (${e.owner ?? '-'}): ${hiddenList(e)}\n`;
  }
  return out;
}

/** The prefixes a next hop hides: the first ones listed, then "and K more" (the web page says the same). */
export function hiddenList(e: Pick<NhibEntryRow, 'hiddenPaths' | 'hiddenPrefixes'>): string {
  const more = e.hiddenPaths - e.hiddenPrefixes.length;
  return `${e.hiddenPrefixes.join(' ')}${more > 0 ? ` and ${more} more` : ''}`;
}

const SESSION_TAG: Record<string, string> = { up: 'up', down: 'down', disabled: 'off' };

export interface MatrixOptions {
  /** Terminal width (default 80). */
  width?: number;
}

/**
 * `ixrs show nhib --matrix`: one row per client, one character per next-hop
 * owner (columns numbered like the rows). When the whole matrix does not fit
 * in the width, only the clients and owners with something unreachable are
 * shown, with the counts.
 */
export function renderNhibMatrix(m: NhibMatrixView, opts: MatrixOptions = {}): string {
  const width = opts.width ?? 80;
  const k = m.counts;
  let out = wrap(
    `RS-BFD: ${k.clients} clients, ${k.sessionsUp} reachability sessions up; ${k.entries} entries (${k.requested} requested): ${k.reachable} reachable, ${k.unknown} unknown, ${k.unreachable} unreachable (${k.damped} damped)`,
    width,
  );
  if (m.rows.length === 0) return out;
  const n = m.owners.length;
  const numW = String(Math.max(n, m.rows.length)).length;
  const idW = Math.min(14, Math.max(...m.rows.map((r) => r.client.length)));
  const labelW = numW + 1 + idW + 1 + 4 + 1;
  const all = [...m.owners.keys()];
  let cols = all;
  let rows = m.rows.map((r, i) => ({ r, i }));
  let note = '';
  if (labelW + n > width) {
    const bad = (ch: string): boolean => ch === 'X' || ch === 'x' || ch === 'D';
    cols = all.filter((c) => m.rows.some((r) => bad(r.cells[c]!)));
    rows = rows.filter(({ r }) => r.unreachable > 0);
    const room = Math.max(1, width - labelW);
    let cut = 0;
    if (cols.length > room) {
      cut = cols.length - room;
      cols = cols.slice(0, room);
    }
    note = `only the ${rows.length} of ${m.rows.length} clients and ${cols.length + cut} of ${n} owners with something unreachable${cut > 0 ? `; ${cut} more owners not shown (--json has them all)` : ''}\n`;
    if (rows.length === 0) return `${out}nothing unreachable\n`;
  }
  out += note;
  const label = (num: string, id: string, sess: string): string =>
    `${num.padStart(numW)} ${id.slice(0, idW).padEnd(idW)} ${sess.padEnd(4)} `;
  // Column numbers, one digit per line, top down; '*' marks the (other) column.
  const digits = String(n).length;
  for (let d = digits - 1; d >= 0; d--) {
    let line = ' '.repeat(labelW);
    for (const c of cols) {
      if (m.owners[c] === '(other)') {
        line += d === 0 ? '*' : ' ';
        continue;
      }
      const s = String(c + 1);
      line += d < s.length ? s[s.length - 1 - d] : ' ';
    }
    if (line.trim() !== '') out += `${line.trimEnd()}\n`;
  }
  for (const { r, i } of rows) {
    out += `${label(String(i + 1), r.client, SESSION_TAG[r.session] ?? r.session)}${cols.map((c) => r.cells[c]).join('')}\n`;
  }
  if (cols.length < n || rows.length < m.rows.length) {
    const named = cols
      .filter((c) => m.owners[c] !== '(other)')
      .map((c) => `${c + 1}=${m.owners[c]}`);
    if (named.length > 0) out += wrap(`columns: ${named.join(' ')}`, width);
  }
  if (m.owners.includes('(other)')) out += '* = next hops no client has\n';
  out += wrap(
    `legend: ${Object.entries(m.legend)
      .map(([ch, what]) => `${ch} ${what}`)
      .join(';  ')}`,
    width,
  );
  return out;
}

function wrap(text: string, width: number): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = `  ${word}`;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') out.push(line);
  return `${out.join('\n')}\n`;
}
