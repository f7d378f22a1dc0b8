/**
 * The ingestor's view of a Kafka client: a consumer-group member that hands over per-partition
 * batches, can be told where to read next, and reports what it was assigned. Only
 * kafkajs-source.ts knows which client library sits underneath, so replacing it touches this
 * folder alone.
 */

/** One record as fetched; bytes are untouched so rejected input can be kept exactly. */
export interface SourceMessage {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** Producer (CreateTime) or broker (LogAppendTime) timestamp, epoch milliseconds. */
  timestampMs: number;
}

export interface SourceBatch {
  topic: string;
  partition: number;
  /** The offset this fetch asked for; messages may start later (compaction, transaction markers). */
  fetchedOffset: bigint;
  /** Offset after the last record in the partition log when this batch was fetched. */
  highWatermark: bigint;
  messages: SourceMessage[];
}

export interface BatchControl {
  /** Everything up to and including `offset` is held by the caller; fetch on from offset + 1. */
  markHeld(offset: bigint): void;
  /** Keeps the group membership alive during long waits (e.g. backpressure). */
  heartbeat(): Promise<void>;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
}

/**
 * Offsets [from, next) of a partition that the consumer read and that hold no record to deliver:
 * a transaction's commit or abort marker, an aborted transaction's records. Offsets never change
 * meaning, so such a run is a fact about the log however stale the fetch that found it.
 */
export interface NonDataRun {
  from: bigint;
  next: bigint;
}

export interface PartitionWatermarks {
  partition: number;
  low: bigint;
  high: bigint;
}

export interface SourceHandlers {
  /** Called per partition batch; may run concurrently for different partitions. */
  onBatch(batch: SourceBatch, control: BatchControl): Promise<void>;
  /** The group (re)assigned partitions; every earlier read position is now suspect. */
  onAssigned(assignment: { topic: string; partitions: number[] }[]): void;
  /** The client gave up (non-retryable failure); the owner decides how to stop. */
  onFatal(error: Error): void;
}

export interface RecordSource {
  /** Joins the group and starts delivering batches; resolves once running. */
  start(handlers: SourceHandlers): Promise<void>;
  /** Next fetch for this partition starts at `offset` (no-op if the partition is not assigned). */
  seek(position: TopicPartitionOffset): void;
  /** Records read positions in Kafka's own group offsets; advisory only, for tooling. */
  commitAdvisory(positions: TopicPartitionOffset[]): Promise<void>;
  /** Low and high watermarks per partition of a topic. */
  watermarks(topic: string): Promise<PartitionWatermarks[]>;
  /**
   * The last run of records without data the consumer read on a partition (undefined: none seen).
   * A transactional producer's log ends with a marker, which is never delivered, so a position
   * stored after the last delivered record stays one below the high watermark; the owner steps
   * over this run when it starts at or before that position.
   */
  nonDataRun?(topic: string, partition: number): NonDataRun | undefined;
  /** Leaves the group and closes connections; idempotent. */
  stop(): Promise<void>;
}

export interface RecordSourceOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  topic: string;
  sessionTimeoutMs: number;
  /** Upper bound on one fetch response, bytes; keeps memory bounded whatever the backlog. */
  maxBytes?: number;
  maxBytesPerPartition?: number;
  /** How long the broker may hold an empty fetch open. */
  maxWaitMs?: number;
  partitionsConsumedConcurrently?: number;
}
