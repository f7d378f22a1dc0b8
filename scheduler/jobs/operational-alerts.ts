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

/** Where the alert facts come from (the marts suspected_fraud_orders / low_stock_products). */
export interface AlertFacts {
  fraud(since: Date): Promise<FraudFact[]>;
  lowStock(since: Date): Promise<LowStockFact[]>;
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
  alreadySent: number;
  deferred: number;
  /** Left in the outbox because SMTP is down: the scheduler delivers them when it is back. */
  queued: number;
}

export function fraudAlertKey(fact: Pick<FraudFact, 'orderId' | 'rule'>): string {
  return `fraud:${fact.orderId}:${fact.rule}`;
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
  const [fraud, lowStock] = await Promise.all([facts.fraud(since), facts.lowStock(since)]);
  const summary: AlertCheckSummary = { fraudSent: 0, lowStockSent: 0, alreadySent: 0, deferred: 0, queued: 0 };
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
  if (summary.deferred > 0) context.logger.warn({ deferred: summary.deferred }, 'alert burst: the rest go out on the next runs');
  return summary;
}
