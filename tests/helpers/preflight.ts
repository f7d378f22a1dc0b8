/**
 * One clear message per unreachable service before any test runs, saying how to start it,
 * instead of the same bare ECONNREFUSED in every test file.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';

import { ServiceUnavailableError } from '../../lib/errors.ts';
import { listTopics } from '../../lib/kafka/admin.ts';
import { portAnswers } from '../../scripts/services/process.ts';
import type { TestEndpoints } from './ensure-services.ts';

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function reason(error: unknown): string {
  if (error instanceof Error) return (error as { code?: string }).code ?? error.message;
  return String(error);
}

async function check(name: string, how: string, probe: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await probe();
    return undefined;
  } catch (error) {
    return `  ${name}: ${reason(error)}\n    ${how}`;
  }
}

export async function preflight(endpoints: TestEndpoints): Promise<void> {
  const start = 'Start the local services with `npm run services:up` (logs under .data/<service>/)';
  const problems = (
    await Promise.all([
      check(`Postgres at ${redact(endpoints.warehouseAdminUrl)}`, `${start}, or set WAREHOUSE_URL to a reachable server.`, async () => {
        const client = new pg.Client({ connectionString: endpoints.warehouseAdminUrl, connectionTimeoutMillis: 5000 });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.query('select 1');
        } finally {
          await client.end().catch(() => undefined);
        }
      }),
      check(`Shop Postgres at ${redact(endpoints.shopPgAdminUrl)}`, `${start}, or set SHOP_PG_URL to a reachable server.`, async () => {
        const client = new pg.Client({ connectionString: endpoints.shopPgAdminUrl, connectionTimeoutMillis: 5000 });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.query('select 1');
        } finally {
          await client.end().catch(() => undefined);
        }
      }),
      check(`MariaDB at ${redact(endpoints.shopDbAdminUrl)}`, `${start}, or set SHOP_DB_URL to a reachable server.`, async () => {
        const connection = await mysql.createConnection({ uri: endpoints.shopDbAdminUrl, connectTimeout: 5000 });
        connection.on('error', () => undefined);
        try {
          await connection.query('select 1');
        } finally {
          await connection.end().catch(() => undefined);
        }
      }),
      check(`Kafka at ${endpoints.kafkaBrokers.join(',')}`, `${start}, or set KAFKA_BROKERS to reachable brokers.`, () =>
        listTopics(endpoints.kafkaBrokers, { connectionTimeoutMs: 3000, retries: 1 }),
      ),
      check(`SMTP at ${endpoints.smtpUrl}`, `${start}, or set SMTP_URL to a reachable server.`, async () => {
        const url = new URL(endpoints.smtpUrl);
        if (!(await portAnswers(Number(url.port || 25), url.hostname, 3000))) throw new Error('ECONNREFUSED');
      }),
    ])
  ).filter((p): p is string => p !== undefined);
  if (problems.length > 0) {
    throw new ServiceUnavailableError(`tests need these services, which are not reachable:\n${problems.join('\n')}`);
  }
}
