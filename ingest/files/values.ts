/**
 * One CSV field to the JSON value raw.file_rows keeps for its declared type, or the reason it
 * cannot be one. Numbers, dates and timestamps are kept as canonical strings (`-1234.50`,
 * `2026-03-01`, `2026-03-01T08:00:00`): exact (no float rounding) and castable by dbt as is.
 */
import type { ColumnType, CsvOptions } from './source-config.ts';

export type Converted = { ok: true; value: string | boolean | null } | { ok: false; reason: string };

const INTEGER = /^[+-]?\d+$/;
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const TOKENS: Record<string, string> = {
  YYYY: '(?<year>\\d{4})',
  MM: '(?<month>\\d{2})',
  DD: '(?<day>\\d{2})',
  HH: '(?<hour>\\d{2})',
  mm: '(?<minute>\\d{2})',
  ss: '(?<second>\\d{2})',
};

const formatCache = new Map<string, RegExp>();

/** A date/timestamp format (YYYY MM DD HH mm ss and literal separators) as an anchored regex. */
export function formatRegex(format: string): RegExp {
  let cached = formatCache.get(format);
  if (!cached) {
    const source = format
      .split(/(YYYY|MM|DD|HH|mm|ss)/)
      .map((part) => TOKENS[part] ?? escapeRegex(part))
      .join('');
    cached = new RegExp(`^${source}$`);
    formatCache.set(format, cached);
  }
  return cached;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function calendar(groups: Record<string, string | undefined>, withTime: boolean): string | null {
  const year = Number(groups['year']);
  const month = Number(groups['month']);
  const day = Number(groups['day']);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  const date = `${groups['year']}-${groups['month']}-${groups['day']}`;
  if (!withTime) return date;
  const hour = Number(groups['hour']);
  const minute = Number(groups['minute']);
  const second = Number(groups['second'] ?? '0');
  if (hour > 23 || minute > 59 || second > 59) return null;
  return `${date}T${groups['hour']}:${groups['minute']}:${groups['second'] ?? '00'}`;
}

/** `1.234,5` with decimal ',' and thousands '.' to `1234.5`; null when it is not such a number. */
export function canonicalDecimal(text: string, options: Pick<CsvOptions, 'decimal' | 'thousands'>): string | null {
  const t = escapeRegex(options.thousands);
  const d = escapeRegex(options.decimal);
  const grouped = options.thousands === '' ? '\\d+' : `\\d{1,3}(?:${t}\\d{3})*|\\d+`;
  const match = new RegExp(`^([+-]?)(${grouped})(?:${d}(\\d+))?$`).exec(text);
  if (!match) return null;
  const whole = match[2]!.split(options.thousands === '' ? /(?!)/ : options.thousands).join('');
  return `${match[1] === '-' ? '-' : ''}${whole}${match[3] === undefined ? '' : `.${match[3]}`}`;
}

export function convertField(raw: string, type: ColumnType, options: CsvOptions): Converted {
  if (type === 'text') {
    // Postgres text (and jsonb strings) cannot hold U+0000.
    if (raw.includes('\u0000')) return { ok: false, reason: 'the text holds a NUL character, which Postgres cannot store' };
    return { ok: true, value: raw === '' ? null : raw };
  }
  const text = raw.trim();
  if (text === '') return { ok: true, value: null };
  switch (type) {
    case 'integer':
      return INTEGER.test(text) ? { ok: true, value: text.replace(/^\+/, '') } : { ok: false, reason: `"${raw}" is not a whole number` };
    case 'numeric': {
      const value = canonicalDecimal(text, options);
      return value === null
        ? {
            ok: false,
            reason: `"${raw}" is not a number with decimal "${options.decimal}"${options.thousands ? ` and thousands "${options.thousands}"` : ''}`,
          }
        : { ok: true, value };
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (options.trueValues.some((v) => v.toLowerCase() === lower)) return { ok: true, value: true };
      if (options.falseValues.some((v) => v.toLowerCase() === lower)) return { ok: true, value: false };
      return { ok: false, reason: `"${raw}" is none of the true or false values` };
    }
    case 'date':
    case 'timestamp': {
      const format = type === 'date' ? options.dateFormat : options.timestampFormat;
      const match = formatRegex(format).exec(text);
      const value = match?.groups ? calendar(match.groups, type === 'timestamp') : null;
      return value === null ? { ok: false, reason: `"${raw}" is not a valid ${type} in the format ${format}` } : { ok: true, value };
    }
  }
}
