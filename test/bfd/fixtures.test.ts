// BFD Control packets captured off the wire from FRR bfdd and BIRD
// (scripts/capture-bfd-fixtures.ts): each decodes with the ixrs codec to what
// tshark decoded, and encodes back to the same bytes.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decode, encode, encodingLength, tryDecode } from '../../src/bfd/codec.ts';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/bfd');

interface Sidecar {
  source: { daemon: string; family: string; srcPort: number; dstPort: number; ttl: number };
  tshark: {
    version: number;
    diag: number;
    state: number;
    flags: {
      poll: boolean;
      final: boolean;
      cpi: boolean;
      auth: boolean;
      demand: boolean;
      multipoint: boolean;
    };
    detectMult: number;
    length: number;
    myDiscriminator: number;
    yourDiscriminator: number;
    desiredMinTx: number;
    requiredMinRx: number;
    requiredMinEchoRx: number;
    auth?: { type: number; len: number; keyId: number; password?: string; sequence?: number };
  };
}

function hex(s: string): Uint8Array {
  const clean = s.replace(/[^0-9a-fA-F]/g, '');
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) =>
    Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16),
  );
}

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.hex'))
  .sort()
  .map((f) => {
    const name = f.slice(0, -4);
    return {
      name,
      bytes: hex(readFileSync(join(DIR, f), 'utf8')),
      sidecar: JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Sidecar,
    };
  });

describe('BFD byte fixtures from FRR bfdd and BIRD', () => {
  it('has fixtures from both daemons, both families, every state and Poll/Final', () => {
    const names = fixtures.map((f) => f.name);
    for (const daemon of ['frr', 'bird']) {
      for (const fam of ['v4', 'v6']) {
        for (const part of ['-down', '-up-', '-up-poll-', '-up-final-']) {
          expect(
            names.some((n) => n.startsWith(daemon) && n.includes(part) && n.includes(fam)),
          ).toBe(true);
        }
      }
      expect(names.some((n) => n.startsWith(`${daemon}-init-`))).toBe(true);
    }
    expect(names.some((n) => n.startsWith('frr-admindown-'))).toBe(true);
    for (const auth of [
      'simple',
      'keyed-md5',
      'meticulous-keyed-md5',
      'keyed-sha1',
      'meticulous-keyed-sha1',
    ]) {
      expect(names.some((n) => /-v[46]-(.*)$/.exec(n)?.[1] === auth)).toBe(true);
    }
  });

  for (const { name, bytes, sidecar } of fixtures) {
    const t = sidecar.tshark;
    it(`RFC 5880 §4.1: ${name} decodes as tshark decoded it`, () => {
      const p = decode(bytes);
      expect(p.version).toBe(t.version);
      expect(p.diag).toBe(t.diag);
      expect(p.state).toBe(t.state);
      expect(p.poll).toBe(t.flags.poll);
      expect(p.final).toBe(t.flags.final);
      expect(p.cpi).toBe(t.flags.cpi);
      expect(p.auth !== undefined).toBe(t.flags.auth);
      expect(p.demand).toBe(t.flags.demand);
      expect(p.multipoint).toBe(t.flags.multipoint);
      expect(p.detectMult).toBe(t.detectMult);
      expect(encodingLength(p)).toBe(t.length);
      expect(p.myDiscriminator).toBe(t.myDiscriminator);
      expect(p.yourDiscriminator).toBe(t.yourDiscriminator);
      expect(p.desiredMinTx).toBe(t.desiredMinTx);
      expect(p.requiredMinRx).toBe(t.requiredMinRx);
      expect(p.requiredMinEchoRx).toBe(t.requiredMinEchoRx);
    });

    if (t.auth !== undefined) {
      const a = t.auth;
      const section = a.type === 1 ? '§4.2' : a.type <= 3 ? '§4.3' : '§4.4';
      it(`RFC 5880 ${section}: ${name} authentication section decodes as tshark decoded it`, () => {
        const p = decode(bytes);
        expect(p.auth).toBeDefined();
        const pa = p.auth!;
        expect(pa.type).toBe(a.type);
        expect(pa.keyId).toBe(a.keyId);
        expect(24 + a.len).toBe(t.length);
        if (pa.type === 1) {
          expect(new TextDecoder().decode(pa.password)).toBe(a.password);
        } else {
          expect(pa.sequence).toBe(a.sequence);
          expect(Array.from(pa.digest)).toEqual(Array.from(bytes.subarray(32, 24 + a.len)));
        }
      });
    }

    it(`RFC 5880 §4.1: ${name} re-encodes byte-exact`, () => {
      const p = tryDecode(bytes);
      expect('check' in p ? p : undefined).toBeUndefined();
      expect(Array.from(encode(decode(bytes)))).toEqual(Array.from(bytes));
    });
  }

  it('RFC 5881 §4: every captured packet went to port 3784 with TTL/Hop Limit 255', () => {
    for (const { sidecar } of fixtures) {
      expect(sidecar.source.dstPort).toBe(3784);
      expect(sidecar.source.ttl).toBe(255);
    }
  });
});
