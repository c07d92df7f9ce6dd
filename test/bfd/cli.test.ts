import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AUTH_TYPES, authFromOptions, formatEvent, HELP, OPTIONS } from '../../src/bfd/cli.ts';
import { AuthType } from '../../src/bfd/codec.ts';
import { BfdManager, type BfdStateEvent } from '../../src/bfd/manager.ts';

const BIN = new URL('../../bin/ixrs.js', import.meta.url).pathname;
const PORT = 20000 + ((process.pid * 13 + 7) % 20000);
const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});

const DIR = mkdtempSync(join(tmpdir(), 'ixrs-bfd-cli-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
let keyN = 0;
/** Writes a key file (mode 0600) and returns its path. */
function keyFile(content: string | Uint8Array): string {
  const f = join(DIR, `key${keyN++}`);
  writeFileSync(f, content, { mode: 0o600 });
  return f;
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { proc: ChildProcess; lines: Record<string, unknown>[]; stderr: () => string } {
  const proc = spawn(process.execPath, [BIN, 'bfd', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  procs.push(proc);
  const lines: Record<string, unknown>[] = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  return { proc, lines, stderr: () => err };
}

async function exitOf(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  return new Promise((r) => proc.on('exit', (code) => r(code)));
}

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ixrs bfd CLI', () => {
  it('--help documents every option the parser accepts, and nothing else', () => {
    for (const name of Object.keys(OPTIONS)) expect(HELP).toContain(`--${name}`);
    const documented = [...HELP.matchAll(/^\s+(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(OPTIONS).sort());
  });

  it('bad arguments exit 2', async () => {
    const { proc } = run(['--local', '127.0.0.1', '--peer', '127.0.0.2', '--multiplier', '0']);
    const code = await new Promise((r) => proc.on('exit', r));
    expect(code).toBe(2);
  });

  it('RFC 5880 §6.8.16: two CLIs come Up, SIGTERM sends AdminDown and exits 0', async () => {
    const common = ['--interval', '50', '--port', String(PORT), '--json'];
    const a = run(['--local', '127.0.0.1', '--peer', '127.0.0.2', ...common]);
    const b = run(['--local', '127.0.0.2', '--peer', '127.0.0.1', ...common]);
    await until(
      () => a.lines.some((l) => l.state === 'Up') && b.lines.some((l) => l.state === 'Up'),
    );
    expect(a.lines.find((l) => l.state === 'Up')).toMatchObject({
      peer: '127.0.0.2',
      local: '127.0.0.1',
      diag: 'none',
    });
    expect(typeof a.lines[0]!.time).toBe('string');
    a.proc.kill('SIGTERM');
    const code = await new Promise((r) => a.proc.on('exit', r));
    expect(code).toBe(0);
    await until(() => b.lines.some((l) => l.state === 'Down'));
    expect(b.lines.find((l) => l.state === 'Down')).toMatchObject({
      previous: 'Up',
      diag: 'neighbor-signaled-session-down',
      remoteState: 'AdminDown',
      remoteDiag: 'administratively-down',
    });
  });
});

describe('ixrs bfd authentication options (RFC 5880 §6.7)', () => {
  it('RFC 5880 §4.1: --auth names map to Auth Types 1-5, --key-id defaults to 1', () => {
    expect(AUTH_TYPES).toEqual({
      simple: AuthType.SimplePassword,
      'keyed-md5': AuthType.KeyedMD5,
      'meticulous-keyed-md5': AuthType.MeticulousKeyedMD5,
      'keyed-sha1': AuthType.KeyedSHA1,
      'meticulous-keyed-sha1': AuthType.MeticulousKeyedSHA1,
    });
    const f = keyFile('secret\n');
    for (const [name, type] of Object.entries(AUTH_TYPES)) {
      expect(authFromOptions({ auth: name, 'key-file': f })).toEqual({
        type,
        keyId: 1,
        secret: new TextEncoder().encode('secret'),
      });
    }
    expect(authFromOptions({})).toBeUndefined();
  });

  it('--key-file: one trailing newline (LF or CRLF) is stripped, nothing else', () => {
    const key = (c: string) =>
      new TextDecoder().decode(authFromOptions({ auth: 'simple', 'key-file': keyFile(c) })!.secret);
    expect(key('abc\n')).toBe('abc');
    expect(key('abc\r\n')).toBe('abc');
    expect(key('abc')).toBe('abc');
    expect(key('abc\n\n')).toBe('abc\n');
    expect(key(' a b ')).toBe(' a b ');
  });

  it('--key-env reads the key from the environment', () => {
    const a = authFromOptions(
      { auth: 'keyed-md5', 'key-env': 'BFD_KEY', 'key-id': '9' },
      { BFD_KEY: 'from-env' },
    );
    expect(a).toEqual({ type: 2, keyId: 9, secret: new TextEncoder().encode('from-env') });
    expect(() => authFromOptions({ auth: 'simple', 'key-env': 'NOPE' }, {})).toThrow(
      /--key-env NOPE: the variable is not set/,
    );
  });

  it('RFC 5880 §4.2-4.4: key length limits, simple 1-16, MD5 1-16, SHA1 1-20 octets', () => {
    const limits: [string, number][] = [
      ['simple', 16],
      ['keyed-md5', 16],
      ['meticulous-keyed-md5', 16],
      ['keyed-sha1', 20],
      ['meticulous-keyed-sha1', 20],
    ];
    for (const [auth, max] of limits) {
      const ok = authFromOptions({ auth, 'key-file': keyFile(`${'k'.repeat(max)}\n`) });
      expect(ok!.secret.length).toBe(max);
      expect(authFromOptions({ auth, 'key-file': keyFile('k') })!.secret.length).toBe(1);
      const long = keyFile('k'.repeat(max + 1));
      expect(() => authFromOptions({ auth, 'key-file': long })).toThrow(
        `--key-file ${long}: the key is ${max + 1} octets, --auth ${auth} needs 1 to ${max}`,
      );
      const empty = keyFile('\n');
      expect(() => authFromOptions({ auth, 'key-file': empty })).toThrow(/the key is 0 octets/);
    }
    // octets, not characters
    expect(() => authFromOptions({ auth: 'simple', 'key-file': keyFile('é'.repeat(9)) })).toThrow(
      /18 octets/,
    );
  });

  it('RFC 5880 §4.2: --key-id must be an integer 0-255', () => {
    const f = keyFile('k');
    expect(authFromOptions({ auth: 'simple', 'key-file': f, 'key-id': '0' })!.keyId).toBe(0);
    expect(authFromOptions({ auth: 'simple', 'key-file': f, 'key-id': '255' })!.keyId).toBe(255);
    for (const bad of ['256', '-1', '1.5', 'x', '', '0x10']) {
      expect(() => authFromOptions({ auth: 'simple', 'key-file': f, 'key-id': bad })).toThrow(
        `--key-id must be an integer from 0 to 255, got '${bad}'`,
      );
    }
  });

  it('option errors name the option and the problem', () => {
    const f = keyFile('k');
    expect(() => authFromOptions({ auth: 'md5', 'key-file': f })).toThrow(
      /^--auth must be one of simple, keyed-md5, .*got 'md5'$/,
    );
    expect(() => authFromOptions({ auth: 'keyed-sha1' })).toThrow(
      '--auth keyed-sha1 needs --key-file PATH or --key-env NAME',
    );
    expect(() => authFromOptions({ 'key-file': f })).toThrow('--key-file needs --auth');
    expect(() => authFromOptions({ 'key-id': '3' })).toThrow('--key-id needs --auth');
    expect(() => authFromOptions({ 'key-env': 'K' })).toThrow('--key-env needs --auth');
    expect(() =>
      authFromOptions({ auth: 'simple', 'key-file': f, 'key-env': 'K' }, { K: 'k' }),
    ).toThrow('give only one of --key-file and --key-env');
    const missing = join(DIR, 'missing');
    expect(() => authFromOptions({ auth: 'simple', 'key-file': missing })).toThrow(
      `--key-file ${missing}: cannot read the key (ENOENT)`,
    );
  });

  it('bad authentication options exit 2 with the option named on stderr', async () => {
    const long = keyFile('k'.repeat(21));
    const base = ['--local', '127.0.0.1', '--peer', '127.0.0.2', '--port', String(PORT)];
    const cases: [string[], string][] = [
      [['--auth', 'keyed-sha1', '--key-file', long], `--key-file ${long}: the key is 21 octets`],
      [['--auth', 'simple', '--key-file', long, '--key-id', '300'], '--key-id must be'],
      [['--auth', 'sha256', '--key-file', long], '--auth must be one of'],
      [['--key-file', long], '--key-file needs --auth'],
    ];
    for (const [args, msg] of cases) {
      const r = run([...base, ...args]);
      expect(await exitOf(r.proc), args.join(' ')).toBe(2);
      expect(r.stderr()).toContain(`ixrs bfd: ${msg}`);
    }
  });

  it('RFC 5880 §6.7.4: two CLIs with meticulous-keyed-sha1 come Up; a wrong key never does', async () => {
    const port = PORT + 1;
    const common = ['--interval', '50', '--port', String(port), '--json', '--key-id', '42'];
    const a = run([
      ...['--local', '127.0.0.1', '--peer', '127.0.0.2', ...common],
      ...['--auth', 'meticulous-keyed-sha1', '--key-file', keyFile('twenty-octet-secret!\n')],
    ]);
    const b = run(
      [
        ...['--local', '127.0.0.2', '--peer', '127.0.0.1', ...common],
        ...['--auth', 'meticulous-keyed-sha1', '--key-env', 'IXRS_BFD_KEY'],
      ],
      { ...process.env, IXRS_BFD_KEY: 'twenty-octet-secret!' },
    );
    await until(
      () => a.lines.some((l) => l.state === 'Up') && b.lines.some((l) => l.state === 'Up'),
    );
    const up = a.lines.find((l) => l.state === 'Up')!;
    expect(up.detectMs).toBeGreaterThan(0);
    expect(up.txMs).toBeGreaterThan(0);
    expect(up.remoteDiscriminator).toBeGreaterThan(0);
    a.proc.kill('SIGTERM');
    b.proc.kill('SIGTERM');
    expect(await exitOf(a.proc)).toBe(0);
    expect(await exitOf(b.proc)).toBe(0);

    const port2 = PORT + 2;
    const common2 = ['--interval', '50', '--port', String(port2), '--json'];
    const c = run([
      ...['--local', '127.0.0.1', '--peer', '127.0.0.2', ...common2],
      ...['--auth', 'keyed-md5', '--key-file', keyFile('right')],
    ]);
    const d = run([
      ...['--local', '127.0.0.2', '--peer', '127.0.0.1', ...common2],
      ...['--auth', 'keyed-md5', '--key-file', keyFile('wrong')],
    ]);
    await new Promise((r) => setTimeout(r, 2500));
    expect(c.lines).toEqual([]);
    expect(d.lines).toEqual([]);
    expect(c.proc.exitCode).toBe(null);
  });
});

describe('state-change lines: detection time, TX interval, remote discriminator', () => {
  const BASE = 20000 + ((process.pid * 17 + 3) % 20000);
  let nextPort = BASE;
  const mgrs: BfdManager[] = [];
  afterEach(async () => {
    await Promise.all(mgrs.splice(0).map((m) => m.close({ adminDown: false })));
  });

  async function pair(intervalMs: number) {
    const port = nextPort++;
    const mk = async (local: string) => {
      const m = new BfdManager({ local, port, intervalMs });
      const events: BfdStateEvent[] = [];
      m.subscribe((e) => events.push(e));
      await m.start();
      mgrs.push(m);
      return { m, events };
    };
    const a = await mk('127.0.0.1');
    const b = await mk('127.0.0.2');
    a.m.addPeer('127.0.0.2');
    b.m.addPeer('127.0.0.1');
    await until(
      () =>
        a.m.session('127.0.0.2')?.state === 'Up' &&
        b.m.session('127.0.0.1')?.state === 'Up' &&
        !a.m.session('127.0.0.2')!.polling &&
        !b.m.session('127.0.0.1')!.polling,
    );
    return { a, b };
  }

  it('RFC 5880 §6.8.4: the Up line carries detectMs, txMs and the remote discriminator', async () => {
    const { a, b } = await pair(50);
    const up = a.events.find((e) => e.state === 'Up')!;
    expect(up.detectMs).toBeGreaterThan(0);
    expect(up.txMs).toBe(a.m.session('127.0.0.2')!.txIntervalMs);
    expect(up.remoteDiscriminator).toBe(b.m.session('127.0.0.1')!.localDiscriminator);
    expect(formatEvent(up, false)).toMatch(
      new RegExp(
        ` 127\\.0\\.0\\.2 Up \\(from (Down|Init)\\) diag=none remote-diag=none detect=${up.detectMs}ms tx=${up.txMs}ms remote-disc=${up.remoteDiscriminator}$`,
      ),
    );
    expect(JSON.parse(formatEvent(up, true))).toMatchObject({
      detectMs: up.detectMs,
      txMs: up.txMs,
      remoteDiscriminator: up.remoteDiscriminator,
    });
  });

  it('RFC 5880 §6.5: after a Poll/Final the next line shows the new detection time', async () => {
    const { a, b } = await pair(50);
    expect(a.m.session('127.0.0.2')!.detectMs).toBe(150);
    // b slows down: Poll with Desired Min TX 100 ms; a's detection time is 3 x 100.
    b.m.setTimers('127.0.0.1', { intervalMs: 100 });
    await until(() => !b.m.session('127.0.0.1')!.polling);
    expect(a.m.session('127.0.0.2')!.detectMs).toBe(300);
    const bDisc = b.m.session('127.0.0.1')!.localDiscriminator;
    b.m.removePeer('127.0.0.1'); // AdminDown
    await until(() => a.events.some((e) => e.state === 'Down'));
    expect(a.events.find((e) => e.state === 'Down')).toMatchObject({
      previous: 'Up',
      diag: 'neighbor-signaled-session-down',
      detectMs: 300,
      remoteDiscriminator: bDisc,
    });
  });

  it('RFC 5880 §6.8.4: a Down by detection timeout shows the detection time that expired, not 0', async () => {
    const { a, b } = await pair(50);
    b.m.setTimers('127.0.0.1', { intervalMs: 100 });
    await until(() => !b.m.session('127.0.0.1')!.polling);
    const bDisc = b.m.session('127.0.0.1')!.localDiscriminator;
    const i = mgrs.indexOf(b.m);
    mgrs.splice(i, 1);
    await b.m.close({ adminDown: false }); // silent: a's detection timer expires
    await until(() => a.events.some((e) => e.state === 'Down'));
    const down = a.events.find((e) => e.state === 'Down')!;
    expect(down).toMatchObject({
      previous: 'Up',
      diag: 'control-detection-time-expired',
      detectMs: 300,
      remoteDiscriminator: bDisc,
    });
    // After the Down we send once a second again (§6.8.3), to nobody known.
    expect(down.txMs).toBe(1000);
    expect(a.m.session('127.0.0.2')!.remoteDiscriminator).toBe(0);
    expect(formatEvent(down, false)).toContain(`detect=300ms tx=1000ms remote-disc=${bDisc}`);
  });
});
