/**
 * The MariaDB sink: creates the source tables from generator/ddl/shop.sql when absent and
 * applies each batch in one transaction, in the foreign-key-safe order of WRITE_ORDER. Every
 * created_at/updated_at comes from the simulation, never from CURRENT_TIMESTAMP.
 *
 * Two ways to write, chosen per connection (writeMethodFor):
 * - load-data (the server allows LOAD DATA LOCAL INFILE): inserts are LOAD DATA of the rows as
 *   tab-separated text; upserts are loaded into a temporary staging table and applied with
 *   INSERT ... SELECT ... ON DUPLICATE KEY UPDATE in the order they were queued. The server
 *   parses the rows several times faster than as SQL literals, and the binlog carries the same
 *   row events (temporary tables are not logged in ROW format).
 * - insert: multi-row INSERT / INSERT ... ON DUPLICATE KEY UPDATE statements.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import mysql from 'mysql2/promise';

import { ServiceUnavailableError, ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { ROOT_DIR } from '../../lib/root.ts';
import { WRITE_ORDER, type Batch } from '../world/batch.ts';
import { TABLES, type Row, type TableName } from '../world/rows.ts';
import { columnList, onDuplicateKeyUpdate, writeStatements } from './sql.ts';
import { loadDataSql, stagingTable, tsvRows } from './tsv.ts';
import type { Sink } from './types.ts';

/** Bytes of SQL per request: well under max_allowed_packet, big enough that round trips do not matter. */
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
/** Rows per LOAD DATA: a busy 10x day part is a few thousand rows; this bounds the text held at once. */
const MAX_LOAD_ROWS = 2_000;
/** Size limit of a staging table: MAX_LOAD_ROWS of the widest table's fixed-width MEMORY rows, with room to spare. */
const STAGING_BYTES = 64 * 1024 * 1024;

export type WriteMethod = 'load-data' | 'insert';

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
    connection = await mysql.createConnection({
      uri: url,
      timezone: 'Z',
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      charset: 'utf8mb4',
      multipleStatements: true,
    });
  } catch (error) {
    throw new ServiceUnavailableError(
      `MariaDB at ${redact(url)} is not reachable; start it with \`npm run services:up\` or set SHOP_DB_URL`,
      error,
    );
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
    await connection.query(
      `DROP TABLE IF EXISTS ${[...TABLES]
        .reverse()
        .map((t) => `\`${t}\``)
        .join(', ')}`,
    );
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

/**
 * load-data when the server allows LOAD DATA LOCAL INFILE (local_infile, on by default in
 * MariaDB and in `npm run services:up`), else insert statements, with a note on what to change.
 */
export async function writeMethodFor(connection: mysql.Connection, logger: Logger): Promise<WriteMethod> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@local_infile AS on_');
  if (Number(rows[0]?.on_) === 1) return 'load-data';
  logger.warn('MariaDB has local_infile off: writing with INSERT statements, about half as fast (SET GLOBAL local_infile = 1 to load)');
  return 'insert';
}

export class MariadbSink implements Sink {
  readonly name = 'mariadb';
  readonly method: WriteMethod;
  readonly #connection: mysql.Connection;
  readonly #staged = new Set<TableName>();

  constructor(connection: mysql.Connection, method: WriteMethod = 'insert') {
    this.#connection = connection;
    this.method = method;
  }

  /** The sink's connection, for reading state (live mode) between batches. */
  get connection(): mysql.Connection {
    return this.#connection;
  }

  async write(batch: Batch): Promise<void> {
    const c = this.#connection;
    try {
      if (this.method === 'load-data') await this.#loadBatch(batch);
      else for (const request of requests(batch)) await c.query(request);
    } catch (error) {
      await c.rollback().catch(() => undefined);
      await this.#clearStaging().catch(() => undefined);
      throw new ShopflowError('SHOPFLOW_GENERATOR_WRITE', `writing ${batch.label} to MariaDB failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Each write commits its batch: nothing is held back. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.#connection.end();
  }

  /**
   * The batch as one multi-statement request (its LOAD DATA files handed over as the server asks
   * for them), then COMMIT once every load is checked. One request, not one per statement:
   * generation is synchronous, and each reply waits for a turn of the event loop.
   */
  async #loadBatch(batch: Batch): Promise<void> {
    const c = this.#connection;
    // Staging tables are made before the transaction: DDL has no business inside one.
    for (const table of batch.upserts.keys()) await this.#ensureStaging(table);
    const statements = ['START TRANSACTION'];
    const files: Buffer[] = [];
    const loads: { statement: number; target: string; rows: number }[] = [];
    const load = (target: string, table: TableName, rows: readonly Row[]) => {
      loads.push({ statement: statements.length, target, rows: rows.length });
      statements.push(loadDataSql(target, table, `shopflow-${files.length}.tsv`));
      files.push(tsvRows(rows));
    };
    for (const { table, kind } of WRITE_ORDER) {
      const rows = (kind === 'insert' ? batch.inserts : batch.upserts).get(table);
      if (!rows || rows.length === 0) continue;
      for (let from = 0; from < rows.length; from += MAX_LOAD_ROWS) {
        const part = rows.slice(from, from + MAX_LOAD_ROWS);
        if (kind === 'insert') {
          load(table, table, part);
        } else {
          load(stagingTable(table), table, part);
          statements.push(upsertFromStagingSql(table), `DELETE FROM \`${stagingTable(table)}\``);
        }
      }
    }
    const [results] = await c.query<mysql.ResultSetHeader[]>({
      sql: statements.join(';\n'),
      infileStreamFactory: (name: string) =>
        Readable.from([files[Number(/shopflow-(\d+)\.tsv$/.exec(name)?.[1] ?? -1)] ?? Buffer.alloc(0)]),
    });
    // A LOCAL load turns duplicate keys and bad values into warnings and goes on: anything short
    // of every row loaded cleanly fails the batch (rolled back by the caller).
    for (const { statement, target, rows } of loads) {
      const result = results[statement]!;
      if (result.affectedRows !== rows || result.warningStatus !== 0) {
        throw new Error(
          `LOAD DATA into ${target} took ${result.affectedRows} of ${rows} rows with ${result.warningStatus} warnings (duplicate keys, or values the column does not take)`,
        );
      }
    }
    await c.query('COMMIT');
  }

  async #ensureStaging(table: TableName): Promise<void> {
    if (this.#staged.has(table)) return;
    // The target's columns and types, plus a sequence that keeps the order upserts were queued
    // in. MEMORY, not InnoDB: applying a day's upserts from an InnoDB temporary table took twice
    // as long (its undo and delete costs), and the rows are deleted after every use anyway. The
    // session's heap-table limit is set first: a MEMORY table's rows are fixed-width.
    await this.#connection.query(`SET SESSION max_heap_table_size = ${STAGING_BYTES}`);
    await this.#connection.query(
      `CREATE TEMPORARY TABLE IF NOT EXISTS \`${stagingTable(table)}\` (\`_seq\` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, PRIMARY KEY USING BTREE (\`_seq\`)) ` +
        `ENGINE=MEMORY SELECT ${columnList(table)} FROM \`${table}\` LIMIT 0`,
    );
    this.#staged.add(table);
  }

  /** Empties the staging tables (MEMORY tables ignore ROLLBACK), so a failed batch leaves nothing behind. */
  async #clearStaging(): Promise<void> {
    for (const table of this.#staged) await this.#connection.query(`DELETE FROM \`${stagingTable(table)}\``);
  }
}

/** Applies a staging table's rows to `table` in queued order; a key upserted twice ends with its last row. */
export function upsertFromStagingSql(table: TableName): string {
  const columns = columnList(table);
  return `INSERT INTO \`${table}\` (${columns}) SELECT ${columns} FROM \`${stagingTable(table)}\` ORDER BY \`_seq\` ${onDuplicateKeyUpdate(table)}`;
}
