import { describe, expect, it } from 'vitest';

import { FatalPipelineError, ServiceUnavailableError, coerceError, isRetryable } from '../../lib/errors.ts';
import { backoffDelay, withRetry } from '../../lib/retry.ts';

describe('isRetryable', () => {
  it('classifies Postgres errors by SQLSTATE, never by text', () => {
    expect(isRetryable(Object.assign(new Error('x'), { code: '57P01' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('deadlock'), { code: '40P01' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('unique violation'), { code: '23505' }))).toBe(false);
    expect(isRetryable(Object.assign(new Error('syntax'), { code: '42601' }))).toBe(false);
  });

  it('treats socket errnos as transient and follows the cause chain', () => {
    const socket = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(isRetryable(new Error('wrapped', { cause: socket }))).toBe(true);
  });

  it('honours canRetry on ShopFlow errors', () => {
    expect(isRetryable(new ServiceUnavailableError('kafka down'))).toBe(true);
    expect(isRetryable(new FatalPipelineError('CDC_BINLOG_PURGED', 'gap'))).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially and stays within the cap, with jitter in [0.5x, 1.5x]', () => {
    const policy = { minDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(1, policy, () => 0)).toBe(50);
    expect(backoffDelay(1, policy, () => 1)).toBe(150);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(400);
    expect(backoffDelay(30, policy, () => 1)).toBe(1_000);
  });
});

describe('withRetry', () => {
  it('retries transient failures until success', async () => {
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        return 'ok';
      },
      { minDelayMs: 1, maxDelayMs: 2 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry a constraint violation', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw Object.assign(new Error('dup'), { code: '23505' });
      }),
    ).rejects.toThrow('dup');
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
        },
        { minDelayMs: 1, maxDelayMs: 1, maxAttempts: 4 },
      ),
    ).rejects.toThrow('down');
    expect(calls).toBe(4);
  });
});

describe('coerceError', () => {
  it('wraps non-errors and keeps the original as cause', () => {
    const error = coerceError({ reason: 'weird' });
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('weird');
    expect(error.cause).toEqual({ reason: 'weird' });
  });
});
