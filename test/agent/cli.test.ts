import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HELP, OPTIONS, parseAgentArgs } from '../../src/agent/cli.ts';
import { ConfigError } from '../../src/config/types.ts';

const BIN = fileURLToPath(new URL('../../bin/ixrs.js', import.meta.url));
const base = ['--asn', '64501', '--local', '192.0.2.1', '--rs', '192.0.2.254'];

function parse(argv: string[], files: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}) {
  return parseAgentArgs(argv, env, (p) => {
    const t = files[p];
    if (t === undefined) throw Object.assign(new Error('no'), { code: 'ENOENT' });
    return t;
  });
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, IXRS_SOURCE: '1' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('ixrs agent options', () => {
  it('--help names every option and the profile defaults', () => {
    for (const k of Object.keys(OPTIONS)) expect(HELP).toContain(`--${k}`);
    expect(HELP).toMatch(/--bfd-interval MS[\s\S]*default 1000/);
    expect(HELP).toMatch(/--bfd-multiplier N[\s\S]*default 3/);
    expect(HELP).toMatch(/--bring-up-timeout S[\s\S]*default 10/);
    expect(HELP).toMatch(/--hold-down S[\s\S]*default 0/);
  });

  it('profile §6 defaults: BFD 1000 ms x 3, bring-up 10 s, hold-down 0', () => {
    const p = parse(base);
    if (p === 'help') throw new Error('help');
    expect(p.options).toMatchObject({
      asn: 64501,
      local: '192.0.2.1',
      rs: '192.0.2.254',
      routerId: '192.0.2.1',
      bfdIntervalMs: 1000,
      bfdMultiplier: 3,
      bringUpMs: 10_000,
      holdDownMs: 0,
    });
  });

  it('an IPv4 and an IPv6 local, both route-server sessions', () => {
    const p = parse([
      ...base,
      '--local',
      '2001:db8::1',
      '--rs6',
      '2001:db8::fe',
      '--hold-down',
      '2.5',
    ]);
    if (p === 'help') throw new Error('help');
    expect(p.options).toMatchObject({
      local6: '2001:db8::1',
      rs6: '2001:db8::fe',
      holdDownMs: 2500,
    });
  });

  it.each([
    [['--local', '192.0.2.1', '--rs', '192.0.2.254'], /--asn is required/],
    [['--asn', '64501', '--rs', '192.0.2.254'], /--local is required/],
    [['--asn', '64501', '--local', '192.0.2.1'], /--rs .* is required/],
    [[...base, '--bfd-interval', '0'], /--bfd-interval: must be an integer from 1/],
    [
      [...base, '--bfd-multiplier', '300'],
      /--bfd-multiplier: must be an integer from 1 to 255, got '300'/,
    ],
    [[...base, '--bring-up-timeout', 'soon'], /--bring-up-timeout: must be a number/],
    [[...base, '--local', '192.0.2.9'], /one IPv4 local address only/],
    [[...base, '--rs6', '2001:db8::fe'], /--rs6 2001:db8::fe needs an IPv6 --local/],
    [[...base, '--local', 'fe80::1'], /not link-local/],
    [[...base, '--lan', '192.0.2.0'], /--lan: must be a prefix/],
    [[...base, '--router-id', '2001:db8::1'], /--router-id: must be an IPv4 address/],
    [[...base, '--auth', 'md5'], /--auth must be one of/],
    [[...base, '--key-id', '3'], /--key-id needs --auth/],
    [[...base, '--bogus'], /Unknown option '--bogus'/],
  ])('rejects %j', (argv, re) => {
    expect(() => parse(argv)).toThrow(re);
  });

  it('--config: values from the YAML file, the command line wins', () => {
    const p = parse(
      ['--config', 'a.yml', '--bfd-interval', '300'],
      {
        'a.yml':
          'asn: 64501\nlocal: [192.0.2.1, "2001:db8::1"]\nrs: 192.0.2.254\nrs6: "2001:db8::fe"\nbfd_interval: 100\nbfd_multiplier: 5\nlan: [192.0.2.0/24]\nauth:\n  type: keyed-sha1\n  key_env: K\n',
      },
      { K: 'secret' },
    );
    if (p === 'help') throw new Error('help');
    expect(p.options).toMatchObject({
      asn: 64501,
      local: '192.0.2.1',
      local6: '2001:db8::1',
      rs6: '2001:db8::fe',
      bfdIntervalMs: 300,
      bfdMultiplier: 5,
      lan: ['192.0.2.0/24'],
      auth: { keyId: 1 },
    });
  });

  it('--config errors name the file, the key and the line', () => {
    const cases: [string, RegExp][] = [
      [
        'asn: 64501\nlocal: 192.0.2.1\nrs: 192.0.2.254\nbfd_multiplier: 0\n',
        /a\.yml: bfd_multiplier \(line 4\): must be an integer from 1 to 255, got '0'/,
      ],
      [
        'asn: 64501\nlocal: 192.0.2.1\nrs: nowhere\n',
        /a\.yml: rs \(line 3\): must be an IP address/,
      ],
      [
        'asn: 64501\nlocal: [192.0.2.1, 10.0.0.1]\nrs: 192.0.2.254\n',
        /a\.yml: local\[1\] \(line 2\): one IPv4 local/,
      ],
      [
        'asn: 64501\nlocal: 192.0.2.1\nrs: 192.0.2.254\nhold_dwn: 3\n',
        /a\.yml: hold_dwn \(line 4\): unknown key/,
      ],
      ['asn: 64501\n  local: x\n', /a\.yml: <document> \(line \d\): YAML syntax/],
      [
        'asn: 64501\nlocal: 192.0.2.1\nrs: 192.0.2.254\nauth: {type: simple, key_env: NOPE}\n',
        /a\.yml: auth\.type \(line 4\): --key-env NOPE: the variable is not set/,
      ],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        parse(['--config', 'a.yml'], { 'a.yml': text });
      } catch (e) {
        err = e;
      }
      expect(String((err as Error)?.message), text).toMatch(re);
    }
    expect(() => parse(['--config', 'missing.yml'])).toThrow(
      /--config missing\.yml: cannot read the file \(ENOENT\)/,
    );
    try {
      parse(['--config', 'a.yml'], { 'a.yml': 'asn: [1]\n' });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
    }
  });

  it('bad options: exit 2, nothing started', async () => {
    const r = await run([
      'agent',
      '--asn',
      '64501',
      '--local',
      '127.0.0.1',
      '--rs',
      '127.0.0.1',
      '--bfd-multiplier',
      'x',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--bfd-multiplier: must be an integer from 1 to 255, got 'x'");
  });

  it.each([
    ['127.0.78.1', 0],
    ['0.0.0.0', 1],
  ])(
    'RFC 5881 §4: UDP 3784 taken (the router runs BFD, bound to %s): a clear message, exit 3',
    async (bound, n) => {
      const port = 40000 + ((process.pid * 11 + n) % 20000);
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind({ address: bound, port, exclusive: true }, r));
      try {
        const r = await run([
          'agent',
          '--asn',
          '64501',
          '--local',
          '127.0.78.1',
          '--rs',
          '127.0.78.254',
          '--bfd-port',
          String(port),
          '--control',
          `/tmp/ixrs-agent-test-${process.pid}.sock`,
        ]);
        expect(r.code).toBe(3);
        expect(r.stderr).toContain(`UDP port ${port} on 127.0.78.1 is taken`);
        expect(r.stderr).toContain('docs/agent.md');
      } finally {
        sock.close();
      }
    },
  );
});
