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
export const MICROBATCH_TEST_WINDOW_HOURS = 24;
export const DBT_MICROBATCH_ARGS = [
  'build',
  ...CYCLE_EXCLUDES,
  '--vars',
  JSON.stringify({ test_recent_hours: MICROBATCH_TEST_WINDOW_HOURS }),
];
/**
 * Rows loaded this long before the last successful micro-batch started are tested again: an
 * ingest transaction stamps its rows when it starts and commits a moment later.
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
/** The newest finished nightly build: when it started, and whether its tests (every row) passed. */
export type NightlyBuild = { startedAt: Date; succeeded: boolean } | null;
/**
 * The micro-batch after a successful one tests only rows loaded since that one started (less
 * the slack): what this cycle changed, even when a backfill was stamped an hour ago. A nightly
 * build that passed since then tested every row, so the first cycle after it tests only rows
 * loaded since it started. Without either (the first cycle, or after failures) the 24-hour
 * window above.
 */
export function microbatchBuild(lastSucceededStart: Date | null, lastNightlyBuild: NightlyBuild = null): DbtBuild {
  const nightly = lastNightlyBuild?.succeeded ? lastNightlyBuild.startedAt : null;
  const since = nightly && (!lastSucceededStart || nightly > lastSucceededStart) ? nightly : lastSucceededStart;
  if (!since) return { args: DBT_MICROBATCH_ARGS };
  return testedSince(since);
}
export const DBT_NIGHTLY_ARGS = ['build'];
/** The nightly job's build step, whose passed tests over every row the report's build builds on. */
export const NIGHTLY_BUILD_STEP = 'dbt_build_with_snapshots';
export const DBT_REPORT_ARGS = ['build', ...CYCLE_EXCLUDES];
/**
 * The 08:00 report's build. The nightly build tests every row; when its newest finished build
 * passed, rows loaded before it started were tested whole, so the report's build tests only the
 * rows loaded since then (less the slack): the morning's new data, not the history. When the
 * newest nightly build failed, or none ran, every row is tested (DBT_REPORT_ARGS).
 */
export function reportBuild(lastNightlyBuild: NightlyBuild): DbtBuild {
  if (!lastNightlyBuild?.succeeded) return { args: DBT_REPORT_ARGS };
  return testedSince(lastNightlyBuild.startedAt);
}
function testedSince(start: Date): DbtBuild {
  return { args: ['build', ...CYCLE_EXCLUDES], testLoadedSince: new Date(start.getTime() - MICROBATCH_TEST_SLACK_MS).toISOString() };
}
export const ALERT_MARTS = ['suspected_fraud_orders', 'low_stock_products', 'stockout_risk_products'] as const;
export const DBT_ALERT_ARGS = ['build', '--exclude', 'resource_type:snapshot', '--select', ...ALERT_MARTS.map((m) => `+${m}`)];
/** After the nightly forecast: the marts that read marts.demand_forecast. */
export const FORECAST_MARTS = ['demand_vs_actual', 'forecast_accuracy', 'stockout_risk_products'] as const;
export const DBT_FORECAST_ARGS = ['build', '--select', ...FORECAST_MARTS];
