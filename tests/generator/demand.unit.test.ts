/**
 * The generator's demand has structure a forecaster can learn (docs/generator.md, Demand): a
 * category's yearly season, price elasticity through temporary markdowns, and stock-outs that
 * censor sales. A world where every product sold at its Zipf share regardless of price, season
 * or stock left a forecasting benchmark nothing to find beyond the weekly cycle.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { CATEGORIES } from '../../generator/world/catalog.ts';
import { categorySeason, demandWeight, priceEffect } from '../../generator/world/demand.ts';
import type { Product } from '../../generator/world/types.ts';
import { cents, generateInMemory, type MemoryWorld } from './memory-world.ts';

let world: MemoryWorld;
/** units[productId][day index] */
const units = new Map<number, Float64Array>();
const FROM_MS = Date.UTC(2024, 5, 1);
const DAYS = 214;
const dayOf = (time: string | number | null): number =>
  Math.floor((Date.parse(`${String(time).replace(' ', 'T')}Z`) - FROM_MS) / 86_400_000);

beforeAll(async () => {
  world = await generateInMemory({
    seed: 11,
    from: '2024-06-01',
    days: DAYS,
    customers: 1_500,
    orders: 12_000,
    products: 80,
    messageBodies: false,
  });
  const orderDay = new Map<number, number>();
  for (const [id, o] of world.tables.orders) orderDay.set(id, dayOf(o.placed_at));
  for (const item of world.tables.order_items.values()) {
    const pid = Number(item.product_id);
    if (!units.has(pid)) units.set(pid, new Float64Array(DAYS));
    const d = orderDay.get(Number(item.order_id))!;
    if (d >= 0 && d < DAYS) units.get(pid)![d]! += Number(item.quantity);
  }
}, 120_000);

function product(overrides: Partial<Product>): Product {
  return {
    id: 1,
    sku: 'SKU-000001',
    name: 'x',
    category: 'Sports',
    subcategory: 'Running',
    brand: 'b',
    priceCents: 1_000,
    costCents: 500,
    isActive: true,
    launchedAt: 0,
    createdAt: 0,
    updatedAt: 0,
    popularity: 1,
    referencePriceCents: 1_000,
    trendPerYear: 0,
    regularPriceCents: null,
    promotionUntil: 0,
    ...overrides,
  };
}

describe('the demand model', () => {
  it('price elasticity: a markdown lifts demand by (price ratio)^-elasticity of the category', () => {
    const sports = CATEGORIES.find((c) => c.name === 'Sports')!;
    expect(priceEffect(product({ priceCents: 750 }))).toBeCloseTo(Math.pow(0.75, -sports.elasticity), 9);
    expect(priceEffect(product({ priceCents: 1_000 }))).toBe(1);
  });

  it('season: each category peaks on its own day of the year and is lowest half a year away', () => {
    const peak = Date.UTC(2024, 0, 1) + (CATEGORIES.find((c) => c.name === 'Sports')!.season.peakDayOfYear - 1) * 86_400_000;
    expect(categorySeason('Sports', peak)).toBeGreaterThan(categorySeason('Sports', peak + 182 * 86_400_000) + 0.5);
    expect(categorySeason('Grocery', peak)).toBe(1);
  });

  it('trend: a product with a positive trend gains demand over time, one with a negative trend loses it', () => {
    const year = 365.25 * 86_400_000;
    expect(
      demandWeight(product({ trendPerYear: 0.3, category: 'Grocery' }), year, 0) /
        demandWeight(product({ trendPerYear: 0.3, category: 'Grocery' }), 0, 0),
    ).toBeCloseTo(Math.exp(0.3), 6);
    expect(demandWeight(product({ trendPerYear: -0.3 }), year, 0)).toBeLessThan(demandWeight(product({ trendPerYear: -0.3 }), 0, 0));
  });
});

describe('a generated world', () => {
  it('categories follow their season: Sports sells a bigger share in June than in December, Toys the reverse', () => {
    const share = (category: string, from: number, to: number) => {
      let mine = 0;
      let all = 0;
      for (const [pid, series] of units) {
        const inCategory = world.tables.products.get(pid)!.category === category;
        for (let d = from; d < to; d++) {
          all += series[d]!;
          if (inCategory) mine += series[d]!;
        }
      }
      return mine / all;
    };
    const june = [0, 30] as const;
    const december = [183, 213] as const;
    expect(share('Sports', ...june) / share('Sports', ...december)).toBeGreaterThan(1.3);
    expect(share('Toys', ...december) / share('Toys', ...june)).toBeGreaterThan(1.5);
  });

  it('promotions: a temporary markdown is written as a price drop and a return, and sales rise while it lasts', () => {
    // Price history per product from the writes, in order.
    const history = new Map<number, { day: number; price: number }[]>();
    for (const w of world.writes) {
      if (w.table !== 'products') continue;
      const pid = Number(w.row[0]);
      if (!history.has(pid)) history.set(pid, []);
      history.get(pid)!.push({ day: dayOf(w.row[11] ?? null), price: cents(w.row[6] ?? null) });
    }
    let during = 0;
    let before = 0;
    let promotions = 0;
    for (const [pid, changes] of history) {
      for (let i = 1; i + 1 < changes.length; i++) {
        const [prev, cut, back] = [changes[i - 1]!, changes[i]!, changes[i + 1]!];
        const markdown = cut.price / prev.price;
        if (back.price !== prev.price || markdown > 0.87 || markdown < 0.65 || cut.day < 14 || back.day - cut.day < 6) continue;
        const series = units.get(pid);
        if (!series) continue;
        promotions++;
        for (let d = cut.day + 1; d < back.day; d++) during += series[d]! / (back.day - cut.day - 1);
        for (let d = cut.day - 14; d < cut.day; d++) before += series[d]! / 14;
      }
    }
    expect(promotions).toBeGreaterThan(20);
    expect(during / before).toBeGreaterThan(1.25);
  });

  it('stock-outs: some products run out, and no order line takes more than the shelf holds', () => {
    const outs = world.writes.filter((w) => w.table === 'inventory' && Number(w.row[1]) === 0);
    expect(outs.length).toBeGreaterThan(0);
    for (const s of world.tables.inventory.values()) expect(Number(s.quantity_on_hand)).toBeGreaterThanOrEqual(0);
  });
});
