// Where a cycle's scoped data tests start: where the previous build had seen every row (its
// recorded settled point), the later of the last micro-batch and a passed nightly build; a step
// recorded before that point existed falls back to its start less the slack.
import { describe, expect, it } from 'vitest';

import {
  DBT_MICROBATCH_ARGS,
  MICROBATCH_TEST_SLACK_MS,
  microbatchBuild,
  reportBuild,
  unseenFrom,
  WHOLE_HISTORY_SELECTOR,
} from '../../scheduler/jobs/dbt-args.ts';

const at = (iso: string) => new Date(iso);

describe('scoped test windows', () => {
  it('start at the settled point recorded with the step, or at its start less the slack without one', () => {
    expect(unseenFrom({ startedAt: at('2026-01-02T08:00:00Z'), settledBefore: at('2026-01-02T07:59:58Z') })).toEqual(
      at('2026-01-02T07:59:58Z'),
    );
    expect(unseenFrom({ startedAt: at('2026-01-02T08:00:00Z'), settledBefore: null })).toEqual(
      new Date(at('2026-01-02T08:00:00Z').getTime() - MICROBATCH_TEST_SLACK_MS),
    );
  });

  it('a micro-batch starts from the later of the last cycle and a passed nightly build, never from a failed one', () => {
    const cycle = { startedAt: at('2026-01-02T07:45:00Z'), settledBefore: at('2026-01-02T07:44:59Z') };
    const nightly = { startedAt: at('2026-01-02T02:00:00Z'), settledBefore: at('2026-01-02T01:30:00Z'), succeeded: true };
    expect(microbatchBuild(cycle, nightly).testLoadedSince).toBe('2026-01-02T07:44:59.000Z');
    const laterNightly = { ...nightly, startedAt: at('2026-01-02T07:50:00Z'), settledBefore: at('2026-01-02T07:50:00Z') };
    expect(microbatchBuild(cycle, laterNightly).testLoadedSince).toBe('2026-01-02T07:50:00.000Z');
    expect(microbatchBuild(cycle, { ...laterNightly, succeeded: false }).testLoadedSince).toBe('2026-01-02T07:44:59.000Z');
    expect(microbatchBuild(null, laterNightly).testLoadedSince).toBe('2026-01-02T07:50:00.000Z');
    expect(microbatchBuild(null, null)).toEqual({ args: DBT_MICROBATCH_ARGS });
  });

  it('a micro-batch leaves the whole-history models to the nightly and report builds once a nightly build passed', () => {
    const cycle = { startedAt: at('2026-01-02T07:45:00Z'), settledBefore: at('2026-01-02T07:44:59Z') };
    const nightly = { startedAt: at('2026-01-02T02:00:00Z'), settledBefore: at('2026-01-02T01:30:00Z'), succeeded: true };
    const excluded = (build: { args: string[] }) => build.args.slice(build.args.indexOf('--exclude') + 1);
    expect(excluded(microbatchBuild(cycle, nightly))).toEqual([
      'resource_type:snapshot',
      'resource_type:unit_test',
      WHOLE_HISTORY_SELECTOR,
    ]);
    // No nightly build yet, or the newest one failed: the cycle builds them, so they exist and keep up.
    expect(excluded(microbatchBuild(cycle, null))).not.toContain(WHOLE_HISTORY_SELECTOR);
    expect(excluded(microbatchBuild(cycle, { ...nightly, succeeded: false }))).not.toContain(WHOLE_HISTORY_SELECTOR);
    expect(DBT_MICROBATCH_ARGS).not.toContain(WHOLE_HISTORY_SELECTOR);
    // The report's build always builds and tests them.
    expect(reportBuild(nightly).args).not.toContain(WHOLE_HISTORY_SELECTOR);
  });

  it("the report's build tests from the passed nightly build's settled point, and every row otherwise", () => {
    const nightly = { startedAt: at('2026-01-02T02:00:00Z'), settledBefore: at('2026-01-02T01:58:00Z'), succeeded: true };
    expect(reportBuild(nightly).testLoadedSince).toBe('2026-01-02T01:58:00.000Z');
    expect(reportBuild({ ...nightly, succeeded: false }).testLoadedSince).toBeUndefined();
    expect(reportBuild(null).testLoadedSince).toBeUndefined();
  });
});
