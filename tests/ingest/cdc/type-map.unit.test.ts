/**
 * The typed layout's type map (ingest/cdc/type-map.ts) against the two contracts it serves: every
 * column of the source DDL (generator/ddl/shop.sql) gets a Postgres type, and every value the
 * one converter (ingest/cdc/values.ts) produces for a source type fits the type mapped for it,
 * while a value that does not fit is refused (it would fail the COPY and the whole batch).
 */
import { describe, expect, it } from 'vitest';

import { pgTypeOf, widenPgType } from '../../../ingest/cdc/type-map.ts';
import { fieldEncoder, makeTypedRowEncoder } from '../../../ingest/cdc/typed-row.ts';
import { shopDdlColumns as shopColumns } from '../../helpers/shop-ddl.ts';
import { makeRowConverter, MYSQL_TYPES } from '../../../ingest/cdc/values.ts';

describe('type map', () => {
  it('gives every column of the shop DDL a Postgres type', () => {
    const columns = shopColumns();
    expect(columns.length).toBeGreaterThan(40);
    const unmapped = columns.filter((c) => pgTypeOf(c.columnType) === null);
    expect(unmapped).toEqual([]);
    const typeOf = (table: string, name: string) => pgTypeOf(columns.find((c) => c.table === table && c.name === name)!.columnType);
    expect(typeOf('orders', 'order_id')).toBe('numeric(20,0)');
    expect(typeOf('orders', 'total_amount')).toBe('numeric(12,2)');
    expect(typeOf('orders', 'placed_at')).toBe('timestamp(3) without time zone');
    expect(typeOf('orders', 'status')).toBe('text');
    expect(typeOf('inventory', 'quantity_on_hand')).toBe('bigint');
    expect(typeOf('products', 'is_active')).toBe('bigint');
  });

  it('reads information_schema COLUMN_TYPE text as the server and zongji print it', () => {
    expect(pgTypeOf('bigint(20) unsigned')).toBe('numeric(20,0)');
    expect(pgTypeOf('int(10) unsigned zerofill')).toBe('bigint');
    expect(pgTypeOf("enum('a)','b')")).toBe('text');
    expect(pgTypeOf("set('red','green')")).toBe('text');
    expect(pgTypeOf('varchar(20) /*M!100301 COMPRESSED*/')).toBe('text');
    expect(pgTypeOf('decimal(38,10)')).toBe('numeric(38,10)');
    expect(pgTypeOf('time(6)')).toBe('interval');
    expect(pgTypeOf('timestamp(3)')).toBe('timestamp(3) with time zone');
    expect(pgTypeOf('bit(13)')).toBe('bytea');
    expect(pgTypeOf('year(4)')).toBe('smallint');
    // The bytes the binlog carries for them (snapshot-select.ts reads snapshots the same way).
    for (const bytes of ['uuid', 'inet6', 'inet4', 'UUID']) expect(pgTypeOf(bytes), bytes).toBe('bytea');
    // No mapping: the values land in _unmapped.
    for (const unknown of ['geometry', 'point', 'vector(3)']) expect(pgTypeOf(unknown), unknown).toBeNull();
  });

  it('accepts every value the converter gives for a source type, in the column it maps to', () => {
    const cases: { columnType: string; typeCode: number; values: unknown[] }[] = [
      {
        columnType: 'bigint',
        typeCode: MYSQL_TYPES.LONGLONG,
        values: [0, -9007199254740991, '-9223372036854775808', '9223372036854775807'],
      },
      { columnType: 'bigint unsigned', typeCode: MYSQL_TYPES.LONGLONG, values: [42, '18446744073709551615'] },
      { columnType: 'decimal(12,2)', typeCode: MYSQL_TYPES.NEWDECIMAL, values: ['19.99', '-0.50', '9999999999.99', '0.00'] },
      { columnType: 'decimal(20,0)', typeCode: MYSQL_TYPES.NEWDECIMAL, values: ['99999999999999999999'] },
      { columnType: 'float', typeCode: MYSQL_TYPES.FLOAT, values: [1.100000023841858, -3.4e38] },
      { columnType: 'double', typeCode: MYSQL_TYPES.DOUBLE, values: [-1.7976931348623157e308, 0.1] },
      { columnType: 'year', typeCode: MYSQL_TYPES.YEAR, values: [1900, 2155] },
      { columnType: 'date', typeCode: MYSQL_TYPES.DATE, values: ['1000-01-01', '9999-12-31'] },
      { columnType: 'datetime(6)', typeCode: MYSQL_TYPES.DATETIME2, values: ['9999-12-31 23:59:59.999999', '0001-01-01 00:00:00'] },
      { columnType: 'timestamp(3)', typeCode: MYSQL_TYPES.TIMESTAMP2, values: ['2038-01-19 03:14:07.999'] },
      { columnType: 'time(6)', typeCode: MYSQL_TYPES.TIME2, values: ['-838:59:59', '838:59:59', '-00:00:00.000001'] },
      { columnType: 'bit(13)', typeCode: MYSQL_TYPES.BIT, values: [Buffer.from([0x15, 0x55])] },
      { columnType: 'varbinary(16)', typeCode: MYSQL_TYPES.VAR_STRING, values: [Buffer.from('deadbeef00', 'hex'), Buffer.alloc(0)] },
      { columnType: 'varchar(64)', typeCode: MYSQL_TYPES.VAR_STRING, values: ['tab\t nl\n bs\\', ''] },
      { columnType: 'longtext', typeCode: MYSQL_TYPES.BLOB, values: ['{"big": 9007199254740993}'] },
    ];
    for (const { columnType, typeCode, values } of cases) {
      const pgType = pgTypeOf(columnType)!;
      const convert = makeRowConverter([{ name: 'v', typeCode }]);
      const encode = fieldEncoder(pgType);
      for (const value of values) {
        const converted = convert({ v: value }).v;
        expect(encode(converted), `${columnType} ${String(value)} -> ${pgType}`).toBeTypeOf('string');
      }
    }
    expect(fieldEncoder('bytea')(Buffer.from([1, 2, 255]).toString('base64'))).toBe('\\\\x0102ff');
    expect(fieldEncoder('text')('a\tb\\c')).toBe('a\\tb\\\\c');
  });

  it('refuses a value its column cannot hold, so it goes to _unmapped instead of failing the batch', () => {
    expect(fieldEncoder('bigint')('abc')).toBeUndefined();
    expect(fieldEncoder('bigint')('9223372036854775808')).toBeUndefined();
    expect(fieldEncoder('bigint')(1.5)).toBeUndefined();
    expect(fieldEncoder('numeric(12,2)')('1.234')).toBeUndefined();
    expect(fieldEncoder('numeric(12,2)')('12345678901.00')).toBeUndefined();
    expect(fieldEncoder('date')('2024-02-29T00:00:00.000Z')).toBeUndefined();
    expect(fieldEncoder('interval')('12 hours')).toBeUndefined();
    const encode = makeTypedRowEncoder(
      [
        { name: 'id', pgType: 'bigint' },
        { name: 'qty', pgType: 'bigint' },
      ],
      true,
    );
    expect(encode({ id: 1, qty: 'many', shape: 'POINT(1 2)' })).toBe('1\t\\N');
    expect(encode.unmapped).toEqual({ qty: 'many', shape: 'POINT(1 2)' });
    expect(encode({ id: 2, qty: 3 })).toBe('2\t3');
    expect(encode.unmapped).toBeNull();
  });

  it('widens a changed column to a type that holds the values of both', () => {
    expect(widenPgType('numeric(12,2)', 'numeric(14,4)')).toBe('numeric(14,4)');
    expect(widenPgType('numeric(12,4)', 'numeric(20,0)')).toBe('numeric(24,4)');
    expect(widenPgType('bigint', 'numeric(20,0)')).toBe('numeric(20,0)');
    expect(widenPgType('smallint', 'bigint')).toBe('bigint');
    expect(widenPgType('bigint', 'numeric(12,2)')).toBe('numeric(21,2)');
    expect(widenPgType('real', 'double precision')).toBe('double precision');
    expect(widenPgType('date', 'timestamp(3) without time zone')).toBe('timestamp(3) without time zone');
    expect(widenPgType('bigint', 'text')).toBe('text');
    expect(widenPgType('timestamp(3) with time zone', 'bigint')).toBe('text');
  });
});
