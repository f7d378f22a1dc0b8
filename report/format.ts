/** Escaping and number formatting shared by the HTML and text renderers. */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Every string that comes from data goes through this before it reaches HTML. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const moneyCents = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatMoney(value: number | null, cents = false): string {
  if (value === null || !Number.isFinite(value)) return '–';
  return (cents ? moneyCents : money).format(value);
}

export function formatCount(value: number | null): string {
  return value === null || !Number.isFinite(value) ? '–' : count.format(value);
}

/**
 * A count with its noun, agreeing in number: "1 unit", "2 units", "1,200 units". English only
 * pluralises with -s for the nouns the report uses; an irregular one passes its plural.
 */
export function formatCountOf(value: number, singular: string, plural = `${singular}s`): string {
  return `${formatCount(value)} ${value === 1 ? singular : plural}`;
}

export function formatPercent(value: number | null, digits = 1): string {
  return value === null || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(digits)}%`;
}

/** Compact money for chart labels: $1.2k, $3.4M. */
export function formatMoneyShort(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `$${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `$${(value / 1e3).toFixed(1)}k`;
  return `$${value.toFixed(0)}`;
}

/** Relative change of `current` against `base`; null when there is no base to compare with. */
export function change(current: number | null, base: number | null): number | null {
  if (current === null || base === null || base === 0) return null;
  return (current - base) / Math.abs(base);
}

/**
 * The direction a change shows once rounded to one decimal of a percent (or point): 1 up, -1
 * down, 0 for a change too small to show, so "−0.0" never appears and colour follows the text.
 */
export function shownDirection(value: number): -1 | 0 | 1 {
  return shownDigits(value) === '0.0' ? 0 : value > 0 ? 1 : -1;
}

const shownDigits = (value: number): string => Math.abs(value * 100).toFixed(1);

function signed(value: number, unit: string): string {
  const direction = shownDirection(value);
  const sign = direction > 0 ? '+' : direction < 0 ? '−' : '±';
  return `${sign}${shownDigits(value)}${unit}`;
}

export function formatChange(value: number | null): string {
  return value === null ? 'n/a' : signed(value, '%');
}

/** YYYY-MM-DD plus `days` (negative to go back), in UTC. */
export function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

export function weekdayName(isoDate: string): string {
  return new Date(`${isoDate}T00:00:00Z`).toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' });
}

export function longDate(isoDate: string): string {
  return new Date(`${isoDate}T00:00:00Z`).toLocaleDateString('en-US', {
    weekday: 'long',
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    timeZone: 'UTC',
  });
}

export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

export function shortDate(isoDate: string): string {
  return new Date(`${isoDate}T00:00:00Z`).toLocaleDateString('en-US', {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  });
}

/** Difference of two rates in percentage points; null when either is missing. */
export function pointChange(current: number | null, base: number | null): number | null {
  return current === null || base === null ? null : current - base;
}

export function formatPointChange(value: number | null): string {
  return value === null ? 'n/a' : signed(value, ' pp');
}

/**
 * A duration in hours as a person reads it: "0.4 h", "26.0 h", then whole days past two days.
 * A no-break space keeps number and unit together on a phone's narrow column.
 */
export function formatHours(hours: number | null): string {
  if (hours === null || !Number.isFinite(hours)) return '–';
  if (hours < 48) return `${hours.toFixed(1)}\u00a0h`;
  // Two days or more here, so always plural; formatCountOf keeps it right if the threshold moves.
  return formatCountOf(Math.floor(hours / 24), 'day').replace(' ', '\u00a0');
}

/** An ISO time as "YYYY-MM-DD HH:MM" (UTC), or "–". */
export function shortTime(iso: string | null): string {
  return iso ? iso.replace('T', ' ').slice(0, 16) : '–';
}
