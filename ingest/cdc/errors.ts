/** Which CDC failures are worth a retry (source or warehouse restarting) and which need a person. */
import { FatalPipelineError, isRetryable, ShopflowError } from '../../lib/errors.ts';

/** mysql2 / MariaDB error codes that mean "the server went away or is busy; resume later". */
const RETRYABLE_MYSQL_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_QUERY_INTERRUPTED',
  'ER_TABLE_DEF_CHANGED',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_CANT_CREATE_THREAD',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/** ER_MASTER_FATAL_ERROR_READING_BINLOG: the requested binlog file or position is not there. */
export const MYSQL_BINLOG_READ_ERRNO = 1236;

function field(error: unknown, name: 'code' | 'errno'): unknown {
  return typeof error === 'object' && error !== null && name in error ? (error as Record<string, unknown>)[name] : undefined;
}

export function isBinlogReadError(error: unknown): boolean {
  return field(error, 'errno') === MYSQL_BINLOG_READ_ERRNO || field(error, 'code') === 'ER_MASTER_FATAL_ERROR_READING_BINLOG';
}

export type Verdict = 'retry' | 'fatal' | 'unknown';

export function classifyCdcError(error: unknown): Verdict {
  for (let current: unknown = error, depth = 0; current && depth < 8; depth++) {
    if (current instanceof FatalPipelineError) return 'fatal';
    if (current instanceof ShopflowError) return current.canRetry ? 'retry' : 'fatal';
    const code = field(current, 'code');
    if (typeof code === 'string' && RETRYABLE_MYSQL_CODES.has(code)) return 'retry';
    // Postgres data and programming errors (22xxx, 23xxx, 42xxx) repeat on every attempt.
    if (typeof code === 'string' && /^(22|23|42)[0-9A-Z]{3}$/.test(code)) return 'fatal';
    current = current instanceof Error ? current.cause : undefined;
  }
  if (isRetryable(error)) return 'retry';
  return 'unknown';
}

export class BinlogPurgedError extends FatalPipelineError {
  constructor(message: string, cause?: unknown) {
    super('CDC_BINLOG_PURGED', message, cause);
  }
}
