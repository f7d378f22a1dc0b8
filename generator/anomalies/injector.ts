/**
 * --anomalies: injects bad and suspicious data at the rates in params.ts (times --anomaly-rate)
 * and records each one in the manifest. World anomalies (fraud patterns, stock write-offs) are
 * real rows and sessions planned into a step; message anomalies (duplicates, late and malformed
 * messages) are applied to a step's batch after it is generated.
 */
import { MAX_EVENT_BYTES } from '../../lib/events/schema.ts';
import type { Action } from '../day-actions.ts';
import { ANOMALY_RATES } from '../params.ts';
import { Rng } from '../random.ts';
import type { Batch, OutgoingMessage } from '../world/batch.ts';
import { COUNTRIES } from '../world/geography.ts';
import { line } from '../world/orders.ts';
import type { Shop } from '../world/shop.ts';
import { sha256, type AnomalyKind, type Manifest } from './manifest.ts';

export interface InjectorOptions {
  seed: number;
  /** Multiplies every rate in ANOMALY_RATES. */
  rate: number;
  manifest: Manifest;
  /** How many steps a late event is held back: backfill days, or live ticks. */
  lateHoldSteps: readonly [number, number];
}

interface HeldMessage {
  message: OutgoingMessage;
  stepsLeft: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const MALFORMED: readonly AnomalyKind[] = [
  'malformed_invalid_json',
  'malformed_missing_field',
  'malformed_wrong_type',
  'malformed_negative_price',
  'malformed_oversized',
];

export class AnomalyInjector {
  readonly #o: InjectorOptions;
  #held: HeldMessage[] = [];
  #steps = 0;

  constructor(options: InjectorOptions) {
    this.#o = options;
  }

  get manifest(): Manifest {
    return this.#o.manifest;
  }

  /** Fraud patterns and stock write-offs for the step [start, end). */
  planStep(shop: Shop, start: number, end: number, ordersInStep: number): Action[] {
    const rng = new Rng(this.#o.seed, 'anomalies', 'plan', start);
    const m = this.#o.rate;
    const actions: Action[] = [];
    // An hour clear of the step's edges when the step is long enough (backfill days), so each
    // pattern lands inside its day; a live tick is shorter and uses the whole tick.
    const earliest = Math.min(start + 3_600_000, end);
    const latest = Math.max(start, end - 3_600_000);
    const when = () => Math.round(Math.min(earliest, latest) + rng.next() * Math.abs(latest - earliest));
    const perOrder = (perThousand: number) => rng.poisson((ordersInStep * perThousand * m) / 1000);
    for (let i = perOrder(ANOMALY_RATES.cardAcrossCountriesPerThousandOrders); i > 0; i--)
      this.#cardAcrossCountries(shop, rng, when(), actions);
    for (let i = perOrder(ANOMALY_RATES.highValueNewAccountPerThousandOrders); i > 0; i--)
      this.#highValueNewAccount(shop, rng, when(), actions);
    for (let i = perOrder(ANOMALY_RATES.failedPaymentBurstPerThousandOrders); i > 0; i--) this.#failedBurst(shop, rng, when(), actions);
    for (let i = rng.poisson((ANOMALY_RATES.lowStockPerDay * m * (end - start)) / 86_400_000); i > 0; i--)
      this.#lowStock(shop, rng, when(), actions);
    return actions;
  }

  #cardAcrossCountries(shop: Shop, rng: Rng, at: number, actions: Action[]): void {
    const card = rng.hex(8);
    const countries = rng.shuffle(COUNTRIES.map((c) => c.code)).slice(0, 3);
    const orderIds: number[] = [];
    const customerIds: number[] = [];
    // The orders lead up to `at` (never past it: live mode must not write the future).
    const gaps = countries.map(() => rng.int(60_000, 150_000));
    let orderAt = at - gaps.reduce((a, b) => a + b, 0);
    countries.forEach((country, k) => {
      orderAt += gaps[k]!;
      const placedAt = orderAt;
      actions.push({
        at: placedAt,
        run: () => {
          const customer = shop.randomCustomer();
          if (!customer || shop.assortment.size === 0) return;
          const order = shop.placeOrder(customer, placedAt, { method: 'card', card, ipCountryCode: country });
          orderIds.push(order.id);
          customerIds.push(customer.id);
          if (orderIds.length === countries.length) {
            this.#o.manifest.record({
              kind: 'fraud_card_across_countries',
              at: iso(at),
              card_fingerprint: card,
              ip_country_codes: countries,
              order_ids: orderIds,
              customer_ids: customerIds,
            });
          }
        },
      });
    });
  }

  #highValueNewAccount(shop: Shop, rng: Rng, at: number, actions: Action[]): void {
    const ageMs = rng.int(5, 45) * 60_000;
    let customerId = 0;
    actions.push({ at: at - ageMs, run: () => void (customerId = shop.signUp(at - ageMs).id) });
    actions.push({
      at,
      run: () => {
        const customer = shop.customer(customerId);
        const priciest = shop.assortment.priciest(5);
        if (!customer || priciest.length === 0) return;
        const lines = rng
          .shuffle(priciest)
          .slice(0, 3)
          .map((p) => line(p.id, rng.int(2, 4), p.priceCents, 0));
        const order = shop.placeOrder(customer, at, { lines, method: 'card' });
        this.#o.manifest.record({
          kind: 'fraud_high_value_new_account',
          at: iso(at),
          customer_id: customerId,
          order_id: order.id,
          total_amount: order.totalCents / 100,
          account_age_minutes: ageMs / 60_000,
        });
      },
    });
  }

  #failedBurst(shop: Shop, rng: Rng, at: number, actions: Action[]): void {
    const attempts = rng.int(6, 12);
    const cards = Array.from({ length: rng.int(3, 5) }, () => rng.hex(8));
    actions.push({
      at,
      run: () => {
        const customer = shop.randomCustomer();
        if (!customer || shop.assortment.size === 0) return;
        const order = shop.placeOrder(customer, at, {
          method: 'card',
          card: cards[0]!,
          failBurst: attempts,
          burstCards: cards,
          onPayments: (payments) =>
            this.#o.manifest.record({
              kind: 'fraud_failed_payment_burst',
              at: iso(at),
              order_id: order.id,
              customer_id: customer.id,
              payment_ids: payments.map((p) => p.id),
              card_fingerprints: [...new Set(payments.map((p) => p.cardFingerprint))],
              failed_attempts: payments.length,
            }),
        });
      },
    });
  }

  #lowStock(shop: Shop, rng: Rng, at: number, actions: Action[]): void {
    actions.push({
      at,
      run: () => {
        if (shop.assortment.size === 0) return;
        let product = shop.assortment.pick(rng);
        for (let tries = 0; tries < 10 && shop.stock.get(product.id)?.restockPending; tries++) product = shop.assortment.pick(rng);
        const s = shop.stock.get(product.id);
        if (!s) return;
        const left = Math.floor(s.reorderPoint * 0.3);
        const holdUntil = at + rng.int(3, 7) * 86_400_000;
        shop.writeOffStock(s, left, at, holdUntil);
        this.#o.manifest.record({
          kind: 'low_stock',
          at: iso(at),
          product_id: product.id,
          quantity_on_hand: left,
          reorder_point: s.reorderPoint,
          restock_held_until: iso(holdUntil),
        });
      },
    });
  }

  /** Duplicates, late and malformed messages for a generated batch; releases late messages now due. */
  afterStep(_shop: Shop, batch: Batch, isLast: boolean): void {
    const rng = new Rng(this.#o.seed, 'anomalies', 'messages', this.#steps++);
    const m = this.#o.rate;
    const valid = batch.messages;
    // Events held back in earlier steps that are due now (decided before this step holds any).
    const due: OutgoingMessage[] = [];
    this.#held = this.#held.filter((h) => {
      h.stepsLeft -= 1;
      if (h.stepsLeft > 0 && !isLast) return true;
      due.push(h.message);
      return false;
    });
    const validCount = valid.length; // `valid` is released once late events are taken out
    const count = (share: number) => Math.min(validCount, rng.stochasticRound(validCount * share * m));

    // Late: hold some events back (never order_placed, so every order still has its event; only
    // events inside this step's span, so the one they are released with is really later).
    const lateCount = isLast ? 0 : count(ANOMALY_RATES.lateEvent);
    const late = new Set<number>();
    for (let tries = 0; late.size < lateCount && tries < lateCount * 5; tries++) {
      const candidate = rng.int(0, validCount - 1);
      if (valid.type(candidate) !== 'order_placed' && valid.time(candidate) < batch.endMs) late.add(candidate);
    }
    if (late.size > 0) {
      const [lo, hi] = this.#o.lateHoldSteps;
      for (const i of late) this.#held.push({ message: valid.get(i), stepsLeft: rng.int(lo, hi) });
      batch.messages = valid.filter((i) => !late.has(i));
    }

    // Duplicates: the same message (same event_id) sent again a little later. Picks come from
    // the messages before any anomaly was added.
    const base = batch.messages.length;
    if (base === 0) return this.#release(batch, due);
    for (let i = count(ANOMALY_RATES.duplicateEvent); i > 0; i--) {
      const original = batch.messages.get(rng.int(0, base - 1));
      const event = JSON.parse(original.value) as { event_id: string; event_type: string };
      batch.send({ ...original, time: original.time + rng.int(1_000, 120_000), type: 'duplicate' });
      this.#o.manifest.record({
        kind: 'duplicate_event',
        at: iso(original.time),
        event_id: event.event_id,
        event_type: event.event_type,
        kafka_key: original.key,
      });
    }

    // Malformed: each kind at its rate, built from a real event so only the defect differs.
    for (const kind of MALFORMED) {
      const n = rng.stochasticRound((base * ANOMALY_RATES.malformedPerThousand * m) / 1000);
      for (let i = 0; i < n; i++) this.#malformed(rng, batch, kind, batch.messages.get(rng.int(0, base - 1)));
    }
    this.#release(batch, due);
  }

  /** Held events whose time has come (all of them on the last step) go out with this batch. */
  #release(batch: Batch, due: readonly OutgoingMessage[]): void {
    for (const message of due) {
      const event = JSON.parse(message.value) as { event_id: string; event_type: string; event_time: string };
      batch.send(message);
      this.#o.manifest.record({
        kind: 'late_event',
        at: event.event_time,
        event_id: event.event_id,
        event_type: event.event_type,
        kafka_key: message.key,
        sent_with_batch: batch.label,
      });
    }
  }

  #malformed(rng: Rng, batch: Batch, kind: AnomalyKind, template: OutgoingMessage): void {
    const event = JSON.parse(template.value) as Record<string, unknown>;
    event.event_id = rng.uuid();
    let value: string;
    let detail: Record<string, unknown> = {};
    switch (kind) {
      case 'malformed_invalid_json': {
        const text = JSON.stringify(event);
        value = `${text.slice(0, Math.floor(text.length / 2))}\u0000{"truncated`;
        break;
      }
      case 'malformed_missing_field': {
        const field = rng.pick(['event_time', 'session_id', 'anonymous_id', 'device']);
        delete event[field];
        detail = { field };
        value = JSON.stringify(event);
        break;
      }
      case 'malformed_wrong_type': {
        const field = rng.pick(['customer_id', 'event_time', 'schema_version']);
        event[field] = field === 'event_time' ? 1_700_000_000 : 'not-a-number';
        detail = { field };
        value = JSON.stringify(event);
        break;
      }
      case 'malformed_negative_price': {
        event.event_type = 'product_view';
        event.product_id = typeof event.product_id === 'number' ? event.product_id : 1;
        event.price = -Math.round(rng.float(1, 500) * 100) / 100;
        for (const k of ['quantity', 'cart_value', 'item_count', 'order_id', 'order_total']) delete event[k];
        detail = { price: event.price };
        value = JSON.stringify(event);
        break;
      }
      default: {
        event.padding = 'x'.repeat(MAX_EVENT_BYTES + 1024);
        value = JSON.stringify(event);
        break;
      }
    }
    batch.send({ key: template.key, value, time: template.time + 1, type: 'malformed' });
    this.#o.manifest.record({
      kind,
      at: iso(template.time),
      event_id: event.event_id,
      kafka_key: template.key,
      bytes: Buffer.byteLength(value),
      value_sha256: sha256(value),
      ...detail,
    });
  }
}
