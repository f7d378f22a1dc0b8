/** Executive overview: the few numbers a manager checks first, and their trend. */
import type { DashboardSpec } from '../model.ts';

const WEEK = { column: 'revenue_date', grain: 'P1W' } as const;

export const EXECUTIVE: DashboardSpec = {
  slug: 'executive-overview',
  title: 'Executive overview',
  description: 'Revenue, orders, average order value and conversion for the current week against the week before, with their trends.',
  rows: [
    [
      {
        key: 'exec_revenue_week',
        title: 'Gross revenue, week to date',
        dataset: 'revenue_daily',
        width: 3,
        height: 40,
        chart: { kind: 'big_number', metric: 'gross_revenue', x: WEEK, subheader: 'vs previous week', format: '$,.3s' },
      },
      {
        key: 'exec_orders_week',
        title: 'Orders, week to date',
        dataset: 'revenue_daily',
        width: 3,
        height: 40,
        chart: { kind: 'big_number', metric: 'orders', x: WEEK, subheader: 'vs previous week', format: ',d' },
      },
      {
        key: 'exec_aov_week',
        title: 'Average order value, week to date',
        dataset: 'revenue_daily',
        width: 3,
        height: 40,
        chart: { kind: 'big_number', metric: 'aov', x: WEEK, subheader: 'vs previous week', format: '$,.2f' },
      },
      {
        key: 'exec_conversion_week',
        title: 'Session conversion rate, week to date',
        dataset: 'conversion_funnel_daily',
        width: 3,
        height: 40,
        chart: {
          kind: 'big_number',
          metric: 'conversion_rate',
          x: { column: 'session_date', grain: 'P1W' },
          subheader: 'vs previous week',
          format: '.2%',
        },
      },
    ],
    [
      {
        key: 'exec_revenue_trend',
        title: 'Gross and net revenue per week',
        dataset: 'revenue_daily',
        width: 8,
        chart: { kind: 'timeseries', style: 'line', x: WEEK, metrics: ['gross_revenue', 'net_revenue'], format: '$,.3s' },
      },
      {
        key: 'exec_totals',
        title: 'All-time totals',
        dataset: 'revenue_daily',
        width: 4,
        chart: { kind: 'table_agg', groupby: [], metrics: ['gross_revenue', 'net_revenue', 'orders', 'aov', 'cancel_rate', 'return_rate'] },
      },
    ],
    [
      {
        key: 'exec_orders_trend',
        title: 'Orders per week',
        dataset: 'revenue_daily',
        width: 6,
        chart: { kind: 'timeseries', style: 'bar', x: WEEK, metrics: ['orders'], format: ',d' },
      },
      {
        key: 'exec_conversion_trend',
        title: 'Session conversion rate per week',
        dataset: 'conversion_funnel_daily',
        width: 6,
        chart: {
          kind: 'timeseries',
          style: 'line',
          x: { column: 'session_date', grain: 'P1W' },
          metrics: ['conversion_rate'],
          format: '.2%',
        },
      },
    ],
    [
      {
        key: 'exec_active_users',
        title: 'Active users: daily, 7-day and 30-day',
        dataset: 'active_users_daily',
        width: 6,
        chart: {
          kind: 'timeseries',
          style: 'line',
          x: { column: 'activity_date', grain: 'P1D' },
          metrics: ['dau', 'wau', 'mau'],
          format: ',d',
        },
      },
      {
        key: 'exec_category_monthly',
        title: 'Net revenue per month by category',
        dataset: 'category_revenue_monthly',
        width: 6,
        chart: {
          kind: 'timeseries',
          style: 'bar',
          x: { column: 'month_start_date', grain: 'P1M' },
          metrics: ['net_revenue'],
          groupby: ['category'],
          stack: true,
          format: '$,.3s',
        },
      },
    ],
  ],
};
