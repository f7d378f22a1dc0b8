/**
 * One ingestor per source: a Postgres session advisory lock keyed by the source name, held on a
 * dedicated connection for as long as the ingestor works. Two ingestors following the same
 * binlog into the same log would land every change twice. Postgres frees the lock when the
 * holder's connection ends, including when its process is killed.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { FatalPipelineError } from '../../lib/errors.ts';

export interface InstanceLock {
  /** Called once if the lock's connection is lost (the lock is then gone too). */
  onLost(listener: (error: Error) => void): void;
  release(): Promise<void>;
}

export async function acquireInstanceLock(
  connectionString: string,
  sourceName: string,
  options: { waitMs?: number; signal?: AbortSignal } = {},
): Promise<InstanceLock> {
  const client = new pg.Client({ connectionString, application_name: 'shopflow-ingest-cdc-lock', keepAlive: true });
  let lostListener: ((error: Error) => void) | null = null;
  let released = false;
  const lost = (error: Error) => {
    if (released) return;
    released = true;
    lostListener?.(error);
  };
  client.on('error', (error) => lost(error));
  client.on('end', () => lost(new Error('the connection holding the CDC instance lock closed')));
  await client.connect();
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  try {
    for (;;) {
      const result = await client.query<{ ok: boolean }>(
        "select pg_try_advisory_lock(hashtext('shopflow-ingest-cdc'), hashtext($1)) as ok",
        [sourceName],
      );
      if (result.rows[0]?.ok) break;
      if (Date.now() >= deadline || options.signal?.aborted) {
        throw new FatalPipelineError(
          'CDC_ALREADY_RUNNING',
          `Another CDC ingestor is already capturing ${sourceName} into this warehouse (it holds the instance lock). ` +
            'Stop it first; two at once would land every change twice.',
        );
      }
      await sleep(500);
    }
  } catch (error) {
    released = true;
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    onLost(listener) {
      lostListener = listener;
    },
    async release() {
      if (released) return;
      released = true;
      await client.end().catch(() => undefined);
    },
  };
}
