/**
 * What a lakehouse job is told when it starts: one JSON object built from the configuration
 * (lib/config) and from the clickstream contract (lib/events), handed to the Python process in
 * SHOPFLOW_LAKE_SETTINGS. The Python side reads nothing else, so lib/config stays the one place
 * that reads the environment, and lib/events the one home of the contract.
 */
import { z } from 'zod';

import { roleUrl, type Config } from '../config/index.ts';
import { EVENT_TIME_END_MS, EVENT_TIME_MIN_MS, INTEGER_FIELDS, MAX_EVENT_BYTES, MONEY, MONEY_FIELDS } from '../events/bounds.ts';
import { shopEvent } from '../events/schema.ts';
import { lakehouseJars, type LakehousePaths } from './paths.ts';

export interface ContractSpec {
  jsonSchema: Record<string, unknown>;
  maxEventBytes: number;
  maxKeyBytes: number;
  eventTimeMinMs: number;
  eventTimeEndMs: number;
  integerFields: string[];
  moneyFields: string[];
  moneyScale: number;
}

/** The contract as the Python decider (lakehouse/shopflow_lake/contract.py) reads it. */
export function contractSpec(config: Pick<Config, 'KAFKA_MAX_KEY_BYTES'>): ContractSpec {
  return {
    jsonSchema: z.toJSONSchema(shopEvent, { target: 'draft-2020-12' }) as Record<string, unknown>,
    maxEventBytes: MAX_EVENT_BYTES,
    maxKeyBytes: config.KAFKA_MAX_KEY_BYTES,
    eventTimeMinMs: EVENT_TIME_MIN_MS,
    eventTimeEndMs: EVENT_TIME_END_MS,
    integerFields: [...INTEGER_FIELDS],
    moneyFields: [...MONEY_FIELDS],
    moneyScale: MONEY.scale,
  };
}

export interface LakeSettings {
  appName: string;
  master: string;
  driverMemory: string;
  executorMemory: string;
  /** Cores the job may take across the cluster (spark.cores.max), in one-core executors. */
  maxCores: number;
  jars: string[];
  python: string;
  pythonPath: string;
  catalog: { name: string; jdbcUrl: string; user: string; password: string; warehouse: string };
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; pathStyle: boolean };
  kafka: { bootstrap: string; topic: string; changesTopic: string; startingOffsets: 'earliest' | 'latest' };
  checkpointDir: string;
  triggerSeconds: number;
  contract: ContractSpec;
  /** Windows job: how late an event may be and still count (its watermark delay). */
  lateness: { minutes: number };
  maintenance: { snapshotRetentionHours: number };
  /** Where Spark writes its event log (jobs, stages, tasks with timings); off when absent. Profiling runs set it. */
  eventLogDir?: string;
  /**
   * How the clickstream and windows jobs decide records: `udf`, the row-at-a-time Python UDF
   * (contract.py, the default), or `sql`, the contract as Spark SQL expressions
   * (contract_sql.py), which `npm run bench -- lake-landing` measures against it (its `sql1` run).
   */
  contractEngine?: 'sql' | 'udf';
}

/**
 * Executor heap: a worker's memory shared by its slots (one one-core executor each), minus room
 * for what the JVM holds beside its heap, so a worker hosts an executor in every slot. Spark
 * refuses heaps under 450 MB.
 */
export function executorMemory(workerMemory: string, workerCores: number): string {
  const mb = workerMemory.endsWith('g') ? Number(workerMemory.slice(0, -1)) * 1024 : Number(workerMemory.slice(0, -1));
  return `${Math.max(450, Math.floor((mb / workerCores) * 0.6))}m`;
}

/** The Spark application name of a job: how the master (and `npm run lake -- status`) knows it. */
export function lakeAppName(job: string): string {
  return `shopflow-${job}`;
}

export function lakeSettings(
  config: Config,
  paths: LakehousePaths,
  job: {
    name: string;
    checkpointDir: string;
    maxCores?: number;
    startingOffsets?: 'earliest' | 'latest';
    catalogDatabase?: string;
    warehousePrefix?: string;
  },
): LakeSettings {
  const catalogUrl = new URL(roleUrl(config, 'ingest_writer', job.catalogDatabase));
  return {
    appName: lakeAppName(job.name),
    master: config.SPARK_MASTER,
    driverMemory: config.SPARK_DRIVER_MEMORY,
    executorMemory: executorMemory(config.SPARK_WORKER_MEMORY, config.SPARK_WORKER_CORES),
    maxCores: job.maxCores ?? config.LAKE_JOB_CORES,
    jars: lakehouseJars(paths),
    python: paths.python,
    pythonPath: paths.jobsDir,
    catalog: {
      name: 'lake',
      jdbcUrl: `jdbc:postgresql://${catalogUrl.host}${catalogUrl.pathname}?currentSchema=lake_catalog&ApplicationName=shopflow-${job.name}`,
      user: decodeURIComponent(catalogUrl.username),
      password: decodeURIComponent(catalogUrl.password),
      warehouse: `s3://${config.S3_BUCKET}/${job.warehousePrefix ?? 'warehouse'}`,
    },
    s3: {
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
      pathStyle: config.S3_PATH_STYLE,
    },
    kafka: {
      bootstrap: config.KAFKA_BROKERS.join(','),
      topic: config.KAFKA_TOPIC,
      changesTopic: config.LAKE_CHANGES_TOPIC,
      startingOffsets: job.startingOffsets ?? 'earliest',
    },
    checkpointDir: job.checkpointDir,
    triggerSeconds: config.LAKE_TRIGGER_SECONDS,
    contract: contractSpec(config),
    lateness: { minutes: 10 },
    maintenance: { snapshotRetentionHours: config.LAKE_SNAPSHOT_RETENTION_HOURS },
  };
}
