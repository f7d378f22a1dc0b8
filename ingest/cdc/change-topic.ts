/**
 * The change topic: the CDC ingestor also publishes the changes it lands to a Kafka topic, for
 * the lakehouse's changes job (docs/lakehouse.md, "The CDC path").
 *
 * Exactly once, without a transaction spanning Kafka and Postgres: each batch's changes and the
 * binlog coordinate they end at (a record in `<topic>.position`) go out in ONE Kafka transaction,
 * committed BEFORE the batch's Postgres transaction. So Kafka's coordinate is never behind
 * Postgres's: after a crash between the two commits the ingestor resumes from Postgres's
 * (older) coordinate, reads those source transactions again, and this publisher skips every
 * one that ends at or before the coordinate Kafka holds. A stable transactional id fences an
 * older publisher of the same source and aborts what it left open, so readers with
 * read_committed see every change once, in binlog order per key (the key names the row).
 */
import type { Logger } from '../../lib/logger.ts';
import { createTransactionalProducer, type TransactionalMessage, type TransactionalProducer } from '../../lib/kafka/producer.ts';
import type { ChangeRecord } from './change.ts';
import { compareCoordinates, type BinlogCoordinate } from './source.ts';
import type { SourceTransaction } from './transaction-assembler.ts';

export interface ChangeTopicOptions {
  brokers: string[];
  topic: string;
  /** Partitions the change topic is created with when missing. */
  partitions: number;
}

/** The change topic's message value: raw.shop_changes's columns; images stay JSON text. */
export interface ChangeMessage {
  source_database: string;
  table_name: string;
  operation: ChangeRecord['operation'];
  primary_key: string | null;
  before_image: string | null;
  after_image: string | null;
  binlog_file: string | null;
  binlog_position: number | null;
  row_index: number | null;
  gtid: string | null;
  snapshot_id: string | null;
  source_committed_at: string | null;
  ddl: string | null;
}

export interface PublishedPosition {
  binlog_file: string;
  binlog_position: number;
  gtid: string | null;
}

export const positionTopic = (topic: string) => `${topic}.position`;

/** A row's changes share a key (so a partition, so their order); table-wide ones key the table. */
export function changeKey(change: ChangeRecord): string {
  const table = `${change.sourceDatabase}.${change.tableName}`;
  return change.primaryKeyJson === null ? table : `${table}:${change.primaryKeyJson}`;
}

export function changeMessage(change: ChangeRecord): ChangeMessage {
  return {
    source_database: change.sourceDatabase,
    table_name: change.tableName,
    operation: change.operation,
    primary_key: change.primaryKeyJson,
    before_image: change.beforeJson,
    after_image: change.afterJson,
    binlog_file: change.binlogFile,
    binlog_position: change.binlogPosition,
    row_index: change.rowIndex,
    gtid: change.gtid,
    snapshot_id: change.snapshotId,
    source_committed_at: change.sourceCommittedAt,
    ddl: change.ddl,
  };
}

export class ChangeTopicPublisher {
  readonly #producer: TransactionalProducer;
  readonly #options: ChangeTopicOptions;
  readonly #sourceName: string;
  readonly #logger: Logger;
  #published: BinlogCoordinate | null;
  /** XA transactions prepared and not yet resolved, seen by this publisher. */
  readonly #prepared = new Map<string, ChangeRecord[]>();

  private constructor(
    producer: TransactionalProducer,
    options: ChangeTopicOptions,
    sourceName: string,
    logger: Logger,
    published: BinlogCoordinate | null,
  ) {
    this.#producer = producer;
    this.#options = options;
    this.#sourceName = sourceName;
    this.#logger = logger;
    this.#published = published;
  }

  static async open(options: ChangeTopicOptions, sourceName: string, logger: Logger): Promise<ChangeTopicPublisher> {
    const producer = await createTransactionalProducer(
      { brokers: options.brokers, clientId: 'shopflow-cdc-changes', transactionalId: `shopflow-cdc-changes-${sourceName}` },
      logger,
    );
    try {
      await producer.ensureTopic(options.topic, options.partitions, false);
      await producer.ensureTopic(positionTopic(options.topic), 1, true);
      const value = await producer.lastCommittedValue(positionTopic(options.topic));
      const position = value === null ? null : (JSON.parse(value) as PublishedPosition);
      const published = position ? { file: position.binlog_file, position: position.binlog_position } : null;
      logger.info({ topic: options.topic, published }, 'publishing changes to the change topic');
      return new ChangeTopicPublisher(producer, options, sourceName, logger, published);
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** The coordinate the change topic holds every change up to (null: nothing published yet). */
  get published(): BinlogCoordinate | null {
    return this.#published;
  }

  /** Publishes the batch's changes not in the topic yet; returns how many. Call before landing the batch. */
  async publish(batch: readonly SourceTransaction[]): Promise<number> {
    const messages: TransactionalMessage[] = [];
    let end: SourceTransaction | null = null;
    for (const tx of batch) {
      const fresh = this.#published === null || compareCoordinates({ file: tx.endFile, position: tx.endPosition }, this.#published) > 0;
      const changes = this.#changesOf(tx, fresh);
      if (!fresh || changes.length === 0) continue;
      for (const change of changes)
        messages.push({ topic: this.#options.topic, key: changeKey(change), value: JSON.stringify(changeMessage(change)) });
      end = tx;
    }
    if (!end) return 0;
    const position: PublishedPosition = { binlog_file: end.endFile, binlog_position: end.endPosition, gtid: end.gtid };
    messages.push({ topic: positionTopic(this.#options.topic), key: this.#sourceName, value: JSON.stringify(position) });
    await this.#producer.sendAtomically(messages);
    this.#published = { file: end.endFile, position: end.endPosition };
    return messages.length - 1;
  }

  /** The changes a transaction makes visible; XA bookkeeping runs for every transaction, published or not. */
  #changesOf(tx: SourceTransaction, fresh: boolean): ChangeRecord[] {
    if (tx.xa?.kind === 'prepare') {
      if (tx.changes.length > 0) this.#prepared.set(tx.xa.xid, tx.changes);
      return [];
    }
    if (tx.xa) {
      const held = this.#prepared.get(tx.xa.xid);
      this.#prepared.delete(tx.xa.xid);
      if (tx.xa.kind !== 'commit') return [];
      if (!held) {
        if (fresh)
          this.#logger.warn(
            { xid: tx.xa.xid },
            'XA transaction prepared before this publisher started: its changes are not in the change topic',
          );
        return [];
      }
      // Positioned at the commit, as the warehouse lands them.
      const committedAt = new Date(tx.committedAtMs).toISOString();
      return held.map((change, index) => ({
        ...change,
        binlogFile: tx.endFile,
        binlogPosition: tx.endPosition,
        rowIndex: index,
        gtid: tx.gtid,
        sourceCommittedAt: committedAt,
      }));
    }
    if (fresh && (tx.renames || tx.rereads))
      this.#logger.warn(
        { renames: tx.renames?.map((r) => `${r.from}->${r.to}`), rereads: tx.rereads },
        'rows a rename or ALTER TABLE makes the warehouse write again are not in the change topic',
      );
    return tx.changes;
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }
}
