/**
 * Which products sell on a given day, and how much, in ways a forecaster can learn: each
 * product's share of the day's units is its Zipf popularity times
 *
 *   its own trend        exp(trendPerYear x years since the demand anchor)
 *   its category season  1 + amplitude x cos(2 pi (day of year - peak) / 365.25)
 *   its price            (price / launch price) ^ -elasticity of the category
 *
 * The shop-wide curve (growth, month, weekday, Black Friday) decides how many orders a day has
 * (world/calendar.ts); this decides which products they hold. Out-of-stock products are skipped
 * when a basket is filled (Assortment), so a stock-out censors demand instead of selling stock
 * the shop does not have.
 */
import { CATEGORIES, type CategorySpec } from './catalog.ts';
import { DAY_MS } from './calendar.ts';
import { Rng } from '../random.ts';
import type { Product } from './types.ts';

const YEAR_MS = 365.25 * DAY_MS;
const BY_NAME = new Map<string, CategorySpec>(CATEGORIES.map((c) => [c.name, c]));

/** A product's trend is drawn from the seed and its id alone, so it is the same in every run and does not move the main random stream. */
export function productTrend(seed: number, productId: number, sigma: number): number {
  return new Rng(seed, 'product-trend', productId).normal(0, sigma);
}

export function categorySeason(category: string, dayMs: number): number {
  const spec = BY_NAME.get(category);
  if (!spec || spec.season.amplitude === 0) return 1;
  const date = new Date(dayMs);
  const dayOfYear = (dayMs - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS + 1;
  return 1 + spec.season.amplitude * Math.cos((2 * Math.PI * (dayOfYear - spec.season.peakDayOfYear)) / 365.25);
}

export function priceEffect(product: Product): number {
  const elasticity = BY_NAME.get(product.category)?.elasticity ?? 1;
  return Math.pow(product.priceCents / Math.max(1, product.referencePriceCents), -elasticity);
}

/** Relative demand of a product on the day starting at `dayMs` (before normalisation over the assortment). */
export function demandWeight(product: Product, dayMs: number, anchorMs: number): number {
  const trend = Math.exp(product.trendPerYear * ((dayMs - anchorMs) / YEAR_MS));
  return product.popularity * trend * categorySeason(product.category, dayMs) * priceEffect(product);
}
