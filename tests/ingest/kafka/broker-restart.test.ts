/**
 * A Kafka broker restart mid-stream loses and duplicates nothing: a private broker of this file's
 * own (private-broker.ts) is restarted under the running ingestor.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Config } from '../../../lib/config/index.ts';
import { ensureTopic } from '../../../lib/kafka/admin.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { privateBroker, type PrivateBroker } from './private-broker.ts';
import { expectExactlyOnce, ingestor, landed, produceEvents } from './support.ts';

let warehouse: TestWarehouse;
let broker: PrivateBroker;
let config: Config;

beforeAll(async () => {
  warehouse = await createTestWarehouse('kafka_broker_restart');
  broker = await privateBroker('broker-restart', {
    WAREHOUSE_URL: warehouse.adminUrl,
    KAFKA_TOPIC: 'test.broker-restart',
    KAFKA_GROUP_ID: 'test-broker-restart',
    KAFKA_PARTITIONS: '3',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
  });
  config = broker.config;
  await broker.up();
  await ensureTopic(config.KAFKA_BROKERS, config.KAFKA_TOPIC, 3);
}, 240_000);

afterAll(async () => {
  await broker?.remove();
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
    await broker.down();
    await sleep(3_000);
    await broker.up();
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
