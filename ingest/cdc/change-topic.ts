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
 *
 * The snapshot goes out in one Kafka transaction of its own, left open while the snapshot copies
 * its tables and committed just before the warehouse marks the snapshot done; the position it
 * commits names the snapshot, so an ingestor killed between the two commits completes that
 * snapshot in Postgres instead of taking a new one (ingestor.ts). Rows the warehouse writes again
 * itself (an ALTER's re-read, a RENAME's carried-over rows, an XA transaction prepared before
 * this publisher started) are read from the source or the warehouse and published with their
 * transaction.
 */
import type mysqlCore from 'mysql2';
import type pg from 'pg';

import type { Logger } from '../../lib/logger.ts';
import {
  createTransactionalProducer,
  type OpenTransaction,
  type TransactionalMessage,
  type TransactionalProducer,
} from '../../lib/kafka/producer.ts';
import type { ChangeRecord, RawLayout } from './change.ts';
import { readTableChanges } from './change-topic-rows.ts';
import { resnapshotGoneRows } from './resnapshot.ts';
import { compareCoordinates, openSourceConnection, primaryKeys, type BinlogCoordinate, type SourceInfo, type TableInfo } from './source.ts';
import type { SourceTransaction } from './transaction-assembler.ts';
import { toJsonText } from './values.ts';

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
  /** The last snapshot whose rows are all in the topic (absent in topics written before snapshots were published). */
  snapshot_id?: string | null;
}

/** What the snapshot (snapshot.ts) hands its rows to: one Kafka transaction for the whole snapshot. */
export interface SnapshotPublication {
  /** Adds the table's rows, read on the snapshot's own connection, to the open transaction. */
  table(connection: mysqlCore.Connection, table: TableInfo): Promise<number>;
  /** Adds snapshot rows the caller read itself (ingest/pg-cdc, inside its exported snapshot). */
  rows(changes: readonly ChangeRecord[]): Promise<void>;
  /** Commits every row with a position naming the snapshot; call before the warehouse marks it done. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** What kind of snapshot it is, for the rows it ends besides its own (a re-snapshot's). */
export interface SnapshotKind {
  /** The warehouse's change-log floor when the snapshot began: above 0, the log holds an earlier capture. */
  changeIdFloor: string;
  /** A replaced source: the warehouse ended every logged table with a truncate tagged with this snapshot. */
  replacedSource: boolean;
  layout: RawLayout;
}

export interface SnapshotPublisher {
  beginSnapshot(snapshotId: string, coordinate: BinlogCoordinate, startedAt: string, kind: SnapshotKind): Promise<SnapshotPublication>;
}

/** Where the publisher reads what the warehouse writes again itself. */
export interface PublisherSources {
  /**
   * The source database; its MariaDB connection when the source is MariaDB (the rows a RENAME or
   * ALTER makes the warehouse write again are read from it). A Postgres source (ingest/pg-cdc)
   * has neither XA transactions nor such rewrites, and gives only its database's name.
   */
  source: Pick<SourceInfo, 'database'> & Partial<Pick<SourceInfo, 'connection'>>;
  /** The warehouse, for XA transactions prepared before this publisher started (ingest.cdc_xa_prepared). */
  pool: pg.Pool;
}

/** A snapshot's rows stay in one open transaction: the broker's transaction.max.timeout.ms default. */
const SNAPSHOT_TRANSACTION_MS = 15 * 60_000;

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

interface SnapshotAt {
  database: string;
  coordinate: BinlogCoordinate;
  snapshotId: string;
  committedAt: string;
}

/** A change the snapshot publishes besides its rows: at its coordinate, tagged with it. */
function snapshotChange(at: SnapshotAt, tableName: string, operation: 'truncate' | 'delete'): ChangeRecord {
  return {
    sourceDatabase: at.database,
    tableName,
    operation,
    primaryKeyJson: null,
    beforeJson: null,
    afterJson: null,
    binlogFile: at.coordinate.file,
    binlogPosition: at.coordinate.position,
    rowIndex: null,
    gtid: null,
    snapshotId: at.snapshotId,
    sourceCommittedAt: at.committedAt,
    ddl: null,
  };
}

function inKeyOrder(key: Record<string, unknown>, columns: readonly string[] | undefined): Record<string, unknown> {
  if (!columns || columns.some((c) => !(c in key))) return key;
  return Object.fromEntries(columns.map((c) => [c, key[c]]));
}

export class ChangeTopicPublisher implements SnapshotPublisher {
  readonly #producer: TransactionalProducer;
  readonly #options: ChangeTopicOptions;
  readonly #sourceName: string;
  readonly #logger: Logger;
  readonly #sources: PublisherSources;
  #published: BinlogCoordinate | null;
  #snapshotId: string | null;
  /** XA transactions prepared and not yet resolved, seen by this publisher. */
  readonly #prepared = new Map<string, ChangeRecord[]>();

  private constructor(
    producer: TransactionalProducer,
    options: ChangeTopicOptions,
    sourceName: string,
    logger: Logger,
    sources: PublisherSources,
    position: PublishedPosition | null,
  ) {
    this.#producer = producer;
    this.#options = options;
    this.#sourceName = sourceName;
    this.#logger = logger;
    this.#sources = sources;
    this.#published = position ? { file: position.binlog_file, position: position.binlog_position } : null;
    this.#snapshotId = position?.snapshot_id ?? null;
  }

  static async open(
    options: ChangeTopicOptions,
    sourceName: string,
    logger: Logger,
    sources: PublisherSources,
  ): Promise<ChangeTopicPublisher> {
    const producer = await createTransactionalProducer(
      {
        brokers: options.brokers,
        clientId: 'shopflow-cdc-changes',
        transactionalId: `shopflow-cdc-changes-${sourceName}`,
        transactionTimeoutMs: SNAPSHOT_TRANSACTION_MS,
      },
      logger,
    );
    try {
      await producer.ensureTopic(options.topic, options.partitions, false);
      await producer.ensureTopic(positionTopic(options.topic), 1, true);
      const value = await producer.lastCommittedValue(positionTopic(options.topic));
      const position = value === null ? null : (JSON.parse(value) as PublishedPosition);
      logger.info({ topic: options.topic, published: position }, 'publishing changes to the change topic');
      return new ChangeTopicPublisher(producer, options, sourceName, logger, sources, position);
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** The coordinate the change topic holds every change up to (null: nothing published yet). */
  get published(): BinlogCoordinate | null {
    return this.#published;
  }

  /** The last snapshot whose rows are all in the topic (null: none, or a topic older than snapshot publishing). */
  get snapshotId(): string | null {
    return this.#snapshotId;
  }

  #message(change: ChangeRecord): TransactionalMessage {
    return { topic: this.#options.topic, key: changeKey(change), value: JSON.stringify(changeMessage(change)) };
  }

  #positionMessage(position: PublishedPosition): TransactionalMessage {
    return { topic: positionTopic(this.#options.topic), key: this.#sourceName, value: JSON.stringify(position) };
  }

  /**
   * A re-snapshot also ends what the earlier capture left: a replaced source's truncates go out
   * first (the warehouse wrote them before the snapshot's rows, tagged with it), and a
   * re-snapshot's deletes (rows gone from the source since the last capture) last, read from
   * the warehouse once all its tables are copied: the very rows completeSnapshot logs as
   * deletes (resnapshot.ts), so the topic rebuilds the same tables the warehouse does.
   */
  async beginSnapshot(
    snapshotId: string,
    coordinate: BinlogCoordinate,
    startedAt: string,
    kind: SnapshotKind,
  ): Promise<SnapshotPublication> {
    const transaction = await this.#producer.begin();
    const database = this.#sources.source.database;
    const at = { database, coordinate, snapshotId, committedAt: startedAt };
    const keyColumns = new Map<string, readonly string[]>();
    let rows = 0;
    if (kind.replacedSource) {
      const truncates = await this.#replacedWorldTruncates(snapshotId, at);
      await transaction.send(truncates.map((change) => this.#message(change)));
      rows += truncates.length;
    }
    return {
      table: async (connection, table) => {
        keyColumns.set(table.name, table.primaryKey);
        const copied = await readTableChanges(
          connection,
          { ...at, table: table.name, primaryKey: table.primaryKey, operation: 'snapshot', firstRowIndex: null },
          (changes) => transaction.send(changes.map((change) => this.#message(change))),
        );
        rows += copied;
        return copied;
      },
      rows: async (changes) => {
        await transaction.send(changes.map((change) => this.#message(change)));
        rows += changes.length;
      },
      commit: async () => {
        if (!kind.replacedSource && BigInt(kind.changeIdFloor) > 0n) {
          const deletes = await this.#goneRows(kind, at, keyColumns);
          await transaction.send(deletes.map((change) => this.#message(change)));
          rows += deletes.length;
        }
        await transaction.send([
          this.#positionMessage({
            binlog_file: coordinate.file,
            binlog_position: coordinate.position,
            gtid: null,
            snapshot_id: snapshotId,
          }),
        ]);
        await transaction.commit();
        if (this.#published === null || compareCoordinates(coordinate, this.#published) > 0) this.#published = coordinate;
        this.#snapshotId = snapshotId;
        this.#logger.info({ snapshotId, rows }, 'snapshot published to the change topic');
      },
      abort: () => transaction.abort(),
    };
  }

  async #replacedWorldTruncates(snapshotId: string, at: SnapshotAt): Promise<ChangeRecord[]> {
    const result = await this.#sources.pool.query<{ table_name: string; ddl: string | null }>(
      `select table_name, ddl from raw.shop_changes
        where snapshot_id = $1 and operation = 'truncate' order by change_id`,
      [snapshotId],
    );
    return result.rows.map((r) => ({ ...snapshotChange(at, r.table_name, 'truncate'), ddl: r.ddl }));
  }

  async #goneRows(kind: SnapshotKind, at: SnapshotAt, keyColumns: ReadonlyMap<string, readonly string[]>): Promise<ChangeRecord[]> {
    const client = await this.#sources.pool.connect();
    let failed: Error | undefined;
    try {
      await client.query('begin read only');
      // As in resnapshotDeletes: fresh statistics would pick a quadratic nested-loop anti join.
      await client.query('set local enable_nestloop = off');
      const gone = await resnapshotGoneRows(client, {
        sourceDatabase: this.#sourceName,
        snapshotId: at.snapshotId,
        changeIdFloor: kind.changeIdFloor,
        layout: kind.layout,
      });
      await client.query('commit');
      return gone.map((row) => ({
        ...snapshotChange(at, row.tableName, 'delete'),
        // The Kafka key must be the row's own (its partition, its order): the key's columns in
        // the table's primary-key order, as readTableChanges and the binlog spell it; jsonb
        // sorted them. A table gone from the source keeps jsonb's order (single-column keys agree).
        primaryKeyJson: toJsonText(inKeyOrder(row.primaryKey, keyColumns.get(row.tableName))).json,
        beforeJson: row.lastImage === null ? null : toJsonText(row.lastImage).json,
      }));
    } catch (error) {
      failed = error as Error;
      throw error;
    } finally {
      // A failed client is destroyed, not pooled: its transaction may still be open.
      client.release(failed);
    }
  }

  /** Publishes the batch's changes not in the topic yet; returns how many. Call before landing the batch. */
  async publish(batch: readonly SourceTransaction[]): Promise<number> {
    let transaction: OpenTransaction | null = null;
    let end: SourceTransaction | null = null;
    let count = 0;
    try {
      for (const tx of batch) {
        const fresh = this.#published === null || compareCoordinates({ file: tx.endFile, position: tx.endPosition }, this.#published) > 0;
        const changes = await this.#changesOf(tx, fresh);
        const rewrites = fresh && !tx.xa && (tx.renames || tx.rereads);
        if (!fresh || (changes.length === 0 && !rewrites)) continue;
        transaction ??= await this.#producer.begin();
        const open = transaction;
        const send = async (records: ChangeRecord[]) => {
          count += records.length;
          await open.send(records.map((change) => this.#message(change)));
        };
        await send(changes);
        if (rewrites) await this.#rewrites(tx, send);
        end = tx;
      }
      if (!transaction || !end) return 0;
      await transaction.send([
        this.#positionMessage({
          binlog_file: end.endFile,
          binlog_position: end.endPosition,
          gtid: end.gtid,
          snapshot_id: this.#snapshotId,
        }),
      ]);
      await transaction.commit();
    } catch (error) {
      await transaction?.abort().catch(() => undefined);
      throw error;
    }
    this.#published = { file: end.endFile, position: end.endPosition };
    return count;
  }

  /**
   * The rows the warehouse writes again itself after a RENAME or ALTER TABLE (sink.ts), read from
   * the source when the batch is published: a RENAME's target's rows as inserts followed by the
   * old name's truncate, an ALTER's table as snapshot rows `alter:<file>:<position>`. A row
   * changed since the DDL is read in its newer state and its own changes follow, as in the
   * warehouse's re-read (reread.ts).
   */
  async #rewrites(tx: SourceTransaction, send: (records: ChangeRecord[]) => Promise<void>): Promise<void> {
    const { database, connection } = this.#sources.source;
    if (!connection) throw new Error(`a RENAME or ALTER TABLE re-read needs the MariaDB source's connection (${database})`);
    const source: SourceInfo = { database, connection };
    const coordinate = { file: tx.endFile, position: tx.endPosition };
    const committedAt = new Date(tx.committedAtMs).toISOString();
    const { query, core } = await openSourceConnection(source);
    try {
      const read = async (table: string, operation: 'snapshot' | 'insert', firstRowIndex: number | null) => {
        const [exists] = await query.query('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [
          source.database,
          table,
        ]);
        if ((exists as unknown[]).length === 0) return 0;
        const primaryKey = (await primaryKeys(query, source.database, table)).get(table) ?? [];
        const snapshotId = operation === 'snapshot' ? `alter:${tx.endFile}:${tx.endPosition}` : null;
        return readTableChanges(
          core,
          { database: source.database, table, primaryKey, operation, coordinate, snapshotId, committedAt, firstRowIndex },
          send,
        );
      };
      let rowIndex = tx.changes.length;
      for (const rename of tx.renames ?? []) {
        rowIndex += await read(rename.to, 'insert', rowIndex);
        await send([
          {
            sourceDatabase: source.database,
            tableName: rename.from,
            operation: 'truncate',
            primaryKeyJson: null,
            beforeJson: null,
            afterJson: null,
            binlogFile: tx.endFile,
            binlogPosition: tx.endPosition,
            rowIndex: rowIndex++,
            gtid: tx.gtid,
            snapshotId: null,
            sourceCommittedAt: committedAt,
            ddl: tx.changes[0]?.ddl ?? null,
          },
        ]);
      }
      for (const table of tx.rereads ?? []) await read(table, 'snapshot', null);
    } finally {
      await query.end().catch(() => core.destroy());
    }
  }

  /** The changes a transaction makes visible; XA bookkeeping runs for every transaction, published or not. */
  async #changesOf(tx: SourceTransaction, fresh: boolean): Promise<ChangeRecord[]> {
    if (tx.xa?.kind === 'prepare') {
      if (tx.changes.length > 0) this.#prepared.set(tx.xa.xid, tx.changes);
      return [];
    }
    if (tx.xa) {
      const held = this.#prepared.get(tx.xa.xid) ?? (fresh ? await this.#preparedEarlier(tx.xa.xid) : undefined);
      this.#prepared.delete(tx.xa.xid);
      if (tx.xa.kind !== 'commit' || !held) return [];
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
    return tx.changes;
  }

  /** An XA transaction prepared before this publisher started: the warehouse holds its changes until the commit lands. */
  async #preparedEarlier(xid: string): Promise<ChangeRecord[] | undefined> {
    const result = await this.#sources.pool.query<{ changes: ChangeRecord[] }>(
      'select changes from ingest.cdc_xa_prepared where source_name = $1 and xid = $2',
      [this.#sourceName, xid],
    );
    return result.rows[0]?.changes;
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }
}
