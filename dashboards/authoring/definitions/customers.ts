/** Customers: RFM segments and how they move, cohort retention, lifetime value, repeat rate. */
import type { DashboardSpec } from '../model.ts';
import { LTV_BAND_ORDER_METRIC } from './datasets.ts';

export const CUSTOMERS: DashboardSpec = {
  slug: 'customers',
  title: 'Customers',
  description:
    'RFM segments and movement between them, monthly cohort retention, lifetime value, repeat purchase rate and suspected fraud.',
  rows: [
    [
      {
        key: 'cust_avg_ltv',
        title: 'Average lifetime value',
        dataset: 'customer_lifetime_value',
        width: 3,
        height: 30,
        chart: { kind: 'big_number_total', metric: 'avg_ltv', subheader: 'net revenue per customer who ordered', format: '$,.2f' },
      },
      {
        key: 'cust_repeat_share',
        title: 'Repeat customers',
        dataset: 'customer_lifetime_value',
        width: 3,
        height: 30,
        chart: { kind: 'big_number_total', metric: 'repeat_share', subheader: 'customers with two or more valid orders', format: '.1%' },
      },
      {
        key: 'cust_count',
        title: 'Customers who ordered',
        dataset: 'customer_lifetime_value',
        width: 3,
        height: 30,
        chart: { kind: 'big_number_total', metric: 'customers', subheader: 'all time', format: ',d' },
      },
      {
        key: 'cust_fraud_count',
        title: 'Suspected fraud orders',
        dataset: 'suspected_fraud_orders',
        width: 3,
        height: 30,
        chart: { kind: 'big_number_total', metric: 'orders', subheader: 'orders tripping a fraud rule', format: ',d' },
      },
    ],
    [
      {
        key: 'cust_rfm_segments',
        title: 'Customers per RFM segment',
        dataset: 'customer_rfm_segments',
        width: 5,
        height: 60,
        chart: { kind: 'category_bar', x: 'rfm_segment', metrics: ['customers'], horizontal: true, format: ',d' },
      },
      {
        key: 'cust_rfm_movement',
        title: 'RFM segment movement: previous segment (rows) to current (columns)',
        dataset: 'rfm_segment_movement',
        width: 7,
        height: 60,
        chart: { kind: 'heatmap', x: 'current_segment', y: 'previous_segment', metric: 'customers', format: ',d' },
      },
    ],
    [
      {
        key: 'cust_cohort_retention',
        title: 'Cohort retention by months since first order',
        dataset: 'customer_cohorts_monthly',
        width: 12,
        height: 80,
        chart: { kind: 'heatmap', x: 'months_since_first_order', y: 'cohort', metric: 'retention', format: '.0%', normalizeAcross: 'x' },
      },
    ],
    [
      {
        key: 'cust_ltv_bands',
        title: 'Customers by lifetime value band',
        dataset: 'customer_lifetime_value',
        width: 4,
        chart: { kind: 'category_bar', x: 'ltv_band', metrics: ['customers'], sortBy: { metric: LTV_BAND_ORDER_METRIC }, format: ',d' },
      },
      {
        key: 'cust_repeat_rate',
        title: 'Repeat purchase rate (cumulative)',
        dataset: 'repeat_purchase_rate',
        width: 4,
        chart: { kind: 'timeseries', style: 'line', x: { column: 'order_month', grain: 'P1M' }, metrics: ['repeat_rate'], format: '.1%' },
      },
      {
        key: 'cust_segment_revenue',
        title: 'Revenue and recency by RFM segment',
        dataset: 'customer_rfm_segments',
        width: 4,
        chart: { kind: 'table_agg', groupby: ['rfm_segment'], metrics: ['monetary', 'customers', 'avg_recency'], rowLimit: 20 },
      },
    ],
    [
      {
        key: 'cust_fraud_orders',
        title: 'Suspected fraud orders, latest 100',
        dataset: 'suspected_fraud_orders',
        width: 12,
        chart: {
          kind: 'table',
          columns: ['placed_at', 'order_id', 'customer_id', 'order_status', 'total_amount', 'rules_triggered', 'reasons'],
          orderBy: [['placed_at', 'desc']],
          rowLimit: 100,
          formats: { total_amount: '$,.2f' },
        },
      },
    ],
  ],
};
