/**
 * The group coordinator stays unavailable for longer than the Kafka client retries (a broker
 * still loading its offsets topic, or one that cannot create it). kafkajs then gives its consumer
 * up for good; the ingestor must start a new one and, once the coordinator is back, land every
 * event exactly once instead of dying.
 *
 * The outage is real: a private broker whose offsets topic asks for two replicas on one broker
 * cannot create it, so every FindCoordinator answers COORDINATOR_NOT_AVAILABLE; restarting the
 * broker with one replica ends the outage.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureTopic } from '../../../lib/kafka/admin.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { privateBroker, writeBrokerProperties, type PrivateBroker } from './private-broker.ts';
import { expectExactlyOnce, ingestor, landed, produceEvents } from './support.ts';

let warehouse: TestWarehouse;
let broker: PrivateBroker;

beforeAll(async () => {
  warehouse = await createTestWarehouse('kafka_coordinator_outage');
  broker = await privateBroker('coordinator-outage', {
    WAREHOUSE_URL: warehouse.adminUrl,
    KAFKA_TOPIC: 'test.coordinator-outage',
    KAFKA_GROUP_ID: 'test-coordinator-outage',
    KAFKA_PARTITIONS: '3',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
  });
  writeBrokerProperties(broker, ['offsets.topic.replication.factor=2']);
  await broker.up();
  await ensureTopic(broker.config.KAFKA_BROKERS, broker.config.KAFKA_TOPIC, 3);
}, 240_000);

afterAll(async () => {
  await broker?.remove();
  await warehouse?.drop();
}, 120_000);

describe('Kafka ingestor and a group coordinator that stays away', () => {
  it('starts a new consumer after kafkajs gives up, then lands everything once', async () => {
    const { config } = broker;
    const logLines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });
    await produceEvents(config, config.KAFKA_TOPIC, 6_000, 31);

    const running = ingestor(config, { logger, stopWhen: { mode: 'never' }, batchRows: 1_000, batchMaxMs: 100 });
    let failure: unknown;
    const done = running.run().catch((error: unknown) => {
      failure = error;
    });
    const gaveUp = () => logLines.some((l) => l.includes('starting a new one'));
    for (let i = 0; !gaveUp(); i++) {
      if (failure !== undefined) throw new Error(`the ingestor stopped instead of starting a new consumer: ${String(failure)}`);
      if (i > 1_200) throw new Error(`kafkajs did not give its consumer up within two minutes; logged:\n${logLines.join('')}`);
      await sleep(100);
    }
    expect((await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, config.KAFKA_TOPIC)).events).toBe(0);

    // The outage ends: the broker comes back able to create its offsets topic.
    await broker.down();
    rmSync(broker.extraPropertiesFile);
    await broker.up();
    await produceEvents(config, config.KAFKA_TOPIC, 6_000, 32);
    for (let i = 0; ; i++) {
      const s = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, config.KAFKA_TOPIC);
      if (s.events + s.deadLetters >= 12_000) break;
      if (failure !== undefined) throw new Error(`the ingestor stopped: ${String(failure)}`);
      if (i > 1_200) throw new Error(`only ${s.events + s.deadLetters} of 12000 landed two minutes after the outage`);
      await sleep(100);
    }
    await running.stop();
    await done;
    expect(failure).toBeUndefined();
    const state = await expectExactlyOnce(warehouse.adminUrl, config, config.KAFKA_TOPIC, 12_000);
    expect(state.events).toBe(12_000);
  }, 360_000);
});
