/**
 * Operational alerts: a suspected-fraud alert per (order, rule) and a low-stock alert per
 * (product, crossing of the reorder point), each sent exactly once through ops.alerts_sent.
 * Only facts newer than the lookback (scheduler clock) are alerted, so a warehouse full of
 * history does not flood the inbox the first time the job runs; a burst is spread over the
 * next minutes by a per-run cap rather than dropped.
 */
import { DeliveryUnknownError } from '../../lib/mail/deliver.ts';
import { MailDeliveryError } from '../../lib/mail/transport.ts';
import type { StepContext } from '../job.ts';
import type { PipelineOperations } from '../operations.ts';

export interface FraudFact {
  orderId: string;
  rule: string;
  orderedAt: Date;
  details: Record<string, unknown>;
}

export interface LowStockFact {
  productId: string;
  crossedAt: Date;
  details: Record<string, unknown>;
}

/** A product whose forecast demand over the lead time exceeds its stock (marts.stockout_risk_products). */
export interface StockoutFact {
  productId: string;
  /** The stock cycle it belongs to: the last restock before the forecast ('never' without one). */
  cycle: string;
  asOf: Date;
  details: Record<string, unknown>;
}

/** Where the alert facts come from (the marts suspected_fraud_orders / low_stock_products / stockout_risk_products). */
export interface AlertFacts {
  fraud(since: Date): Promise<FraudFact[]>;
  lowStock(since: Date): Promise<LowStockFact[]>;
  /** Absent where no forecaster runs (stand-ins): no stock-out alerts then. */
  stockoutExpected?(since: Date): Promise<StockoutFact[]>;
}

/** Start time of the latest successful dbt build that refreshed the alert marts. */
export class AlertFreshness {
  #builtAt: Date | undefined;

  markBuilt(startedAt: Date): void {
    if (!this.#builtAt || startedAt > this.#builtAt) this.#builtAt = startedAt;
  }

  /** Did a build that started at or after `instant` refresh the marts? */
  builtSince(instant: Date): boolean {
    return this.#builtAt !== undefined && this.#builtAt >= instant;
  }
}

export const MAX_ALERTS_PER_RUN = 50;

export interface AlertCheckSummary {
  fraudSent: number;
  lowStockSent: number;
  stockoutSent: number;
  alreadySent: number;
  deferred: number;
  /** Left in the outbox because SMTP is down: the scheduler delivers them when it is back. */
  queued: number;
}

export function fraudAlertKey(fact: Pick<FraudFact, 'orderId' | 'rule'>): string {
  return `fraud:${fact.orderId}:${fact.rule}`;
}

/** Once per product and stock cycle: a product that stays at risk night after night is alerted once, again only after a restock. */
export function stockoutAlertKey(fact: Pick<StockoutFact, 'productId' | 'cycle'>): string {
  return `stockout_expected:${fact.productId}:${fact.cycle}`;
}

export function lowStockAlertKey(fact: Pick<LowStockFact, 'productId' | 'crossedAt'>): string {
  return `low_stock:${fact.productId}:${fact.crossedAt.toISOString()}`;
}

/** The order's fraud score, when the mart has one (it sums the points in the reasons). */
function fraudScore(details: Record<string, unknown>): string {
  return details.fraud_score == null ? '' : ` with a fraud score of ${String(details.fraud_score)}`;
}

function describe(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `  ${key}: ${value instanceof Date ? value.toISOString() : String(value)}`)
    .join('\n');
}

export async function checkOperationalAlerts(
  context: StepContext,
  facts: AlertFacts,
  operations: PipelineOperations,
  lookbackMs: number,
): Promise<AlertCheckSummary> {
  const since = new Date(context.clock.now().getTime() - lookbackMs);
  const [fraud, lowStock, stockouts] = await Promise.all([
    facts.fraud(since),
    facts.lowStock(since),
    facts.stockoutExpected?.(since) ?? [],
  ]);
  const summary: AlertCheckSummary = { fraudSent: 0, lowStockSent: 0, stockoutSent: 0, alreadySent: 0, deferred: 0, queued: 0 };
  let budget = MAX_ALERTS_PER_RUN;
  let smtpDown = false;
  // Each alert goes into the outbox the first time it is seen: sent now, or queued when SMTP is down
  // (without a queue, i.e. stand-ins, an SMTP failure fails the step as before).
  const deliver = async (alert: Parameters<PipelineOperations['sendAlert']>[0]): Promise<'sent' | 'already' | 'queued'> => {
    if (smtpDown && operations.queueAlert) return (await operations.queueAlert(alert)) ? 'queued' : 'already';
    try {
      return (await operations.sendAlert(alert)) ? 'sent' : 'already';
    } catch (error) {
      if (!operations.queueAlert || !(error instanceof MailDeliveryError || error instanceof DeliveryUnknownError)) throw error;
      smtpDown = smtpDown || error instanceof MailDeliveryError;
      context.logger.warn({ err: error, key: alert.key }, 'alert not delivered now: kept in the outbox');
      return 'queued';
    }
  };
  // Oldest first: under a burst, the alert closest to missing its deadline goes out first.
  for (const fact of [...fraud].sort((a, b) => a.orderedAt.getTime() - b.orderedAt.getTime())) {
    if (budget <= 0) {
      summary.deferred++;
      continue;
    }
    const outcome = await deliver({
      key: fraudAlertKey(fact),
      kind: 'fraud',
      subject: `Suspected fraud: order ${fact.orderId} (${fact.rule})`,
      text: `Order ${fact.orderId}, placed ${fact.orderedAt.toISOString()}, matches the fraud rule "${fact.rule}"${fraudScore(fact.details)}.\n\nWhy: ${String(fact.details.reasons ?? 'no reasons recorded')}\n\n${describe(fact.details)}\n\nSource: marts.suspected_fraud_orders (features and points: intermediate.int_order_fraud_features)`,
    });
    if (outcome === 'sent') {
      summary.fraudSent++;
      budget--;
      context.onLine(`fraud alert sent: ${fraudAlertKey(fact)}`);
    } else if (outcome === 'queued') summary.queued++;
    else summary.alreadySent++;
  }
  for (const fact of [...lowStock].sort((a, b) => a.crossedAt.getTime() - b.crossedAt.getTime())) {
    if (budget <= 0) {
      summary.deferred++;
      continue;
    }
    const outcome = await deliver({
      key: lowStockAlertKey(fact),
      kind: 'low_stock',
      subject: `Low stock: product ${fact.productId}`,
      text: `Stock of product ${fact.productId} fell to or below its reorder point at ${fact.crossedAt.toISOString()}.\n\n${describe(fact.details)}\n\nSource: marts.low_stock_products`,
    });
    if (outcome === 'sent') {
      summary.lowStockSent++;
      budget--;
      context.onLine(`low-stock alert sent: ${lowStockAlertKey(fact)}`);
    } else if (outcome === 'queued') summary.queued++;
    else summary.alreadySent++;
  }
  for (const fact of [...stockouts].sort((a, b) => a.asOf.getTime() - b.asOf.getTime() || a.productId.localeCompare(b.productId))) {
    if (budget <= 0) {
      summary.deferred++;
      continue;
    }
    const d = fact.details;
    const outcome = await deliver({
      key: stockoutAlertKey(fact),
      kind: 'stockout_expected',
      subject: `Stock-out expected: product ${fact.productId} by ${String(d.expected_stockout_date)}`,
      text:
        `Product ${fact.productId} (${String(d.sku)}, ${String(d.product_name)}) is expected to run out of stock on ${String(d.expected_stockout_date)}, ` +
        `within the ${String(d.lead_time_days)}-day replenishment lead time: ${String(d.quantity_on_hand)} on hand against ${String(d.lead_time_forecast_units)} units ` +
        `of forecast demand over the lead time (${String(d.forecast_daily_units)} a day, ${String(d.days_of_cover)} days of cover; XGBoost forecast as of ${fact.asOf.toISOString().slice(0, 10)}).` +
        `${d.is_at_or_below_reorder_point ? ' It is also at or below its reorder point.' : ' It is still above its reorder point, so the low-stock alert has not fired.'}\n\n${describe(d)}\n\nSource: marts.stockout_risk_products (forecasts: marts.demand_forecast)`,
    });
    if (outcome === 'sent') {
      summary.stockoutSent++;
      budget--;
      context.onLine(`stock-out alert sent: ${stockoutAlertKey(fact)}`);
    } else if (outcome === 'queued') summary.queued++;
    else summary.alreadySent++;
  }
  if (summary.deferred > 0) context.logger.warn({ deferred: summary.deferred }, 'alert burst: the rest go out on the next runs');
  return summary;
}
