/**
 * Postgres pools with connection hygiene: an application_name per component, statement and
 * idle-in-transaction timeouts, and an `error` listener on the pool and every client, because
 * an unhandled `error` event from an idle client kills the process.
 */
import pg from 'pg';

import type { Logger } from '../logger.ts';

export interface PoolOptions {
  connectionString: string;
  applicationName: string;
  max?: number;
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  logger?: Logger;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    application_name: options.applicationName,
    max: options.max ?? 4,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 120_000,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 60_000,
    keepAlive: true,
  });
  // Log the error's identity only: pg hangs the whole client object off some connection errors.
  const brief = (err: Error & { code?: string }) => ({ message: err.message, code: err.code });
  pool.on('error', (err) => options.logger?.warn({ err: brief(err) }, 'idle postgres client error'));
  pool.on('connect', (client) => {
    client.on('error', (err) => options.logger?.warn({ err: brief(err) }, 'postgres client error'));
  });
  return pool;
}

/** Run `work` in one transaction on a dedicated client; a failed client is destroyed, not reused. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error));
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    // Passing the error makes pg-pool destroy the connection: after a failed COPY its state is unknown.
    client.release(broken);
  }
}

/** Quote an identifier for SQL (schema, table, column); never interpolate names unquoted. */
export function ident(name: string): string {
  return pg.escapeIdentifier(name);
}
