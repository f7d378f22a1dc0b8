/** TopicAdmin on kafkajs. */
import { Kafka, logLevel } from 'kafkajs';

import type { AdminOptions, TopicAdmin, TopicMetadata } from './topic-admin.ts';

/**
 * ConfigResourceTypes.BROKER. Not imported: Node cannot see that enum as a named export of the
 * CommonJS kafkajs when this file runs from an ESM bundle (the generator's child process).
 */
const BROKER_RESOURCE = 4;

/** Errors a broker gives for a topic whose creation has not reached its metadata yet. */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/** The broker's error type, also when the client wrapped it after its own retries. */
function kafkaErrorType(error: unknown): string {
  for (let e = error as { type?: string; cause?: unknown } | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth += 1) {
    if (typeof e.type === 'string') return e.type;
  }
  return '';
}

/** Connects an admin client; the caller disconnects it. Rejects when no broker answers. */
export async function connectKafkajsAdmin(brokers: string[], options: AdminOptions = {}): Promise<TopicAdmin> {
  const kafka = new Kafka({
    clientId: options.clientId ?? 'shopflow-admin',
    brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    // kafkajs logs every failed attempt at ERROR; callers report failures themselves.
    logLevel: logLevel.NOTHING,
    retry: { retries: options.retries ?? 3, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  return {
    listTopics: () => admin.listTopics(),
    // kafkajs's own waitForLeaders gives up when a loaded broker answers "does not host this
    // topic-partition" for a topic it has just created; admin.ts's waitForTopic treats that as "not yet".
    createTopic: (topic, numPartitions, replicationFactor) =>
      admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor }], waitForLeaders: false }),
    async topicMetadata(topic): Promise<TopicMetadata> {
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        return { partitions: (metadata.topics[0]?.partitions ?? []).map((p) => ({ partition: p.partitionId, hasLeader: p.leader >= 0 })) };
      } catch (error) {
        if (!NOT_YET.has(kafkaErrorType(error))) throw error;
        return { partitions: [], pending: (error as Error).message };
      }
    },
    deleteTopics: (topics, timeout) => admin.deleteTopics({ topics, timeout }),
    async deleteGroups(groupIds) {
      await admin.deleteGroups(groupIds);
    },
    async watermarks(topic) {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
    },
    async groupMemberCount(groupId) {
      const described = await admin.describeGroups([groupId]);
      return described.groups[0]?.members.length ?? 0;
    },
    async brokerConfig(name) {
      const cluster = await admin.describeCluster();
      const broker = String(cluster.brokers[0]?.nodeId ?? 1);
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: BROKER_RESOURCE, name: broker, configNames: [name] }],
      });
      return described.resources[0]?.configEntries.find((entry) => entry.configName === name)?.configValue;
    },
    disconnect: () => admin.disconnect(),
  };
}
