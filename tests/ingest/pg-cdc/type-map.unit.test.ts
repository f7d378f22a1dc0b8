/**
 * The Postgres type map and value converter: every raw_shop type it gives is one the warehouse's
 * ingest.cdc_ensure_typed_table accepts (migration 0140's pattern), each value's text becomes the
 * change log's JSON format, and values with no such form stay text (then _unmapped, never altered).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fieldEncoder } from '../../../ingest/cdc/typed-row.ts';
import { pgColumnType } from '../../../ingest/pg-cdc/type-map.ts';
import { pgValue, splitCopyLine } from '../../../ingest/pg-cdc/values.ts';
import { ROOT_DIR } from '../../../lib/config/index.ts';

const numericMod = (p: number, s: number) => ((p << 16) | s) + 4;

const CASES: [oid: number, mod: number, rawType: string][] = [
  [21, -1, 'bigint'],
  [23, -1, 'bigint'],
  [20, -1, 'bigint'],
  [1700, -1, 'numeric'],
  [1700, numericMod(12, 2), 'numeric(12,2)'],
  [700, -1, 'real'],
  [701, -1, 'double precision'],
  [16, -1, 'bigint'],
  [1082, -1, 'date'],
  [1114, 3, 'timestamp(3) without time zone'],
  [1114, -1, 'timestamp(6) without time zone'],
  [1114, 0, 'timestamp(3) without time zone'],
  [1184, 6, 'timestamp(6) with time zone'],
  [17, -1, 'bytea'],
  [25, -1, 'text'],
  [1043, 104, 'text'],
  [3802, -1, 'text'],
  [2950, -1, 'text'],
  [1186, -1, 'text'],
  [99999, -1, 'text'],
];

describe('pgColumnType', () => {
  it.each(CASES)('oid %i (typmod %i) lands as %s', (oid, mod, rawType) => {
    expect(pgColumnType(oid, mod).rawType).toBe(rawType);
  });

  it('gives only types the warehouse function accepts (migration 0140)', () => {
    const sql = readFileSync(join(ROOT_DIR, 'lib', 'warehouse', 'migrations', '0140_cdc_typed_change_log.sql'), 'utf8');
    const pattern = /p_types\[i\] !~ '([^']+)'/.exec(sql)?.[1];
    expect(pattern).toBeDefined();
    const accepted = new RegExp(pattern!);
    for (const [oid, mod] of CASES) expect(pgColumnType(oid, mod).rawType).toMatch(accepted);
  });
});

describe('pgValue', () => {
  it.each([
    ['42', 'integer', 42],
    ['9223372036854775807', 'integer', '9223372036854775807'],
    ['19.990', 'numeric', '19.990'],
    ['NaN', 'numeric', 'NaN'],
    ['1.5', 'float', 1.5],
    ['Infinity', 'float', 'Infinity'],
    ['t', 'boolean', 1],
    ['f', 'boolean', 0],
    ['2024-02-29', 'date', '2024-02-29'],
    ['2024-02-29 23:59:59', 'timestamp', '2024-02-29T23:59:59.000Z'],
    ['2024-02-29 23:59:59.5', 'timestamp', '2024-02-29T23:59:59.500Z'],
    ['2024-02-29 23:59:59.123456', 'timestamp', '2024-02-29T23:59:59.123456Z'],
    ['2024-02-29 23:59:59.12+00', 'timestamptz', '2024-02-29T23:59:59.120Z'],
    ['2024-03-01 01:30:00+02', 'timestamptz', '2024-02-29T23:30:00.000Z'],
    ['infinity', 'timestamp', 'infinity'],
    ['\\xdeadbeef', 'bytea', Buffer.from('deadbeef', 'hex').toString('base64')],
    ['{"a": 1}', 'text', '{"a": 1}'],
  ] as const)('%s as %s', (text, kind, expected) => {
    expect(pgValue(text, kind)).toEqual(expected);
  });

  it('keeps null', () => {
    expect(pgValue(null, 'integer')).toBeNull();
  });

  it('values that have no typed form are refused by the typed encoder, so they go to _unmapped unaltered', () => {
    expect(fieldEncoder('double precision')(pgValue('Infinity', 'float'))).toBeUndefined();
    expect(fieldEncoder('timestamp(3) without time zone')(pgValue('infinity', 'timestamp'))).toBeUndefined();
    expect(fieldEncoder('numeric(12,2)')(pgValue('NaN', 'numeric'))).toBeUndefined();
    expect(fieldEncoder('timestamp(6) with time zone')(pgValue('2024-01-01 00:00:00.000001+00', 'timestamptz'))).toBe(
      '2024-01-01T00:00:00.000001Z',
    );
  });
});

describe('splitCopyLine', () => {
  it('undoes the escapes COPY TO writes and reads \\N as null', () => {
    expect(splitCopyLine('1\t\\N\ta\\tb\\nc\\\\d\t\\\\x00')).toEqual(['1', null, 'a\tb\nc\\d', '\\x00']);
  });
});
