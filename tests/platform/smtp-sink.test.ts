/**
 * The report and alerts are verified by reading what the mail sink stored: a message sent to
 * the SMTP endpoint must appear, complete, as one .eml file in the mail directory.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';

import { testEndpoints } from '../helpers/services.ts';

async function findMessage(dir: string, marker: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.eml'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      if (text.includes(marker)) return join(dir, file);
    }
    await sleep(100);
  }
  throw new Error(`no .eml containing ${marker} in ${dir} after ${timeoutMs} ms`);
}

describe('mail sink', () => {
  it('stores each message as an .eml file with its headers, body and attachment', async () => {
    const { smtpUrl, mailDir } = testEndpoints();
    const transport = nodemailer.createTransport(smtpUrl);
    const marker = randomUUID();
    const attachment = Buffer.alloc(300 * 1024, 7);
    await transport.sendMail({
      from: 'ShopFlow <reports@shopflow.local>',
      to: 'managers@shopflow.local',
      subject: `sink check ${marker}`,
      text: `body ${marker}`,
      attachments: [{ filename: 'big.bin', content: attachment }],
    });
    transport.close();
    const file = await findMessage(mailDir, marker);
    expect(file).toMatch(/\/\d{4}-\d{2}-\d{2}T[\d-]+Z-[0-9a-f]{8}\.eml$/);
    const parsed = await simpleParser(readFileSync(file));
    expect(parsed.subject).toBe(`sink check ${marker}`);
    expect(parsed.text?.trim()).toBe(`body ${marker}`);
    expect(parsed.attachments[0]?.content.equals(attachment)).toBe(true);
  });
});
