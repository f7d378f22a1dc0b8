/**
 * Exactly-once delivery ledger for the daily report (ops.reports_sent, one row per business
 * date) and alerts (ops.alerts_sent, one row per alert key).
 *
 * Protocol: CLAIM (insert the row as 'sending', or take over a row whose last attempt
 * 'failed') -> send over SMTP -> MARK 'sent' (or 'failed' when SMTP gave up). Only the holder
 * of the claim token can mark the row, so two concurrent senders never both send. A row left
 * in 'sending' means a process died between claim and mark; it is never re-sent automatically
 * because the message may already have been accepted (the one window where the ledger cannot
 * know): an operator checks the mailbox and releases it with `npm run report -- --release`.
 */
import { randomUUID } from 'node:crypto';

import type pg from 'pg';

export type DeliveryTarget = { kind: 'report'; businessDate: string } | { kind: 'alert'; alertKey: string; alertKind: string; subject: string; details: unknown };

export type ClaimOutcome =
  | { state: 'claimed'; token: string; attempt: number }
  | { state: 'already_sent'; messageId: string | null; sentAt: Date | null }
  | { state: 'in_progress'; claimedAt: Date | null; attempts: number };

type Queryable = Pick<pg.Pool, 'query'>;

interface LedgerRow {
  status: 'sending' | 'sent' | 'failed';
  claim_token: string | null;
  claimed_at: Date | null;
  attempts: number;
  message_id: string | null;
  sent_at: Date | null;
}

function tableOf(target: DeliveryTarget): { table: string; keyColumn: string; key: string } {
  return target.kind === 'report'
    ? { table: 'ops.reports_sent', keyColumn: 'business_date', key: target.businessDate }
    : { table: 'ops.alerts_sent', keyColumn: 'alert_key', key: target.alertKey };
}

export async function claimDelivery(db: Queryable, target: DeliveryTarget, meta: { recipients: string; runId?: string | null }): Promise<ClaimOutcome> {
  const token = randomUUID();
  const claimed =
    target.kind === 'report'
      ? await db.query<{ attempts: number }>(
          `insert into ops.reports_sent as r (business_date, run_id, recipients, status, claim_token, claimed_at, attempts, sent_at)
           values ($1, $2, $3, 'sending', $4, now(), 1, null)
           on conflict (business_date) do update
              set status = 'sending', claim_token = excluded.claim_token, claimed_at = now(), attempts = r.attempts + 1,
                  run_id = excluded.run_id, recipients = excluded.recipients, last_error = null
            where r.status = 'failed'
           returning attempts`,
          [target.businessDate, meta.runId ?? null, meta.recipients, token],
        )
      : await db.query<{ attempts: number }>(
          `insert into ops.alerts_sent as a (alert_key, kind, subject, details, status, claim_token, claimed_at, attempts, sent_at)
           values ($1, $2, $3, $4, 'sending', $5, now(), 1, null)
           on conflict (alert_key) do update
              set status = 'sending', claim_token = excluded.claim_token, claimed_at = now(), attempts = a.attempts + 1,
                  subject = excluded.subject, details = excluded.details, last_error = null
            where a.status = 'failed'
           returning attempts`,
          [target.alertKey, target.alertKind, target.subject, JSON.stringify(target.details ?? {}), token],
        );
  if (claimed.rowCount === 1) return { state: 'claimed', token, attempt: claimed.rows[0]!.attempts };

  const row = await readLedgerRow(db, target);
  if (!row) throw new Error(`delivery ledger row for ${tableOf(target).key} vanished during claim`);
  if (row.status === 'sent') return { state: 'already_sent', messageId: row.message_id, sentAt: row.sent_at };
  return { state: 'in_progress', claimedAt: row.claimed_at, attempts: row.attempts };
}

export async function readLedgerRow(db: Queryable, target: DeliveryTarget): Promise<LedgerRow | undefined> {
  const { table, keyColumn, key } = tableOf(target);
  const result = await db.query<LedgerRow>(
    `select status, claim_token, claimed_at, attempts, message_id, sent_at from ${table} where ${keyColumn} = $1`,
    [key],
  );
  return result.rows[0];
}

/** Records the server's acceptance. Returns false if the claim was lost (released by an operator). */
export async function markSent(db: Queryable, target: DeliveryTarget, token: string, messageId: string): Promise<boolean> {
  const { table, keyColumn, key } = tableOf(target);
  const result = await db.query(
    `update ${table} set status = 'sent', message_id = $3, sent_at = now(), last_error = null
      where ${keyColumn} = $1 and claim_token = $2 and status = 'sending'`,
    [key, token, messageId],
  );
  return result.rowCount === 1;
}

/** Releases the claim after SMTP definitively failed, so a later retry may send. */
export async function markFailed(db: Queryable, target: DeliveryTarget, token: string, error: string): Promise<void> {
  const { table, keyColumn, key } = tableOf(target);
  await db.query(
    `update ${table} set status = 'failed', last_error = left($3, 2000)
      where ${keyColumn} = $1 and claim_token = $2 and status = 'sending'`,
    [key, token, error],
  );
}

/**
 * Operator action after a crash left a row in 'sending': after checking the mailbox, turn it
 * into 'failed' so the next run sends. Returns whether a row was released.
 */
export async function releaseStuckClaim(db: Queryable, target: DeliveryTarget): Promise<boolean> {
  const { table, keyColumn, key } = tableOf(target);
  const result = await db.query(
    `update ${table} set status = 'failed', last_error = 'released by operator' where ${keyColumn} = $1 and status = 'sending'`,
    [key],
  );
  return result.rowCount === 1;
}
