/** The plain-text part of the report mail: the same figures, readable in any client. */
import {
  change,
  formatChange,
  formatCount,
  formatCountOf,
  formatMoney,
  formatPercent,
  formatPointChange,
  longDate,
  pointChange,
} from './format.ts';
import {
  dataFreshness,
  FRESHNESS_STATUS_LABEL,
  loadFreshness,
  NO_CLICKSTREAM,
  uncheckedSentence,
  uncheckedSources,
  withoutClickstream,
} from './freshness.ts';
import type { ReportData, Section } from './model.ts';

function lines<T>(s: Section<T[]>, empty: string, render: (row: T) => string): string[] {
  if (!s.ok) return [`  Not available: ${s.reason}`];
  if (s.rows.length === 0) return [`  ${empty}`];
  return s.rows.map((row) => `  - ${render(row)}`);
}

function demandLines(data: ReportData): string[] {
  if (!data.demand.ok) return [`  Not available: ${data.demand.reason}`];
  const d = data.demand.rows;
  const n = (v: number | null) => (v === null ? 'n/a' : formatCount(Math.round(v)));
  return [
    d.forecastAsOf === null
      ? '  No forecast covered this day.'
      : `  Sold ${n(d.actualUnits)} units; forecast ${n(d.forecastUnits)} (80% interval ${n(d.lowerUnits)}-${n(d.upperUnits)}), made ${d.forecastAsOf}.`,
    ...d.misses.map(
      (m) =>
        `  - miss: ${m.productName} (${m.category}): forecast ${n(m.forecastUnits)}, sold ${m.actualUnits}${m.censored ? ' (out of stock)' : ''}`,
    ),
    ...(d.atRisk.length === 0
      ? ['  No product expected to run out within the lead time.']
      : d.atRisk.map(
          (r) =>
            `  - at risk: ${r.productName} [${r.sku}]: ${formatCount(r.quantityOnHand)} on hand, ${r.forecastDailyUnits.toFixed(1)} a day, out by ${r.expectedStockoutDate}`,
        )),
  ];
}

export function renderText(data: ReportData): string {
  const { current: c, previous: p, lastWeek: w } = data.kpis;
  const kpi = (label: string, show: string, now: number | null, before: number | null, week: number | null) =>
    `  ${label.padEnd(20)} ${show.padStart(12)}   ${formatChange(change(now, before)).padStart(8)} vs day before   ${formatChange(change(now, week)).padStart(8)} vs last week`;
  const passed = data.gates.length > 0 && data.gates.every((g) => g.success);
  const out = [
    `ShopFlow daily report — ${longDate(data.businessDate)}`,
    `Data quality: ${data.gates.length === 0 ? 'not checked' : passed ? 'all checks passed' : 'checks FAILED'}`,
    '',
    `KEY FIGURES (${data.businessDate}; compared with ${data.previousDate} and ${data.lastWeekDate})`,
    kpi('Revenue', formatMoney(c.revenue), c.revenue, p.revenue, w.revenue),
    kpi('Net revenue', formatMoney(c.netRevenue), c.netRevenue, p.netRevenue, w.netRevenue),
    kpi('Orders', formatCount(c.orders), c.orders, p.orders, w.orders),
    kpi('Avg order value', formatMoney(c.aov, true), c.aov, p.aov, w.aov),
    kpi('New customers', formatCount(c.newCustomers), c.newCustomers, p.newCustomers, w.newCustomers),
    kpi('Returning customers', formatCount(c.returningCustomers), c.returningCustomers, p.returningCustomers, w.returningCustomers),
    `  ${'Conversion'.padEnd(20)} ${formatPercent(c.conversionRate, 2).padStart(12)}   ${formatPointChange(pointChange(c.conversionRate, p.conversionRate)).padStart(8)} vs day before   ${formatPointChange(pointChange(c.conversionRate, w.conversionRate)).padStart(8)} vs last week`,
    '',
    'REVENUE BY CATEGORY (7 days)',
    ...lines(data.categories, 'No category revenue.', (r) => `${r.category}: ${formatMoney(r.revenue)}`),
    '',
    'FUNNEL (sessions)',
    ...(withoutClickstream(data.gates)
      ? [`  ${NO_CLICKSTREAM}`]
      : lines(data.funnel, 'No sessions.', (r) => `${r.step}: ${formatCount(r.sessions)}`)),
    '',
    'TOP PRODUCTS',
    ...lines(
      data.topProducts,
      'No products sold.',
      (r) => `${r.productName} (${r.category}): ${formatCountOf(r.units, 'unit')}, ${formatMoney(r.revenue)}`,
    ),
    '',
    'CUSTOMER SEGMENTS (RFM)',
    ...lines(data.segments, 'No segments.', (r) => `${r.segment}: ${formatCount(r.customers)}`),
    '',
    'LOW STOCK',
    ...lines(
      data.lowStock,
      'No product at or below its reorder point.',
      (r) => `${r.productName} [${r.sku}]: ${formatCount(r.quantityOnHand)} on hand, reorder at ${formatCount(r.reorderPoint)}`,
    ),
    '',
    'DEMAND: YESTERDAY VS FORECAST',
    ...demandLines(data),
    '',
    'SUSPECTED FRAUD',
    ...lines(
      data.fraud,
      'No orders flagged.',
      (r) => `order ${r.orderId}, customer ${r.customerId}, ${formatMoney(r.amount, true)}: ${r.reason}`,
    ),
    '',
    'DATA QUALITY',
    ...(data.gates.length === 0
      ? ['  No gate ran for this report.']
      : data.gates.flatMap((g) => [
          `  - ${g.gate}: ${g.success ? 'passed' : 'FAILED'} (${g.evaluated - g.failed}/${g.evaluated})`,
          ...g.failures.map((f) => `      ${f.suite}: ${f.expectation} -- ${f.details}`),
        ])),
    ...(uncheckedSources(data.gates).length > 0 ? [`  ${uncheckedSentence(uncheckedSources(data.gates))}`] : []),
    '',
    'DATA FRESHNESS',
    ...lines(
      data.freshness,
      'No freshness information.',
      (r) => `${r.source} (${FRESHNESS_STATUS_LABEL[r.status]}): ${dataFreshness(r, data.businessDate)} ${loadFreshness(r)}`,
    ),
    '',
    `Charts are in the HTML version of this mail. Generated ${data.generatedAt}.`,
  ];
  return `${out.join('\n')}\n`;
}
