/**
 * One GET with the retry policy as data: which answers are worth another attempt (5xx, 429,
 * 408, timeouts, connection errors, a body the caller finds cut short), capped and jittered
 * backoff between attempts, and a server's Retry-After honoured up to the same cap. 401/403
 * and other 4xx are not retried: the token or the request is wrong, and repeating it changes
 * nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { coerceError, ServiceUnavailableError, ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { backoffDelay } from '../../lib/retry.ts';

export interface HttpPolicy {
  timeoutMs: number;
  maxAttempts: number;
  minDelayMs: number;
  maxDelayMs: number;
}

/** Statuses a later attempt may get past. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

export interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  url: string;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** A failure worth another attempt: what to log, and how long the server asked us to wait. */
export class RetryableAnswer extends Error {
  constructor(
    message: string,
    readonly waitMs: number | null = null,
  ) {
    super(message);
  }
}

/**
 * GETs `url` until `accept` takes the answer: it returns a value, or throws RetryableAnswer
 * (e.g. JSON cut short) to try again. Gives up after maxAttempts with ServiceUnavailableError.
 */
export async function getWithRetries<T>(
  url: string,
  headers: Record<string, string>,
  policy: HttpPolicy,
  accept: (answer: Answer) => T,
  options: { logger: Logger; signal: AbortSignal; what: string },
): Promise<T> {
  let last = '';
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    let waitMs: number | null = null;
    try {
      const signal = AbortSignal.any([options.signal, AbortSignal.timeout(policy.timeoutMs)]);
      const response = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal, redirect: 'follow' });
      // The body is read under the same timeout: a server that stalls mid-body is retried too.
      const body = Buffer.from(await response.arrayBuffer());
      const answer: Answer = { status: response.status, headers: response.headers, body, url: response.url || url };
      if (response.status === 401 || response.status === 403)
        throw new ShopflowError('API_UNAUTHORIZED', `${options.what}: the API answered ${response.status} to ${url}: check API_TOKEN`);
      if (RETRYABLE_STATUSES.has(response.status)) {
        waitMs = retryAfterMs(response.headers.get('retry-after'));
        throw new RetryableAnswer(`HTTP ${response.status}`, waitMs);
      }
      if (response.status < 200 || response.status > 299)
        throw new ShopflowError(
          'API_HTTP_ERROR',
          `${options.what}: the API answered ${response.status} to ${url}: ${body.toString('utf8').slice(0, 200)}`,
        );
      return accept(answer);
    } catch (thrown) {
      if (thrown instanceof ShopflowError) throw thrown;
      if (options.signal.aborted) throw coerceError(options.signal.reason ?? thrown);
      const error = coerceError(thrown);
      if (thrown instanceof RetryableAnswer) waitMs = thrown.waitMs;
      last =
        error.name === 'TimeoutError'
          ? `no answer within ${policy.timeoutMs} ms`
          : `${error.message}${error.cause ? ` (${coerceError(error.cause).message})` : ''}`;
      if (attempt === policy.maxAttempts) break;
      const backoff = backoffDelay(attempt, policy);
      const delayMs = Math.min(policy.maxDelayMs, Math.max(backoff, waitMs ?? 0));
      options.logger.warn({ url, attempt, delayMs, problem: last }, `${options.what}: retrying`);
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
  throw new ServiceUnavailableError(
    `${options.what}: ${url} failed ${policy.maxAttempts} times (last: ${last}); is the API up? (API_MAX_ATTEMPTS)`,
  );
}
