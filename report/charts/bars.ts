/** Bar charts: revenue by category, the session funnel and RFM segment sizes. */
import { formatCount, formatMoneyShort, formatPercent } from '../format.ts';
import type { CategoryRevenue, FunnelStep, SegmentSize } from '../model.ts';
import { COLORS, SERIES, createChart, drawEmpty, drawHorizontalBars, toPng } from './canvas.ts';

const ROW = 32;

export function renderCategoryChart(rows: CategoryRevenue[], width = 480): Buffer {
  const shown = rows.slice(0, 10);
  const chart = createChart(width, Math.max(80, shown.length * ROW + 20));
  if (shown.length === 0) drawEmpty(chart, 'No category revenue in this period');
  else
    drawHorizontalBars(
      chart,
      shown.map((r, i) => ({ label: r.category, value: r.revenue, color: SERIES[i % SERIES.length] })),
      formatMoneyShort,
      { labelWidth: 156 },
    );
  return toPng(chart);
}

export function renderFunnelChart(steps: FunnelStep[], width = 480): Buffer {
  const chart = createChart(width, Math.max(80, steps.length * (ROW + 6) + 20));
  const first = steps[0]?.sessions ?? 0;
  if (steps.length === 0 || first === 0) drawEmpty(chart, 'No sessions on this day');
  else {
    drawHorizontalBars(
      chart,
      steps.map((s, i) => ({
        label: s.step,
        value: s.sessions,
        color: i === steps.length - 1 ? COLORS.accent : COLORS.bar,
        note: i === 0 ? undefined : `${formatPercent(s.sessions / first)} of sessions`,
      })),
      formatCount,
      { labelWidth: 118 },
    );
  }
  return toPng(chart);
}

export function renderSegmentChart(rows: SegmentSize[], width = 480): Buffer {
  const chart = createChart(width, Math.max(80, rows.length * 28 + 20));
  const total = rows.reduce((sum, r) => sum + r.customers, 0);
  if (rows.length === 0) drawEmpty(chart, 'No RFM segments yet');
  else {
    drawHorizontalBars(
      chart,
      rows.map((r, i) => ({
        label: r.segment,
        value: r.customers,
        color: SERIES[i % SERIES.length],
        note: total > 0 ? formatPercent(r.customers / total, 0) : undefined,
      })),
      formatCount,
      { labelWidth: 158 },
    );
  }
  return toPng(chart);
}
