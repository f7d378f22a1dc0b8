/**
 * The simulated shop's live state and the things that happen to it. One step (a backfill day
 * or a live tick) runs between beginStep() and endStep(); everything it changes lands in the
 * step's Batch as rows and Kafka messages. Happenings are applied in time order, so every row's
 * timestamps and every UPDATE follow the simulated clock.
 */
import type { Proportions } from '../params.ts';
import { Rng } from '../random.ts';
import { Batch } from './batch.ts';
import { DAY_MS } from './calendar.ts';
import { productTrend } from './demand.ts';
import { FakerPool } from './fakers.ts';
import { countrySpec } from './geography.ts';
import { OrderShapes, line, orderTotals, type LineDraft } from './orders.ts';
import { changeEmail, moveCustomer, newCustomer, pickCountry } from './people.ts';
import { Assortment, brandsByCategory, changePrice, newProduct, newStock, shopPrice } from './products.ts';
import { customerRow, orderItemRow, orderRow, paymentRow, productRow, restockRow, stockRow } from './rows.ts';
import { Schedule } from './schedule.ts';
import { writeBrowsingSession, writeOrderSession, type Visitor } from './sessions.ts';
import { Traffic } from './traffic.ts';
import type { Customer, OpenOrder, Order, OrderItem, Payment, Product, Stock } from './types.ts';

type Happening = { kind: 'order'; orderId: number } | { kind: 'restock'; productId: number } | { kind: 'promotionEnd'; productId: number };

export interface NextIds {
  customer: number;
  product: number;
  order: number;
  orderItem: number;
  payment: number;
  restock: number;
}

export interface PlaceOrderOptions {
  lines?: LineDraft[];
  method?: string;
  card?: string;
  ipCountryCode?: string;
  /** Force this many failed attempts and give up (payment_failed). */
  failBurst?: number;
  /** Card fingerprints the burst's attempts rotate through. */
  burstCards?: string[];
  onPayments?: (payments: Payment[]) => void;
}

export interface StepStats {
  orders: number;
  sessions: number;
  events: number;
}

export class Shop {
  readonly seed: number;
  /** Channels, devices, campaigns and the day's conversion rate of sessions. */
  readonly traffic: Traffic;
  readonly p: Proportions;
  readonly fakers: FakerPool;
  readonly shapes: OrderShapes;
  readonly assortment = new Assortment();
  /** In id order: ids are handed out in order, and live mode loads them sorted. */
  readonly customers: Customer[] = [];
  readonly products = new Map<number, Product>();
  readonly stock = new Map<number, Stock>();
  readonly open = new Map<number, OpenOrder>();
  readonly #schedule = new Schedule<Happening>();
  readonly #dirtyStock = new Set<Stock>();
  readonly brands: Map<string, string[]>;
  readonly next: NextIds;
  /** Expected units sold per product per day at popularity 1 (sizes stock levels). */
  unitsPerPopularityDay = 0;
  /** The simulated day demand is weighed for, and where product trends start (world/demand.ts). */
  demandDayMs = 0;
  demandAnchorMs = 0;
  rng: Rng;
  batch: Batch;
  readonly stats: StepStats = { orders: 0, sessions: 0, events: 0 };

  /** False when no sink takes the Kafka messages: they are counted, not built (Batch). */
  readonly messageBodies: boolean;

  constructor(seed: number, p: Proportions, next: NextIds, options: { messageBodies?: boolean } = {}) {
    this.seed = seed;
    this.traffic = new Traffic(p, seed);
    this.messageBodies = options.messageBodies ?? true;
    this.p = p;
    this.next = { ...next };
    this.fakers = new FakerPool(seed);
    this.fakers.reseed('catalogue');
    this.brands = brandsByCategory(this.fakers);
    this.shapes = new OrderShapes(p);
    this.rng = new Rng(seed, 'init');
    this.batch = new Batch('init');
  }

  beginStep(label: string, endMs?: number): Batch {
    this.rng = new Rng(this.seed, 'step', label);
    this.fakers.reseed('step', label);
    this.batch = new Batch(label, endMs, { messageBodies: this.messageBodies });
    return this.batch;
  }

  /**
   * Hands back what the step has written so far and goes on in a fresh batch. The random
   * stream is not touched, so the output is the same as without the cut, only split.
   */
  cutBatch(): Batch {
    const part = this.batch;
    part.partial = true;
    this.batch = new Batch(part.label, part.endMs, { messageBodies: this.messageBodies });
    return part;
  }

  /** Applies everything due before `until`, writes changed stock levels, and hands back the batch. */
  endStep(until: number): Batch {
    this.advanceTo(until);
    for (const s of this.#dirtyStock) this.batch.upsert('inventory', stockRow(s));
    this.#dirtyStock.clear();
    return this.batch;
  }

  customer(id: number): Customer | undefined {
    // Found by position when ids have no gaps (a backfill), else by binary search; no map of
    // 100,000 entries beside the array.
    const list = this.customers;
    const direct = list[id - (list[0]?.id ?? 0)];
    if (direct?.id === id) return direct;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = list[mid]!;
      if (c.id === id) return c;
      if (c.id < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Registers a customer loaded from the database (live mode). */
  adoptCustomer(c: Customer): void {
    const last = this.customers.at(-1);
    if (last && last.id >= c.id) throw new Error(`customers must be adopted in id order: ${c.id} after ${last.id}`);
    this.customers.push(c);
  }

  randomCustomer(): Customer | undefined {
    return this.customers.length === 0 ? undefined : this.rng.pick(this.customers);
  }

  signUp(signedUpAt: number, insertedAt = signedUpAt): Customer {
    const c = newCustomer(this.rng, this.fakers, this.next.customer++, signedUpAt, insertedAt);
    this.adoptCustomer(c);
    this.batch.insert('customers', customerRow(c));
    return c;
  }

  /** Weighs the assortment for the day starting at `dayMs` (trend, season and price move daily). */
  setDemandDay(dayMs: number): void {
    this.demandDayMs = dayMs;
    this.refreshAssortment();
  }

  refreshAssortment(): void {
    this.assortment.rebuild(this.products.values(), this.demandDayMs, this.demandAnchorMs);
  }

  launchProduct(launchedAt: number, insertedAt: number, popularity: number): Product {
    const id = this.next.product++;
    const trend = productTrend(this.seed, id, this.p.productTrendSigma);
    const product = newProduct(this.rng, this.fakers, this.brands, id, launchedAt, insertedAt, popularity, trend);
    this.products.set(product.id, product);
    const s = newStock(this.rng, product.id, Math.max(0.05, popularity * this.unitsPerPopularityDay), insertedAt);
    this.stock.set(product.id, s);
    this.batch.insert('products', productRow(product));
    this.batch.insert('inventory', stockRow(s));
    return product;
  }

  /** Applies order steps and restock arrivals due before `until`, in time order. */
  advanceTo(until: number): void {
    for (let due = this.#schedule.popBefore(until); due; due = this.#schedule.popBefore(until)) {
      if (due.item.kind === 'restock') this.#receiveRestock(due.item.productId, due.at);
      else if (due.item.kind === 'promotionEnd') this.#endPromotion(due.item.productId, due.at);
      else this.#applyStep(due.item.orderId, due.at);
    }
  }

  move(customer: Customer, at: number): void {
    moveCustomer(this.rng, this.fakers, customer, at);
    this.batch.upsert('customers', customerRow(customer));
  }

  changeEmail(customer: Customer, at: number): void {
    changeEmail(this.rng, customer, at);
    this.batch.upsert('customers', customerRow(customer));
  }

  reprice(product: Product, at: number): void {
    // A product on promotion keeps its markdown until the promotion ends.
    if (product.regularPriceCents !== null) return;
    changePrice(this.rng, product, at);
    this.batch.upsert('products', productRow(product));
    this.refreshAssortment();
  }

  /** A temporary markdown: the list price drops by `percent` and comes back after `days` days. */
  promote(product: Product, at: number, percent: number, days: number): void {
    if (product.regularPriceCents !== null || !product.isActive) return;
    product.regularPriceCents = product.priceCents;
    product.priceCents = shopPrice((product.priceCents * (100 - percent)) / 100);
    product.promotionUntil = at + days * DAY_MS;
    product.updatedAt = at;
    this.batch.upsert('products', productRow(product));
    this.#schedule.add(product.promotionUntil, { kind: 'promotionEnd', productId: product.id });
    this.refreshAssortment();
  }

  #endPromotion(productId: number, at: number): void {
    const product = this.products.get(productId);
    if (!product || product.regularPriceCents === null) return;
    product.priceCents = product.regularPriceCents;
    product.regularPriceCents = null;
    product.promotionUntil = 0;
    product.updatedAt = at;
    this.batch.upsert('products', productRow(product));
    this.refreshAssortment();
  }

  discontinue(product: Product, at: number): void {
    product.isActive = false;
    product.updatedAt = at;
    this.batch.upsert('products', productRow(product));
    this.refreshAssortment();
  }

  /** A session by a signed-in customer; its channel and device lean to converting ones when it orders. */
  visitorFor(customer: Customer, at: number, ordering: boolean): Visitor {
    const source = this.traffic.source(this.rng, at, ordering);
    // Fields set one by one (no spread): this runs for every session, a million in the default world.
    return {
      sessionId: this.rng.uuid(),
      customerId: customer.id,
      anonymousId: customer.anonymousId,
      device: source.device,
      countryCode: customer.countryCode,
      referrer: source.referrer,
      landingQuery: source.landingQuery,
    };
  }

  anonymousVisitor(at: number): Visitor {
    const source = this.traffic.source(this.rng, at, false);
    return {
      sessionId: this.rng.uuid(),
      customerId: null,
      anonymousId: this.rng.uuid(),
      device: source.device,
      countryCode: pickCountry(this.rng),
      referrer: source.referrer,
      landingQuery: source.landingQuery,
    };
  }

  browse(at: number): void {
    const v =
      this.customers.length > 0 && this.rng.chance(this.p.signedInBrowsingShare)
        ? this.visitorFor(this.randomCustomer()!, at, false)
        : this.anonymousVisitor(at);
    this.stats.sessions++;
    this.stats.events += writeBrowsingSession(this.rng, this.batch, v, at, this.assortment, this.p);
  }

  /**
   * A basket drawn from the assortment at current prices, from what is in stock: sold-out
   * products are passed over and a line takes at most what is on hand (censored demand).
   * When everything drawn is sold out the basket falls back to any product.
   */
  basket(): LineDraft[] {
    const count = this.shapes.lineCount(this.rng);
    const onHand = (prod: Product) => this.stock.get(prod.id)?.onHand ?? Number.POSITIVE_INFINITY;
    let products = this.assortment.pickDistinct(this.rng, count, (prod) => onHand(prod) > 0);
    if (products.length === 0) products = this.assortment.pickDistinct(this.rng, count);
    return products.map((prod) => {
      const units = Math.max(1, Math.min(this.shapes.units(this.rng), onHand(prod)));
      return line(prod.id, units, prod.priceCents, this.shapes.lineDiscountPercent(this.rng));
    });
  }

  /** Places an order from its own session; the order's placed_at is the order_placed event_time. */
  placeOrder(customer: Customer, at: number, options: PlaceOrderOptions = {}): Order {
    const rng = this.rng;
    const lines = options.lines ?? this.basket();
    const country = countrySpec(customer.countryCode);
    const totals = orderTotals(lines, this.shapes.couponPercent(rng), country, this.p.freeShippingFromCents);
    const visitor = this.visitorFor(customer, at, true);
    const orderId = this.next.order++;
    const order: Order = {
      id: orderId,
      customerId: customer.id,
      sessionId: visitor.sessionId,
      status: 'placed',
      currency: 'USD',
      ...totals,
      shipCountryCode: customer.countryCode,
      shipRegion: customer.region,
      shipCity: customer.city,
      shipPostalCode: customer.postalCode,
      placedAt: at,
      paidAt: null,
      shippedAt: null,
      deliveredAt: null,
      cancelledAt: null,
      returnedAt: null,
      createdAt: at,
      updatedAt: at,
    };
    const items: OrderItem[] = lines.map((l) => ({ id: this.next.orderItem++, orderId, ...l, createdAt: at, updatedAt: at }));
    const removable = rng.chance(this.p.removeFromCartShare) ? this.assortment.pick(rng) : null;
    this.stats.sessions++;
    this.stats.events += writeOrderSession(rng, this.batch, {
      visitor,
      placedAt: at,
      orderId,
      lines,
      totalCents: totals.totalCents,
      signInAtCheckout: rng.chance(this.p.signInAtCheckoutShare),
      removed: removable && !lines.some((l) => l.productId === removable.id) ? removable : null,
      listPrice: (id) => this.products.get(id)?.priceCents ?? 0,
    });
    this.stats.orders++;
    this.batch.insert('orders', orderRow(order));
    for (const item of items) this.batch.insert('order_items', orderItemRow(item));

    const method = options.method ?? this.shapes.paymentMethod(rng);
    const card = method === 'card' ? (options.card ?? rng.pick(customer.cards)) : null;
    const plan = options.failBurst
      ? { failedAttempts: options.failBurst, steps: [{ kind: 'payment_failed' as const, at: at + 5 * 60_000 }] }
      : this.shapes.lifecycle(rng, at, method, country);
    const ipCountryCode = options.ipCountryCode ?? (rng.chance(this.p.foreignIpShare) ? pickCountry(rng) : customer.countryCode);
    const open: OpenOrder = {
      order,
      items,
      paymentMethod: method,
      card,
      ipCountryCode,
      failedAttempts: plan.failedAttempts,
      captured: null,
      steps: plan.steps,
      next: 0,
    };
    if (options.onPayments) open.onPayments = options.onPayments;
    if (options.burstCards) open.burstCards = options.burstCards;
    this.open.set(orderId, open);
    this.#schedule.add(plan.steps[0]!.at, { kind: 'order', orderId });
    for (const item of items) this.adjustStock(item.productId, -item.quantity, at);
    return order;
  }

  /** Resumes an order loaded from the database (live mode) with the steps still ahead of it. */
  resumeOrder(open: OpenOrder): void {
    this.open.set(open.order.id, open);
    const step = open.steps[open.next];
    if (step) this.#schedule.add(step.at, { kind: 'order', orderId: open.order.id });
  }

  adjustStock(productId: number, delta: number, at: number): void {
    const s = this.stock.get(productId);
    if (!s) return;
    s.onHand = Math.max(0, s.onHand + delta);
    s.updatedAt = at;
    this.#dirtyStock.add(s);
    this.#maybeReorder(s, at);
  }

  /** Stock write-off (anomaly): drops on-hand under the reorder point and holds replenishment. */
  writeOffStock(s: Stock, quantityLeft: number, at: number, holdUntil: number): void {
    s.onHand = quantityLeft;
    s.updatedAt = at;
    s.holdRestockUntil = holdUntil;
    this.#dirtyStock.add(s);
    this.#maybeReorder(s, at);
  }

  #maybeReorder(s: Stock, at: number): void {
    if (s.restockPending || s.onHand > s.reorderTrigger) return;
    s.restockPending = true;
    const orderedAt = Math.max(at, s.holdRestockUntil);
    const [minDelay, maxDelay] = this.p.restockDelayDays;
    const delayDays = this.rng.chance(this.p.restockDelayShare) ? this.rng.float(minDelay, maxDelay) : 0;
    this.#schedule.add(orderedAt + Math.round((this.rng.float(2, 7) + delayDays) * DAY_MS), { kind: 'restock', productId: s.productId });
  }

  #receiveRestock(productId: number, at: number): void {
    const s = this.stock.get(productId);
    const product = this.products.get(productId);
    if (!s || !product) return;
    s.restockPending = false;
    s.lastRestockedAt = at;
    const unitCost = Math.max(1, Math.round(product.costCents * this.rng.float(0.95, 1.05)));
    this.batch.insert('restocks', restockRow(this.next.restock++, productId, s.reorderQuantity, unitCost, at));
    this.adjustStock(productId, s.reorderQuantity, at);
  }

  #payment(open: OpenOrder, status: Payment['status'], at: number): Payment {
    return {
      id: this.next.payment++,
      orderId: open.order.id,
      method: open.paymentMethod,
      status,
      amountCents: open.order.totalCents,
      cardFingerprint: open.card,
      ipCountryCode: open.ipCountryCode,
      attemptedAt: at,
      createdAt: at,
      updatedAt: at,
    };
  }

  #applyStep(orderId: number, at: number): void {
    const open = this.open.get(orderId);
    if (!open) return;
    const step = open.steps[open.next++]!;
    const order = open.order;
    order.updatedAt = at;
    const written: Payment[] = [];
    switch (step.kind) {
      case 'pay':
      case 'payment_failed': {
        const failedSpacing = step.kind === 'pay' ? 20_000 : Math.floor((at - order.placedAt) / (open.failedAttempts + 1));
        for (let i = open.failedAttempts; i >= 1; i--) {
          const attempt = this.#payment(open, 'failed', at - i * failedSpacing);
          if (open.burstCards) attempt.cardFingerprint = open.burstCards[i % open.burstCards.length]!;
          written.push(attempt);
        }
        if (step.kind === 'pay') {
          open.captured = this.#payment(open, 'captured', at);
          written.push(open.captured);
          order.status = 'paid';
          order.paidAt = at;
        } else {
          order.status = 'cancelled';
          order.cancelledAt = at;
          for (const item of open.items) this.adjustStock(item.productId, item.quantity, at);
        }
        for (const payment of written) this.batch.insert('payments', paymentRow(payment));
        open.onPayments?.(written);
        break;
      }
      case 'cancel':
        order.status = 'cancelled';
        order.cancelledAt = at;
        this.#refund(open, at);
        for (const item of open.items) this.adjustStock(item.productId, item.quantity, at);
        break;
      case 'ship':
        order.status = 'shipped';
        order.shippedAt = at;
        break;
      case 'deliver':
        order.status = 'delivered';
        order.deliveredAt = at;
        break;
      case 'return':
        order.status = 'returned';
        order.returnedAt = at;
        this.#refund(open, at);
        for (const item of open.items) this.adjustStock(item.productId, item.quantity, at);
        break;
    }
    this.batch.upsert('orders', orderRow(order));
    const following = open.steps[open.next];
    if (following) this.#schedule.add(following.at, { kind: 'order', orderId });
    else this.open.delete(orderId);
  }

  #refund(open: OpenOrder, at: number): void {
    if (!open.captured) return;
    open.captured.status = 'refunded';
    open.captured.updatedAt = at;
    this.batch.upsert('payments', paymentRow(open.captured));
  }
}
