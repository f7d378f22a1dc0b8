/**
 * Catalogue shape: categories with their subcategories, typical price band and margin.
 * Prices are drawn log-normally inside the band, so each category has its own price level.
 */

export interface CategorySpec {
  name: string;
  /** Share of the catalogue in this category. */
  share: number;
  subcategories: readonly string[];
  /** Typical price band in cents (5th..95th percentile, roughly). */
  priceCents: readonly [number, number];
  /** Cost as a share of price. */
  costShare: readonly [number, number];
  /**
   * Price elasticity of demand: a product's demand scales with (price / launch price)^-elasticity,
   * so a 25% markdown lifts an elasticity-2 product's sales by ~78% (world/demand.ts).
   */
  elasticity: number;
  /** Yearly season of the category: demand x (1 + amplitude x cos(2 pi (day of year - peak) / 365.25)). */
  season: { readonly peakDayOfYear: number; readonly amplitude: number };
}

export const CATEGORIES: readonly CategorySpec[] = [
  {
    name: 'Electronics',
    share: 0.16,
    subcategories: ['Headphones', 'Chargers', 'Speakers', 'Cameras', 'Smart Home', 'Tablets'],
    priceCents: [1_500, 60_000],
    costShare: [0.6, 0.8],
    elasticity: 1.8,
    season: { peakDayOfYear: 335, amplitude: 0.25 },
  },
  {
    name: 'Home',
    share: 0.18,
    subcategories: ['Kitchen', 'Bedding', 'Lighting', 'Decor', 'Storage', 'Bath'],
    priceCents: [800, 25_000],
    costShare: [0.4, 0.6],
    elasticity: 1.4,
    season: { peakDayOfYear: 300, amplitude: 0.1 },
  },
  {
    name: 'Fashion',
    share: 0.2,
    subcategories: ['Shirts', 'Dresses', 'Shoes', 'Jackets', 'Accessories', 'Bags'],
    priceCents: [1_200, 18_000],
    costShare: [0.3, 0.5],
    elasticity: 1.6,
    season: { peakDayOfYear: 100, amplitude: 0.2 },
  },
  {
    name: 'Beauty',
    share: 0.1,
    subcategories: ['Skincare', 'Makeup', 'Fragrance', 'Hair Care'],
    priceCents: [600, 9_000],
    costShare: [0.25, 0.45],
    elasticity: 1.2,
    season: { peakDayOfYear: 41, amplitude: 0.1 },
  },
  {
    name: 'Sports',
    share: 0.1,
    subcategories: ['Fitness', 'Cycling', 'Outdoor', 'Running', 'Yoga'],
    priceCents: [1_000, 40_000],
    costShare: [0.45, 0.65],
    elasticity: 1.5,
    season: { peakDayOfYear: 170, amplitude: 0.35 },
  },
  {
    name: 'Toys',
    share: 0.08,
    subcategories: ['Board Games', 'Puzzles', 'Building Sets', 'Plush'],
    priceCents: [700, 12_000],
    costShare: [0.4, 0.6],
    elasticity: 1.3,
    season: { peakDayOfYear: 345, amplitude: 0.5 },
  },
  {
    name: 'Books',
    share: 0.1,
    subcategories: ['Fiction', 'Non-fiction', 'Children', 'Cooking', 'Travel'],
    priceCents: [600, 4_500],
    costShare: [0.5, 0.7],
    elasticity: 1.1,
    season: { peakDayOfYear: 237, amplitude: 0.2 },
  },
  {
    name: 'Grocery',
    share: 0.08,
    subcategories: ['Coffee', 'Tea', 'Snacks', 'Pantry'],
    priceCents: [300, 3_500],
    costShare: [0.55, 0.75],
    elasticity: 0.6,
    season: { peakDayOfYear: 1, amplitude: 0 },
  },
];

/** Brands per category, generated once per run from the seeded Faker. */
export const BRANDS_PER_CATEGORY = 12;
