/**
 * Every environment variable ShopFlow reads, with its default and what it expects.
 * `.env.example` mirrors this file; a test keeps the two in step.
 */
import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be >= ${min}`)
    .max(max, `must be <= ${max}`);

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
  );

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const cron = z.string().regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression with 5 or 6 fields, e.g. "0 8 * * *"');

/** The ingestors the scheduler can supervise (scheduler/ingestors.ts has an entry for each). */
export const SCHEDULED_INGESTORS = ['kafka', 'cdc', 'pg-cdc', 'files', 'api'] as const;
export type ScheduledIngestor = (typeof SCHEDULED_INGESTORS)[number];

/** Defaults, written as one literal so a reader sees the whole local platform at a glance. */
/**
 * The sources the quality gate knows (GATE_SOURCES): the one home of the list;
 * great_expectations/gate/sources.py's SOURCE_NAMES is tested against it.
 */
export const GATE_SOURCE_NAMES = ['database', 'clickstream', 'files', 'api'] as const;
export type GateSourceName = (typeof GATE_SOURCE_NAMES)[number];

export const DEFAULTS = {
  SHOPFLOW_DATA_DIR: '.data',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'auto',
  WAREHOUSE_URL: 'postgres://postgres:shopflow@127.0.0.1:54329/shopflow',
  WAREHOUSE_INGEST_PASSWORD: 'ingest_writer_local',
  WAREHOUSE_TRANSFORMER_PASSWORD: 'transformer_local',
  WAREHOUSE_BI_PASSWORD: 'bi_reader_local',
  WAREHOUSE_OPS_PASSWORD: 'ops_writer_local',
  WAREHOUSE_FORECAST_PASSWORD: 'forecast_writer_local',
  // bi_reader's guards (docs/operations.md, "Roles"): Superset and the report share them.
  WAREHOUSE_BI_STATEMENT_TIMEOUT_MS: '120000',
  WAREHOUSE_BI_CONNECTION_LIMIT: '30',
  SHOP_DB_URL: 'mysql://shopflow:shopflow@127.0.0.1:33069/shop',
  CDC_SERVER_ID: '5401',
  CDC_RAW_LAYOUT: 'typed',
  // The shop on Postgres (docs/pg-cdc.md): a second server with wal_level=logical.
  SHOP_PG_URL: 'postgres://postgres:shopflow@127.0.0.1:54339/shop',
  PG_CDC_SLOT: 'shopflow_cdc',
  PG_CDC_PUBLICATION: 'shopflow_cdc',
  KAFKA_BROKERS: '127.0.0.1:19092',
  KAFKA_TOPIC: 'shop.events',
  KAFKA_PARTITIONS: '6',
  KAFKA_GROUP_ID: 'shopflow-ingest',
  KAFKA_CLIENT_ID: 'shopflow',
  INGEST_BATCH_ROWS: '10000',
  INGEST_BATCH_MAX_MS: '500',
  INGEST_GIVE_UP_MS: '30000',
  SMTP_URL: 'smtp://127.0.0.1:2525',
  SMTP_TIMEOUT_MS: '30000',
  REPORT_FROM: 'ShopFlow <reports@shopflow.local>',
  REPORT_TO: 'managers@shopflow.local',
  ALERT_TO: 'data-team@shopflow.local',
  SCHEDULER_TZ: 'UTC',
  REPORT_CRON: '0 8 * * *',
  NIGHTLY_CRON: '0 2 * * *',
  MICROBATCH_MINUTES: '15',
  SCHEDULER_DBT_TIMEOUT_MINUTES: '30',
  PYTHON_VENV: '.venv',
  // quality gate (docs/quality-gate.md)
  GATE_SOURCES: 'database,clickstream',
  // demand forecasting (docs/forecast.md)
  FORECAST_SEED: '42',
  FORECAST_HOLIDAY_COUNTRY: 'US',
  SUPERSET_VENV: '.data/superset-venv',
  SUPERSET_PORT: '8088',
  SUPERSET_ADMIN_USER: 'admin',
  SUPERSET_ADMIN_PASSWORD: 'admin',
  SUPERSET_SECRET_KEY: 'shopflow-local-superset-secret-change-me',
  // scheduler (docs/scheduler.md)
  SCHEDULER_INGESTORS: 'kafka,cdc',
  // file ingestor (docs/files.md): the sources config `ingest:files` reads when --config is not given
  FILES_CONFIG: '',
  FILES_POLL_SECONDS: '60',
  // REST puller (docs/api.md) and the generator's shop API it is tested against
  API_CONFIG: '',
  API_TOKEN: 'shopflow-local-api-token',
  API_POLL_SECONDS: '60',
  API_TIMEOUT_MS: '30000',
  API_MAX_ATTEMPTS: '8',
  API_RETRY_MAX_MS: '30000',
  SHOP_API_PORT: '8787',
  SHOP_API_TOKEN: 'shopflow-local-api-token',
  SCHEDULER_STEP_ATTEMPTS: '3',
  SCHEDULER_RETRY_MAX_MS: '60000',
  SCHEDULER_STANDBY_POLL_MS: '5000',
  // metrics (docs/operations.md#metrics)
  METRICS_ENABLED: 'false',
  METRICS_HOST: '127.0.0.1',
  METRICS_PORT_KAFKA: '9464',
  METRICS_PORT_CDC: '9465',
  METRICS_PORT_SCHEDULER: '9466',
  PROMETHEUS_PORT: '9090',
  // kafka ingestor (docs/kafka-ingestor.md)
  KAFKA_SESSION_TIMEOUT_MS: '30000',
  KAFKA_MAX_KEY_BYTES: '1024',
  // lakehouse (docs/lakehouse.md): off by default; Postgres stays the warehouse either way
  LAKEHOUSE_ENABLED: 'false',
  LAKEHOUSE_VENV: '.data/lakehouse-venv',
  S3_ENDPOINT: 'http://127.0.0.1:9000',
  S3_REGION: 'us-east-1',
  S3_ACCESS_KEY_ID: 'shopflow',
  S3_SECRET_ACCESS_KEY: 'shopflow-local-secret',
  S3_BUCKET: 'shopflow-lake',
  S3_PATH_STYLE: 'true',
  SPARK_MASTER: 'spark://127.0.0.1:7077',
  SPARK_WORKERS: '2',
  SPARK_WORKER_CORES: '2',
  SPARK_WORKER_MEMORY: '2g',
  SPARK_DRIVER_MEMORY: '768m',
  SPARK_SQL_HOST: '127.0.0.1',
  SPARK_SQL_PORT: '10000',
  SPARK_SQL_MEMORY: '1g',
  SPARK_SQL_CORES: '2',
  LAKE_CHANGES_TOPIC: 'shop.changes',
  LAKE_TRIGGER_SECONDS: '5',
  LAKE_JOB_CORES: '1',
  LAKE_MAINTENANCE_CRON: '30 3 * * *',
  LAKE_SNAPSHOT_RETENTION_HOURS: '72',
  // disk headroom (docs/operations.md#disk-space)
  DISK_STOP_FREE_MB: '1024',
  DISK_WARN_FREE_MB: '4096',
  DISK_CHECK_MS: '10000',
  DISK_WATCH_DIRS: '',
  KAFKA_LOCAL_RETENTION_MB: '1024',
  // raw retention (docs/operations.md#raw-retention)
  RAW_RETENTION_DAYS: '0',
  RAW_ARCHIVE_DIR: '.data/archive',
} as const;

export const envSchema = z.object({
  SHOPFLOW_DATA_DIR: z.string().min(1),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  /** auto: readable lines on a terminal, JSON lines when piped; json or pretty force one. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']),
  /**
   * Superuser URL of the warehouse, used only for migrations; components connect as their own role
   * and read only its host, port and database (so processes that never migrate get no credentials).
   */
  WAREHOUSE_URL: url(['postgres', 'postgresql']),
  WAREHOUSE_INGEST_PASSWORD: z.string().min(1),
  WAREHOUSE_TRANSFORMER_PASSWORD: z.string().min(1),
  WAREHOUSE_BI_PASSWORD: z.string().min(1),
  WAREHOUSE_OPS_PASSWORD: z.string().min(1),
  WAREHOUSE_FORECAST_PASSWORD: z.string().min(1),
  /** Longest statement a bi_reader session runs by default (a runaway Superset query ends here). */
  WAREHOUSE_BI_STATEMENT_TIMEOUT_MS: int(100, 86_400_000),
  /** Most connections bi_reader may hold at once, server-wide (Superset's pool plus the report). */
  WAREHOUSE_BI_CONNECTION_LIMIT: int(1, 10_000),
  SHOP_DB_URL: url(['mysql', 'mariadb']),
  CDC_SERVER_ID: int(1, 4294967295),
  /**
   * Where the CDC ingestor lands row changes: one typed change-log table per source table in
   * raw_shop (what dbt staging reads; docs/cdc.md), or, to compare the two in the ingest-cdc
   * bench only, jsonb images in raw.shop_changes, which nothing downstream reads any more.
   */
  CDC_RAW_LAYOUT: z.enum(['jsonb', 'typed']),
  /** The shop database on Postgres (`generate --source-db postgres`, `ingest:pg-cdc`); superuser or REPLICATION role. */
  SHOP_PG_URL: url(['postgres', 'postgresql']),
  /** Logical replication slot and publication the Postgres CDC ingestor reads through (docs/pg-cdc.md). */
  PG_CDC_SLOT: z.string().regex(/^[a-z0-9_]{1,63}$/, 'must be lower-case letters, digits and _ (a replication slot name)'),
  PG_CDC_PUBLICATION: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier'),
  KAFKA_BROKERS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'each broker must be host:port')).min(1, 'must list at least one host:port')),
  KAFKA_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a valid Kafka topic name'),
  KAFKA_PARTITIONS: int(1, 1000),
  KAFKA_GROUP_ID: z.string().min(1),
  KAFKA_CLIENT_ID: z.string().min(1),
  INGEST_BATCH_ROWS: int(1, 1_000_000),
  INGEST_BATCH_MAX_MS: int(1, 600_000),
  /** An ingestor whose source or warehouse does not answer for this long exits 69 (the scheduler restarts it). */
  INGEST_GIVE_UP_MS: int(0, 86_400_000),
  SMTP_URL: url(['smtp', 'smtps']),
  /** How long a send waits for any SMTP reply, the acknowledgement after DATA included; past it the outcome is 'unknown'. */
  SMTP_TIMEOUT_MS: int(1_000, 600_000),
  /**
   * Where the SMTP server stores accepted messages as .eml files, if this host can read them:
   * a send whose acknowledgement was lost is then settled by looking for its Message-ID there.
   * Unset: the local sink's folder (<data dir>/mail) when SMTP_URL is unset, else no check.
   */
  SMTP_MAILBOX_DIR: z.string().min(1).optional(),
  REPORT_FROM: z.string().min(3),
  REPORT_TO: z.string().min(3),
  ALERT_TO: z.string().min(3),
  SCHEDULER_TZ: z.string().refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone, e.g. Europe/Berlin'),
  REPORT_CRON: cron,
  NIGHTLY_CRON: cron,
  MICROBATCH_MINUTES: int(1, 1440),
  // A dbt step past this is stopped and retried: the first full build after a 10x backfill on a
  // busy 2-core machine took longer than the 30-minute default.
  SCHEDULER_DBT_TIMEOUT_MINUTES: int(1, 24 * 60),
  PYTHON_VENV: z.string().min(1),
  /**
   * Sources the quality gate expects data from: a comma list of GATE_SOURCE_NAMES (database:
   * the shop's MariaDB or Postgres via CDC; clickstream: Kafka events; files: ingest:files;
   * api: ingest:api); or "none". A source that has ever landed is expected whatever this says,
   * so one that goes silent still fails the gate.
   */
  GATE_SOURCES: z
    .string()
    .transform((s) => [
      ...new Set(
        s
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n !== '' && n !== 'none'),
      ),
    ])
    .pipe(
      z.array(
        z.enum(GATE_SOURCE_NAMES, { message: `each entry must be one of ${GATE_SOURCE_NAMES.join(', ')} (or the single word none)` }),
      ),
    ),
  /** Seed of the forecaster's models (XGBoost's row and column sampling): same data and seed, same forecast. */
  FORECAST_SEED: int(0, 2_147_483_647),
  /** Country whose public holidays are forecast features (ISO code the `holidays` package knows). */
  FORECAST_HOLIDAY_COUNTRY: z.string().regex(/^[A-Z]{2}$/, 'must be a two-letter country code, e.g. US'),
  SUPERSET_VENV: z.string().min(1),
  SUPERSET_PORT: int(1, 65535),
  SUPERSET_ADMIN_USER: z.string().min(1),
  SUPERSET_ADMIN_PASSWORD: z.string().min(1),
  SUPERSET_SECRET_KEY: z.string().min(16, 'must be at least 16 characters'),
  /** Ingestors the active scheduler supervises: a comma list of kafka, cdc, pg-cdc, files, api; or "none". */
  SCHEDULER_INGESTORS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '' && n !== 'none'),
    )
    .pipe(
      z.array(
        z.enum(SCHEDULED_INGESTORS, { message: `each entry must be one of ${SCHEDULED_INGESTORS.join(', ')} (or the single word none)` }),
      ),
    ),
  /** The file sources config (docs/files.md) `ingest:files` reads without --config, and the scheduler's files ingestor reads. */
  FILES_CONFIG: z.string(),
  /** Pause between two passes of `ingest:files --watch` (the scheduler's files ingestor). */
  FILES_POLL_SECONDS: int(1, 86_400),
  /** The REST sources config (docs/api.md) `ingest:api` reads without --config, and the scheduler's api ingestor reads. */
  API_CONFIG: z.string(),
  /** Bearer token the REST puller sends to sources declared with `auth: bearer`. */
  API_TOKEN: z.string(),
  /** Pause between two passes of `ingest:api --watch`. */
  API_POLL_SECONDS: int(1, 86_400),
  /** Longest wait for one API answer (headers and body) before it counts as failed and is retried. */
  API_TIMEOUT_MS: int(100, 600_000),
  /** Attempts per API request (5xx, 429, timeouts, bodies cut short) before the pass gives up (exit 69). */
  API_MAX_ATTEMPTS: int(1, 100),
  /** Cap of the backoff between attempts, and of the wait a Retry-After header may ask for. */
  API_RETRY_MAX_MS: int(0, 3_600_000),
  /** Port of the generator's shop API (npm run shop-api). */
  SHOP_API_PORT: int(0, 65535),
  /** Bearer token the shop API requires ("none": no auth). */
  SHOP_API_TOKEN: z.string().min(1),
  /** Attempts per job step before it fails for good and alerts. */
  SCHEDULER_STEP_ATTEMPTS: int(1, 20),
  /** Cap of the backoff between step attempts. */
  SCHEDULER_RETRY_MAX_MS: int(0, 3_600_000),
  /** How often a standby scheduler tries to take the leader lock. */
  SCHEDULER_STANDBY_POLL_MS: int(100, 600_000),
  /** Consumer-group session timeout: how long a member that went silent keeps its partitions. */
  KAFKA_SESSION_TIMEOUT_MS: int(6_000, 300_000),
  /** Serve /metrics from the ingestors and the scheduler, and let services:up start Prometheus. */
  METRICS_ENABLED: bool,
  /** Address the /metrics endpoints listen on (127.0.0.1: this host only; 0.0.0.0 for a remote Prometheus). */
  METRICS_HOST: z.string().min(1),
  METRICS_PORT_KAFKA: int(1, 65535),
  METRICS_PORT_CDC: int(1, 65535),
  METRICS_PORT_SCHEDULER: int(1, 65535),
  /** Port of the local Prometheus server services:up starts when METRICS_ENABLED is true. */
  PROMETHEUS_PORT: int(1, 65535),
  /** Longest Kafka message key the ingestor lands, in bytes; a longer key makes the message a dead letter (oversized_key). */
  KAFKA_MAX_KEY_BYTES: int(1, 1_048_576),
  /** Start the lakehouse (object store, Spark cluster) with services:up and allow `npm run lake` (docs/lakehouse.md). */
  LAKEHOUSE_ENABLED: bool,
  /** The venv with pyspark for the lakehouse jobs (requirements-lakehouse.txt), kept apart from dbt's. */
  LAKEHOUSE_VENV: z.string().min(1),
  /** Any S3 API endpoint; the default is the local S3Proxy that services:up starts. Set it to use AWS S3, R2, GCS (interoperability) or MinIO. */
  S3_ENDPOINT: url(['http', 'https']),
  S3_REGION: z.string().min(1),
  S3_ACCESS_KEY_ID: z.string().min(1),
  S3_SECRET_ACCESS_KEY: z.string().min(1),
  /** Bucket of the Iceberg warehouse (tables under s3://<bucket>/warehouse). The local store creates it; elsewhere it must exist. */
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (lower case, digits, dots, dashes)'),
  /** Path-style URLs (http://host/bucket/key): what S3Proxy and MinIO want; false for virtual-hosted AWS buckets. */
  S3_PATH_STYLE: bool,
  /** The Spark master the jobs run on; the default is the local standalone cluster services:up starts. */
  SPARK_MASTER: z
    .string()
    .regex(/^(spark:\/\/[^:\s]+:\d+|local(\[[\d*]+\])?|yarn|k8s:\/\/\S+)$/, 'must be spark://host:port, local[n], yarn or k8s://...'),
  /** Workers of the local standalone cluster. */
  SPARK_WORKERS: int(1, 16),
  /**
   * Cores (task slots) each local worker offers. May exceed the machine's: a slot is a claim the
   * master hands out, so more slots than cores lets the lake jobs all run at once, sharing CPUs.
   */
  SPARK_WORKER_CORES: int(1, 64),
  /** Memory one local worker offers its executors, shared by its SPARK_WORKER_CORES slots (each executor heap is a bit less than its share). */
  SPARK_WORKER_MEMORY: z.string().regex(/^\d+[mg]$/, 'must be a size such as 768m or 1g'),
  SPARK_DRIVER_MEMORY: z.string().regex(/^\d+[mg]$/, 'must be a size such as 768m or 1g'),
  /** Host of the lake's SQL endpoint (Spark Thrift server) dbt's `lakehouse` target connects to; services:up starts one on 127.0.0.1 with the local cluster. */
  SPARK_SQL_HOST: z.string().min(1),
  SPARK_SQL_PORT: int(1, 65535),
  /** Heap of the SQL endpoint's driver (-Xmx): it plans dbt's queries and collects their results. */
  SPARK_SQL_MEMORY: z.string().regex(/^\d+[mg]$/, 'must be a size such as 768m or 1g'),
  /** Most cores the SQL endpoint takes while a query runs; it gives them back when idle (dynamic allocation), so the landing jobs keep theirs. */
  SPARK_SQL_CORES: int(1, 256),
  /** Kafka topic the CDC ingestor also publishes its changes to (transactionally) when the lakehouse is on. */
  LAKE_CHANGES_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a valid Kafka topic name'),
  /** Micro-batch interval of the landing jobs: also the floor of their freshness. */
  LAKE_TRIGGER_SECONDS: int(1, 3600),
  /** Cores each lake job may take from the cluster (spark.cores.max, one-core executors), so one job never holds every core and the others wait. */
  LAKE_JOB_CORES: int(1, 256),
  /** When the scheduler compacts the Iceberg tables and expires old snapshots. */
  LAKE_MAINTENANCE_CRON: cron,
  /** Snapshots older than this are expired by the maintenance job (time travel reaches this far back). */
  LAKE_SNAPSHOT_RETENTION_HOURS: int(1, 24 * 365),
  /**
   * Free space (MB) under which the ingestors and the scheduler stop cleanly, on the disk of each
   * watched directory: the local Postgres data directory and Kafka log directory (when this
   * project runs them) and DISK_WATCH_DIRS. Set it above what one batch and one dbt build write
   * (WAL included), so they stop before Postgres or the broker runs out.
   */
  DISK_STOP_FREE_MB: int(0, 100_000_000),
  /** Free space (MB) under which `npm run status` and the logs warn. */
  DISK_WARN_FREE_MB: int(0, 100_000_000),
  /** How often the ingestors and the scheduler look at free space. */
  DISK_CHECK_MS: int(100, 3_600_000),
  /** More directories to watch (comma list), e.g. a remote-mounted Postgres data directory. */
  DISK_WATCH_DIRS: z.string().transform((s) =>
    s
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean),
  ),
  /**
   * Load days of raw.shop_events older than this many days are archived to Parquet under
   * RAW_ARCHIVE_DIR and dropped by the nightly job (npm run raw:archive); 0 keeps every day.
   */
  RAW_RETENTION_DAYS: int(0, 100_000),
  /** Where archived raw days go (relative to the project root unless absolute). */
  RAW_ARCHIVE_DIR: z.string().min(1),
  /** Size cap per partition (MB) of the local Kafka broker's log (retention by size: events carry old timestamps). */
  KAFKA_LOCAL_RETENTION_MB: int(1, 100_000_000),
  /** Set by CI; makes bring-up non-interactive and quieter. */
  CI: bool.optional(),
});

export type EnvConfig = z.infer<typeof envSchema>;
export type EnvName = keyof typeof DEFAULTS;
