/**
 * Delivery ledger for the daily report (ops.reports_sent, one row per business date) and
 * alerts (ops.alerts_sent, one row per alert key, which is also the alert outbox).
 *
 * Protocol: CLAIM (insert the row as 'sending', or take over a row whose last attempt
 * 'failed') -> hand the message to SMTP -> MARK 'sent', 'failed' (SMTP certainly did not take
 * it) or 'unknown' (the body went out, the acknowledgement never came). Only the holder of the
 * claim token marks the row, so two concurrent senders never both send. Neither 'unknown' nor
 * a 'sending' row left by a dead process is ever claimed again automatically: the message may be
 * in the mailbox. A check of the mailbox (mailbox.ts) or an operator settles them
 * (`npm run report -- --resolve sent|resend --date D`, docs/report.md). A database trigger
 * (migration 0120) allows only these transitions.
 */
import { randomUUID } from 'node:crypto';

import type pg from 'pg';

export type DeliveryStatus = 'sending' | 'sent' | 'unknown' | 'failed' | 'expired';

export interface AlertContent {
  recipients: string;
  text: string;
  html?: string;
  /** Give up retrying after this instant (status 'expired'). */
  expiresAt: Date;
}

export type DeliveryTarget =
  | { kind: 'report'; businessDate: string }
  | { kind: 'alert'; alertKey: string; alertKind: string; subject: string; details: unknown; content?: AlertContent };

export type ClaimOutcome =
  | { state: 'claimed'; token: string; attempt: number }
  | { state: 'already_sent'; messageId: string | null; sentAt: Date | null }
  | { state: 'in_progress'; claimedAt: Date | null; attempts: number }
  | { state: 'unknown'; claimedAt: Date | null; messageId: string | null; lastError: string | null }
  | { state: 'expired' };

type Queryable = Pick<pg.Pool, 'query'>;

export interface LedgerRow {
  status: DeliveryStatus;
  claim_token: string | null;
  claimed_at: Date | null;
  attempts: number;
  message_id: string | null;
  sent_at: Date | null;
  last_error: string | null;
}

function tableOf(target: DeliveryTarget): { table: string; keyColumn: string; key: string } {
  return target.kind === 'report'
    ? { table: 'ops.reports_sent', keyColumn: 'business_date', key: target.businessDate }
    : { table: 'ops.alerts_sent', keyColumn: 'alert_key', key: target.alertKey };
}

export function describeTarget(target: DeliveryTarget): string {
  return target.kind === 'report' ? `report ${target.businessDate}` : `alert ${target.alertKey}`;
}

export async function claimDelivery(
  db: Queryable,
  target: DeliveryTarget,
  meta: { recipients: string; messageId: string; runId?: string | null },
): Promise<ClaimOutcome> {
  const token = randomUUID();
  const claimed =
    target.kind === 'report'
      ? await db.query<{ attempts: number }>(
          `insert into ops.reports_sent as r (business_date, run_id, recipients, status, claim_token, claimed_at, attempts, sent_at, message_id)
           values ($1, $2, $3, 'sending', $4, now(), 1, null, $5)
           on conflict (business_date) do update
              set status = 'sending', claim_token = excluded.claim_token, claimed_at = now(), attempts = r.attempts + 1,
                  run_id = excluded.run_id, recipients = excluded.recipients, last_error = null, message_id = excluded.message_id
            where r.status = 'failed'
           returning attempts`,
          [target.businessDate, meta.runId ?? null, meta.recipients, token, meta.messageId],
        )
      : await db.query<{ attempts: number }>(
          `insert into ops.alerts_sent as a (alert_key, kind, subject, details, status, claim_token, claimed_at, attempts, sent_at, message_id,
                                             recipients, body_text, body_html, expires_at)
           values ($1, $2, $3, $4, 'sending', $5, now(), 1, null, $6, $7, $8, $9, $10)
           on conflict (alert_key) do update
              set status = 'sending', claim_token = excluded.claim_token, claimed_at = now(), attempts = a.attempts + 1,
                  subject = excluded.subject, details = excluded.details, last_error = null, message_id = excluded.message_id,
                  recipients = coalesce(excluded.recipients, a.recipients), body_text = coalesce(excluded.body_text, a.body_text),
                  body_html = coalesce(excluded.body_html, a.body_html), expires_at = coalesce(a.expires_at, excluded.expires_at)
            where a.status = 'failed' and (a.expires_at is null or a.expires_at > now())
           returning attempts`,
          [
            target.alertKey,
            target.alertKind,
            target.subject,
            JSON.stringify(target.details ?? {}),
            token,
            meta.messageId,
            target.content?.recipients ?? meta.recipients,
            target.content?.text ?? null,
            target.content?.html ?? null,
            target.content?.expiresAt ?? null,
          ],
        );
  if (claimed.rowCount === 1) return { state: 'claimed', token, attempt: claimed.rows[0]!.attempts };

  const row = await readLedgerRow(db, target);
  if (!row) throw new Error(`delivery ledger row for ${tableOf(target).key} vanished during claim`);
  switch (row.status) {
    case 'sent':
      return { state: 'already_sent', messageId: row.message_id, sentAt: row.sent_at };
    case 'unknown':
      return { state: 'unknown', claimedAt: row.claimed_at, messageId: row.message_id, lastError: row.last_error };
    case 'failed':
    case 'expired':
      // A failed row the claim skipped is past its expiry.
      return { state: 'expired' };
    default:
      return { state: 'in_progress', claimedAt: row.claimed_at, attempts: row.attempts };
  }
}

export async function readLedgerRow(db: Queryable, target: DeliveryTarget): Promise<LedgerRow | undefined> {
  const { table, keyColumn, key } = tableOf(target);
  const result = await db.query<LedgerRow>(
    `select status, claim_token, claimed_at, attempts, message_id, sent_at, last_error from ${table} where ${keyColumn} = $1`,
    [key],
  );
  return result.rows[0];
}

/** Records the server's acceptance. Returns false if the claim was lost (settled by an operator). */
export async function markSent(db: Queryable, target: DeliveryTarget, token: string, messageId: string): Promise<boolean> {
  const { table, keyColumn, key } = tableOf(target);
  const result = await db.query(
    `update ${table} set status = 'sent', message_id = $3, sent_at = now(), last_error = null
      where ${keyColumn} = $1 and claim_token = $2 and status = 'sending'`,
    [key, token, messageId],
  );
  return result.rowCount === 1;
}

/**
 * SMTP certainly did not take the message: release the claim so a later attempt may send. An
 * alert also gets the time of its next attempt (the outbox's backoff).
 */
export async function markFailed(db: Queryable, target: DeliveryTarget, token: string, error: string, nextAttemptAt?: Date): Promise<void> {
  const { table, keyColumn, key } = tableOf(target);
  const next = target.kind === 'alert' ? ', next_attempt_at = $4' : '';
  await db.query(
    `update ${table} set status = 'failed', last_error = left($3, 2000)${next}
      where ${keyColumn} = $1 and claim_token = $2 and status = 'sending'`,
    target.kind === 'alert' ? [key, token, error, nextAttemptAt ?? new Date()] : [key, token, error],
  );
}

/** The body went out and no acknowledgement came: the message may be in the mailbox. */
export async function markUnknown(db: Queryable, target: DeliveryTarget, token: string, error: string): Promise<void> {
  const { table, keyColumn, key } = tableOf(target);
  await db.query(
    `update ${table} set status = 'unknown', last_error = left($3, 2000)
      where ${keyColumn} = $1 and claim_token = $2 and status = 'sending'`,
    [key, token, error],
  );
}

/** A 'sending' claim (claimed at `claimedAt`) whose process died: 'unknown' from now on. */
export async function markStaleUnknown(db: Queryable, target: DeliveryTarget, claimedAt: Date): Promise<boolean> {
  const { table, keyColumn, key } = tableOf(target);
  const result = await db.query(
    `update ${table} set status = 'unknown', last_error = 'the process sending it died before recording the outcome'
      where ${keyColumn} = $1 and status = 'sending' and claimed_at = $2`,
    [key, claimedAt],
  );
  return result.rowCount === 1;
}

export type Resolution = 'sent' | 'resend';

/**
 * Settles a delivery whose outcome is not known ('unknown', or 'sending' left by a dead
 * process): 'sent' after the message was found in the mailbox, 'resend' after it was not (the
 * row becomes 'failed', so the next run, or the outbox, sends it). Returns whether a row changed.
 */
export async function resolveDelivery(db: Queryable, target: DeliveryTarget, resolution: Resolution, note: string): Promise<boolean> {
  const { table, keyColumn, key } = tableOf(target);
  const result =
    resolution === 'sent'
      ? await db.query(
          `update ${table} set status = 'sent', sent_at = coalesce(sent_at, now()), resolved_at = now(), resolution = left($2, 2000)
            where ${keyColumn} = $1 and status in ('unknown', 'sending')`,
          [key, note],
        )
      : await db.query(
          `update ${table} set status = 'failed', last_error = left($2, 2000), resolved_at = now(), resolution = left($2, 2000)
                               ${target.kind === 'alert' ? ', next_attempt_at = now()' : ''}
            where ${keyColumn} = $1 and status in ('unknown', 'sending')`,
          [key, note],
        );
  return result.rowCount === 1;
}

/** Former name of resolveDelivery(..., 'resend'): a 'sending' claim left by a crash becomes 'failed'. */
export function releaseStuckClaim(db: Queryable, target: DeliveryTarget): Promise<boolean> {
  return resolveDelivery(db, target, 'resend', 'released by operator');
}
