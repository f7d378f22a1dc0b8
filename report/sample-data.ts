/**
 * A deterministic in-memory ReportData for rendering without a warehouse: used by the
 * screenshot script (`--sample`) and the rendering tests. Includes hostile strings on purpose.
 */
import { addDays } from './format.ts';
import type { DayKpis, ReportData } from './model.ts';

function kpis(date: string, scale: number): DayKpis {
  const orders = Math.round(412 * scale);
  const revenue = Math.round(38_950 * scale * 100) / 100;
  const sessions = Math.round(15_300 * scale);
  return {
    date,
    revenue,
    netRevenue: Math.round(revenue * 0.93 * 100) / 100,
    orders,
    aov: Math.round((revenue / orders) * 100) / 100,
    newCustomers: Math.round(118 * scale),
    returningCustomers: Math.round(264 * scale),
    sessions,
    convertedSessions: orders,
    conversionRate: orders / sessions,
  };
}

export function sampleReportData(businessDate = '2026-03-17'): ReportData {
  const trend = Array.from({ length: 30 }, (_, i) => {
    const date = addDays(businessDate, i - 29);
    const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
    return { date, revenue: 30_000 + i * 260 + (weekday === 0 || weekday === 6 ? 6_500 : 0) + ((i * 7919) % 3_000) };
  });
  const months = Array.from({ length: 12 }, (_, i) => {
    const d = new Date(Date.UTC(2025, 3 + i, 1));
    return d.toISOString().slice(0, 10);
  });
  const cohorts = months.flatMap((cohortMonth, row) =>
    Array.from({ length: 12 - row }, (_, m) => ({
      cohortMonth,
      monthsSinceFirstOrder: m,
      cohortSize: 300 + row * 12,
      retentionRate: m === 0 ? 1 : Math.max(0.02, 0.34 * Math.exp(-0.18 * (m - 1)) + ((row * 13 + m * 7) % 5) / 100),
    })),
  );
  return {
    businessDate,
    previousDate: addDays(businessDate, -1),
    lastWeekDate: addDays(businessDate, -7),
    kpis: {
      current: kpis(businessDate, 1),
      previous: kpis(addDays(businessDate, -1), 0.94),
      lastWeek: kpis(addDays(businessDate, -7), 1.05),
    },
    trend: { ok: true, rows: trend },
    categories: {
      ok: true,
      rows: [
        { category: 'Electronics', revenue: 98_200 },
        { category: 'Home & Kitchen', revenue: 61_400 },
        { category: 'Fashion', revenue: 52_900 },
        { category: 'Sports & Outdoors', revenue: 31_300 },
        { category: 'Beauty', revenue: 22_800 },
        { category: 'Toys <b>& Games</b>', revenue: 12_100 },
      ],
    },
    funnel: {
      ok: true,
      rows: [
        { step: 'Sessions', sessions: 15_300 },
        { step: 'Product view', sessions: 9_870 },
        { step: 'Add to cart', sessions: 2_950 },
        { step: 'Checkout', sessions: 1_240 },
        { step: 'Order placed', sessions: 412 },
      ],
    },
    cohorts: { ok: true, rows: cohorts },
    segments: {
      ok: true,
      rows: [
        ['Champions', 820],
        ['Loyal', 1_410],
        ['Potential Loyalists', 1_980],
        ['New', 640],
        ['Promising', 530],
        ['Need Attention', 760],
        ['About to Sleep', 910],
        ['At Risk', 1_130],
        ["Can't Lose Them", 210],
        ['Hibernating', 2_050],
        ['Lost', 2_600],
      ].map(([segment, customers]) => ({ segment: String(segment), customers: Number(customers), asOfDate: businessDate })),
    },
    topProducts: {
      ok: true,
      rows: [
        { productName: 'Noise-cancelling headphones X200', category: 'Electronics', units: 31, revenue: 7_409 },
        { productName: '<script>alert(1)</script>', category: 'Toys <b>& Games</b>', units: 24, revenue: 1_176 },
        { productName: 'Cast-iron skillet 28 cm', category: 'Home & Kitchen', units: 22, revenue: 1_034 },
        { productName: 'Trail running shoes "Ridge"', category: 'Sports & Outdoors', units: 19, revenue: 2_261 },
        { productName: 'Organic cotton hoodie', category: 'Fashion', units: 17, revenue: 1_003 },
      ],
    },
    lowStock: {
      ok: true,
      rows: [
        { productName: 'USB-C charger 65 W', sku: 'EL-00417', quantityOnHand: 3, reorderPoint: 25 },
        { productName: 'Yoga mat', sku: 'SP-01234', quantityOnHand: 0, reorderPoint: 10 },
      ],
    },
    demand: {
      ok: true,
      rows: {
        forecastAsOf: '2024-03-13',
        forecastUnits: 413,
        lowerUnits: 371.2,
        upperUnits: 455.9,
        actualUnits: 398,
        misses: [
          { productName: 'Yoga mat', category: 'Sports', forecastUnits: 6, actualUnits: 0, censored: true },
          { productName: 'Board game "Castles"', category: 'Toys', forecastUnits: 3, actualUnits: 9, censored: false },
        ],
        atRisk: [
          {
            productName: 'USB-C charger 65 W',
            sku: 'EL-00417',
            quantityOnHand: 12,
            forecastDailyUnits: 4.3,
            daysOfCover: 2.8,
            expectedStockoutDate: '2024-03-16',
          },
        ],
      },
    },
    fraud: {
      ok: true,
      rows: [
        {
          orderId: '104233',
          customerId: '5512',
          amount: 2_899,
          reason: 'card seen from 3 IP countries within 30 minutes (+60); card used by 3 accounts within 30 minutes (+30)',
        },
      ],
    },
    freshness: {
      ok: true,
      rows: [
        {
          source: 'Shop database (orders)',
          latestAt: `${businessDate}T23:58:12Z`,
          lagHours: 0.03,
          status: 'ok',
          loadedAt: `${addDays(businessDate, 1)}T07:30:05Z`,
          loadAgeHours: 0.25,
        },
        {
          source: 'Clickstream (events)',
          latestAt: `${businessDate}T23:59:40Z`,
          lagHours: 0.01,
          status: 'ok',
          loadedAt: `${addDays(businessDate, 1)}T07:44:51Z`,
          loadAgeHours: 0.0,
        },
      ],
    },
    gates: [
      {
        gate: 'raw',
        success: true,
        evaluated: 30,
        failed: 0,
        failures: [],
        summaryPath: 'out/gate/raw.json',
        dataDocsPath: null,
        checkedAt: `${addDays(businessDate, 1)}T07:41:00Z`,
      },
      {
        gate: 'marts',
        success: true,
        evaluated: 24,
        failed: 0,
        failures: [],
        summaryPath: 'out/gate/marts.json',
        dataDocsPath: null,
        checkedAt: `${addDays(businessDate, 1)}T07:42:00Z`,
      },
    ],
    generatedAt: `${addDays(businessDate, 1)}T07:45:00Z`,
  };
}
