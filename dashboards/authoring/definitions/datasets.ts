/**
 * One dataset per mart the dashboards read: every column of the mart's dbt contract, a few
 * calculated columns for display, and saved metrics, so a ratio such as AOV is defined once as
 * sum / sum and never averaged from per-row ratios.
 */
import { contractColumns } from '../contracts.ts';
import type { ColumnDef, DatasetDef, MetricDef } from '../model.ts';

const CURRENCY = '$,.2f';
const CURRENCY_SHORT = '$,.3s';
const PERCENT = '.1%';
const INT = ',d';

function humanize(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function dataset(
  table: string,
  description: string,
  mainDttm: string | undefined,
  metrics: MetricDef[],
  calculated: ColumnDef[] = [],
): DatasetDef {
  const columns: ColumnDef[] = contractColumns(table).map((c) => ({
    name: c.name,
    type: c.dataType,
    label: humanize(c.name),
    ...(c.description ? { description: c.description } : {}),
  }));
  return { table, description, ...(mainDttm ? { mainDttm } : {}), columns: [...columns, ...calculated], metrics };
}

const sum = (name: string, label: string, column: string, format?: string): MetricDef => ({
  name,
  label,
  expression: `sum(${column})`,
  ...(format ? { format } : {}),
});
const ratio = (name: string, label: string, numerator: string, denominator: string, format: string): MetricDef => ({
  name,
  label,
  expression: `sum(${numerator})::numeric / nullif(sum(${denominator}), 0)`,
  format,
});
const agg = (name: string, label: string, expression: string, format?: string): MetricDef => ({
  name,
  label,
  expression,
  ...(format ? { format } : {}),
});
const count = (name: string, label: string): MetricDef => ({ name, label, expression: 'count(*)', format: INT });
const calc = (name: string, label: string, expression: string): ColumnDef => ({ name, label, type: 'TEXT', expression });

/**
 * Lifetime value bands, lowest first: the label a person reads, and the exclusive upper bound in
 * dollars (none for the last). Label, sort column and sort metric are all generated from this.
 */
export const LTV_BANDS: readonly { label: string; below: number | null }[] = [
  { label: 'Under $50', below: 50 },
  { label: '$50 to $100', below: 100 },
  { label: '$100 to $250', below: 250 },
  { label: '$250 to $500', below: 500 },
  { label: '$500 to $1,000', below: 1000 },
  { label: '$1,000 and over', below: null },
];

export const LTV_BAND_ORDER_METRIC = 'ltv_band_position';

function ltvBandCase(value: (band: (typeof LTV_BANDS)[number], index: number) => string): string {
  const whens = LTV_BANDS.filter((b) => b.below !== null).map(
    (b) => `when lifetime_value < ${b.below} then ${value(b, LTV_BANDS.indexOf(b))}`,
  );
  const last = LTV_BANDS.at(-1)!;
  return `case ${whens.join(' ')} else ${value(last, LTV_BANDS.length - 1)} end`;
}

export const DATASETS: DatasetDef[] = [
  dataset('revenue_daily', 'Revenue and orders per day of order placement (gross, cancelled, returned, net).', 'revenue_date', [
    sum('gross_revenue', 'Gross revenue', 'gross_revenue', CURRENCY_SHORT),
    sum('net_revenue', 'Net revenue', 'net_revenue', CURRENCY_SHORT),
    sum('orders', 'Orders', 'order_count', INT),
    sum('units', 'Units sold', 'unit_count', INT),
    ratio('aov', 'Average order value', 'gross_revenue', 'order_count', CURRENCY),
    ratio('cancel_rate', 'Cancelled share of orders', 'cancelled_order_count', 'order_count', PERCENT),
    ratio('return_rate', 'Returned share of orders', 'returned_order_count', 'order_count', PERCENT),
  ]),
  dataset(
    'orders_hourly',
    'Orders and revenue per hour of placement (UTC), every hour of every day.',
    'hour_start_at',
    [sum('orders', 'Orders', 'order_count', INT), sum('gross_revenue', 'Gross revenue', 'gross_revenue', CURRENCY_SHORT)],
    [
      calc('weekday', 'Weekday', `to_char(order_date, 'ID Dy')`),
      calc('hour_label', 'Hour (UTC)', `lpad(hour_of_day::text, 2, '0') || ':00'`),
    ],
  ),
  dataset('category_revenue_weekly', 'Orders and revenue per product category per week, with week-over-week growth.', 'week_start_date', [
    sum('net_revenue', 'Net revenue', 'net_revenue', CURRENCY_SHORT),
    sum('units', 'Units sold', 'unit_count', INT),
  ]),
  dataset(
    'category_revenue_monthly',
    'Orders and revenue per product category per month, with month-over-month growth.',
    'month_start_date',
    [sum('net_revenue', 'Net revenue', 'net_revenue', CURRENCY_SHORT), sum('orders', 'Orders', 'order_count', INT)],
  ),
  dataset('sales_by_geography', 'Orders, customers and revenue per month by shipping country, region and city.', 'order_month', [
    sum('net_revenue', 'Net revenue', 'net_revenue', CURRENCY_SHORT),
    sum('orders', 'Orders', 'order_count', INT),
    ratio('aov', 'Average order value', 'gross_revenue', 'order_count', CURRENCY),
  ]),
  dataset(
    'conversion_funnel_daily',
    'Sessions per day reaching each funnel step: product view, add to cart, checkout, order.',
    'session_date',
    [
      sum('sessions', 'Sessions', 'session_count', INT),
      sum('product_view_sessions', 'Viewed a product', 'product_view_sessions', INT),
      sum('add_to_cart_sessions', 'Added to cart', 'add_to_cart_sessions', INT),
      sum('checkout_sessions', 'Started checkout', 'checkout_sessions', INT),
      sum('order_sessions', 'Placed an order', 'order_sessions', INT),
      ratio('conversion_rate', 'Session conversion rate', 'order_sessions', 'session_count', '.2%'),
      ratio('cart_to_checkout', 'Cart to checkout', 'checkout_sessions', 'add_to_cart_sessions', PERCENT),
      ratio('checkout_to_order', 'Checkout to order', 'order_sessions', 'checkout_sessions', PERCENT),
    ],
  ),
  dataset('active_users_daily', 'Distinct active visitors per day, over the trailing 7 days and the trailing 30 days.', 'activity_date', [
    agg('dau', 'Daily active users', 'max(daily_active_users)', INT),
    agg('wau', 'Weekly active users', 'max(weekly_active_users)', INT),
    agg('mau', 'Monthly active users', 'max(monthly_active_users)', INT),
    agg('avg_dau', 'Average daily active users', 'avg(daily_active_users)', INT),
  ]),
  dataset(
    'customer_cohorts_monthly',
    'Monthly acquisition cohorts: customers active and revenue by months since first order.',
    'cohort_month',
    [
      ratio('retention', 'Retention', 'active_customers', 'cohort_size', PERCENT),
      sum('active_customers', 'Active customers', 'active_customers', INT),
    ],
    [calc('cohort', 'Cohort', `to_char(cohort_month, 'YYYY-MM')`)],
  ),
  dataset(
    'customer_lifetime_value',
    'Per customer: orders, revenue, lifetime value (net revenue), tenure and whether they bought again.',
    'first_order_at',
    [
      agg('avg_ltv', 'Average lifetime value', 'avg(lifetime_value)', CURRENCY),
      count('customers', 'Customers'),
      agg('repeat_share', 'Repeat customers', 'avg(case when is_repeat_customer then 1.0 else 0.0 end)', PERCENT),
      // Orders the bands on a chart axis (lowest first) without putting a number in the label:
      // a metric, because Superset sorts a bar chart's axis by its label or by a metric only.
      agg(LTV_BAND_ORDER_METRIC, 'Lifetime value band order', `min(${ltvBandCase((_, i) => String(i + 1))})`, INT),
    ],
    [
      calc(
        'ltv_band',
        'Lifetime value band',
        ltvBandCase((band) => `'${band.label}'`),
      ),
      { name: 'ltv_band_order', label: 'Lifetime value band order', type: 'INTEGER', expression: ltvBandCase((_, i) => String(i + 1)) },
    ],
  ),
  dataset(
    'repeat_purchase_rate',
    'Per month: buying and returning customers, and the cumulative share who ordered twice or more.',
    'order_month',
    [
      agg('repeat_rate', 'Repeat purchase rate', 'max(repeat_purchase_rate)', PERCENT),
      sum('buying_customers', 'Buying customers', 'buying_customers', INT),
      sum('returning_customers', 'Returning customers', 'returning_customers', INT),
    ],
  ),
  dataset(
    'customer_rfm_segments',
    'Each customer with recency, frequency and monetary scores and RFM segment as of the as-of date.',
    'last_order_date',
    [
      count('customers', 'Customers'),
      agg('monetary', 'Revenue', 'sum(monetary)', CURRENCY_SHORT),
      agg('avg_recency', 'Average days since last order', 'avg(recency_days)', ',.0f'),
    ],
  ),
  dataset('rfm_segment_movement', 'Customers per (previous segment, current segment) pair between two as-of dates.', undefined, [
    sum('customers', 'Customers', 'customer_count', INT),
  ]),
  dataset('suspected_fraud_orders', 'Orders that trip a fraud rule, with the rules and reasons.', 'placed_at', [
    count('orders', 'Orders'),
    agg('amount', 'Order value', 'sum(total_amount)', CURRENCY_SHORT),
  ]),
  dataset('top_products', 'Products ranked by net revenue, all time and over the last 30 days.', undefined, [
    sum('net_revenue', 'Net revenue', 'net_revenue', CURRENCY_SHORT),
    sum('units_sold', 'Units sold', 'units_sold', INT),
    sum('net_revenue_30d', 'Net revenue, last 30 days', 'last_30_days_net_revenue', CURRENCY_SHORT),
  ]),
  dataset(
    'low_stock_products',
    'Active products at or below their reorder point, with days of cover at the recent sales rate.',
    'as_of_date',
    [count('products', 'Products')],
  ),
  dataset(
    'demand_vs_actual',
    'Each demand forecast whose day has come, beside the units that then sold (docs/forecast.md).',
    'forecast_date',
    [
      sum('actual_units', 'Units sold', 'actual_units', INT),
      sum('forecast_units', 'Forecast units', 'forecast_units', INT),
      sum('lower_units', 'Interval low (80%)', 'lower_units', INT),
      sum('upper_units', 'Interval high (80%)', 'upper_units', INT),
    ],
  ),
  dataset(
    'stockout_risk_products',
    'Active products expected to run out of stock within the replenishment lead time, by the latest forecast.',
    'as_of_date',
    [count('products', 'Products')],
  ),
  dataset(
    'fct_inventory_daily',
    'Stock on hand per product per day, with units sold and restocked.',
    'inventory_date',
    [
      sum('units_sold', 'Units sold', 'units_sold', INT),
      sum('units_restocked', 'Units restocked', 'units_restocked', INT),
      sum('stock_on_hand', 'Units on hand', 'quantity_on_hand', INT),
      agg('products_below_reorder', 'At or below reorder point', 'count(*) filter (where is_at_or_below_reorder_point)', INT),
      agg('products_out_of_stock', 'Out of stock', 'count(*) filter (where is_out_of_stock)', INT),
    ],
    [
      // Age relative to the latest day in the data, so "recent" never depends on the wall clock.
      {
        name: 'days_before_latest',
        label: 'Days before the latest inventory day',
        type: 'INTEGER',
        expression: '(select max(inventory_date) from marts.fct_inventory_daily) - inventory_date',
      },
    ],
  ),
  dataset(
    'ops_source_freshness',
    'Per raw source table: rows loaded and when the newest row arrived.',
    'last_loaded_at',
    [agg('rows', 'Rows', 'sum(row_count)', INT)],
    [calc('age', 'Age of newest row', `to_char(now() - last_loaded_at, 'DD"d" HH24"h" MI"m"')`)],
  ),
  dataset('ops_ingest_metrics', 'Ingestor throughput, batch times and lag per component per hour.', 'hour_start_at', [
    sum('rows_loaded', 'Rows loaded', 'rows_loaded', INT),
    sum('dead_letters', 'Dead letters', 'dead_letter_count', INT),
    agg('max_lag_ms', 'Max lag (ms)', 'max(max_lag_ms)', ',.0f'),
    agg('avg_batch_ms', 'Average batch time (ms)', 'avg(average_batch_ms)', ',.0f'),
  ]),
  dataset('ops_dead_letters_daily', 'Rejected input per day by source and error code, with an example reason.', 'received_date', [
    sum('dead_letters', 'Dead letters', 'dead_letter_count', INT),
  ]),
  dataset('ops_pipeline_runs', 'The scheduler run ledger: one row per run with status, duration and failed steps.', 'started_at', [
    count('runs', 'Runs'),
    agg('failed_runs', 'Failed runs', `count(*) filter (where run_status = 'failed')`, INT),
    agg('avg_duration', 'Average duration (s)', 'avg(duration_seconds)', ',.1f'),
  ]),
  dataset('ops_gate_results', 'Great Expectations gate results per run: expectations evaluated and failed.', 'checked_at', [
    count('checks', 'Gate runs'),
    agg('failed_checks', 'Failed gate runs', 'count(*) filter (where not is_success)', INT),
    sum('expectations_failed', 'Expectations failed', 'expectations_failed', INT),
  ]),
];
