/**
 * The MariaDB sink: creates the source tables from generator/ddl/shop.sql when absent and
 * applies each batch in one transaction with multi-row INSERT / INSERT ... ON DUPLICATE KEY
 * UPDATE statements, in the foreign-key-safe order of WRITE_ORDER. Every created_at/updated_at
 * comes from the simulation, never from CURRENT_TIMESTAMP.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import mysql from 'mysql2/promise';

import { ServiceUnavailableError, ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { ROOT_DIR } from '../../lib/root.ts';
import { WRITE_ORDER, type Batch } from '../world/batch.ts';
import { TABLES, type TableName } from '../world/rows.ts';
import { writeStatements } from './sql.ts';
import type { Sink } from './types.ts';

/** Bytes of SQL per request: well under max_allowed_packet, big enough that round trips do not matter. */
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;

export const SHOP_DDL = join(ROOT_DIR, 'generator', 'ddl', 'shop.sql');

export interface WriteCounts {
  inserted: Record<TableName, number>;
  upserted: Record<TableName, number>;
}

export function emptyCounts(): WriteCounts {
  const zero = () => Object.fromEntries(TABLES.map((t) => [t, 0])) as Record<TableName, number>;
  return { inserted: zero(), upserted: zero() };
}

export async function connectShopDb(url: string, logger: Logger): Promise<mysql.Connection> {
  let connection: mysql.Connection;
  try {
    // multipleStatements: a day's statements go to the server as one request, so MariaDB works
    // through them while the next day is generated. Only SQL built by sinks/sql.ts (every value
    // escaped) is sent this way.
    connection = await mysql.createConnection({ uri: url, timezone: 'Z', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, charset: 'utf8mb4', multipleStatements: true });
  } catch (error) {
    throw new ServiceUnavailableError(`MariaDB at ${redact(url)} is not reachable; start it with \`npm run services:up\` or set SHOP_DB_URL`, error);
  }
  connection.on('error', (error: Error) => logger.error({ err: error }, 'MariaDB connection error'));
  await connection.query("SET time_zone = '+00:00'");
  return connection;
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** Statements of shop.sql, comments stripped. */
export function ddlStatements(text = readFileSync(SHOP_DDL, 'utf8')): string[] {
  return text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function ensureSchema(connection: mysql.Connection, options: { reset: boolean }): Promise<void> {
  if (options.reset) {
    await connection.query('SET FOREIGN_KEY_CHECKS = 0');
    await connection.query(`DROP TABLE IF EXISTS ${[...TABLES].reverse().map((t) => `\`${t}\``).join(', ')}`);
    await connection.query('SET FOREIGN_KEY_CHECKS = 1');
  }
  for (const statement of ddlStatements()) await connection.query(statement);
}

/** Rows per source table (to refuse a backfill over existing data, and for live mode). */
export async function tableCounts(connection: mysql.Connection): Promise<Record<TableName, number>> {
  const sql = TABLES.map((t) => `SELECT '${t}' AS t, COUNT(*) AS n FROM \`${t}\``).join(' UNION ALL ');
  const [rows] = await connection.query<mysql.RowDataPacket[]>(sql);
  return Object.fromEntries(rows.map((r) => [r.t as string, Number(r.n)])) as Record<TableName, number>;
}

/**
 * A batch's statements as requests of at most MAX_REQUEST_BYTES, each built when the previous
 * one has been sent (a busy 10x day is tens of MB of SQL; built whole, it all sat in memory until
 * the day was written). START TRANSACTION ... COMMIT travel inside the requests, so the first one
 * leaves at once (no round trip for BEGIN) and the server applies the day while the next is
 * generated.
 */
function* requests(batch: Batch): Generator<string> {
  let request = ['START TRANSACTION'];
  let bytes = 0;
  for (const { table, kind } of WRITE_ORDER) {
    const rows = (kind === 'insert' ? batch.inserts : batch.upserts).get(table);
    if (!rows || rows.length === 0) continue;
    for (const statement of writeStatements(table, kind, rows)) {
      if (bytes + statement.sql.length > MAX_REQUEST_BYTES && bytes > 0) {
        yield request.join(';\n');
        request = [];
        bytes = 0;
      }
      request.push(statement.sql);
      bytes += statement.sql.length;
    }
  }
  request.push('COMMIT');
  yield request.join(';\n');
}

export class MariadbSink implements Sink {
  readonly name = 'mariadb';
  readonly #connection: mysql.Connection;

  constructor(connection: mysql.Connection) {
    this.#connection = connection;
  }

  /** The sink's connection, for reading state (live mode) between batches. */
  get connection(): mysql.Connection {
    return this.#connection;
  }

  async write(batch: Batch): Promise<void> {
    const c = this.#connection;
    try {
      for (const request of requests(batch)) await c.query(request);
    } catch (error) {
      await c.rollback().catch(() => undefined);
      throw new ShopflowError('SHOPFLOW_GENERATOR_WRITE', `writing ${batch.label} to MariaDB failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Each write commits its batch: nothing is held back. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.#connection.end();
  }
}
