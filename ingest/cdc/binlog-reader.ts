/**
 * Follows the source's binlog with @vlasky/zongji from a stored coordinate and hands on whole
 * source transactions of the captured database (the only module that talks to zongji).
 * Transactions of other databases still arrive, with no changes, so the position keeps moving.
 */
import ZongJi, { type AnyBinlogEvent, type BinlogEventByName, type BinlogEventName } from '@vlasky/zongji';

import { FatalPipelineError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { dmlWritesDatabase, parseDdl, stripLeadingComments, type DdlStatement } from './ddl.ts';
import type { BinlogCoordinate, SourceInfo } from './source.ts';
import { TransactionAssembler, type RowOperation, type SourceTransaction, type TableRename } from './transaction-assembler.ts';
import type { SourceColumn } from './type-map.ts';
import { makeRowConverter, type RowConverter, type ValueIssue } from './values.ts';

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

const EVENTS = [
  'rotate',
  'mariadbgtid',
  'gtid',
  'anonymousgtid',
  'tablemap',
  'writerows',
  'updaterows',
  'deleterows',
  'xid',
  'xaprepare',
  'query',
  'heartbeat',
];

/** XA COMMIT / XA ROLLBACK of a prepared transaction, as MariaDB logs it: X'gtrid',X'bqual',formatId. */
const XA_RESOLVE = /^XA\s+(COMMIT|ROLLBACK)\s+(X'[0-9A-Fa-f]*'\s*,\s*X'[0-9A-Fa-f]*'\s*,\s*\d+)/i;

export function xidText(gtrid: Buffer, bqual: Buffer, formatId: number): string {
  return `X'${gtrid.toString('hex').toUpperCase()}',X'${bqual.toString('hex').toUpperCase()}',${formatId}`;
}

/** Every column of the table present in a row image (binlog_row_image=FULL). */
function fullImage(bitmap: Buffer | undefined, columns: number): boolean {
  if (!bitmap) return true;
  for (let i = 0; i < columns; i++) if ((bitmap[i >> 3]! & (1 << (i & 7))) === 0) return false;
  return true;
}

type ColumnList = { name: string; type: number }[];

function is<N extends BinlogEventName>(event: AnyBinlogEvent, name: N): event is BinlogEventByName<N> {
  return event.getEventName() === name;
}

export class BinlogReader {
  readonly #zongji: ZongJi;
  readonly #assembler: TransactionAssembler;
  readonly #converters = new WeakMap<ColumnList, RowConverter>();
  readonly #sourceColumns = new WeakMap<object, SourceColumn[]>();
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
    return {
      file: this.#zongji.options.filename ?? this.options.start.file,
      position: this.#zongji.options.position ?? this.options.start.position,
    };
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
        this.options.primaryKeys.set(
          event.tableName,
          event.primaryKey.map((i) => names[i]!),
        );
      }
    } else if (is(event, 'writerows') || is(event, 'updaterows') || is(event, 'deleterows')) {
      this.#rows(event, is(event, 'writerows') ? 'insert' : is(event, 'updaterows') ? 'update' : 'delete', gtid);
    } else if (is(event, 'xaprepare')) {
      const xid = xidText(event.xidGtrid, event.xidBqual, event.xidFormatId);
      this.#emit(this.#assembler.prepare(xid, this.position.file, event.nextPosition || this.position.position, event.timestamp, gtid));
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
    // The row image is a session variable: one writer with MINIMAL or NOBLOB sends images that
    // lack columns, which would land as nulls (keys included). Checked on every event.
    const images = event as unknown as { columns_present_bitmap?: Buffer; columns_present_bitmap2?: Buffer; numberOfColumns: number };
    if (
      !fullImage(images.columns_present_bitmap, images.numberOfColumns) ||
      (operation === 'update' && !fullImage(images.columns_present_bitmap2, images.numberOfColumns))
    ) {
      throw new FatalPipelineError(
        'CDC_PARTIAL_ROW_IMAGE',
        `A ${operation} of ${this.options.source.database}.${entry.tableName} was logged without every column (binlog_row_image is MINIMAL or NOBLOB for the session that wrote it) ` +
          `at ${this.position.file}:${event.nextPosition || this.position.position}: its rows cannot be landed whole. ` +
          'Set binlog_row_image=FULL globally and in every writer (SET SESSION binlog_row_image=FULL, or remove it from the client settings), then re-snapshot: npm run ingest:cdc -- --resnapshot',
      );
    }
    let convert = this.#converters.get(columns);
    if (!convert) {
      convert = makeRowConverter(columns.map((c) => ({ name: c.name, typeCode: c.type })));
      this.#converters.set(columns, convert);
    }
    const primaryKey = this.options.primaryKeys.get(entry.tableName) ?? [];
    const sourceColumns = this.#columnTypes(entry as unknown as { columnSchemas?: { COLUMN_NAME: string; COLUMN_TYPE: string }[] });
    const issues: ValueIssue[][] = [];
    if (operation === 'update') {
      const rows = (event as BinlogEventByName<'updaterows'>).rows.map((r) => {
        const before = convert(r.before);
        const rowIssues = convert.issues;
        const after = convert(r.after);
        issues.push([...rowIssues, ...convert.issues]);
        return { before, after };
      });
      this.#assembler.rows(entry.tableName, operation, rows, primaryKey, gtid, issues, sourceColumns);
    } else {
      const rows = (event as BinlogEventByName<'writerows'>).rows.map((r) => {
        const row = convert(r);
        issues.push(convert.issues);
        return row;
      });
      this.#assembler.rows(entry.tableName, operation, rows, primaryKey, gtid, issues, sourceColumns);
    }
  }

  /** The table's column types as the event describes them (zongji: binlog metadata or information_schema). */
  #columnTypes(entry: { columnSchemas?: { COLUMN_NAME: string; COLUMN_TYPE: string }[] }): SourceColumn[] | undefined {
    const schemas = entry.columnSchemas;
    if (!schemas) return undefined;
    let columns = this.#sourceColumns.get(schemas);
    if (!columns) {
      columns = schemas.map((s) => ({ name: s.COLUMN_NAME, columnType: s.COLUMN_TYPE }));
      this.#sourceColumns.set(schemas, columns);
    }
    return columns;
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
    // XA END closes the statement list; the group ends with the XA_prepare event that follows.
    if (head.startsWith('XA END')) return;
    const xa = XA_RESOLVE.exec(sql);
    if (xa) {
      const kind = xa[1]!.toUpperCase() === 'COMMIT' ? 'commit' : 'rollback';
      this.#emit(this.#assembler.resolveXa(kind, xa[2]!.replace(/\s+/g, '').toUpperCase(), endFile, endPosition, event.timestamp, gtid));
      return;
    }
    if (head.startsWith('COMMIT') || head.startsWith('XA COMMIT')) {
      this.#emit(this.#assembler.commit(endFile, endPosition, event.timestamp, gtid));
      return;
    }
    if (head.startsWith('ROLLBACK') || head.startsWith('XA ROLLBACK')) {
      this.#assembler.rollback();
      this.#emit(this.#assembler.commit(endFile, endPosition, event.timestamp, gtid));
      return;
    }
    const database = this.options.source.database;
    const ddl = parseDdl(sql, event.schema);
    if (ddl) {
      const tx = this.#ddl(ddl, event, gtid, endFile, endPosition);
      if (tx) {
        this.#emit(tx);
        return;
      }
    } else if (dmlWritesDatabase(sql, event.schema, database)) {
      // A statement-logged change cannot be turned into row images; skipping it would lose data.
      throw new FatalPipelineError(
        'CDC_STATEMENT_LOGGED_DML',
        `A data change in ${database} was written to the binlog as a statement (binlog_format is STATEMENT or MIXED for the session that wrote it) at ${endFile}:${endPosition}: ${sql.slice(0, 200)}. ` +
          'Set binlog_format=ROW globally and in every writer (SET SESSION binlog_format=ROW, or remove it from the client settings), then re-snapshot: npm run ingest:cdc -- --resnapshot',
      );
    }
    // Any other statement (another database's DDL, GRANT, ...): only the position moves. Inside
    // an open multi-statement transaction it is part of that transaction and changes nothing here.
    if (this.#assembler.isOpen && !this.#standalone) return;
    this.#assembler.rollback();
    this.#emit(this.#assembler.commit(endFile, endPosition, event.timestamp, gtid));
  }

  /**
   * Table DDL of the captured database as log rows. DROP TABLE and CREATE OR REPLACE TABLE end
   * the table's rows (a truncate); RENAME TABLE hands the rows on to the new name (the sink
   * copies them), or ends them when the table leaves the database.
   */
  #ddl(
    ddl: DdlStatement,
    event: BinlogEventByName<'query'>,
    gtid: string | null,
    endFile: string,
    endPosition: number,
  ): SourceTransaction | null {
    const database = this.options.source.database;
    const rows: { table: string; operation: 'schema_change' | 'truncate' }[] = [];
    const renames: TableRename[] = [];
    const ours = [{ database: ddl.database, table: ddl.table }, ...ddl.otherTables]
      .filter((t) => t.database === database)
      .map((t) => t.table);
    if (ddl.kind === 'rename_table' && ddl.renames) {
      for (const { from, to } of ddl.renames) {
        if (from.database === database && to.database === database) {
          rows.push({ table: from.table, operation: 'schema_change' }, { table: to.table, operation: 'schema_change' });
          renames.push({ from: from.table, to: to.table });
        } else if (from.database === database) {
          rows.push({ table: from.table, operation: 'truncate' });
        } else if (to.database === database) {
          throw new FatalPipelineError(
            'CDC_TABLE_MOVED_IN',
            `RENAME TABLE moved ${from.database}.${from.table} into ${database} as ${to.table} at ${endFile}:${endPosition}; its rows were never captured. ` +
              'Take a new snapshot so they are: npm run ingest:cdc -- --resnapshot',
          );
        }
      }
    } else {
      const operation =
        ddl.kind === 'truncate' || ddl.kind === 'drop_table' || (ddl.kind === 'create_table' && ddl.replaces)
          ? 'truncate'
          : 'schema_change';
      for (const table of ours) rows.push({ table, operation });
    }
    if (rows.length === 0) return null;
    this.options.logger.info({ tables: ours, kind: ddl.kind, gtid }, 'source schema change');
    if (ddl.kind === 'drop_table' || ddl.kind === 'rename_table' || ddl.kind === 'create_table')
      for (const table of ours) this.options.primaryKeys.delete(table);
    // An ALTER rewrites every row without row events (a renamed column, a new DECIMAL scale):
    // the table is read again so its current rows carry the new shape.
    const rereads = ddl.kind === 'alter_table' ? ours : [];
    return this.#assembler.ddl(rows, event.query, endFile, endPosition, event.timestamp, gtid, renames, rereads);
  }

  #emit(tx: SourceTransaction): void {
    this.options.onTransaction(tx);
  }
}
