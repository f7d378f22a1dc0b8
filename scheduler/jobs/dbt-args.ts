/**
 * The dbt invocations of each job. The micro-batch and the report build everything except
 * snapshots: SCD2 snapshots are taken once a night, so history records one state per day
 * instead of one per micro-batch. The alert refresh builds only what the two alert marts need.
 *
 * The micro-batch also limits the data tests of the event-sized tables to rows loaded in the
 * last day (var test_recent_hours, see dbt/macros/test_window.sql), so its cost follows new
 * data, not years of history; the nightly build tests every row.
 *
 * Unit tests run in the nightly build only: they check the models' logic on fixed inputs, so
 * the data of a cycle cannot change their outcome, and a deployment is checked by CI and by the
 * next nightly build. In the micro-batch and the report's build they cost a few seconds each
 * on every run.
 */
const CYCLE_EXCLUDES = ['--exclude', 'resource_type:snapshot', 'resource_type:unit_test'];
/**
 * Models rebuilt whole from every order at a monthly or per-customer grain (cohorts, RFM,
 * lifetime value, sales by month and place, all-time top products), and the tests that read
 * every order (revenue reconciliation, cohort and RFM coverage), carry the dbt tag
 * whole_history. Their cost grows with the history, not with a cycle's new data (at 10x the
 * shop, about 45 of a steady cycle's 200 thread-seconds), and a quarter of an hour changes
 * little in a month or a customer's lifetime. Once a nightly build has passed, the micro-batch
 * leaves them to the nightly build and to the 08:00 report's build, which rebuild and test them
 * before anyone reads the morning's numbers; until then (a first deployment, a failing nightly
 * build) the micro-batch builds them too, so they exist and do not fall further behind.
 */
export const WHOLE_HISTORY_SELECTOR = 'tag:whole_history';
export const MICROBATCH_TEST_WINDOW_HOURS = 24;
export const DBT_MICROBATCH_ARGS = [
  'build',
  ...CYCLE_EXCLUDES,
  '--vars',
  JSON.stringify({ test_recent_hours: MICROBATCH_TEST_WINDOW_HOURS }),
];
/**
 * What a step recorded before migration 0295 left open: a row is stamped when its ingest
 * transaction starts and commits a moment later, so rows stamped just before such a step
 * started may have become visible after it read; they are tested again.
 */
export const MICROBATCH_TEST_SLACK_MS = 5 * 60_000;
/**
 * A dbt build and the load time its scoped data tests start from (dbt/macros/test_window.sql).
 * The time goes to dbt as the environment variable SHOPFLOW_TEST_LOADED_SINCE, not as --vars:
 * dbt re-parses the whole project whenever its vars change (35 s against 10 s for a partial
 * parse on a loaded 2-core machine), and this time changes on every cycle.
 */
export interface DbtBuild {
  args: string[];
  testLoadedSince?: string;
}
/**
 * When a scheduler step started, and ops.loads_settled_before() at that moment (migration 0295):
 * every row stamped earlier was committed, so the step's build read it. Null for steps recorded
 * before that migration.
 */
export interface StepStart {
  startedAt: Date;
  settledBefore: Date | null;
}
/** The newest finished nightly build step, and whether its tests (every row) passed. */
export type NightlyBuild = (StepStart & { succeeded: boolean }) | null;
/**
 * Where the rows a step's build may not have seen start: its settled point, exactly (an
 * ingest transaction open when it started holds it back to that transaction's start), or for
 * older ledger rows its start less the slack. After a backfill landed minutes before a build,
 * the exact point keeps the backfill out of the next cycle's tests, which the slack did not.
 */
export function unseenFrom(step: StepStart): Date {
  return step.settledBefore ?? new Date(step.startedAt.getTime() - MICROBATCH_TEST_SLACK_MS);
}
/**
 * The micro-batch after a successful one tests only rows its build may not have seen: what this
 * cycle changed, even when a backfill landed just before. A nightly build that passed since then
 * tested every row, so the first cycle after it tests only rows that build may not have seen.
 * Without either (the first cycle, or after failures) the 24-hour window above. After a passed
 * nightly build, the whole_history models and tests are left to the nightly and report builds.
 */
export function microbatchBuild(lastSucceeded: StepStart | null, lastNightlyBuild: NightlyBuild = null): DbtBuild {
  const starts = [lastSucceeded, lastNightlyBuild?.succeeded ? lastNightlyBuild : null]
    .filter((step): step is StepStart => step !== null)
    .map(unseenFrom);
  if (starts.length === 0) return { args: DBT_MICROBATCH_ARGS };
  const excludes = lastNightlyBuild?.succeeded ? [...CYCLE_EXCLUDES, WHOLE_HISTORY_SELECTOR] : CYCLE_EXCLUDES;
  return testedSince(new Date(Math.max(...starts.map((d) => d.getTime()))), excludes);
}
export const DBT_NIGHTLY_ARGS = ['build'];
/** The nightly job's build step, whose passed tests over every row the report's build builds on. */
export const NIGHTLY_BUILD_STEP = 'dbt_build_with_snapshots';
export const DBT_REPORT_ARGS = ['build', ...CYCLE_EXCLUDES];
/**
 * The 08:00 report's build. The nightly build tests every row; when its newest finished build
 * passed, the rows it saw were tested whole, so the report's build tests only the rows it may not
 * have seen (unseenFrom): the morning's new data, not the history. When the newest nightly build
 * failed, or none ran, every row is tested (DBT_REPORT_ARGS).
 */
export function reportBuild(lastNightlyBuild: NightlyBuild): DbtBuild {
  if (!lastNightlyBuild?.succeeded) return { args: DBT_REPORT_ARGS };
  return testedSince(unseenFrom(lastNightlyBuild));
}
function testedSince(from: Date, excludes: string[] = CYCLE_EXCLUDES): DbtBuild {
  return { args: ['build', ...excludes], testLoadedSince: from.toISOString() };
}
export const ALERT_MARTS = ['suspected_fraud_orders', 'low_stock_products', 'stockout_risk_products'] as const;
export const DBT_ALERT_ARGS = ['build', '--exclude', 'resource_type:snapshot', '--select', ...ALERT_MARTS.map((m) => `+${m}`)];
/** After the nightly forecast: the marts that read marts.demand_forecast. */
export const FORECAST_MARTS = ['demand_vs_actual', 'forecast_accuracy', 'stockout_risk_products'] as const;
export const DBT_FORECAST_ARGS = ['build', '--select', ...FORECAST_MARTS];
