/** 30-day revenue trend: an area line with the business date highlighted. */
import { formatMoneyShort } from '../format.ts';
import type { TrendPoint } from '../model.ts';
import { COLORS, createChart, drawEmpty, font, niceScale, toPng } from './canvas.ts';

export function renderTrendChart(points: TrendPoint[], width = 480, height = 220): Buffer {
  const chart = createChart(width, height);
  const { ctx } = chart;
  if (points.length === 0) {
    drawEmpty(chart, 'No revenue in the last 30 days');
    return toPng(chart);
  }
  const left = 62;
  const right = 16;
  const top = 16;
  const bottom = 32;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const { max, step } = niceScale(Math.max(...points.map((p) => p.revenue)));

  ctx.font = font(14);
  ctx.textAlign = 'right';
  for (let value = 0; value <= max + step / 2; value += step) {
    const y = top + plotHeight - (value / max) * plotHeight;
    ctx.strokeStyle = COLORS.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(width - right, y);
    ctx.stroke();
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(formatMoneyShort(value), left - 6, y);
  }

  const xOf = (i: number) => left + (points.length === 1 ? plotWidth / 2 : (i / (points.length - 1)) * plotWidth);
  const yOf = (v: number) => top + plotHeight - (v / max) * plotHeight;

  ctx.beginPath();
  ctx.moveTo(xOf(0), top + plotHeight);
  points.forEach((p, i) => ctx.lineTo(xOf(i), yOf(p.revenue)));
  ctx.lineTo(xOf(points.length - 1), top + plotHeight);
  ctx.closePath();
  ctx.fillStyle = COLORS.primaryFill;
  ctx.fill();

  ctx.beginPath();
  points.forEach((p, i) => (i === 0 ? ctx.moveTo(xOf(i), yOf(p.revenue)) : ctx.lineTo(xOf(i), yOf(p.revenue))));
  ctx.strokeStyle = COLORS.primary;
  ctx.lineWidth = 2.5;
  ctx.lineJoin = 'round';
  ctx.stroke();

  const last = points.length - 1;
  ctx.beginPath();
  ctx.arc(xOf(last), yOf(points[last]!.revenue), 4.5, 0, Math.PI * 2);
  ctx.fillStyle = COLORS.accent;
  ctx.fill();

  // Date labels about weekly, always including the last day.
  ctx.fillStyle = COLORS.muted;
  ctx.font = font(14);
  ctx.textAlign = 'center';
  const every = Math.max(1, Math.ceil(points.length / 5));
  points.forEach((p, i) => {
    if ((last - i) % every !== 0) return;
    const label = new Date(`${p.date}T00:00:00Z`).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
    const x = Math.min(Math.max(xOf(i), left + 20), width - right - 20);
    ctx.fillText(label, x, height - bottom / 2);
  });
  return toPng(chart);
}
