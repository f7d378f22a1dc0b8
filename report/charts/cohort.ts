/** Cohort retention heat map: one row per first-order month, one column per month since. */
import { formatPercent } from '../format.ts';
import type { CohortCell } from '../model.ts';
import { COLORS, createChart, drawEmpty, font, toPng } from './canvas.ts';

const MAX_COHORTS = 12;
const MAX_OFFSETS = 12;

/** White to dark blue; text flips to white on dark cells. */
function cellColor(rate: number): string {
  const t = Math.max(0, Math.min(1, rate));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${mix(239, 30)}, ${mix(246, 64)}, ${mix(255, 175)})`;
}

export function renderCohortChart(cells: CohortCell[], width = 480): Buffer {
  const cohorts = [...new Set(cells.map((c) => c.cohortMonth))].sort().slice(-MAX_COHORTS);
  const offsets = Math.min(MAX_OFFSETS, Math.max(0, ...cells.map((c) => c.monthsSinceFirstOrder + 1)));
  const labelWidth = 66;
  const header = 24;
  const cellHeight = 24;
  const chart = createChart(width, Math.max(80, header + cohorts.length * cellHeight + 8));
  const { ctx } = chart;
  if (cohorts.length === 0 || offsets === 0) {
    drawEmpty(chart, 'No cohorts yet');
    return toPng(chart);
  }
  const cellWidth = (width - labelWidth - 4) / offsets;
  const byKey = new Map(cells.map((c) => [`${c.cohortMonth}|${c.monthsSinceFirstOrder}`, c]));

  ctx.font = font(12);
  ctx.textAlign = 'center';
  ctx.fillStyle = COLORS.muted;
  for (let m = 0; m < offsets; m++) ctx.fillText(`M${m}`, labelWidth + m * cellWidth + cellWidth / 2, header / 2);

  cohorts.forEach((cohort, row) => {
    const y = header + row * cellHeight;
    ctx.font = font(12);
    ctx.textAlign = 'right';
    ctx.fillStyle = COLORS.text;
    ctx.fillText(cohort.slice(0, 7), labelWidth - 6, y + cellHeight / 2);
    for (let m = 0; m < offsets; m++) {
      const cell = byKey.get(`${cohort}|${m}`);
      if (!cell) continue;
      const x = labelWidth + m * cellWidth;
      ctx.fillStyle = cellColor(cell.retentionRate);
      ctx.fillRect(x + 1, y + 1, cellWidth - 2, cellHeight - 2);
      if (cellWidth >= 28) {
        ctx.font = font(10);
        ctx.textAlign = 'center';
        ctx.fillStyle = cell.retentionRate > 0.45 ? '#ffffff' : COLORS.text;
        ctx.fillText(formatPercent(cell.retentionRate, 0), x + cellWidth / 2, y + cellHeight / 2);
      }
    }
  });
  return toPng(chart);
}
