/**
 * The proportions that shape the simulated shop. Every value here is documented in
 * docs/generator.md (keep the two in step); tests check the output stays inside the bounds
 * stated there.
 */

export const DEFAULT_SIZE = { customers: 10_000, products: 500, orders: 50_000, days: 365 } as const;

export const PROPORTIONS = {
  /**
   * Customers whose account predates --from (inserted on the first day with their old signup
   * date). 0.55 is what two years of sign-ups growing at annualGrowth leave before a one-year
   * window: the sign-up rate runs on across the window's start (0.3 made it jump 4.7x there).
   */
  preexistingCustomerShare: 0.55,
  /** How far before --from the pre-existing customers signed up, in days (denser towards --from, by annualGrowth). */
  preexistingSignupSpanDays: 730,
  /** Customers who never order. */
  nonBuyerShare: 0.15,
  /** Buyers with exactly one order; the rest order at least twice. */
  oneTimeBuyerShare: 0.4,
  /** Spread (log-normal sigma) of how often repeat buyers order: higher gives a heavier head. */
  repeatBuyerSigma: 0.8,
  /** New accounts place their first order on average this many days after signing up. */
  firstOrderMeanDelayDays: 4,

  /** Zipf exponent of product popularity: 1.05 puts ~80% of units on the top 20% of products. */
  productZipfExponent: 1.05,
  /** Products already on sale before --from; the rest launch during the window. */
  preexistingProductShare: 0.85,
  /** Expected price changes per product per year. */
  priceChangesPerProductYear: 3,
  /** Share of products discontinued per year. */
  discontinueShareYear: 0.03,
  /**
   * Each product's own demand trend: log-growth per year drawn N(0, sigma) per product from the
   * seed (some products rise, some fade), on top of the shop's annualGrowth (world/demand.ts).
   */
  productTrendSigma: 0.35,
  /** Temporary markdowns per product per year: the price drops, demand follows the elasticity, the price comes back. */
  promotionsPerProductYear: 2,
  /** A promotion's markdown in percent, drawn uniformly from these. */
  promotionPercents: [15, 20, 25, 30],
  /** A promotion lasts this many whole days (inclusive range). */
  promotionDays: [7, 14],
  /** Replenishments held up at the supplier, arriving this many extra days late: the usual cause of a stock-out. */
  restockDelayShare: 0.1,
  restockDelayDays: [6, 18],
  /** Expected address moves per customer per year. */
  movesPerCustomerYear: 0.08,
  /** Expected e-mail changes per customer per year. */
  emailChangesPerCustomerYear: 0.05,

  /**
   * Base share of sessions that end in an order; a day's rate is this x its weekday and season
   * factors, and channel, device and campaign move it within the day (world/traffic.ts).
   */
  sessionConversionRate: 0.05,
  /** Conversion per weekday, Monday first: weekday shoppers buy, weekend browsers look. */
  conversionWeekdayFactors: [1.06, 1.05, 1.03, 1.0, 0.95, 0.86, 1.05],
  /** Conversion per calendar month (mid-month anchors, linear in between), January first. */
  conversionMonthFactors: [0.92, 0.94, 0.97, 0.98, 0.99, 0.96, 0.94, 0.95, 0.98, 1.0, 1.18, 1.2],
  /**
   * Where sessions come from: name, first page's referrer, share of sessions, relative
   * conversion, and the utm source/medium of its weekly campaigns (null: no campaigns).
   * Conversion factors are normalised so the share-weighted mean is 1.
   */
  trafficChannels: [
    ['direct', null, 0.4, 1.2, null],
    ['search', 'https://www.google.com/', 0.3, 1.0, null],
    ['instagram', 'https://www.instagram.com/', 0.08, 0.45, ['instagram', 'paid_social']],
    ['facebook', 'https://www.facebook.com/', 0.07, 0.55, ['facebook', 'paid_social']],
    ['newsletter', 'https://mail.shopflow.example/newsletter', 0.08, 1.6, ['newsletter', 'email']],
    ['partner', 'https://partner.example.com/deals', 0.07, 1.1, ['partner', 'affiliate']],
  ],
  /** Device: share of sessions and relative conversion (normalised like the channels'). */
  deviceConversion: [
    ['mobile', 0.5, 0.65],
    ['desktop', 0.42, 1.45],
    ['tablet', 0.08, 1.1],
  ],
  /** Spread (log-normal sigma) of a weekly campaign's conversion around its channel's. */
  campaignConversionSigma: 0.35,
  /** Non-ordering sessions that leave after one page. */
  bounceRate: 0.45,
  /** Of non-bounce browsing sessions: share that view at least one product. */
  productViewRate: 0.8,
  /** Of sessions with a product view: share that add to cart (and then abandon). */
  addToCartRate: 0.18,
  /** Of abandoned carts: share that start checkout before leaving. */
  checkoutAbandonRate: 0.3,
  /** Of browsing sessions: share by signed-in customers (the rest are anonymous visitors). */
  signedInBrowsingShare: 0.35,
  /** Of ordering sessions: share that browse anonymously and sign in at checkout. */
  signInAtCheckoutShare: 0.3,
  /** Of ordering sessions: share that also add and then remove another product. */
  removeFromCartShare: 0.15,

  /** Order lines per order: 1..5 with these weights. */
  linesPerOrderWeights: [0.55, 0.25, 0.12, 0.05, 0.03],
  /** Units per line: 1..4 with these weights. */
  unitsPerLineWeights: [0.82, 0.13, 0.04, 0.01],
  /** Lines sold at a promotional line discount (10%). */
  lineDiscountShare: 0.05,
  /** Orders with a coupon (5, 10, 15 or 20% off the subtotal). */
  couponShare: 0.2,
  /** Subtotal (cents) from which shipping is free. */
  freeShippingFromCents: 7_500,

  /** Orders whose first payment attempt fails before one succeeds. */
  failedAttemptShare: 0.04,
  /** Orders whose payment never succeeds (cancelled 30 minutes after placing). */
  paymentFailureShare: 0.01,
  /** Paid orders cancelled before shipping (payment refunded). */
  cancelAfterPaymentShare: 0.025,
  /** Delivered orders returned (payment refunded, stock back). */
  returnShare: 0.07,
  /** Payments from an IP in another country than the customer's. */
  foreignIpShare: 0.04,

  /** Year-over-year growth of traffic and orders. */
  annualGrowth: 0.4,
  /**
   * Relative demand per calendar month, January first, anchored mid-month with a linear
   * blend in between: demand never jumps at a month boundary (a window opening in December
   * used to start at 1.55 and fall to 0.85 on January 1st, a burst in its first weeks).
   */
  monthFactors: [0.88, 0.85, 0.92, 0.94, 0.96, 0.93, 0.92, 0.95, 0.98, 1.03, 1.22, 1.18],
  /** Relative demand per weekday, Monday first. */
  weekdayFactors: [1.05, 1.0, 0.98, 0.97, 0.95, 0.92, 1.13],
  /** Extra demand on Black Friday and Cyber Monday. */
  blackFridayFactor: 2.5,
  /** Relative activity per UTC hour 0..23: a night trough and an evening peak. */
  hourFactors: [
    0.3, 0.2, 0.15, 0.12, 0.12, 0.18, 0.35, 0.6, 0.85, 1.0, 1.05, 1.1, 1.15, 1.1, 1.05, 1.05, 1.1, 1.2, 1.35, 1.5, 1.55, 1.4, 1.0, 0.6,
  ],
} as const;

export type Proportions = typeof PROPORTIONS;

/** Anomaly rates used by --anomalies (multiplied by --anomaly-rate). */
export const ANOMALY_RATES = {
  /** Share of valid events sent twice with the same event_id. */
  duplicateEvent: 0.005,
  /** Share of valid events held back and sent one to three days after their event_time. */
  lateEvent: 0.002,
  /** Malformed messages (of each of the 6 kinds) per 1,000 valid events. */
  malformedPerThousand: 0.2,
  /** Card-testing pattern (one card, several countries within minutes) per 1,000 orders. */
  cardAcrossCountriesPerThousandOrders: 0.5,
  /** High-value order from an account younger than an hour, per 1,000 orders. */
  highValueNewAccountPerThousandOrders: 0.5,
  /** Burst of failed payment attempts on one order, per 1,000 orders. */
  failedPaymentBurstPerThousandOrders: 0.5,
  /** Stock write-offs that drop a product under its reorder point, per simulated day. */
  lowStockPerDay: 0.05,
} as const;
