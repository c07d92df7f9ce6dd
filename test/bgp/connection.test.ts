import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KEEPALIVE } from '../../src/bgp/codec.ts';
import { Connection } from '../../src/bgp/session.ts';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

async function pair(): Promise<{ client: net.Socket; server: net.Socket }> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  const accepted = once(srv, 'connection');
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [server] = (await accepted) as [net.Socket];
  cleanup.push(() => {
    client.destroy();
    server.destroy();
    srv.close();
  });
  return { client, server };
}

describe('Connection.send', () => {
  it('sends of one tick leave in one write (cork until the next tick)', async () => {
    const { client, server } = await pair();
    const conn = new Connection(client, 'out');
    const s = client as unknown as { _write: unknown; _writev: unknown };
    let writes = 0;
    let writevs = 0;
    const w = (s._write as (...a: unknown[]) => void).bind(client);
    const wv = (s._writev as (...a: unknown[]) => void).bind(client);
    s._write = (...a: unknown[]) => {
      writes++;
      w(...a);
    };
    s._writev = (...a: unknown[]) => {
      writevs++;
      wv(...a);
    };
    let got = 0;
    server.on('data', (c: Buffer) => {
      got += c.length;
    });
    for (let i = 0; i < 5; i++) expect(conn.send(KEEPALIVE)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(writes + writevs).toBe(1);
    while (got < 5 * KEEPALIVE.length) await new Promise((r) => setTimeout(r, 5));
    expect(got).toBe(5 * KEEPALIVE.length);
  });

  it('returns false above the high-water mark while corked, then calls onDrain', async () => {
    const { client, server } = await pair();
    server.pause();
    const conn = new Connection(client, 'out', 1);
    conn.highWaterMark = 64 * 1024;
    let drained = 0;
    conn.onDrain = () => drained++;
    const big = new Uint8Array(16 * 1024);
    let ok = true;
    let n = 0;
    while (ok && n < 100) {
      ok = conn.send(big);
      n++;
    }
    expect(ok).toBe(false);
    expect(n).toBe(4);
    server.resume();
    while (drained === 0) await new Promise((r) => setTimeout(r, 5));
    expect(drained).toBe(1);
  });
});

/** A 21-octet NOTIFICATION numbered `n` in its first body octet (where tests read it back). */
const notification = (n: number) => Uint8Array.of(...new Array(16).fill(0xff), 0, 21, 3, n, 0);

describe('Connection.pauseReading', () => {
  it('delivers no message while paused, then what arrived meanwhile on resume', async () => {
    const { client, server } = await pair();
    const conn = new Connection(server, 'in');
    let got = 0;
    conn.onMessage = () => got++;
    client.write(KEEPALIVE);
    while (got < 1) await new Promise((r) => setTimeout(r, 5));
    conn.pauseReading();
    conn.pauseReading(); // idempotent
    expect(conn.paused).toBe(true);
    client.write(Buffer.concat([KEEPALIVE, KEEPALIVE, KEEPALIVE]));
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toBe(1);
    conn.resumeReading();
    expect(conn.paused).toBe(false);
    while (got < 4) await new Promise((r) => setTimeout(r, 5));
    expect(got).toBe(4);
  });

  it('a pause while delivering stops at that message: the rest of the chunk is held raw and comes first, in order, after resume', async () => {
    const { client, server } = await pair();
    const conn = new Connection(server, 'in');
    const got: number[] = [];
    conn.onMessage = (m) => {
      got.push(m[19]!);
      if (got.length === 2) conn.pauseReading(); // as the core does when its input is full
    };
    // Five messages in one write (one chunk).
    client.write(Buffer.concat([1, 2, 3, 4, 5].map(notification)));
    while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([1, 2]); // 3..5 are held, not framed
    client.write(notification(6)); // arrives while paused: after the held ones
    await new Promise((r) => setTimeout(r, 50));
    conn.resumeReading();
    expect(got).toEqual([1, 2]); // replayed on a later turn, not inside resumeReading
    while (got.length < 6) await new Promise((r) => setTimeout(r, 5));
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('held bytes survive a pause during their replay, and close() with bytes held still sees the other side close', async () => {
    const { client, server } = await pair();
    const conn = new Connection(server, 'in');
    const got: number[] = [];
    conn.onMessage = (m) => {
      got.push(m[19]!);
      if (got.length === 1 || got.length === 3) conn.pauseReading();
    };
    client.write(Buffer.concat([1, 2, 3, 4].map(notification)));
    while (got.length < 1) await new Promise((r) => setTimeout(r, 5));
    conn.resumeReading();
    while (got.length < 3) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toEqual([1, 2, 3]);
    expect(conn.paused).toBe(true);
    client.on('end', () => client.end());
    const t0 = Date.now();
    conn.close();
    await conn.whenClosed();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(got).toEqual([1, 2, 3]); // dropped, not delivered, once closing
  });

  it('close() while paused still sees the other side close (no wait for the grace period)', async () => {
    const { client, server } = await pair();
    const conn = new Connection(server, 'in');
    conn.pauseReading();
    client.write(KEEPALIVE);
    client.on('end', () => client.end());
    const t0 = Date.now();
    conn.close();
    await conn.whenClosed();
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
