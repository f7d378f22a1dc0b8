/**
 * Alerts to the data team (ALERT_TO), handed to SMTP at most once per alert key (the scheduler
 * uses keys like `job-failed:<job>:<business date>` so a retried run does not page twice), and
 * delivered at least once while the alert is fresh: ops.alerts_sent is also the outbox. An
 * alert SMTP did not take is kept with its content and retried with capped backoff by
 * flushAlertOutbox (the scheduler calls it every tick) until it is delivered or expires.
 */
import type pg from 'pg';

import type { Config } from '../config/index.ts';
import { roleUrl } from '../config/index.ts';
import { coerceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createPool } from '../pg/pool.ts';
import { backoffDelay } from '../retry.ts';
import { deliverOnce, DeliveryUnknownError, type DeliveryResult } from './deliver.ts';
import { mailboxProbe, type MailboxProbe } from './mailbox.ts';
import { isTransientMailError, MailDeliveryError, type MailRetryPolicy, type MailTimeouts } from './transport.ts';

export interface AlertInput {
  /** At-most-once key (ops.alerts_sent.alert_key). */
  key: string;
  /** Short category, e.g. gate_failed, report_failed, job_failed. */
  kind: string;
  subject: string;
  text: string;
  html?: string;
  /** Stored with the ledger row for later inspection. */
  details?: unknown;
}

/** How the outbox retries: capped exponential backoff, and when an alert is given up. */
export interface OutboxPolicy {
  minDelayMs: number;
  maxDelayMs: number;
  /** An alert not delivered this long after it was raised expires (status 'expired'). */
  ttlMs: number;
}

export const DEFAULT_OUTBOX_POLICY: OutboxPolicy = { minDelayMs: 30_000, maxDelayMs: 30 * 60_000, ttlMs: 24 * 3_600_000 };

export interface AlertOptions {
  logger?: Logger;
  signal?: AbortSignal;
  retry?: Partial<MailRetryPolicy>;
  timeouts?: Partial<MailTimeouts>;
  outbox?: Partial<OutboxPolicy>;
  /** Default: the configured mailbox (mailbox.ts), if any. null: never look. */
  probe?: MailboxProbe | null;
}

type AlertConfig = Pick<Config, 'SMTP_URL' | 'SMTP_TIMEOUT_MS' | 'SMTP_MAILBOX_DIR' | 'dataDir' | 'managed' | 'REPORT_FROM' | 'ALERT_TO'> &
  Parameters<typeof roleUrl>[0];

function outboxPolicy(options: AlertOptions): OutboxPolicy {
  return { ...DEFAULT_OUTBOX_POLICY, ...options.outbox };
}

function probeOf(config: AlertConfig, options: AlertOptions): MailboxProbe | undefined {
  return options.probe === null ? undefined : (options.probe ?? mailboxProbe(config));
}

async function deliverAlert(
  config: AlertConfig,
  pool: Pick<pg.Pool, 'query'>,
  alert: AlertInput & { recipients: string },
  options: AlertOptions,
): Promise<DeliveryResult> {
  const policy = outboxPolicy(options);
  const probe = probeOf(config, options);
  return deliverOnce(
    config,
    pool,
    {
      kind: 'alert',
      alertKey: alert.key,
      alertKind: alert.kind,
      subject: alert.subject,
      details: alert.details ?? {},
      content: {
        recipients: alert.recipients,
        text: alert.text,
        ...(alert.html ? { html: alert.html } : {}),
        expiresAt: new Date(Date.now() + policy.ttlMs),
      },
    },
    {
      from: config.REPORT_FROM,
      to: alert.recipients,
      subject: alert.subject,
      text: alert.text,
      html: alert.html,
      messageId: stableMessageId('alert', alert.key),
      headers: { 'X-ShopFlow-Alert': alert.kind },
    },
    {
      logger: options.logger,
      signal: options.signal,
      retry: options.retry,
      timeouts: options.timeouts,
      ...(probe ? { probe } : {}),
      nextAttemptAt: (attempt) => new Date(Date.now() + backoffDelay(attempt, policy)),
    },
  );
}

export async function sendAlert(config: AlertConfig, alert: AlertInput, options: AlertOptions = {}): Promise<DeliveryResult> {
  const pool = createPool({
    connectionString: roleUrl(config, 'ops_writer'),
    applicationName: 'shopflow-alert',
    max: 1,
    logger: options.logger,
  });
  try {
    return await deliverAlert(config, pool, { ...alert, recipients: config.ALERT_TO }, options);
  } finally {
    await pool.end();
  }
}

/**
 * Puts an alert in the outbox without trying SMTP now (used once SMTP is known to be down, so a
 * burst of alerts is recorded at once instead of each waiting out its own retries). Returns
 * false when the key is already in the ledger (queued, sent or unknown).
 */
export async function queueAlert(
  config: Pick<Config, 'ALERT_TO'>,
  db: Pick<pg.Pool, 'query'>,
  alert: AlertInput,
  options: Pick<AlertOptions, 'outbox'> = {},
): Promise<boolean> {
  const policy = outboxPolicy(options);
  const { rowCount } = await db.query(
    `insert into ops.alerts_sent (alert_key, kind, subject, details, status, attempts, message_id, recipients, body_text, body_html,
                                  next_attempt_at, expires_at, last_error)
     values ($1, $2, $3, $4, 'failed', 0, $5, $6, $7, $8, now(), now() + make_interval(secs => $9), 'queued while SMTP was down')
     on conflict (alert_key) do nothing`,
    [
      alert.key,
      alert.kind,
      alert.subject,
      JSON.stringify(alert.details ?? {}),
      stableMessageId('alert', alert.key),
      config.ALERT_TO,
      alert.text,
      alert.html ?? null,
      policy.ttlMs / 1000,
    ],
  );
  return rowCount === 1;
}

export interface OutboxFlush {
  delivered: number;
  failed: number;
  unknown: number;
  expired: number;
}

/**
 * Sends again what the outbox holds: alerts whose last attempt failed and whose backoff has
 * passed, oldest first, and settles 'unknown' ones through the mailbox when it is readable.
 * Alerts past their expiry become 'expired'. Stops at the first sign that SMTP is down.
 */
export async function flushAlertOutbox(
  config: AlertConfig,
  db: Pick<pg.Pool, 'query'>,
  options: AlertOptions & { limit?: number } = {},
): Promise<OutboxFlush> {
  const result: OutboxFlush = { delivered: 0, failed: 0, unknown: 0, expired: 0 };
  const expired = await db.query(`update ops.alerts_sent set status = 'expired' where status = 'failed' and expires_at <= now()`);
  result.expired = expired.rowCount ?? 0;
  if (result.expired > 0)
    options.logger?.warn({ expired: result.expired }, 'alerts expired undelivered (see ops.alerts_sent where status = expired)');
  const probe = probeOf(config, options);
  const { rows } = await db.query<{
    alert_key: string;
    kind: string;
    subject: string;
    details: unknown;
    recipients: string | null;
    body_text: string;
    body_html: string | null;
  }>(
    `select alert_key, kind, subject, details, recipients, body_text, body_html
       from ops.alerts_sent
      where body_text is not null
        and ((status = 'failed' and coalesce(next_attempt_at, now()) <= now() and (expires_at is null or expires_at > now()))
             or (status = 'unknown' and $2))
      order by coalesce(next_attempt_at, claimed_at)
      limit $1`,
    [options.limit ?? 50, probe !== undefined],
  );
  for (const row of rows) {
    try {
      const delivery = await deliverAlert(
        config,
        db,
        {
          key: row.alert_key,
          kind: row.kind,
          subject: row.subject,
          text: row.body_text,
          ...(row.body_html ? { html: row.body_html } : {}),
          details: row.details,
          recipients: row.recipients ?? config.ALERT_TO,
        },
        // One attempt per flush: the outbox's own backoff spaces the retries.
        { ...options, retry: { ...options.retry, maxAttempts: 1 } },
      );
      if (delivery.sent || delivery.alreadySent) result.delivered++;
    } catch (error) {
      if (error instanceof DeliveryUnknownError) {
        result.unknown++;
        continue;
      }
      result.failed++;
      options.logger?.warn({ err: coerceError(error), key: row.alert_key }, 'outbox: alert still not delivered');
      if (error instanceof MailDeliveryError && isTransientMailError(error.cause)) break;
    }
  }
  if (result.delivered > 0) options.logger?.info({ delivered: result.delivered }, 'outbox: delivered alerts that had failed before');
  return result;
}

/** Same key, same Message-ID: the mailbox check finds it, and clients fold a manual resend. */
export function stableMessageId(kind: string, key: string): string {
  const safe = key.replace(/[^A-Za-z0-9._-]+/g, '.');
  return `<${kind}.${safe}@shopflow.local>`;
}
