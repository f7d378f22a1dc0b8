/**
 * Groups decoded binlog events into source transactions, so a transaction's changes are handed
 * on only once its commit marker (XID, or COMMIT for non-transactional engines) arrives and a
 * rolled-back or cut-off transaction leaves nothing behind. Pure: no I/O, easy to test.
 *
 * XA: a prepared XA transaction is handed on as `xa: prepare` with its changes held aside; the
 * sink keeps them (ingest.cdc_xa_prepared) until `xa: commit` lands them or `xa: rollback`
 * drops them. An UPDATE that changes the primary key becomes a delete of the old key and an
 * insert of the new one, so the derived state never keeps the old key alive.
 */
import type { ChangeOperation, ChangeRecord } from './change.ts';
import { invalidDateLetters, nulLetter, type CdcDeadLetter } from './dead-letters.ts';
import type { SourceColumn } from './type-map.ts';
import { toJsonText, type ValueIssue } from './values.ts';

export interface XaAction {
  kind: 'prepare' | 'commit' | 'rollback';
  /** The XA id as the server prints it: X'hex',X'hex',formatId. */
  xid: string;
}

export interface TableRename {
  from: string;
  to: string;
}

export interface SourceTransaction {
  changes: ChangeRecord[];
  /** Binlog coordinate just after the commit: where a restart resumes. */
  endFile: string;
  endPosition: number;
  gtid: string | null;
  /** Source commit time (binlog event time, ms since epoch). */
  committedAtMs: number;
  /** Values landed altered or as null, kept whole here (positioned at the commit). */
  deadLetters: CdcDeadLetter[];
  /** Two-phase XA: prepare holds `changes` aside; commit/rollback resolve them. */
  xa?: XaAction;
  /** RENAME TABLE within the captured database: the new name continues the old one's rows. */
  renames?: TableRename[];
  /** ALTER TABLE rewrote these tables' rows without row events: their rows are read again. */
  rereads?: string[];
}

export type RowOperation = Extract<ChangeOperation, 'insert' | 'update' | 'delete'>;

export type RowImages = Record<string, unknown> | { before: Record<string, unknown>; after: Record<string, unknown> };

interface PendingRow {
  table: string;
  operation: RowOperation;
  primaryKeyJson: string | null;
  beforeJson: string | null;
  afterJson: string | null;
  sourceColumns: readonly SourceColumn[] | undefined;
}

function keyJson(row: Record<string, unknown>, primaryKey: readonly string[]): string | null {
  if (primaryKey.length === 0) return null;
  const key: Record<string, unknown> = {};
  for (const column of primaryKey) key[column] = row[column] ?? null;
  return toJsonText(key).json;
}

export class TransactionAssembler {
  #rows: PendingRow[] = [];
  #open = false;
  #gtid: string | null = null;
  #deadLetters: CdcDeadLetter[] = [];

  constructor(private readonly database: string) {}

  get isOpen(): boolean {
    return this.#open;
  }

  get pendingRows(): number {
    return this.#rows.length;
  }

  /** A transaction starts (MariaDB GTID event, MySQL GTID / BEGIN). Unfinished state is dropped. */
  begin(gtid: string | null): void {
    this.#reset();
    this.#open = true;
    this.#gtid = gtid;
  }

  /**
   * Rows of one row event, already in the JSON value format. `issues[i]` lists row i's values
   * that landed as null (invalid dates).
   */
  rows(
    table: string,
    operation: RowOperation,
    rows: readonly RowImages[],
    primaryKey: readonly string[],
    gtid: string | null,
    issues?: readonly (readonly ValueIssue[])[],
    sourceColumns?: readonly SourceColumn[],
  ): void {
    if (!this.#open) this.begin(gtid);
    rows.forEach((raw, i) => {
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
      // The key identifies the row as it is after the change (before it, for deletes).
      const key = keyJson((after ?? before)!, primaryKey);
      const rowIssues = issues?.[i];
      if (rowIssues && rowIssues.length > 0) this.#deadLetters.push(...invalidDateLetters(table, key, operation, rowIssues));
      const nulText = afterText?.hadNul ? afterText : beforeText?.hadNul ? beforeText : null;
      if (nulText) this.#deadLetters.push(nulLetter(table, key, operation, JSON.stringify(after ?? before)));
      if (operation === 'update' && primaryKey.length > 0) {
        const oldKey = keyJson(before!, primaryKey);
        if (oldKey !== key) {
          // A key change: the old key is gone and a new one exists; downstream must see both.
          this.#rows.push({
            table,
            operation: 'delete',
            primaryKeyJson: oldKey,
            beforeJson: beforeText!.json,
            afterJson: null,
            sourceColumns,
          });
          this.#rows.push({ table, operation: 'insert', primaryKeyJson: key, beforeJson: null, afterJson: afterText!.json, sourceColumns });
          return;
        }
      }
      this.#rows.push({
        table,
        operation,
        primaryKeyJson: key,
        beforeJson: beforeText?.json ?? null,
        afterJson: afterText?.json ?? null,
        sourceColumns,
      });
    });
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
      ...(row.sourceColumns ? { sourceColumns: row.sourceColumns } : {}),
    }));
    const tx: SourceTransaction = { changes, endFile, endPosition, gtid: finalGtid, committedAtMs, deadLetters: this.#deadLetters };
    this.#reset();
    return tx;
  }

  /** XA PREPARE: the transaction's changes, to be held until XA COMMIT or XA ROLLBACK. */
  prepare(xid: string, endFile: string, endPosition: number, committedAtMs: number, gtid: string | null): SourceTransaction {
    return { ...this.commit(endFile, endPosition, committedAtMs, gtid), xa: { kind: 'prepare', xid } };
  }

  /** XA COMMIT / XA ROLLBACK of a prepared transaction: its own event group, no rows of its own. */
  resolveXa(
    kind: 'commit' | 'rollback',
    xid: string,
    endFile: string,
    endPosition: number,
    committedAtMs: number,
    gtid: string | null,
  ): SourceTransaction {
    this.#reset();
    return { changes: [], endFile, endPosition, gtid, committedAtMs, deadLetters: [], xa: { kind, xid } };
  }

  rollback(): void {
    this.#reset();
  }

  /** A DDL statement is its own transaction (it commits implicitly): one row per table it touches. */
  ddl(
    tables: readonly { table: string; operation: 'schema_change' | 'truncate' }[],
    statement: string,
    endFile: string,
    endPosition: number,
    committedAtMs: number,
    gtid: string | null,
    renames: readonly TableRename[] = [],
    rereads: readonly string[] = [],
  ): SourceTransaction {
    this.#reset();
    const committedAt = new Date(committedAtMs).toISOString();
    const changes = tables.map<ChangeRecord>(({ table, operation }, index) => ({
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
    return {
      changes,
      endFile,
      endPosition,
      gtid,
      committedAtMs,
      deadLetters: [],
      ...(renames.length > 0 ? { renames: [...renames] } : {}),
      ...(rereads.length > 0 ? { rereads: [...rereads] } : {}),
    };
  }

  #reset(): void {
    this.#rows = [];
    this.#open = false;
    this.#gtid = null;
    this.#deadLetters = [];
  }
}
