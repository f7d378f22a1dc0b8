/**
 * A MariaDB database per test file, with the source contract (generator/ddl/shop.sql) applied
 * unless asked otherwise. The binlog is server-wide, so CDC tests filter on this database name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import mysql from 'mysql2/promise';

import { ROOT_DIR, type Config } from '../../lib/config/index.ts';
import { testConfig, sanitizeLabel, uniqueSuffix } from './config.ts';
import { hasFailed, reportKept } from './failures.ts';
import { testEndpoints } from './services.ts';

export interface TestShopDb {
  database: string;
  /** mysql:// URL of this database (the admin account of the test server). */
  url: string;
  /** SHOP_DB_URL points at this database. */
  config: Config;
  /** Drops the database, unless a test in this file failed (then it is kept and its name printed). */
  drop(): Promise<void>;
}

export const SHOP_DDL_PATH = join(ROOT_DIR, 'generator', 'ddl', 'shop.sql');

async function withConnection<T>(url: string, work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ uri: url, multipleStatements: true });
  connection.on('error', () => undefined);
  try {
    return await work(connection);
  } finally {
    await connection.end().catch(() => undefined);
  }
}

export async function createTestShopDb(label: string, options: { withSchema?: boolean } = {}): Promise<TestShopDb> {
  const adminUrl = testEndpoints().shopDbAdminUrl;
  const database = `t_${sanitizeLabel(label, 40)}_${uniqueSuffix()}`;
  await withConnection(adminUrl, (c) =>
    c.query(`create database ${mysql.escapeId(database)} character set utf8mb4 collate utf8mb4_unicode_ci`),
  );
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  if (options.withSchema ?? true) {
    await withConnection(url.toString(), (c) => c.query(readFileSync(SHOP_DDL_PATH, 'utf8')));
  }
  let dropped = false;
  return {
    database,
    url: url.toString(),
    config: testConfig({ SHOP_DB_URL: url.toString() }),
    async drop() {
      if (dropped) return;
      dropped = true;
      if (hasFailed()) {
        reportKept(
          `MariaDB database ${database}`,
          `mariadb -h ${url.hostname} -P ${url.port} -u ${decodeURIComponent(url.username)} -p ${database}`,
        );
        return;
      }
      await withConnection(adminUrl, (c) => c.query(`drop database if exists ${mysql.escapeId(database)}`));
    },
  };
}
