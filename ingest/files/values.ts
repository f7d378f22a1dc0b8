/**
 * One CSV field to the value raw_files.<source> keeps in its declared type's column, or the
 * reason it cannot be one. Numbers, dates and timestamps come out as canonical text (`-1234.50`,
 * `2026-03-01`, `2026-03-01T08:00:00`), exact (no float rounding) and valid COPY input for the
 * column's Postgres type (pg-types.ts): a value the type cannot hold (a bigint overflow, year 0)
 * is a bad value here, a dead letter, never a COPY that fails the whole file.
 */
import type { ColumnType, CsvOptions } from './source-config.ts';

export type Converted = { ok: true; value: string | boolean | null } | { ok: false; reason: string };

/** Why a field is not a value of its column's type (a class, so the good path allocates nothing). */
export class BadValue {
  constructor(readonly reason: string) {}
}

/** A column's field converter, compiled once per source: the value raw keeps, or why not. */
export type FieldConverter = (raw: string) => string | boolean | null | BadValue;

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

const BIGINT_MAX = '9223372036854775807';

/** Whether a canonical whole number (no plus sign, optional minus) fits in a Postgres bigint. */
export function fitsBigint(value: string): boolean {
  const negative = value.charCodeAt(0) === 45;
  let digits = negative ? value.slice(1) : value;
  if (digits.length < 19) return true;
  digits = digits.replace(/^0+(?=\d)/, '');
  if (digits.length !== 19) return digits.length < 19;
  // -9223372036854775808 is the one value whose magnitude exceeds the maximum.
  return negative ? digits <= '9223372036854775808' : digits <= BIGINT_MAX;
}

/** Postgres numeric's limits: 131072 digits before the decimal point, 16383 after. */
export function fitsNumeric(value: string): boolean {
  if (value.length < 1000) return true;
  const point = value.indexOf('.');
  const whole = (point === -1 ? value : value.slice(0, point)).replace(/^-?0*/, '');
  return whole.length <= 131072 && (point === -1 || value.length - point - 1 <= 16383);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1]!;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

function calendar(groups: Record<string, string | undefined>, withTime: boolean): string | null {
  const year = Number(groups['year']);
  const month = Number(groups['month']);
  const day = Number(groups['day']);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  const date = `${groups['year']}-${groups['month']}-${groups['day']}`;
  if (!withTime) return date;
  const hour = Number(groups['hour']);
  const minute = Number(groups['minute']);
  const second = Number(groups['second'] ?? '0');
  if (hour > 23 || minute > 59 || second > 59) return null;
  return `${date}T${groups['hour']}:${groups['minute']}:${groups['second'] ?? '00'}`;
}

const decimalCache = new Map<string, RegExp>();

function decimalRegex(options: Pick<CsvOptions, 'decimal' | 'thousands'>): RegExp {
  const key = `${options.decimal}\u0000${options.thousands}`;
  let cached = decimalCache.get(key);
  if (!cached) {
    const t = escapeRegex(options.thousands);
    const d = escapeRegex(options.decimal);
    const grouped = options.thousands === '' ? '\\d+' : `\\d{1,3}(?:${t}\\d{3})*|\\d+`;
    cached = new RegExp(`^([+-]?)(${grouped})(?:${d}(\\d+))?$`);
    decimalCache.set(key, cached);
  }
  return cached;
}

/** `1.234,5` with decimal ',' and thousands '.' to `1234.5`; null when it is not such a number. */
export function canonicalDecimal(text: string, options: Pick<CsvOptions, 'decimal' | 'thousands'>): string | null {
  const match = decimalRegex(options).exec(text);
  if (!match) return null;
  const whole = options.thousands === '' ? match[2]! : match[2]!.split(options.thousands).join('');
  return `${match[1] === '-' ? '-' : ''}${whole}${match[3] === undefined ? '' : `.${match[3]}`}`;
}

/** `YYYY-MM-DD` read without a regex: the default date format, and the most common by far. */
function isoDate(text: string): string | null {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return null;
  let year = 0;
  let month = 0;
  let day = 0;
  for (let i = 0; i < 10; i++) {
    if (i === 4 || i === 7) continue;
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return null;
    if (i < 4) year = year * 10 + digit;
    else if (i < 7) month = month * 10 + digit;
    else day = day * 10 + digit;
  }
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) ? text : null;
}

/** Compiles the converter of one column type in one dialect: regexes and word lists built once. */
export function compileConverter(type: ColumnType, options: CsvOptions): FieldConverter {
  switch (type) {
    case 'text':
      // Postgres text (and jsonb strings) cannot hold U+0000.
      return (raw) =>
        raw === '' ? null : raw.includes('\u0000') ? new BadValue('the text holds a NUL character, which Postgres cannot store') : raw;
    case 'integer':
      return (raw) => {
        const text = raw.trim();
        if (text === '') return null;
        if (!INTEGER.test(text)) return new BadValue(`"${raw}" is not a whole number`);
        const value = text.charCodeAt(0) === 43 ? text.slice(1) : text;
        return fitsBigint(value) ? value : new BadValue(`"${raw}" is outside the range of a 64-bit integer (bigint)`);
      };
    case 'numeric': {
      const regex = decimalRegex(options);
      const plain = options.decimal === '.' && options.thousands === '';
      const refusal = (raw: string) =>
        new BadValue(
          `"${raw}" is not a number with decimal "${options.decimal}"${options.thousands ? ` and thousands "${options.thousands}"` : ''}`,
        );
      return (raw) => {
        const text = raw.trim();
        if (text === '') return null;
        let value: string | null;
        if (plain) {
          // Already canonical unless it has a plus sign: no groups to take apart.
          if (!regex.test(text)) return refusal(raw);
          value = text.charCodeAt(0) === 43 ? text.slice(1) : text;
        } else {
          value = canonicalDecimal(text, options);
          if (value === null) return refusal(raw);
        }
        return fitsNumeric(value) ? value : new BadValue(`"${raw}" has more digits than a Postgres numeric holds`);
      };
    }
    case 'boolean': {
      const trues = new Set(options.trueValues.map((v) => v.toLowerCase()));
      const falses = new Set(options.falseValues.map((v) => v.toLowerCase()));
      return (raw) => {
        const text = raw.trim();
        if (text === '') return null;
        const lower = text.toLowerCase();
        if (trues.has(lower)) return true;
        if (falses.has(lower)) return false;
        return new BadValue(`"${raw}" is none of the true or false values`);
      };
    }
    case 'date':
    case 'timestamp': {
      const format = type === 'date' ? options.dateFormat : options.timestampFormat;
      const regex = formatRegex(format);
      const iso = type === 'date' && format === 'YYYY-MM-DD';
      return (raw) => {
        const text = raw.trim();
        if (text === '') return null;
        const value = iso ? isoDate(text) : calendarOf(regex.exec(text), type === 'timestamp');
        return value ?? new BadValue(`"${raw}" is not a valid ${type} in the format ${format}`);
      };
    }
  }
}

function calendarOf(match: RegExpExecArray | null, withTime: boolean): string | null {
  return match?.groups ? calendar(match.groups, withTime) : null;
}

const converterCache = new Map<string, FieldConverter>();

/** One field, converted: the compiled converter of its type and dialect, cached. */
export function convertField(raw: string, type: ColumnType, options: CsvOptions): Converted {
  const key = JSON.stringify([type, options]);
  let converter = converterCache.get(key);
  if (!converter) {
    converter = compileConverter(type, options);
    converterCache.set(key, converter);
  }
  const value = converter(raw);
  return value instanceof BadValue ? { ok: false, reason: value.reason } : { ok: true, value };
}
