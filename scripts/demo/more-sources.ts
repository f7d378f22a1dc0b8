/**
 * The demo's sources beyond MariaDB and the clickstream (scripts/demo/sources.ts): the Postgres
 * shop's reset, a folder of supplier price lists for the files source, and the shop API served
 * for the REST puller. Each ingestor runs as its own CLI, as a data engineer runs it; nothing
 * here reaches into an ingestor's internals.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import pg from 'pg';

import type { Config } from '../../lib/config/index.ts';
import { ShopflowError } from '../../lib/errors.ts';
import { runCli, startCli, type CliOptions } from './run-cli.ts';

/** The worked examples the demo's sources are built from (docs/files.md, docs/api.md). */
const FILES_EXAMPLE = 'ingest/files/examples/supplier-prices.yaml';
const API_EXAMPLE = 'ingest/api/examples/shop-api.yaml';
const EXAMPLE_API_URL = 'http://127.0.0.1:8787';

/**
 * Recreates the Postgres shop database, dropping the CDC slot first: a slot holds WAL on the
 * server and belongs to its database, which cannot be dropped while the slot exists.
 */
export async function resetShopPostgres(config: Config): Promise<void> {
  const url = new URL(config.SHOP_PG_URL);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), application_name: 'shopflow-demo' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // A slot still read by an ingestor (a demo stopped midway) is let go of first.
    await client.query('select pg_terminate_backend(active_pid) from pg_replication_slots where database = $1 and active', [database]);
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = $1', [database]);
        break;
      } catch (error) {
        // 55006: the terminated walsender has not released the slot yet.
        if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    await client.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
    await client.query(`create database ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** 1234.5 as the example's German number text, 1.234,50. */
function germanMoney(value: number): string {
  const [whole, cents] = value.toFixed(2).split('.');
  return `${whole!.replace(/\B(?=(\d{3})+(?!\d))/g, '.')},${cents}`;
}

/**
 * The files source's folder: the worked example's config (a German supplier's price list:
 * semicolons, decimal comma, day-first dates) beside a price list of the shop's own products,
 * read from the warehouse as the CDC ingestor landed them, valid from the demo's last day.
 * Returns the config path and the rows written.
 */
export async function writeSupplierPrices(config: Config, dir: string, validFrom: string): Promise<{ configPath: string; rows: number }> {
  const client = new pg.Client({ connectionString: config.WAREHOUSE_URL, application_name: 'shopflow-demo' });
  client.on('error', () => undefined);
  await client.connect();
  let products: { sku: string; price: string; is_active: string | null }[];
  try {
    ({ rows: products } = await client.query<{ sku: string; price: string; is_active: string | null }>(
      `select sku, price::text, is_active::text from (
         select distinct on (product_id) product_id, sku, price, is_active, operation
           from raw_shop.products order by product_id, change_id desc) latest
        where operation <> 'delete' and sku is not null and price is not null order by product_id`,
    ));
  } finally {
    await client.end();
  }
  if (products.length === 0)
    throw new ShopflowError('SHOPFLOW_DEMO', 'no products reached the warehouse to price; see .data/logs/demo-*.log');
  const [year, month, day] = validFrom.split('-');
  const lines = ['Artikel;Preis;Gültig ab;Lieferbar'];
  // The supplier's price: 60 % of the shop's; out of stock where the shop no longer sells it.
  for (const p of products)
    lines.push(`${p.sku};${germanMoney(Number(p.price) * 0.6)};${day}.${month}.${year};${p.is_active === '0' ? 'nein' : 'ja'}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'incoming'), { recursive: true });
  const configPath = join(dir, 'supplier-prices.yaml');
  await copyFile(join(config.rootDir, FILES_EXAMPLE), configPath);
  await writeFile(join(dir, 'incoming', `prices-${year}-${month}.csv`), `${lines.join('\n')}\n`);
  return { configPath, rows: products.length };
}

/**
 * Serves the shop (MariaDB) with the generator's shop API on a free port, pulls it with
 * ingest:api using the worked example's sources pointed at that port, and stops the server.
 */
export async function pullShopApi(config: Config, cli: CliOptions, dir: string): Promise<void> {
  const server = startCli('generator/api/cli.ts', ['--port', '0', '--token', config.API_TOKEN], { ...cli, logName: 'shop-api' });
  server.done.catch(() => undefined);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(
        () => reject(new ShopflowError('SHOPFLOW_DEMO', `the shop API did not start within 60 s; see ${server.logFile}`)),
        60_000,
      );
      server.child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        const match = /shop-api listening on (http:\/\/\S+)/.exec(seen);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      server.done.then(
        () => reject(new ShopflowError('SHOPFLOW_DEMO', `the shop API exited before listening; see ${server.logFile}`)),
        (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
      );
      server.done.finally(() => clearTimeout(timer)).catch(() => undefined);
    });
    const example = await readFile(join(config.rootDir, API_EXAMPLE), 'utf8');
    if (!example.includes(EXAMPLE_API_URL)) throw new ShopflowError('SHOPFLOW_DEMO', `${API_EXAMPLE} no longer names ${EXAMPLE_API_URL}`);
    await mkdir(dir, { recursive: true });
    const configPath = join(dir, 'shop-api.yaml');
    await writeFile(configPath, example.replaceAll(EXAMPLE_API_URL, url));
    await runCli('ingest/api/cli.ts', ['--config', configPath], cli);
  } finally {
    server.child.kill('SIGTERM');
    await server.done.catch(() => undefined);
  }
}

/** The worked example of a shop's history export (docs/history.md): Velo Bern, 2011. */
const HISTORY_EXAMPLE = 'ingest/files/examples/history';
/**
 * Added to every id of the example export beside a live shop: ids are taken as they are, so the
 * example's customer 1 or order 101 would otherwise be the generated shop's (docs/history.md,
 * "The live shop too"). The demo's shop never reaches a billion ids.
 */
export const HISTORY_ID_OFFSET = 1_000_000_000;
/** The id columns of each export file: they lead each file's header, before any quoted field. */
const HISTORY_ID_COLUMNS: Record<string, readonly string[]> = {
  'customers.csv': ['customer_id'],
  'orders.csv': ['order_id', 'customer_id'],
  'order_lines.csv': ['order_item_id', 'order_id', 'product_id'],
};

/**
 * The history source's folder: the worked example (config and export) copied as it is, or with
 * every id moved up by HISTORY_ID_OFFSET when a live shop lands beside it (the renumbering the
 * docs ask of an export whose ids would collide). Returns the config path and the rows written.
 */
export async function writeHistoryExport(rootDir: string, dir: string, renumber: boolean): Promise<{ configPath: string; rows: number }> {
  const example = join(rootDir, HISTORY_EXAMPLE);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'export'), { recursive: true });
  const configPath = join(dir, 'history.yaml');
  await copyFile(join(example, 'history.yaml'), configPath);
  let rows = 0;
  for (const [file, idColumns] of Object.entries(HISTORY_ID_COLUMNS)) {
    const [header, ...lines] = (await readFile(join(example, 'export', file), 'utf8')).trimEnd().split('\n');
    if (!header || header.split(';').slice(0, idColumns.length).join(';') !== idColumns.join(';'))
      throw new ShopflowError(
        'SHOPFLOW_DEMO',
        `${HISTORY_EXAMPLE}/export/${file} no longer starts with the columns ${idColumns.join(';')}`,
      );
    const moved = renumber
      ? lines.map((line) => {
          const fields = line.split(';');
          for (let i = 0; i < idColumns.length; i++) {
            if (!/^\d+$/.test(fields[i] ?? ''))
              throw new ShopflowError(
                'SHOPFLOW_DEMO',
                `${HISTORY_EXAMPLE}/export/${file}: ${idColumns[i]} is not a whole number in "${line}"`,
              );
            fields[i] = String(Number(fields[i]) + HISTORY_ID_OFFSET);
          }
          return fields.join(';');
        })
      : lines;
    rows += lines.length;
    await writeFile(join(dir, 'export', file), `${[header, ...moved].join('\n')}\n`);
  }
  return { configPath, rows };
}
