/**
 * One flush, made to land: the warehouse transaction on a dedicated client, retried with capped
 * backoff while the failure is transient (Postgres restarting, a connection killed, a stalled
 * socket cut by the watchdog), redone row-isolating when Postgres refuses a row, and turned
 * into a fatal error with the cause when it cannot go on.
 */
import type pg from 'pg';

import { coerceError, FatalPipelineError, isRetryable } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { withRetry } from '../../lib/retry.ts';
import { armClientWatchdog, terminateBackends } from '../shared/client-watchdog.ts';
import type { Segment } from './buffer.ts';
import { countRecords, isDataError, writeFlush, type FlushResult, type FlushTarget, type MetricsRow } from './warehouse.ts';

export interface FlushOptions {
  timeoutMs: number;
  /** The pool's connection string, for ending abandoned backends on a fresh connection. */
  connectionString: string;
  /** Backends of stalled flushes still to be ended; owned by the caller, shared across flushes. */
  abandoned: Set<number>;
  metrics?: MetricsRow;
  logger: Logger;
}

export async function flushWithRetry(pool: pg.Pool, target: FlushTarget, segments: Segment[], options: FlushOptions): Promise<FlushResult> {
  const { logger } = options;
  let isolateBadRows = false;
  try {
    return await withRetry(
      async () => {
        // A backend left behind by a stalled flush still holds the offset row locks: end it first.
        if (options.abandoned.size > 0) {
          const ended = await terminateBackends(options.connectionString, [...options.abandoned]);
          for (const pid of ended) options.abandoned.delete(pid);
        }
        const client = await pool.connect();
        const disarm = armClientWatchdog(client, options.timeoutMs, (backendPid) => {
          logger.warn({ timeoutMs: options.timeoutMs, backendPid }, 'flush stalled: dropped the connection, ending its backend');
          if (backendPid !== undefined) options.abandoned.add(backendPid);
        });
        let failure: Error | undefined;
        try {
          return await writeFlush(client, target, segments, { isolateBadRows, ...(options.metrics ? { metrics: options.metrics } : {}) });
        } catch (error) {
          failure = coerceError(error);
          await client.query('ROLLBACK').catch(() => undefined);
          if (isDataError(error) && !isolateBadRows) {
            // Postgres refused a row the schema let through: redo the flush isolating bad rows.
            isolateBadRows = true;
            logger.warn({ err: error }, 'Postgres rejected a row; retrying the flush to isolate it');
            throw new RetryIsolating(failure);
          }
          throw error;
        } finally {
          disarm();
          // Always destroy a client that failed: after an aborted COPY its state is unknown.
          client.release(failure);
        }
      },
      {
        minDelayMs: 100,
        maxDelayMs: 15_000,
        retryable: (error) => error instanceof RetryIsolating || isRetryable(error),
        onRetry: (err, attempt, delayMs) => {
          if (!(err instanceof RetryIsolating))
            logger.warn({ err, attempt, delayMs, records: countRecords(segments) }, 'flush failed, retrying');
        },
      },
    );
  } catch (error) {
    throw new FatalPipelineError('SHOPFLOW_KAFKA_FLUSH', `cannot write to the warehouse: ${coerceError(error).message}`, error);
  }
}

/** Internal marker: retry at once, isolating rows Postgres refuses. */
class RetryIsolating extends Error {
  constructor(cause: Error) {
    super('retrying flush isolating bad rows', { cause });
  }
}
