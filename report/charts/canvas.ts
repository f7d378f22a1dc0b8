/**
 * Drawing helpers shared by the report's charts (@napi-rs/canvas). Charts are drawn at twice
 * their display size so they stay sharp on phones and retina screens.
 */
import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';

export const SCALE = 2;
export const FONT_FAMILY = '"DejaVu Sans", "Liberation Sans", sans-serif';

export const COLORS = {
  text: '#1f2933',
  muted: '#6b7785',
  grid: '#e4e7eb',
  primary: '#2563eb',
  primaryFill: 'rgba(37, 99, 235, 0.12)',
  accent: '#f59e0b',
  bar: '#3b82f6',
  barAlt: '#93c5fd',
  background: '#ffffff',
};

/** Sequential palette for categorical bars, readable on white. */
export const SERIES = ['#2563eb', '#0891b2', '#059669', '#65a30d', '#ca8a04', '#ea580c', '#dc2626', '#db2777', '#7c3aed', '#4b5563'];

export interface Chart {
  canvas: Canvas;
  ctx: SKRSContext2D;
  width: number;
  height: number;
}

/** A white canvas of `width` x `height` display pixels. */
export function createChart(width: number, height: number): Chart {
  const canvas = createCanvas(width * SCALE, height * SCALE);
  const ctx = canvas.getContext('2d');
  ctx.scale(SCALE, SCALE);
  ctx.fillStyle = COLORS.background;
  ctx.fillRect(0, 0, width, height);
  ctx.textBaseline = 'middle';
  return { canvas, ctx, width, height };
}

export function font(size: number, weight: 'normal' | 'bold' = 'normal'): string {
  return `${weight} ${size}px ${FONT_FAMILY}`;
}

export function toPng(chart: Chart): Buffer {
  return chart.canvas.toBuffer('image/png');
}

/** Shortens `text` with an ellipsis so it fits in `maxWidth` at the current font. */
export function fitText(ctx: SKRSContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let end = text.length;
  while (end > 1 && ctx.measureText(`${text.slice(0, end)}…`).width > maxWidth) end--;
  return `${text.slice(0, end)}…`;
}

/** "Nice" axis maximum and step for `max` split into about `ticks` intervals. */
export function niceScale(max: number, ticks = 4): { max: number; step: number } {
  if (!(max > 0)) return { max: 1, step: 0.25 };
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  return { max: Math.ceil(max / step) * step, step };
}

/** A message in the middle of an empty chart, so an empty chart never looks like a broken one. */
export function drawEmpty(chart: Chart, message: string): void {
  chart.ctx.fillStyle = COLORS.muted;
  chart.ctx.font = font(14);
  chart.ctx.textAlign = 'center';
  chart.ctx.fillText(message, chart.width / 2, chart.height / 2);
}

/** Horizontal bars with a label column on the left and the formatted value after each bar. */
export function drawHorizontalBars(
  chart: Chart,
  rows: { label: string; value: number; color?: string; note?: string }[],
  formatValue: (value: number) => string,
  options: { top?: number; labelWidth?: number } = {},
): void {
  const { ctx, width, height } = chart;
  const top = options.top ?? 12;
  const labelWidth = options.labelWidth ?? 130;
  // Room after the longest bar for its value and note, measured rather than guessed, so the
  // bars use the rest of the width.
  const valueWidth =
    16 +
    Math.max(
      ...rows.map((row) => {
        ctx.font = font(15, 'bold');
        const value = ctx.measureText(formatValue(row.value)).width;
        ctx.font = font(13);
        return value + (row.note ? 6 + ctx.measureText(row.note).width : 0);
      }),
      0,
    );
  const rowHeight = (height - top - 8) / Math.max(rows.length, 1);
  const barHeight = Math.min(22, rowHeight * 0.68);
  const maxValue = Math.max(...rows.map((r) => r.value), 0);
  const barSpace = Math.max(40, width - labelWidth - valueWidth);
  rows.forEach((row, index) => {
    const y = top + index * rowHeight + rowHeight / 2;
    ctx.font = font(15);
    ctx.fillStyle = COLORS.text;
    ctx.textAlign = 'right';
    ctx.fillText(fitText(ctx, row.label, labelWidth - 12), labelWidth - 8, y);
    const barWidth = maxValue > 0 ? Math.max(2, (row.value / maxValue) * barSpace) : 2;
    ctx.fillStyle = row.color ?? COLORS.bar;
    roundedRect(ctx, labelWidth, y - barHeight / 2, barWidth, barHeight, 3);
    ctx.fill();
    ctx.textAlign = 'left';
    ctx.fillStyle = COLORS.text;
    ctx.font = font(15, 'bold');
    const valueText = formatValue(row.value);
    ctx.fillText(valueText, labelWidth + barWidth + 8, y);
    if (row.note) {
      const offset = ctx.measureText(valueText).width + 6;
      ctx.font = font(13);
      ctx.fillStyle = COLORS.muted;
      ctx.fillText(row.note, labelWidth + barWidth + 8 + offset, y);
    }
  });
}

export function roundedRect(ctx: SKRSContext2D, x: number, y: number, w: number, h: number, r: number): void {
  const radius = Math.min(r, w / 2, h / 2);
  ctx.beginPath();
  ctx.moveTo(x + radius, y);
  ctx.lineTo(x + w - radius, y);
  ctx.quadraticCurveTo(x + w, y, x + w, y + radius);
  ctx.lineTo(x + w, y + h - radius);
  ctx.quadraticCurveTo(x + w, y + h, x + w - radius, y + h);
  ctx.lineTo(x + radius, y + h);
  ctx.quadraticCurveTo(x, y + h, x, y + h - radius);
  ctx.lineTo(x, y + radius);
  ctx.quadraticCurveTo(x, y, x + radius, y);
  ctx.closePath();
}
