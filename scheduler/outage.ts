/**
 * Database outages that outlast their retries: an alert once the database (and with it the
 * alert ledger) is reachable again. The daemon tracks an outage in memory; a `--once` run that
 * gave up leaves a note in <data dir>/scheduler/outage.json for whichever scheduler process
 * reaches the database next (the note survives the process, the alert key makes it once).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Config } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { AlertInput } from '../lib/mail/alert.ts';

export interface OutageNote {
  since: string;
  until?: string;
  error: string;
  /** Who gave up: e.g. `--once report`, or the daemon. */
  who: string;
}

export function outageNotePath(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'scheduler', 'outage.json');
}

export async function writeOutageNote(config: Pick<Config, 'dataDir'>, note: OutageNote): Promise<void> {
  const path = outageNotePath(config);
  await mkdir(join(path, '..'), { recursive: true });
  // Keep the earliest start if an older note is still waiting.
  const previous = await readOutageNote(config);
  await writeFile(path, `${JSON.stringify(previous ? { ...note, since: previous.since } : note)}\n`, 'utf8');
}

async function readOutageNote(config: Pick<Config, 'dataDir'>): Promise<OutageNote | undefined> {
  try {
    return JSON.parse(await readFile(outageNotePath(config), 'utf8')) as OutageNote;
  } catch {
    return undefined;
  }
}

export function outageAlert(note: OutageNote): AlertInput {
  return {
    key: `database-outage:${note.since}`,
    kind: 'database_outage',
    subject: `[ShopFlow] The warehouse was unreachable from ${note.since}${note.until ? ` to ${note.until}` : ''}`,
    text:
      `The scheduler (${note.who}) could not reach the warehouse Postgres from ${note.since}${note.until ? ` until ${note.until}` : ''}, longer than its retries.\n` +
      `Last error: ${note.error}\n\nJobs due meanwhile were retried or caught up; check ops.runs for runs that failed in that window ` +
      `(select * from ops.runs where started_at >= '${note.since}' order by started_at).\n`,
    details: note,
  };
}

/** Sends the alert for a note another process left, then removes the note. */
export async function alertPendingOutage(
  config: Pick<Config, 'dataDir'>,
  send: (alert: AlertInput) => Promise<unknown>,
  logger: Logger,
): Promise<void> {
  const note = await readOutageNote(config);
  if (!note) return;
  await send(outageAlert({ ...note, until: note.until ?? new Date().toISOString() }));
  await rm(outageNotePath(config), { force: true });
  logger.warn({ since: note.since }, 'alerted about a database outage that outlasted its retries');
}

/** The daemon's view: when did the database stop answering, and is that long enough to alert about. */
export class OutageTracker {
  #since: Date | undefined;
  #error = '';

  constructor(private readonly alertAfterMs: number) {}

  failed(error: Error): void {
    this.#since ??= new Date();
    this.#error = error.message;
  }

  /** Called after the database answered again: the alert for an outage long enough to matter, once. */
  recovered(): AlertInput | undefined {
    const since = this.#since;
    if (!since) return undefined;
    this.#since = undefined;
    if (Date.now() - since.getTime() < this.alertAfterMs) return undefined;
    return outageAlert({ since: since.toISOString(), until: new Date().toISOString(), error: this.#error, who: 'scheduler daemon' });
  }

  get since(): Date | undefined {
    return this.#since;
  }
}
