/**
 * One value decoder for both paths: a table holding every MariaDB type, read by the snapshot and
 * then the same rows through the binlog, must give identical JSON images. A difference meant a
 * re-snapshot silently changed values (YEAR 0000, FLOAT, JSON numbers past 2^53, ...).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCdcEnv, derivedState, LAYOUT, loggedChanges, runUntilIdle, sourceState, type CdcTestEnv } from '../helpers.ts';

const COLUMNS = `
  id          INT NOT NULL PRIMARY KEY,
  t_tiny      TINYINT NULL,
  t_tiny_u    TINYINT UNSIGNED NULL,
  t_bool      TINYINT(1) NULL,
  t_small     SMALLINT NULL,
  t_medium    MEDIUMINT NULL,
  t_medium_u  MEDIUMINT UNSIGNED NULL,
  t_int_u     INT UNSIGNED NULL,
  t_big       BIGINT NULL,
  t_big_u     BIGINT UNSIGNED NULL,
  t_dec       DECIMAL(14,4) NULL,
  t_dec0      DECIMAL(20,0) NULL,
  t_dec_wide  DECIMAL(38,10) NULL,
  t_float     FLOAT NULL,
  t_double    DOUBLE NULL,
  t_bit1      BIT(1) NULL,
  t_bit       BIT(13) NULL,
  t_year      YEAR NULL,
  t_date      DATE NULL,
  t_time      TIME NULL,
  t_time6     TIME(6) NULL,
  t_dt        DATETIME NULL,
  t_dt6       DATETIME(6) NULL,
  t_ts        TIMESTAMP(3) NULL DEFAULT NULL,
  t_char      CHAR(4) NULL,
  t_varchar   VARCHAR(64) NULL,
  t_text      TEXT NULL,
  t_longtext  LONGTEXT NULL,
  t_binary    BINARY(4) NULL,
  t_varbin    VARBINARY(16) NULL,
  t_blob      BLOB NULL,
  t_enum      ENUM('small','medium','large') NULL,
  t_set       SET('red','green','blue') NULL,
  t_json      JSON NULL,
  t_latin1    VARCHAR(16) CHARACTER SET latin1 NULL,
  t_uuid      UUID NULL,
  t_uuid4     UUID NULL,
  t_inet      INET6 NULL,
  t_inet4     INET6 NULL
`;

const ROWS = `
 (1, -128, 255, 1, -32768, -8388608, 16777215, 4294967295, -9223372036854775808, 18446744073709551615,
  1234567890.1234, 99999999999999999999, -1234567890123456789012345678.0123456789, 1.1, 0.1,
  b'1', b'1010101010101', 0, '1000-01-01', '-838:59:59', '12:34:56.789012', '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999',
  'ab', 'ünïcødé ✓ 𝄞 emoji 😀', CONCAT('tab\\t nl\\n cr\\r bs\\\\ quote" ', X'E2809D'), REPEAT('xy', 40), X'00FF10', X'DEADBEEF00', X'000102FEFF',
  'medium', 'red,blue', '{"big": 9007199254740993, "neg": -12345678901234567890, "f": 1.5e300, "s": "x\\u00e9", "a": [1, null, true]}',
  'caf\xe9', '6ccd780c-baba-1026-9564-5b8c656024db', '3f06af63-a93c-4e6a-9c1a-2f1c3b2d4e5f', '2001:db8::ff00:42:8329', '::ffff:192.0.2.128'),
 (2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0.0001, 0, 0.0000000001, -3.4e38, -1.7976931348623157e308,
  b'0', b'0', 1901, '2024-02-29', '00:00:00', '-00:00:00.000001', '2024-02-29 12:00:00', '2024-02-29 12:00:00.000001', '1970-01-01 00:00:01',
  '', '', '', '', X'', X'', X'',
  'small', '', '[]', '', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '::', '::1'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, 2155, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, 'null', NULL, NULL, NULL, NULL, NULL),
 (4, 1, 1, 1, 1, 1, 1, 1, 9007199254740993, 9007199254740992, -0.5, -1, 1, 3.14159, 2.718281828459045,
  b'1', b'1111111111111', 2024, '9999-12-31', '838:59:59', '23:59:59.999999', '9999-12-31 23:59:59', '0001-01-01 00:00:00.000001', NULL,
  'abcd', 'x', 'y', 'z', X'01020304', X'FF', X'FF',
  'large', 'red,green,blue', '{"n": 12345678901234567890123, "d": 0.1, "e": 1E2, "k": {"nested": [1.0]}}',
  NULL, '12345678-1234-1234-8234-123456789abc', '01234567-89ab-7def-8123-456789abcdef', '1:0:0:1::1', '::1.2.3.4')`;

/** The Postgres type each column of COLUMNS lands as in the typed layout (ingest/cdc/type-map.ts). */
const TYPED: Record<string, string> = {
  t_tiny: 'bigint',
  t_tiny_u: 'bigint',
  t_bool: 'bigint',
  t_small: 'bigint',
  t_medium: 'bigint',
  t_medium_u: 'bigint',
  t_int_u: 'bigint',
  t_big: 'bigint',
  t_big_u: 'numeric(20,0)',
  t_dec: 'numeric(14,4)',
  t_dec0: 'numeric(20,0)',
  t_dec_wide: 'numeric(38,10)',
  t_float: 'real',
  t_double: 'double precision',
  t_bit1: 'bytea',
  t_bit: 'bytea',
  t_year: 'smallint',
  t_date: 'date',
  t_time: 'interval',
  t_time6: 'interval',
  t_dt: 'timestamp(3) without time zone',
  t_dt6: 'timestamp(3) without time zone',
  t_ts: 'timestamp(3) with time zone',
  t_char: 'text',
  t_varchar: 'text',
  t_text: 'text',
  t_longtext: 'text',
  t_binary: 'bytea',
  t_varbin: 'bytea',
  t_blob: 'bytea',
  t_enum: 'text',
  t_set: 'text',
  t_json: 'text',
  t_latin1: 'text',
  // The bytes the binlog carries (ingest/cdc/snapshot-select.ts); docs/cdc.md shows how to read them.
  t_uuid: 'bytea',
  t_uuid4: 'bytea',
  t_inet: 'bytea',
  t_inet4: 'bytea',
};

/** docs/cdc.md's expressions that give UUID and INET6 bytes their Postgres types. */
const AS_UUID = (column: string) => `encode(${column}, 'hex')::uuid`;
const AS_INET = (column: string) => `regexp_replace(encode(${column}, 'hex'), '(.{4})(?!$)', '\\1:', 'g')::inet`;

let env: CdcTestEnv;

beforeAll(async () => {
  env = await createCdcEnv('cdc_types');
  await env.source.query(
    `SET SESSION sql_mode = ''; CREATE TABLE snap_types (${COLUMNS}) DEFAULT CHARSET=utf8mb4; INSERT INTO snap_types VALUES ${ROWS}`,
  );
});

afterAll(async () => {
  await env?.drop();
});

type Row = Record<string, unknown>;

async function images(table: string, operation: string): Promise<Row[]> {
  const changes = (await loggedChanges(env.wh, table)).filter((c) => c.operation === operation);
  return changes.map((c) => c.image!).sort((a, b) => Number(a.id) - Number(b.id));
}

describe('one value decoder for snapshot and binlog', () => {
  it('gives identical images for every MariaDB type through both paths', async () => {
    expect((await runUntilIdle(env)).end).toBe('idle');
    const snapshot = await images('snap_types', 'snapshot');
    expect(snapshot).toHaveLength(4);
    // The same rows again, now as binlog row events: a copy made on the source, and the
    // snapshotted table's own rows rewritten (delete + re-insert) in one transaction.
    await env.source
      .query(`SET SESSION sql_mode = ''; CREATE TABLE bin_types (${COLUMNS}) DEFAULT CHARSET=utf8mb4; INSERT INTO bin_types SELECT * FROM snap_types;
      START TRANSACTION; CREATE TEMPORARY TABLE keep AS SELECT * FROM snap_types; DELETE FROM snap_types; INSERT INTO snap_types SELECT * FROM keep; COMMIT`);
    expect((await runUntilIdle(env)).end).toBe('idle');
    const binlog = await images('bin_types', 'insert');
    const reinserted = await images('snap_types', 'insert');
    for (let i = 0; i < snapshot.length; i++) {
      expect(binlog[i], `row ${i + 1}, binlog copy`).toEqual(snapshot[i]);
      expect(reinserted[i], `row ${i + 1}, re-inserted`).toEqual(snapshot[i]);
    }
    expect(await derivedState(env.wh, 'snap_types')).toEqual(await sourceState(env.source, 'snap_types', ['id']));
    expect(await derivedState(env.wh, 'bin_types')).toEqual(await sourceState(env.source, 'bin_types', ['id']));
  });

  it.skipIf(LAYOUT !== 'typed')('types every column the same way from the snapshot and the binlog, none left unmapped', async () => {
    const columnTypes = async (table: string) =>
      (
        await env.wh.query<{ name: string; pg_type: string }>(
          `select attname as name, format_type(atttypid, atttypmod) as pg_type from pg_attribute
            where attrelid = $1::regclass and attnum > 0 and not attisdropped and attname like 't\\_%' order by attnum`,
          [`raw_shop.${table}`],
        )
      ).rows;
    const expected = Object.entries(TYPED).map(([name, pg_type]) => ({ name, pg_type }));
    expect(await columnTypes('snap_types')).toEqual(expected);
    expect(await columnTypes('bin_types')).toEqual(expected);
    for (const table of ['snap_types', 'bin_types']) {
      const unmapped = await env.wh.query(`select count(*)::int as n from raw_shop.${table} where _unmapped is not null`);
      expect(unmapped.rows[0].n, table).toBe(0);
    }
  });

  it.skipIf(LAYOUT !== 'typed')(
    'lands UUID and INET6 as bytes that the documented expressions turn back into the source values',
    async () => {
      const [source] = await env.source.query(
        'SELECT id, CAST(t_uuid AS CHAR) AS t_uuid, CAST(t_uuid4 AS CHAR) AS t_uuid4, CAST(t_inet AS CHAR) AS t_inet, CAST(t_inet4 AS CHAR) AS t_inet4 FROM snap_types ORDER BY id',
      );
      const sourceRows = source as Record<string, string | null>[];
      // The snapshot's rows of snap_types and the binlog's rows of bin_types, each read back.
      for (const [table, operation] of [
        ['snap_types', 'snapshot'],
        ['bin_types', 'insert'],
      ]) {
        const landed = await env.wh.query(
          `select id::int as id, ${AS_UUID('t_uuid')}::text as t_uuid, ${AS_UUID('t_uuid4')}::text as t_uuid4,
                ${AS_INET('t_inet')} as t_inet, ${AS_INET('t_inet4')} as t_inet4
           from raw_shop.${table} where operation = $1 order by id`,
          [operation],
        );
        expect(landed.rows, table).toHaveLength(sourceRows.length);
        for (const [i, row] of sourceRows.entries()) {
          const expected = await env.wh.query(
            'select $1::uuid::text as t_uuid, $2::uuid::text as t_uuid4, $3::inet as t_inet, $4::inet as t_inet4',
            [row.t_uuid, row.t_uuid4, row.t_inet, row.t_inet4],
          );
          expect(landed.rows[i], `${table} row ${row.id}`).toEqual({ id: Number(row.id), ...expected.rows[0] });
        }
      }
    },
  );
});
