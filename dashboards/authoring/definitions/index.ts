/** The five ShopFlow dashboards, chart by chart, top to bottom. */
import type { DashboardSpec } from '../model.ts';
import { CUSTOMERS } from './customers.ts';
import { EXECUTIVE } from './executive.ts';
import { OPERATIONS } from './operations.ts';
import { PRODUCTS } from './products.ts';
import { SALES } from './sales.ts';

export const DASHBOARDS: DashboardSpec[] = [EXECUTIVE, SALES, CUSTOMERS, PRODUCTS, OPERATIONS];
