/**
 * sendDailyReport: renders the report for one business date from the marts, saves it as a
 * standalone HTML file under out/reports/, and mails it exactly once per business date.
 * When a gate failed the report is withheld and the gate failure alert goes out instead.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { roleUrl, type Config } from '../lib/config/index.ts';
import { ShopflowError, UsageError, coerceError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { stableMessageId, sendAlert } from '../lib/mail/alert.ts';
import { deliverOnce, DeliveryUnknownError, resolveCommand } from '../lib/mail/deliver.ts';
import { readLedgerRow } from '../lib/mail/ledger.ts';
import { mailboxProbe, type MailboxProbe } from '../lib/mail/mailbox.ts';
import { MailDeliveryError, type MailRetryPolicy, type MailTimeouts } from '../lib/mail/transport.ts';
import { createPool } from '../lib/pg/pool.ts';
import { gatesPassed, type GateSummary } from '../great_expectations/summary.ts';
import { renderGateAlert, sendGateFailureAlert } from './alerts.ts';
import { renderCharts } from './charts/index.ts';
import { formatCount, formatMoney, isIsoDate, shortDate } from './format.ts';
import { renderHtml } from './html.ts';
import type { ReportData } from './model.ts';
import { loadReportData } from './queries.ts';
import { renderText } from './text.ts';

export interface SendDailyReportInput {
  businessDate: string;
  runId?: string;
  gates: GateSummary[];
  dryRun?: boolean;
  now?: Date;
}

export interface SendDailyReportOptions {
  logger?: Logger;
  signal?: AbortSignal;
  retry?: Partial<MailRetryPolicy>;
  timeouts?: Partial<MailTimeouts>;
  /** Settles a lost acknowledgement; default the configured mailbox (lib/mail/mailbox.ts). null: never look. */
  probe?: MailboxProbe | null;
  /** Where HTML files go; default out/reports under the project root. */
  outDir?: string;
}

export interface SendDailyReportResult {
  htmlPath: string;
  sent: boolean;
  alreadySent: boolean;
  messageId?: string;
  /** True when a failed gate withheld the report (the alert went out instead). */
  blocked?: boolean;
}

async function writeAtomic(path: string, content: string): Promise<void> {
  // Unique per call: two renders of one date (concurrent senders) must not share a temp file.
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, content, 'utf8');
  await rename(temporary, path);
}

export function reportSubject(data: ReportData): string {
  const k = data.kpis.current;
  return `ShopFlow daily report — ${shortDate(data.businessDate)}: ${formatMoney(k.revenue)} revenue, ${formatCount(k.orders)} orders`;
}

export async function sendDailyReport(
  config: Config,
  input: SendDailyReportInput,
  options: SendDailyReportOptions = {},
): Promise<SendDailyReportResult> {
  const { businessDate, gates } = input;
  if (!isIsoDate(businessDate)) throw new UsageError(`businessDate must be a date as YYYY-MM-DD (got ${JSON.stringify(businessDate)})`);
  const logger = options.logger?.child({ businessDate });
  const outDir = options.outDir ?? join(config.rootDir, 'out', 'reports');
  await mkdir(outDir, { recursive: true });
  const htmlPath = join(outDir, `${businessDate}.html`);

  if (gates.some((g) => !g.success)) {
    const blockedPath = join(outDir, `${businessDate}.blocked.html`);
    await writeAtomic(blockedPath, renderGateAlert(businessDate, gates).html);
    logger?.warn({ failed: gates.filter((g) => !g.success).map((g) => g.gate) }, 'gate failed: report withheld');
    if (input.dryRun) return { htmlPath: blockedPath, sent: false, alreadySent: false, blocked: true };
    const alert = await sendGateFailureAlert(config, { businessDate, gates }, { logger, signal: options.signal, retry: options.retry });
    return {
      htmlPath: blockedPath,
      sent: false,
      alreadySent: false,
      blocked: true,
      ...(alert.messageId ? { messageId: alert.messageId } : {}),
    };
  }
  if (!input.dryRun && !gatesPassed(gates)) {
    throw new ShopflowError(
      'SHOPFLOW_REPORT_UNCHECKED',
      'refusing to mail a report without gate results: run the gate first (npm run gate) or use --dry-run',
    );
  }

  const probe = options.probe === null ? undefined : (options.probe ?? mailboxProbe(config));
  const ops = input.dryRun
    ? undefined
    : createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-report-ledger', max: 1, logger });
  try {
    if (ops) {
      const row = await readLedgerRow(ops, { kind: 'report', businessDate });
      // 'unknown' without a readable mailbox needs a person; rendering first would only delay saying so.
      if (row?.status === 'unknown' && !probe)
        throw new DeliveryUnknownError({ kind: 'report', businessDate }, row.message_id, row.last_error ?? 'earlier attempt');
      if (row?.status === 'sent') {
        logger?.info({ messageId: row.message_id }, 'report already sent for this business date');
        return { htmlPath, sent: false, alreadySent: true, ...(row.message_id ? { messageId: row.message_id } : {}) };
      }
    }

    const marts = createPool({ connectionString: roleUrl(config, 'bi_reader'), applicationName: 'shopflow-report', max: 2, logger });
    let data: ReportData;
    try {
      data = { ...(await loadReportData(marts, businessDate, input.now ?? new Date())), gates };
    } finally {
      await marts.end();
    }
    const images = renderCharts(data);
    await writeAtomic(htmlPath, renderHtml(data, images, 'data-uri'));
    logger?.info({ htmlPath }, 'report rendered');
    if (!ops) return { htmlPath, sent: false, alreadySent: false };

    try {
      const delivery = await deliverOnce(
        config,
        ops,
        { kind: 'report', businessDate },
        {
          from: config.REPORT_FROM,
          to: config.REPORT_TO,
          subject: reportSubject(data),
          text: renderText(data),
          html: renderHtml(data, images, 'cid'),
          attachments: [...images.values()].map((image) => ({
            filename: image.filename,
            content: image.png,
            contentType: 'image/png',
            cid: image.cid,
          })),
          messageId: stableMessageId('report', businessDate),
          headers: { 'X-ShopFlow-Business-Date': businessDate },
        },
        {
          logger,
          signal: options.signal,
          retry: options.retry,
          timeouts: options.timeouts,
          runId: input.runId ?? null,
          ...(probe ? { probe } : {}),
        },
      );
      return { htmlPath, ...delivery };
    } catch (error) {
      if (error instanceof MailDeliveryError) await alertReportFailed(config, businessDate, error, htmlPath, options, logger);
      if (error instanceof DeliveryUnknownError) await alertReportUnknown(config, businessDate, error, options, logger);
      throw error;
    }
  } finally {
    await ops?.end();
  }
}

/** The report could not be mailed: tell the data team (best effort: SMTP may be down for them too). */
async function alertReportFailed(
  config: Config,
  businessDate: string,
  error: MailDeliveryError,
  htmlPath: string,
  options: SendDailyReportOptions,
  logger?: Logger,
): Promise<void> {
  try {
    await sendAlert(
      config,
      {
        key: `report-failed:${businessDate}`,
        kind: 'report_failed',
        subject: `[ShopFlow] Daily report for ${businessDate} could not be sent`,
        text: `The daily report for ${businessDate} was rendered (${htmlPath}) but SMTP refused it after ${error.attempts} attempt(s):\n${error.message}\n\nThe scheduler tries again later today; the mail server is handed it at most once.\n`,
        details: { businessDate, error: error.message, attempts: error.attempts },
      },
      { logger, signal: options.signal, retry: options.retry, timeouts: options.timeouts },
    );
  } catch (alertError) {
    // Kept in the outbox (ops.alerts_sent, 'failed'): the scheduler delivers it when SMTP is back.
    logger?.error({ err: coerceError(alertError) }, 'could not send the report-failed alert either');
  }
}

/** The report went to the server and the acknowledgement was lost: a person must check the mailbox. */
async function alertReportUnknown(
  config: Config,
  businessDate: string,
  error: DeliveryUnknownError,
  options: SendDailyReportOptions,
  logger?: Logger,
): Promise<void> {
  const target = { kind: 'report', businessDate } as const;
  try {
    await sendAlert(
      config,
      {
        key: `report-unknown:${businessDate}`,
        kind: 'report_unknown',
        subject: `[ShopFlow] Daily report for ${businessDate}: delivery unknown, check the mailbox`,
        text:
          `The daily report for ${businessDate} was handed to the mail server, but its acknowledgement never came back.\n` +
          `It may or may not be in ${config.REPORT_TO}'s mailbox. It is NOT sent again automatically.\n\n` +
          `Look for Message-ID ${error.messageId ?? stableMessageId('report', businessDate)}, then run:\n  ${resolveCommand(target)}\n\n${error.message}\n`,
        details: { businessDate, messageId: error.messageId, error: error.message },
      },
      { logger, signal: options.signal, retry: options.retry, timeouts: options.timeouts },
    );
  } catch (alertError) {
    logger?.error({ err: coerceError(alertError) }, 'could not send the report-unknown alert');
  }
}
