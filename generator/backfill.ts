/**
 * Backfill: replays the plan day by day in simulated time and yields one Batch per day (a busy
 * day in several parts), so a sink can write (and a CDC reader can follow) the history in the
 * order it happened.
 */
import type { AnomalyInjector } from './anomalies/injector.ts';
import { ActionKind, DayActions } from './day-actions.ts';
import type { Proportions } from './params.ts';
import { planBackfill, type BackfillPlan } from './plan.ts';
import type { Batch } from './world/batch.ts';
import { DAY_MS, formatDay } from './world/calendar.ts';
import { Shop, type NextIds } from './world/shop.ts';
import { browsingSessionsFor } from './world/traffic.ts';

/** Messages after which a day's batch is handed on and the day continues in a new one. */
export const MAX_MESSAGES_PER_BATCH = 10_000;

/**
 * Yielded between batches when `breatheEveryMs` is set: the caller should give the event loop a
 * turn. Generation is synchronous, and a sink's replies (a MariaDB round trip, a Kafka ack)
 * are only handled on a turn of the loop; a busy day takes tens of milliseconds.
 */
export const BREATHE = Symbol('breathe');

export interface BackfillInput {
  seed: number;
  startMs: number;
  days: number;
  customers: number;
  products: number;
  orders: number;
  p: Proportions;
  /** First ids to use (1 for an empty database). */
  next: NextIds;
  anomalies?: AnomalyInjector;
  /** Hand a day on in parts of about this many messages (default MAX_MESSAGES_PER_BATCH). */
  maxMessagesPerBatch?: number;
  /** False: no sink takes the messages, so they are counted, not built (default true). */
  messageBodies?: boolean;
  /** Yield BREATHE at least this often (in wall time) within a day; default never. */
  breatheEveryMs?: number;
}

export interface Backfill {
  plan: BackfillPlan;
  shop: Shop;
  days: Generator<Batch | typeof BREATHE>;
}

export function createBackfill(input: BackfillInput): Backfill {
  const plan = planBackfill(input);
  if (input.anomalies && input.messageBodies === false)
    throw new Error('createBackfill: anomalies rework messages, so they need message bodies');
  const shop = new Shop(input.seed, input.p, input.next, { messageBodies: input.messageBodies ?? true });
  shop.unitsPerPopularityDay = plan.unitsPerPopularityDay;
  shop.demandAnchorMs = plan.calendar.startMs;
  return { plan, shop, days: runDays(input, plan, shop) };
}

function* runDays(input: BackfillInput, plan: BackfillPlan, shop: Shop): Generator<Batch | typeof BREATHE> {
  const { p, days } = input;
  const breatheEveryMs = input.breatheEveryMs ?? Number.POSITIVE_INFINITY;
  let breathedAt = performance.now();
  const cal = plan.calendar;
  let nextSignup = 0;
  let nextLaunch = 0;
  const yearShare = 1 / 365;
  for (let d = 0; d < days; d++) {
    const dayStart = cal.dayStart(d);
    const dayEnd = dayStart + DAY_MS;
    shop.beginStep(formatDay(dayStart), dayEnd);
    const rng = shop.rng;
    if (d === 0) {
      // The shop as it stood when the window opens: older products and accounts, with their original dates.
      for (; nextLaunch < plan.preexistingProducts; nextLaunch++) {
        shop.launchProduct(plan.launchAt[nextLaunch]!, plan.launchAt[nextLaunch]!, plan.popularity[nextLaunch]!);
      }
      for (; nextSignup < plan.preexisting; nextSignup++) shop.signUp(plan.signupAt[nextSignup]!);
    }

    // Product demand (trend, category season, price) is weighed once a day and after price changes.
    shop.setDemandDay(dayStart);
    const actions = new DayActions();
    for (; nextLaunch < plan.launchAt.length && plan.launchAt[nextLaunch]! < dayEnd; nextLaunch++) {
      actions.add(plan.launchAt[nextLaunch]!, ActionKind.Launch, nextLaunch);
    }
    for (; nextSignup < plan.signupAt.length && plan.signupAt[nextSignup]! < dayEnd; nextSignup++) {
      actions.add(plan.signupAt[nextSignup]!, ActionKind.SignUp);
    }
    // Orders: the plan says who orders today; the hour follows the daily cycle, after signup.
    const ordering = plan.ordersForDay(d);
    for (const index of ordering) {
      const signup = plan.signupAt[index]!;
      let at = cal.sampleTime(rng, d);
      if (at <= signup) at = Math.min(dayEnd - 1, Math.round(signup + 60_000 + rng.next() * (dayEnd - signup - 60_000)));
      actions.add(at, ActionKind.Order, index);
    }
    // Traffic follows the day's orders and conversion rate (weekday, season): world/traffic.ts.
    const browsing = rng.stochasticRound(browsingSessionsFor(p, ordering.length, dayStart));
    for (let i = 0; i < browsing; i++) actions.add(cal.sampleTime(rng, d), ActionKind.Browse);
    // Slowly changing attributes: moves, e-mail changes, price changes, discontinued products.
    const population = shop.customers.length;
    for (let i = rng.poisson(population * p.movesPerCustomerYear * yearShare); i > 0; i--)
      actions.add(cal.sampleTime(rng, d), ActionKind.Move);
    for (let i = rng.poisson(population * p.emailChangesPerCustomerYear * yearShare); i > 0; i--)
      actions.add(cal.sampleTime(rng, d), ActionKind.ChangeEmail);
    for (let i = rng.poisson(shop.products.size * p.priceChangesPerProductYear * yearShare); i > 0; i--)
      actions.add(cal.sampleTime(rng, d), ActionKind.Reprice);
    for (let i = rng.poisson(shop.products.size * p.discontinueShareYear * yearShare); i > 0; i--)
      actions.add(cal.sampleTime(rng, d), ActionKind.Discontinue);
    for (let i = rng.poisson(shop.products.size * p.promotionsPerProductYear * yearShare); i > 0; i--)
      actions.add(cal.sampleTime(rng, d), ActionKind.Promote);
    if (input.anomalies) for (const action of input.anomalies.planStep(shop, dayStart, dayEnd, ordering.length)) actions.addCustom(action);

    // Run everything in time order; order steps and restocks due in between are applied first.
    // A busy day is handed on in parts, so memory follows the part size, not the busiest day
    // (with anomalies the injector works on whole days, so the day stays one batch).
    const cutAt = input.anomalies ? Number.POSITIVE_INFINITY : (input.maxMessagesPerBatch ?? MAX_MESSAGES_PER_BATCH);
    for (const i of actions.ordered()) {
      const at = actions.at(i);
      const actionTime = Math.round(at);
      shop.advanceTo(actionTime);
      switch (actions.kind(i)) {
        case ActionKind.Launch: {
          const n = actions.arg(i);
          shop.launchProduct(plan.launchAt[n]!, plan.launchAt[n]!, plan.popularity[n]!);
          shop.refreshAssortment();
          break;
        }
        case ActionKind.SignUp:
          shop.signUp(at);
          break;
        case ActionKind.Order: {
          const customer = shop.customer(input.next.customer + actions.arg(i));
          if (customer) shop.placeOrder(customer, at);
          break;
        }
        case ActionKind.Browse:
          shop.browse(actionTime);
          break;
        case ActionKind.Move:
          shop.move(shop.randomCustomer()!, actionTime);
          break;
        case ActionKind.ChangeEmail:
          shop.changeEmail(shop.randomCustomer()!, actionTime);
          break;
        case ActionKind.Reprice:
          shop.reprice(shop.assortment.pick(rng), actionTime);
          break;
        case ActionKind.Discontinue:
          if (shop.assortment.size > 1) shop.discontinue(shop.assortment.pick(rng), actionTime);
          break;
        case ActionKind.Promote: {
          const [minDays, maxDays] = p.promotionDays;
          shop.promote(shop.assortment.pick(rng), actionTime, rng.pick(p.promotionPercents), rng.int(minDays, maxDays));
          break;
        }
        case ActionKind.Custom:
          actions.custom(i)();
          break;
      }
      if (shop.batch.messages.length >= cutAt) yield shop.cutBatch();
      if ((i & 31) === 0 && performance.now() - breathedAt >= breatheEveryMs) {
        yield BREATHE;
        breathedAt = performance.now();
      }
    }
    const batch = shop.endStep(dayEnd);
    input.anomalies?.afterStep(shop, batch, d === days - 1);
    yield batch;
  }
}
