/**
 * The bundle in a real, clean Superset: it imports, a second import overwrites instead of
 * duplicating, and every chart's saved query_context, run through POST /api/v1/chart/data as
 * the UI does, returns rows. Runs against a fresh test warehouse whose marts are filled with
 * synthetic rows, and again against the demo warehouse when `npm run demo` has built it.
 *
 * Heavy: the first run installs Superset into SUPERSET_VENV (about 2.5 minutes of pip on this
 * machine), and a clean metadata database takes about 2 minutes to migrate and initialise.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

import pg from 'pg';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { roleUrl, type Config } from '../../lib/config/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { SupersetApi } from '../../dashboards/lib/api.ts';
import { exportBundle } from '../../dashboards/lib/export.ts';
import { ensureMetadata, importBundle, type ProvisionResult } from '../../dashboards/lib/provision.ts';
import { startServer, stopServer } from '../../dashboards/lib/server.ts';
import { ensureSupersetVenv } from '../../dashboards/lib/venv.ts';
import { DATASETS, LTV_BANDS } from '../../dashboards/authoring/definitions/datasets.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestWarehouse } from '../helpers/warehouse.ts';
import { createSyntheticMarts } from './fixtures/synthetic-marts.ts';

const logger = createLogger('test-dashboards', 'warn');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface ChartCheck {
  dashboard: string;
  chart: string;
  status: number;
  rows: number;
  errors: string[];
}

async function runEveryChart(api: SupersetApi): Promise<ChartCheck[]> {
  const checks: ChartCheck[] = [];
  for (const dashboard of await api.dashboards()) {
    for (const { id } of await api.dashboardCharts(dashboard.id)) {
      const chart = await api.chart(id);
      if (!chart.queryContext) {
        checks.push({ dashboard: dashboard.slug, chart: chart.name, status: 0, rows: 0, errors: ['no query_context saved'] });
        continue;
      }
      const result = await api.chartData(chart.queryContext, { force: true });
      checks.push({
        dashboard: dashboard.slug,
        chart: chart.name,
        status: result.status,
        rows: result.rowcounts.length > 0 ? Math.min(...result.rowcounts) : 0,
        errors: result.errors,
      });
    }
  }
  return checks;
}

/** Does this warehouse hold every mart the bundle reads, each with rows? */
async function hasDemoMarts(config: Config): Promise<boolean> {
  const client = new pg.Client({ connectionString: roleUrl(config, 'bi_reader'), connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for (const { table } of DATASETS) {
      const { rows } = await client.query<{ ok: boolean }>(`select exists (select 1 from marts.${pg.escapeIdentifier(table)}) as ok`);
      if (!rows[0]?.ok) return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

let warehouse: Awaited<ReturnType<typeof createTestWarehouse>>;
let config: Config;
let home: string;
let firstImport: ProvisionResult;
let api: SupersetApi;

beforeAll(async () => {
  warehouse = await createTestWarehouse('dashboards-superset');
  await createSyntheticMarts(roleUrl(warehouse.config, 'transformer'));
  home = await mkdtemp(join(warehouse.config.dataDir, 'test-superset-'));
  config = { ...warehouse.config, dataDir: home, SUPERSET_PORT: await freePort() };
  await ensureSupersetVenv(config, logger);
  await ensureMetadata(config, logger);
  firstImport = await importBundle(config, logger);
  await startServer(config, logger);
  api = await SupersetApi.login(`http://127.0.0.1:${config.SUPERSET_PORT}`, config.SUPERSET_ADMIN_USER, config.SUPERSET_ADMIN_PASSWORD);
}, 30 * 60_000);

afterAll(async () => {
  if (config) await stopServer(config, logger);
  if (home) await rm(home, { recursive: true, force: true });
  await warehouse?.drop();
}, 120_000);

describe('dashboards in a clean Superset', () => {
  it('imports all five dashboards with their charts', () => {
    expect(firstImport.dashboards.map((d) => d.slug).sort()).toEqual([
      'customers',
      'data-operations',
      'executive-overview',
      'products-inventory',
      'sales',
    ]);
    for (const dashboard of firstImport.dashboards) expect(dashboard.charts, dashboard.slug).toBeGreaterThan(0);
  });

  it('runs every chart query_context through the chart data API and gets rows', async () => {
    const checks = await runEveryChart(api);
    expect(checks.length).toBe(firstImport.dashboards.reduce((n, d) => n + d.charts, 0));
    expect(checks.filter((c) => c.status !== 200 || c.rows < 1 || c.errors.length > 0)).toEqual([]);
  });

  it('draws the lifetime value bands lowest first, labelled in words (they read "1: under $50", sorted by label)', async () => {
    const customers = (await api.dashboards()).find((d) => d.slug === 'customers')!;
    const charts = await Promise.all((await api.dashboardCharts(customers.id)).map(({ id }) => api.chart(id)));
    const bands = charts.find((c) => c.name === 'Customers by lifetime value band');
    const result = await api.chartData(bands!.queryContext!, { force: true });
    expect(result.errors).toEqual([]);
    const drawn = result.data[0]!.map((row) => String(row.ltv_band));
    const known = LTV_BANDS.map((b) => b.label);
    // The synthetic lifetime values spread over several bands, whose labels sort differently by text.
    expect(drawn.length).toBeGreaterThanOrEqual(4);
    expect(drawn).toEqual(known.filter((label) => drawn.includes(label)));
    expect([...drawn].sort()).not.toEqual(drawn);
  });

  it('re-imports as an overwrite: same dashboards, same ids, no duplicate charts', async () => {
    const again = await importBundle(config, logger);
    expect(again.dashboards).toEqual(firstImport.dashboards);
  }, 300_000);

  it('exports back into a bundle that keeps every query_context, masks the password and imports again', async () => {
    const exported = join(home, 'exported-bundle');
    await exportBundle(config, logger, exported);
    const charts = await readdir(join(exported, 'charts'));
    expect(charts.length).toBe(firstImport.dashboards.reduce((n, d) => n + d.charts, 0));
    for (const file of charts) {
      const chart = parse(await readFile(join(exported, 'charts', file), 'utf8')) as { query_context?: string };
      expect(JSON.parse(chart.query_context ?? 'null'), file).toHaveProperty('queries');
    }
    const [database] = await readdir(join(exported, 'databases'));
    const uri = (parse(await readFile(join(exported, 'databases', database!), 'utf8')) as { sqlalchemy_uri: string }).sqlalchemy_uri;
    expect(uri).toMatch(/bi_reader:X+@/);
    expect(uri).not.toContain(config.WAREHOUSE_BI_PASSWORD);
    expect(parse(await readFile(join(exported, 'metadata.yaml'), 'utf8'))).not.toHaveProperty('type');
    const reimported = await importBundle(config, logger, exported);
    expect(reimported.dashboards).toEqual(firstImport.dashboards);
  }, 600_000);

  it('returns rows for every chart on the demo data', async (context) => {
    const demo = testConfig();
    // The demo warehouse exists only after `npm run demo`; without it there is nothing to read.
    if (!(await hasDemoMarts(demo))) context.skip('no demo marts in the configured warehouse: run `npm run demo` first');
    await importBundle({ ...config, WAREHOUSE_URL: demo.WAREHOUSE_URL, WAREHOUSE_BI_PASSWORD: demo.WAREHOUSE_BI_PASSWORD }, logger);
    const checks = await runEveryChart(api);
    expect(checks.filter((c) => c.status !== 200 || c.rows < 1 || c.errors.length > 0)).toEqual([]);
  }, 300_000);
});
