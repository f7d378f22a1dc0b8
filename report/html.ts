/**
 * The report as HTML that survives mail clients: one centred column (max 640px), tables for
 * layout, inline styles only, images as cid: attachments in the mail or data: URIs in the
 * saved file. Every value that comes from data is escaped here, at the point of output.
 */
import type { ChartId, ChartImage } from './charts/index.ts';
import {
  dataFreshness,
  FRESHNESS_STATUS_LABEL,
  loadFreshness,
  NO_CLICKSTREAM,
  uncheckedSentence,
  uncheckedSources,
  withoutClickstream,
} from './freshness.ts';
import {
  change,
  escapeHtml as e,
  formatChange,
  formatCount,
  formatPointChange,
  formatMoney,
  formatPercent,
  longDate,
  pointChange,
  shortDate,
  shownDirection,
  weekdayName,
} from './format.ts';
import type { DayKpis, ReportData, Section } from './model.ts';

export type ImageMode = 'cid' | 'data-uri';

const FONT = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const C = {
  text: '#1f2933',
  muted: '#6b7785',
  border: '#e4e7eb',
  bg: '#f3f4f6',
  card: '#ffffff',
  good: '#047857',
  bad: '#b91c1c',
  head: '#111827',
};

function imageSrc(image: ChartImage, mode: ImageMode): string {
  return mode === 'cid' ? `cid:${image.cid}` : `data:image/png;base64,${image.png.toString('base64')}`;
}

function section(title: string, body: string, subtitle?: string): string {
  return `<tr><td style="padding:20px 20px 4px 20px;">
<h2 style="margin:0 0 4px 0;font-size:17px;line-height:22px;color:${C.head};font-family:${FONT};">${e(title)}</h2>
${subtitle ? `<p style="margin:0 0 10px 0;font-size:13px;line-height:18px;color:${C.muted};font-family:${FONT};">${e(subtitle)}</p>` : ''}
${body}
</td></tr>`;
}

function chart(images: Map<ChartId, ChartImage>, id: ChartId, mode: ImageMode): string {
  const image = images.get(id);
  if (!image) return '';
  return `<img src="${imageSrc(image, mode)}" alt="${e(image.alt)}" width="${image.width}" style="display:block;width:100%;max-width:${image.width}px;height:auto;margin:0 auto;border:0;outline:none;" />`;
}

function unavailable(reason: string): string {
  return `<p style="margin:0;font-size:13px;color:${C.bad};font-family:${FONT};">Not available: ${e(reason)}</p>`;
}

function table(headers: string[], rows: string[][], align: ('left' | 'right')[]): string {
  const th = headers
    .map(
      (h, i) =>
        `<th align="${align[i]}" style="padding:6px 6px;font-size:12px;font-weight:600;color:${C.muted};border-bottom:1px solid ${C.border};font-family:${FONT};text-align:${align[i]};">${e(h)}</th>`,
    )
    .join('');
  const body = rows
    .map(
      (cells) =>
        `<tr>${cells
          .map(
            (cell, i) =>
              `<td align="${align[i]}" style="padding:6px 6px;font-size:13px;line-height:18px;color:${C.text};border-bottom:1px solid ${C.border};font-family:${FONT};text-align:${align[i]};${align[i] === 'right' ? 'white-space:nowrap;' : 'word-break:break-word;'}">${cell}</td>`,
          )
          .join('')}</tr>`,
    )
    .join('\n');
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;width:100%;"><tr>${th}</tr>\n${body}</table>`;
}

/** Relative change for amounts and counts; percentage points for rates (a rate's own % change misleads). */
function deltaCell(current: number | null, base: number | null, isRate = false): string {
  const value = isRate ? pointChange(current, base) : change(current, base);
  const direction = value === null ? 0 : shownDirection(value);
  const color = direction > 0 ? C.good : direction < 0 ? C.bad : C.muted;
  return `<span style="color:${color};white-space:nowrap;">${e(isRate ? formatPointChange(value) : formatChange(value))}</span>`;
}

function kpiTable(data: ReportData): string {
  const { current, previous, lastWeek } = data.kpis;
  const metrics: { label: string; pick: (k: DayKpis) => number | null; show: (v: number | null) => string; isRate?: boolean }[] = [
    { label: 'Revenue', pick: (k) => k.revenue, show: (v) => formatMoney(v) },
    { label: 'Net revenue', pick: (k) => k.netRevenue, show: (v) => formatMoney(v) },
    { label: 'Orders', pick: (k) => k.orders, show: formatCount },
    { label: 'Avg order value', pick: (k) => k.aov, show: (v) => formatMoney(v, true) },
    { label: 'New customers', pick: (k) => k.newCustomers, show: formatCount },
    { label: 'Returning customers', pick: (k) => k.returningCustomers, show: formatCount },
    { label: 'Conversion', pick: (k) => k.conversionRate, show: (v) => formatPercent(v, 2), isRate: true },
  ];
  const rows = metrics.map((m) => [
    e(m.label),
    `<strong>${e(m.show(m.pick(current)))}</strong>`,
    deltaCell(m.pick(current), m.pick(previous), m.isRate),
    deltaCell(m.pick(current), m.pick(lastWeek), m.isRate),
  ]);
  // No-break spaces: "Sat, Dec 5" stays one line above its column on a phone.
  return table(
    ['', shortDate(data.businessDate).replace(/ /g, '\u00a0'), 'vs day before', `vs last ${weekdayName(data.businessDate).slice(0, 3)}`],
    rows,
    ['left', 'right', 'right', 'right'],
  );
}

function listSection<T>(s: Section<T[]>, empty: string, render: (rows: T[]) => string): string {
  if (!s.ok) return unavailable(s.reason);
  if (s.rows.length === 0) return `<p style="margin:0;font-size:13px;color:${C.muted};font-family:${FONT};">${e(empty)}</p>`;
  return render(s.rows);
}

function demandHtml(data: ReportData): string {
  if (!data.demand.ok) return unavailable(data.demand.reason);
  const d = data.demand.rows;
  const p = (text: string) => `<p style="margin:0 0 8px 0;font-size:13px;color:${C.text};font-family:${FONT};">${text}</p>`;
  const units = (v: number | null) => e(v === null ? 'n/a' : formatCount(Math.round(v)));
  const headline =
    d.forecastAsOf === null || d.forecastUnits === null
      ? p('No forecast covered this day (run <code>npm run forecast</code>; the scheduler does it nightly).')
      : p(
          `Sold <strong>${units(d.actualUnits)}</strong> units; forecast ${units(d.forecastUnits)} (80% interval ${units(d.lowerUnits)}–${units(d.upperUnits)}), made ${e(d.forecastAsOf)}.`,
        );
  const misses =
    d.misses.length === 0
      ? ''
      : table(
          ['Biggest misses', 'Category', 'Forecast', 'Sold'],
          d.misses.map((m) => [
            e(m.productName),
            e(m.category),
            units(m.forecastUnits),
            `${e(formatCount(m.actualUnits))}${m.censored ? ' <span style="color:#b45309;">(out of stock)</span>' : ''}`,
          ]),
          ['left', 'left', 'right', 'right'],
        );
  const risks =
    d.atRisk.length === 0
      ? p('No product is expected to run out within the lead time.')
      : table(
          ['At risk of running out', 'SKU', 'On hand', 'Per day', 'Out by'],
          d.atRisk.map((r) => [
            e(r.productName),
            `<span style="white-space:nowrap;">${e(r.sku)}</span>`,
            e(formatCount(r.quantityOnHand)),
            e(r.forecastDailyUnits.toFixed(1)),
            `<span style="white-space:nowrap;">${e(r.expectedStockoutDate)}</span>`,
          ]),
          ['left', 'left', 'right', 'right', 'right'],
        );
  return `${headline}${misses}<div style="height:10px;"></div>${risks}`;
}

function qualityBadge(data: ReportData): string {
  const passed = data.gates.length > 0 && data.gates.every((g) => g.success);
  const color = passed ? C.good : C.bad;
  const text =
    data.gates.length === 0 ? 'Data quality: not checked' : passed ? 'Data quality: all checks passed' : 'Data quality: checks FAILED';
  return `<span style="display:inline-block;padding:3px 10px;border-radius:12px;background:${color};color:#ffffff;font-size:12px;font-weight:600;font-family:${FONT};">${e(text)}</span>`;
}

function qualitySection(data: ReportData): string {
  if (data.gates.length === 0) return unavailable('no gate ran for this report');
  const rows = data.gates.map((g) => [
    e(g.gate),
    g.success ? `<span style="color:${C.good};">passed</span>` : `<span style="color:${C.bad};font-weight:600;">failed</span>`,
    e(`${g.evaluated - g.failed}/${g.evaluated}`),
    e(g.checkedAt.replace('T', ' ').slice(0, 16)),
  ]);
  const failures = data.gates.flatMap((g) =>
    g.failures.map(
      (f) =>
        `<li style="margin:0 0 4px 0;">${e(`${g.gate} / ${f.suite}: ${f.expectation}`)}<br /><span style="color:${C.muted};font-size:12px;">${e(f.details)}</span></li>`,
    ),
  );
  const skipped = uncheckedSources(data.gates);
  return (
    table(['Gate', 'Result', 'Passed', 'Checked (UTC)'], rows, ['left', 'left', 'right', 'right']) +
    (skipped.length > 0
      ? `<p style="margin:8px 0 0 0;font-size:12px;line-height:17px;color:${C.muted};font-family:${FONT};">${e(uncheckedSentence(skipped))}</p>`
      : '') +
    (failures.length > 0
      ? `<ul style="margin:8px 0 0 18px;padding:0;font-size:13px;color:${C.text};font-family:${FONT};">${failures.join('')}</ul>`
      : '')
  );
}

/** Said only when it differs: segments are scored as of the marts' date, not the report's. */
function segmentsNote(data: ReportData): string | undefined {
  const asOf = data.segments.ok ? data.segments.rows[0]?.asOfDate : null;
  return asOf && asOf !== data.businessDate
    ? `Scored as of ${asOf}, the marts' as-of date (dbt var as_of_date), not ${data.businessDate}.`
    : undefined;
}

export function renderHtml(data: ReportData, images: Map<ChartId, ChartImage>, mode: ImageMode): string {
  const title = `ShopFlow daily report — ${longDate(data.businessDate)}`;
  const sections = [
    section('Key figures', kpiTable(data), `Compared with ${data.previousDate} and ${data.lastWeekDate} (same weekday last week).`),
    section('Revenue, last 30 days', data.trend.ok ? chart(images, 'trend', mode) : unavailable(data.trend.reason)),
    section(
      'Revenue by category',
      data.categories.ok ? chart(images, 'categories', mode) : unavailable(data.categories.reason),
      `Net item revenue over the 7 days ending ${data.businessDate}.`,
    ),
    section(
      'Conversion funnel',
      !data.funnel.ok
        ? unavailable(data.funnel.reason)
        : withoutClickstream(data.gates)
          ? `<p style="margin:0;font-size:13px;color:${C.muted};font-family:${FONT};">${e(NO_CLICKSTREAM)}</p>`
          : chart(images, 'funnel', mode),
      'Sessions on the day that reached each step (or went further).',
    ),
    section(
      'Top products',
      listSection(data.topProducts, 'No products sold on this day.', (rows) =>
        table(
          ['Product', 'Units', 'Revenue'],
          rows.map((p) => [
            `${e(p.productName)}<br /><span style="color:${C.muted};font-size:12px;">${e(p.category)}</span>`,
            e(formatCount(p.units)),
            e(formatMoney(p.revenue)),
          ]),
          ['left', 'right', 'right'],
        ),
      ),
    ),
    section(
      'Cohort retention',
      data.cohorts.ok ? chart(images, 'cohorts', mode) : unavailable(data.cohorts.reason),
      'Share of each first-order month’s customers who ordered again N months later.',
    ),
    section(
      'Customer segments (RFM)',
      data.segments.ok ? chart(images, 'segments', mode) : unavailable(data.segments.reason),
      segmentsNote(data),
    ),
    section(
      'Low stock',
      listSection(data.lowStock, 'No product is at or below its reorder point.', (rows) =>
        table(
          ['Product', 'SKU', 'On hand', 'Reorder at'],
          rows.map((r) => [
            e(r.productName),
            `<span style="white-space:nowrap;">${e(r.sku)}</span>`,
            e(formatCount(r.quantityOnHand)),
            e(formatCount(r.reorderPoint)),
          ]),
          ['left', 'left', 'right', 'right'],
        ),
      ),
    ),
    section(
      'Demand: yesterday vs forecast',
      demandHtml(data),
      'The latest XGBoost forecast made before the day, with its 80% interval; the products it missed most; products expected to run out within the lead time.',
    ),
    section(
      'Suspected fraud',
      listSection(data.fraud, 'No orders flagged.', (rows) =>
        table(
          ['Order', 'Customer', 'Amount', 'Why'],
          rows.map((r) => [
            `<span style="white-space:nowrap;">${e(r.orderId)}</span>`,
            e(r.customerId),
            e(formatMoney(r.amount, true)),
            e(r.reason),
          ]),
          ['left', 'left', 'right', 'left'],
        ),
      ),
    ),
    section('Data quality', qualitySection(data)),
    section(
      'Data freshness',
      listSection(data.freshness, 'No freshness information.', (rows) =>
        table(
          ['Source', 'Status'],
          rows.map((r) => [
            `<strong>${e(r.source)}</strong><br /><span style="color:${C.muted};font-size:12px;">${e(dataFreshness(r, data.businessDate))}<br />${e(loadFreshness(r))}</span>`,
            `<span style="color:${r.status === 'ok' ? C.good : r.status === 'stale' ? C.bad : C.muted};">${e(FRESHNESS_STATUS_LABEL[r.status])}</span>`,
          ]),
          ['left', 'right'],
        ),
      ),
      `How far each source's data reaches on ${data.businessDate}, and when it last loaded.`,
    ),
  ];

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<meta name="x-apple-disable-message-reformatting" />
<title>${e(title)}</title>
</head>
<body style="margin:0;padding:0;background:${C.bg};-webkit-text-size-adjust:100%;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:${C.bg};">
<tr><td align="center" style="padding:16px 8px;">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:640px;background:${C.card};border:1px solid ${C.border};border-radius:8px;">
<tr><td style="padding:20px 20px 0 20px;">
<p style="margin:0;font-size:12px;letter-spacing:0.06em;text-transform:uppercase;color:${C.muted};font-family:${FONT};">ShopFlow daily report</p>
<h1 style="margin:4px 0 10px 0;font-size:22px;line-height:28px;color:${C.head};font-family:${FONT};">${e(longDate(data.businessDate))}</h1>
${qualityBadge(data)}
</td></tr>
${sections.join('\n')}
<tr><td style="padding:20px;font-size:12px;line-height:17px;color:${C.muted};font-family:${FONT};">
Figures come from the warehouse marts as of <span style="white-space:nowrap;">${e(data.generatedAt.replace('T', ' ').slice(0, 16))} UTC</span>. Revenue is the value of orders placed that day; net revenue leaves out orders since cancelled or returned.
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`;
}
