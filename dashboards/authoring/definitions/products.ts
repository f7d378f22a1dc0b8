/** Products and inventory: what sells, and what is about to run out. */
import type { DashboardSpec } from '../model.ts';

export const PRODUCTS: DashboardSpec = {
  slug: 'products-inventory',
  title: 'Products and inventory',
  description: 'Units sold and restocked, stock on hand, products at or below their reorder point.',
  rows: [
    [
      { key: 'prod_units_sold', title: 'Units sold and restocked per week', dataset: 'fct_inventory_daily', width: 8, chart: { kind: 'timeseries', style: 'bar', x: { column: 'inventory_date', grain: 'P1W' }, metrics: ['units_sold', 'units_restocked'], format: ',d' } },
      { key: 'prod_below_reorder', title: 'Products at or below reorder point per day', dataset: 'fct_inventory_daily', width: 4, chart: { kind: 'timeseries', style: 'line', x: { column: 'inventory_date', grain: 'P1D' }, metrics: ['products_below_reorder', 'products_out_of_stock'], format: ',d' } },
    ],
  ],
};
