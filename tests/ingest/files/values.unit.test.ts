import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { recordStartLine } from '../../../ingest/files/csv-rows.ts';
import { parseSourceConfig } from '../../../ingest/files/source-config.ts';
import { parquetConverter } from '../../../ingest/files/parquet-rows.ts';
import { BadValue, canonicalDecimal, compileConverter, convertField, fitsBigint, fitsNumeric } from '../../../ingest/files/values.ts';

function csvOptions(csv: Record<string, unknown>) {
  const [source] = parseSourceConfig(
    { sources: [{ name: 's', folder: '.', table: 't', keys: ['a'], columns: [{ name: 'a', type: 'text' }], csv }] },
    'test',
    '/',
  );
  return source!.csv;
}

describe('field conversion', () => {
  const dflt = csvOptions({});
  const european = csvOptions({ decimal: ',', thousands: '.', dateFormat: 'DD.MM.YYYY', timestampFormat: 'DD.MM.YYYY HH:mm' });

  it('keeps numbers exact in canonical form', () => {
    expect(convertField('1.234,50', 'numeric', european)).toEqual({ ok: true, value: '1234.50' });
    expect(convertField('-0,5', 'numeric', european)).toEqual({ ok: true, value: '-0.5' });
    expect(convertField('12.34', 'numeric', dflt)).toEqual({ ok: true, value: '12.34' });
    expect(convertField('1,5', 'numeric', dflt).ok).toBe(false);
    expect(convertField('1.23.4', 'numeric', european).ok).toBe(false);
    expect(convertField('+42', 'integer', dflt)).toEqual({ ok: true, value: '42' });
    expect(convertField('4.2', 'integer', dflt).ok).toBe(false);
  });

  it('reads dates and timestamps in the declared format and refuses impossible ones', () => {
    expect(convertField('29.02.2024', 'date', european)).toEqual({ ok: true, value: '2024-02-29' });
    expect(convertField('29.02.2023', 'date', european)).toMatchObject({ ok: false, reason: expect.stringContaining('DD.MM.YYYY') });
    expect(convertField('2024-02-29', 'date', european).ok).toBe(false);
    expect(convertField('01.03.2026 08:05', 'timestamp', european)).toEqual({ ok: true, value: '2026-03-01T08:05:00' });
    expect(convertField('2026-03-01 24:00:00', 'timestamp', dflt).ok).toBe(false);
    // The default date format is read without its regex: the same answers.
    expect(convertField(' 2024-02-29 ', 'date', dflt)).toEqual({ ok: true, value: '2024-02-29' });
    for (const bad of ['2023-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-1-010', '2026/01/01', '2026-01-0x'])
      expect(convertField(bad, 'date', dflt)).toMatchObject({ ok: false, reason: expect.stringContaining('YYYY-MM-DD') });
    expect(convertField('2000-02-29', 'date', dflt)).toEqual({ ok: true, value: '2000-02-29' });
  });

  it('maps empty to null, booleans by the declared words, and refuses NUL in text', () => {
    expect(convertField('', 'integer', dflt)).toEqual({ ok: true, value: null });
    expect(convertField('', 'text', dflt)).toEqual({ ok: true, value: null });
    expect(convertField(' Yes ', 'boolean', dflt)).toEqual({ ok: true, value: true });
    expect(convertField('maybe', 'boolean', dflt).ok).toBe(false);
    expect(convertField('a\u0000b', 'text', dflt).ok).toBe(false);
  });

  it('round-trips any decimal through every separator pair', () => {
    const pairs = [
      { decimal: '.', thousands: '' },
      { decimal: '.', thousands: ',' },
      { decimal: ',', thousands: '.' },
      { decimal: ',', thousands: ' ' },
      { decimal: '.', thousands: "'" },
    ] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...pairs),
        fc.boolean(),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.option(fc.stringMatching(/^\d{1,6}$/), { nil: undefined }),
        (pair, negative, whole, fraction) => {
          const grouped = pair.thousands === '' ? whole.toString() : whole.toString().replace(/\B(?=(\d{3})+$)/g, pair.thousands);
          const text = `${negative ? '-' : ''}${grouped}${fraction === undefined ? '' : `${pair.decimal}${fraction}`}`;
          const expected = `${negative ? '-' : ''}${whole}${fraction === undefined ? '' : `.${fraction}`}`;
          expect(canonicalDecimal(text, pair)).toBe(expected);
        },
      ),
    );
  });
});

describe('values the typed columns cannot hold', () => {
  const dflt = csvOptions({});

  it('refuses whole numbers outside bigint, exactly at its bounds, leading zeros and signs included', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.nat({ max: 3 }), fc.boolean(), (n, zeros, plus) => {
        const digits = `${'0'.repeat(zeros)}${(n < 0n ? -n : n).toString()}`;
        const text = `${n < 0n ? '-' : plus ? '+' : ''}${digits}`;
        const fits = n >= -(2n ** 63n) && n < 2n ** 63n;
        expect(fitsBigint(text.replace(/^\+/, ''))).toBe(fits);
        expect(convertField(text, 'integer', dflt).ok).toBe(fits);
      }),
    );
    for (const edge of ['9223372036854775807', '-9223372036854775808'])
      expect(convertField(edge, 'integer', dflt)).toEqual({ ok: true, value: edge });
    expect(convertField('9223372036854775808', 'integer', dflt)).toMatchObject({ ok: false, reason: expect.stringContaining('bigint') });
  });

  it('refuses year 0 (no Postgres date) and numerics past Postgres limits', () => {
    expect(convertField('0000-01-01', 'date', dflt).ok).toBe(false);
    expect(convertField('0001-01-01', 'date', dflt)).toEqual({ ok: true, value: '0001-01-01' });
    expect(convertField('0000-01-01 00:00:00', 'timestamp', dflt).ok).toBe(false);
    expect(fitsNumeric(`${'9'.repeat(131072)}.5`)).toBe(true);
    expect(fitsNumeric(`-${'9'.repeat(131073)}`)).toBe(false);
    expect(fitsNumeric(`1.${'0'.repeat(16384)}`)).toBe(false);
    expect(convertField(`1.${'0'.repeat(16384)}`, 'numeric', dflt).ok).toBe(false);
  });
});

describe('record start line', () => {
  it('subtracts the line breaks inside quoted fields from the end line csv-parse reports', () => {
    expect(recordStartLine(7, ['3', '4\n\n5'])).toBe(5);
    expect(recordStartLine(5, ['3', 'x\r\ny'])).toBe(3);
    expect(recordStartLine(2, ['1', '2'])).toBe(2);
  });
});

describe('Parquet values to typed columns', () => {
  const options = csvOptions({});
  const integer = parquetConverter('integer', compileConverter('integer', options));
  const date = parquetConverter('date', compileConverter('date', options));

  it('takes bigints, safe integers and Dates as they are, and refuses what bigint and date columns cannot hold', () => {
    expect([integer(5), integer(-(2n ** 63n)), integer(2n ** 63n - 1n), integer('07')]).toEqual([
      '5',
      '-9223372036854775808',
      '9223372036854775807',
      '07',
    ]);
    expect(integer(2n ** 63n)).toBeInstanceOf(BadValue);
    expect(integer(2 ** 53)).toBeInstanceOf(BadValue);
    expect(integer(1.5)).toBeInstanceOf(BadValue);
    expect(date(new Date(Date.UTC(2026, 0, 2)))).toBe('2026-01-02');
    expect(date(new Date('0001-01-01T00:00:00Z'))).toBe('0001-01-01');
    for (const bad of ['0000-06-01T00:00:00Z', '-000001-01-01T00:00:00Z', '+010000-01-01T00:00:00Z', 'not a date'])
      expect(date(new Date(bad))).toBeInstanceOf(BadValue);
  });
});
