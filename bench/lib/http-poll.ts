// HTTP load beside a bench run (npm run bench -- --http-poll N): N clients
// polling /metrics (each: fetch, read, wait --http-interval ms, again) and one
// web page's event stream (/web/events) open, as an operator's Prometheus
// servers and open matrix pages would. Started in the clients' namespace by
// bench/rs.ts; 'start' and 'stop' over IPC; answers 'polled' with its counts.

export interface PollStart {
  cmd: 'start';
  base: string;
  pollers: number;
  intervalMs: number;
}

export interface PollDone {
  ev: 'polled';
  scrapes: number;
  errors: number;
  bytes: number;
  /** Mean and worst /metrics answer time, ms. */
  meanMs: number;
  maxMs: number;
  /** Events received on the page's stream. */
  events: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let stopped = false;
const st = { scrapes: 0, errors: 0, bytes: 0, totalMs: 0, maxMs: 0, events: 0 };
const ac = new AbortController();

async function poller(base: string, intervalMs: number): Promise<void> {
  while (!stopped) {
    const t = performance.now();
    try {
      const r = await fetch(`${base}/metrics`, { signal: ac.signal });
      const body = await r.text();
      if (r.status !== 200) st.errors++;
      st.bytes += body.length;
      st.scrapes++;
      const ms = performance.now() - t;
      st.totalMs += ms;
      st.maxMs = Math.max(st.maxMs, ms);
    } catch {
      if (!stopped) st.errors++;
    }
    if (!stopped) await sleep(intervalMs);
  }
}

async function page(base: string): Promise<void> {
  try {
    await (await fetch(`${base}/`, { signal: ac.signal })).text();
    const r = await fetch(`${base}/web/events`, { signal: ac.signal });
    const reader = r.body!.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      st.bytes += value.byteLength;
      st.events += dec.decode(value, { stream: true }).split('event: ').length - 1;
    }
  } catch {
    if (!stopped) st.errors++;
  }
}

process.on('message', (m: PollStart | { cmd: 'stop' }) => {
  if (m.cmd === 'start') {
    void page(m.base);
    for (let i = 0; i < m.pollers; i++) void poller(m.base, m.intervalMs);
    return;
  }
  stopped = true;
  ac.abort();
  const done: PollDone = {
    ev: 'polled',
    scrapes: st.scrapes,
    errors: st.errors,
    bytes: st.bytes,
    meanMs: st.scrapes > 0 ? st.totalMs / st.scrapes : 0,
    maxMs: st.maxMs,
    events: st.events,
  };
  process.send!(done, () => process.exit(0));
});
