/**
 * Reads alert facts from the marts as bi_reader (the marts' read-only role). Column names follow
 * the contracts in dbt/models/marts/operations/*.yml.
 */
import type pg from 'pg';

import type { AlertFacts, FraudFact, LowStockFact } from './operational-alerts.ts';

export class MartAlertFacts implements AlertFacts {
  constructor(private readonly pool: pg.Pool) {}

  async fraud(since: Date): Promise<FraudFact[]> {
    const { rows } = await this.pool.query<{ order_id: string | number; fraud_rule: string; ordered_at: Date; row: Record<string, unknown> }>(
      `select f.order_id, f.fraud_rule, f.ordered_at, to_jsonb(f) as row
         from marts.suspected_fraud_orders f
        where f.ordered_at >= $1
        order by f.ordered_at`,
      [since],
    );
    return rows.map((r) => ({ orderId: String(r.order_id), rule: r.fraud_rule, orderedAt: r.ordered_at, details: r.row }));
  }

  async lowStock(since: Date): Promise<LowStockFact[]> {
    const { rows } = await this.pool.query<{ product_id: string | number; crossed_at: Date; row: Record<string, unknown> }>(
      `select l.product_id, l.crossed_at, to_jsonb(l) as row
         from marts.low_stock_products l
        where l.crossed_at >= $1
        order by l.crossed_at`,
      [since],
    );
    return rows.map((r) => ({ productId: String(r.product_id), crossedAt: r.crossed_at, details: r.row }));
  }
}
