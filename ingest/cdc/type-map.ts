/**
 * The one home of the MariaDB/MySQL -> Postgres type map of the typed change log (raw_shop.*).
 * Input is a column's COLUMN_TYPE as information_schema prints it (zongji rebuilds the same text
 * from binlog metadata); output is the Postgres type exactly as format_type() prints it, so the
 * ingestor can compare it with what a table already has. Each type is chosen to hold every value
 * values.ts produces for the source type, in that value's text form, with nothing rounded.
 *
 * UUID, INET6 and INET4 land as the bytes the binlog carries for them (snapshot-select.ts reads
 * the snapshot the same way). Types the map does not know (spatial types, a type a later server
 * adds) give null: their values land in the row's `_unmapped` jsonb.
 */

export interface SourceColumn {
  name: string;
  /** information_schema.COLUMNS.COLUMN_TYPE, e.g. "decimal(12,2)", "bigint(20) unsigned". */
  columnType: string;
  /**
   * The raw_shop type, when the source's own type map already chose it (a Postgres source:
   * ingest/pg-cdc/type-map.ts); null sends the values to `_unmapped`. Absent: pgTypeOf(columnType).
   */
  pgType?: string | null;
}

const INTEGERS = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const TEXTS = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json', 'long', 'long varchar']);
const BINARIES = new Set([
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'bit',
  'long varbinary',
  'uuid',
  'inet6',
  'inet4',
]);

/** Postgres type for a source COLUMN_TYPE, or null when its values go to `_unmapped`. */
export function pgTypeOf(columnType: string): string | null {
  const text = columnType
    .toLowerCase()
    .replace(/\/\*.*?\*\//g, '')
    .replace(/\bzerofill\b/, '')
    .trim();
  const match = /^([a-z][a-z0-9 ]*?)\s*(?:\(([^)]*)\))?\s*(unsigned|signed)?$/.exec(text) ?? /^([a-z]+)/.exec(text);
  if (!match) return null;
  const base = match[1]!.trim();
  const args = match[2];
  const unsigned = match[3] === 'unsigned';
  if (INTEGERS.has(base)) return base === 'bigint' && unsigned ? 'numeric(20,0)' : 'bigint';
  if (base === 'decimal' || base === 'numeric' || base === 'dec' || base === 'fixed') {
    const [precision, scale] = (args ?? '10,0').split(',').map((n) => Number(n.trim()));
    return `numeric(${precision ?? 10},${scale ?? 0})`;
  }
  if (base === 'float') return 'real';
  if (base === 'double' || base === 'real' || base === 'double precision') return 'double precision';
  if (base === 'year') return 'smallint';
  if (base === 'date') return 'date';
  // values.ts gives DATETIME and TIMESTAMP to the millisecond (ISO-8601, UTC).
  if (base === 'datetime') return 'timestamp(3) without time zone';
  if (base === 'timestamp') return 'timestamp(3) with time zone';
  // MariaDB's TIME runs from -838:59:59 to 838:59:59: an interval holds it, a Postgres time does not.
  if (base === 'time') return 'interval';
  if (TEXTS.has(base)) return 'text';
  if (BINARIES.has(base)) return 'bytea';
  return null;
}

const NUMERIC = /^numeric\((\d+),(\d+)\)$/;
const INTEGER_DIGITS: Record<string, number> = { smallint: 5, bigint: 19 };

/** Digits before and after the point a numeric-family type holds; null for other types. */
function numericShape(type: string): { whole: number; scale: number } | null {
  if (type in INTEGER_DIGITS) return { whole: INTEGER_DIGITS[type]!, scale: 0 };
  const m = NUMERIC.exec(type);
  return m ? { whole: Number(m[1]) - Number(m[2]), scale: Number(m[2]) } : null;
}

/**
 * The type a column becomes when the source changes its type (ALTER TABLE ... MODIFY) from one
 * mapping to another: one that holds every value of both, so the log, which keeps the old
 * rows, loses nothing. Integers and decimals widen to a numeric with room for both; FLOAT to
 * DOUBLE; DATE to a timestamp; anything else becomes text (every type casts to text exactly).
 */
export function widenPgType(existing: string, wanted: string): string {
  if (existing === wanted) return existing;
  const a = numericShape(existing);
  const b = numericShape(wanted);
  if (a && b) {
    if (a.scale === 0 && b.scale === 0 && Math.max(a.whole, b.whole) <= 19 && existing !== wanted) {
      return existing === 'bigint' || wanted === 'bigint' ? 'bigint' : 'smallint';
    }
    const whole = Math.max(a.whole, b.whole);
    const scale = Math.max(a.scale, b.scale);
    return whole + scale <= 1000 ? `numeric(${whole + scale},${scale})` : 'numeric';
  }
  const floats = new Set(['real', 'double precision']);
  if (floats.has(existing) && floats.has(wanted)) return 'double precision';
  if (existing === 'date' && wanted.startsWith('timestamp')) return wanted;
  if (wanted === 'date' && existing.startsWith('timestamp')) return existing;
  return 'text';
}
