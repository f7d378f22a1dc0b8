/**
 * The one place nodemailer is used: one SMTP session per attempt built from SMTP_URL, retries
 * for failures that certainly left nothing on the server, and an error classification by SMTP
 * reply code and nodemailer error code (never by message text).
 *
 * At most once to the server: once the server has said 354 and the message body started to
 * flow, a failure without an SMTP reply (timeout waiting for the ack, connection dropped) may
 * mean the server stored the message and the ack was lost. Such a send is never retried here:
 * it fails with MailOutcomeUnknownError and the delivery ledger records 'unknown'
 * (docs/report.md, "What is guaranteed").
 */
import { Readable } from 'node:stream';

import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

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

/** How long one SMTP session may wait: to connect, for the greeting, and for any reply (the ack after DATA included). */
export interface MailTimeouts {
  connectionMs: number;
  greetingMs: number;
  socketMs: number;
}

export const DEFAULT_MAIL_TIMEOUTS: MailTimeouts = { connectionMs: 10_000, greetingMs: 10_000, socketMs: 30_000 };

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

/**
 * The message body went to the server but no reply came back (timeout or dropped connection
 * after DATA): the server may have stored it. Never retried automatically.
 */
export class MailOutcomeUnknownError extends ShopflowError {
  constructor(
    message: string,
    readonly messageId: string,
    cause: unknown,
  ) {
    super('SHOPFLOW_MAIL_OUTCOME_UNKNOWN', message, { cause, canRetry: false });
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

export interface SendOptions {
  logger?: Logger;
  signal?: AbortSignal;
  retry?: Partial<MailRetryPolicy>;
  timeouts?: Partial<MailTimeouts>;
}

interface Endpoint {
  host: string;
  port: number;
  secure: boolean;
  auth?: { user: string; pass: string };
}

function endpointOf(smtpUrl: string): Endpoint {
  const url = new URL(smtpUrl);
  const secure = url.protocol === 'smtps:';
  return {
    host: url.hostname,
    port: Number(url.port || (secure ? 465 : 25)),
    secure,
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
  };
}

interface Composed {
  raw: Buffer;
  envelope: { from: string; to: string[] };
  messageId: string;
}

async function compose(message: MailMessage): Promise<Composed> {
  const node = new MailComposer({
    from: message.from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    messageId: message.messageId,
    headers: message.headers,
    attachments: message.attachments?.map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType, cid: a.cid })),
  }).compile();
  const raw = await new Promise<Buffer>((resolve, reject) => node.build((err, buffer) => (err ? reject(err) : resolve(buffer))));
  const envelope = node.getEnvelope();
  return { raw, envelope: { from: envelope.from || '', to: envelope.to }, messageId: node.messageId() };
}

/** The outcome of one SMTP session: delivered, refused or failed before the body went out, or unknown. */
type AttemptError = Error & { handedOver: boolean };

function attempt(endpoint: Endpoint, composed: Composed, timeouts: MailTimeouts, logger?: Logger): Promise<SentMail> {
  return new Promise((resolve, reject) => {
    const connection = new SMTPConnection({
      host: endpoint.host,
      port: endpoint.port,
      secure: endpoint.secure,
      connectionTimeout: timeouts.connectionMs,
      greetingTimeout: timeouts.greetingMs,
      socketTimeout: timeouts.socketMs,
    });
    let handedOver = false;
    let settled = false;
    const finish = (error: Error | null, info?: SentMail) => {
      if (settled) return;
      settled = true;
      connection.close();
      if (error) reject(Object.assign(error, { handedOver }) as AttemptError);
      else resolve(info!);
    };
    // Errors arrive both here and through the callbacks; whichever comes first decides.
    connection.on('error', (err: Error) => {
      logger?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'smtp connection error');
      finish(err);
    });
    connection.on('end', () => finish(Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' })));
    connection.connect((connectError) => {
      if (connectError) return finish(connectError);
      const send = () => {
        // The connection pipes the body only after the server answered DATA with 354: from the
        // first read on, the server may end up holding the message whatever happens next.
        let offset = 0;
        const body = new Readable({
          read() {
            handedOver = true;
            this.push(offset === 0 ? composed.raw : null);
            offset = composed.raw.length;
          },
        });
        connection.send(composed.envelope, body, (sendError, info) => {
          if (sendError) return finish(sendError);
          finish(null, { messageId: composed.messageId, accepted: info.accepted.map(String), rejected: info.rejected.map(String) });
        });
      };
      if (!endpoint.auth) return send();
      connection.login(endpoint.auth, (loginError) => (loginError ? finish(loginError) : send()));
    });
  });
}

/**
 * Sends one message. Failures that certainly left nothing on the server (connection refused,
 * a 4xx reply) are retried with capped, jittered backoff, each attempt on a fresh connection; a
 * failure after the body went out without a reply throws MailOutcomeUnknownError at once.
 */
export async function sendMail(config: Pick<Config, 'SMTP_URL'>, message: MailMessage, options: SendOptions = {}): Promise<SentMail> {
  const policy = { ...DEFAULT_MAIL_RETRY, ...options.retry };
  const timeouts = { ...DEFAULT_MAIL_TIMEOUTS, ...options.timeouts };
  const endpoint = endpointOf(config.SMTP_URL);
  const composed = await compose(message);
  let attempts = 0;
  try {
    return await withRetry(
      async () => {
        attempts++;
        return attempt(endpoint, composed, timeouts, options.logger);
      },
      {
        ...policy,
        signal: options.signal,
        retryable: (error) => !isUnknownOutcome(error) && isTransientMailError(error),
        onRetry: (err, n, delayMs) =>
          options.logger?.warn(
            { err, attempt: n, delayMs, subject: message.subject },
            'smtp send failed before the message was handed over, retrying',
          ),
      },
    );
  } catch (thrown) {
    const cause = coerceError(thrown);
    if (isUnknownOutcome(thrown)) {
      throw new MailOutcomeUnknownError(
        `"${message.subject}" (${composed.messageId}) went to ${redactUrl(config.SMTP_URL)} but no acknowledgement came back (${cause.message}): ` +
          'the server may have stored it, so it is not sent again automatically',
        composed.messageId,
        cause,
      );
    }
    throw new MailDeliveryError(
      `could not send "${message.subject}" via ${redactUrl(config.SMTP_URL)} after ${attempts} attempt(s): ${cause.message}`,
      attempts,
      cause,
    );
  }
}

/** The body went out and the server gave no reply: it may hold the message. A reply code (4xx/5xx) is a definite refusal. */
function isUnknownOutcome(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { handedOver, responseCode } = error as { handedOver?: unknown; responseCode?: unknown };
  return handedOver === true && typeof responseCode !== 'number';
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
