/**
 * `generate --source-db postgres`: the same seeded world written to MariaDB and to the shop on
 * Postgres holds the same rows, table by table and value by value (compared as text in one
 * format), and a second backfill into a non-empty Postgres shop is refused.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseGenerateArgs, type GenerateOptions } from '../../generator/args.ts';
import { runGenerate } from '../../generator/run.ts';
import type { RunSummary } from '../../generator/summary.ts';
import { TABLES } from '../../generator/world/rows.ts';
import type { Config } from '../../lib/config/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestShopDb, type TestShopDb } from '../helpers/shopdb.ts';
import { createTestShopPg, type TestShopPg } from '../helpers/shop-pg.ts';

const WORLD = ['--from', '2024-03-01', '--to', '2024-03-14', '--customers', '60', '--products', '30', '--orders', '200', '--seed', '5'];
const logger = createLogger('generator-pg-test', 'warn');

function options(config: Config, argv: string[]): GenerateOptions {
  const parsed = parseGenerateArgs(argv, Date.now(), config.dataDir);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
}

/** Every row as tab-joined text, ordered by key: DATETIME(3) and timestamp(3) both print as 'YYYY-MM-DD HH:MM:SS.mmm'. */
async function mariadbRows(url: string): Promise<Record<string, string[]>> {
  const connection = await mysql.createConnection({ uri: url, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  connection.on('error', () => undefined);
  try {
    const out: Record<string, string[]> = {};
    for (const table of TABLES) {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${table}\` ORDER BY 1`);
      out[table] = rows.map((r) =>
        Object.values(r)
          .map((v) => (v === null ? '\\N' : String(v)))
          .join('\t'),
      );
    }
    return out;
  } finally {
    await connection.end();
  }
}

async function postgresRows(db: TestShopPg): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) {
    const columns = await db.query<{ attname: string; type: string }>(
      `select attname, format_type(atttypid, atttypmod) as type from pg_attribute
        where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attnum`,
      [table],
    );
    // to_char keeps the milliseconds MariaDB prints even when they are zero.
    const rows = await db.query<{ line: string }>(
      `select ${columns.rows
        .map((c) =>
          c.type.startsWith('timestamp')
            ? `coalesce(to_char(${c.attname}, 'YYYY-MM-DD HH24:MI:SS.MS'), '\\N')`
            : `coalesce(${c.attname}::text, '\\N')`,
        )
        .join(` || E'\\t' || `)} as line from ${table} order by ${columns.rows[0]!.attname}`,
    );
    out[table] = rows.rows.map((r) => r.line);
  }
  return out;
}

let maria: TestShopDb;
let shop: TestShopPg;
let summaryPg: RunSummary;

beforeAll(async () => {
  [maria, shop] = await Promise.all([
    createTestShopDb('gen_pg_maria', { withSchema: false }),
    createTestShopPg('gen_pg', { withSchema: false }),
  ]);
  await runGenerate(options(maria.config, [...WORLD, '--sinks', 'mariadb', '--quiet']), maria.config, logger);
  const config = testConfig({ SHOP_PG_URL: shop.url });
  summaryPg = await runGenerate(options(config, [...WORLD, '--sinks', 'mariadb', '--source-db', 'postgres', '--quiet']), config, logger);
}, 180_000);

afterAll(async () => {
  await maria?.drop();
  await shop?.drop();
});

describe('generate --source-db postgres', () => {
  it('writes the same rows as the MariaDB sink for the same seed', async () => {
    expect(summaryPg.sinks).toEqual(['postgres']);
    expect(summaryPg.rows.inserted.orders).toBe(200);
    const [expected, actual] = await Promise.all([mariadbRows(maria.url), postgresRows(shop)]);
    for (const table of TABLES) {
      expect(actual[table]!.length, table).toBe(expected[table]!.length);
      expect(actual[table], table).toEqual(expected[table]);
    }
    expect(actual.orders!.length).toBe(200);
  });

  it('creates every table with REPLICA IDENTITY FULL, so updates and deletes carry the whole old row', async () => {
    const result = await shop.query<{ relname: string; relreplident: string }>(
      `select relname, relreplident from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname`,
    );
    expect(result.rows.map((r) => r.relname).sort()).toEqual([...TABLES].sort());
    expect(new Set(result.rows.map((r) => r.relreplident))).toEqual(new Set(['f']));
  });

  it('refuses a backfill into a shop that already holds rows', async () => {
    const config = testConfig({ SHOP_PG_URL: shop.url });
    await expect(
      runGenerate(options(config, [...WORLD, '--sinks', 'mariadb', '--source-db', 'postgres', '--quiet']), config, logger),
    ).rejects.toMatchObject({
      code: 'SHOPFLOW_GENERATOR_NOT_EMPTY',
    });
  });
});
