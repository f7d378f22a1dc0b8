/**
 * Kafka administration as the rest of ShopFlow sees it: the few operations its tools, tests and
 * benchmarks use. Only kafkajs-admin.ts knows which client library sits underneath (admin.ts
 * picks it), so replacing the client touches this folder alone.
 */
import type { PartitionWatermarks } from './source.ts';

export interface AdminOptions {
  clientId?: string;
  /** Per-attempt connection timeout; readiness probes keep it short. */
  connectionTimeoutMs?: number;
  retries?: number;
}

export interface TopicMetadata {
  /** The topic's partitions in the broker's metadata, and whether each has a leader. */
  partitions: { partition: number; hasLeader: boolean }[];
  /** Set (partitions empty) when the broker does not know the topic yet, e.g. right after creating it: its answer. */
  pending?: string;
}

export interface TopicAdmin {
  listTopics(): Promise<string[]>;
  /** Creates the topic without waiting for its partitions' leaders; false when it existed already. */
  createTopic(topic: string, partitions: number, replicationFactor: number): Promise<boolean>;
  topicMetadata(topic: string): Promise<TopicMetadata>;
  deleteTopics(topics: string[], timeoutMs: number): Promise<void>;
  deleteGroups(groupIds: string[]): Promise<void>;
  /** Low and high watermarks per partition of a topic. */
  watermarks(topic: string): Promise<PartitionWatermarks[]>;
  /** How many members a consumer group has now (0 when it has none or does not exist). */
  groupMemberCount(groupId: string): Promise<number>;
  /** A setting of the (first) broker as it reports it, e.g. `auto.create.topics.enable`. */
  brokerConfig(name: string): Promise<string | undefined>;
  disconnect(): Promise<void>;
}
