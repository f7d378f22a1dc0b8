/** A Kafka topic and consumer group of its own per test file. */
import type { Config } from '../../lib/config/index.ts';
import { deleteTopic, ensureTopic, withKafkaAdmin } from '../../lib/kafka/admin.ts';
import { testConfig, sanitizeLabel, uniqueSuffix } from './config.ts';
import { hasFailed, reportKept } from './failures.ts';
import { testEndpoints } from './services.ts';

export interface TestTopic {
  topic: string;
  groupId: string;
  brokers: string[];
  /** KAFKA_TOPIC, KAFKA_GROUP_ID and KAFKA_PARTITIONS point at this topic. */
  config: Config;
  /** Deletes the topic and the group, unless a test in this file failed (then both are kept). */
  delete(): Promise<void>;
}

export async function createTestTopic(label: string, partitions = 3): Promise<TestTopic> {
  const brokers = testEndpoints().kafkaBrokers;
  const name = `${sanitizeLabel(label, 40).replace(/_/g, '-')}-${uniqueSuffix()}`;
  // Kafka warns when '.' and '_' are mixed in topic names (they collide in metric names): use '.' and '-'.
  const topic = `test.${name}`;
  const groupId = `test-${name}`;
  await ensureTopic(brokers, topic, partitions);
  let deleted = false;
  return {
    topic,
    groupId,
    brokers,
    config: testConfig({ KAFKA_TOPIC: topic, KAFKA_GROUP_ID: groupId, KAFKA_PARTITIONS: String(partitions) }),
    async delete() {
      if (deleted) return;
      deleted = true;
      if (hasFailed()) {
        reportKept(`Kafka topic ${topic} and group ${groupId}`, `brokers ${brokers.join(',')}`);
        return;
      }
      await withKafkaAdmin(brokers, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
      await deleteTopic(brokers, topic);
    },
  };
}
