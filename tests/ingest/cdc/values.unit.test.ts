import { describe, expect, it } from 'vitest';

import { datetimeToIso, makeRowConverter, MYSQL_TYPES, normalizeValue, toJsonText } from '../../../ingest/cdc/values.ts';

describe('datetimeToIso', () => {
  it('turns MySQL DATETIME text into ISO-8601 UTC with milliseconds', () => {
    expect(datetimeToIso('2026-01-31 12:00:00')).toBe('2026-01-31T12:00:00.000Z');
    expect(datetimeToIso('2026-01-31 12:00:00.5')).toBe('2026-01-31T12:00:00.500Z');
    expect(datetimeToIso('2026-01-31 12:00:00.123456')).toBe('2026-01-31T12:00:00.123Z');
  });

  it('maps zero dates, which name no instant, to null', () => {
    expect(datetimeToIso('0000-00-00 00:00:00')).toBeNull();
  });
});

describe('makeRowConverter', () => {
  const convert = makeRowConverter([
    { name: 'id', typeCode: MYSQL_TYPES.LONGLONG },
    { name: 'price', typeCode: MYSQL_TYPES.NEWDECIMAL },
    { name: 'born', typeCode: MYSQL_TYPES.DATE },
    { name: 'at', typeCode: MYSQL_TYPES.DATETIME2 },
    { name: 'ts', typeCode: MYSQL_TYPES.TIMESTAMP2 },
    { name: 'note', typeCode: MYSQL_TYPES.VAR_STRING },
    { name: 'raw', typeCode: MYSQL_TYPES.BLOB },
  ]);

  it('rewrites only temporal and binary columns, by column type', () => {
    const row = convert({
      id: 7,
      price: '19.99',
      born: '2026-01-31',
      at: '2026-01-31 12:00:00.250',
      ts: '2026-01-31 23:59:59',
      // Text that looks like a date stays text: the column type decides, not the content.
      note: '2026-01-31 12:00:00',
      raw: Buffer.from([0, 1, 2]),
    });
    expect(row).toEqual({
      id: 7,
      price: '19.99',
      born: '2026-01-31',
      at: '2026-01-31T12:00:00.250Z',
      ts: '2026-01-31T23:59:59.000Z',
      note: '2026-01-31 12:00:00',
      raw: 'AAEC',
    });
  });

  it('keeps NULL as null', () => {
    expect(convert({ id: 1, born: null, at: null })).toEqual({ id: 1, born: null, at: null });
  });
});

describe('normalizeValue and toJsonText', () => {
  it('keeps BIGINT beyond 2^53 exact as a string and small ones as numbers', () => {
    expect(normalizeValue(9007199254740993n)).toBe('9007199254740993');
    expect(normalizeValue(42n)).toBe(42);
  });

  it('replaces U+0000, which jsonb rejects, and says so', () => {
    expect(toJsonText({ a: 'x\u0000y' })).toEqual({ json: '{"a":"x\\ufffdy"}', hadNul: true });
    expect(toJsonText({ a: 'xy' })).toEqual({ json: '{"a":"xy"}', hadNul: false });
  });
});

describe('makeRowConverter issues', () => {
  it('lists each row its own invalid dates, without touching the previous row list', () => {
    const convert = makeRowConverter([
      { name: 'd', typeCode: MYSQL_TYPES.DATE },
      { name: 'dt', typeCode: MYSQL_TYPES.DATETIME2 },
    ]);
    convert({ d: '2024-01-31', dt: '2024-01-31 10:00:00' });
    const first = convert.issues;
    expect(convert({ d: '2024-00-15', dt: '2024-02-30 00:00:00' })).toEqual({ d: null, dt: null });
    expect(first).toEqual([]);
    expect(convert.issues).toEqual([
      { column: 'd', raw: '2024-00-15' },
      { column: 'dt', raw: '2024-02-30 00:00:00' },
    ]);
    expect(convert({ d: '0000-00-00', dt: null }).d).toBeNull();
    expect(convert.issues).toEqual([{ column: 'd', raw: '0000-00-00' }]);
  });

  it('gives a FLOAT as the shortest decimal of its 4-byte value, and YEAR 0000 as 0', () => {
    const convert = makeRowConverter([
      { name: 'f', typeCode: MYSQL_TYPES.FLOAT },
      { name: 'y', typeCode: MYSQL_TYPES.YEAR },
    ]);
    expect(convert({ f: 1.100000023841858, y: 1900 })).toEqual({ f: 1.1, y: 0 });
    expect(convert({ f: 1.1, y: 2024 })).toEqual({ f: 1.1, y: 2024 });
    expect(convert({ f: -3.4e38, y: 0 })).toEqual({ f: -3.4e38, y: 0 });
  });
});
