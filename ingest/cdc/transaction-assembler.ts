/**
 * Groups decoded binlog events into source transactions, so a transaction's changes are handed
 * on only once its commit marker (XID, or COMMIT for non-transactional engines) arrives and a
 * rolled-back or cut-off transaction leaves nothing behind. Pure: no I/O, easy to test.
 */
import type { ChangeOperation, ChangeRecord } from './change.ts';
import { toJsonText } from './values.ts';

export interface SourceTransaction {
  changes: ChangeRecord[];
  /** Binlog coordinate just after the commit: where a restart resumes. */
  endFile: string;
  endPosition: number;
  gtid: string | null;
  /** Source commit time (binlog event timestamp, ms since epoch). */
  committedAtMs: number;
  /** Rows whose text held U+0000, replaced by U+FFFD because jsonb cannot store it. */
  nulReplaced: number;
}

export type RowOperation = Extract<ChangeOperation, 'insert' | 'update' | 'delete'>;

interface PendingRow {
  table: string;
  operation: RowOperation;
  primaryKeyJson: string | null;
  beforeJson: string | null;
  afterJson: string | null;
}

function keyJson(row: Record<string, unknown>, primaryKey: readonly string[]): string | null {
  if (primaryKey.length === 0) return null;
  const key: Record<string, unknown> = {};
  for (const column of primaryKey) key[column] = row[column] ?? null;
  return JSON.stringify(key);
}

export class TransactionAssembler {
  #rows: PendingRow[] = [];
  #open = false;
  #gtid: string | null = null;
  #nulReplaced = 0;

  constructor(private readonly database: string) {}

  get isOpen(): boolean {
    return this.#open;
  }

  get pendingRows(): number {
    return this.#rows.length;
  }

  /** A transaction starts (MariaDB GTID event, MySQL GTID / BEGIN). Unfinished state is dropped. */
  begin(gtid: string | null): void {
    this.#rows = [];
    this.#nulReplaced = 0;
    this.#open = true;
    this.#gtid = gtid;
  }

  rows(table: string, operation: RowOperation, rows: readonly Record<string, unknown>[] | readonly { before: Record<string, unknown>; after: Record<string, unknown> }[], primaryKey: readonly string[], gtid: string | null): void {
    if (!this.#open) this.begin(gtid);
    for (const raw of rows) {
      let before: Record<string, unknown> | null = null;
      let after: Record<string, unknown> | null = null;
      if (operation === 'update') {
        ({ before, after } = raw as { before: Record<string, unknown>; after: Record<string, unknown> });
      } else if (operation === 'insert') {
        after = raw as Record<string, unknown>;
      } else {
        before = raw as Record<string, unknown>;
      }
      const beforeText = before ? toJsonText(before) : null;
      const afterText = after ? toJsonText(after) : null;
      if (beforeText?.hadNul || afterText?.hadNul) this.#nulReplaced++;
      this.#rows.push({
        table,
        operation,
        // The key identifies the row as it is after the change (before it, for deletes).
        primaryKeyJson: keyJson((after ?? before)!, primaryKey),
        beforeJson: beforeText?.json ?? null,
        afterJson: afterText?.json ?? null,
      });
    }
  }

  /** The commit marker: returns the finished transaction (possibly with no changes for us). */
  commit(endFile: string, endPosition: number, committedAtMs: number, gtid: string | null): SourceTransaction {
    const finalGtid = gtid ?? this.#gtid;
    const committedAt = new Date(committedAtMs).toISOString();
    const changes = this.#rows.map<ChangeRecord>((row, index) => ({
      sourceDatabase: this.database,
      tableName: row.table,
      operation: row.operation,
      primaryKeyJson: row.primaryKeyJson,
      beforeJson: row.beforeJson,
      afterJson: row.afterJson,
      binlogFile: endFile,
      binlogPosition: endPosition,
      rowIndex: index,
      gtid: finalGtid,
      snapshotId: null,
      sourceCommittedAt: committedAt,
      ddl: null,
    }));
    const tx: SourceTransaction = { changes, endFile, endPosition, gtid: finalGtid, committedAtMs, nulReplaced: this.#nulReplaced };
    this.#reset();
    return tx;
  }

  rollback(): void {
    this.#reset();
  }

  /** A DDL statement is its own transaction (it commits implicitly): one row per table it touches. */
  ddl(tables: readonly string[], operation: 'schema_change' | 'truncate', statement: string, endFile: string, endPosition: number, committedAtMs: number, gtid: string | null): SourceTransaction {
    this.#reset();
    const committedAt = new Date(committedAtMs).toISOString();
    const changes = tables.map<ChangeRecord>((table, index) => ({
      sourceDatabase: this.database,
      tableName: table,
      operation,
      primaryKeyJson: null,
      beforeJson: null,
      afterJson: null,
      binlogFile: endFile,
      binlogPosition: endPosition,
      rowIndex: index,
      gtid,
      snapshotId: null,
      sourceCommittedAt: committedAt,
      ddl: statement,
    }));
    return { changes, endFile, endPosition, gtid, committedAtMs, nulReplaced: 0 };
  }

  #reset(): void {
    this.#rows = [];
    this.#open = false;
    this.#gtid = null;
    this.#nulReplaced = 0;
  }
}
