/**
 * A converted source row (values.ts's value format) as the source-column part of a COPY text
 * line of its typed change-log table. Each column's encoder checks that the value fits the
 * column's Postgres type before it is written: one that does not (an event older than an ALTER
 * that changed the type, a column dropped since) goes to the row's `_unmapped` jsonb instead, so
 * a value never fails the COPY and with it the batch.
 */
import { copyText } from '../shared/copy-text.ts';

export interface TypedColumn {
  name: string;
  /** As format_type() prints it (type-map.ts). */
  pgType: string;
}

/** COPY text of a value, or undefined when the value does not fit the type. */
type FieldEncoder = (value: unknown) => string | undefined;

const DECIMAL = /^-?(\d+)(?:\.(\d+))?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^-?\d{1,3}:\d{2}:\d{2}(?:\.\d{1,6})?$/;
const INTEGER = /^-?\d{1,19}$/;
const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;

function wholeDigits(whole: string): number {
  let i = 0;
  while (i < whole.length - 1 && whole.charCodeAt(i) === 48) i++;
  return whole === '0' ? 0 : whole.length - i;
}

function numericEncoder(precision: number | null, scale: number | null): FieldEncoder {
  return (value) => {
    const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : typeof value === 'string' ? value : '';
    const m = DECIMAL.exec(text);
    if (!m) return precision === null && /^-?\d+(\.\d+)?e[+-]\d+$/.test(text) ? text : undefined;
    if (precision === null || scale === null) return text;
    if (wholeDigits(m[1]!) > precision - scale || (m[2]?.length ?? 0) > scale) return undefined;
    return text;
  };
}

function integerEncoder(min: bigint, max: bigint): FieldEncoder {
  const lo = Number(min);
  const hi = Number(max);
  return (value) => {
    if (typeof value === 'number') return Number.isInteger(value) && value >= lo && value <= hi ? String(value) : undefined;
    if (typeof value === 'string' && INTEGER.test(value)) {
      const n = BigInt(value);
      return n >= min && n <= max ? value : undefined;
    }
    return undefined;
  };
}

const textEncoder: FieldEncoder = (value) => {
  if (typeof value === 'string') return copyText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return copyText(JSON.stringify(value));
};

export function fieldEncoder(pgType: string): FieldEncoder {
  if (pgType === 'bigint') return integerEncoder(BIGINT_MIN, BIGINT_MAX);
  if (pgType === 'smallint') return integerEncoder(-32768n, 32767n);
  if (pgType === 'numeric') return numericEncoder(null, null);
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(pgType);
  if (numeric) return numericEncoder(Number(numeric[1]), Number(numeric[2]));
  if (pgType === 'real' || pgType === 'double precision')
    return (value) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined);
  if (pgType === 'date') return (value) => (typeof value === 'string' && DATE.test(value) ? value : undefined);
  if (pgType.startsWith('timestamp'))
    // values.ts: 'YYYY-MM-DDTHH:MM:SS.mmmZ'; a Postgres source's microseconds (pg-cdc/values.ts): '...ffffffZ'.
    return (value) =>
      typeof value === 'string' && (value.length === 24 || value.length === 27) && value.charCodeAt(10) === 84 && value.endsWith('Z')
        ? value
        : undefined;
  if (pgType === 'interval') return (value) => (typeof value === 'string' && TIME.test(value) ? value : undefined);
  // values.ts gives binary values as base64.
  if (pgType === 'bytea')
    return (value) => (typeof value === 'string' ? `\\\\x${Buffer.from(value, 'base64').toString('hex')}` : undefined);
  return textEncoder;
}

export interface TypedRowEncoder {
  /**
   * The source columns' fields (tab-separated, no line end). Values that did not fit, and row
   * keys the table has no column for (when `checkExtraKeys`), are put in `unmapped`.
   */
  (row: Record<string, unknown>): string;
  /** The last row's values that went to _unmapped, or null. */
  readonly unmapped: Record<string, unknown> | null;
  /** The last row held U+0000 in text, which Postgres text cannot store (replaced by U+FFFD). */
  readonly hadNul: boolean;
}

export function makeTypedRowEncoder(
  columns: readonly TypedColumn[],
  checkExtraKeys: boolean,
  extraKeys: readonly string[] = [],
): TypedRowEncoder {
  const names = columns.map((c) => c.name);
  const encoders = columns.map((c) => fieldEncoder(c.pgType));
  const isText = columns.map((c) => c.pgType === 'text');
  const known = new Set(names);
  let unmapped: Record<string, unknown> | null = null;
  let hadNul = false;
  const encode = ((row: Record<string, unknown>) => {
    unmapped = null;
    hadNul = false;
    let line = '';
    for (let i = 0; i < names.length; i++) {
      if (i > 0) line += '\t';
      const name = names[i]!;
      let value = row[name];
      if (value === null || value === undefined) {
        line += '\\N';
        continue;
      }
      if (isText[i] && typeof value === 'string' && value.includes('\u0000')) {
        value = value.replaceAll('\u0000', '\ufffd');
        hadNul = true;
      }
      const field = encoders[i]!(value);
      if (field === undefined) {
        (unmapped ??= {})[name] = value;
        line += '\\N';
      } else {
        line += field;
      }
    }
    for (const key of extraKeys) if (row[key] !== undefined) (unmapped ??= {})[key] = row[key];
    if (checkExtraKeys) for (const key in row) if (!known.has(key)) (unmapped ??= {})[key] = row[key];
    return line;
  }) as TypedRowEncoder;
  Object.defineProperty(encode, 'unmapped', { get: () => unmapped });
  Object.defineProperty(encode, 'hadNul', { get: () => hadNul });
  return encode;
}
