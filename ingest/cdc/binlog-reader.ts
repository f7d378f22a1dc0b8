/**
 * Follows the source's binlog with @vlasky/zongji from a stored coordinate and hands on whole
 * source transactions of the captured database (the only module that talks to zongji).
 * Transactions of other databases still arrive, with no changes, so the position keeps moving.
 */
import ZongJi, { type AnyBinlogEvent, type BinlogEventByName, type BinlogEventName } from '@vlasky/zongji';

import { FatalPipelineError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { parseDdl, stripLeadingComments, tablesInDatabase } from './ddl.ts';
import type { BinlogCoordinate, SourceInfo } from './source.ts';
import { TransactionAssembler, type RowOperation, type SourceTransaction } from './transaction-assembler.ts';
import { makeRowConverter } from './values.ts';

export interface BinlogReaderOptions {
  source: SourceInfo;
  serverId: number;
  start: BinlogCoordinate;
  logger: Logger;
  /** Primary keys known before streaming (used when the binlog carries no key metadata). */
  primaryKeys: Map<string, string[]>;
  onTransaction: (tx: SourceTransaction) => void;
  onError: (error: Error) => void;
}

const EVENTS = ['rotate', 'mariadbgtid', 'gtid', 'anonymousgtid', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query', 'heartbeat'];

type ColumnList = { name: string; type: number }[];
type Converter = (row: Record<string, unknown>) => Record<string, unknown>;

function is<N extends BinlogEventName>(event: AnyBinlogEvent, name: N): event is BinlogEventByName<N> {
  return event.getEventName() === name;
}

export class BinlogReader {
  readonly #zongji: ZongJi;
  readonly #assembler: TransactionAssembler;
  readonly #converters = new WeakMap<ColumnList, Converter>();
  #lastEventAt = Date.now();
  #stopped = false;
  #paused = false;
  /** The current MariaDB event group is a standalone statement (DDL, ...) with no commit marker. */
  #standalone = false;

  constructor(private readonly options: BinlogReaderOptions) {
    this.#assembler = new TransactionAssembler(options.source.database);
    // The default database only labels the connections (SHOW PROCESSLIST), it filters nothing.
    this.#zongji = new ZongJi({ ...options.source.connection, database: options.source.database });
    this.#zongji.on('error', (error: Error) => {
      if (!this.#stopped) options.onError(error);
    });
    this.#zongji.on('binlog', (event: AnyBinlogEvent) => {
      if (this.#stopped) return;
      try {
        this.#handle(event);
      } catch (error) {
        options.onError(error as Error);
      }
    });
  }

  /** Resolves once the dump has started; rejects with the first error before that. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        this.#zongji.off('ready', onReady);
        reject(error);
      };
      const onReady = () => {
        this.#zongji.off('error', onError);
        resolve();
      };
      this.#zongji.once('ready', onReady);
      this.#zongji.once('error', onError);
      this.#zongji.start({
        serverId: this.options.serverId,
        filename: this.options.start.file,
        position: this.options.start.position,
        includeEvents: EVENTS,
        includeSchema: { [this.options.source.database]: true },
      });
    });
  }

  /** Where the stream is: never inside a transaction (zongji freezes it from TableMap to commit). */
  get position(): BinlogCoordinate {
    return { file: this.#zongji.options.filename ?? this.options.start.file, position: this.#zongji.options.position ?? this.options.start.position };
  }

  get lastEventAt(): number {
    return this.#lastEventAt;
  }

  get inTransaction(): boolean {
    return this.#assembler.isOpen;
  }

  /** Backpressure: stop reading from the socket while the warehouse catches up. */
  pause(): void {
    if (this.#paused || !this.#zongji.connection) return;
    this.#paused = true;
    this.#zongji.connection.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#zongji.connection?.resume();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const stopped = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3_000);
      timer.unref();
      this.#zongji.once('stopped', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#zongji.stop();
    await stopped;
  }

  #handle(event: AnyBinlogEvent): void {
    this.#lastEventAt = Date.now();
    const gtid = event.gtid ?? null;
    if (is(event, 'mariadbgtid')) {
      this.#standalone = event.standalone;
      this.#assembler.begin(event.gtid ?? null);
    } else if (is(event, 'gtid') || is(event, 'anonymousgtid')) {
      this.#standalone = false;
      this.#assembler.begin(event.gtid ?? null);
    } else if (is(event, 'tablemap')) {
      if (event.schemaName === this.options.source.database && event.primaryKey && event.columnNames) {
        const names = event.columnNames;
        this.options.primaryKeys.set(event.tableName, event.primaryKey.map((i) => names[i]!));
      }
    } else if (is(event, 'writerows') || is(event, 'updaterows') || is(event, 'deleterows')) {
      this.#rows(event, is(event, 'writerows') ? 'insert' : is(event, 'updaterows') ? 'update' : 'delete', gtid);
    } else if (is(event, 'xid')) {
      this.#emit(this.#assembler.commit(this.position.file, event.nextPosition || this.position.position, event.timestamp, gtid));
    } else if (is(event, 'query')) {
      this.#query(event, gtid);
    }
  }

  #rows(event: BinlogEventByName<'writerows' | 'updaterows' | 'deleterows'>, operation: RowOperation, gtid: string | null): void {
    const entry = event.tableMap[event.tableId];
    if (!entry || entry.parentSchema !== this.options.source.database) return;
    const columns = (entry.columns ?? []) as ColumnList;
    let convert = this.#converters.get(columns);
    if (!convert) {
      convert = makeRowConverter(columns.map((c) => ({ name: c.name, typeCode: c.type })));
      this.#converters.set(columns, convert);
    }
    const primaryKey = this.options.primaryKeys.get(entry.tableName) ?? [];
    if (operation === 'update') {
      const rows = (event as BinlogEventByName<'updaterows'>).rows.map((r) => ({ before: convert(r.before), after: convert(r.after) }));
      this.#assembler.rows(entry.tableName, operation, rows, primaryKey, gtid);
    } else {
      const rows = (event as BinlogEventByName<'writerows'>).rows.map((r) => convert(r));
      this.#assembler.rows(entry.tableName, operation, rows, primaryKey, gtid);
    }
  }

  #query(event: BinlogEventByName<'query'>, gtid: string | null): void {
    const sql = stripLeadingComments(event.query);
    const head = sql.slice(0, 16).toUpperCase();
    const endFile = this.position.file;
    const endPosition = event.nextPosition || this.position.position;
    if (head.startsWith('BEGIN') || head.startsWith('XA START')) {
      this.#standalone = false;
      this.#assembler.begin(gtid);
      return;
    }
    if (head.startsWith('COMMIT') || head.startsWith('XA END') || head.startsWith('XA COMMIT')) {
      this.#emit(this.#assembler.commit(endFile, endPosition, event.timestamp, gtid));
      return;
    }
    if (head.startsWith('ROLLBACK')) {
      this.#assembler.rollback();
      this.#emit(this.#assembler.commit(endFile, endPosition, event.timestamp, gtid));
      return;
    }
    const database = this.options.source.database;
    const ddl = parseDdl(sql, event.schema);
    if (ddl) {
      const tables = tablesInDatabase(ddl, database);
      if (tables.length > 0) {
        this.options.logger.info({ tables, kind: ddl.kind, gtid }, 'source schema change');
        if (ddl.kind === 'drop_table' || ddl.kind === 'rename_table') for (const table of tables) this.options.primaryKeys.delete(table);
        this.#emit(this.#assembler.ddl(tables, ddl.kind === 'truncate' ? 'truncate' : 'schema_change', event.query, endFile, endPosition, event.timestamp, gtid));
        return;
      }
    } else if (event.schema === database && /^(insert|update|delete|replace|load\s+data)\b/i.test(sql)) {
      // A statement-logged change cannot be turned into row images; skipping it would lose data.
      throw new FatalPipelineError(
        'CDC_STATEMENT_LOGGED_DML',
        `A data change in ${database} was written to the binlog as a statement (binlog_format is not ROW for that session) at ${endFile}:${endPosition}. ` +
          'Set binlog_format=ROW globally and for every writer, then re-snapshot: npm run ingest:cdc -- --resnapshot',
      );
    }
    // Any other statement (another database's DDL, GRANT, ...): only the position moves. Inside
    // an open multi-statement transaction it is part of that transaction and changes nothing here.
    if (this.#assembler.isOpen && !this.#standalone) return;
    this.#assembler.rollback();
    this.#emit(this.#assembler.commit(endFile, endPosition, event.timestamp, gtid));
  }

  #emit(tx: SourceTransaction): void {
    this.options.onTransaction(tx);
  }
}
