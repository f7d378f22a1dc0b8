/**
 * Follows the slot with pgoutput (pg-logical-replication, values left as text) and lands whole
 * source transactions in batches through the typed sink (ingest/cdc/sink.ts commitBatch): the
 * rows and the position (the last transaction's commit end LSN) in one warehouse transaction.
 * Only after that commit is the LSN confirmed to the slot, so a crash at any point makes the
 * server send again what may not have landed, and the position skips what did.
 */
import type pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';

import { coerceError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { ChangeRecord } from '../cdc/change.ts';
import { commitBatch, type BatchResult } from '../cdc/sink.ts';
import type { SourceTransaction } from '../cdc/transaction-assembler.ts';
import { typedTableColumns } from '../cdc/typed-tables.ts';
import {
  imageOf,
  logChange,
  relationChange,
  relationChangeFromWarehouse,
  relationInfo,
  rowChange,
  type RelationInfo,
  type TxContext,
} from './changes.ts';
import { lsnToNumber, numberToLsn, primaryKeyOf, sessionOptions, type PgSourceInfo } from './source.ts';

/** pgoutput with every value left as the text the server sent (values.ts converts it), never pg's global type parsers. */
class TextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    // Parsed synchronously on arrival, before the next message: rows after this Relation use identity parsers.
    if (message.tag === 'relation') for (const column of message.columns) column.parser = (raw: unknown) => raw;
    return message;
  }
}

export type PgStreamEnd = 'idle' | 'stopped';

export interface PgStreamOptions {
  pool: pg.Pool;
  source: PgSourceInfo;
  sourceName: string;
  instanceId: string;
  /** Commit end LSN (as a number) of the last landed transaction, or the snapshot's consistent point. */
  startPosition: number;
  /** Normal session on the source, for primary keys. */
  control: pg.Client;
  batchRows: number;
  batchMaxMs: number;
  untilIdleMs?: number;
  logger: Logger;
  /** Runs before each batch lands (the change topic's publish, which must commit first); a throw lands nothing. */
  beforeLanding?: (batch: readonly SourceTransaction[]) => Promise<unknown>;
  onBatch?: (result: BatchResult) => void;
}

interface OpenTx {
  xid: string;
  changes: {
    relation: RelationInfo;
    op: 'insert' | 'update' | 'delete' | 'truncate' | 'schema_change';
    image?: Record<string, unknown>;
    ddl?: string;
  }[];
}

export class PgChangeStream {
  readonly #o: PgStreamOptions;
  readonly #relations = new Map<number, RelationInfo>();
  #service: LogicalReplicationService | null = null;
  #landed: number;
  #tx: OpenTx | null = null;
  #pending: SourceTransaction[] = [];
  #pendingRows = 0;
  #pendingSince = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #lastMessageAt = Date.now();
  #serverLsn = 0;
  #quietHead: number | null = null;
  #failed: Error | null = null;
  #finish: ((end: PgStreamEnd) => void) | null = null;
  #reject: ((error: Error) => void) | null = null;
  #stopping = false;
  changes = 0;
  transactions = 0;

  constructor(options: PgStreamOptions) {
    this.#o = options;
    this.#landed = options.startPosition;
  }

  /** Drain: land the complete transactions already received, then end. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    void this.#serial(() => this.#flush())
      .then(() => this.#finish?.('stopped'))
      .catch((error: unknown) => this.#fail(coerceError(error)));
  }

  async run(): Promise<PgStreamEnd> {
    const { source, logger } = this.#o;
    const service = new LogicalReplicationService(
      { connectionString: source.url, application_name: 'shopflow-ingest-pg-cdc-stream', options: sessionOptions() } as pg.ClientConfig,
      // Never confirm on a timer: only an LSN whose transaction has landed is confirmed (#flush).
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    this.#service = service;
    const done = new Promise<PgStreamEnd>((resolve, reject) => {
      this.#finish = resolve;
      this.#reject = reject;
    });
    service.on('error', (error: Error) => this.#fail(error));
    service.on('data', (_lsn: string, message: Pgoutput.Message) => this.#onMessage(message));
    service.on('heartbeat', (lsn: string, _time: number, shouldRespond: boolean) => {
      this.#serverLsn = Math.max(this.#serverLsn, lsnToNumber(lsn));
      if (shouldRespond) void this.#confirm(false);
    });
    const timer = setInterval(() => void this.#tick(), Math.max(50, Math.min(250, this.#o.batchMaxMs)));
    try {
      const plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [source.publication] });
      service.subscribe(plugin, source.slot, numberToLsn(this.#landed)).catch((error: unknown) => this.#fail(coerceError(error)));
      logger.info({ slot: source.slot, from: numberToLsn(this.#landed) }, 'streaming from the replication slot');
      return await done;
    } finally {
      clearInterval(timer);
      await this.#chain.catch(() => undefined);
      await service.destroy().catch(() => undefined);
      this.#service = null;
    }
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = error;
    // The raw error, so the ingestor classifies it (a lost connection is retried, a 22xxx is not).
    this.#reject?.(error);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #onMessage(message: Pgoutput.Message): Promise<void> {
    if (this.#failed || this.#stopping) return;
    this.#lastMessageAt = Date.now();
    this.#quietHead = null;
    try {
      switch (message.tag) {
        case 'begin':
          this.#tx = { xid: String(message.xid), changes: [] };
          return;
        case 'relation': {
          const primaryKey = await primaryKeyOf(this.#o.control, message.schema, message.name);
          const info = relationInfo(message, primaryKey);
          const before = this.#relations.get(message.relationOid);
          const ddl = before
            ? relationChange(before, info, message.schema)
            : relationChangeFromWarehouse((await typedTableColumns(this.#o.pool, [info.name])).get(info.name), info, message.schema);
          this.#relations.set(message.relationOid, info);
          if (ddl && this.#tx) this.#tx.changes.push({ relation: info, op: 'schema_change', ddl });
          return;
        }
        case 'insert':
        case 'update':
        case 'delete': {
          const relation = this.#relations.get(message.relation.relationOid);
          if (!relation || !this.#tx) throw new Error(`a ${message.tag} arrived without its Relation or Begin message`);
          const tuple = message.tag === 'delete' ? (message.old ?? message.key ?? {}) : message.new;
          this.#tx.changes.push({ relation, op: message.tag, image: imageOf(relation, tuple) });
          return;
        }
        case 'truncate':
          for (const rel of message.relations) {
            const relation = this.#relations.get(rel.relationOid);
            if (relation && this.#tx) this.#tx.changes.push({ relation, op: 'truncate', ddl: `TRUNCATE ${rel.schema}.${rel.name}` });
          }
          return;
        case 'commit':
          await this.#onCommit(message);
          return;
        default:
          return;
      }
    } catch (error) {
      this.#fail(coerceError(error));
    }
  }

  async #onCommit(message: Pgoutput.MessageCommit): Promise<void> {
    const tx = this.#tx;
    this.#tx = null;
    if (!tx || !message.commitEndLsn) return;
    const endNumber = lsnToNumber(message.commitEndLsn);
    // Sent again after a restart but already landed: the position says so.
    if (endNumber <= this.#landed || tx.changes.length === 0) return;
    const committedAtMs = Number(message.commitTime) / 1000;
    const context: TxContext = {
      database: this.#o.source.database,
      commitLsn: numberToLsn(endNumber),
      commitLsnNumber: endNumber,
      xid: tx.xid,
      committedAt: new Date(committedAtMs).toISOString(),
    };
    const changes: ChangeRecord[] = tx.changes.map((change, index) =>
      change.op === 'truncate' || change.op === 'schema_change'
        ? logChange(context, change.relation.name, change.op, change.ddl!, index)
        : rowChange(context, change.relation, change.op, change.image!, index),
    );
    if (this.#pending.length === 0) this.#pendingSince = Date.now();
    this.#pending.push({
      changes,
      endFile: this.#o.source.slot,
      endPosition: endNumber,
      gtid: null,
      committedAtMs,
      deadLetters: [],
    });
    this.#pendingRows += changes.length;
    if (this.#pendingRows >= this.#o.batchRows) await this.#serial(() => this.#flush());
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0 || this.#failed) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingRows = 0;
    await this.#o.beforeLanding?.(batch);
    const result = await commitBatch(
      { pool: this.#o.pool, sourceName: this.#o.sourceName, instanceId: this.#o.instanceId, layout: 'typed' },
      batch,
    );
    this.#landed = batch.at(-1)!.endPosition;
    this.changes += result.rows;
    this.transactions += batch.length;
    this.#o.onBatch?.(result);
    await this.#confirm(false);
  }

  /** Confirms the landed position to the slot (the server may then recycle the WAL before it). */
  async #confirm(ping: boolean): Promise<void> {
    await this.#service?.acknowledge(numberToLsn(this.#landed), ping).catch((error: unknown) => this.#fail(coerceError(error)));
  }

  async #tick(): Promise<void> {
    if (this.#failed || this.#stopping) return;
    if (this.#pending.length > 0 && Date.now() - this.#pendingSince >= this.#o.batchMaxMs) {
      await this.#serial(() => this.#flush()).catch((error: unknown) => this.#fail(coerceError(error)));
      return;
    }
    const idleMs = this.#o.untilIdleMs;
    if (idleMs === undefined || this.#pending.length > 0 || this.#tx || Date.now() - this.#lastMessageAt < idleMs) return;
    try {
      // Caught up means the server has decoded past the WAL head of the moment the stream went quiet.
      if (this.#quietHead === null) {
        const head = await this.#o.control.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
        this.#quietHead = lsnToNumber(head.rows[0]!.lsn);
      }
      if (this.#serverLsn >= this.#quietHead) {
        this.#stopping = true;
        await this.#chain;
        this.#finish?.('idle');
        return;
      }
      await this.#confirm(true);
    } catch (error) {
      this.#fail(coerceError(error));
    }
  }
}
