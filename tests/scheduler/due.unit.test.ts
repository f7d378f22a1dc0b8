// Regression guard for the catch-up policy: the report runs for today's occurrence only, once,
// unless the process is catching up after a restart; cron is read in SCHEDULER_TZ.
import { describe, expect, it } from 'vitest';

import { dueCron, dueInterval, dueReport } from '../../scheduler/due.ts';
import { CronSchedule, isIsoDate, localDate } from '../../scheduler/schedule.ts';

const at = (iso: string) => new Date(iso);

describe('CronSchedule', () => {
  it('matches in the configured time zone', () => {
    const berlin = new CronSchedule('0 8 * * *', 'Europe/Berlin');
    expect(berlin.latestOccurrence(at('2024-05-02T06:30:00Z'), at('2024-05-01T06:30:00Z'))).toEqual(at('2024-05-02T06:00:00Z'));
    expect(berlin.nextOccurrence(at('2024-05-02T06:00:00Z'))).toEqual(at('2024-05-03T06:00:00Z'));
  });

  it('rejects an invalid expression with a clear error', () => {
    expect(() => new CronSchedule('61 8 * * *', 'UTC')).toThrow(/invalid cron expression "61 8 \* \* \*"/);
  });

  it('derives business dates in the time zone, not UTC', () => {
    expect(localDate(at('2024-05-01T23:30:00Z'), 'Europe/Berlin')).toBe('2024-05-02');
    expect(localDate(at('2024-05-01T23:30:00Z'), 'UTC')).toBe('2024-05-01');
    expect(isIsoDate('2024-02-30')).toBe(false);
    expect(isIsoDate('2024-02-29')).toBe(true);
  });
});

describe('dueReport', () => {
  const report = new CronSchedule('0 8 * * *', 'UTC');

  it('is not due before 08:00, due at 08:00, and not again once started', () => {
    expect(dueReport(report, at('2024-05-02T07:59:59Z'), null, false)).toBeNull();
    const due = dueReport(report, at('2024-05-02T08:00:01Z'), null, false);
    expect(due).toEqual({ scheduledFor: at('2024-05-02T08:00:00Z'), businessDate: '2024-05-01', trigger: 'schedule' });
    expect(dueReport(report, at('2024-05-02T08:05:00Z'), at('2024-05-02T08:00:00Z'), false)).toBeNull();
  });

  it('catches up today after a restart, even if a previous process had started it', () => {
    const due = dueReport(report, at('2024-05-02T11:00:00Z'), at('2024-05-02T08:00:00Z'), true);
    expect(due).toMatchObject({ businessDate: '2024-05-01', trigger: 'catch-up' });
  });

  it('never catches up an earlier day', () => {
    // Started at 07:00 after being down since yesterday: yesterday's report is not sent automatically.
    expect(dueReport(report, at('2024-05-02T07:00:00Z'), at('2024-04-30T08:00:00Z'), true)).toBeNull();
  });

  it('labels a late first run as catch-up', () => {
    expect(dueReport(report, at('2024-05-02T09:30:00Z'), at('2024-05-01T08:00:00Z'), true)?.trigger).toBe('catch-up');
  });
});

describe('dueCron and dueInterval', () => {
  it('runs a missed nightly within 24 hours, once', () => {
    const nightly = new CronSchedule('0 2 * * *', 'UTC');
    expect(dueCron(nightly, at('2024-05-02T09:00:00Z'), at('2024-05-01T02:00:00Z'))?.scheduledFor).toEqual(at('2024-05-02T02:00:00Z'));
    expect(dueCron(nightly, at('2024-05-02T09:00:00Z'), at('2024-05-02T02:00:00Z'))).toBeNull();
  });

  it('aligns interval slots and runs each slot once', () => {
    const fifteen = 15 * 60_000;
    const due = dueInterval(fifteen, at('2024-05-02T08:07:00Z'), null, 'UTC');
    expect(due?.scheduledFor).toEqual(at('2024-05-02T08:00:00Z'));
    expect(dueInterval(fifteen, at('2024-05-02T08:14:59Z'), at('2024-05-02T08:00:00Z'), 'UTC')).toBeNull();
    expect(dueInterval(fifteen, at('2024-05-02T08:15:00Z'), at('2024-05-02T08:00:00Z'), 'UTC')?.scheduledFor).toEqual(
      at('2024-05-02T08:15:00Z'),
    );
  });
});
