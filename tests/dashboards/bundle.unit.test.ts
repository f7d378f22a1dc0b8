/**
 * The bundle in dashboards/bundle, checked without Superset: every link between files resolves
 * by uuid, datasets read only the fixed marts, each chart's query_context agrees with its params
 * and names only columns and metrics its dataset defines, and dataset columns exist in the dbt
 * models they read. A broken bundle fails here in milliseconds instead of at import time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

import { docsBlocks, renderDocs } from '../../dashboards/authoring/contracts.ts';
import { LTV_BANDS } from '../../dashboards/authoring/definitions/datasets.ts';
import { ROOT_DIR } from '../../lib/config/index.ts';

const BUNDLE = join(ROOT_DIR, 'dashboards', 'bundle');
const MARTS_DIR = join(ROOT_DIR, 'dbt', 'models', 'marts');

/** The mart names other parts build on (schema marts). */
const FIXED_MARTS = new Set([
  'dim_customers',
  'dim_products',
  'dim_date',
  'fct_orders',
  'fct_order_items',
  'fct_payments',
  'fct_sessions',
  'fct_events',
  'fct_inventory_daily',
  'revenue_daily',
  'orders_hourly',
  'category_revenue_weekly',
  'category_revenue_monthly',
  'top_products',
  'customer_lifetime_value',
  'repeat_purchase_rate',
  'active_users_daily',
  'conversion_funnel_daily',
  'sales_by_geography',
  'customer_rfm_segments',
  'rfm_segment_movement',
  'customer_cohorts_monthly',
  'low_stock_products',
  'stockout_risk_products',
  'demand_vs_actual',
  'suspected_fraud_orders',
  'ops_source_freshness',
  'ops_ingest_metrics',
  'ops_dead_letters_daily',
  'ops_pipeline_runs',
  'ops_gate_results',
]);

type Yaml = Record<string, unknown>;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function load(folder: string): { file: string; doc: Yaml }[] {
  const dir = join(BUNDLE, folder);
  return walk(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((file) => ({ file: relative(BUNDLE, file), doc: parse(readFileSync(file, 'utf8')) as Yaml }));
}

const databases = load('databases');
const datasets = load('datasets');
const charts = load('charts');
const dashboards = load('dashboards');
const datasetByUuid = new Map(datasets.map((d) => [d.doc.uuid as string, d.doc]));

interface DatasetColumn {
  column_name: string;
  expression: string | null;
}
interface DatasetMetric {
  metric_name: string;
}

function columnNames(dataset: Yaml): Set<string> {
  return new Set((dataset.columns as DatasetColumn[]).map((c) => c.column_name));
}

/** Column names a query references: plain strings, or adhoc SQL columns whose expression is a bare column. */
function referencedColumns(query: Yaml): string[] {
  const names: string[] = [];
  for (const column of (query.columns as unknown[]) ?? []) {
    if (typeof column === 'string') names.push(column);
    else if (column && typeof column === 'object' && 'sqlExpression' in column)
      names.push(String((column as { sqlExpression: string }).sqlExpression));
  }
  for (const [name] of (query.orderby as [unknown, boolean][]) ?? []) if (typeof name === 'string') names.push(name);
  return names;
}

const dbtFiles = existsSync(MARTS_DIR) ? walk(MARTS_DIR) : [];
const dbtContracts = new Map<string, string[]>();
for (const file of dbtFiles.filter((f) => /\.ya?ml$/.test(f))) {
  const doc = parse(readFileSync(file, 'utf8')) as { models?: { name: string; columns?: { name: string }[] }[] } | null;
  for (const model of doc?.models ?? [])
    if (model.columns)
      dbtContracts.set(
        model.name,
        model.columns.map((c) => c.name),
      );
}

/** The SQL file and contract column list (if its YAML exists yet) of a mart model. */
function dbtModel(name: string): { sql?: string; columns?: string[] } {
  const sqlFile = dbtFiles.find((f) => f.endsWith(`/${name}.sql`));
  const columns = dbtContracts.get(name);
  return { ...(sqlFile ? { sql: readFileSync(sqlFile, 'utf8') } : {}), ...(columns ? { columns } : {}) };
}

describe('dashboard bundle', () => {
  it('has a metadata file both Superset importers accept', () => {
    const metadata = parse(readFileSync(join(BUNDLE, 'metadata.yaml'), 'utf8')) as Yaml;
    expect(metadata.version).toBe('1.0.0');
    // A `type` would make one of the two importers (assets / import-dashboards) reject the bundle.
    expect(metadata).not.toHaveProperty('type');
    expect(typeof metadata.timestamp).toBe('string');
  });

  it('has one database, with a masked password and no real credentials', () => {
    expect(databases).toHaveLength(1);
    const uri = String(databases[0]!.doc.sqlalchemy_uri);
    expect(uri).toMatch(/^postgresql\+psycopg2:\/\/bi_reader:X+@/);
    expect(databases[0]!.doc.allow_dml).toBe(false);
  });

  it('has five dashboards with the agreed titles', () => {
    expect(dashboards.map((d) => d.doc.dashboard_title).sort()).toEqual([
      'Customers',
      'Data operations',
      'Executive overview',
      'Products and inventory',
      'Sales',
    ]);
  });

  it('uses unique uuids everywhere', () => {
    const uuids = [...databases, ...datasets, ...charts, ...dashboards].map((f) => f.doc.uuid);
    expect(new Set(uuids).size).toBe(uuids.length);
  });

  it.each(datasets.map((d) => [d.file, d.doc] as const))(
    'dataset %s is a physical table in marts, on the bundled database',
    (_file, dataset) => {
      expect(dataset.schema).toBe('marts');
      expect(dataset.sql).toBeNull();
      expect(FIXED_MARTS.has(dataset.table_name as string)).toBe(true);
      expect(databases.map((d) => d.doc.uuid)).toContain(dataset.database_uuid);
    },
  );

  it.each(datasets.map((d) => [d.doc.table_name as string, d.doc] as const))(
    'dataset %s names only columns its dbt model has',
    (table, dataset) => {
      const model = dbtModel(table);
      expect(model.sql, `dbt/models/marts/**/${table}.sql is missing`).toBeDefined();
      const physical = (dataset.columns as DatasetColumn[]).filter((c) => !c.expression).map((c) => c.column_name);
      // Prefer the contract's column list; a model without YAML yet is checked against its SQL.
      const missing = model.columns
        ? physical.filter((c) => !model.columns!.includes(c))
        : physical.filter((c) => !new RegExp(`\\b${c}\\b`).test(model.sql!));
      expect(missing).toEqual([]);
    },
  );

  it.each(charts.map((c) => [c.doc.slice_name as string, c.doc] as const))(
    'chart "%s" has a query_context that matches its params and dataset',
    (_name, chart) => {
      const dataset = datasetByUuid.get(chart.dataset_uuid as string);
      expect(dataset, 'dataset_uuid resolves').toBeDefined();
      expect(typeof chart.query_context).toBe('string');
      const context = JSON.parse(chart.query_context as string) as { queries: Yaml[]; form_data: Yaml };
      expect(context.form_data.viz_type).toBe(chart.viz_type);
      expect((chart.params as Yaml).viz_type).toBe(chart.viz_type);
      expect(context.queries.length).toBeGreaterThan(0);
      const columns = columnNames(dataset!);
      const metrics = new Set((dataset!.metrics as DatasetMetric[]).map((m) => m.metric_name));
      for (const query of context.queries) {
        const queryMetrics = (query.metrics as unknown[]) ?? [];
        expect(queryMetrics.length + ((query.columns as unknown[]) ?? []).length).toBeGreaterThan(0);
        expect(queryMetrics.filter((m) => typeof m === 'string' && !metrics.has(m))).toEqual([]);
        expect(referencedColumns(query).filter((c) => !columns.has(c) && !metrics.has(c))).toEqual([]);
      }
    },
  );

  it('places every chart on exactly one dashboard, and every placed chart exists', () => {
    const chartUuids = new Set(charts.map((c) => c.doc.uuid as string));
    const placed: string[] = [];
    for (const { doc } of dashboards) {
      for (const node of Object.values(doc.position as Record<string, { type?: string; meta?: { uuid?: string; width?: number } }>)) {
        if (node?.type === 'CHART') {
          placed.push(node.meta!.uuid!);
          expect(node.meta!.width).toBeLessThanOrEqual(12);
        }
      }
    }
    expect(placed.filter((u) => !chartUuids.has(u))).toEqual([]);
    expect([...chartUuids].filter((u) => !placed.includes(u))).toEqual([]);
    expect(new Set(placed).size).toBe(placed.length);
  });

  it('gives Superset the text of the dbt docs blocks, never their Jinja', () => {
    for (const { file, doc } of datasets)
      for (const column of doc.columns as { column_name: string; description: string | null }[])
        expect(column.description ?? '', `${file} ${column.column_name}`).not.toMatch(/\{\{|\{%/);
    const blocks = docsBlocks();
    expect(blocks.get('order_id')).toMatch(/^Order id in the shop database/);
    expect(renderDocs("{{ doc('order_id') }} The order paid.", blocks)).toBe(`${blocks.get('order_id')} The order paid.`);
    expect(() => renderDocs("{{ doc('no_such_block') }}", blocks)).toThrow(/no_such_block/);
  });

  it('labels lifetime value bands in words and orders them by a sort metric that is fetched, not drawn', () => {
    // The bands read "1: under $50": the number was there only to sort the labels as text.
    const ltv = datasets.find((d) => d.doc.table_name === 'customer_lifetime_value')!.doc;
    const band = (ltv.columns as DatasetColumn[]).find((c) => c.column_name === 'ltv_band')!;
    const labels = [...band.expression!.matchAll(/'([^']*)'/g)].map((m) => m[1]);
    expect(labels).toEqual(LTV_BANDS.map((b) => b.label));
    for (const label of labels) expect(label).not.toMatch(/^\d+:/);
    const bounds = LTV_BANDS.flatMap((b) => (b.below === null ? [] : [b.below]));
    expect(bounds).toEqual([...bounds].sort((a, b) => a - b));
    expect(LTV_BANDS.at(-1)!.below).toBeNull();

    const chart = charts.find((c) => c.file === 'charts/cust_ltv_bands.yaml')!.doc;
    const params = chart.params as Yaml;
    const sortMetric = params.x_axis_sort as string;
    expect((ltv.metrics as DatasetMetric[]).map((m) => m.metric_name)).toContain(sortMetric);
    // Superset fetches the series-limit metric for sorting and leaves it out of the drawn series
    // only when it is that metric, is not among the drawn ones, and there is no groupby.
    expect(params.timeseries_limit_metric).toBe(sortMetric);
    expect(params.metrics).not.toContain(sortMetric);
    expect(params.groupby).toEqual([]);
    expect(params.x_axis_sort_asc).toBe(true);
    const [query] = (JSON.parse(chart.query_context as string) as { queries: Yaml[] }).queries;
    expect(query!.metrics).toContain(sortMetric);
    expect(query!.post_processing).toContainEqual({ operation: 'sort', options: { by: sortMetric, ascending: true } });
  });

  it('has one dbt exposure per dashboard, at its Superset url, depending on every mart its charts read', () => {
    const exposuresFile = join(MARTS_DIR, '_exposures.yml');
    const { exposures } = parse(readFileSync(exposuresFile, 'utf8')) as {
      exposures: { name: string; type: string; url?: string; depends_on: string[] }[];
    };
    const dashboardExposures = exposures.filter((e) => e.type === 'dashboard');
    const chartByUuid = new Map(charts.map((c) => [c.doc.uuid as string, c.doc]));
    for (const { doc } of dashboards) {
      const slug = doc.slug as string;
      const exposure = dashboardExposures.find((e) => e.url?.endsWith(`/superset/dashboard/${slug}/`));
      expect(exposure, `an exposure with url .../superset/dashboard/${slug}/`).toBeDefined();
      expect(exposure!.url).toMatch(/^http:\/\/127\.0\.0\.1:\{\{ env_var\('SUPERSET_PORT', '8088'\) \}\}\/superset\/dashboard\//);
      const read = new Set<string>();
      for (const node of Object.values(doc.position as Record<string, { type?: string; meta?: { uuid?: string } }>)) {
        if (node?.type !== 'CHART') continue;
        const chart = chartByUuid.get(node.meta!.uuid!)!;
        read.add(datasetByUuid.get(chart.dataset_uuid as string)!.table_name as string);
      }
      const declared = exposure!.depends_on.map((ref) => /ref\('([^']+)'\)/.exec(ref)?.[1]);
      expect(
        [...read].filter((table) => !declared.includes(table)),
        `${exposure!.name} depends_on`,
      ).toEqual([]);
    }
    expect(dashboardExposures.length).toBe(dashboards.length);
  });

  it('keeps every dashboard row within the 12-column grid', () => {
    for (const { doc } of dashboards) {
      const position = doc.position as Record<string, { type?: string; children?: string[]; meta?: { width?: number } }>;
      for (const node of Object.values(position)) {
        if (node?.type !== 'ROW') continue;
        const width = (node.children ?? []).reduce((sum, id) => sum + (position[id]?.meta?.width ?? 0), 0);
        expect(width).toBeLessThanOrEqual(12);
      }
    }
  });
});
