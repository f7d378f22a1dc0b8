/**
 * The backfill plan: when each customer signs up, how many orders each places and on which day,
 * and when each product launches. Kept in typed arrays (a few bytes per order), so even a 10x
 * world plans in a few MB; the rows themselves are produced day by day.
 */
import type { Proportions } from './params.ts';
import { Rng, WeightedPicker } from './random.ts';
import { Calendar, DAY_MS } from './world/calendar.ts';

export interface PlanInput {
  seed: number;
  startMs: number;
  days: number;
  customers: number;
  products: number;
  orders: number;
  p: Proportions;
}

export interface BackfillPlan {
  calendar: Calendar;
  /** Signup time per customer, ascending; customer index i becomes the i-th new customer id. */
  signupAt: Float64Array;
  /** Customers whose signup predates the window (the first `preexisting` entries of signupAt). */
  preexisting: number;
  /** Launch time per product, ascending. */
  launchAt: Float64Array;
  preexistingProducts: number;
  /** Zipf popularity per product index (sums to 1). */
  popularity: Float64Array;
  /** Orders of day d are dayCustomers[dayOffsets[d] .. dayOffsets[d+1]) (customer indexes). */
  dayOffsets: Int32Array;
  dayCustomers: Int32Array;
  /** Expected units sold per day per unit of popularity. */
  unitsPerPopularityDay: number;
  /** Browsing (non-ordering) sessions over the whole window. */
  browsingSessions: number;
  /** Buyers by kind, for the summary and the distribution tests. */
  buyers: { oneTime: number; repeat: number; none: number };
}

export function planBackfill(input: PlanInput): BackfillPlan {
  const { seed, startMs, days, customers, products, orders, p } = input;
  const rng = new Rng(seed, 'plan');
  const calendar = new Calendar(startMs, days, p);

  // Signups: a share before the window (uniform over the prior span), the rest following demand.
  const signupAt = new Float64Array(customers);
  const preexisting = Math.round(customers * p.preexistingCustomerShare);
  for (let i = 0; i < customers; i++) {
    signupAt[i] = i < preexisting
      ? startMs - Math.ceil(rng.next() * p.preexistingSignupSpanDays * DAY_MS)
      : calendar.sampleTime(rng, calendar.sampleDay(rng));
  }
  signupAt.sort();

  // Orders per customer: non-buyers, one-time buyers, and repeat buyers sharing the rest.
  let buyers = Math.min(orders, Math.round(customers * (1 - p.nonBuyerShare)));
  if (customers > 0 && orders > 0 && buyers === 0) buyers = 1;
  let repeat = buyers - Math.round(buyers * p.oneTimeBuyerShare);
  repeat = Math.max(0, Math.min(repeat, orders - buyers));
  const oneTime = buyers - repeat;
  const counts = new Int32Array(customers);
  const roles = rng.shuffle(Array.from({ length: customers }, (_, i) => i));
  const repeatIdx = roles.slice(0, repeat);
  for (const i of repeatIdx) counts[i] = 2;
  for (const i of roles.slice(repeat, repeat + oneTime)) counts[i] = 1;
  const endMs = startMs + days * DAY_MS;
  let extra = orders - oneTime - 2 * repeat;
  if (repeat > 0 && extra > 0) {
    // Frequency is log-normal, scaled by how much of the window the customer is around for.
    const picker = new WeightedPicker(
      repeatIdx.map((i) => [i, rng.logNormal(0, p.repeatBuyerSigma) * Math.max(0.02, (endMs - Math.max(startMs, signupAt[i]!)) / (endMs - startMs))] as const),
    );
    for (; extra > 0; extra--) counts[picker.pick(rng)]! += 1;
  } else if (extra > 0 && buyers > 0) {
    for (; extra > 0; extra--) counts[roles[rng.int(0, buyers - 1)]!]! += 1;
  }

  // Order days: the first soon after signup (or anywhere for old accounts), the rest by demand.
  const orderDay = new Int32Array(orders);
  const orderCustomer = new Int32Array(orders);
  const perDay = new Int32Array(days + 1);
  let n = 0;
  for (let i = 0; i < customers; i++) {
    const k = counts[i]!;
    if (k === 0) continue;
    const signupDay = Math.max(0, Math.floor((signupAt[i]! - startMs) / DAY_MS));
    let first: number;
    if (signupAt[i]! < startMs) first = calendar.sampleDay(rng);
    else {
      first = signupDay + Math.floor(rng.exponential(p.firstOrderMeanDelayDays));
      if (first > days - 1) first = rng.int(signupDay, days - 1);
    }
    for (let j = 0; j < k; j++) {
      const day = j === 0 ? first : calendar.sampleDay(rng, first, days - 1);
      orderDay[n] = day;
      orderCustomer[n] = i;
      perDay[day + 1]! += 1;
      n++;
    }
  }
  const dayOffsets = new Int32Array(days + 1);
  for (let d = 0; d < days; d++) dayOffsets[d + 1] = dayOffsets[d]! + perDay[d + 1]!;
  const fill = dayOffsets.slice(0, days);
  const dayCustomers = new Int32Array(n);
  for (let j = 0; j < n; j++) dayCustomers[fill[orderDay[j]!]!++] = orderCustomer[j]!;

  // Products: most on sale before the window, the rest launch during it; Zipf popularity by a random rank.
  const launchAt = new Float64Array(products);
  const preexistingProducts = Math.max(Math.min(products, 1), Math.round(products * p.preexistingProductShare));
  for (let i = 0; i < products; i++) {
    launchAt[i] = i < preexistingProducts
      ? startMs - Math.ceil(rng.next() * 3 * 365 * DAY_MS)
      : calendar.sampleTime(rng, rng.int(0, days - 1));
  }
  launchAt.sort();
  const ranks = rng.shuffle(Array.from({ length: products }, (_, i) => i + 1));
  const popularity = new Float64Array(products);
  let total = 0;
  ranks.forEach((rank, i) => {
    popularity[i] = 1 / Math.pow(rank, p.productZipfExponent);
    total += popularity[i]!;
  });
  for (let i = 0; i < products; i++) popularity[i]! /= total;

  const meanLines = p.linesPerOrderWeights.reduce((s, w, i) => s + w * (i + 1), 0) / p.linesPerOrderWeights.reduce((s, w) => s + w, 0);
  const meanUnits = p.unitsPerLineWeights.reduce((s, w, i) => s + w * (i + 1), 0) / p.unitsPerLineWeights.reduce((s, w) => s + w, 0);
  return {
    calendar,
    signupAt,
    preexisting,
    launchAt,
    preexistingProducts,
    popularity,
    dayOffsets,
    dayCustomers,
    unitsPerPopularityDay: (orders * meanLines * meanUnits) / Math.max(1, days),
    browsingSessions: Math.round(orders * (1 / p.sessionConversionRate - 1)),
    buyers: { oneTime, repeat, none: customers - buyers },
  };
}
