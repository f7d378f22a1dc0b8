/**
 * Alerts to the data team (ALERT_TO), each sent exactly once per alert key: the scheduler
 * uses a key like `job-failed:<job>:<business date>` so a retried run does not page twice.
 */
import type { Config } from '../config/index.ts';
import { roleUrl } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { createPool } from '../pg/pool.ts';
import { deliverOnce, type DeliveryResult } from './deliver.ts';
import type { MailRetryPolicy } from './transport.ts';

export interface AlertInput {
  /** Exactly-once key (ops.alerts_sent.alert_key). */
  key: string;
  /** Short category, e.g. gate_failed, report_failed, job_failed. */
  kind: string;
  subject: string;
  text: string;
  html?: string;
  /** Stored with the ledger row for later inspection. */
  details?: unknown;
}

export interface AlertOptions {
  logger?: Logger;
  signal?: AbortSignal;
  retry?: Partial<MailRetryPolicy>;
}

export async function sendAlert(config: Config, alert: AlertInput, options: AlertOptions = {}): Promise<DeliveryResult> {
  const pool = createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-alert', max: 1, logger: options.logger });
  try {
    return await deliverOnce(
      config,
      pool,
      { kind: 'alert', alertKey: alert.key, alertKind: alert.kind, subject: alert.subject, details: alert.details ?? {} },
      {
        from: config.REPORT_FROM,
        to: config.ALERT_TO,
        subject: alert.subject,
        text: alert.text,
        html: alert.html,
        messageId: stableMessageId('alert', alert.key),
        headers: { 'X-ShopFlow-Alert': alert.kind },
      },
      options,
    );
  } finally {
    await pool.end();
  }
}

/** Same key, same Message-ID: if the one unavoidable window ever sends twice, clients can fold them. */
export function stableMessageId(kind: string, key: string): string {
  const safe = key.replace(/[^A-Za-z0-9._-]+/g, '.');
  return `<${kind}.${safe}@shopflow.local>`;
}
