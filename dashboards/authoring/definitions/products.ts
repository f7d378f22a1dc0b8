/** Products and inventory: what sells, and what is about to run out. */
import type { DashboardSpec } from '../model.ts';

/** Stock history starts when each product was created, long before most sales: show the latest half year of the data itself (never the wall clock). */
const RECENT = { column: 'days_before_latest', op: '<', value: 182 } as const;

export const PRODUCTS: DashboardSpec = {
  slug: 'products-inventory',
  title: 'Products and inventory',
  description:
    'Top products, category performance, stock levels, products at or below their reorder point, and demand forecast vs actual with the products expected to run out.',
  rows: [
    [
      {
        key: 'prod_top_revenue',
        title: 'Top 15 products by net revenue',
        dataset: 'top_products',
        width: 6,
        height: 60,
        chart: { kind: 'category_bar', x: 'product_name', metrics: ['net_revenue'], horizontal: true, rowLimit: 15, format: '$,.3s' },
      },
      {
        key: 'prod_top_table',
        title: 'Top 25 products: all time and last 30 days',
        dataset: 'top_products',
        width: 6,
        height: 60,
        where: 'revenue_rank <= 25',
        chart: {
          kind: 'table',
          columns: [
            'revenue_rank',
            'product_name',
            'category',
            'units_sold',
            'net_revenue',
            'last_30_days_revenue_rank',
            'last_30_days_net_revenue',
          ],
          orderBy: [['revenue_rank', 'asc']],
          rowLimit: 100,
          formats: { net_revenue: '$,.0f', last_30_days_net_revenue: '$,.0f' },
        },
      },
    ],
    [
      {
        key: 'prod_low_stock',
        title: 'Low stock: at or below reorder point, least cover first',
        dataset: 'low_stock_products',
        width: 8,
        chart: {
          kind: 'table',
          columns: [
            'sku',
            'product_name',
            'category',
            'quantity_on_hand',
            'reorder_point',
            'reorder_quantity',
            'average_daily_units_sold',
            'days_of_cover',
            'is_out_of_stock',
          ],
          orderBy: [['days_of_cover', 'asc']],
          rowLimit: 500,
        },
      },
      {
        key: 'prod_low_stock_by_category',
        title: 'Low-stock products by category',
        dataset: 'low_stock_products',
        width: 4,
        chart: { kind: 'pie', groupby: 'category', metric: 'products', format: ',d' },
      },
    ],
    [
      {
        key: 'prod_units_sold',
        title: 'Units sold and restocked per week (latest 26 weeks)',
        dataset: 'fct_inventory_daily',
        width: 6,
        filter: RECENT,
        chart: {
          kind: 'timeseries',
          style: 'bar',
          x: { column: 'inventory_date', grain: 'P1W' },
          metrics: ['units_sold', 'units_restocked'],
          format: ',d',
        },
      },
      {
        key: 'prod_below_reorder',
        title: 'Products at or below reorder point per day (latest 26 weeks)',
        dataset: 'fct_inventory_daily',
        width: 6,
        filter: RECENT,
        chart: {
          kind: 'timeseries',
          style: 'line',
          x: { column: 'inventory_date', grain: 'P1D' },
          metrics: ['products_below_reorder', 'products_out_of_stock'],
          format: ',d',
        },
      },
    ],
    [
      {
        key: 'prod_forecast_vs_actual',
        title: 'Units sold per day vs the latest XGBoost forecast, with its 80% interval',
        dataset: 'demand_vs_actual',
        width: 7,
        // The latest forecast of each day, not horizon 1: a forecaster run weekly (the demo's
        // --history) leaves horizon-1 rows one day in seven, which drew three lone points.
        where: "model = 'xgboost' and grain = 'category' and is_latest_forecast",
        chart: {
          kind: 'timeseries',
          style: 'line',
          x: { column: 'forecast_date', grain: 'P1D' },
          metrics: ['actual_units', 'forecast_units', 'lower_units', 'upper_units'],
          format: ',d',
        },
      },
      {
        key: 'prod_stockout_risk',
        title: 'Expected to run out within the lead time',
        dataset: 'stockout_risk_products',
        width: 5,
        chart: {
          kind: 'table',
          columns: ['sku', 'product_name', 'quantity_on_hand', 'forecast_daily_units', 'days_of_cover', 'expected_stockout_date'],
          orderBy: [['expected_stockout_date', 'asc']],
          rowLimit: 200,
          timestampFormat: '%Y-%m-%d',
        },
      },
    ],
    [
      {
        key: 'prod_category_units',
        title: 'Units sold per week by category',
        dataset: 'category_revenue_weekly',
        width: 12,
        chart: {
          kind: 'timeseries',
          style: 'line',
          x: { column: 'week_start_date', grain: 'P1W' },
          metrics: ['units'],
          groupby: ['category'],
          format: ',d',
        },
      },
    ],
  ],
};
