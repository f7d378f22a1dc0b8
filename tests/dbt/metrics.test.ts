/**
 * One definition per measure. Revenue (gross, net), orders, AOV, customers and conversion are
 * defined once, in the semantic layer (dbt/models/semantic/, queried with MetricFlow's `mf
 * query`). The morning report reads mart columns (report/queries.ts) and Superset computes its
 * saved metrics over the marts (the dataset YAML in dashboards/bundle/, what Superset imports).
 * After the real pipeline carried a small shop, both equal the metric queries for every day,
 * and Superset's AOV equals the metric's over whole months (a ratio of sums, not an average of
 * daily ratios). A failure means one of the copies drifted from the definition.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import pg from 'pg';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT_DIR, roleUrl } from '../../lib/config/index.ts';
import { queryMetrics, type MetricRow } from '../../lib/dbt/metricflow.ts';
import { loadKpis } from '../../report/queries.ts';
import type { DayKpis } from '../../report/model.ts';
import { dbtRunner } from './helpers.ts';
import { createPipelineEnv, generateAndIngest, type PipelineEnv } from './pipeline.ts';

const DATASETS_DIR = join(ROOT_DIR, 'dashboards', 'bundle', 'datasets');

interface BundleDataset {
  table_name: string;
  main_dttm_col: string | null;
  metrics: { metric_name: string; expression: string }[];
}

const bundleDatasets = new Map<string, BundleDataset>(
  readdirSync(DATASETS_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => parse(readFileSync(join(DATASETS_DIR, f), 'utf8')) as BundleDataset)
    .map((d) => [d.table_name, d]),
);

/** The Superset saved metric of a dataset, by name, as Superset runs it (its SQL expression). */
function supersetMetric(table: string, metric: string): { expression: string; time: string } {
  const dataset = bundleDatasets.get(table);
  const found = dataset?.metrics.find((m) => m.metric_name === metric);
  if (!dataset?.main_dttm_col || !found) throw new Error(`dashboards/bundle has no metric ${metric} on dataset ${table}`);
  return { expression: found.expression, time: dataset.main_dttm_col };
}

/** Each semantic-layer metric beside the report's figure and the Superset metric that must equal it. */
const CORRESPONDENCES: {
  metric: string;
  kind: Kind;
  report: (k: DayKpis) => number | null;
  superset?: [table: string, metric: string];
}[] = [
  { metric: 'gross_revenue', kind: 'money', report: (k) => k.revenue, superset: ['revenue_daily', 'gross_revenue'] },
  { metric: 'net_revenue', kind: 'money', report: (k) => k.netRevenue, superset: ['revenue_daily', 'net_revenue'] },
  { metric: 'orders', kind: 'count', report: (k) => k.orders, superset: ['revenue_daily', 'orders'] },
  { metric: 'average_order_value', kind: 'average', report: (k) => k.aov, superset: ['revenue_daily', 'aov'] },
  { metric: 'customers', kind: 'count', report: (k) => k.newCustomers + k.returningCustomers },
  { metric: 'sessions', kind: 'count', report: (k) => k.sessions, superset: ['conversion_funnel_daily', 'sessions'] },
  {
    metric: 'converted_sessions',
    kind: 'count',
    report: (k) => k.convertedSessions,
    superset: ['conversion_funnel_daily', 'order_sessions'],
  },
  { metric: 'conversion_rate', kind: 'rate', report: (k) => k.conversionRate, superset: ['conversion_funnel_daily', 'conversion_rate'] },
];

type Kind = 'money' | 'average' | 'count' | 'rate';

function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${String(value)}`);
  return n;
}

/**
 * Equal as a reader sees them: sums of money to the cent and counts exactly; an average of
 * money within half a cent (the mart stores it rounded to cents, the others do not round);
 * a rate to 1e-12 (float against numeric division). A null only equals a null.
 */
function same(kind: Kind, a: unknown, b: unknown): boolean {
  const x = numberOrNull(a);
  const y = numberOrNull(b);
  if (x === null || y === null) return x === y;
  if (kind === 'money') return Math.round(x * 100) === Math.round(y * 100);
  if (kind === 'count') return x === y;
  return Math.abs(x - y) <= (kind === 'average' ? 0.005 + 1e-9 : 1e-12);
}

const day = (value: string): string => value.slice(0, 10);

describe('the report and the Superset datasets equal the semantic layer, day by day', () => {
  let env: PipelineEnv;
  let runner: ReturnType<typeof dbtRunner>;
  let biReader: pg.Pool;
  let dates: string[];
  let metricsByDay: Map<string, MetricRow>;

  beforeAll(async () => {
    env = await createPipelineEnv('dbt_metrics');
    runner = dbtRunner(env.config);
    await generateAndIngest(env, { from: '2025-02-01', to: '2025-03-31', customers: 150, products: 20, orders: 700, seed: 23 });
    // The models the report's KPIs, the compared datasets and the semantic layer read (their
    // data tests run in the suite's full builds; some relate to marts not built here).
    await runner.dbt([
      'build',
      '--select',
      '+revenue_daily',
      '+conversion_funnel_daily',
      '+sales_by_geography',
      '+fct_sessions',
      '--resource-type',
      'model',
      '--resource-type',
      'snapshot',
    ]);
    biReader = new pg.Pool({ connectionString: roleUrl(env.config, 'bi_reader'), max: 2, application_name: 'shopflow-metrics-test' });
    biReader.on('error', () => undefined);
    const { rows } = await biReader.query<{ d: string }>(
      `select to_char(revenue_date, 'YYYY-MM-DD') as d from marts.revenue_daily order by 1`,
    );
    dates = rows.map((r) => r.d);
    const metricRows = await queryMetrics(
      env.config,
      { metrics: CORRESPONDENCES.map((c) => c.metric), groupBy: ['metric_time__day'], order: ['metric_time__day'] },
      { targetPath: runner.targetPath },
    );
    metricsByDay = new Map(metricRows.map((r) => [day(r.metric_time__day ?? ''), r]));
  }, 900_000);

  afterAll(async () => {
    await biReader?.end().catch(() => undefined);
    runner?.cleanup();
    await env?.drop();
  });

  it('has a world worth comparing: two months of days, cancellations, and sessions that converted', () => {
    expect(dates.length).toBeGreaterThanOrEqual(58);
    const rows = dates.map((d) => metricsByDay.get(d));
    expect(rows.every(Boolean)).toBe(true);
    expect(rows.some((r) => Number(r!.net_revenue) < Number(r!.gross_revenue))).toBe(true);
    expect(rows.filter((r) => Number(r!.converted_sessions) > 0).length).toBeGreaterThan(30);
  });

  it("the report's key figures equal the metrics for every day", async () => {
    const kpis = await loadKpis(biReader, dates);
    const mismatches: string[] = [];
    for (const date of dates) {
      const report = kpis.get(date)!;
      const metrics = metricsByDay.get(date)!;
      for (const c of CORRESPONDENCES) {
        const expected = metrics[c.metric];
        const actual = c.report(report);
        if (!same(c.kind, actual, expected)) mismatches.push(`${date} ${c.metric}: report ${actual}, metric ${expected}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it.each(CORRESPONDENCES.filter((c) => c.superset).map((c) => [c.superset!.join('.'), c] as const))(
    'the Superset metric %s equals the metric for every day',
    async (_name, c) => {
      const [table, name] = c.superset!;
      const { expression, time } = supersetMetric(table, name);
      // As Superset runs a saved metric on a daily time grain over its dataset's table.
      const { rows } = await biReader.query<{ d: string; value: unknown }>(
        `select to_char(date_trunc('day', ${time}), 'YYYY-MM-DD') as d, ${expression} as value
           from marts.${table} group by 1 order by 1`,
      );
      const superset = new Map(rows.map((r) => [r.d, r.value]));
      const mismatches = dates
        .map((date) => ({ date, s: superset.get(date), m: metricsByDay.get(date)![c.metric] }))
        .filter(({ s, m }) => !same(c.kind, s, m))
        .map(({ date, s, m }) => `${date}: Superset ${String(s)}, metric ${m}`);
      expect(mismatches).toEqual([]);
    },
  );

  it("Superset's monthly AOV and net revenue, by day and by country, equal the metrics per month", async () => {
    const months = await queryMetrics(
      env.config,
      { metrics: ['average_order_value', 'net_revenue', 'orders'], groupBy: ['metric_time__month'], order: ['metric_time__month'] },
      { targetPath: runner.targetPath },
    );
    expect(months.length).toBeGreaterThanOrEqual(2);
    for (const table of ['revenue_daily', 'sales_by_geography']) {
      const aov = supersetMetric(table, 'aov');
      const net = supersetMetric(table, 'net_revenue');
      const { rows } = await biReader.query<{ m: string; aov: unknown; net: unknown }>(
        `select to_char(date_trunc('month', ${aov.time}), 'YYYY-MM-DD') as m, ${aov.expression} as aov, ${net.expression} as net
           from marts.${table} group by 1 order by 1`,
      );
      const byMonth = new Map(rows.map((r) => [r.m, r]));
      const mismatches = months
        .filter((m) => Number(m.orders) > 0)
        .map((m) => ({ metrics: m, superset: byMonth.get(day(m.metric_time__month ?? '')) }))
        .filter(
          ({ metrics, superset }) =>
            !same('average', superset?.aov, metrics.average_order_value) || !same('money', superset?.net, metrics.net_revenue),
        )
        .map(
          ({ metrics, superset }) =>
            `${table} ${metrics.metric_time__month}: Superset ${String(superset?.aov)} / ${String(superset?.net)}, metric ${metrics.average_order_value} / ${metrics.net_revenue}`,
        );
      expect(mismatches).toEqual([]);
    }
  });
});
