/**
 * The SMTP transport: transient refusals (4xx, connection refused) are retried with backoff,
 * permanent ones (5xx) fail at once, and every attempt is counted in the error. Once the body
 * went out, a missing acknowledgement is never retried: a server that stored the message and
 * answered late received the same report four times before.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { MailDeliveryError, MailOutcomeUnknownError, isTransientMailError, sendMail } from '../../../lib/mail/transport.ts';
import { closedPort, startCaptureSmtp, type CaptureSmtp } from '../../report/support/smtp.ts';

const FAST = { minDelayMs: 10, maxDelayMs: 20 };
const servers: CaptureSmtp[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const message = { from: 'a@shopflow.local', to: 'b@shopflow.local', subject: 'hello', text: 'body' };

describe('isTransientMailError', () => {
  it('treats 4xx replies and connection failures as transient, 5xx and others as permanent', () => {
    expect(isTransientMailError({ responseCode: 451 })).toBe(true);
    expect(isTransientMailError({ responseCode: 421, code: 'EENVELOPE' })).toBe(true);
    expect(isTransientMailError({ responseCode: 550, code: 'EMESSAGE' })).toBe(false);
    expect(isTransientMailError({ code: 'ECONNECTION' })).toBe(true);
    expect(isTransientMailError({ code: 'EAUTH' })).toBe(false);
    expect(isTransientMailError(new Error('plain'))).toBe(false);
  });
});

describe('sendMail', () => {
  it('retries a 451 refusal and delivers exactly one message', async () => {
    const smtp = await startCaptureSmtp({ refuseFirst: 2, refuseCode: 451 });
    servers.push(smtp);
    const sent = await sendMail(
      { SMTP_URL: smtp.url },
      { ...message, messageId: '<fixed.1@shopflow.local>' },
      { retry: { ...FAST, maxAttempts: 4 } },
    );
    expect(smtp.attempts()).toBe(3);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.messageId).toBe('<fixed.1@shopflow.local>');
    expect(sent.messageId).toBe('<fixed.1@shopflow.local>');
  });

  it('does not retry a permanent 550 refusal', async () => {
    const smtp = await startCaptureSmtp({ refuseFirst: 10, refuseCode: 550 });
    servers.push(smtp);
    const error = await sendMail({ SMTP_URL: smtp.url }, message, { retry: { ...FAST, maxAttempts: 4 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailDeliveryError);
    expect((error as MailDeliveryError).attempts).toBe(1);
    expect((error as MailDeliveryError).canRetry).toBe(false);
    expect(smtp.messages).toHaveLength(0);
  });

  it('gives up on a closed port after the configured attempts, with a retryable error naming the server', async () => {
    const port = await closedPort();
    const error = await sendMail({ SMTP_URL: `smtp://127.0.0.1:${port}` }, message, { retry: { ...FAST, maxAttempts: 3 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MailDeliveryError);
    expect((error as MailDeliveryError).attempts).toBe(3);
    expect((error as MailDeliveryError).canRetry).toBe(true);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });
});

describe('sendMail after the body went out', () => {
  const TIMEOUTS = { socketMs: 1_000 };

  it.each([
    ['delay-ack', 1],
    ['drop-after-store', 1],
    ['close-mid-data', 0],
  ] as const)('%s: one DATA attempt, no retry, outcome unknown (%i stored)', async (fault, stored) => {
    const smtp = await startCaptureSmtp({ faults: [fault], ackDelayMs: 3_000 });
    servers.push(smtp);
    const error = await sendMail(
      { SMTP_URL: smtp.url },
      { ...message, messageId: `<unknown.${fault}@shopflow.local>` },
      { retry: { ...FAST, maxAttempts: 4 }, timeouts: TIMEOUTS },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailOutcomeUnknownError);
    expect((error as MailOutcomeUnknownError).messageId).toBe(`<unknown.${fault}@shopflow.local>`);
    expect((error as MailOutcomeUnknownError).canRetry).toBe(false);
    expect(smtp.attempts()).toBe(1);
    expect(smtp.messages).toHaveLength(stored);
  });

  it('a 451 after the body (a definite refusal) is retried like any 4xx', async () => {
    const smtp = await startCaptureSmtp({ faults: ['refuse', 'ok'] });
    servers.push(smtp);
    await sendMail({ SMTP_URL: smtp.url }, message, { retry: { ...FAST, maxAttempts: 3 }, timeouts: TIMEOUTS });
    expect(smtp.attempts()).toBe(2);
    expect(smtp.messages).toHaveLength(1);
  });

  it('SMTP down (421 at the greeting) is retried and fails without anything handed over', async () => {
    const smtp = await startCaptureSmtp();
    servers.push(smtp);
    smtp.setDown(true);
    const error = await sendMail({ SMTP_URL: smtp.url }, message, { retry: { ...FAST, maxAttempts: 2 }, timeouts: TIMEOUTS }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MailDeliveryError);
    expect((error as MailDeliveryError).attempts).toBe(2);
    expect(smtp.attempts()).toBe(0);
  });
});
