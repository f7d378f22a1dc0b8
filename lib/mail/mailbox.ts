/**
 * Settling a send whose acknowledgement was lost: when this host can read the folder where the
 * SMTP server stores accepted messages (the local sink's .data/mail, or SMTP_MAILBOX_DIR), look
 * for the message's fixed Message-ID there. Found: it was delivered. Not found after a grace
 * period: the server did not keep it, so sending it again cannot duplicate it.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Config } from '../config/index.ts';

export interface MailboxProbe {
  /** Where it looks, for logs and docs. */
  readonly where: string;
  contains(messageId: string): Promise<boolean>;
}

/** Headers come first; a Message-ID past this many bytes would be a very odd message. */
const HEADER_BYTES = 64 * 1024;

export function mailboxDir(config: Pick<Config, 'SMTP_MAILBOX_DIR' | 'dataDir' | 'managed'>): string | undefined {
  if (config.SMTP_MAILBOX_DIR) return config.SMTP_MAILBOX_DIR;
  return config.managed.smtp ? join(config.dataDir, 'mail') : undefined;
}

/** A probe over a folder of .eml files, or undefined when no mailbox is readable from here. */
export function mailboxProbe(
  config: Pick<Config, 'SMTP_MAILBOX_DIR' | 'dataDir' | 'managed'>,
  options: { graceMs?: number } = {},
): MailboxProbe | undefined {
  const dir = mailboxDir(config);
  return dir ? new EmlFolderProbe(dir, options.graceMs ?? 3_000) : undefined;
}

export class EmlFolderProbe implements MailboxProbe {
  constructor(
    readonly where: string,
    private readonly graceMs: number,
  ) {}

  async contains(messageId: string): Promise<boolean> {
    if (await this.#scan(messageId)) return true;
    // A server still writing the message when the client gave up stores it a moment later.
    await sleep(this.graceMs);
    return this.#scan(messageId);
  }

  async #scan(messageId: string): Promise<boolean> {
    const wanted = `message-id: ${messageId.toLowerCase()}`;
    const files = (await readdir(this.where, { recursive: true }).catch(() => [] as string[]))
      .map(String)
      // Dot files are the sink's partial writes: not (yet) accepted.
      .filter((f) => f.endsWith('.eml') && !f.split('/').pop()!.startsWith('.'));
    for (const file of files) {
      const handle = await open(join(this.where, file), 'r').catch(() => undefined);
      if (!handle) continue;
      try {
        const buffer = Buffer.alloc(HEADER_BYTES);
        const { bytesRead } = await handle.read(buffer, 0, HEADER_BYTES, 0);
        const text = buffer.subarray(0, bytesRead).toString('latin1');
        const headerEnd = text.search(/\r?\n\r?\n/);
        const headers = (headerEnd >= 0 ? text.slice(0, headerEnd) : text).replace(/\r?\n[ \t]+/g, ' ').toLowerCase();
        if (headers.split(/\r?\n/).some((line) => line.trim() === wanted)) return true;
      } finally {
        await handle.close();
      }
    }
    return false;
  }
}
