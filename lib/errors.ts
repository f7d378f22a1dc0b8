/**
 * ShopFlow's error hierarchy: a stable `code`, a `canRetry` flag and the original `cause`.
 * Raw driver errors are classified once, by SQLSTATE / errno, never by message text.
 */

export class ShopflowError extends Error {
  readonly code: string;
  readonly canRetry: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; canRetry?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.canRetry = options.canRetry ?? false;
  }
}

/** Bad or missing configuration: the message names each variable and what it expects. */
export class ConfigError extends ShopflowError {
  constructor(message: string) {
    super('SHOPFLOW_CONFIG', message);
  }
}

/** A command-line flag problem, reported before anything is written. */
export class UsageError extends ShopflowError {
  constructor(message: string) {
    super('SHOPFLOW_USAGE', message);
  }
}

/** A service (Postgres, MariaDB, Kafka, SMTP) is unreachable or not ready. */
export class ServiceUnavailableError extends ShopflowError {
  constructor(message: string, cause?: unknown) {
    super('SHOPFLOW_SERVICE_UNAVAILABLE', message, { cause, canRetry: true });
  }
}

/** A child process (dbt, Great Expectations, ...) failed. */
export class ProcessFailedError extends ShopflowError {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly outputTail: string,
  ) {
    super('SHOPFLOW_PROCESS_FAILED', `${command} failed (${signal ? `signal ${signal}` : `exit code ${exitCode}`})\n${outputTail}`);
  }
}

/** Something the pipeline cannot go on from without a person (e.g. a purged binlog). */
export class FatalPipelineError extends ShopflowError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { cause, canRetry: false });
  }
}

/** Normalise anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  const message = typeof thrown === 'string' ? thrown : safeStringify(thrown);
  return new Error(message, { cause: thrown });
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** SQLSTATE classes/codes worth retrying, with backoff bounds. Constraint violations (23xxx) never are. */
export const RETRYABLE_PG_CODES: Readonly<Record<string, { minDelayMs: number; maxDelayMs: number }>> = {
  '40001': { minDelayMs: 50, maxDelayMs: 5_000 }, // serialization_failure
  '40P01': { minDelayMs: 50, maxDelayMs: 5_000 }, // deadlock_detected
  '53300': { minDelayMs: 500, maxDelayMs: 30_000 }, // too_many_connections
  '57P01': { minDelayMs: 500, maxDelayMs: 30_000 }, // admin_shutdown (server restarting)
  '57P02': { minDelayMs: 500, maxDelayMs: 30_000 }, // crash_shutdown
  '57P03': { minDelayMs: 500, maxDelayMs: 60_000 }, // cannot_connect_now (starting up)
  '08000': { minDelayMs: 200, maxDelayMs: 30_000 }, // connection_exception
  '08003': { minDelayMs: 200, maxDelayMs: 30_000 }, // connection_does_not_exist
  '08006': { minDelayMs: 200, maxDelayMs: 30_000 }, // connection_failure
  '08001': { minDelayMs: 200, maxDelayMs: 30_000 }, // sqlclient_unable_to_establish_sqlconnection
  '57014': { minDelayMs: 200, maxDelayMs: 10_000 }, // query_canceled (statement timeout)
};

/** Node socket errnos that mean "the other side went away; try again later". */
export const RETRYABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
]);

function codeOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Is this error (or any error in its cause chain) transient? */
export function isRetryable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 8; depth++) {
    if (current instanceof ShopflowError) return current.canRetry;
    const code = codeOf(current);
    if (code && (code in RETRYABLE_PG_CODES || RETRYABLE_ERRNOS.has(code))) return true;
    if (code?.startsWith('23')) return false;
    if (current instanceof Error && /Connection terminated|Client has encountered a connection error/.test(current.message)) {
      // node-postgres raises these without a code when the socket closes; they are its only signal.
      return true;
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return false;
}
