/**
 * The give-up policy both ingestors share: a service that does not answer is retried with
 * capped, jittered backoff for INGEST_GIVE_UP_MS without progress, then the process exits 69
 * naming it. Retrying without end is the supervisor's job (the scheduler restarts its
 * ingestors with backoff); a process run by hand must come back to the person who ran it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { coerceError, isRetryable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { backoffDelay } from '../retry.ts';

/** Runs `operation` until it succeeds, a non-transient error, or `budgetMs` of transient failures. */
export async function untilGiveUp<T>(operation: () => Promise<T>, logger: Logger, what: string, budgetMs: number): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (thrown) {
      const error = coerceError(thrown);
      const left = budgetMs - (Date.now() - started);
      if (!isRetryable(thrown) || left <= 0) throw error;
      const delayMs = Math.min(left, backoffDelay(attempt, { minDelayMs: 500, maxDelayMs: 5_000 }));
      logger.warn({ err: error, attempt, delayMs, giveUpInMs: left }, `${what} not answering; retrying`);
      await sleep(delayMs);
    }
  }
}
