/**
 * Order arithmetic and lifecycle plans. All money is integer cents, so
 * subtotal = sum(line_total) and total = subtotal - discount + shipping + tax hold to the cent.
 */
import type { Proportions } from '../params.ts';
import { type Rng, WeightedPicker } from '../random.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './calendar.ts';
import type { CountrySpec } from './geography.ts';
import { PAYMENT_METHODS } from './geography.ts';
import type { StepKind } from './types.ts';

export interface LineDraft {
  productId: number;
  quantity: number;
  unitPriceCents: number;
  discountCents: number;
  lineTotalCents: number;
}

export interface Totals {
  subtotalCents: number;
  discountCents: number;
  shippingCents: number;
  taxCents: number;
  totalCents: number;
}

export function line(productId: number, quantity: number, unitPriceCents: number, discountPercent: number): LineDraft {
  const gross = quantity * unitPriceCents;
  const discountCents = Math.round((gross * discountPercent) / 100);
  return { productId, quantity, unitPriceCents, discountCents, lineTotalCents: gross - discountCents };
}

export function orderTotals(
  lines: readonly LineDraft[],
  couponPercent: number,
  country: CountrySpec,
  freeShippingFromCents: number,
): Totals {
  const subtotalCents = lines.reduce((sum, l) => sum + l.lineTotalCents, 0);
  const discountCents = Math.round((subtotalCents * couponPercent) / 100);
  const net = subtotalCents - discountCents;
  const shippingCents = net >= freeShippingFromCents ? 0 : country.shippingCents;
  const taxCents = Math.round((net * country.taxBasisPoints) / 10_000);
  return { subtotalCents, discountCents, shippingCents, taxCents, totalCents: net + shippingCents + taxCents };
}

export class OrderShapes {
  readonly #lines: WeightedPicker<number>;
  readonly #units: WeightedPicker<number>;
  readonly #methods = new WeightedPicker(PAYMENT_METHODS);
  readonly #p: Proportions;

  constructor(p: Proportions) {
    this.#p = p;
    this.#lines = new WeightedPicker(p.linesPerOrderWeights.map((w, i) => [i + 1, w] as const));
    this.#units = new WeightedPicker(p.unitsPerLineWeights.map((w, i) => [i + 1, w] as const));
  }

  lineCount(rng: Rng): number {
    return this.#lines.pick(rng);
  }

  units(rng: Rng): number {
    return this.#units.pick(rng);
  }

  lineDiscountPercent(rng: Rng): number {
    return rng.chance(this.#p.lineDiscountShare) ? 10 : 0;
  }

  couponPercent(rng: Rng): number {
    return rng.chance(this.#p.couponShare) ? rng.pick([5, 10, 15, 20]) : 0;
  }

  paymentMethod(rng: Rng): string {
    return this.#methods.pick(rng);
  }

  /**
   * The steps ahead of an order placed at `placedAt`, with their times. Paths:
   * pay -> ship -> deliver [-> return], pay -> cancel, or payment_failed (cancelled unpaid).
   */
  lifecycle(
    rng: Rng,
    placedAt: number,
    method: string,
    country: CountrySpec,
  ): { failedAttempts: number; steps: { kind: StepKind; at: number }[] } {
    const p = this.#p;
    if (rng.chance(p.paymentFailureShare)) {
      return { failedAttempts: rng.int(1, 3), steps: [{ kind: 'payment_failed', at: placedAt + 30 * MINUTE_MS }] };
    }
    const failedAttempts = rng.chance(p.failedAttemptShare) ? rng.int(1, 2) : 0;
    const paidAt = method === 'bank_transfer' ? placedAt + rng.float(0.5, 3) * DAY_MS : placedAt + rng.int(15_000, 180_000);
    const steps: { kind: StepKind; at: number }[] = [{ kind: 'pay', at: Math.round(paidAt) }];
    if (rng.chance(p.cancelAfterPaymentShare)) {
      steps.push({ kind: 'cancel', at: Math.round(paidAt + rng.float(1, 20) * HOUR_MS) });
      return { failedAttempts, steps };
    }
    const shippedAt = paidAt + rng.logNormal(Math.log(1.1), 0.5) * DAY_MS;
    const [minDays, maxDays] = country.deliveryDays;
    const deliveredAt = shippedAt + rng.float(minDays, maxDays) * DAY_MS;
    steps.push({ kind: 'ship', at: Math.round(shippedAt) }, { kind: 'deliver', at: Math.round(deliveredAt) });
    if (rng.chance(p.returnShare)) steps.push({ kind: 'return', at: Math.round(deliveredAt + rng.float(2, 25) * DAY_MS) });
    return { failedAttempts, steps };
  }
}
