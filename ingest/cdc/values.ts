/**
 * Source values to the raw change log's JSON format (a contract dbt builds on):
 * DECIMAL as the server prints it ("19.99"), DATETIME/TIMESTAMP as ISO-8601 UTC with
 * milliseconds and Z, DATE as "YYYY-MM-DD", integers as numbers (beyond 2^53 as exact strings),
 * NULL as null. Binary values become base64 strings (JSON has no bytes).
 *
 * Both paths deliver temporal values as MySQL strings ('2026-01-31 12:00:00.000'): the snapshot
 * reads with `dateStrings` in a UTC session, the binlog decoder with `dateStrings` and `timezone: 'Z'`.
 * Converting from strings keeps the two paths identical and avoids the host's time zone.
 * Which columns are temporal is decided by column type, never by looking at the text.
 */

/** MySQL protocol / binlog column type codes (include/mysql_com.h, enum_field_types). */
export const MYSQL_TYPES = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

export type ValueKind = 'plain' | 'date' | 'datetime' | 'maybe_binary' | 'float' | 'year';

export function kindOfType(typeCode: number): ValueKind {
  switch (typeCode) {
    case MYSQL_TYPES.DATE:
    case MYSQL_TYPES.NEWDATE:
      return 'date';
    case MYSQL_TYPES.DATETIME:
    case MYSQL_TYPES.DATETIME2:
    case MYSQL_TYPES.TIMESTAMP:
    case MYSQL_TYPES.TIMESTAMP2:
      return 'datetime';
    case MYSQL_TYPES.FLOAT:
      return 'float';
    case MYSQL_TYPES.YEAR:
      return 'year';
    case MYSQL_TYPES.TINY_BLOB:
    case MYSQL_TYPES.MEDIUM_BLOB:
    case MYSQL_TYPES.LONG_BLOB:
    case MYSQL_TYPES.BLOB:
    case MYSQL_TYPES.VAR_STRING:
    case MYSQL_TYPES.VARCHAR:
    case MYSQL_TYPES.STRING:
    case MYSQL_TYPES.BIT:
    case MYSQL_TYPES.GEOMETRY:
      // Text and binary share these codes; the value's runtime type (Buffer or string) decides.
      return 'maybe_binary';
    default:
      return 'plain';
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A date part ('YYYY-MM-DD') that names a real day. The server stores zero dates and partial
 * zero dates ('2024-00-15') when its sql_mode allows them; Postgres cannot type them.
 */
export function isRealDate(value: string): boolean {
  if (value.length < 10 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return false;
  // Hot path (every temporal value of every snapshot row): char codes, no slices.
  const month = (value.charCodeAt(5) - 48) * 10 + value.charCodeAt(6) - 48;
  const day = (value.charCodeAt(8) - 48) * 10 + value.charCodeAt(9) - 48;
  if (month < 1 || month > 12 || day < 1) return false;
  const year =
    (value.charCodeAt(0) - 48) * 1000 + (value.charCodeAt(1) - 48) * 100 + (value.charCodeAt(2) - 48) * 10 + value.charCodeAt(3) - 48;
  if (year < 1 || year > 9999) return false;
  if (day <= 28) return true;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0);
}

/** '2026-01-31 12:00:00[.ffffff]' -> '2026-01-31T12:00:00.000Z'; no real day (zero dates) -> null. */
export function datetimeToIso(value: string): string | null {
  if (value.length < 19 || !isRealDate(value)) return null;
  const fraction = value.length > 20 ? value.slice(20, 23).padEnd(3, '0') : '000';
  return `${value.slice(0, 10)}T${value.slice(11, 19)}.${fraction}Z`;
}

function dateToIso(value: string): string | null {
  return isRealDate(value) ? value.slice(0, 10) : null;
}

/**
 * A FLOAT as the server prints it: the binlog carries the 4-byte value (1.1 arrives as
 * 1.100000023841858), the snapshot the server's text ("1.1"). The shortest decimal that reads
 * back to the same float32 is what both mean, so both paths give that.
 */
export function float32Shortest(value: number): number {
  if (!Number.isFinite(value)) return value;
  const single = Math.fround(value);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return single;
}

function convertSpecial(kind: ValueKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (kind === 'float') return typeof value === 'number' ? float32Shortest(value) : normalizeValue(value);
  // YEAR 0000 is stored as byte 0, which the binlog decoder reads as 1900 (not a valid YEAR).
  if (kind === 'year') return value === 1900 ? 0 : normalizeValue(value);
  if (kind === 'datetime') {
    if (typeof value === 'string') return datetimeToIso(value);
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  } else if (kind === 'date') {
    if (typeof value === 'string') return dateToIso(value);
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString().slice(0, 10);
  } else if (Buffer.isBuffer(value)) {
    return value.toString('base64');
  }
  return normalizeValue(value);
}

/** Anything the decoders may hand over that JSON.stringify would mangle or throw on. */
export function normalizeValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  return value;
}

export interface ColumnType {
  name: string;
  typeCode: number;
}

/** A value the JSON format cannot carry faithfully; it lands as null and is reported. */
export interface ValueIssue {
  column: string;
  /** The source's own text of the value. */
  raw: string;
}

const NO_ISSUES: ValueIssue[] = Object.freeze([]) as unknown as ValueIssue[];

export type RowConverter = ((row: Record<string, unknown>) => Record<string, unknown>) & {
  /** Issues of the last row converted (empty when it had none). */
  readonly issues: ValueIssue[];
};

/**
 * Returns a function that rewrites one row object in place into the JSON format. Only the
 * columns that need it are visited, so wide text rows cost nothing extra. Temporal values with
 * no real day (zero dates, '2024-00-15') become null and are listed in `issues`.
 */
export function makeRowConverter(columns: readonly ColumnType[]): RowConverter {
  const special = columns
    .map((c) => {
      const kind = kindOfType(c.typeCode);
      return { name: c.name, kind, temporal: kind === 'date' || kind === 'datetime' };
    })
    .filter((c) => c.kind !== 'plain');
  // A fresh array per row with issues, so callers may keep the previous row's list.
  let issues = NO_ISSUES;
  const convert = ((row: Record<string, unknown>) => {
    issues = NO_ISSUES;
    for (const { name, kind, temporal } of special) {
      const value = row[name];
      if (value === undefined) continue;
      const converted = convertSpecial(kind, value);
      if (temporal && converted === null && value !== null) {
        if (issues === NO_ISSUES) issues = [];
        issues.push({ column: name, raw: String(value) });
      }
      row[name] = converted;
    }
    return row;
  }) as RowConverter;
  Object.defineProperty(convert, 'issues', { get: () => issues });
  return convert;
}

/** JSON text of a value object; U+0000 (which jsonb rejects) is replaced and reported. */
export function toJsonText(value: unknown): { json: string; hadNul: boolean } {
  const json = JSON.stringify(value);
  if (json.includes('\\u0000')) return { json: json.replaceAll('\\u0000', '\\ufffd'), hadNul: true };
  return { json, hadNul: false };
}
