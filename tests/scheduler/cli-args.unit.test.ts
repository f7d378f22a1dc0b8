// Regression guard: --help said --date defaults to today, while --once report uses yesterday
// (the day the figures cover). The help must state the defaults the code applies.
import { describe, expect, it } from 'vitest';

import { HELP, parseSchedulerArgs } from '../../scheduler/cli-args.ts';
import { reportBusinessDate } from '../../scheduler/schedule.ts';

describe('npm run scheduler --help', () => {
  it('states that --once report defaults to yesterday and the other jobs to today', () => {
    expect(HELP).toMatch(/--date YYYY-MM-DD[\s\S]*default: yesterday in SCHEDULER_TZ for report/);
    expect(HELP).toMatch(/today for the other jobs/);
    expect(reportBusinessDate(new Date('2024-05-02T08:00:00Z'), 'UTC')).toBe('2024-05-01');
  });

  it('names the mail settings that decide what an unacknowledged send becomes', () => {
    for (const name of ['SMTP_URL', 'SMTP_TIMEOUT_MS', 'SMTP_MAILBOX_DIR', 'ALERT_TO']) expect(HELP).toContain(name);
    expect(parseSchedulerArgs(['--once', 'report'])).toEqual({ help: false, once: 'report', ingestors: true });
  });
});
