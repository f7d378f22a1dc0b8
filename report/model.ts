/** What the daily report shows, as plain data: loaded from the marts, rendered to HTML/text/PNG. */
import type { GateSummary } from '../great_expectations/summary.ts';

export interface DayKpis {
  date: string;
  revenue: number;
  netRevenue: number;
  orders: number;
  /** Average order value: revenue / orders; null on a day without orders. */
  aov: number | null;
  newCustomers: number;
  returningCustomers: number;
  /** null when the funnel mart is unavailable. */
  sessions: number | null;
  convertedSessions: number | null;
  /** convertedSessions / sessions; null without sessions or without the funnel mart. */
  conversionRate: number | null;
}

export interface TrendPoint {
  date: string;
  revenue: number;
}

export interface CategoryRevenue {
  category: string;
  revenue: number;
}

export interface FunnelStep {
  step: string;
  sessions: number;
}

export interface CohortCell {
  cohortMonth: string;
  monthsSinceFirstOrder: number;
  cohortSize: number;
  retentionRate: number;
}

export interface SegmentSize {
  segment: string;
  customers: number;
  /** The date the segments were scored as of (the marts' as-of date). */
  asOfDate: string | null;
}

export interface TopProduct {
  productName: string;
  category: string;
  units: number;
  revenue: number;
}

export interface LowStockItem {
  productName: string;
  sku: string;
  quantityOnHand: number;
  reorderPoint: number;
}

export interface FraudSuspect {
  orderId: string;
  customerId: string;
  amount: number;
  reason: string;
}

export interface FreshnessRow {
  source: string;
  /** Newest business time of the source (order placed, event) up to the end of the as-of day. */
  latestAt: string | null;
  /** Hours from latestAt to the end of the as-of day. */
  lagHours: number | null;
  /** Of the data against the as-of day: ok, stale (does not reach into it), unknown (no data). */
  status: 'ok' | 'stale' | 'unknown';
  /** When the source's newest row was loaded into the warehouse (wall clock). */
  loadedAt: string | null;
  /** Hours from loadedAt to when the report was generated. */
  loadAgeHours: number | null;
}

/** A section that could not be loaded is shown as unavailable, with the reason. */
export type Section<T> = { ok: true; rows: T } | { ok: false; reason: string };

import type { DemandSummary } from './demand.ts';

export interface ReportData {
  businessDate: string;
  previousDate: string;
  lastWeekDate: string;
  kpis: { current: DayKpis; previous: DayKpis; lastWeek: DayKpis };
  trend: Section<TrendPoint[]>;
  categories: Section<CategoryRevenue[]>;
  funnel: Section<FunnelStep[]>;
  cohorts: Section<CohortCell[]>;
  segments: Section<SegmentSize[]>;
  topProducts: Section<TopProduct[]>;
  lowStock: Section<LowStockItem[]>;
  demand: Section<DemandSummary>;
  fraud: Section<FraudSuspect[]>;
  freshness: Section<FreshnessRow[]>;
  gates: GateSummary[];
  generatedAt: string;
}
