// Messages captured from real daemons (fixtures/bgp/*.hex, written by
// scripts/capture-fixtures.ts with a .json sidecar of what tshark decoded):
// each decodes without error to what tshark saw and survives re-encoding.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/bgp/codec.ts';
import type { BgpMessage, CodecOptions } from '../../../src/bgp/types.ts';
import { hex } from './helpers.ts';

const DIR = join(import.meta.dirname, '../../../fixtures/bgp');

interface Sidecar {
  sender: string;
  opts: { as4: boolean; addPathRx?: string[]; addPathTx?: string[]; extendedMessage?: boolean };
  expected: Record<string, unknown>;
}

function files(): string[] {
  try {
    return readdirSync(DIR).filter((f) => f.endsWith('.hex'));
  } catch {
    return [];
  }
}

function options(s: Sidecar): CodecOptions {
  const rx = new Set(s.opts.addPathRx ?? []);
  return { as4: s.opts.as4, addPathRx: rx, addPathTx: rx, extendedMessage: s.opts.extendedMessage };
}

/**
 * The sidecar's expectation in the codec's terms: tshark's attribute type
 * list, capability codes and lengths dropped; dotted BGP Identifier as a
 * number; an attribute section holding only MP_(UN)REACH_NLRI is attrs null.
 */
function expectation(e: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...e };
  if (out.attrs && typeof out.attrs === 'object') {
    const { types, ...rest } = out.attrs as Record<string, unknown> & { types?: number[] };
    out.attrs = rest;
    if (types?.every((t) => t === 14 || t === 15)) delete out.attrs;
  }
  if (typeof out.bgpId === 'string') {
    out.bgpId = out.bgpId.split('.').reduce((a, x) => a * 256 + Number(x), 0);
  }
  if (Array.isArray(out.capabilities)) {
    out.capabilities = out.capabilities.map((c: Record<string, unknown>) => {
      const { code, length: _l, ...rest } = c;
      return rest.kind === 'unknown' ? { ...rest, code } : rest;
    });
  }
  return out;
}

describe('fixtures captured from real daemons', () => {
  const list = files();
  it('fixtures/bgp is present', () => {
    expect(list.length).toBeGreaterThan(0);
  });
  for (const f of list) {
    it(`decodes ${f}`, () => {
      const side = JSON.parse(
        readFileSync(join(DIR, f.replace(/\.hex$/, '.json')), 'utf8'),
      ) as Sidecar;
      const o = options(side);
      const m = decodeMessage(hex(readFileSync(join(DIR, f), 'utf8')), o) as BgpMessage & {
        errors?: unknown[];
      };
      if (m.type === 'update') expect(m.errors).toEqual([]);
      expect(m).toMatchObject(expectation(side.expected));
      const again = decodeMessage(encodeMessage(m, o), o);
      expect(again).toEqual(m);
    });
  }
});
