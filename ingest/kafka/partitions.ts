/**
 * Keeps raw.shop_events' day partitions ahead of the clock (migration 0150): yesterday to
 * DAYS_AHEAD days on, created by the warehouse function ingest_writer may call. Run at start
 * and then at most hourly before a flush, in its own short transaction: creating a partition
 * locks the table, which a flush holding it would turn into a wait for every dbt reader.
 * A failure here loses nothing (a row with no day partition lands in the default one), so after
 * the start it is a warning, not a stop.
 */
import type pg from 'pg';

import type { Logger } from '../../lib/logger.ts';
import { withClientDeadline } from '../shared/client-watchdog.ts';

export const DAYS_AHEAD = 2;
const EVERY_MS = 60 * 60 * 1000;
const TIMEOUT_MS = 30_000;

export class DayPartitions {
  readonly #pool: pg.Pool;
  readonly #log: Logger;
  #lastMs = Number.NEGATIVE_INFINITY;

  constructor(pool: pg.Pool, logger: Logger) {
    this.#pool = pool;
    this.#log = logger;
  }

  /** Creates the missing days now; throws what Postgres said (the preflight maps it). */
  async ensure(now = Date.now()): Promise<number> {
    const result = await withClientDeadline(this.#pool, TIMEOUT_MS, (client) =>
      client.query<{ created: number }>('select raw.ensure_shop_events_partitions($1) as created', [DAYS_AHEAD]),
    );
    this.#lastMs = now;
    const created = result.rows[0]!.created;
    if (created > 0) this.#log.info({ created, daysAhead: DAYS_AHEAD }, 'created raw.shop_events day partitions');
    return created;
  }

  /** `ensure` if the last run is an hour old; a failure is logged and retried next time. */
  async ensureIfDue(now = Date.now()): Promise<void> {
    if (now - this.#lastMs < EVERY_MS) return;
    try {
      await this.ensure(now);
    } catch (err) {
      this.#lastMs = now - EVERY_MS + 60_000; // try again in a minute
      this.#log.warn({ err }, 'could not create raw.shop_events day partitions; new rows go to the default partition until it works');
    }
  }
}
