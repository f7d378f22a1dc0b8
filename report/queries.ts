/**
 * Every query the report runs, in one module, so a change in the marts' columns touches one
 * file. Reads ONLY schema `marts`, connected as bi_reader. Column names follow the contracts
 * in dbt/models/marts/**.yml.
 *
 * KPIs are required: an error there fails the report. Each other section degrades on its own:
 * if its mart is missing or lacks a column (SQLSTATE 42P01 / 42703) the section says so and
 * the rest of the report still renders.
 */
import type pg from 'pg';

import { loadDemand } from './demand.ts';
import { addDays } from './format.ts';
import type {
  CategoryRevenue,
  CohortCell,
  DayKpis,
  FraudSuspect,
  FreshnessRow,
  FunnelStep,
  LowStockItem,
  ReportData,
  Section,
  SegmentSize,
  TopProduct,
  TrendPoint,
} from './model.ts';

type Db = Pick<pg.Pool, 'query'>;

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const isoDate = (value: unknown): string => (value instanceof Date ? value.toISOString().slice(0, 10) : String(value).slice(0, 10));
const isoTime = (value: unknown): string | null =>
  value === null || value === undefined ? null : value instanceof Date ? value.toISOString() : String(value);

/**
 * A source is "behind" when its newest business time (an order placed, an event) is more than
 * this many hours before the end of the as-of day, i.e. its data does not reach into that day.
 */
export const STALE_AFTER_HOURS = 24;

const MISSING_RELATION_OR_COLUMN = new Set(['42P01', '42703']);

async function optional<T>(load: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, rows: await load() };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && MISSING_RELATION_OR_COLUMN.has(code)) return { ok: false, reason: (error as Error).message };
    throw error;
  }
}

export async function loadKpis(db: Db, dates: string[]): Promise<Map<string, DayKpis>> {
  const result = await db.query(
    `with days as (
         select unnest($1::date[]) as day
     ),
     first_orders as (
         select customer_id, min(order_date) as first_order_date
         from marts.fct_orders
         group by 1
     ),
     customers_per_day as (
         select
             fct_orders.order_date as day,
             count(distinct fct_orders.customer_id) filter (where first_orders.first_order_date = fct_orders.order_date) as new_customers,
             count(distinct fct_orders.customer_id) filter (where first_orders.first_order_date < fct_orders.order_date) as returning_customers
         from marts.fct_orders
         inner join first_orders on fct_orders.customer_id = first_orders.customer_id
         where fct_orders.order_date = any($1::date[])
         group by 1
     )
     select
         days.day,
         coalesce(revenue_daily.gross_revenue, 0) as revenue,
         coalesce(revenue_daily.net_revenue, 0) as net_revenue,
         coalesce(revenue_daily.order_count, 0) as orders,
         revenue_daily.average_order_value as aov,
         coalesce(customers_per_day.new_customers, 0) as new_customers,
         coalesce(customers_per_day.returning_customers, 0) as returning_customers
     from days
     left join marts.revenue_daily on revenue_daily.revenue_date = days.day
     left join customers_per_day on customers_per_day.day = days.day`,
    [dates],
  );
  // Conversion comes from the funnel mart; without it the rest of the KPIs still stand.
  const sessions = await optional(async () => {
    const funnel = await db.query(
      `select session_date, session_count, order_sessions from marts.conversion_funnel_daily where session_date = any($1::date[])`,
      [dates],
    );
    return new Map(
      (funnel.rows as Record<string, unknown>[]).map((r) => [
        isoDate(r.session_date),
        { sessions: num(r.session_count), converted: num(r.order_sessions) },
      ]),
    );
  });
  const byDate = new Map<string, DayKpis>();
  for (const row of result.rows as Record<string, unknown>[]) {
    const date = isoDate(row.day);
    const day = sessions.ok ? (sessions.rows.get(date) ?? { sessions: 0, converted: 0 }) : null;
    byDate.set(date, {
      date,
      revenue: num(row.revenue),
      netRevenue: num(row.net_revenue),
      orders: num(row.orders),
      aov: numOrNull(row.aov),
      newCustomers: num(row.new_customers),
      returningCustomers: num(row.returning_customers),
      sessions: day?.sessions ?? null,
      convertedSessions: day?.converted ?? null,
      conversionRate: day && day.sessions > 0 ? day.converted / day.sessions : null,
    });
  }
  return byDate;
}

export async function loadTrend(db: Db, businessDate: string): Promise<TrendPoint[]> {
  const { rows } = await db.query(
    `select revenue_date, gross_revenue from marts.revenue_daily
      where revenue_date between $1::date - 29 and $1::date order by revenue_date`,
    [businessDate],
  );
  return (rows as Record<string, unknown>[]).map((r) => ({ date: isoDate(r.revenue_date), revenue: num(r.gross_revenue) }));
}

export async function loadCategories(db: Db, businessDate: string): Promise<CategoryRevenue[]> {
  const { rows } = await db.query(
    `select coalesce(category, 'Unknown') as category, sum(net_line_total) as revenue
       from marts.fct_order_items
      where order_date between $1::date - 6 and $1::date
      group by 1 order by revenue desc, category`,
    [businessDate],
  );
  return (rows as Record<string, unknown>[]).map((r) => ({ category: String(r.category), revenue: num(r.revenue) }));
}

export async function loadFunnel(db: Db, businessDate: string): Promise<FunnelStep[]> {
  const { rows } = await db.query(
    `select session_count, product_view_sessions, add_to_cart_sessions, checkout_sessions, order_sessions
       from marts.conversion_funnel_daily where session_date = $1::date`,
    [businessDate],
  );
  const r = (rows[0] ?? {}) as Record<string, unknown>;
  return [
    { step: 'Sessions', sessions: num(r.session_count) },
    { step: 'Product view', sessions: num(r.product_view_sessions) },
    { step: 'Add to cart', sessions: num(r.add_to_cart_sessions) },
    { step: 'Checkout', sessions: num(r.checkout_sessions) },
    { step: 'Order placed', sessions: num(r.order_sessions) },
  ];
}

/** Cohorts shown: the latest this many first-order months up to the as-of date. */
export const COHORT_MONTHS = 12;

/**
 * The latest COHORT_MONTHS cohorts that began on or before the as-of date, however long before
 * it (a history can end years ago), and only the months since their first order that had
 * begun by the as-of date: the mart may hold later months when the report is for an earlier day.
 */
export async function loadCohorts(db: Db, businessDate: string): Promise<CohortCell[]> {
  const { rows } = await db.query(
    `with latest_cohorts as (
         select distinct cohort_month
           from marts.customer_cohorts_monthly
          where cohort_month <= $1::date
          order by cohort_month desc
          limit $2
     )
     select cohorts.cohort_month, cohorts.months_since_first_order, cohorts.cohort_size, cohorts.retention_rate
       from marts.customer_cohorts_monthly as cohorts
      inner join latest_cohorts on cohorts.cohort_month = latest_cohorts.cohort_month
      where cohorts.cohort_month + make_interval(months => cohorts.months_since_first_order) <= $1::date
      order by cohorts.cohort_month, cohorts.months_since_first_order`,
    [businessDate, COHORT_MONTHS],
  );
  return (rows as Record<string, unknown>[]).map((r) => ({
    cohortMonth: isoDate(r.cohort_month),
    monthsSinceFirstOrder: num(r.months_since_first_order),
    cohortSize: num(r.cohort_size),
    retentionRate: num(r.retention_rate),
  }));
}

export async function loadSegments(db: Db): Promise<SegmentSize[]> {
  // Segments are scored as of the marts' as-of date (dbt var as_of_date), which a report for an
  // earlier day does not move: the date goes with the rows so the report can say so.
  const { rows } = await db.query(
    `select rfm_segment, count(*) as customers, max(as_of_date) as as_of_date
       from marts.customer_rfm_segments group by 1 order by customers desc, rfm_segment`,
  );
  return (rows as Record<string, unknown>[]).map((r) => ({
    segment: String(r.rfm_segment),
    customers: num(r.customers),
    asOfDate: r.as_of_date ? isoDate(r.as_of_date) : null,
  }));
}

export async function loadTopProducts(db: Db, businessDate: string, limit = 10): Promise<TopProduct[]> {
  const { rows } = await db.query(
    `select coalesce(dim_products.product_name, 'product ' || fct_order_items.product_id) as product_name,
            coalesce(fct_order_items.category, 'Unknown') as category,
            sum(fct_order_items.quantity) filter (where not fct_order_items.is_cancelled) as units,
            sum(fct_order_items.net_line_total) as revenue
       from marts.fct_order_items
       left join marts.dim_products
         on dim_products.product_id = fct_order_items.product_id and dim_products.is_current
      where fct_order_items.order_date = $1::date
      group by 1, 2
      order by revenue desc, product_name
      limit $2`,
    [businessDate, limit],
  );
  return (rows as Record<string, unknown>[]).map((r) => ({
    productName: String(r.product_name),
    category: String(r.category),
    units: num(r.units),
    revenue: num(r.revenue),
  }));
}

export async function loadLowStock(db: Db, businessDate: string, limit = 15): Promise<LowStockItem[]> {
  const { rows } = await db.query(
    `with latest as (
         select max(inventory_date) as day from marts.fct_inventory_daily where inventory_date <= $1::date
     )
     select coalesce(dim_products.product_name, 'product ' || fct_inventory_daily.product_id) as product_name,
            coalesce(dim_products.sku, '') as sku,
            fct_inventory_daily.quantity_on_hand,
            fct_inventory_daily.reorder_point
       from marts.fct_inventory_daily
      inner join latest on fct_inventory_daily.inventory_date = latest.day
       left join marts.dim_products
         on dim_products.product_id = fct_inventory_daily.product_id and dim_products.is_current
      where fct_inventory_daily.is_at_or_below_reorder_point
      order by fct_inventory_daily.quantity_on_hand, product_name
      limit $2`,
    [businessDate, limit],
  );
  return (rows as Record<string, unknown>[]).map((r) => ({
    productName: String(r.product_name),
    sku: String(r.sku),
    quantityOnHand: num(r.quantity_on_hand),
    reorderPoint: num(r.reorder_point),
  }));
}

export async function loadFraud(db: Db, businessDate: string, limit = 15): Promise<FraudSuspect[]> {
  const { rows } = await db.query(
    `select order_id, customer_id, total_amount, reasons
       from marts.suspected_fraud_orders
      where order_date = $1::date
      order by total_amount desc, order_id
      limit $2`,
    [businessDate, limit],
  );
  return (rows as Record<string, unknown>[]).map((r) => ({
    orderId: String(r.order_id),
    customerId: String(r.customer_id),
    amount: num(r.total_amount),
    reason: String(r.reasons ?? ''),
  }));
}

/**
 * Per source: the newest business time up to the end of the as-of day (the newest order placed,
 * the newest event), from the facts; and, separately, when its newest row was loaded, from
 * ops_source_freshness. A report for 1998 loaded this morning is current in its data and
 * fresh in its load; the two are different questions, so they are two figures.
 */
const FRESHNESS_SOURCES = [
  { table: 'raw_shop.orders', source: 'Shop database (orders)', relation: 'marts.fct_orders', time: 'placed_at' },
  { table: 'raw.shop_events', source: 'Clickstream (events)', relation: 'marts.fct_events', time: 'event_at' },
] as const;

export async function loadFreshness(db: Db, businessDate: string, now: Date): Promise<FreshnessRow[]> {
  const { rows } = await db.query(`select source_table, last_loaded_at from marts.ops_source_freshness`);
  const loads = new Map((rows as Record<string, unknown>[]).map((r) => [String(r.source_table), isoTime(r.last_loaded_at)]));
  const endOfDay = Date.parse(`${addDays(businessDate, 1)}T00:00:00Z`);
  const hours = (from: number, to: number) => Math.max(0, (to - from) / 3_600_000);
  const result: FreshnessRow[] = [];
  for (const { table, source, relation, time } of FRESHNESS_SOURCES) {
    // A shop without this source (a database-only shop has no events mart rows) shows "no data".
    const newest = await optional(async () => {
      const found = await db.query(
        `select max(${time}) as newest from ${relation} where ${time} < ($1::date + 1)::timestamp at time zone 'UTC'`,
        [businessDate],
      );
      return isoTime((found.rows[0] as { newest: unknown } | undefined)?.newest);
    });
    const latestAt = newest.ok ? newest.rows : null;
    const loadedAt = loads.get(table) ?? null;
    const lagHours = latestAt ? hours(Date.parse(latestAt), endOfDay) : null;
    result.push({
      source,
      latestAt,
      lagHours,
      status: lagHours === null ? 'unknown' : lagHours > STALE_AFTER_HOURS ? 'stale' : 'ok',
      loadedAt,
      loadAgeHours: loadedAt ? hours(Date.parse(loadedAt), now.getTime()) : null,
    });
  }
  return result;
}

/** The latest date with revenue data: the default business date when none is given. */
export async function latestBusinessDate(db: Db): Promise<string | null> {
  const { rows } = await db.query(`select max(revenue_date) as day from marts.revenue_daily where order_count > 0`);
  const day = (rows[0] as { day: unknown } | undefined)?.day;
  return day ? isoDate(day) : null;
}

export async function loadReportData(db: Db, businessDate: string, now: Date): Promise<Omit<ReportData, 'gates'>> {
  const previousDate = addDays(businessDate, -1);
  const lastWeekDate = addDays(businessDate, -7);
  const kpis = await loadKpis(db, [businessDate, previousDate, lastWeekDate]);
  const pick = (date: string) => kpis.get(date)!;
  return {
    businessDate,
    previousDate,
    lastWeekDate,
    kpis: { current: pick(businessDate), previous: pick(previousDate), lastWeek: pick(lastWeekDate) },
    trend: await optional(() => loadTrend(db, businessDate)),
    categories: await optional(() => loadCategories(db, businessDate)),
    funnel: await optional(() => loadFunnel(db, businessDate)),
    cohorts: await optional(() => loadCohorts(db, businessDate)),
    segments: await optional(() => loadSegments(db)),
    topProducts: await optional(() => loadTopProducts(db, businessDate)),
    lowStock: await optional(() => loadLowStock(db, businessDate)),
    demand: await optional(() => loadDemand(db, businessDate)),
    fraud: await optional(() => loadFraud(db, businessDate)),
    freshness: await optional(() => loadFreshness(db, businessDate, now)),
    generatedAt: now.toISOString(),
  };
}
