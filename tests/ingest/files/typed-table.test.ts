/**
 * raw_files.<source> against a real warehouse: the type map (ingest/files/pg-types.ts) and
 * migration 0240's ingest.files_ensure_typed_table agree on every type and every type change;
 * a source's table follows its config (created with the first file, widened when a declared type
 * changes, never narrowed); values a column type cannot hold become dead letters, not a failed
 * COPY; the table is append-only for ingest_writer; and a warehouse whose files landed in the
 * jsonb layout lands them again, typed, as their next version.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { landFile } from '../../../ingest/files/lander.ts';
import { FILE_PG_TYPES, holds, PG_TYPE_OF, widenFilePgType } from '../../../ingest/files/pg-types.ts';
import { COLUMN_TYPES, parseSourceConfig, type FileSource } from '../../../ingest/files/source-config.ts';
import { roleUrl } from '../../../lib/config/roles.ts';
import { createPool } from '../../../lib/pg/pool.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { landed, ordersSource, scratchFolder } from './support.ts';

let warehouse: TestWarehouse;
let pool: pg.Pool;
let admin: pg.Client;
const folder = scratchFolder('typed');

beforeAll(async () => {
  warehouse = await createTestWarehouse('ingest_files_typed');
  pool = createPool({ connectionString: roleUrl(warehouse.config, 'ingest_writer'), applicationName: 'files-typed-test', max: 2 });
  admin = new pg.Client({ connectionString: warehouse.adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await pool?.end();
  await warehouse?.drop();
  folder.remove();
});

async function land(source: FileSource, file: string) {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await landFile(client, source, file);
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Runs `sql` as ingest_writer; 'ok' or the SQLSTATE it failed with. */
async function asRole(role: 'ingest_writer' | 'bi_reader' | 'transformer', sql: string, params: unknown[] = []): Promise<string> {
  const client = new pg.Client({ connectionString: roleUrl(warehouse.config, role) });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql, params);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end();
  }
}

async function columnTypes(table: string): Promise<Record<string, string>> {
  const result = await admin.query<{ name: string; pg_type: string }>(
    `select attname::text as name, format_type(atttypid, atttypmod) as pg_type from pg_attribute
      where attrelid = to_regclass($1) and attnum > 0 and not attisdropped order by attnum`,
    [table],
  );
  return Object.fromEntries(result.rows.map((r) => [r.name, r.pg_type]));
}

const ensure = (table: string, columns: string[], types: string[]) =>
  asRole('ingest_writer', 'select ingest.files_ensure_typed_table($1, $2::text[], $3::text[])', [table, columns, types]);

describe('the type map and the migration agree', () => {
  it('creates a column of exactly the mapped type for every declared column type', async () => {
    const columns = COLUMN_TYPES.map((t) => `c_${t}`);
    expect(
      await ensure(
        'map_check',
        columns,
        COLUMN_TYPES.map((t) => PG_TYPE_OF[t]),
      ),
    ).toBe('ok');
    expect(await columnTypes('raw_files.map_check')).toEqual({
      file_id: 'bigint',
      line_number: 'bigint',
      _loaded_at: 'timestamp with time zone',
      ...Object.fromEntries(COLUMN_TYPES.map((t) => [`c_${t}`, PG_TYPE_OF[t]])),
    });
  });

  it('accepts a type change exactly when one of the two types holds the other, and keeps the wider', async () => {
    let n = 0;
    for (const from of FILE_PG_TYPES)
      for (const to of FILE_PG_TYPES) {
        const table = `change_${n++}`;
        expect(await ensure(table, ['v'], [from])).toBe('ok');
        const outcome = await ensure(table, ['v'], [to]);
        const allowed = holds(to, from) || holds(from, to);
        expect([from, to, outcome]).toEqual([from, to, allowed ? 'ok' : '22023']);
        if (allowed) expect([from, to, (await columnTypes(`raw_files.${table}`))['v']]).toEqual([from, to, holds(to, from) ? to : from]);
        // What the lander asks for is always allowed.
        expect(await ensure(table, ['v'], [widenFilePgType((await columnTypes(`raw_files.${table}`))['v'] as never, to)])).toBe('ok');
      }
  });

  it('refuses what no config can declare: another type, a reserved or unsafe name', async () => {
    expect(await ensure('refusals', ['v'], ['integer'])).toBe('22023');
    expect(await ensure('refusals', ['v'], ['text; drop table raw.file_manifest'])).toBe('22023');
    expect(await ensure('refusals', ['file_id'], ['text'])).toBe('22023');
    expect(await ensure('refusals', ['Bad"Name'], ['text'])).toBe('22023');
    expect(await ensure('Refusals', ['v'], ['text'])).toBe('22023');
    expect(await ensure('x'.repeat(64), ['v'], ['text'])).toBe('22023');
  });

  it('creates the table of a 63-byte source name with an index name that fits', async () => {
    const name = `s${'x'.repeat(62)}`;
    expect(await ensure(name, ['v'], ['text'])).toBe('ok');
    const index = await admin.query<{ indexname: string }>(
      `select indexname from pg_indexes where schemaname = 'raw_files' and tablename = $1 and indexdef like '%brin%'`,
      [name],
    );
    expect(index.rows).toHaveLength(1);
    expect(Buffer.byteLength(index.rows[0]!.indexname)).toBeLessThanOrEqual(63);
  });
});

describe("a source's table follows its config", () => {
  it('is created with the first file and widened when a declared type changes; old rows keep their values', async () => {
    const doc = (amount: string, ordered: string) => ({
      sources: [
        {
          name: 'evolving',
          folder: '.',
          table: 'orders',
          keys: ['order_id'],
          columns: [
            { name: 'order_id', type: 'integer' },
            { name: 'amount', type: amount },
            { name: 'ordered_on', type: ordered },
          ],
        },
      ],
    });
    const header = 'order_id,amount,ordered_on,note\n';
    writeFileSync(join(folder.path, 'ev-1.csv'), `${header}1,10,2026-01-02,x\n`);
    const first = parseSourceConfig(doc('integer', 'date'), 'test', folder.path)[0]!;
    await land(first, 'ev-1.csv');
    expect(await columnTypes('raw_files.evolving')).toMatchObject({ order_id: 'bigint', amount: 'bigint', ordered_on: 'date' });

    writeFileSync(join(folder.path, 'ev-2.csv'), `${header}2,10.25,2026-01-03 08:30:00,y\n`);
    const second = parseSourceConfig(doc('numeric', 'timestamp'), 'test', folder.path)[0]!;
    await land(second, 'ev-2.csv');
    expect(await columnTypes('raw_files.evolving')).toMatchObject({ amount: 'numeric', ordered_on: 'timestamp without time zone' });

    // Declared narrower again: the column stays wide and holds the new values as they are.
    writeFileSync(join(folder.path, 'ev-3.csv'), `${header}3,7,2026-01-04,z\n`);
    await land(first, 'ev-3.csv');
    // A type that holds neither: text holds both.
    const third = parseSourceConfig(
      {
        sources: [
          {
            ...doc('numeric', 'date').sources[0]!,
            columns: [...doc('numeric', 'date').sources[0]!.columns, { name: 'note', type: 'boolean' }],
          },
        ],
      },
      'test',
      folder.path,
    )[0]!;
    writeFileSync(join(folder.path, 'ev-4.csv'), `${header}4,1,2026-01-05,true\n`);
    await land(third, 'ev-4.csv');
    const boolAsText = parseSourceConfig(
      {
        sources: [
          {
            ...doc('numeric', 'date').sources[0]!,
            columns: [...doc('numeric', 'date').sources[0]!.columns, { name: 'note', type: 'date' }],
          },
        ],
      },
      'test',
      folder.path,
    )[0]!;
    writeFileSync(join(folder.path, 'ev-5.csv'), `${header}5,1,2026-01-06,2026-02-01\n`);
    await land(boolAsText, 'ev-5.csv');
    expect(await columnTypes('raw_files.evolving')).toMatchObject({
      order_id: 'bigint',
      amount: 'numeric',
      ordered_on: 'timestamp without time zone',
      note: 'text',
    });
    const rows = await admin.query(`select order_id::text, amount::text, ordered_on::text, note from raw_files.evolving order by order_id`);
    expect(rows.rows).toEqual([
      { order_id: '1', amount: '10', ordered_on: '2026-01-02 00:00:00', note: null },
      { order_id: '2', amount: '10.25', ordered_on: '2026-01-03 08:30:00', note: null },
      { order_id: '3', amount: '7', ordered_on: '2026-01-04 00:00:00', note: null },
      { order_id: '4', amount: '1', ordered_on: '2026-01-05 00:00:00', note: 'true' },
      { order_id: '5', amount: '1', ordered_on: '2026-01-06 00:00:00', note: '2026-02-01' },
    ]);
  });

  it('dead-letters values the column types cannot hold, with their exact bytes, and lands the rest', async () => {
    const source = ordersSource(folder.path, 'out_of_range');
    const bad = ['9223372036854775808,big,1,2026-01-02', '3,zero,1,0000-01-01'];
    writeFileSync(
      join(folder.path, 'range.csv'),
      [
        'order_id,customer,amount,ordered_on',
        '9223372036854775807,max,1,2026-01-02',
        ...bad,
        '-9223372036854775808,min,1,9999-12-31',
        '',
      ].join('\n'),
    );
    expect(await land(source, 'range.csv')).toMatchObject({ outcome: 'landed', rows: 2, badRows: 2 });
    const raw = await landed(warehouse.adminUrl, 'out_of_range');
    expect(raw.rows.map((r) => r.record['order_id'])).toEqual(['9223372036854775807', '-9223372036854775808']);
    expect(raw.deadLetters.map((d) => [d.error_code, d.payload.toString('utf8')])).toEqual([
      ['FILES_BAD_VALUE', bad[0]],
      ['FILES_BAD_VALUE', bad[1]],
    ]);
    expect(raw.deadLetters[0]!.reason).toContain('outside the range of a 64-bit integer');
  });

  it('is append-only for ingest_writer, readable by transformer, closed to bi_reader', async () => {
    const source = ordersSource(folder.path, 'privileges');
    writeFileSync(join(folder.path, 'priv.csv'), 'order_id,customer,amount,ordered_on\n1,ann,1,2026-01-02\n');
    await land(source, 'priv.csv');
    for (const sql of [
      'update raw_files.privileges set amount = 0',
      'delete from raw_files.privileges',
      'truncate raw_files.privileges',
      'alter table raw_files.privileges add column x text',
      'drop table raw_files.privileges',
      'create table raw_files.mine (x int)',
    ])
      expect([sql, await asRole('ingest_writer', sql)]).toEqual([sql, '42501']);
    expect(await asRole('transformer', 'select count(*) from raw_files.privileges')).toBe('ok');
    expect(await asRole('bi_reader', 'select count(*) from raw_files.privileges')).toBe('42501');
  });
});

describe('upgrading a warehouse whose files landed as jsonb', () => {
  it('lands each file still in its folder again, typed, as its next version; the jsonb history stays', async () => {
    const source = ordersSource(folder.path, 'upgraded');
    const text = 'order_id,customer,amount,ordered_on\n1,ann,10.50,2026-01-02\n';
    writeFileSync(join(folder.path, 'old.csv'), text);
    const { createHash } = await import('node:crypto');
    // What migration 0240 leaves of a file landed before it: a manifest row in the jsonb layout
    // and its rows in raw.file_rows.
    const old = await admin.query<{ file_id: string }>(
      `insert into raw.file_manifest (source_name, file_name, version, size_bytes, content_sha256, rows_landed, rows_dead, layout)
       values ('upgraded', 'old.csv', 1, $1, $2, 1, 0, 'jsonb') returning file_id`,
      [Buffer.byteLength(text), createHash('sha256').update(text).digest('hex')],
    );
    await admin.query(`insert into raw.file_rows (file_id, line_number, record) values ($1, 2, '{"order_id": "1"}')`, [
      old.rows[0]!.file_id,
    ]);

    expect(await land(source, 'old.csv')).toMatchObject({ outcome: 'landed', version: 2, rows: 1 });
    expect(await land(source, 'old.csv')).toMatchObject({ outcome: 'unchanged', version: 2 });
    const raw = await landed(warehouse.adminUrl, 'upgraded');
    expect(raw.manifest.map((m) => m.version)).toEqual([1, 2]);
    expect(raw.rows.map((r) => [r.version, r.record])).toEqual([
      [2, { order_id: '1', customer: 'ann', amount: '10.50', ordered_on: '2026-01-02' }],
    ]);
    const history = await admin.query('select count(*)::int as n from raw.file_rows where file_id = $1', [old.rows[0]!.file_id]);
    expect(history.rows[0]).toEqual({ n: 1 });
  });
});
