/**
 * Reads alert facts from the marts as bi_reader (the marts' read-only role). Columns follow the
 * contracts in dbt/models/marts/sales/_sales__models.yml and products/_products__models.yml.
 *
 * Fraud: one fact per (order, matched rule), timed by the order's placed_at.
 * Low stock: the mart lists products at or below their reorder point on the as-of date; the
 * crossing is the first day of the current run of days at or below it (from fct_inventory_daily),
 * so a product that stays low is alerted once, and again only after it recovered and fell again.
 * Stock-out expected: products the latest forecast says run out within the lead time; one fact
 * per product and stock cycle (its last restock), so it is alerted once until the next restock.
 */
import type pg from 'pg';

import type { AlertFacts, FraudFact, LowStockFact, StockoutFact } from './operational-alerts.ts';

const UNDEFINED_TABLE = '42P01';

/** Fraud rule flags of marts.suspected_fraud_orders and the rule names used in alert keys. */
export const FRAUD_RULES = {
  is_card_used_from_multiple_countries: 'card_multiple_countries',
  is_large_order_on_new_account: 'large_order_new_account',
  has_repeated_payment_failures: 'repeated_payment_failures',
} as const;

type FraudRow = { order_id: string; placed_at: Date; row: Record<string, unknown> } & Record<keyof typeof FRAUD_RULES, boolean>;

export class MartAlertFacts implements AlertFacts {
  constructor(private readonly pool: pg.Pool) {}

  async fraud(since: Date): Promise<FraudFact[]> {
    const { rows } = await this.pool.query<FraudRow>(
      `select f.order_id::text as order_id, f.placed_at, ${Object.keys(FRAUD_RULES)
        .map((c) => `f.${c}`)
        .join(', ')},
              jsonb_build_object('reasons', f.reasons, 'fraud_score', f.fraud_score, 'customer_id', f.customer_id, 'total_amount', f.total_amount, 'order_status', f.order_status) as row
         from marts.suspected_fraud_orders f
        where f.placed_at >= $1
        order by f.placed_at`,
      [since],
    );
    return rows.flatMap((r) =>
      (Object.entries(FRAUD_RULES) as [keyof typeof FRAUD_RULES, string][])
        .filter(([column]) => r[column])
        .map(([, rule]) => ({ orderId: r.order_id, rule, orderedAt: r.placed_at, details: r.row })),
    );
  }

  async lowStock(since: Date): Promise<LowStockFact[]> {
    const { rows } = await this.pool.query<{ product_id: string; crossed_on: string; row: Record<string, unknown> }>(
      `with low as (
         select * from marts.low_stock_products
       ), last_ok as (
         select d.product_id, max(d.inventory_date) as last_ok_date
           from marts.fct_inventory_daily d
           join low on low.product_id = d.product_id and d.inventory_date <= low.as_of_date
          where not d.is_at_or_below_reorder_point
          group by d.product_id
       ), first_seen as (
         select d.product_id, min(d.inventory_date) as first_date
           from marts.fct_inventory_daily d join low using (product_id)
          group by d.product_id
       )
       select low.product_id::text as product_id,
              to_char(coalesce(last_ok.last_ok_date + 1, first_seen.first_date, low.as_of_date), 'YYYY-MM-DD') as crossed_on,
              jsonb_build_object('sku', low.sku, 'product_name', low.product_name, 'quantity_on_hand', low.quantity_on_hand,
                                 'reorder_point', low.reorder_point, 'days_of_cover', low.days_of_cover, 'as_of_date', low.as_of_date) as row
         from low
         left join last_ok using (product_id)
         left join first_seen using (product_id)
        where coalesce(last_ok.last_ok_date + 1, first_seen.first_date, low.as_of_date) >= ($1::timestamptz at time zone 'UTC')::date
        order by 2, 1`,
      [since],
    );
    return rows.map((r) => ({ productId: r.product_id, crossedAt: new Date(`${r.crossed_on}T00:00:00Z`), details: r.row }));
  }

  async stockoutExpected(since: Date): Promise<StockoutFact[]> {
    const result = await this.pool
      .query<{ product_id: string; cycle: string; as_of_date: string; row: Record<string, unknown> }>(
        `select r.product_id::text as product_id,
              coalesce(to_char(r.last_restocked_date, 'YYYY-MM-DD'), 'never') as cycle,
              to_char(r.as_of_date, 'YYYY-MM-DD') as as_of_date,
              jsonb_build_object('sku', r.sku, 'product_name', r.product_name, 'quantity_on_hand', r.quantity_on_hand,
                                 'reorder_point', r.reorder_point, 'forecast_daily_units', r.forecast_daily_units,
                                 'lead_time_forecast_units', r.lead_time_forecast_units, 'lead_time_days', r.lead_time_days,
                                 'days_of_cover', r.days_of_cover, 'expected_stockout_date', to_char(r.expected_stockout_date, 'YYYY-MM-DD'),
                                 'is_at_or_below_reorder_point', r.is_at_or_below_reorder_point) as row
         from marts.stockout_risk_products r
        where r.as_of_date >= ($1::timestamptz at time zone 'UTC')::date
        order by r.as_of_date, r.product_id`,
        [since],
      )
      // Until the first build after the forecaster's migration the mart does not exist: nothing to alert yet.
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === UNDEFINED_TABLE) return { rows: [] };
        throw error;
      });
    return result.rows.map((r) => ({
      productId: r.product_id,
      cycle: r.cycle,
      asOf: new Date(`${r.as_of_date}T00:00:00Z`),
      details: r.row,
    }));
  }
}
