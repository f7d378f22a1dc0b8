/** Capped, jittered exponential backoff and a retry loop that honours `isRetryable`. */
import { setTimeout as sleep } from 'node:timers/promises';

import { coerceError, isRetryable } from './errors.ts';

export interface BackoffPolicy {
  minDelayMs: number;
  maxDelayMs: number;
  /** Give up after this many attempts; Infinity retries for as long as the error is transient. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { minDelayMs: 200, maxDelayMs: 30_000, maxAttempts: Infinity };

/** Delay before attempt `attempt` (1-based retry count), with 0.5x-1.5x jitter against thundering herds. */
export function backoffDelay(attempt: number, policy: Pick<BackoffPolicy, 'minDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(Math.min(policy.maxDelayMs, base * (0.5 + random())));
}

export interface RetryOptions extends Partial<BackoffPolicy> {
  signal?: AbortSignal;
  onRetry?: (error: Error, attempt: number, delayMs: number) => void;
  retryable?: (error: unknown) => boolean;
}

export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy = { ...DEFAULT_BACKOFF, ...options };
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (thrown) {
      const error = coerceError(thrown);
      if (!retryable(thrown) || attempt >= policy.maxAttempts || options.signal?.aborted) throw error;
      const delayMs = backoffDelay(attempt, policy);
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
