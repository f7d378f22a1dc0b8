/**
 * Simulated time: the window's days, how busy each day is (growth x season x weekday x the
 * Black Friday weekend) and at what hour things happen. Times are epoch milliseconds, UTC.
 */
import type { Proportions } from '../params.ts';
import { upperBound, type Rng } from '../random.ts';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/** YYYY-MM-DD (UTC) to epoch ms at midnight; throws on anything else. */
export function parseDay(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a date in YYYY-MM-DD form`);
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (new Date(ms).toISOString().slice(0, 10) !== text) throw new RangeError(`"${text}" is not a real calendar date`);
  return ms;
}

export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Black Friday: the day after the fourth Thursday of November. */
export function blackFriday(year: number): number {
  const novFirst = Date.UTC(year, 10, 1);
  const weekday = new Date(novFirst).getUTCDay(); // 0 = Sunday
  const firstThursday = 1 + ((4 - weekday + 7) % 7);
  return Date.UTC(year, 10, firstThursday + 21 + 1);
}

/** Seasonal factor of a day: monthly anchors at mid-month, linear in between (no step at month ends). */
export function seasonal(factors: readonly number[], dayMs: number): number {
  const date = new Date(dayMs);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const mid = (y: number, m: number) => Date.UTC(y, m, 15);
  const here = mid(year, month);
  const [fromMs, toMs, fromIndex, toIndex] =
    dayMs >= here ? [here, mid(year, month + 1), month, (month + 1) % 12] : [mid(year, month - 1), here, (month + 11) % 12, month];
  const t = (dayMs - fromMs) / (toMs - fromMs);
  return factors[fromIndex]! * (1 - t) + factors[toIndex]! * t;
}

export class Calendar {
  readonly startMs: number;
  readonly days: number;
  readonly #intensity: Float64Array;
  readonly #cumulative: Float64Array;
  readonly #hourCumulative: Float64Array;
  readonly #proportions: Proportions;

  constructor(startMs: number, days: number, proportions: Proportions) {
    this.startMs = startMs;
    this.days = days;
    this.#proportions = proportions;
    this.#intensity = new Float64Array(days);
    this.#cumulative = new Float64Array(days);
    let total = 0;
    for (let d = 0; d < days; d++) {
      const value = this.intensityAt(startMs + d * DAY_MS);
      this.#intensity[d] = value;
      total += value;
      this.#cumulative[d] = total;
    }
    this.#hourCumulative = new Float64Array(24);
    let hours = 0;
    proportions.hourFactors.forEach((f, h) => {
      hours += f;
      this.#hourCumulative[h] = hours;
    });
  }

  /** Relative demand of the day starting at `dayMs` (growth measured from the window start). */
  intensityAt(dayMs: number): number {
    const p = this.#proportions;
    const date = new Date(dayMs);
    const years = (dayMs - this.startMs) / (365 * DAY_MS);
    const growth = Math.pow(1 + p.annualGrowth, years);
    const month = seasonal(p.monthFactors, dayMs);
    const weekday = p.weekdayFactors[(date.getUTCDay() + 6) % 7]!;
    const bf = blackFriday(date.getUTCFullYear());
    const promo = dayMs === bf || dayMs === bf + 3 * DAY_MS ? p.blackFridayFactor : 1;
    return growth * month * weekday * promo;
  }

  dayStart(day: number): number {
    return this.startMs + day * DAY_MS;
  }

  /** Share of the whole window's demand that falls on `day`. */
  dayShare(day: number): number {
    return this.#intensity[day]! / this.#cumulative[this.days - 1]!;
  }

  /** A day in [fromDay, toDay] drawn in proportion to demand. */
  sampleDay(rng: Rng, fromDay = 0, toDay = this.days - 1): number {
    const lo = fromDay > 0 ? this.#cumulative[fromDay - 1]! : 0;
    const hi = this.#cumulative[toDay]!;
    return Math.min(toDay, Math.max(fromDay, upperBound(this.#cumulative, lo + rng.next() * (hi - lo))));
  }

  /** A moment within `day`, hours weighted by the daily cycle. */
  sampleTime(rng: Rng, day: number): number {
    const hour = upperBound(this.#hourCumulative, rng.next() * this.#hourCumulative[23]!);
    return this.dayStart(day) + hour * HOUR_MS + Math.floor(rng.next() * HOUR_MS);
  }
}
