/**
 * File sources on an S3-compatible prefix, against the lakehouse's real S3Proxy (started here as
 * `services:up` starts it with LAKEHOUSE_ENABLED=true) and a real warehouse: our SigV4 client
 * lists (across pages), puts and gets keys that need encoding; a source's objects directly under
 * its prefix and matching its pattern land once each through the folder path's lander (manifest
 * named s3://bucket/key with the listed ETag), a replaced object lands as its next version, bad
 * rows keep their exact bytes, Parquet lands from a spooled object, an object replaced between
 * listing and reading is left for the next pass, and a bucket that does not exist is refused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parquetWriteBuffer } from 'hyparquet-writer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { landSources } from '../../../ingest/files/ingestor.ts';
import { landS3File, listS3Files } from '../../../ingest/files/s3-source.ts';
import { parseSourceConfig, type FileSource } from '../../../ingest/files/source-config.ts';
import { ROOT_DIR } from '../../../lib/config/index.ts';
import { roleUrl } from '../../../lib/config/roles.ts';
import { ShopflowError } from '../../../lib/errors.ts';
import { createLogger } from '../../../lib/logger.ts';
import { createPool } from '../../../lib/pg/pool.ts';
import { S3Client, s3Settings } from '../../../lib/s3/client.ts';
import { upServices } from '../../../scripts/services/index.ts';
import { s3proxyService } from '../../../scripts/services/s3proxy.ts';
import { testConfig, uniqueSuffix } from '../../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { landed, ordersSourceDocument, scratchFolder } from './support.ts';

const config = testConfig();
// Bootstrap installs S3Proxy with LAKEHOUSE_ENABLED=true and always in CI; a developer who has
// not switched the lakehouse on (and names no S3_ENDPOINT) has no S3 store to test against.
const installed = !config.managed.s3 || existsSync(join(config.dataDir, 's3proxy', 'lib'));
if (!installed && config.CI)
  throw new Error('CI must test S3 file sources, but S3Proxy is not installed (bootstrap installs it when CI=true)');

const bucket = config.S3_BUCKET;
const prefix = `tests/files-${uniqueSuffix()}/`;
const s3 = new S3Client(s3Settings(config));
let warehouse: TestWarehouse;
let pool: pg.Pool;
const scratch = scratchFolder('s3');

const header = 'order_id,customer,amount,ordered_on\n';

describe.skipIf(!installed)('file sources on an S3 prefix', () => {
  beforeAll(async () => {
    if (config.managed.s3) {
      const [outcome] = await upServices({ ...config, LAKEHOUSE_ENABLED: true }, [s3proxyService]);
      if (!outcome?.ok) throw new Error(`S3Proxy did not start: ${outcome?.message}`);
    }
    warehouse = await createTestWarehouse('ingest_files_s3');
    pool = createPool({ connectionString: roleUrl(warehouse.config, 'ingest_writer'), applicationName: 'files-s3-test', max: 2 });
  }, 120_000);

  afterAll(async () => {
    await pool?.end();
    await warehouse?.drop();
    scratch.remove();
    for await (const object of s3.list(bucket, prefix)) await s3.delete(bucket, object.key);
  });

  const source = (name: string, sub: string, extra: Record<string, unknown> = {}): FileSource =>
    parseSourceConfig(
      { sources: [{ ...ordersSourceDocument(name, {}, extra), folder: undefined, s3: { bucket, prefix: `${prefix}${sub}/` } }] },
      'test',
      '/',
    )[0]!;

  const pass = (sources: FileSource[]) => landSources(pool, sources, createLogger('files-s3-test', warehouse.config), undefined, s3);

  it('puts, lists across pages and gets keys that need encoding, signed as S3Proxy checks them', async () => {
    const keys = ['a b.csv', 'ü+x=y.csv', 'c&d.csv', 'e%20f.csv', 'g~h.csv'].map((k) => `${prefix}client/${k}`);
    for (const [i, key] of keys.entries()) await s3.put(bucket, key, Buffer.from(`object ${i}\n`));
    const listed = [];
    for await (const object of s3.list(bucket, `${prefix}client/`, { pageSize: 2 })) listed.push(object);
    expect(listed.map((o) => o.key)).toEqual([...keys].sort());
    expect(listed.every((o) => /^[0-9a-f]{32}$/.test(o.etag))).toBe(true);
    for (const [i, key] of keys.entries()) {
      const chunks: Buffer[] = [];
      for await (const chunk of await s3.get(bucket, key)) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe(`object ${i}\n`);
    }
  });

  it('lands each matching object directly under the prefix once, named s3://bucket/key with its ETag; a replaced object is the next version', async () => {
    const src = source('s3_orders', 'orders');
    const at = (name: string) => `${prefix}orders/${name}`;
    await s3.put(bucket, at('jan.csv'), Buffer.from(`${header}1,ann,10.50,2026-01-02\n2,bob,3,2026-01-03\n`));
    await s3.put(bucket, at('feb.csv'), Buffer.from(`${header}3,cy,1.25,2026-02-01\nx,bad,1,2026-02-02\n`));
    await s3.put(bucket, at('notes.txt'), Buffer.from('not a source file'));
    await s3.put(bucket, at('archive/old.csv'), Buffer.from(`${header}9,old,1,2025-01-01\n`));

    const first = await pass([src]);
    expect(first.landed.map((f) => [f.file, f.version, f.rows, f.badRows])).toEqual([
      [`s3://${bucket}/${at('feb.csv')}`, 1, 1, 1],
      [`s3://${bucket}/${at('jan.csv')}`, 1, 2, 0],
    ]);
    expect(first.refused).toEqual([]);
    expect(await pass([src])).toMatchObject({ landed: [], unchanged: 2 });

    await s3.put(bucket, at('jan.csv'), Buffer.from(`${header}1,ann,11.00,2026-01-02\n`));
    const third = await pass([src]);
    expect(third.landed.map((f) => [f.file, f.version, f.rows])).toEqual([[`s3://${bucket}/${at('jan.csv')}`, 2, 1]]);

    const raw = await landed(warehouse.adminUrl, 's3_orders');
    expect(raw.rows.map((r) => [r.file_name.split('/').pop(), r.version, r.record['amount']])).toEqual([
      ['feb.csv', 1, '1.25'],
      ['jan.csv', 1, '10.50'],
      ['jan.csv', 1, '3'],
      ['jan.csv', 2, '11.00'],
    ]);
    expect(raw.deadLetters.map((d) => [d.source_position, d.payload.toString()])).toEqual([
      [`s3_orders/s3://${bucket}/${at('feb.csv')}:3`, 'x,bad,1,2026-02-02'],
    ]);
    const etags = await pg_query(
      `select file_name, source_etag from raw.file_manifest where source_name = 's3_orders' order by file_name, version`,
    );
    const listedNow = new Map((await listS3Files(s3, src)).map((f) => [f.name, f.object.etag]));
    expect(etags.at(-1)).toEqual({
      file_name: `s3://${bucket}/${at('jan.csv')}`,
      source_etag: listedNow.get(`s3://${bucket}/${at('jan.csv')}`),
    });
    expect(etags.every((e) => /^[0-9a-f]{32}$/.test(String(e['source_etag'])))).toBe(true);
  });

  it('lands Parquet from a spooled object (its footer needs random access)', async () => {
    const src = source('s3_parquet', 'parquet', { format: 'parquet' });
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'order_id', data: [1n, 2n] },
        { name: 'customer', data: ['ann', 'bob'] },
        { name: 'amount', data: [1.5, 2.25] },
        { name: 'ordered_on', data: [new Date(Date.UTC(2026, 0, 2)), new Date(Date.UTC(2026, 0, 3))] },
      ],
      schema: [
        { name: 'root', num_children: 4 },
        { name: 'order_id', type: 'INT64', repetition_type: 'REQUIRED' },
        { name: 'customer', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'amount', type: 'DOUBLE', repetition_type: 'REQUIRED' },
        { name: 'ordered_on', type: 'INT32', converted_type: 'DATE', repetition_type: 'REQUIRED' },
      ],
    });
    await s3.put(bucket, `${prefix}parquet/orders.parquet`, Buffer.from(buffer));
    expect((await pass([src])).landed.map((f) => f.rows)).toEqual([2]);
    const raw = await landed(warehouse.adminUrl, 's3_parquet');
    expect(raw.rows.map((r) => r.record)).toEqual([
      { order_id: '1', customer: 'ann', amount: '1.5', ordered_on: '2026-01-02' },
      { order_id: '2', customer: 'bob', amount: '2.25', ordered_on: '2026-01-03' },
    ]);
  });

  it('leaves an object replaced between listing and reading for the next pass, landing nothing of it', async () => {
    const src = source('s3_replaced', 'replaced');
    const key = `${prefix}replaced/r.csv`;
    await s3.put(bucket, key, Buffer.from(`${header}1,ann,1,2026-01-02\n`));
    const [listedFile] = await listS3Files(s3, src);
    await s3.put(bucket, key, Buffer.from(`${header}1,ann,2,2026-01-02\n2,bo,2,2026-01-02\n`));
    const client = await pool.connect();
    try {
      const refused = await landS3File(client, s3, src, listedFile!).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ShopflowError);
      expect((refused as ShopflowError).code).toBe('FILES_CHANGED_WHILE_LANDING');
    } finally {
      client.release();
    }
    expect((await landed(warehouse.adminUrl, 's3_replaced')).manifest).toEqual([]);
    expect((await pass([src])).landed.map((f) => f.rows)).toEqual([2]);
  });

  it('`npm run ingest:files` lands an S3 source with the S3 settings from its environment, then finds it unchanged', async () => {
    const key = `${prefix}cli/orders.csv`;
    const configFile = join(scratch.path, 'sources.json');
    writeFileSync(
      configFile,
      JSON.stringify({ sources: [{ ...ordersSourceDocument('s3_cli'), folder: undefined, s3: { bucket, prefix: `${prefix}cli/` } }] }),
    );
    const run = () =>
      spawnSync(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'ingest', 'files', 'cli.ts'), '--config', configFile], {
        cwd: ROOT_DIR,
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: process.env['HOME'] ?? '',
          WAREHOUSE_URL: warehouse.config.WAREHOUSE_URL,
          WAREHOUSE_INGEST_PASSWORD: warehouse.config.WAREHOUSE_INGEST_PASSWORD,
          S3_ENDPOINT: config.S3_ENDPOINT,
          S3_REGION: config.S3_REGION,
          S3_ACCESS_KEY_ID: config.S3_ACCESS_KEY_ID,
          S3_SECRET_ACCESS_KEY: config.S3_SECRET_ACCESS_KEY,
          S3_PATH_STYLE: String(config.S3_PATH_STYLE),
          LOG_LEVEL: 'info',
        },
      });
    await s3.put(bucket, key, Buffer.from(`${header}1,ann,1,2026-01-02\n`));
    const first = run();
    expect(first.status, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('"landed":1');
    const second = run();
    expect(second.status, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain('"unchanged":1');
    expect((await landed(warehouse.adminUrl, 's3_cli')).rows.map((r) => r.file_name)).toEqual([`s3://${bucket}/${key}`]);
  });

  it('refuses a source whose bucket does not exist, naming it', async () => {
    const missing = parseSourceConfig(
      { sources: [{ ...ordersSourceDocument('s3_missing'), folder: undefined, s3: { bucket: 'no-such-bucket-here', prefix: '' } }] },
      'test',
      '/',
    )[0]!;
    const error = await pass([missing]).catch((e: unknown) => e);
    expect((error as ShopflowError).code).toBe('FILES_S3_UNREADABLE');
    expect((error as Error).message).toContain('s3://no-such-bucket-here/');
  });
});

async function pg_query(sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: warehouse.adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}
