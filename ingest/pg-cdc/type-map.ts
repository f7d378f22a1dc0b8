/**
 * The one home of the Postgres -> raw_shop type map of the Postgres CDC ingestor, and of how each
 * source type's text (what COPY TO and pgoutput both print, in the session settings of
 * SESSION_SETTINGS) becomes the change log's JSON value format (ingest/cdc/values.ts's contract:
 * the format dbt builds on, whatever the source).
 *
 * Input is a column's type OID and type modifier, as pg_attribute and pgoutput's Relation message
 * both give them. The raw_shop types follow the MariaDB map's choices (docs/cdc.md), so a shop on
 * either database lands in the same layout: every integer is `bigint`, `numeric(p,s)` stays,
 * timestamps keep milliseconds (`timestamp(3)`, or `timestamp(6)` for a source column with more
 * precision), `boolean` becomes 1/0 in a `bigint` (MariaDB's TINYINT(1)), `bytea` stays, and every other type (text, varchar, char, json,
 * uuid, enums, arrays, intervals, domains, ...) lands as its exact text.
 */

/** The session settings under which both read paths print values: one text form per value. */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  DateStyle: 'ISO, YMD',
  TimeZone: 'UTC',
  IntervalStyle: 'postgres',
  extra_float_digits: '1',
  bytea_output: 'hex',
};

/** How a source value's text is converted (values.ts). */
export type ValueKind = 'integer' | 'numeric' | 'float' | 'boolean' | 'date' | 'timestamp' | 'timestamptz' | 'bytea' | 'text';

export interface PgColumnType {
  /** The source type as format_type() would print it (for logs and the schema_change text). */
  sourceType: string;
  kind: ValueKind;
  /** The raw_shop column type, as format_type() prints it. */
  rawType: string;
}

/** Built-in type OIDs (src/include/catalog/pg_type.dat); they are fixed across versions. */
const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  float4: 700,
  float8: 701,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
} as const;

const NAMES: Record<number, string> = {
  25: 'text',
  1042: 'character',
  1043: 'character varying',
  114: 'json',
  3802: 'jsonb',
  2950: 'uuid',
  1083: 'time without time zone',
  1266: 'time with time zone',
  1186: 'interval',
};

function timestampPrecision(typeMod: number): number {
  return typeMod < 0 ? 6 : typeMod;
}

/** `typeName` is the name pg_type gives the type, when known (a non-built-in type: an enum, a domain). */
export function pgColumnType(typeOid: number, typeMod: number, typeName?: string | null): PgColumnType {
  switch (typeOid) {
    case OID.int2:
      return { sourceType: 'smallint', kind: 'integer', rawType: 'bigint' };
    case OID.int4:
      return { sourceType: 'integer', kind: 'integer', rawType: 'bigint' };
    case OID.int8:
      return { sourceType: 'bigint', kind: 'integer', rawType: 'bigint' };
    case OID.oid:
      return { sourceType: 'oid', kind: 'integer', rawType: 'bigint' };
    case OID.numeric: {
      if (typeMod < 4) return { sourceType: 'numeric', kind: 'numeric', rawType: 'numeric' };
      const precision = ((typeMod - 4) >> 16) & 0xffff;
      const scale = (typeMod - 4) & 0xffff;
      return { sourceType: `numeric(${precision},${scale})`, kind: 'numeric', rawType: `numeric(${precision},${scale})` };
    }
    case OID.float4:
      return { sourceType: 'real', kind: 'float', rawType: 'real' };
    case OID.float8:
      return { sourceType: 'double precision', kind: 'float', rawType: 'double precision' };
    case OID.bool:
      // As MariaDB's TINYINT(1): 1 and 0 in a bigint, which dbt staging reads as a boolean.
      return { sourceType: 'boolean', kind: 'boolean', rawType: 'bigint' };
    case OID.date:
      return { sourceType: 'date', kind: 'date', rawType: 'date' };
    case OID.timestamp: {
      const p = timestampPrecision(typeMod);
      return {
        sourceType: `timestamp(${p}) without time zone`,
        kind: 'timestamp',
        rawType: `timestamp(${p <= 3 ? 3 : 6}) without time zone`,
      };
    }
    case OID.timestamptz: {
      const p = timestampPrecision(typeMod);
      return { sourceType: `timestamp(${p}) with time zone`, kind: 'timestamptz', rawType: `timestamp(${p <= 3 ? 3 : 6}) with time zone` };
    }
    case OID.bytea:
      return { sourceType: 'bytea', kind: 'bytea', rawType: 'bytea' };
    default:
      return { sourceType: NAMES[typeOid] ?? typeName ?? `oid ${typeOid}`, kind: 'text', rawType: 'text' };
  }
}
