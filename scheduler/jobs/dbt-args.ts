/**
 * The dbt invocations of each job. The micro-batch and the report build everything except
 * snapshots: SCD2 snapshots are taken once a night, so history records one state per day
 * instead of one per micro-batch. The alert refresh builds only what the two alert marts need.
 */
export const DBT_MICROBATCH_ARGS = ['build', '--exclude', 'resource_type:snapshot'];
export const DBT_NIGHTLY_ARGS = ['build'];
export const DBT_REPORT_ARGS = ['build', '--exclude', 'resource_type:snapshot'];
export const ALERT_MARTS = ['suspected_fraud_orders', 'low_stock_products'] as const;
export const DBT_ALERT_ARGS = ['build', '--exclude', 'resource_type:snapshot', '--select', ...ALERT_MARTS.map((m) => `+${m}`)];
