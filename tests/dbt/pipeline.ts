/**
 * The real pipeline into per-test databases, as a data engineer runs it: the CDC ingestor
 * starts first (snapshot, then binlog), the generator writes a seeded shop into a test
 * MariaDB database and a test Kafka topic, the Kafka ingestor lands the clickstream, and the
 * CDC ingestor catches up to the binlog head. Each component runs as its own CLI.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ROOT_DIR, type Config } from '../../lib/config/index.ts';
import { ProcessFailedError } from '../../lib/errors.ts';
import { createTestTopic, type TestTopic } from '../helpers/kafka.ts';
import { createTestShopDb, type TestShopDb } from '../helpers/shopdb.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { withPg } from './helpers.ts';

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

function startCli(entry: string, args: string[], env: Record<string, string>) {
  // node with the tsx loader, not the tsx launcher: a SIGTERM must reach the ingestor itself.
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT_DIR,
    env,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (error) => reject(new ProcessFailedError(entry, null, null, error.message)));
    child.on('close', (code, signal) =>
      code === 0 ? resolve() : reject(new ProcessFailedError(`${entry} ${args.join(' ')}`, code, signal, tail)),
    );
  });
  return { child, done };
}

async function waitForSnapshot(adminUrl: string, exited: Promise<void>, timeoutMs = 120_000): Promise<void> {
  let failure: unknown;
  let finished = false;
  exited.then(
    () => (finished = true),
    (error: unknown) => ((finished = true), (failure = error)),
  );
  await withPg(adminUrl, async (client) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (finished) throw failure ?? new Error('the CDC ingestor exited before finishing its snapshot');
      const { rows } = await client.query<{ snapshot_state: string }>('select snapshot_state from ingest.cdc_positions');
      if (rows.length > 0 && rows.every((r) => r.snapshot_state === 'done')) return;
      await sleep(250);
    }
    throw new Error('the CDC snapshot did not finish in time');
  });
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
export async function generateAndIngest(env: PipelineEnv, size: GenerateSize, options: { anomalies?: boolean } = {}): Promise<void> {
  const childEnv = envFor(env, 100_000 + Math.floor(Math.random() * 1_000_000_000));
  const cdc = startCli('ingest/cdc/cli.ts', [], childEnv);
  cdc.done.catch(() => undefined);
  try {
    await waitForSnapshot(env.warehouse.adminUrl, cdc.done);
    const args = [
      '--backfill',
      '--from',
      size.from,
      '--to',
      size.to,
      '--customers',
      String(size.customers),
      '--products',
      String(size.products),
      '--orders',
      String(size.orders),
      '--seed',
      String(size.seed),
      '--quiet',
    ];
    if (options.anomalies) args.push('--anomalies', '--manifest', join(ROOT_DIR, '.data', 'generator', `${env.topic.topic}.jsonl`));
    await startCli('generator/cli.ts', args, childEnv).done;
    await startCli('ingest/kafka/cli.ts', ['--until-idle', '3000'], childEnv).done;
  } finally {
    cdc.child.kill('SIGTERM');
    await cdc.done.catch(() => undefined);
  }
  // A fresh process resumes from the committed position and stops at the binlog head.
  await startCli('ingest/cdc/cli.ts', ['--until-idle', '3000'], childEnv).done;
}
