/**
 * The one place nodemailer is used: an SMTP transport built from SMTP_URL, a send with
 * retries for transient failures, and an error classification by SMTP reply code and
 * nodemailer error code (never by message text).
 */
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';

import type { Config } from '../config/index.ts';
import { ShopflowError, coerceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { withRetry } from '../retry.ts';

export interface MailAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
  /** Content-ID for inline images referenced as `cid:<cid>` in the HTML part. */
  cid?: string;
}

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  attachments?: MailAttachment[];
  /** A stable Message-ID lets mail clients recognise a resend of the same message as one. */
  messageId?: string;
  headers?: Record<string, string>;
}

export interface SentMail {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

export interface MailRetryPolicy {
  maxAttempts: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_MAIL_RETRY: MailRetryPolicy = { maxAttempts: 4, minDelayMs: 1_000, maxDelayMs: 15_000 };

/** The SMTP server refused or could not be reached after every attempt. */
export class MailDeliveryError extends ShopflowError {
  constructor(
    message: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super('SHOPFLOW_MAIL_FAILED', message, { cause, canRetry: isTransientMailError(cause) });
  }
}

// nodemailer error codes that mean "the connection failed, try again later".
const TRANSIENT_MAIL_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/** 4xx replies are temporary by definition (RFC 5321 4.2.1); 5xx are permanent. */
export function isTransientMailError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { responseCode, code } = error as { responseCode?: unknown; code?: unknown };
  if (typeof responseCode === 'number') return responseCode >= 400 && responseCode < 500;
  return typeof code === 'string' && TRANSIENT_MAIL_CODES.has(code);
}

export function createTransport(config: Pick<Config, 'SMTP_URL'>): Transporter {
  const url = new URL(config.SMTP_URL);
  const secure = url.protocol === 'smtps:';
  return nodemailer.createTransport({
    host: url.hostname,
    port: Number(url.port || (secure ? 465 : 25)),
    secure,
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    // Bounded waits: a stalled server must fail an attempt, not hang the morning run.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}

export interface SendOptions {
  logger?: Logger;
  signal?: AbortSignal;
  retry?: Partial<MailRetryPolicy>;
}

/**
 * Sends one message, retrying transient failures with capped, jittered backoff. Each attempt
 * uses a fresh transport so a half-open connection from a failed attempt is never reused.
 */
export async function sendMail(config: Pick<Config, 'SMTP_URL'>, message: MailMessage, options: SendOptions = {}): Promise<SentMail> {
  const policy = { ...DEFAULT_MAIL_RETRY, ...options.retry };
  let attempts = 0;
  try {
    return await withRetry(
      async () => {
        attempts++;
        const transport = createTransport(config);
        transport.on('error', (err) => options.logger?.warn({ err }, 'smtp transport error'));
        try {
          const info = (await transport.sendMail({
            from: message.from,
            to: message.to,
            subject: message.subject,
            text: message.text,
            html: message.html,
            messageId: message.messageId,
            headers: message.headers,
            attachments: message.attachments?.map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType, cid: a.cid })),
          })) as { messageId: string; accepted: unknown[]; rejected: unknown[] };
          return { messageId: info.messageId, accepted: info.accepted.map(String), rejected: info.rejected.map(String) };
        } finally {
          transport.close();
        }
      },
      {
        ...policy,
        signal: options.signal,
        retryable: isTransientMailError,
        onRetry: (err, attempt, delayMs) => options.logger?.warn({ err, attempt, delayMs, subject: message.subject }, 'smtp send failed, retrying'),
      },
    );
  } catch (thrown) {
    const cause = coerceError(thrown);
    throw new MailDeliveryError(`could not send "${message.subject}" via ${redactUrl(config.SMTP_URL)} after ${attempts} attempt(s): ${cause.message}`, attempts, cause);
  }
}

export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(invalid url)';
  }
}
