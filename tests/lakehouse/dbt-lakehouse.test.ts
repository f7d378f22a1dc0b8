/**
 * One dbt project, two targets, the same rows: a small generated shop goes through the real
 * pipeline (the CDC ingestor lands it in Postgres raw and publishes it to the change topic; the
 * changes job lands that in Iceberg), then the models that build on Spark (staging, snapshots,
 * the orders' star schema and the sales marts) are built with `--target local` on the test's
 * Postgres database and with `--target lakehouse` through a Spark SQL endpoint of the test's own
 * (catalog in the same database, tables under the test's prefix), data tests included, and every
 * row of every one of them is compared: money to the cent, counts exact, timestamps in UTC.
 * Then a DBA's writes to the shop (a move, a price change, a cancellation, a deleted payment, a
 * new order) land through both paths, both targets build incrementally (Spark merges into
 * Iceberg) and every row is compared again, and once more after a full refresh on Postgres:
 * the incremental build on Spark equals a full refresh.
 *
 * Not compared: positions in the change log (`_change_id`, `source_change_id`: Postgres's is a
 * sequence, the lake numbers its log in the same order but densely), `_loaded_at` (when each
 * side landed the change) and dbt's snapshot row id (see NOT_COMPARED). */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { positionTopic } from '../../ingest/cdc/change-topic.ts';
import { childEnv, type Config } from '../../lib/config/index.ts';
import { runDbt } from '../../lib/dbt/run.ts';
import { martsFromManifest, publishMarts } from '../../lib/lakehouse/publish.ts';
import { deleteTopic } from '../../lib/kafka/admin.ts';
import { portAnswers, stopProcess } from '../../scripts/services/process.ts';
import { startSqlEndpoint } from '../../scripts/services/spark-sql.ts';
import { withPg } from '../dbt/helpers.ts';
import { catchUpShopChanges, createPipelineEnv, generateAndIngest, type PipelineEnv } from '../dbt/pipeline.ts';
import { testConfig } from '../helpers/config.ts';
import { hasFailed } from '../helpers/failures.ts';
import { createTestTopic, type TestTopic } from '../helpers/kafka.ts';
import { highWatermarks } from '../ingest/kafka/support.ts';
import {
  ensureLakehouseServices,
  lakehouseInstalled,
  lakeTestPlace,
  removeLocalTables,
  startJob,
  testJobSettings,
  waitForCommitted,
  type LakeTestPlace,
} from './support.ts';

const run = promisify(execFile);

/**
 * What builds and passes its tests on both targets (docs/dbt.md "Two targets"), as schema and
 * relation: the shop's staging and version histories, the SCD2 snapshots, the orders' star
 * schema and the sales marts over it.
 */
const RELATIONS = [
  ['staging', 'stg_shop__customers'],
  ['staging', 'stg_shop__products'],
  ['staging', 'stg_shop__inventory'],
  ['staging', 'stg_shop__orders'],
  ['staging', 'stg_shop__order_items'],
  ['staging', 'stg_shop__payments'],
  ['staging', 'stg_shop__restocks'],
  ['staging', 'stg_shop__customer_versions'],
  ['staging', 'stg_shop__product_versions'],
  ['staging', 'stg_shop__inventory_versions'],
  ['snapshots', 'customers_snapshot'],
  ['snapshots', 'products_snapshot'],
  ['intermediate', 'int_reporting_dates'],
  ['intermediate', 'int_customer_rfm_scores'],
  ['intermediate', 'int_category_sales_daily'],
  ['marts', 'dim_customers'],
  ['marts', 'dim_products'],
  ['marts', 'dim_date'],
  ['marts', 'fct_orders'],
  ['marts', 'fct_order_items'],
  ['marts', 'fct_payments'],
  ['marts', 'revenue_daily'],
  ['marts', 'orders_hourly'],
  ['marts', 'category_revenue_weekly'],
  ['marts', 'category_revenue_monthly'],
  ['marts', 'sales_by_geography'],
  ['marts', 'customer_lifetime_value'],
  ['marts', 'customer_rfm_segments'],
  ['marts', 'rfm_segment_movement'],
  ['marts', 'repeat_purchase_rate'],
  ['marts', 'customer_cohorts_monthly'],
  ['marts', 'top_products'],
] as const;
const MODELS = RELATIONS.map(([, name]) => name);
/**
 * Not compared: positions in the change log (Postgres's change_id is a sequence with gaps, the
 * lake numbers its log densely in the same order), when each side landed a change, and dbt's
 * snapshot row id (an md5 over the key and updated_at as each engine writes a timestamp as text).
 */
const NOT_COMPARED = new Set(['_change_id', '_loaded_at', 'source_change_id', 'snapshot_scd_id']);
/** Restocks come only once stock falls to its reorder point, which a ten-day world may not reach. */
const MAY_BE_EMPTY = new Set(['stg_shop__restocks']);

interface Column {
  name: string;
  type: string;
}

/** A column as text both engines print alike: numbers as written, timestamps in UTC to the microsecond. */
function postgresText(column: Column): string {
  const name = pg.escapeIdentifier(column.name);
  if (column.type === 'timestamp with time zone') return `to_char(${name} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
  return `${name}::text`;
}

function sparkText(column: Column): string {
  const name = `\`${column.name}\``;
  if (column.type === 'timestamp with time zone') return `date_format(${name}, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")`;
  return `cast(${name} as string)`;
}

async function postgresColumns(client: pg.Client, schema: string, relation: string): Promise<Column[]> {
  const { rows } = await client.query<{ name: string; type: string }>(
    `select column_name as name, data_type as type from information_schema.columns
     where table_schema = $1 and table_name = $2 order by ordinal_position`,
    [schema, relation],
  );
  return rows.filter((c) => !NOT_COMPARED.has(c.name));
}

/** Each row as one line of tab-separated text (null as \N), sorted: a multiset both sides print alike. */
function sortedLines(rows: (string | null)[][]): string[] {
  return rows.map((row) => row.map((v) => (v === null ? '\\N' : v)).join('\t')).sort();
}

/** Rows of a statement on the test's SQL endpoint, through dbt's own client (PyHive). */
const FETCH = `
import json, sys
from pyhive import hive
conn = hive.connect(host="127.0.0.1", port=int(sys.argv[1]), username="transformer", database="lake")
cursor = conn.cursor()
cursor.execute(sys.argv[2])
for row in cursor.fetchall():
    print(json.dumps(list(row)))
conn.close()
`;

async function lakeRows(config: Config, port: number, sql: string): Promise<(string | null)[][]> {
  const python = join(resolve(config.rootDir, config.PYTHON_VENV), 'bin', 'python');
  const { stdout } = await run(python, ['-c', FETCH, String(port), sql], {
    env: childEnv({}),
    maxBuffer: 256 * 1024 * 1024,
    timeout: 600_000,
  });
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as (string | null)[]);
}

async function freePort(): Promise<number> {
  for (let port = 10_100 + Math.floor(Math.random() * 800); ; port += 1) if (!(await portAnswers(port))) return port;
}

// Skipped only where the lakehouse is not installed (LAKEHOUSE_ENABLED unset); CI installs it and
// lakehouseInstalled throws there if it is missing.
describe.skipIf(!lakehouseInstalled(testConfig()))('dbt on both targets', () => {
  let env: PipelineEnv;
  let changes: TestTopic;
  let place: LakeTestPlace;
  let endpointPid: number | undefined;

  beforeAll(async () => {
    [env, changes] = await Promise.all([createPipelineEnv('dbt_lake'), createTestTopic('dbt-lake-changes', 3)]);
    place = lakeTestPlace('dbt');
    await ensureLakehouseServices(env.config);
  });

  afterAll(async () => {
    if (endpointPid !== undefined) await stopProcess(endpointPid, 'SIGTERM', 30_000);
    place?.cleanup();
    if (env) removeLocalTables(env.config, place.warehousePrefix);
    if (changes && !hasFailed()) await deleteTopic(changes.brokers, positionTopic(changes.topic)).catch(() => undefined);
    await changes?.delete();
    await env?.drop();
  });

  /** Every relation of RELATIONS on Spark equals Postgres's, row for row. */
  async function expectEqualRows(config: Config, port: number, when: string): Promise<void> {
    const client = new pg.Client({ connectionString: env.warehouse.adminUrl });
    await client.connect();
    try {
      for (const [schema, model] of RELATIONS) {
        const columns = await postgresColumns(client, schema, model);
        expect(columns.length, model).toBeGreaterThan(1);
        const postgres = await client.query<(string | null)[]>({
          text: `select ${columns.map(postgresText).join(', ')} from ${schema}.${pg.escapeIdentifier(model)}`,
          rowMode: 'array',
        });
        const lake = await lakeRows(config, port, `select ${columns.map(sparkText).join(', ')} from ${schema}.${model}`);
        const expected = sortedLines(postgres.rows);
        // A world with nothing in a model would compare nothing.
        if (!MAY_BE_EMPTY.has(model)) expect(expected.length, `${model} ${when}`).toBeGreaterThan(0);
        expect(sortedLines(lake), `${model} ${when}`).toEqual(expected);
      }
    } finally {
      await client.end();
    }
  }

  /** The changes job, from its checkpoint, until it has committed the change topic's end. */
  async function landChanges(config: Config): Promise<void> {
    const settings = testJobSettings(config, 'changes', place);
    const ends = Object.fromEntries([...(await highWatermarks(config, changes.topic))].map(([p, high]) => [String(p), Number(high)]));
    const job = startJob(config, 'changes', settings, join(place.checkpointRoot, 'changes.log'));
    try {
      await waitForCommitted(join(settings.checkpointDir, 'stream'), changes.topic, ends, 900_000, job);
    } finally {
      await job.kill9();
    }
  }

  it('builds the same rows on Postgres and on Spark over Iceberg, first and incrementally', { timeout: 3_600_000 }, async () => {
    const config: Config = { ...env.config, LAKE_CHANGES_TOPIC: changes.topic };
    const lakeEnv = { LAKEHOUSE_ENABLED: 'true', LAKE_CHANGES_TOPIC: changes.topic };
    await generateAndIngest(
      env,
      { from: '2024-11-01', to: '2024-11-10', customers: 60, products: 12, orders: 150, seed: 5 },
      { extraEnv: lakeEnv },
    );
    await landChanges(config);

    const port = await freePort();
    const endpointDir = join(place.checkpointRoot, 'sql');
    endpointPid = await startSqlEndpoint(
      { ...config, SPARK_SQL_PORT: port },
      { dir: endpointDir, port, warehousePrefix: place.warehousePrefix },
      join(place.checkpointRoot, 'sql.log'),
    );

    // On Postgres the shop staging models also read a history export's staging (docs/history.md),
    // empty here, so they are built with everything upstream of them; the lakehouse target does
    // not read it (shop_history_changes is empty on Spark). Tests run where every model they read
    // is built (a relationship from a mart not built here is not run).
    const buildPostgres = (extra: string[] = []) =>
      runDbt(config, ['build', '--indirect-selection', 'buildable', ...extra, '--select', ...MODELS.map((model) => `+${model}`)], {
        targetPath: join(place.checkpointRoot, 'dbt-local'),
        threads: 2,
      });
    const buildLake = () =>
      runDbt({ ...config, SPARK_SQL_PORT: port }, ['build', '--indirect-selection', 'buildable', '--select', ...MODELS], {
        target: 'lakehouse',
        targetPath: join(place.checkpointRoot, 'dbt-lakehouse'),
        threads: 2,
      });

    await buildPostgres();
    await buildLake();
    await expectEqualRows(config, port, 'after the first build');

    // A DBA's statements on the shop, landed through both paths: a customer moves, a price
    // changes, an order is cancelled, a payment attempt is deleted, and a new order arrives in
    // the next month (new rows, new versions, a late change and a hard delete for the
    // incremental models; a second cohort month and a later as-of date for the marts).
    const shop = await mysql.createConnection({ uri: env.shop.url, multipleStatements: true });
    try {
      await shop.query(`
        select min(customer_id) into @customer from customers;
        update customers set city = 'Lausanne', region = null, postal_code = '1003' where customer_id = @customer;
        select max(product_id) into @product from products;
        update products set price = price + 1.25 where product_id = @product;
        select min(order_id) into @cancelled from orders where status in ('paid', 'shipped', 'delivered');
        update orders set status = 'cancelled', cancelled_at = '2024-11-12 08:15:00.250' where order_id = @cancelled;
        select max(payment_id) into @payment from payments where status = 'captured';
        delete from payments where payment_id = @payment;
        insert into orders (customer_id, status, currency, subtotal_amount, discount_amount, shipping_amount, tax_amount,
                            total_amount, ship_country_code, ship_city, placed_at, paid_at)
          select customer_id, 'paid', 'USD', 59.98, 5.00, 4.99, 4.40, 64.37, country_code, city,
                 '2024-12-02 23:59:59.999', '2024-12-03 00:00:00.001'
          from customers where customer_id = @customer;
        set @order = last_insert_id();
        insert into order_items (order_id, product_id, quantity, unit_price, discount_amount, line_total)
          values (@order, @product, 2, 29.99, 0, 59.98);
        insert into payments (order_id, payment_method, status, amount, card_fingerprint, ip_country_code, attempted_at)
          values (@order, 'card', 'captured', 64.37, 'a1b2c3d4e5f60718', 'CH', '2024-12-03 00:00:00.001');
      `);
    } finally {
      await shop.end();
    }
    await catchUpShopChanges(env, lakeEnv);
    await landChanges(config);

    // Incremental on both: Spark merges into its Iceberg tables what Postgres upserts.
    await buildPostgres();
    await buildLake();
    await expectEqualRows(config, port, 'after an incremental build');

    // Serving: the marts built on Spark, published to Postgres (schema `served` here, `marts` in
    // a deployment), are the marts Postgres built: same rows, in the contracts' types.
    const manifestPath = join(place.checkpointRoot, 'dbt-lakehouse', 'manifest.json');
    const servable = martsFromManifest(manifestPath).filter((mart) => (MODELS as readonly string[]).includes(mart.name));
    expect(servable.length).toBeGreaterThan(10);
    await publishMarts(config, {
      manifestPath,
      targetSchema: 'served',
      only: servable.map((mart) => mart.name),
      warehousePrefix: place.warehousePrefix,
      stdio: 'ignore',
    });
    await withPg(env.warehouse.adminUrl, async (client) => {
      for (const mart of servable) {
        const columns = mart.columns.filter((c) => !NOT_COMPARED.has(c.name)).map((c) => pg.escapeIdentifier(c.name));
        const { rows: types } = await client.query<{ same: boolean }>(
          `select count(*) = 0 as same from (
             (select column_name, data_type, numeric_scale from information_schema.columns where table_schema = 'marts' and table_name = $1
              except select column_name, data_type, numeric_scale from information_schema.columns where table_schema = 'served' and table_name = $1)
             union all
             (select column_name, data_type, numeric_scale from information_schema.columns where table_schema = 'served' and table_name = $1
              except select column_name, data_type, numeric_scale from information_schema.columns where table_schema = 'marts' and table_name = $1)) as differing`,
          [mart.name],
        );
        expect(types[0]!.same, `${mart.name}: column types`).toBe(true);
        const list = columns.join(', ');
        const table = pg.escapeIdentifier(mart.name);
        const { rows } = await client.query<{ differing: string; served: string }>(
          `select (select count(*) from ((select ${list} from marts.${table} except all select ${list} from served.${table})
                   union all (select ${list} from served.${table} except all select ${list} from marts.${table})) as d) as differing,
                  (select count(*) from served.${table}) as served`,
        );
        expect(rows[0], `${mart.name} served`).toEqual({ differing: '0', served: expect.not.stringMatching(/^0$/) });
      }
    });
    // ... and what Spark built incrementally is what a full refresh builds.
    await buildPostgres(['--full-refresh']);
    await expectEqualRows(config, port, 'against a full refresh');
  });
});
