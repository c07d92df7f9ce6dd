// The agent's control socket: a unix stream socket speaking newline-delimited
// JSON, one request per line ({"cmd":"status"}), one response line each
// ({"ok":true,"result":AgentStatus} or {"ok":false,"error":"..."}), like the
// route server's (src/ops/control.ts).

import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AgentStatus } from './agent.ts';

/** /run/ixrs/agent.sock for root, else $XDG_RUNTIME_DIR (or the temp dir)/ixrs-agent.sock. */
export function defaultAgentSocket(): string {
  if (process.env.IXRS_AGENT_SOCKET) return process.env.IXRS_AGENT_SOCKET;
  if (process.getuid?.() === 0) return '/run/ixrs/agent.sock';
  return join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), 'ixrs-agent.sock');
}

export interface AgentControl {
  close(): Promise<void>;
}

/** Serve `status` on `path` (a stale socket file is replaced). */
export async function serveAgentControl(
  path: string,
  status: () => Promise<AgentStatus>,
): Promise<AgentControl> {
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path)) {
    // Another agent answering there? Then refuse rather than steal its socket.
    const alive = await new Promise<boolean>((resolve) => {
      const s = net.connect(path);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (alive) throw new Error(`control socket ${path} is in use by another process`);
    unlinkSync(path);
  }
  const server = net.createServer((sock) => {
    sock.setEncoding('utf8');
    let buf = '';
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 64 * 1024) {
        sock.destroy();
        return;
      }
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        void answer(line).then((r) => sock.write(`${JSON.stringify(r)}\n`));
      }
    });
  });
  const answer = async (line: string): Promise<unknown> => {
    let id: unknown = null;
    try {
      const req = JSON.parse(line) as { id?: unknown; cmd?: unknown };
      id = req.id ?? null;
      if (req.cmd !== 'status') throw new Error(`unknown command '${String(req.cmd)}'`);
      return { id, ok: true, result: await status() };
    } catch (err) {
      return { id, ok: false, error: (err as Error).message };
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }),
  };
}

/** Ask a running agent for its status. */
export function queryAgent(path: string, timeoutMs = 5000): Promise<AgentStatus> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write('{"id":1,"cmd":"status"}\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      sock.destroy();
      try {
        const r = JSON.parse(buf.slice(0, i)) as
          | { ok: true; result: AgentStatus }
          | { ok: false; error: string };
        if (r.ok) resolve(r.result);
        else reject(new Error(r.error));
      } catch (err) {
        reject(err as Error);
      }
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? `no agent answers on ${path} (${err.code}); is 'ixrs agent' running? (--control PATH)`
            : `${path}: ${err.message}`,
        ),
      );
    });
  });
}

/** The status as text: the sessions to the RS, then one line per checked next hop. */
export function renderStatus(s: AgentStatus): string {
  const lines: string[] = [];
  lines.push(
    `agent AS${s.asn} router-id ${s.routerId} local ${s.local.join(', ')}; passive BFD allowed from ${s.lan.join(', ') || 'nowhere'}`,
  );
  lines.push(
    `timers: BFD ${s.timers.bfdIntervalMs} ms x ${s.timers.bfdMultiplier} (detect ${s.timers.detectMs} ms), bring-up ${s.timers.bringUpS} s, hold-down ${s.timers.holdDownS} s`,
  );
  for (const c of s.sessions) {
    const why = c.established ? '' : ` — not connected: ${c.notConnected}`;
    lines.push(
      `route server ${c.rs} (${c.channel}, from ${c.local}): ${c.state} since ${c.since}${why}; ${c.requestsReceived} requests received, ${c.reportsSent} reports sent`,
    );
  }
  const rows: string[][] = [
    ['NEXT HOP', 'ASN', 'BFD', 'DETECT', 'VERDICT', 'REPORTED', 'SINCE', 'WHY'],
  ];
  for (const n of s.nextHops) {
    rows.push([
      n.nextHop,
      n.asns.map((a) => `AS${a}`).join(','),
      n.bfd === 'Down' && n.diag !== 'none' ? `Down (${n.diag})` : n.bfd,
      n.detectMs === null ? '-' : `${n.detectMs}ms`,
      n.verdict +
        (n.bringUpAt ? ` (bring-up until ${n.bringUpAt.slice(11, 19)})` : '') +
        (n.holdUntil ? ` (hold-down until ${n.holdUntil.slice(11, 19)})` : ''),
      [...new Set(n.reported)].join(','),
      n.since,
      n.lastReason,
    ]);
  }
  if (s.nextHops.length === 0) lines.push('no next hops requested');
  else {
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      lines.push(
        r
          .map((c, i) => c.padEnd(w[i]!))
          .join('  ')
          .trimEnd(),
      );
  }
  if (s.passive.length > 0) {
    lines.push(
      `checked by others (passive BFD): ${s.passive.map((p) => `${p.peer} ${p.state}`).join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
