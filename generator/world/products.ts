/** The catalogue: products with category-typical prices, Zipf popularity, and price changes. */
import { type Rng, WeightedPicker, upperBound } from '../random.ts';
import { CATEGORIES, BRANDS_PER_CATEGORY } from './catalog.ts';
import type { FakerPool } from './fakers.ts';
import { demandWeight } from './demand.ts';
import type { Product, Stock } from './types.ts';

const categoryPicker = new WeightedPicker(CATEGORIES.map((c) => [c, c.share] as const));

/** Rounds to a shop-like price ending in .49 or .99 (at least 0.99). */
export function shopPrice(cents: number): number {
  return Math.max(99, Math.round(cents / 50) * 50 - 1);
}

/** Brand names per category, drawn once per run from the US Faker. */
export function brandsByCategory(fakers: FakerPool): Map<string, string[]> {
  const faker = fakers.forCountry('US');
  const brands = new Map<string, string[]>();
  for (const category of CATEGORIES) {
    const names = new Set<string>();
    while (names.size < BRANDS_PER_CATEGORY) names.add(faker.company.name().split(/[ ,-]/)[0]!.slice(0, 40) || 'Generic');
    brands.set(category.name, [...names]);
  }
  return brands;
}

export function newProduct(
  rng: Rng,
  fakers: FakerPool,
  brands: Map<string, string[]>,
  id: number,
  launchedAt: number,
  insertedAt: number,
  popularity: number,
  trendPerYear: number,
): Product {
  const category = categoryPicker.pick(rng);
  const subcategory = rng.pick(category.subcategories);
  const brand = rng.pick(brands.get(category.name)!);
  const [lo, hi] = category.priceCents;
  const mu = (Math.log(lo) + Math.log(hi)) / 2;
  const sigma = (Math.log(hi) - Math.log(lo)) / 3.29;
  const priceCents = shopPrice(rng.logNormal(mu, sigma));
  const costCents = Math.max(1, Math.round(priceCents * rng.float(category.costShare[0], category.costShare[1])));
  const faker = fakers.forCountry('US');
  const name = `${brand} ${faker.commerce.productAdjective()} ${singular(subcategory)}`.slice(0, 200);
  return {
    id,
    sku: `SKU-${String(id).padStart(6, '0')}`,
    name,
    category: category.name,
    subcategory,
    brand,
    priceCents,
    costCents,
    isActive: true,
    launchedAt,
    createdAt: insertedAt,
    updatedAt: insertedAt,
    popularity,
    referencePriceCents: priceCents,
    trendPerYear,
    regularPriceCents: null,
    promotionUntil: 0,
  };
}

function singular(word: string): string {
  return word.endsWith('ies') ? `${word.slice(0, -3)}y` : word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word;
}

/** A list price change: mostly small moves, sometimes a markdown; cost follows now and then. */
export function changePrice(rng: Rng, product: Product, at: number): void {
  const factor = rng.chance(0.2) ? rng.float(0.7, 0.9) : Math.max(0.8, Math.min(1.25, rng.normal(1.03, 0.06)));
  product.priceCents = shopPrice(product.priceCents * factor);
  if (rng.chance(0.3)) product.costCents = Math.max(1, Math.round(product.costCents * rng.float(0.95, 1.06)));
  product.costCents = Math.min(product.costCents, product.priceCents);
  product.updatedAt = at;
}

/**
 * Stock settings sized to expected demand, so restocks arrive before the shelf runs empty:
 * reorder point ~ 10 days of demand, replenishment ordered at ~18 days of demand (lead time is
 * 2-7 days, so stock normally stays above the reorder point), reorder quantity ~ 30 days.
 */
export function newStock(rng: Rng, productId: number, unitsPerDay: number, at: number): Stock {
  const reorderPoint = Math.ceil(unitsPerDay * 10) + 5;
  const reorderQuantity = Math.ceil(unitsPerDay * 30) + 20;
  return {
    productId,
    onHand: reorderPoint + Math.ceil(reorderQuantity * rng.float(0.6, 1.2)),
    reorderPoint,
    reorderQuantity,
    reorderTrigger: reorderPoint + Math.ceil(unitsPerDay * 8),
    lastRestockedAt: null,
    createdAt: at,
    updatedAt: at,
    restockPending: false,
    holdRestockUntil: 0,
  };
}

/**
 * Weighted choice among the products currently on sale, by their demand on the day it was built
 * for (world/demand.ts); rebuilt each simulated day and when the assortment or a price changes.
 */
export class Assortment {
  #products: Product[] = [];
  #cumulative = new Float64Array(0);

  rebuild(all: Iterable<Product>, dayMs: number, anchorMs: number): void {
    this.#products = [...all].filter((p) => p.isActive);
    this.#cumulative = new Float64Array(this.#products.length);
    let total = 0;
    this.#products.forEach((p, i) => {
      total += demandWeight(p, dayMs, anchorMs);
      this.#cumulative[i] = total;
    });
  }

  get size(): number {
    return this.#products.length;
  }

  pick(rng: Rng): Product {
    if (this.#products.length === 0) throw new RangeError('no products on sale');
    const total = this.#cumulative[this.#cumulative.length - 1]!;
    return this.#products[upperBound(this.#cumulative, rng.next() * total)]!;
  }

  /**
   * Up to `count` distinct products; with `available`, products it rejects are passed over
   * (a shopper who finds an item sold out picks another or buys less).
   */
  pickDistinct(rng: Rng, count: number, available?: (p: Product) => boolean): Product[] {
    const chosen = new Map<number, Product>();
    for (let tries = 0; chosen.size < count && tries < count * 8; tries++) {
      const p = this.pick(rng);
      if (available && !available(p)) continue;
      chosen.set(p.id, p);
    }
    return [...chosen.values()];
  }

  /** The most expensive products on sale (for high-value fraud orders). */
  priciest(count: number): Product[] {
    return [...this.#products].sort((a, b) => b.priceCents - a.priceCents || a.id - b.id).slice(0, count);
  }
}
