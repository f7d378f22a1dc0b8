/**
 * Claim -> send -> mark: one message delivered at most once per ledger key (see ledger.ts
 * for the protocol and its one unavoidable window).
 */
import type pg from 'pg';

import type { Config } from '../config/index.ts';
import { ShopflowError, coerceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { claimDelivery, markFailed, markSent, type DeliveryTarget } from './ledger.ts';
import { sendMail, type MailMessage, type MailRetryPolicy } from './transport.ts';

export interface DeliveryResult {
  sent: boolean;
  alreadySent: boolean;
  messageId?: string;
}

/** Another process holds the claim, or one died mid-send: sending now could duplicate. */
export class DeliveryInProgressError extends ShopflowError {
  constructor(key: string, claimedAt: Date | null) {
    super(
      'SHOPFLOW_DELIVERY_IN_PROGRESS',
      `delivery of ${key} was claimed at ${claimedAt?.toISOString() ?? '?'} and not finished; if no process is sending it, ` +
        'check the mailbox, then release the claim (npm run report -- --release --date ...) to send again',
    );
  }
}

export interface DeliverOptions {
  logger?: Logger;
  signal?: AbortSignal;
  retry?: Partial<MailRetryPolicy>;
  runId?: string | null;
}

export async function deliverOnce(
  config: Pick<Config, 'SMTP_URL'>,
  db: Pick<pg.Pool, 'query'>,
  target: DeliveryTarget,
  message: MailMessage,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  const key = target.kind === 'report' ? `report ${target.businessDate}` : `alert ${target.alertKey}`;
  const claim = await claimDelivery(db, target, { recipients: message.to, runId: options.runId });
  if (claim.state === 'already_sent') {
    options.logger?.info({ key, messageId: claim.messageId }, 'already sent, not sending again');
    return { sent: false, alreadySent: true, ...(claim.messageId ? { messageId: claim.messageId } : {}) };
  }
  if (claim.state === 'in_progress') throw new DeliveryInProgressError(key, claim.claimedAt);

  let info;
  try {
    info = await sendMail(config, message, { logger: options.logger, signal: options.signal, retry: options.retry });
  } catch (error) {
    await markFailed(db, target, claim.token, coerceError(error).message);
    throw error;
  }
  const marked = await markSent(db, target, claim.token, info.messageId);
  if (!marked) options.logger?.warn({ key }, 'sent, but the claim had been released meanwhile; ledger not updated');
  options.logger?.info({ key, messageId: info.messageId, attempt: claim.attempt }, 'sent');
  return { sent: true, alreadySent: false, messageId: info.messageId };
}
