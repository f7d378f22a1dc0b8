/**
 * When is a job due? Pure functions of the clock, the schedule and the last execution, so the
 * policy is readable in one place and unit-testable.
 *
 * Catch-up policy (docs/scheduler.md):
 *  - report: only TODAY's occurrence (in SCHEDULER_TZ); its business date, the day the figures
 *    cover, is yesterday. On start, and on taking over leadership, it runs if today's report time
 *    has passed and ops.reports_sent has no 'sent' row for that business date, even when a
 *    previous process had already started it (it died or failed).
 *    Earlier days are never sent automatically: `--once report --date D` does that.
 *  - nightly: the latest occurrence within the last 24 hours, if not run yet.
 *  - interval jobs (microbatch, alerts): the current slot, once; missed slots are not replayed
 *    (every run processes everything new anyway).
 */
import { localDate, previousDay, type CronSchedule } from './schedule.ts';

const DAY_MS = 24 * 3_600_000;

export interface DueRun {
  scheduledFor: Date;
  businessDate: string;
  /** 'catch-up' when the occurrence is more than a minute old (the process was down or busy). */
  trigger: 'schedule' | 'catch-up' | 'retry';
}

function trigger(scheduledFor: Date, now: Date): DueRun['trigger'] {
  return now.getTime() - scheduledFor.getTime() > 60_000 ? 'catch-up' : 'schedule';
}

/** Cron job: the latest occurrence within `lookbackMs`, if it is newer than the last one started. */
export function dueCron(schedule: CronSchedule, now: Date, lastScheduledFor: Date | null, lookbackMs = DAY_MS): DueRun | null {
  const occurrence = schedule.latestOccurrence(now, new Date(now.getTime() - lookbackMs));
  if (!occurrence) return null;
  if (lastScheduledFor && occurrence.getTime() <= lastScheduledFor.getTime()) return null;
  return { scheduledFor: occurrence, businessDate: localDate(occurrence, schedule.timeZone), trigger: trigger(occurrence, now) };
}

/**
 * The report: today's occurrence only. `catchingUp` (first tick after taking leadership) lets an
 * occurrence already started by a previous process run again; the caller then checks
 * ops.reports_sent, which decides.
 */
export function dueReport(schedule: CronSchedule, now: Date, lastScheduledFor: Date | null, catchingUp: boolean): DueRun | null {
  const occurrence = schedule.latestOccurrence(now, new Date(now.getTime() - DAY_MS - 3_600_000));
  if (!occurrence) return null;
  const runDate = localDate(occurrence, schedule.timeZone);
  if (runDate !== localDate(now, schedule.timeZone)) return null;
  // The 08:00 report covers the day that just ended, not today's partial day.
  const businessDate = previousDay(runDate);
  const alreadyStarted = lastScheduledFor !== null && occurrence.getTime() <= lastScheduledFor.getTime();
  if (alreadyStarted && !catchingUp) return null;
  return { scheduledFor: occurrence, businessDate, trigger: catchingUp && alreadyStarted ? 'catch-up' : trigger(occurrence, now) };
}

/** Interval job: slots aligned to the epoch (every 15 minutes = :00, :15, :30, :45 UTC). */
export function dueInterval(intervalMs: number, now: Date, lastScheduledFor: Date | null, timeZone: string): DueRun | null {
  const slot = new Date(Math.floor(now.getTime() / intervalMs) * intervalMs);
  if (lastScheduledFor && slot.getTime() <= lastScheduledFor.getTime()) return null;
  return { scheduledFor: slot, businessDate: localDate(slot, timeZone), trigger: 'schedule' };
}
