/**
 * Everything one step of the simulation (a day in backfill, a tick in live mode) writes:
 * inserts and upserts per table in the order that keeps foreign keys satisfied, and the Kafka
 * messages. Sinks consume a Batch; the simulation never talks to a database itself.
 */
import { MessageLog, type OutgoingMessage } from './message-log.ts';
import type { Row, TableName } from './rows.ts';

// The message type lives with the log that stores it; re-exported for the batch's users.
export type { OutgoingMessage };

/** Order in which a batch's table writes are applied. Upserts of a key apply in the order queued. */
export const WRITE_ORDER: readonly { table: TableName; kind: 'insert' | 'upsert' }[] = [
  { table: 'customers', kind: 'insert' },
  { table: 'products', kind: 'insert' },
  { table: 'inventory', kind: 'insert' },
  { table: 'customers', kind: 'upsert' },
  { table: 'products', kind: 'upsert' },
  { table: 'orders', kind: 'insert' },
  { table: 'order_items', kind: 'insert' },
  { table: 'payments', kind: 'insert' },
  { table: 'orders', kind: 'upsert' },
  { table: 'payments', kind: 'upsert' },
  { table: 'restocks', kind: 'insert' },
  { table: 'inventory', kind: 'upsert' },
];

export class Batch {
  readonly label: string;
  /** End of the simulated span this batch covers (exclusive), epoch ms. */
  readonly endMs: number;
  readonly inserts = new Map<TableName, Row[]>();
  readonly upserts = new Map<TableName, Row[]>();
  messages: MessageLog;
  /** More of the same step follows in another batch (a busy day is handed on in parts). */
  partial = false;

  /** `messageBodies: false`: messages are counted by time and type, never built (no Kafka sink). */
  constructor(label: string, endMs = Number.POSITIVE_INFINITY, options: { messageBodies?: boolean } = {}) {
    this.label = label;
    this.endMs = endMs;
    this.messages = new MessageLog({ bodies: options.messageBodies ?? true });
  }

  /** Whether messages are built at all; a writer that only counts them calls count() instead of send(). */
  get keepsMessageBodies(): boolean {
    return this.messages.hasBodies;
  }

  insert(table: TableName, row: Row): void {
    let rows = this.inserts.get(table);
    if (!rows) this.inserts.set(table, (rows = []));
    rows.push(row);
  }

  upsert(table: TableName, row: Row): void {
    let rows = this.upserts.get(table);
    if (!rows) this.upserts.set(table, (rows = []));
    rows.push(row);
  }

  send(message: OutgoingMessage): void {
    this.messages.push(message);
  }

  /** A message that is only counted (a batch without message bodies). */
  count(time: number, type: string): void {
    this.messages.count(time, type);
  }

  /** Messages ordered by event time, decoded; ties keep generation order, so a session stays in order. */
  orderedMessages(): OutgoingMessage[] {
    return Array.from(this.messages.ordered(), (i) => this.messages.get(i));
  }

  /** Done with: the messages' buffer goes back for reuse (after every sink has written the batch). */
  release(): void {
    this.messages.release();
  }

  rowCount(): number {
    let n = 0;
    for (const rows of this.inserts.values()) n += rows.length;
    for (const rows of this.upserts.values()) n += rows.length;
    return n;
  }
}
