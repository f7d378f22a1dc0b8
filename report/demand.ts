/**
 * The report's demand section: yesterday's units against the latest XGBoost forecast made
 * before it (normally the day before; with its 80% interval), the products it missed most,
 * and the products the latest forecast says will run out within the lead time. Reads marts.demand_vs_actual and
 * marts.stockout_risk_products (docs/forecast.md) as bi_reader.
 */
import type pg from 'pg';

type Db = Pick<pg.Pool, 'query'>;

export interface DemandMiss {
  productName: string;
  category: string;
  forecastUnits: number;
  actualUnits: number;
  /** The product was out of stock: the actual is what the shelf allowed. */
  censored: boolean;
}

export interface StockoutRisk {
  productName: string;
  sku: string;
  quantityOnHand: number;
  forecastDailyUnits: number;
  daysOfCover: number | null;
  expectedStockoutDate: string;
}

export interface DemandSummary {
  /** As-of date of the forecast compared with the business date (null: none covers it). */
  forecastAsOf: string | null;
  forecastUnits: number | null;
  lowerUnits: number | null;
  upperUnits: number | null;
  actualUnits: number | null;
  misses: DemandMiss[];
  atRisk: StockoutRisk[];
}

const num = (v: unknown): number => Number(v);
const isoDate = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));

export async function loadDemand(db: Db, businessDate: string, limit = 5): Promise<DemandSummary> {
  // The latest forecast made before the business date (demand_vs_actual.is_latest_forecast:
  // horizon 1 when the forecaster runs nightly).
  const { rows: totals } = await db.query(
    `select max(as_of_date) as as_of_date, sum(forecast_units) as forecast_units, sum(lower_units) as lower_units,
            sum(upper_units) as upper_units, sum(actual_units) as actual_units
       from marts.demand_vs_actual
      where model = 'xgboost' and grain = 'category' and forecast_date = $1::date and is_latest_forecast`,
    [businessDate],
  );
  const total = totals[0] as Record<string, unknown> | undefined;
  const asOf = total?.as_of_date ? isoDate(total.as_of_date) : null;
  const misses = asOf
    ? (
        await db.query(
          `select coalesce(p.product_name, 'product ' || d.product_id) as product_name, d.category,
                  d.forecast_units, d.actual_units, d.is_censored
             from marts.demand_vs_actual d
             left join marts.dim_products p on p.product_id = d.product_id and p.is_current
            where d.model = 'xgboost' and d.grain = 'product' and d.as_of_date = $1::date and d.forecast_date = $2::date
            order by d.absolute_error_units desc, d.product_id
            limit $3`,
          [asOf, businessDate, limit],
        )
      ).rows
    : [];
  const { rows: risks } = await db.query(
    `select product_name, sku, quantity_on_hand, forecast_daily_units, days_of_cover, expected_stockout_date
       from marts.stockout_risk_products
      where as_of_date <= $1::date
      order by expected_stockout_date, days_of_cover nulls last, product_id
      limit $2`,
    [businessDate, limit * 2],
  );
  const opt = (v: unknown) => (v === null || v === undefined ? null : num(v));
  return {
    forecastAsOf: asOf,
    forecastUnits: opt(total?.forecast_units),
    lowerUnits: opt(total?.lower_units),
    upperUnits: opt(total?.upper_units),
    actualUnits: opt(total?.actual_units),
    misses: (misses as Record<string, unknown>[]).map((r) => ({
      productName: String(r.product_name),
      category: String(r.category),
      forecastUnits: num(r.forecast_units),
      actualUnits: num(r.actual_units),
      censored: r.is_censored === true,
    })),
    atRisk: (risks as Record<string, unknown>[]).map((r) => ({
      productName: String(r.product_name),
      sku: String(r.sku),
      quantityOnHand: num(r.quantity_on_hand),
      forecastDailyUnits: num(r.forecast_daily_units),
      daysOfCover: opt(r.days_of_cover),
      expectedStockoutDate: isoDate(r.expected_stockout_date),
    })),
  };
}
