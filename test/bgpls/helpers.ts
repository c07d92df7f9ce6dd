// Shared helpers of the BGP-LS tests.

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Hex text (whitespace ignored) to bytes. */
export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
