/**
 * The raw_shop relation name of a source table: MariaDB allows 64 characters (up to 256 bytes),
 * a Postgres identifier keeps 63 bytes and cuts the rest without an error, so two long names
 * would share one change log if passed through as they are.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { typedRelationName } from '../../../ingest/cdc/typed-tables.ts';

const sourceName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 });

describe('typedRelationName', () => {
  it('keeps a name Postgres can hold as it is', () => {
    expect(typedRelationName('orders')).toBe('orders');
    expect(typedRelationName('x'.repeat(63))).toBe('x'.repeat(63));
  });

  it('fits every source name in 63 bytes, whole characters, and tells long names apart', () => {
    fc.assert(
      fc.property(sourceName, sourceName, (a, b) => {
        const relation = typedRelationName(a);
        expect(Buffer.byteLength(relation)).toBeLessThanOrEqual(63);
        expect(Buffer.from(relation, 'utf8').toString('utf8')).toBe(relation);
        if (Buffer.byteLength(a) > 63) expect(a.startsWith(relation.slice(0, -9))).toBe(true);
        else expect(relation).toBe(a);
        if (a !== b) expect(typedRelationName(b)).not.toBe(relation);
      }),
      { numRuns: 2000 },
    );
  });

  it('differs for names that share their first 63 bytes', () => {
    const one = typedRelationName(`${'t'.repeat(63)}1`);
    const two = typedRelationName(`${'t'.repeat(63)}2`);
    expect(one).not.toBe(two);
    expect(one).toMatch(/^t{54}_[0-9a-f]{8}$/);
    expect(Buffer.byteLength(typedRelationName('表'.repeat(22)))).toBeLessThanOrEqual(63);
  });
});
