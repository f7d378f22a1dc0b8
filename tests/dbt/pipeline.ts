/**
 * The real pipeline into per-test databases, as a data engineer runs it: the CDC ingestor
 * starts first (snapshot, then binlog), the generator writes a seeded shop into a test
 * MariaDB database and a test Kafka topic, the Kafka ingestor lands the clickstream, and the
 * CDC ingestor catches up to the binlog head. Each component runs as its own CLI.
 */
import { join } from 'node:path';

import { backfillArgs, startCli, waitForSnapshot } from '../../bench/lib/shop-pipeline.ts';
import { ROOT_DIR, type Config } from '../../lib/config/index.ts';
import { createTestTopic, type TestTopic } from '../helpers/kafka.ts';
import { createTestShopDb, type TestShopDb } from '../helpers/shopdb.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';

export interface PipelineEnv {
  shop: TestShopDb;
  warehouse: TestWarehouse;
  topic: TestTopic;
  /** Warehouse config (WAREHOUSE_URL = the test database) for runDbt. */
  config: Config;
  drop(): Promise<void>;
}

export interface GenerateSize {
  from: string;
  to: string;
  customers: number;
  products: number;
  orders: number;
  seed: number;
}

function envFor(env: Omit<PipelineEnv, 'drop' | 'config'>, serverId: number): Record<string, string> {
  const base: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR']) {
    const value = process.env[key];
    if (value) base[key] = value;
  }
  return {
    ...base,
    WAREHOUSE_URL: env.warehouse.adminUrl,
    SHOP_DB_URL: env.shop.url,
    CDC_SERVER_ID: String(serverId),
    KAFKA_BROKERS: env.topic.brokers.join(','),
    KAFKA_TOPIC: env.topic.topic,
    KAFKA_GROUP_ID: env.topic.groupId,
    KAFKA_PARTITIONS: '3',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    INGEST_BATCH_MAX_MS: '200',
    LOG_LEVEL: 'warn',
    CI: 'true',
  };
}

export async function createPipelineEnv(label: string): Promise<PipelineEnv> {
  const shop = await createTestShopDb(label, { withSchema: true });
  const warehouse = await createTestWarehouse(label);
  const topic = await createTestTopic(label, 3);
  return {
    shop,
    warehouse,
    topic,
    config: warehouse.config,
    async drop() {
      await topic.delete();
      await shop.drop();
      await warehouse.drop();
    },
  };
}

/** Generate a shop and land all of it in the warehouse through both ingestors. */
export async function generateAndIngest(
  env: PipelineEnv,
  size: GenerateSize,
  options: { anomalies?: boolean; extraEnv?: Record<string, string> } = {},
): Promise<void> {
  // extraEnv: e.g. the lakehouse's change topic, so the CDC ingestor also publishes to it.
  const childEnv = { ...envFor(env, 100_000 + Math.floor(Math.random() * 1_000_000_000)), ...options.extraEnv };
  const cdc = startCli('ingest/cdc/cli.ts', [], childEnv);
  cdc.done.catch(() => undefined);
  try {
    await waitForSnapshot(env.warehouse.adminUrl, cdc.done);
    const args = [...backfillArgs(size), '--quiet'];
    if (options.anomalies) args.push('--anomalies', '--manifest', join(ROOT_DIR, '.data', 'generator', `${env.topic.topic}.jsonl`));
    await startCli('generator/cli.ts', args, childEnv).done;
    await startCli('ingest/kafka/cli.ts', ['--until-idle', '3000'], childEnv).done;
  } finally {
    cdc.child.kill('SIGTERM');
    await cdc.done.catch(() => undefined);
  }
  await catchUpShopChanges(env, options.extraEnv);
}

/**
 * The CDC ingestor resumes from its committed position and stops at the binlog head: what a
 * write to the shop after generateAndIngest (a DBA's statement) needs to reach the warehouse.
 */
export async function catchUpShopChanges(env: PipelineEnv, extraEnv: Record<string, string> = {}): Promise<void> {
  const childEnv = { ...envFor(env, 100_000 + Math.floor(Math.random() * 1_000_000_000)), ...extraEnv };
  await startCli('ingest/cdc/cli.ts', ['--until-idle', '3000'], childEnv).done;
}
