/**
 * Clickstream sessions as lib/events/schema.ts messages. Ordering sessions walk the funnel
 * page_view -> product_view -> add_to_cart -> checkout_started -> order_placed for exactly the
 * order's lines; browsing sessions stop somewhere along it.
 */
import { EVENT_SCHEMA_VERSION, type EventType } from '../../lib/events/schema.ts';
import type { Proportions } from '../params.ts';
import type { Rng } from '../random.ts';
import type { Batch } from './batch.ts';
import type { LineDraft } from './orders.ts';
import type { Assortment } from './products.ts';
import { isoTime } from './time-format.ts';
import type { Product } from './types.ts';

const SITE = 'https://shop.example';

export interface Visitor {
  sessionId: string;
  customerId: number | null;
  anonymousId: string;
  device: 'desktop' | 'mobile' | 'tablet';
  countryCode: string;
  /** Referrer of the session's first page (its channel; world/traffic.ts). */
  referrer: string | null;
  /** utm_* query of the landing page when the session came from a campaign, else ''. */
  landingQuery: string;
}

/** A session being written: keeps the clock and the previous page for `referrer`. */
class SessionWriter {
  readonly #rng: Rng;
  readonly #batch: Batch;
  readonly #visitor: Visitor;
  #time: number;
  #page: string | null;
  count = 0;

  constructor(rng: Rng, batch: Batch, visitor: Visitor, startAt: number) {
    this.#rng = rng;
    this.#batch = batch;
    this.#visitor = visitor;
    this.#time = startAt;
    this.#page = visitor.referrer;
  }

  /** Moves the clock on by a human pause (mean `meanMs`). */
  wait(meanMs: number): void {
    this.advance(1_000 + Math.round(this.#rng.exponential(meanMs)));
  }

  advance(ms: number): void {
    this.#time += ms;
  }

  at(time: number): void {
    this.#time = time;
  }

  get time(): number {
    return this.#time;
  }

  /**
   * Writes one event. The JSON is assembled directly (every string here is ASCII we generated:
   * UUIDs, ISO codes, our own URLs), which is several times faster than JSON.stringify of a
   * spread object; field order matches the zod schema's.
   */
  emit(type: EventType, path: string, extra = '', customerId = this.#visitor.customerId): void {
    const v = this.#visitor;
    const url = SITE + path;
    if (!this.#batch.keepsMessageBodies) {
      // No Kafka sink: the event is counted, not built; the random stream moves on the same.
      this.#rng.skipUuid();
      this.#page = url;
      this.count++;
      this.#batch.count(this.#time, type);
      return;
    }
    const eventId = this.#rng.uuid();
    const referrer = this.#page === null ? 'null' : `"${this.#page}"`;
    // Not flattened: the batch encodes it to bytes at once, and the string dies young.
    const value =
      `{"schema_version":${EVENT_SCHEMA_VERSION},"event_id":"${eventId}","event_type":"${type}","event_time":"${isoTime(this.#time)}",` +
      `"session_id":"${v.sessionId}","customer_id":${customerId},"anonymous_id":"${v.anonymousId}","device":"${v.device}",` +
      `"country_code":"${v.countryCode}","page_url":"${url}","referrer":${referrer}${extra}}`;
    this.#page = url;
    this.count++;
    this.#batch.send({ key: v.sessionId, value, time: this.#time, type });
  }
}

const cents = (c: number) => c / 100;
const productFields = (productId: number, priceCents: number, quantity?: number) =>
  `,"product_id":${productId},"price":${cents(priceCents)}${quantity === undefined ? '' : `,"quantity":${quantity}`}`;
const productPath = (p: { id: number }) => `/p/${p.id}`;

export interface OrderSessionInput {
  visitor: Visitor;
  placedAt: number;
  orderId: number;
  lines: readonly LineDraft[];
  totalCents: number;
  /** Signed in only from checkout on (browsed anonymously before). */
  signInAtCheckout: boolean;
  /** Another product added then removed. */
  removed: Product | null;
  /** Prices by product id as shown on the site (the current list price). */
  listPrice: (productId: number) => number;
}

/** Writes an ordering session that ends with order_placed exactly at `placedAt`. Returns event count. */
export function writeOrderSession(rng: Rng, batch: Batch, input: OrderSessionInput): number {
  // Draw the pauses first and lay the session out backwards, so order_placed lands on placedAt.
  const pauses: number[] = [];
  const pause = (meanMs: number) => pauses.push(1_000 + Math.round(rng.exponential(meanMs)));
  for (let i = 0; i < input.lines.length; i++) {
    pause(30_000);
    pause(20_000);
  }
  if (input.removed) {
    pause(20_000);
    pause(15_000);
  }
  pause(25_000); // to checkout_started
  pause(40_000); // to order_placed
  const start = input.placedAt - pauses.reduce((a, b) => a + b, 0);
  const w = new SessionWriter(rng, batch, input.visitor, start);
  let next = 0;
  const step = () => w.advance(pauses[next++]!);
  const early = input.signInAtCheckout ? null : input.visitor.customerId;
  w.emit('page_view', (rng.chance(0.5) ? '/' : `/c/${rng.int(1, 8)}`) + input.visitor.landingQuery, '', early);
  for (const l of input.lines) {
    step();
    w.emit('product_view', productPath({ id: l.productId }), productFields(l.productId, input.listPrice(l.productId)), early);
    step();
    w.emit('add_to_cart', productPath({ id: l.productId }), productFields(l.productId, l.unitPriceCents, l.quantity), early);
  }
  if (input.removed) {
    const r = input.removed;
    step();
    w.emit('add_to_cart', productPath(r), productFields(r.id, r.priceCents, 1), early);
    step();
    w.emit('remove_from_cart', '/cart', productFields(r.id, r.priceCents, 1), early);
  }
  const units = input.lines.reduce((n, l) => n + l.quantity, 0);
  const subtotal = input.lines.reduce((n, l) => n + l.lineTotalCents, 0);
  step();
  w.emit('checkout_started', '/checkout', `,"cart_value":${cents(subtotal)},"item_count":${units}`);
  w.at(input.placedAt);
  w.emit(
    'order_placed',
    '/checkout/confirmation',
    `,"order_id":${input.orderId},"order_total":${cents(input.totalCents)},"item_count":${units}`,
  );
  return w.count;
}

/** A session that does not order: bounce, browse, or abandon a cart / checkout. Returns event count. */
export function writeBrowsingSession(
  rng: Rng,
  batch: Batch,
  visitor: Visitor,
  startAt: number,
  assortment: Assortment,
  p: Proportions,
): number {
  const w = new SessionWriter(rng, batch, visitor, startAt);
  w.emit('page_view', (rng.chance(0.6) ? '/' : `/c/${rng.int(1, 8)}`) + visitor.landingQuery);
  if (rng.chance(p.bounceRate)) return w.count;
  const extraPages = Math.min(6, Math.floor(rng.exponential(1)));
  for (let i = 0; i < extraPages; i++) {
    w.wait(25_000);
    w.emit('page_view', rng.chance(0.5) ? `/c/${rng.int(1, 8)}` : `/search?q=${rng.int(1, 999)}`);
  }
  if (!rng.chance(p.productViewRate)) return w.count;
  const viewed = assortment.pickDistinct(rng, 1 + Math.min(5, Math.floor(rng.exponential(1.2))));
  for (const product of viewed) {
    w.wait(30_000);
    w.emit('product_view', productPath(product), productFields(product.id, product.priceCents));
  }
  if (!rng.chance(p.addToCartRate)) return w.count;
  const product = viewed[viewed.length - 1]!;
  const quantity = rng.chance(0.85) ? 1 : 2;
  w.wait(20_000);
  w.emit('add_to_cart', productPath(product), productFields(product.id, product.priceCents, quantity));
  if (rng.chance(0.25)) {
    w.wait(20_000);
    w.emit('remove_from_cart', '/cart', productFields(product.id, product.priceCents, quantity));
    return w.count;
  }
  if (rng.chance(p.checkoutAbandonRate)) {
    w.wait(30_000);
    w.emit('checkout_started', '/checkout', `,"cart_value":${cents(product.priceCents * quantity)},"item_count":${quantity}`);
  }
  return w.count;
}
