/** Sales: daily and hourly patterns, categories and geography. */
import type { DashboardSpec } from '../model.ts';

export const SALES: DashboardSpec = {
  slug: 'sales',
  title: 'Sales',
  description: 'Revenue per day, orders by weekday and hour, revenue by category and by country.',
  rows: [
    [
      {
        key: 'sales_revenue_daily',
        title: 'Gross and net revenue per day',
        dataset: 'revenue_daily',
        width: 8,
        chart: {
          kind: 'timeseries',
          style: 'line',
          x: { column: 'revenue_date', grain: 'P1D' },
          metrics: ['gross_revenue', 'net_revenue'],
          format: '$,.3s',
        },
      },
      {
        key: 'sales_aov_monthly',
        title: 'Average order value per month',
        dataset: 'revenue_daily',
        width: 4,
        chart: { kind: 'timeseries', style: 'bar', x: { column: 'revenue_date', grain: 'P1M' }, metrics: ['aov'], format: '$,.2f' },
      },
    ],
    [
      {
        key: 'sales_hourly_heatmap',
        title: 'Orders by weekday and hour (UTC)',
        dataset: 'orders_hourly',
        width: 8,
        height: 60,
        chart: { kind: 'heatmap', x: 'hour_label', y: 'weekday', metric: 'orders', format: ',d', showValues: false },
      },
      {
        key: 'sales_orders_by_hour',
        title: 'Orders by hour of day (UTC)',
        dataset: 'orders_hourly',
        width: 4,
        height: 60,
        chart: { kind: 'category_bar', x: 'hour_label', metrics: ['orders'], sortBy: 'x', format: ',d' },
      },
    ],
    [
      {
        key: 'sales_category_weekly',
        title: 'Net revenue per week by category',
        dataset: 'category_revenue_weekly',
        width: 8,
        chart: {
          kind: 'timeseries',
          style: 'area',
          x: { column: 'week_start_date', grain: 'P1W' },
          metrics: ['net_revenue'],
          groupby: ['category'],
          stack: true,
          format: '$,.3s',
        },
      },
      {
        key: 'sales_category_share',
        title: 'Share of net revenue by category',
        dataset: 'category_revenue_monthly',
        width: 4,
        chart: { kind: 'pie', groupby: 'category', metric: 'net_revenue', format: '$,.3s' },
      },
    ],
    [
      {
        key: 'sales_by_country',
        title: 'Net revenue by shipping country',
        dataset: 'sales_by_geography',
        width: 6,
        height: 60,
        chart: { kind: 'category_bar', x: 'country_code', metrics: ['net_revenue'], horizontal: true, rowLimit: 20, format: '$,.3s' },
      },
      {
        key: 'sales_by_region',
        title: 'Top regions',
        dataset: 'sales_by_geography',
        width: 6,
        height: 60,
        chart: { kind: 'table_agg', groupby: ['country_code', 'region'], metrics: ['net_revenue', 'orders', 'aov'], rowLimit: 25 },
      },
    ],
  ],
};
