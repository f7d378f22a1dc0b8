/** All the report's charts as PNGs with the Content-IDs the HTML refers to. */
import { withoutClickstream } from '../freshness.ts';
import type { ReportData } from '../model.ts';
import { renderCategoryChart, renderFunnelChart, renderSegmentChart } from './bars.ts';
import { renderCohortChart } from './cohort.ts';
import { renderTrendChart } from './trend.ts';

export interface ChartImage {
  /** Content-ID (cid:) in the mail; also the key the HTML renderer looks up. */
  cid: string;
  filename: string;
  alt: string;
  png: Buffer;
  /** Display width in CSS pixels (the PNG is twice as wide). */
  width: number;
}

export type ChartId = 'trend' | 'categories' | 'funnel' | 'cohorts' | 'segments';

export function renderCharts(data: ReportData): Map<ChartId, ChartImage> {
  const charts = new Map<ChartId, ChartImage>();
  const add = (id: ChartId, alt: string, png: Buffer) =>
    charts.set(id, { cid: `${id}.${data.businessDate}@shopflow`, filename: `${id}.png`, alt, png, width: 480 });
  if (data.trend.ok) add('trend', 'Revenue per day over the last 30 days', renderTrendChart(data.trend.rows));
  if (data.categories.ok) add('categories', 'Revenue by category over the last 7 days', renderCategoryChart(data.categories.rows));
  // A shop without a clickstream gets a sentence instead (html.ts), so no unused attachment.
  if (data.funnel.ok && !withoutClickstream(data.gates))
    add('funnel', 'Session funnel on the business date', renderFunnelChart(data.funnel.rows));
  if (data.cohorts.ok) add('cohorts', 'Monthly cohort retention heat map', renderCohortChart(data.cohorts.rows));
  if (data.segments.ok) add('segments', 'Customers per RFM segment', renderSegmentChart(data.segments.rows));
  return charts;
}
