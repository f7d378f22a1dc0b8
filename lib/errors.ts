/**
 * ShopFlow's error hierarchy: a stable `code`, a `canRetry` flag and the original `cause`.
 * Raw driver errors are classified once, by SQLSTATE / errno, never by message text.
 */

/**
 * Every code a ShopflowError can carry, with what it means: the one list, so a new code is added
 * here and a misspelt one is a type error. Logs, exit messages, the scheduler's run ledger and
 * tests match on these strings; keep them stable.
 */
export const ERROR_CODES = {
  SHOPFLOW_CONFIG: 'a setting is missing or invalid',
  SHOPFLOW_USAGE: 'a command-line flag is missing or invalid',
  SHOPFLOW_SERVICE_UNAVAILABLE: 'a service (Postgres, MariaDB, Kafka, SMTP) is unreachable or not ready',
  SHOPFLOW_PROCESS_FAILED: 'a child process (dbt, Great Expectations, Superset) failed',
  SHOPFLOW_MISSING_BINARY: 'a program a local service needs is not installed',
  SHOPFLOW_PORT_TAKEN: "a local service's port is held by another process",
  SHOPFLOW_SERVICE_SPAWN: 'a local service did not start',
  SHOPFLOW_SERVICE_PID_FILE: "a local service's pid file names another live process of it",
  SHOPFLOW_POSTGRES_INITDB: "the embedded Postgres' initdb failed",
  SHOPFLOW_POSTGRES_USER: 'the postgres system user (for Postgres started by root) could not be created',
  SHOPFLOW_NOT_MIGRATED: 'the warehouse database or its tables do not exist yet (npm run migrate)',
  SHOPFLOW_WAREHOUSE_AUTH: "an ingestor's role cannot log in to the warehouse",
  SHOPFLOW_WAREHOUSE_GRANTS: "an ingestor's role lacks privileges it needs",
  SHOPFLOW_KAFKA_PARTITIONS: 'a topic has fewer partitions than configured',
  SHOPFLOW_KAFKA_PRODUCE: 'producing to Kafka failed',
  SHOPFLOW_KAFKA_FLUSH: 'the Kafka ingestor cannot write to the warehouse',
  SHOPFLOW_GENERATOR_NOT_EMPTY: 'a backfill was asked to write into a shop database that has data',
  SHOPFLOW_GENERATOR_WRITE: 'the generator could not write to the shop database',
  SHOPFLOW_MAIL_FAILED: 'the SMTP server refused or lost a message',
  SHOPFLOW_DELIVERY_IN_PROGRESS: 'a report delivery was claimed and never finished',
  SHOPFLOW_MAIL_OUTCOME_UNKNOWN: 'the SMTP server took the message but its answer was lost: it may or may not have stored it',
  SHOPFLOW_DELIVERY_UNKNOWN: 'a delivery is recorded as unknown (handed over, answer lost) and waits for npm run report -- --resolve',
  SHOPFLOW_PROCESS_LOCK_BUSY: 'a child process was not started because another holds its lock file (a build still running)',
  SHOPFLOW_REPORT_CLAIM_STUCK: "the scheduler found the day's report claimed by a process that never sent it",
  SHOPFLOW_REPORT_NO_DATA: 'the marts hold no day with orders to report on',
  SHOPFLOW_REPORT_UNCHECKED: 'no gate results to send the report with',
  SHOPFLOW_GATE_FULL_PASS_FAILED:
    "the nightly full pass of the raw gate found rows that fail its checks (the morning's gate runs full until one passes)",
  SHOPFLOW_RAW_ARCHIVE_MISMATCH:
    'an archived raw day does not match the warehouse (or would duplicate it): nothing was dropped or restored',
  SHOPFLOW_DISK_LOW: 'a disk the warehouse or the broker writes to is nearly full (DISK_STOP_FREE_MB)',
  SHOPFLOW_JOB_BUSY: 'the job is running in another process',
  SHOPFLOW_DEMO: 'a step of the demo failed',
  SHOPFLOW_LAKE_PUBLISH: "publishing the lake's marts to the warehouse failed, or dbt's manifest does not declare them",
  SHOPFLOW_CHROMIUM_MISSING: 'no Chromium to render screenshots with',
  SHOPFLOW_DASHBOARDS_IMPORT: 'Superset did not import the dashboard bundle',
  SHOPFLOW_DASHBOARDS_NOT_SET_UP: 'no local Superset to export dashboards from',
  SHOPFLOW_METRIC_QUERY_FAILED: 'MetricFlow could not answer a metric query (dbt/models/semantic/)',
  SHOPFLOW_DASHBOARD_CHART_ERRORS: 'a dashboard rendered charts with errors',
  SHOPFLOW_SUPERSET_API: "Superset's API answered with an error",
  SHOPFLOW_SUPERSET_DOWN: 'Superset is not running',
  SHOPFLOW_SUPERSET_LOGIN: 'Superset refused the login',
  SHOPFLOW_SUPERSET_PORT_TAKEN: "Superset's port is held by another process",
  SHOPFLOW_SUPERSET_PYTHON: 'no Python version Superset supports on the PATH',
  SHOPFLOW_SUPERSET_START: 'Superset did not start',
  SHOPFLOW_RESET_SCHEDULER_RUNNING: 'a reset was refused because a scheduler is running (it would restart the ingestors)',
  SHOPFLOW_RESET_INGESTOR_ELSEWHERE: 'a reset was refused because an ingestor is connected from another host',
  SHOPFLOW_RESET_INGESTOR_STUCK: 'an ingestor did not stop when the reset asked it to',
  SHOPFLOW_PROMETHEUS_MISSING: "Prometheus is enabled but Debian's prometheus package is not installed",
  CDC_ALREADY_RUNNING: 'another CDC ingestor holds the lock for this source',
  CDC_BINLOG_PURGED: 'the binlog position to resume from was purged on the source',
  CDC_GIVING_UP: 'CDC kept failing with an unexpected error',
  CDC_NO_DATABASE: 'SHOP_DB_URL names no database',
  CDC_SOURCE_SETTINGS: 'the source server is not set up for CDC (binlog format, row image)',
  CDC_PARTIAL_ROW_IMAGE: 'a row event has a MINIMAL or NOBLOB row image: changes would land without full rows',
  CDC_TABLE_MOVED_IN: 'a table was renamed into the captured database from another one',
  CDC_SOURCE_REPLACED: 'the source server or its binlog history is not the one the stored position belongs to',
  CDC_STATEMENT_LOGGED_DML: 'the binlog holds a change logged as a statement, not rows',
  PG_CDC_SOURCE_SETTINGS: 'the Postgres shop is not set up for logical replication (wal_level, privileges)',
  PG_CDC_SLOT_LOST: 'the replication slot the stored position belongs to is gone from the Postgres shop',
  FILES_FOLDER_MISSING: "a file source's folder does not exist or cannot be read",
  FILES_HEADER_MISMATCH: "a file's CSV header lacks a column its source declares",
  FILES_MALFORMED_CSV: 'a file is not CSV as its source declares it (e.g. a quote never closed): refused whole',
  FILES_MALFORMED_PARQUET:
    'a file is not Parquet the reader can read (corrupt, a compression codec it lacks, a nested column): refused whole',
  FILES_TOO_MANY_BAD_ROWS: 'a file has more bad rows than its source allows: refused whole',
  FILES_CHANGED_WHILE_LANDING: 'a file changed while it was being landed: nothing of it was committed',
  FILES_S3_UNREADABLE: "a file source's S3 bucket or prefix cannot be listed or read (no such bucket, access denied)",
  S3_UNREACHABLE: 'the S3 endpoint did not answer (connection refused, reset or timed out): retried on the next pass',
  S3_REQUEST_FAILED: 'an S3 request was answered with an error (the S3 error code and message say which)',
  FILES_TYPED_TABLE_CHANGED: "a file source's raw_files table has a column of a type the ingestor does not give (altered by hand)",
  API_UNAUTHORIZED: 'a REST API refused the token (401/403): set API_TOKEN',
  API_HTTP_ERROR: 'a REST API answered a request with an error that retrying does not fix (4xx)',
  API_BAD_RESPONSE: "a REST API's answer is not the JSON its source declares (cut short, or another shape)",
  API_UNORDERED: 'a REST API served records out of updated-at order: its cursor would skip records',
  API_ALREADY_RUNNING: 'another puller holds the lock for this API source',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ShopflowError extends Error {
  readonly code: ErrorCode;
  readonly canRetry: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; canRetry?: boolean } = {}) {
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
  constructor(code: ErrorCode, message: string, cause?: unknown) {
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

/**
 * SQLSTATE codes worth retrying. Constraint violations (23xxx) never are. How long to wait is the
 * caller's backoff policy (lib/retry.ts), not the code's: every caller retries one operation
 * with one policy, whichever of these codes interrupted it.
 */
export const RETRYABLE_PG_CODES: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '57P01', // admin_shutdown (server restarting)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up)
  '08000', // connection_exception
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '57014', // query_canceled (statement timeout)
]);

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
    if (code && (RETRYABLE_PG_CODES.has(code) || RETRYABLE_ERRNOS.has(code))) return true;
    if (code?.startsWith('23')) return false;
    if (current instanceof Error && /Connection terminated|Client has encountered a connection error/.test(current.message)) {
      // node-postgres raises these without a code when the socket closes; they are its only signal.
      return true;
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return false;
}
