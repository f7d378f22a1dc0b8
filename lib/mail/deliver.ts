/**
 * Claim -> send -> mark: one message handed to the SMTP server at most once per ledger key,
 * unless a check of the mailbox proves the earlier hand-over did not stick (ledger.ts has the
 * protocol, docs/report.md what is guaranteed).
 */
import type pg from 'pg';

import type { Config } from '../config/index.ts';
import { ShopflowError, coerceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  claimDelivery,
  describeTarget,
  markFailed,
  markSent,
  markStaleUnknown,
  markUnknown,
  resolveDelivery,
  type DeliveryTarget,
} from './ledger.ts';
import type { MailboxProbe } from './mailbox.ts';
import {
  MailDeliveryError,
  MailOutcomeUnknownError,
  sendMail,
  type MailMessage,
  type MailRetryPolicy,
  type MailTimeouts,
} from './transport.ts';

export interface DeliveryResult {
  sent: boolean;
  alreadySent: boolean;
  messageId?: string;
  /** An alert that was still undelivered when its expiry passed. */
  expired?: boolean;
}

/** Another process holds the claim, or one died mid-send: sending now could duplicate. */
export class DeliveryInProgressError extends ShopflowError {
  constructor(target: DeliveryTarget, claimedAt: Date | null) {
    super(
      'SHOPFLOW_DELIVERY_IN_PROGRESS',
      `delivery of ${describeTarget(target)} was claimed at ${claimedAt?.toISOString() ?? '?'} and not finished; if no process is sending it, ` +
        `check the mailbox, then settle it: ${resolveCommand(target)}`,
    );
  }
}

/** The message went to the server and its acknowledgement was lost: it may be in the mailbox. */
export class DeliveryUnknownError extends ShopflowError {
  constructor(
    readonly target: DeliveryTarget,
    readonly messageId: string | null,
    detail: string,
  ) {
    super(
      'SHOPFLOW_DELIVERY_UNKNOWN',
      `${describeTarget(target)} was handed to the mail server but its acknowledgement was lost (${detail}); it is not sent again automatically. ` +
        `Look for Message-ID ${messageId ?? '?'} in the mailbox, then: ${resolveCommand(target)}`,
    );
  }
}

export function resolveCommand(target: DeliveryTarget): string {
  const what = target.kind === 'report' ? `--date ${target.businessDate}` : `--alert '${target.alertKey}'`;
  return `npm run report -- --resolve sent ${what} (it arrived) or --resolve resend ${what} (it did not)`;
}

export interface DeliverOptions {
  logger?: Logger;
  signal?: AbortSignal;
  retry?: Partial<MailRetryPolicy>;
  timeouts?: Partial<MailTimeouts>;
  runId?: string | null;
  /** Settles a lost acknowledgement by looking in the mailbox; without it the row stays 'unknown'. */
  probe?: MailboxProbe;
  /** When an alert whose send failed is tried again (the outbox's backoff); default: now. */
  nextAttemptAt?: (attempt: number) => Date;
  /**
   * A 'sending' claim older than this was left by a process that died mid-send (no live send
   * takes so long: attempts x timeouts): it is treated as 'unknown'. Default 15 minutes.
   */
  staleClaimMs?: number;
}

export const DEFAULT_STALE_CLAIM_MS = 15 * 60_000;

type SendConfig = Pick<Config, 'SMTP_URL'> & Partial<Pick<Config, 'SMTP_TIMEOUT_MS'>>;

/** One re-send after the mailbox proved the first hand-over missing; more would suggest a broken server. */
const MAX_PROBED_RESENDS = 1;

export async function deliverOnce(
  config: SendConfig,
  db: Pick<pg.Pool, 'query'>,
  target: DeliveryTarget,
  message: MailMessage & { messageId: string },
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  const key = describeTarget(target);
  const timeouts = { ...(config.SMTP_TIMEOUT_MS ? { socketMs: config.SMTP_TIMEOUT_MS } : {}), ...options.timeouts };
  for (let resends = 0; ; resends++) {
    const claim = await claimDelivery(db, target, { recipients: message.to, messageId: message.messageId, runId: options.runId });
    if (claim.state === 'already_sent') {
      options.logger?.info({ key, messageId: claim.messageId }, 'already sent, not sending again');
      return { sent: false, alreadySent: true, ...(claim.messageId ? { messageId: claim.messageId } : {}) };
    }
    if (claim.state === 'expired') {
      options.logger?.warn({ key }, 'not sent: the alert expired undelivered');
      return { sent: false, alreadySent: false, expired: true };
    }
    if (claim.state === 'in_progress') {
      const staleMs = options.staleClaimMs ?? DEFAULT_STALE_CLAIM_MS;
      if (!claim.claimedAt || Date.now() - claim.claimedAt.getTime() < staleMs || !(await markStaleUnknown(db, target, claim.claimedAt))) {
        throw new DeliveryInProgressError(target, claim.claimedAt);
      }
      options.logger?.warn({ key, claimedAt: claim.claimedAt }, 'a claim left by a process that died mid-send: delivery unknown');
      if (resends < MAX_PROBED_RESENDS && (await settleByProbe(db, target, message.messageId, options))) continue;
      throw new DeliveryUnknownError(
        target,
        message.messageId,
        `the process sending it at ${claim.claimedAt.toISOString()} died before recording the outcome`,
      );
    }
    if (claim.state === 'unknown') {
      // An earlier hand-over lost its ack: the mailbox may settle it now.
      if (resends < MAX_PROBED_RESENDS && (await settleByProbe(db, target, message.messageId, options))) continue;
      throw new DeliveryUnknownError(target, claim.messageId, claim.lastError ?? 'earlier attempt');
    }

    let info;
    try {
      info = await sendMail(config, message, { logger: options.logger, signal: options.signal, retry: options.retry, timeouts });
    } catch (error) {
      if (error instanceof MailOutcomeUnknownError) {
        await markUnknown(db, target, claim.token, error.message);
        options.logger?.error({ key, messageId: message.messageId }, 'handed over but not acknowledged: delivery unknown');
        if (resends < MAX_PROBED_RESENDS && (await settleByProbe(db, target, message.messageId, options))) continue;
        throw new DeliveryUnknownError(target, message.messageId, coerceError(error.cause).message);
      }
      const attempts = error instanceof MailDeliveryError ? error.attempts : 1;
      await markFailed(db, target, claim.token, coerceError(error).message, options.nextAttemptAt?.(claim.attempt + attempts - 1));
      throw error;
    }
    const marked = await markSent(db, target, claim.token, info.messageId);
    if (!marked) options.logger?.warn({ key }, 'sent, but the claim had been settled meanwhile; ledger not updated');
    options.logger?.info({ key, messageId: info.messageId, attempt: claim.attempt }, 'sent');
    return { sent: true, alreadySent: false, messageId: info.messageId };
  }
}

/**
 * Looks for the message in the mailbox. Found: the row becomes 'sent' (returns true: the next
 * claim reports it as already sent). Not found: 'failed', so the next claim sends it again.
 * No probe: nothing is decided (false).
 */
async function settleByProbe(
  db: Pick<pg.Pool, 'query'>,
  target: DeliveryTarget,
  messageId: string,
  options: DeliverOptions,
): Promise<boolean> {
  if (!options.probe) return false;
  const found = await options.probe.contains(messageId);
  const note = found
    ? `found ${messageId} in ${options.probe.where}`
    : `${messageId} not in ${options.probe.where}: the server did not keep it`;
  const settled = await resolveDelivery(db, target, found ? 'sent' : 'resend', note);
  options.logger?.warn(
    { key: describeTarget(target), found, where: options.probe.where },
    found ? 'mailbox check: it was delivered' : 'mailbox check: not delivered, sending again',
  );
  return settled;
}
