/**
 * One dataset per mart the dashboards read, with the columns the charts use and the saved
 * metrics (so a ratio such as AOV is defined once, as sum/sum, and never averaged from rows).
 * Column names follow the marts' dbt contracts (dbt/models/marts/**); a unit test checks them.
 */
import type { ColumnDef, DatasetDef, MetricDef } from '../model.ts';

const col = (name: string, type: ColumnDef['type'], label?: string): ColumnDef => ({ name, type, ...(label ? { label } : {}) });
const sum = (name: string, label: string, column = name, format?: string): MetricDef => ({ name, label, expression: `sum(${column})`, ...(format ? { format } : {}) });
const ratio = (name: string, label: string, numerator: string, denominator: string, format: string): MetricDef => ({
  name,
  label,
  expression: `sum(${numerator})::numeric / nullif(sum(${denominator}), 0)`,
  format,
});
const count = (name = 'row_count', label = 'Rows'): MetricDef => ({ name, label, expression: 'count(*)' });

const CURRENCY = '$,.2f';
const CURRENCY_SHORT = '$,.3s';
const PERCENT = '.1%';

export const DATASETS: DatasetDef[] = [
  {
    table: 'revenue_daily',
    description: 'Revenue and orders per day of order placement (gross, cancelled, returned, net).',
    mainDttm: 'revenue_date',
    columns: [
      col('revenue_date', 'DATE', 'Day'),
      col('order_count', 'INTEGER'),
      col('cancelled_order_count', 'INTEGER'),
      col('returned_order_count', 'INTEGER'),
      col('customer_count', 'INTEGER'),
      col('unit_count', 'INTEGER'),
      col('gross_revenue', 'NUMERIC'),
      col('cancelled_revenue', 'NUMERIC'),
      col('returned_revenue', 'NUMERIC'),
      col('net_revenue', 'NUMERIC'),
      col('average_order_value', 'NUMERIC'),
    ],
    metrics: [
      sum('gross_revenue', 'Gross revenue', 'gross_revenue', CURRENCY_SHORT),
      sum('net_revenue', 'Net revenue', 'net_revenue', CURRENCY_SHORT),
      sum('orders', 'Orders', 'order_count', ',d'),
      sum('units', 'Units sold', 'unit_count', ',d'),
      ratio('aov', 'Average order value', 'gross_revenue', 'order_count', CURRENCY),
      ratio('cancel_rate', 'Cancelled share of orders', 'cancelled_order_count', 'order_count', PERCENT),
    ],
  },
  {
    table: 'orders_hourly',
    description: 'Orders and revenue per hour of placement (UTC), every hour of every day.',
    mainDttm: 'hour_start_at',
    columns: [
      col('order_date', 'DATE'),
      col('hour_of_day', 'INTEGER', 'Hour (UTC)'),
      col('order_count', 'INTEGER'),
      col('unit_count', 'INTEGER'),
      col('gross_revenue', 'NUMERIC'),
      col('net_revenue', 'NUMERIC'),
      col('hour_start_at', 'TIMESTAMP WITH TIME ZONE'),
      { name: 'weekday', type: 'TEXT', label: 'Weekday', expression: `to_char(order_date, 'ID Dy')` },
      { name: 'hour_label', type: 'TEXT', label: 'Hour (UTC)', expression: `lpad(hour_of_day::text, 2, '0') || ':00'` },
    ],
    metrics: [sum('orders', 'Orders', 'order_count', ',d'), sum('gross_revenue', 'Gross revenue', 'gross_revenue', CURRENCY_SHORT)],
  },
  {
    table: 'customer_cohorts_monthly',
    description: 'Monthly acquisition cohorts: customers active and revenue by months since first order.',
    mainDttm: 'cohort_month',
    columns: [
      col('cohort_month', 'DATE'),
      col('activity_month', 'DATE'),
      col('months_since_first_order', 'INTEGER', 'Months since first order'),
      col('cohort_size', 'INTEGER'),
      col('active_customers', 'INTEGER'),
      col('retention_rate', 'NUMERIC'),
      col('net_revenue', 'NUMERIC'),
      col('cumulative_net_revenue', 'NUMERIC'),
      { name: 'cohort', type: 'TEXT', label: 'Cohort', expression: `to_char(cohort_month, 'YYYY-MM')` },
    ],
    metrics: [ratio('retention', 'Retention', 'active_customers', 'cohort_size', PERCENT), sum('active_customers', 'Active customers', 'active_customers', ',d')],
  },
  {
    table: 'customer_lifetime_value',
    description: 'Per customer: orders, revenue, lifetime value (net revenue), tenure and whether they bought again.',
    mainDttm: 'first_order_at',
    columns: [
      col('customer_id', 'BIGINT'),
      col('signup_channel', 'TEXT', 'Signup channel'),
      col('country_code', 'TEXT', 'Country'),
      col('order_count', 'INTEGER'),
      col('valid_order_count', 'INTEGER'),
      col('gross_revenue', 'NUMERIC'),
      col('lifetime_value', 'NUMERIC'),
      col('average_order_value', 'NUMERIC'),
      col('tenure_days', 'INTEGER'),
      col('is_repeat_customer', 'BOOLEAN'),
      col('first_order_at', 'TIMESTAMP WITH TIME ZONE'),
      col('last_order_at', 'TIMESTAMP WITH TIME ZONE'),
      {
        name: 'ltv_band',
        type: 'TEXT',
        label: 'Lifetime value band',
        expression: `case when lifetime_value < 50 then '1: < $50' when lifetime_value < 100 then '2: $50-100' when lifetime_value < 250 then '3: $100-250' when lifetime_value < 500 then '4: $250-500' when lifetime_value < 1000 then '5: $500-1k' else '6: >= $1k' end`,
      },
    ],
    metrics: [
      { name: 'avg_ltv', label: 'Average lifetime value', expression: 'avg(lifetime_value)', format: CURRENCY },
      count('customers', 'Customers'),
      { name: 'repeat_share', label: 'Repeat customers', expression: 'avg(case when is_repeat_customer then 1.0 else 0.0 end)', format: PERCENT },
    ],
  },
  {
    table: 'repeat_purchase_rate',
    description: 'Per month: buying and returning customers, and the cumulative share of customers who ordered twice or more.',
    mainDttm: 'order_month',
    columns: [
      col('order_month', 'DATE'),
      col('buying_customers', 'INTEGER'),
      col('returning_customers', 'INTEGER'),
      col('cumulative_buying_customers', 'INTEGER'),
      col('cumulative_repeat_customers', 'INTEGER'),
      col('repeat_purchase_rate', 'NUMERIC'),
    ],
    metrics: [
      { name: 'repeat_rate', label: 'Repeat purchase rate', expression: 'max(repeat_purchase_rate)', format: PERCENT },
      sum('buying_customers', 'Buying customers', 'buying_customers', ',d'),
      sum('returning_customers', 'Returning customers', 'returning_customers', ',d'),
    ],
  },
  {
    table: 'customer_rfm_segments',
    description: 'Each customer with recency/frequency/monetary scores and RFM segment as of the as-of date.',
    mainDttm: 'last_order_date',
    columns: [
      col('customer_id', 'BIGINT'),
      col('rfm_segment', 'TEXT', 'Segment'),
      col('rfm_cell', 'TEXT'),
      col('country_code', 'TEXT', 'Country'),
      col('recency_days', 'INTEGER'),
      col('frequency', 'INTEGER'),
      col('monetary', 'NUMERIC'),
      col('r_score', 'INTEGER'),
      col('f_score', 'INTEGER'),
      col('m_score', 'INTEGER'),
      col('as_of_date', 'DATE'),
      col('last_order_date', 'DATE'),
    ],
    metrics: [count('customers', 'Customers'), { name: 'monetary', label: 'Revenue', expression: 'sum(monetary)', format: CURRENCY_SHORT }],
  },
  {
    table: 'rfm_segment_movement',
    description: 'Customers per (previous segment, current segment) pair between two as-of dates.',
    columns: [
      col('previous_segment', 'TEXT', 'Previous segment'),
      col('current_segment', 'TEXT', 'Current segment'),
      col('customer_count', 'INTEGER'),
      col('has_moved', 'BOOLEAN'),
      col('previous_period_as_of_date', 'DATE'),
      col('as_of_date', 'DATE'),
    ],
    metrics: [sum('customers', 'Customers', 'customer_count', ',d')],
  },
  {
    table: 'fct_inventory_daily',
    description: 'Stock on hand per product per day, with units sold and restocked.',
    mainDttm: 'inventory_date',
    columns: [
      col('product_id', 'BIGINT'),
      col('inventory_date', 'DATE'),
      col('quantity_on_hand', 'INTEGER'),
      col('reorder_point', 'INTEGER'),
      col('reorder_quantity', 'INTEGER'),
      col('units_sold', 'INTEGER'),
      col('units_restocked', 'INTEGER'),
      col('is_at_or_below_reorder_point', 'BOOLEAN'),
      col('is_out_of_stock', 'BOOLEAN'),
    ],
    metrics: [
      sum('units_sold', 'Units sold', 'units_sold', ',d'),
      sum('units_restocked', 'Units restocked', 'units_restocked', ',d'),
      sum('stock_on_hand', 'Units on hand', 'quantity_on_hand', ',d'),
      { name: 'products_below_reorder', label: 'Products at or below reorder point', expression: 'count(*) filter (where is_at_or_below_reorder_point)', format: ',d' },
      { name: 'products_out_of_stock', label: 'Products out of stock', expression: 'count(*) filter (where is_out_of_stock)', format: ',d' },
    ],
  },
  {
    table: 'fct_sessions',
    description: 'One row per clickstream session with funnel flags.',
    mainDttm: 'session_date',
    columns: [
      col('session_id', 'TEXT'),
      col('device', 'TEXT', 'Device'),
      col('country_code', 'TEXT', 'Country'),
      col('session_date', 'DATE'),
      col('has_product_view', 'BOOLEAN'),
      col('has_add_to_cart', 'BOOLEAN'),
      col('has_checkout_started', 'BOOLEAN'),
      col('has_order_placed', 'BOOLEAN'),
      col('duration_seconds', 'INTEGER'),
    ],
    metrics: [
      count('sessions', 'Sessions'),
      { name: 'conversion_rate', label: 'Session conversion rate', expression: 'avg(case when has_order_placed then 1.0 else 0.0 end)', format: '.2%' },
      { name: 'sessions_viewing_product', label: 'Viewed a product', expression: 'count(*) filter (where has_product_view)', format: ',d' },
      { name: 'sessions_adding_to_cart', label: 'Added to cart', expression: 'count(*) filter (where has_add_to_cart)', format: ',d' },
      { name: 'sessions_checking_out', label: 'Started checkout', expression: 'count(*) filter (where has_checkout_started)', format: ',d' },
      { name: 'sessions_ordering', label: 'Placed an order', expression: 'count(*) filter (where has_order_placed)', format: ',d' },
    ],
  },
];
