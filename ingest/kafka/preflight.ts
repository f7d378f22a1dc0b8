/** Before joining the group: can ingest_writer reach the warehouse and its tables? Errors name the fix. */
import type pg from 'pg';

import { FatalPipelineError, ServiceUnavailableError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { withRetry } from '../../lib/retry.ts';
import { withClientDeadline } from '../shared/client-watchdog.ts';

/** `prepare` runs after the probe succeeds (the day partitions): its errors are mapped the same way. */
export async function checkWarehouse(pool: pg.Pool, warehouseUrl: string, logger: Logger, prepare?: () => Promise<unknown>): Promise<void> {
  try {
    const probe =
      'select 1 from ingest.kafka_offsets limit 0; select 1 from raw.shop_events limit 0; select 1 from raw.dead_letters limit 0';
    await withRetry(() => withClientDeadline(pool, 15_000, (client) => client.query(probe)), {
      maxAttempts: 5,
      onRetry: (err, attempt, delayMs) => logger.warn({ err, attempt, delayMs }, 'warehouse not reachable yet, retrying'),
    });
    if (prepare) await prepare();
  } catch (error) {
    const code = (error as { code?: string }).code;
    const where = new URL(warehouseUrl);
    // 42883: no raw.ensure_shop_events_partitions, a warehouse from before migration 0150.
    if (code === '42P01' || code === '3F000' || code === '42883') {
      throw new FatalPipelineError(
        'SHOPFLOW_NOT_MIGRATED',
        `warehouse tables are missing in database ${where.pathname.slice(1)}: run \`npm run migrate\` first`,
        error,
      );
    }
    if (code === '3D000')
      throw new FatalPipelineError(
        'SHOPFLOW_NOT_MIGRATED',
        `database ${where.pathname.slice(1)} does not exist: run \`npm run migrate\` first`,
        error,
      );
    if (code === '28P01' || code === '28000') {
      throw new FatalPipelineError(
        'SHOPFLOW_WAREHOUSE_AUTH',
        'role ingest_writer cannot log in: set WAREHOUSE_INGEST_PASSWORD to the password `npm run migrate` set (or rerun it)',
        error,
      );
    }
    if (code === '42501')
      throw new FatalPipelineError(
        'SHOPFLOW_WAREHOUSE_GRANTS',
        'role ingest_writer lacks privileges on raw/ingest tables: rerun `npm run migrate`',
        error,
      );
    throw new ServiceUnavailableError(
      `Postgres at ${where.host} is not reachable as ingest_writer: start it with \`npm run services:up\` or set WAREHOUSE_URL`,
      error,
    );
  }
}
