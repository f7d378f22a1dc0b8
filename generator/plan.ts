/**
 * The backfill plan: when each customer signs up, what kind of buyer they are, when products
 * launch, and how many orders each day gets. Orders per day follow the calendar's demand
 * curve exactly (growth, season, weekday); who places them is drawn day by day:
 *  - a new account's first order comes a few days after signup (exponential delay);
 *  - the rest of the day's orders go to existing customers, weighted by a log-normal
 *    "how often do I shop" weight; one-time buyers leave the pool after their order.
 * Everything lives in typed arrays (a few bytes per customer), so a 10x world plans in MBs.
 */
import type { Proportions } from './params.ts';
import { Rng } from './random.ts';
import { Calendar, DAY_MS } from './world/calendar.ts';
import { browsingSessionsFor } from './world/traffic.ts';

export interface PlanInput {
  seed: number;
  startMs: number;
  days: number;
  customers: number;
  products: number;
  orders: number;
  p: Proportions;
}

const NON_BUYER = 0;
const ONE_TIME = 1;
const REPEAT = 2;

/** Fenwick tree of weights: update and weighted draw in O(log n). */
class WeightTree {
  readonly #tree: Float64Array;
  readonly #weights: Float64Array;
  #total = 0;

  constructor(size: number) {
    this.#tree = new Float64Array(size + 1);
    this.#weights = new Float64Array(size);
  }

  get total(): number {
    return this.#total;
  }

  set(index: number, weight: number): void {
    const delta = weight - this.#weights[index]!;
    if (delta === 0) return;
    this.#weights[index] = weight;
    this.#total += delta;
    for (let i = index + 1; i < this.#tree.length; i += i & -i) this.#tree[i]! += delta;
  }

  /** Index drawn with probability weight / total (total must be > 0). */
  draw(rng: Rng): number {
    let target = rng.next() * this.#total;
    let pos = 0;
    let step = 1;
    while (step * 2 < this.#tree.length) step *= 2;
    for (; step > 0; step >>= 1) {
      const next = pos + step;
      if (next < this.#tree.length && this.#tree[next]! <= target) {
        pos = next;
        target -= this.#tree[next]!;
      }
    }
    // Floating-point drift can land on a zero-weight slot; walk to the nearest live one.
    let index = Math.min(pos, this.#weights.length - 1);
    while (index > 0 && this.#weights[index] === 0) index--;
    while (index < this.#weights.length - 1 && this.#weights[index] === 0) index++;
    return index;
  }
}

export class BackfillPlan {
  readonly calendar: Calendar;
  /** Signup time per customer, ascending; customer index i becomes the i-th new customer id. */
  readonly signupAt: Float64Array;
  /** Customers whose signup predates the window (the first `preexisting` entries of signupAt). */
  readonly preexisting: number;
  /** Launch time per product, ascending. */
  readonly launchAt: Float64Array;
  readonly preexistingProducts: number;
  /** Zipf popularity per product index (sums to 1). */
  readonly popularity: Float64Array;
  /** Expected units sold per day per unit of popularity. */
  readonly unitsPerPopularityDay: number;
  /** Browsing (non-ordering) sessions over the whole window (expected; each day draws its own). */
  readonly browsingSessions: number;
  /** Planned buyer kinds (one-time buyers that are never drawn end up non-buyers). */
  readonly buyers: { oneTime: number; repeat: number; none: number };
  /** Orders per day, summing exactly to the requested total. */
  readonly ordersPerDay: Int32Array;

  readonly #kind: Uint8Array;
  readonly #weight: Float64Array;
  readonly #pool: WeightTree;
  /** New accounts' first orders, bucketed by day: firstOrders[firstOffsets[d] .. firstOffsets[d+1]). */
  readonly #firstOffsets: Int32Array;
  readonly #firstOrders: Int32Array;
  #poolTargetSoFar = 0;
  #poolDrawnSoFar = 0;
  #firstSoFar = 0;
  #joinedUpTo = 0;
  readonly #seed: number;

  constructor(input: PlanInput) {
    const { seed, startMs, days, customers, products, orders, p } = input;
    this.#seed = seed;
    const rng = new Rng(seed, 'plan');
    const calendar = (this.calendar = new Calendar(startMs, days, p));

    // Signups: a share before the window, the rest following demand. Before the window they
    // follow the same growth backwards (density (1 + growth)^-years before the start), so
    // sign-ups per day run on across the window's start instead of jumping up at it.
    this.signupAt = new Float64Array(customers);
    this.preexisting = Math.round(customers * p.preexistingCustomerShare);
    const logGrowth = Math.log(1 + p.annualGrowth);
    const spanYears = p.preexistingSignupSpanDays / 365;
    const before = () => {
      const u = rng.next();
      const years = logGrowth > 0 ? -Math.log(1 - u * (1 - Math.exp(-logGrowth * spanYears))) / logGrowth : u * spanYears;
      return startMs - Math.max(1, Math.ceil(years * 365 * DAY_MS));
    };
    for (let i = 0; i < customers; i++) {
      this.signupAt[i] = i < this.preexisting ? before() : calendar.sampleTime(rng, calendar.sampleDay(rng));
    }
    this.signupAt.sort();

    // Buyer kinds and shopping-frequency weights.
    this.#kind = new Uint8Array(customers);
    this.#weight = new Float64Array(customers);
    let oneTime = 0;
    let repeat = 0;
    for (let i = 0; i < customers; i++) {
      if (rng.chance(p.nonBuyerShare)) continue;
      const isRepeat = !rng.chance(p.oneTimeBuyerShare);
      this.#kind[i] = isRepeat ? REPEAT : ONE_TIME;
      this.#weight[i] = rng.logNormal(0, p.repeatBuyerSigma);
      if (isRepeat) repeat++;
      else oneTime++;
    }
    this.buyers = { oneTime, repeat, none: customers - oneTime - repeat };

    // Orders per day: the demand curve, rounded by largest remainder so the total is exact.
    this.ordersPerDay = new Int32Array(days);
    const exact = Array.from({ length: days }, (_, d) => orders * calendar.dayShare(d));
    let assigned = 0;
    exact.forEach((x, d) => {
      this.ordersPerDay[d] = Math.floor(x);
      assigned += Math.floor(x);
    });
    const byRemainder = exact.map((x, d) => [x - Math.floor(x), d] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (let k = 0; assigned < orders; k++, assigned++) this.ordersPerDay[byRemainder[k % days]![1]]! += 1;

    // Buyers' first orders: a few days after signup. Accounts older than the window are a
    // steady state, not a backlog: most placed their first order before the window opened,
    // so a one-time buyer among them is done, and only the few who signed up days before it
    // still have their first order ahead (all of them ordering in the first weeks was a burst).
    const firstDay = new Int32Array(customers).fill(-1);
    const perDay = new Int32Array(days + 1);
    let firstTotal = 0;
    for (let i = 0; i < customers; i++) {
      if (this.#kind[i] === NON_BUYER || firstTotal >= orders) continue;
      const signupDay = Math.floor((this.signupAt[i]! - startMs) / DAY_MS);
      const day = signupDay + Math.floor(rng.exponential(p.firstOrderMeanDelayDays));
      if (day < 0 || day > days - 1) continue;
      firstDay[i] = day;
      perDay[day + 1]! += 1;
      firstTotal++;
    }
    this.#firstOffsets = new Int32Array(days + 1);
    for (let d = 0; d < days; d++) this.#firstOffsets[d + 1] = this.#firstOffsets[d]! + perDay[d + 1]!;
    const fill = this.#firstOffsets.slice(0, days);
    this.#firstOrders = new Int32Array(firstTotal);
    for (let i = 0; i < customers; i++) if (firstDay[i]! >= 0) this.#firstOrders[fill[firstDay[i]!]!++] = i;

    // The pool of customers repeat orders are drawn from: old accounts' repeat buyers are in it
    // from day one (their first order is history); old one-time buyers who bought already are not.
    this.#pool = new WeightTree(customers);
    for (let i = 0; i < this.preexisting; i++) if (this.#kind[i] === REPEAT) this.#pool.set(i, this.#weight[i]!);
    this.#joinedUpTo = this.preexisting;

    // Products: most on sale before the window, the rest launch during it; Zipf popularity by a random rank.
    this.launchAt = new Float64Array(products);
    this.preexistingProducts = Math.max(Math.min(products, 1), Math.round(products * p.preexistingProductShare));
    for (let i = 0; i < products; i++) {
      this.launchAt[i] =
        i < this.preexistingProducts ? startMs - Math.ceil(rng.next() * 3 * 365 * DAY_MS) : calendar.sampleTime(rng, rng.int(0, days - 1));
    }
    this.launchAt.sort();
    const ranks = rng.shuffle(Array.from({ length: products }, (_, i) => i + 1));
    this.popularity = new Float64Array(products);
    let total = 0;
    ranks.forEach((rank, i) => {
      this.popularity[i] = 1 / Math.pow(rank, p.productZipfExponent);
      total += this.popularity[i]!;
    });
    for (let i = 0; i < products; i++) this.popularity[i]! /= total;

    const meanOf = (weights: readonly number[]) => weights.reduce((s, w, i) => s + w * (i + 1), 0) / weights.reduce((s, w) => s + w, 0);
    this.unitsPerPopularityDay = (orders * meanOf(p.linesPerOrderWeights) * meanOf(p.unitsPerLineWeights)) / Math.max(1, days);
    let browsing = 0;
    for (let d = 0; d < days; d++) browsing += browsingSessionsFor(p, this.ordersPerDay[d]!, calendar.dayStart(d));
    this.browsingSessions = Math.round(browsing);
  }

  /**
   * Customer indexes ordering on `day` (call once per day, in order). New accounts' first orders
   * come first; the pool fills the rest of the day's quota. Customers who signed up on earlier
   * days join the pool before the draw.
   */
  ordersForDay(day: number): number[] {
    const dayStart = this.calendar.dayStart(day);
    for (; this.#joinedUpTo < this.signupAt.length && this.signupAt[this.#joinedUpTo]! < dayStart; this.#joinedUpTo++) {
      const i = this.#joinedUpTo;
      // One-time buyers who joined in the window already have their (first) order planned.
      if (this.#kind[i] === REPEAT) this.#pool.set(i, this.#weight[i]!);
    }
    const rng = new Rng(this.#seed, 'plan-day', day);
    const chosen: number[] = [];
    for (let j = this.#firstOffsets[day]!; j < this.#firstOffsets[day + 1]!; j++) chosen.push(this.#firstOrders[j]!);
    this.#firstSoFar += chosen.length;
    // The pool's quota keeps the running total on the demand curve even if first orders bunch up.
    this.#poolTargetSoFar += this.ordersPerDay[day]!;
    const quota = Math.max(0, this.#poolTargetSoFar - this.#firstSoFar - this.#poolDrawnSoFar);
    for (let k = 0; k < quota && this.#pool.total > 0; k++) {
      const i = this.#pool.draw(rng);
      chosen.push(i);
      this.#poolDrawnSoFar++;
      if (this.#kind[i] === ONE_TIME) this.#pool.set(i, 0);
    }
    return chosen;
  }
}

export function planBackfill(input: PlanInput): BackfillPlan {
  return new BackfillPlan(input);
}
