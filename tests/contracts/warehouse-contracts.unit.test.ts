/**
 * One contract per boundary: the source columns live in generator/ddl/shop.sql and the
 * clickstream's event types in lib/events/schema.ts; every other copy (dbt's shop_columns()
 * macro, its clickstream macros, the GX suites' lists, the dbt accepted_values lists) is parsed
 * here and compared with them. A copy that drifted (a column added to the DDL but not typed in
 * staging, an event type the gate does not know) fails naming the difference and the file to fix.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../lib/config/index.ts';
import { EVENT_TIME_END_MS, EVENT_TIME_MIN_MS } from '../../lib/events/bounds.ts';
import { DEVICES, EVENT_TYPES } from '../../lib/events/schema.ts';
import { TYPED_META_COLUMNS } from '../../ingest/cdc/typed-tables.ts';
import { DEAD_LETTER_SOURCES } from '../../lib/warehouse/dead-letter-sources.ts';
import { parseDdl } from '../../scripts/docs-schemas.ts';

const read = (path: string) => readFileSync(join(ROOT_DIR, path), 'utf8');

const DDL_FILE = 'generator/ddl/shop.sql';
const SHOP_COLUMNS_FILE = 'dbt/macros/shop_columns.sql';
const CLICKSTREAM_MACROS_FILE = 'dbt/macros/clickstream.sql';
const REJECTS_MACROS_FILE = 'dbt/macros/rejects.sql';
const EVENTS_MODEL_FILE = 'dbt/models/staging/clickstream/stg_clickstream__events.sql';
const RAW_SUITES_FILE = 'great_expectations/gate/suites_raw.py';
const SHOP_SOURCES_FILE = 'dbt/models/staging/shop/_shop__sources.yml';
const MARTS_SUITES_FILE = 'great_expectations/gate/suites_marts.py';

const ddl = parseDdl(read(DDL_FILE));

/** The warehouse type staging gives a MariaDB column type (docs/dbt.md, "Staging from the change log"). */
function warehouseType(mysqlType: string): string {
  const type = mysqlType.toUpperCase();
  if (/^TINYINT\(1\)/.test(type)) return 'boolean';
  if (/^BIGINT\b/.test(type)) return 'bigint';
  if (/^(INT|INTEGER|MEDIUMINT|SMALLINT|TINYINT)\b/.test(type)) return /UNSIGNED/.test(type) && /^INT/.test(type) ? 'bigint' : 'integer';
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)/.exec(type);
  if (decimal) return `numeric(${decimal[1]}, ${decimal[2]})`;
  if (/^(DATETIME|TIMESTAMP)\b/.test(type)) return 'timestamptz';
  if (/^DATE\b/.test(type)) return 'date';
  if (/^(VARCHAR|CHAR|TEXT|MEDIUMTEXT|LONGTEXT|ENUM|SET)\b/.test(type)) return 'text';
  throw new Error(`${DDL_FILE}: no warehouse type known for ${mysqlType}; add it to warehouseType() in this test and to docs/dbt.md`);
}

/** shop_source_tables() in shop_columns.sql: { table: [[column, type], ...] }. */
function dbtShopColumns(): Map<string, Array<[string, string]>> {
  const text = read(SHOP_COLUMNS_FILE);
  const tables = new Map<string, Array<[string, string]>>();
  for (const match of text.matchAll(/'(\w+)':\s*\[([\s\S]*?)\]/g)) {
    tables.set(
      match[1]!,
      [...match[2]!.matchAll(/\('(\w+)',\s*'([^']+)'\)/g)].map((c) => [c[1]!, c[2]!]),
    );
  }
  return tables;
}

/** A Python list constant, e.g. EVENT_TYPES = ["a", "b"]. */
function pythonList(file: string, name: string): string[] {
  const match = new RegExp(`^${name}\\s*=\\s*\\[([^\\]]*)\\]`, 'm').exec(read(file));
  if (!match) throw new Error(`${file}: no list ${name}`);
  return [...match[1]!.matchAll(/["']([^"']*)["']/g)].map((m) => m[1]!);
}

/** A jinja list returned by a macro, e.g. clickstream_event_types(). */
function jinjaList(file: string, macro: string): string[] {
  const body = new RegExp(`macro ${macro}\\(\\)[\\s\\S]*?return\\(\\[([\\s\\S]*?)\\]\\)`).exec(read(file));
  if (!body) throw new Error(`${file}: no macro ${macro}() returning a list`);
  return [...body[1]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
}

/** The values a DDL column's COMMENT enumerates: "Lifecycle state: placed, paid, shipped." */
function ddlEnumeration(table: string, column: string): string[] {
  const comment = ddl.find((t) => t.name === table)?.columns.find((c) => c.name === column)?.comment;
  if (!comment) throw new Error(`${DDL_FILE}: no column ${table}.${column}`);
  const list = comment.includes(':') ? comment.slice(comment.lastIndexOf(':') + 1) : comment;
  return list
    .replace(/\.$/, '')
    .split(',')
    .map((v) => v.trim());
}

interface AcceptedValues {
  file: string;
  where: string;
  column: string;
  values: string[];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return name.endsWith('.yml') ? [path] : [];
  });
}

/** Every accepted_values test in the dbt project, on models and on sources. */
function acceptedValuesLists(): AcceptedValues[] {
  const found: AcceptedValues[] = [];
  type Column = { name: string; data_tests?: unknown[] };
  const visit = (file: string, where: string, columns: Column[] | undefined) => {
    for (const column of columns ?? []) {
      for (const test of column.data_tests ?? []) {
        const accepted = (test as { accepted_values?: { arguments?: { values?: unknown[] }; values?: unknown[] } }).accepted_values;
        const values = accepted?.arguments?.values ?? accepted?.values;
        if (values) found.push({ file, where, column: column.name, values: values.map(String) });
      }
    }
  };
  for (const path of yamlFiles(join(ROOT_DIR, 'dbt', 'models'))) {
    const file = relative(ROOT_DIR, path);
    const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as {
      models?: Array<{ name: string; columns?: Column[] }>;
      sources?: Array<{ name: string; tables?: Array<{ name: string; columns?: Column[] }> }>;
    };
    for (const model of doc.models ?? []) visit(file, model.name, model.columns);
    for (const source of doc.sources ?? [])
      for (const table of source.tables ?? []) visit(file, `${source.name}.${table.name}`, table.columns);
  }
  return found;
}

const sorted = (values: readonly string[]) => [...values].sort();

describe(`the shop source contract (${DDL_FILE})`, () => {
  it('parses: the DDL has tables with columns and primary keys', () => {
    expect(ddl.length).toBeGreaterThanOrEqual(7);
    for (const table of ddl) expect(table.keys.some((k) => k.startsWith('PRIMARY KEY'))).toBe(true);
  });

  it(`is what ${SHOP_COLUMNS_FILE} types: same tables, same columns in order, the mapped warehouse types, key first`, () => {
    const dbt = dbtShopColumns();
    const drift: string[] = [];
    const ddlNames = ddl.map((t) => t.name);
    for (const name of ddlNames) if (!dbt.has(name)) drift.push(`table ${name} is in ${DDL_FILE} but not in ${SHOP_COLUMNS_FILE}`);
    for (const name of dbt.keys())
      if (!ddlNames.includes(name)) drift.push(`table ${name} is in ${SHOP_COLUMNS_FILE} but not in ${DDL_FILE}`);
    for (const table of ddl) {
      const columns = dbt.get(table.name);
      if (!columns) continue;
      const expected = table.columns.map((c) => `${c.name} ${warehouseType(c.type)}`);
      const actual = columns.map(([name, type]) => `${name} ${type}`);
      if (expected.join(', ') !== actual.join(', ')) {
        drift.push(`${table.name}: ${DDL_FILE} gives [${expected.join(', ')}] but ${SHOP_COLUMNS_FILE} has [${actual.join(', ')}]`);
      }
      const primaryKey = /^PRIMARY KEY \((\w+)\)/.exec(table.keys.find((k) => k.startsWith('PRIMARY KEY')) ?? '')?.[1];
      if (columns[0]?.[0] !== primaryKey)
        drift.push(
          `${table.name}: the first column in ${SHOP_COLUMNS_FILE} must be the primary key ${primaryKey} (staging and the rejects model key on it)`,
        );
    }
    expect(drift, `fix ${SHOP_COLUMNS_FILE} (or the DDL)`).toEqual([]);
  });

  it(`is the table list of the typed change log dbt reads (${SHOP_SOURCES_FILE}, source raw_shop)`, () => {
    const doc = parse(read(SHOP_SOURCES_FILE)) as { sources: Array<{ name: string; tables: Array<{ name: string }> }> };
    const rawShop = doc.sources.find((s) => s.name === 'raw_shop')?.tables.map((t) => t.name) ?? [];
    expect(sorted(rawShop), `fix the raw_shop source in ${SHOP_SOURCES_FILE}`).toEqual(sorted(ddl.map((t) => t.name)));
  });

  it(`gives the order statuses of the marts gate (${MARTS_SUITES_FILE} ORDER_STATUSES)`, () => {
    expect(sorted(pythonList(MARTS_SUITES_FILE, 'ORDER_STATUSES')), `fix ORDER_STATUSES in ${MARTS_SUITES_FILE}`).toEqual(
      sorted(ddlEnumeration('orders', 'status')),
    );
  });
});

describe('the clickstream contract (lib/events/schema.ts)', () => {
  it(`gives the event types of ${CLICKSTREAM_MACROS_FILE} and of the raw gate (${RAW_SUITES_FILE} EVENT_TYPES)`, () => {
    expect(
      sorted(jinjaList(CLICKSTREAM_MACROS_FILE, 'clickstream_event_types')),
      `fix clickstream_event_types() in ${CLICKSTREAM_MACROS_FILE}`,
    ).toEqual(sorted(EVENT_TYPES));
    expect(sorted(pythonList(RAW_SUITES_FILE, 'EVENT_TYPES')), `fix EVENT_TYPES in ${RAW_SUITES_FILE}`).toEqual(sorted(EVENT_TYPES));
  });

  it(`types in ${EVENTS_MODEL_FILE} exactly the fields ${REJECTS_MACROS_FILE} checks before the cast`, () => {
    const model = read(EVENTS_MODEL_FILE);
    const record = /jsonb_to_record\(landed_as_json\.payload\) as typed_payload \(([\s\S]*?)\n {4}\)/.exec(model);
    expect(record, `${EVENTS_MODEL_FILE}: jsonb_to_record(...) as typed_payload (...) not found`).not.toBeNull();
    const declared = new Map([...record![1]!.matchAll(/(\w+) (\w+)/g)].map((m) => [m[1]!, m[2]!]));
    // The staged type: the record's type, or the cast applied to it in the select list.
    const staged = new Map(
      [...declared].map(([field, type]) => [
        field,
        new RegExp(`typed_payload\\.${field}::([a-z]+(?:\\(\\d+, \\d+\\))?)`).exec(model)?.[1] ?? type,
      ]),
    );
    const typedInModel = [...staged].filter(([, type]) => type !== 'text').map(([field, type]) => `${field} ${type}`);
    const checked = parseTuples(read(REJECTS_MACROS_FILE), 'clickstream_payload_types').map(([field, type]) => `${field} ${type}`);
    expect(sorted(checked), `fix clickstream_payload_types() in ${REJECTS_MACROS_FILE} to match the casts of ${EVENTS_MODEL_FILE}`).toEqual(
      sorted(typedInModel),
    );
  });
});

describe('the clickstream event-time bound', () => {
  it(`of ${REJECTS_MACROS_FILE} is the event contract's (lib/events/bounds.ts EVENT_TIME_MIN_MS, EVENT_TIME_END_MS)`, () => {
    const bound = (key: string) => {
      const text = new RegExp(`'${key}':\\s*'([^']+)'`).exec(read(REJECTS_MACROS_FILE))?.[1];
      expect(text, `clickstream_event_time_window() in ${REJECTS_MACROS_FILE} has no '${key}'`).toBeDefined();
      return Date.parse(text!.replace(' ', 'T').replace(/\+00$/, 'Z'));
    };
    expect(bound('earliest'), `fix 'earliest' in ${REJECTS_MACROS_FILE}`).toBe(EVENT_TIME_MIN_MS);
    expect(bound('end'), `fix 'end' in ${REJECTS_MACROS_FILE}`).toBe(EVENT_TIME_END_MS);
  });
});

function parseTuples(text: string, macro: string): Array<[string, string]> {
  const body = new RegExp(`macro ${macro}\\(\\)[\\s\\S]*?return\\(\\[([\\s\\S]*?)\\]\\)`).exec(text);
  if (!body) throw new Error(`no macro ${macro}() returning a list`);
  return [...body[1]!.matchAll(/\('(\w+)',\s*'([^']+)'\)/g)].map((m) => [m[1]!, m[2]!]);
}

describe('dbt accepted_values lists', () => {
  const sourceOf: Record<string, { values: string[]; home: string }> = {
    event_type: { values: [...EVENT_TYPES], home: 'lib/events/schema.ts EVENT_TYPES' },
    device: { values: [...DEVICES], home: 'lib/events/schema.ts DEVICES' },
    signup_channel: { values: ddlEnumeration('customers', 'signup_channel'), home: `${DDL_FILE} customers.signup_channel` },
    order_status: { values: ddlEnumeration('orders', 'status'), home: `${DDL_FILE} orders.status` },
    payment_method: { values: ddlEnumeration('payments', 'payment_method'), home: `${DDL_FILE} payments.payment_method` },
    payment_status: { values: ddlEnumeration('payments', 'status'), home: `${DDL_FILE} payments.status` },
  };

  it('equal the contract they copy, wherever they appear', () => {
    const lists = acceptedValuesLists().filter((l) => l.column in sourceOf);
    // Each contract is copied at least once; none checked would prove nothing.
    expect(new Set(lists.map((l) => l.column))).toEqual(new Set(Object.keys(sourceOf)));
    const drift = lists
      .filter((l) => sorted(l.values).join() !== sorted(sourceOf[l.column]!.values).join())
      .map(
        (l) =>
          `${l.file} (${l.where}.${l.column}): [${l.values.join(', ')}] differs from ${sourceOf[l.column]!.home}: [${sourceOf[l.column]!.values.join(', ')}]`,
      );
    expect(drift).toEqual([]);
  });
});

describe('the dead-letter sources (lib/warehouse/dead-letter-sources.ts)', () => {
  const MIGRATIONS_DIR = 'lib/warehouse/migrations';

  /** The source list of the last migration that states raw.dead_letters' source check (migrations run in name order). */
  function warehouseSources(): { file: string; values: string[] } {
    let last: { file: string; values: string[] } | null = null;
    for (const name of readdirSync(join(ROOT_DIR, MIGRATIONS_DIR))
      .filter((n) => n.endsWith('.sql'))
      .sort()) {
      const text = read(join(MIGRATIONS_DIR, name));
      const isDeadLetters = /dead_letters/.test(text);
      for (const match of text.matchAll(/check \(source in \(([^)]*)\)\)/g)) {
        if (isDeadLetters) last = { file: name, values: [...match[1]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!) };
      }
    }
    if (!last) throw new Error(`${MIGRATIONS_DIR}: no migration states raw.dead_letters' source check`);
    return last;
  }

  it("are the values the warehouse's check constraint allows (its latest migration)", () => {
    const { file, values } = warehouseSources();
    expect(sorted(values), `add a migration that sets dead_letters_source_check (last set in ${file})`).toEqual(
      sorted(DEAD_LETTER_SOURCES),
    );
  });

  it("are dbt's accepted_values wherever a dead letter's source is tested", () => {
    const lists = acceptedValuesLists().filter(
      (a) => (a.column === 'source' && a.where.endsWith('dead_letters')) || a.column === 'ingest_source',
    );
    // raw.dead_letters in the sources file, its staging model and the operations mart.
    expect(lists.length).toBeGreaterThanOrEqual(3);
    for (const list of lists)
      expect(sorted(list.values), `fix accepted_values of ${list.where}.${list.column} in ${list.file}`).toEqual(
        sorted(DEAD_LETTER_SOURCES),
      );
  });

  it('are what the ingestors write: no ingestor spells its source as a literal in the dead-letter insert', () => {
    const writers = ['ingest/kafka/warehouse.ts', 'ingest/cdc/dead-letters.ts', 'ingest/files/lander.ts', 'ingest/api/lander.ts'];
    for (const file of writers) {
      const text = read(file);
      expect(text, `${file} writes dead letters with DEAD_LETTER_SOURCE`).toMatch(/DEAD_LETTER_SOURCE\.\w+/);
      expect(text, `${file}: a dead letter's source comes from DEAD_LETTER_SOURCE, not a literal`).not.toMatch(
        new RegExp(`(copyLine\\(\\[|select)\\s*'(${DEAD_LETTER_SOURCES.join('|')})'`),
      );
    }
  });
});

/**
 * The typed change log's own columns (ingest/cdc/typed-tables.ts) are written out twice more: in
 * the migration function that creates a raw_shop table (its CREATE TABLE and the list of names a
 * source column may not take) and in dbt's cdc_typed_meta_columns(), which tells staging which
 * columns are the source's. Each copy must list the same names.
 */
describe('typed change-log columns', () => {
  const migration = read('lib/warehouse/migrations/0140_cdc_typed_change_log.sql');
  const quotedList = (text: string) => [...text.matchAll(/'{1,2}([a-z_]+)'{1,2}/g)].map((m) => m[1] ?? '');

  it("are dbt's cdc_typed_meta_columns()", () => {
    const macro = /macro cdc_typed_meta_columns\(\)[\s\S]*?return\(\[([\s\S]*?)\]\)/.exec(read('dbt/macros/cdc.sql'));
    expect(macro, 'dbt/macros/cdc.sql defines cdc_typed_meta_columns()').not.toBeNull();
    expect(quotedList(macro?.[1] ?? ''), 'fix cdc_typed_meta_columns() in dbt/macros/cdc.sql').toEqual([...TYPED_META_COLUMNS]);
  });

  it("are the migration's CREATE TABLE columns and the names it refuses for a source column", () => {
    const created = /create table if not exists raw_shop\.%I \(([\s\S]*?)\n\s*\)'/.exec(migration);
    expect(created, 'migration 0140 creates raw_shop tables').not.toBeNull();
    const columns = (created?.[1] ?? '').split(',\n').map((line) => line.trim().split(/\s+/)[0]);
    expect(columns, 'fix the CREATE TABLE in migration 0140 (a later migration must redefine the function)').toEqual([
      ...TYPED_META_COLUMNS,
    ]);
    const refused = /if p_columns\[i\] in \(([\s\S]*?)\)/.exec(migration);
    expect(quotedList(refused?.[1] ?? ''), 'fix the reserved names in migration 0140').toEqual([...TYPED_META_COLUMNS]);
  });
});
