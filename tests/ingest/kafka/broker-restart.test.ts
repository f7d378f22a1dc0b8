/**
 * A Kafka broker restart mid-stream loses and duplicates nothing. The shared test broker cannot
 * be restarted without breaking every other test running at the same time, so this file starts
 * a private broker (the project's own service code, on a free port, with its own data dir and the
 * installed jars), restarts it under the running ingestor, and stops it at the end.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Config } from '../../../lib/config/index.ts';
import { ensureTopic } from '../../../lib/kafka/admin.ts';
import { kafkaService } from '../../../scripts/services/kafka.ts';
import { testConfig } from '../../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { expectExactlyOnce, ingestor, landed, produceEvents } from './support.ts';

let warehouse: TestWarehouse;
let dataDir: string;
let config: Config;
let brokerStarted = false;

/** Listens on `port` (0: any) and closes again; resolves with the port, or undefined if taken. */
function probePort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.on('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

/** The broker listens on a port and its controller on the next one: find a free pair. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await probePort(0);
    if (port !== undefined && port < 65_000 && (await probePort(port + 1)) !== undefined) return port;
  }
}

beforeAll(async () => {
  warehouse = await createTestWarehouse('kafka_broker_restart');
  dataDir = mkdtempSync(join(tmpdir(), 'shopflow-broker-restart-'));
  mkdirSync(join(dataDir, 'kafka'), { recursive: true });
  const base = testConfig();
  symlinkSync(join(base.dataDir, 'kafka', 'lib'), join(dataDir, 'kafka', 'lib'));
  const port = await freePortPair();
  const loaded = testConfig({
    SHOPFLOW_DATA_DIR: dataDir,
    KAFKA_BROKERS: `127.0.0.1:${port}`,
    WAREHOUSE_URL: warehouse.adminUrl,
    KAFKA_TOPIC: 'test.broker-restart',
    KAFKA_GROUP_ID: 'test-broker-restart',
    KAFKA_PARTITIONS: '3',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
  });
  config = { ...loaded, managed: { ...loaded.managed, kafka: true } };
  await kafkaService.up(config);
  brokerStarted = true;
  await ensureTopic(config.KAFKA_BROKERS, config.KAFKA_TOPIC, 3);
}, 240_000);

afterAll(async () => {
  if (brokerStarted) await kafkaService.down(config).catch(() => undefined);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await warehouse?.drop();
}, 120_000);

async function landedCount(): Promise<number> {
  const s = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, config.KAFKA_TOPIC);
  return s.events + s.deadLetters;
}

describe('Kafka ingestor and a broker restart', () => {
  it('resumes after the broker comes back, losing and duplicating nothing', async () => {
    const running = ingestor(config, { stopWhen: { mode: 'never' }, batchRows: 1_000, batchMaxMs: 100 });
    const done = running.run();
    await produceEvents(config, config.KAFKA_TOPIC, 8_000, 21);
    for (let i = 0; (await landedCount()) === 0; i++) {
      if (i > 300) throw new Error('nothing landed before the restart');
      await sleep(100);
    }
    await kafkaService.down(config);
    brokerStarted = false;
    await sleep(3_000);
    await kafkaService.up(config);
    brokerStarted = true;
    await produceEvents(config, config.KAFKA_TOPIC, 8_000, 22);
    for (let i = 0; (await landedCount()) < 16_000; i++) {
      if (i > 1_200) throw new Error(`only ${await landedCount()} of 16000 landed two minutes after the restart`);
      await sleep(100);
    }
    await running.stop();
    await done;
    const state = await expectExactlyOnce(warehouse.adminUrl, config, config.KAFKA_TOPIC, 16_000);
    expect(state.events).toBe(16_000);
  }, 300_000);
});
