/**
 * The lander against a real warehouse, connected as ingest_writer: once per file version,
 * manifest and rows together, bad rows dead-lettered with file and line, refused files leaving
 * nothing behind, and two landers racing for one file landing it once.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { landFile } from '../../../ingest/files/lander.ts';
import { roleUrl } from '../../../lib/config/roles.ts';
import { ShopflowError } from '../../../lib/errors.ts';
import { createPool } from '../../../lib/pg/pool.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { landed, ordersSource, scratchFolder } from './support.ts';

let warehouse: TestWarehouse;
let pool: pg.Pool;
const folder = scratchFolder('lander');

beforeAll(async () => {
  warehouse = await createTestWarehouse('ingest_files_lander');
  pool = createPool({ connectionString: roleUrl(warehouse.config, 'ingest_writer'), applicationName: 'files-lander-test', max: 3 });
});

afterAll(async () => {
  await pool?.end();
  await warehouse?.drop();
  folder.remove();
});

async function land(source: ReturnType<typeof ordersSource>, file: string) {
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

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

describe('landing a CSV file', () => {
  it('lands a file once, with a manifest row naming its size and hash; a re-run lands nothing', async () => {
    const source = ordersSource(folder.path, 'once');
    const text = 'order_id,customer,amount,ordered_on\n1,ann,10.50,2026-01-02\n2,"bob, jr",3,2026-01-03\n';
    writeFileSync(join(folder.path, 'once.csv'), text);

    const first = await land(source, 'once.csv');
    expect(first).toMatchObject({ outcome: 'landed', version: 1, rows: 2, badRows: 0 });
    const second = await land(source, 'once.csv');
    expect(second).toEqual({ outcome: 'unchanged', file: 'once.csv', version: 1 });

    const raw = await landed(warehouse.adminUrl, 'once');
    expect(raw.manifest).toEqual([
      {
        file_name: 'once.csv',
        version: 1,
        size_bytes: String(Buffer.byteLength(text)),
        content_sha256: sha256(text),
        rows_landed: '2',
        rows_dead: '0',
      },
    ]);
    expect(raw.rows.map((r) => [r.line_number, r.record])).toEqual([
      ['2', { order_id: '1', customer: 'ann', amount: '10.50', ordered_on: '2026-01-02' }],
      ['3', { order_id: '2', customer: 'bob, jr', amount: '3', ordered_on: '2026-01-03' }],
    ]);
  });

  it('lands a changed file again as its next version, keeping the first', async () => {
    const source = ordersSource(folder.path, 'changed');
    const path = join(folder.path, 'changed.csv');
    writeFileSync(path, 'order_id,customer,amount,ordered_on\n1,ann,10,2026-01-02\n');
    await land(source, 'changed.csv');
    writeFileSync(path, 'order_id,customer,amount,ordered_on\n1,ann,12,2026-01-02\n2,cy,1,2026-01-04\n');
    expect(await land(source, 'changed.csv')).toMatchObject({ outcome: 'landed', version: 2, rows: 2 });
    expect(await land(source, 'changed.csv')).toMatchObject({ outcome: 'unchanged', version: 2 });

    const raw = await landed(warehouse.adminUrl, 'changed');
    expect(raw.manifest.map((m) => [m.version, m.rows_landed])).toEqual([
      [1, '1'],
      [2, '2'],
    ]);
    expect(raw.rows.map((r) => [r.version, r.record['amount']])).toEqual([
      [1, '10'],
      [2, '12'],
      [2, '1'],
    ]);
  });

  it('dead-letters bad rows with file, line and reason in the same transaction as the good ones', async () => {
    const source = ordersSource(folder.path, 'bad_rows');
    writeFileSync(
      join(folder.path, 'bad.csv'),
      [
        'order_id,customer,amount,ordered_on',
        '1,"multi',
        'line",1.5,2026-01-02',
        'x,ann,1,2026-01-02',
        '3,ann,1',
        '',
        ',ann,1,2026-01-02',
        '5,ann,1,2026-02-30',
        '6,ann,2,2026-01-05',
        '',
      ].join('\n'),
    );
    expect(await land(source, 'bad.csv')).toMatchObject({ outcome: 'landed', rows: 2, badRows: 4 });

    const raw = await landed(warehouse.adminUrl, 'bad_rows');
    expect(raw.rows.map((r) => [r.line_number, r.record['order_id']])).toEqual([
      ['2', '1'],
      ['9', '6'],
    ]);
    expect(raw.rows[0]!.record['customer']).toBe('multi\nline');
    expect(raw.manifest[0]).toMatchObject({ rows_landed: '2', rows_dead: '4' });
    expect(raw.deadLetters.map((d) => [d.source_position, d.error_code, d.details['line']])).toEqual([
      ['bad_rows/bad.csv:4', 'FILES_BAD_VALUE', 4],
      ['bad_rows/bad.csv:5', 'FILES_COLUMN_COUNT', 5],
      ['bad_rows/bad.csv:7', 'FILES_MISSING_VALUE', 7],
      ['bad_rows/bad.csv:8', 'FILES_BAD_VALUE', 8],
    ]);
    expect(raw.deadLetters[0]!.reason).toBe('bad.csv: line 4, column order_id: "x" is not a whole number');
    expect(raw.deadLetters[3]!.reason).toContain('"2026-02-30" is not a valid date in the format YYYY-MM-DD');
    expect(raw.deadLetters[0]!.details).toEqual({ source: 'bad_rows', file: 'bad.csv', version: 1, line: 4 });
    expect(raw.deadLetters.map((d) => d.payload.toString('utf8'))).toEqual([
      'x,ann,1,2026-01-02',
      '3,ann,1',
      ',ann,1,2026-01-02',
      '5,ann,1,2026-02-30',
    ]);
  });

  it("keeps a bad record's exact bytes as its payload: the file's encoding, quoting and line breaks, not the parsed fields", async () => {
    // Regression: payloads were the parsed fields re-serialised as a JSON array (UTF-8, quotes
    // gone), so a latin1 export's bad row could not be pasted back into the file.
    const source = ordersSource(folder.path, 'exact_bytes', { delimiter: ';', encoding: 'latin1', decimal: ',' });
    const bad1 = Buffer.from('2;"Jörg ""JJ""\r\nMüller";zwölf;2026-01-02', 'latin1');
    const bad2 = Buffer.from('3;Zoë;1,5', 'latin1');
    const file = Buffer.concat([
      Buffer.from('order_id;customer;amount;ordered_on\r\n1;Åsa;1,5;2026-01-02\r\n', 'latin1'),
      bad1,
      Buffer.from('\r\n\r\n', 'latin1'),
      bad2,
      Buffer.from('\r\n4;Ève;2,5;2026-01-03', 'latin1'),
    ]);
    writeFileSync(join(folder.path, 'exact.csv'), file);
    expect(await land(source, 'exact.csv')).toMatchObject({ rows: 2, badRows: 2 });
    const raw = await landed(warehouse.adminUrl, 'exact_bytes');
    expect(raw.deadLetters.map((d) => [d.details['line'], d.payload.toString('hex'), d.payload_bytes])).toEqual([
      [3, bad1.toString('hex'), bad1.length],
      [6, bad2.toString('hex'), bad2.length],
    ]);

    const jsonl = ordersSource(folder.path, 'exact_bytes_jsonl', { encoding: 'utf16le' }, { format: 'jsonl' });
    const badLine = Buffer.from('{"order_id": 2, "customer": "Zoë", "amount": "zwölf"}', 'utf16le');
    writeFileSync(
      join(folder.path, 'exact.jsonl'),
      Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from('{"not json\r\n', 'utf16le'),
        badLine,
        Buffer.from('\n{"order_id": 3, "amount": 1}\n', 'utf16le'),
      ]),
    );
    expect(await land(jsonl, 'exact.jsonl')).toMatchObject({ rows: 1, badRows: 2 });
    const rawJsonl = await landed(warehouse.adminUrl, 'exact_bytes_jsonl');
    expect(rawJsonl.deadLetters.map((d) => [d.details['line'], d.error_code, d.payload.toString('hex')])).toEqual([
      [1, 'FILES_BAD_JSON', Buffer.from('{"not json', 'utf16le').toString('hex')],
      [2, 'FILES_BAD_VALUE', badLine.toString('hex')],
    ]);
  });

  it('reads the declared encoding, delimiter, quote, decimal and date format', async () => {
    const source = ordersSource(folder.path, 'european', {
      delimiter: ';',
      quote: "'",
      escape: "'",
      encoding: 'latin1',
      decimal: ',',
      thousands: '.',
      dateFormat: 'DD.MM.YYYY',
    });
    writeFileSync(
      join(folder.path, 'eu.csv'),
      Buffer.from("order_id;customer;amount;ordered_on\n7;'Müller; Jörg';1.234,56;31.12.2025\n", 'latin1'),
    );
    await land(source, 'eu.csv');
    const raw = await landed(warehouse.adminUrl, 'european');
    expect(raw.rows.map((r) => r.record)).toEqual([
      { order_id: '7', customer: 'Müller; Jörg', amount: '1234.56', ordered_on: '2025-12-31' },
    ]);
  });

  it('refuses a whole file, leaving nothing, when it is malformed, lacks a column or has too many bad rows', async () => {
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['unclosed.csv', 'order_id,customer,amount,ordered_on\n1,"ann,1,2026-01-02\n2,bo,1,2026-01-02\n', {}, 'FILES_MALFORMED_CSV'],
      // csv-parse's code for this one lacks the CSV_ prefix: it once escaped the mapping.
      ['stray-quote.csv', 'order_id,customer,amount,ordered_on\n1,an"n,1,2026-01-02\n', {}, 'FILES_MALFORMED_CSV'],
      ['header.csv', 'order_id,client,amount,ordered_on\n1,ann,1,2026-01-02\n', {}, 'FILES_HEADER_MISMATCH'],
      [
        'many.csv',
        'order_id,customer,amount,ordered_on\n1,a,1,2026-01-02\nx,a,1,2026-01-02\ny,a,1,2026-01-02\n',
        { maxBadRows: 1 },
        'FILES_TOO_MANY_BAD_ROWS',
      ],
    ];
    for (const [file, text, extra, code] of cases) {
      const name = `refused_${code.toLowerCase()}`;
      const source = ordersSource(folder.path, name, {}, extra);
      writeFileSync(join(folder.path, file), text);
      const refused = await land(source, file).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ShopflowError);
      expect((refused as ShopflowError).code).toBe(code);
      expect((refused as Error).message).toContain(file);
      expect(await landed(warehouse.adminUrl, name)).toEqual({ manifest: [], rows: [], deadLetters: [] });
    }
  });

  it('lands a file once when two landers race for it', async () => {
    const source = ordersSource(folder.path, 'race');
    const lines = ['order_id,customer,amount,ordered_on'];
    for (let i = 1; i <= 20_000; i++) lines.push(`${i},c${i},${i}.25,2026-01-02`);
    writeFileSync(join(folder.path, 'race.csv'), `${lines.join('\n')}\n`);
    const outcomes = await Promise.all([land(source, 'race.csv'), land(source, 'race.csv')]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['landed', 'unchanged']);
    const raw = await landed(warehouse.adminUrl, 'race');
    expect(raw.manifest).toHaveLength(1);
    expect(raw.rows).toHaveLength(20_000);
    expect(new Set(raw.rows.map((r) => r.line_number)).size).toBe(20_000);
  });
});

describe('raw.file_manifest and raw.file_rows privileges', () => {
  it('lets ingest_writer append but never change or remove, and keeps bi_reader out', async () => {
    const sqlstate = async (role: 'ingest_writer' | 'bi_reader', sql: string) => {
      const client = new pg.Client({ connectionString: roleUrl(warehouse.config, role) });
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query(sql);
        return 'ok';
      } catch (error) {
        return (error as { code?: string }).code;
      } finally {
        await client.end();
      }
    };
    for (const sql of [
      'update raw.file_manifest set rows_dead = 0',
      'delete from raw.file_manifest',
      'truncate raw.file_rows',
      `update raw.file_rows set record = '{}'`,
    ])
      expect([sql, await sqlstate('ingest_writer', sql)]).toEqual([sql, '42501']);
    expect(await sqlstate('bi_reader', 'select count(*) from raw.file_rows')).toBe('42501');
    expect(await sqlstate('bi_reader', 'select count(*) from raw.file_manifest')).toBe('42501');
  });
});

describe('landing a JSON lines file', () => {
  it('lands each object line once and dead-letters lines that are not JSON objects or not the declared types', async () => {
    const source = ordersSource(folder.path, 'jsonl', {}, { format: 'jsonl' });
    expect(source.pattern).toBe('*.jsonl');
    writeFileSync(
      join(folder.path, 'orders.jsonl'),
      [
        '{"order_id": 1, "customer": "ann", "amount": 10.5, "ordered_on": "2026-01-02", "extra": true}',
        '',
        '{"order_id": "2", "customer": null, "amount": "3.25", "ordered_on": "2026-01-03"}\r',
        '{"order_id": 3, "customer": "bob"',
        '[1, 2]',
        '{"order_id": 4, "customer": 5, "amount": 1, "ordered_on": "2026-01-03"}',
        '{"order_id": 5.5, "customer": "cy", "amount": 1, "ordered_on": "2026-01-03"}',
        '{"order_id": 6, "customer": "di", "amount": 1, "ordered_on": "2026-01-05"}',
      ].join('\n'),
    );
    expect(await land(source, 'orders.jsonl')).toMatchObject({ outcome: 'landed', version: 1, rows: 3, badRows: 4 });
    expect(await land(source, 'orders.jsonl')).toMatchObject({ outcome: 'unchanged', version: 1 });

    const raw = await landed(warehouse.adminUrl, 'jsonl');
    expect(raw.rows.map((r) => [r.line_number, r.record])).toEqual([
      ['1', { order_id: '1', customer: 'ann', amount: '10.5', ordered_on: '2026-01-02' }],
      ['3', { order_id: '2', customer: null, amount: '3.25', ordered_on: '2026-01-03' }],
      ['8', { order_id: '6', customer: 'di', amount: '1', ordered_on: '2026-01-05' }],
    ]);
    expect(raw.deadLetters.map((d) => [d.details['line'], d.error_code])).toEqual([
      [4, 'FILES_BAD_JSON'],
      [5, 'FILES_BAD_JSON'],
      [6, 'FILES_BAD_VALUE'],
      [7, 'FILES_BAD_VALUE'],
    ]);
    expect(raw.deadLetters[2]!.reason).toBe('orders.jsonl: line 6, column customer: 5 is a JSON number, not a text');
  });
});
