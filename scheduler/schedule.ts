/**
 * Cron occurrences in the scheduler's time zone. node-cron parses and matches the expression
 * (5 fields, or 6 with seconds); the scheduler drives the ticks itself from its Clock, so it can
 * use database time, catch up missed occurrences and run in compressed time under test.
 */
import { createTask, validateDetailed, type ScheduledTask } from 'node-cron';

import { ConfigError } from '../lib/errors.ts';

const MINUTE_MS = 60_000;

export class CronSchedule {
  readonly #matcher: ScheduledTask;
  readonly #stepMs: number;

  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    const check = validateDetailed(expression);
    if (!check.valid) {
      const reasons = check.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      throw new ConfigError(`invalid cron expression "${expression}": ${reasons}`);
    }
    // A task that is never started: only its matcher is used (no timers are created).
    this.#matcher = createTask(expression, () => undefined, { timezone: timeZone });
    this.#stepMs = expression.trim().split(/\s+/).length === 6 ? 1000 : MINUTE_MS;
  }

  /** The latest occurrence in (after, atOrBefore], or null. Scans back one step at a time. */
  latestOccurrence(atOrBefore: Date, after: Date): Date | null {
    let t = Math.floor(atOrBefore.getTime() / this.#stepMs) * this.#stepMs;
    for (; t > after.getTime(); t -= this.#stepMs) {
      const candidate = new Date(t);
      if (this.#matcher.match(candidate)) return candidate;
    }
    return null;
  }

  /** The first occurrence strictly after `after` within `horizonMs`, or null. */
  nextOccurrence(after: Date, horizonMs = 8 * 24 * 3_600_000): Date | null {
    const start = Math.floor(after.getTime() / this.#stepMs) * this.#stepMs + this.#stepMs;
    for (let t = start; t <= after.getTime() + horizonMs; t += this.#stepMs) {
      const candidate = new Date(t);
      if (this.#matcher.match(candidate)) return candidate;
    }
    return null;
  }
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone: the report's business date. */
export function localDate(instant: Date, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/** The calendar day before an ISO date (YYYY-MM-DD). */
export function previousDay(isoDate: string): string {
  const day = new Date(`${isoDate}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() - 1);
  return day.toISOString().slice(0, 10);
}

/** The day the morning report covers: the local day before the run ("yesterday"). */
export function reportBusinessDate(runAt: Date, timeZone: string): string {
  return previousDay(localDate(runAt, timeZone));
}

export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
}
