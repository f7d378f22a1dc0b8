/**
 * Writes the bundle (dashboards/bundle/**.yaml) from the definitions in ./definitions/.
 *
 *   tsx dashboards/authoring/build.ts [--bundle DIR]
 *
 * Regenerates every file it defines and removes chart files no definition produces any more.
 * Charts changed in the Superset UI and exported (`npm run dashboards -- export`) are plain
 * YAML too; a definition here is only the quickest way to add or reshape many charts at once.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Scalar, stringify } from 'yaml';

import { BUNDLE_DIR } from '../lib/paths.ts';
import { buildChart } from './charts.ts';
import { DASHBOARDS } from './definitions/index.ts';
import { DATASETS } from './definitions/datasets.ts';
import { stableUuid, type ChartSpec, type DashboardSpec, type DatasetDef } from './model.ts';

export const DATABASE_UUID = stableUuid('database', 'warehouse');
export const DATABASE_FILE = 'databases/ShopFlow_warehouse.yaml';
const VERSION = '1.0.0';

type Files = Map<string, unknown>;

function datasetFile(def: DatasetDef): unknown {
  return {
    table_name: def.table,
    main_dttm_col: def.mainDttm ?? null,
    description: def.description,
    default_endpoint: null,
    offset: 0,
    cache_timeout: null,
    catalog: null,
    schema: 'marts',
    sql: null,
    params: null,
    template_params: null,
    filter_select_enabled: true,
    fetch_values_predicate: null,
    extra: null,
    normalize_columns: false,
    always_filter_main_dttm: false,
    uuid: stableUuid('dataset', def.table),
    metrics: def.metrics.map((m) => ({
      metric_name: m.name,
      verbose_name: m.label,
      metric_type: null,
      expression: m.expression,
      description: null,
      d3format: m.format ?? null,
      currency: null,
      extra: {},
      warning_text: null,
    })),
    columns: def.columns.map((c) => ({
      column_name: c.name,
      verbose_name: c.label ?? null,
      is_dttm: /^(DATE|TIMESTAMP)/i.test(c.type),
      is_active: true,
      type: c.type,
      advanced_data_type: null,
      groupby: true,
      filterable: true,
      expression: c.expression ?? null,
      description: c.description ?? null,
      python_date_format: null,
      extra: {},
    })),
    version: VERSION,
    database_uuid: DATABASE_UUID,
  };
}

function chartFile(spec: ChartSpec): unknown {
  const built = buildChart(spec.chart, { ...(spec.where ? { where: spec.where } : {}), ...(spec.filter ? { filter: spec.filter } : {}) });
  return {
    slice_name: spec.title,
    description: spec.description ?? null,
    certified_by: null,
    certification_details: null,
    viz_type: built.vizType,
    params: built.params,
    query_context: JSON.stringify(built.queryContext),
    cache_timeout: null,
    uuid: stableUuid('chart', spec.key),
    version: VERSION,
    dataset_uuid: stableUuid('dataset', spec.dataset),
  };
}

function dashboardFile(spec: DashboardSpec): unknown {
  const position: Record<string, unknown> = {
    DASHBOARD_VERSION_KEY: 'v2',
    ROOT_ID: { type: 'ROOT', id: 'ROOT_ID', children: ['GRID_ID'] },
    GRID_ID: { type: 'GRID', id: 'GRID_ID', children: [] as string[], parents: ['ROOT_ID'] },
    HEADER_ID: { id: 'HEADER_ID', type: 'HEADER', meta: { text: spec.title } },
  };
  const grid = position.GRID_ID as { children: string[] };
  spec.rows.forEach((row, rowIndex) => {
    const rowId = `ROW-${spec.slug}-${rowIndex}`;
    grid.children.push(rowId);
    const children: string[] = [];
    row.forEach((item, itemIndex) => {
      if ('markdown' in item) {
        const id = `MARKDOWN-${spec.slug}-${rowIndex}-${itemIndex}`;
        children.push(id);
        position[id] = {
          type: 'MARKDOWN',
          id,
          children: [],
          parents: ['ROOT_ID', 'GRID_ID', rowId],
          meta: { width: item.width, height: item.height ?? 50, code: item.markdown },
        };
      } else {
        const id = `CHART-${item.key}`;
        children.push(id);
        position[id] = {
          type: 'CHART',
          id,
          children: [],
          parents: ['ROOT_ID', 'GRID_ID', rowId],
          meta: { width: item.width, height: item.height ?? 50, chartId: 0, uuid: stableUuid('chart', item.key), sliceName: item.title },
        };
      }
    });
    position[rowId] = { type: 'ROW', id: rowId, children, parents: ['ROOT_ID', 'GRID_ID'], meta: { background: 'BACKGROUND_TRANSPARENT' } };
  });
  return {
    dashboard_title: spec.title,
    description: spec.description,
    css: '',
    slug: spec.slug,
    certified_by: null,
    certification_details: null,
    published: true,
    uuid: stableUuid('dashboard', spec.slug),
    position,
    metadata: {
      color_scheme: 'supersetColors',
      refresh_frequency: 0,
      expanded_slices: {},
      label_colors: {},
      shared_label_colors: [],
      color_scheme_domain: [],
      timed_refresh_immune_slices: [],
      cross_filters_enabled: false,
      native_filter_configuration: [],
      chart_configuration: {},
      global_chart_configuration: { scope: { rootPath: ['ROOT_ID'], excluded: [] }, chartsInScope: [] },
    },
    version: VERSION,
  };
}

export function buildBundle(): Files {
  const files: Files = new Map();
  // Quoted, as Superset writes it: unquoted, PyYAML reads a datetime and the importer rejects it.
  const timestamp = new Scalar('2024-01-01T00:00:00+00:00');
  timestamp.type = Scalar.QUOTE_SINGLE;
  // No `type`: then both Superset's assets importer (overwrites everything, used by
  // `npm run dashboards`) and `superset import-dashboards` (used by the Docker image) accept it.
  files.set('metadata.yaml', { version: VERSION, timestamp });
  files.set(DATABASE_FILE, {
    database_name: 'ShopFlow warehouse',
    sqlalchemy_uri: 'postgresql+psycopg2://bi_reader:XXXXXXXXXX@127.0.0.1:54329/shopflow',
    cache_timeout: null,
    expose_in_sqllab: true,
    allow_run_async: false,
    allow_ctas: false,
    allow_cvas: false,
    allow_dml: false,
    allow_file_upload: false,
    extra: {
      allows_virtual_table_explore: true,
      schemas_allowed_for_file_upload: [],
      metadata_params: {},
      engine_params: { connect_args: { application_name: 'shopflow-superset' } },
    },
    impersonate_user: false,
    uuid: DATABASE_UUID,
    version: VERSION,
  });
  const used = new Set<string>();
  for (const dashboard of DASHBOARDS) {
    files.set(`dashboards/${dashboard.slug}.yaml`, dashboardFile(dashboard));
    for (const row of dashboard.rows) {
      for (const item of row) {
        if ('markdown' in item) continue;
        files.set(`charts/${item.key}.yaml`, chartFile(item));
        used.add(item.dataset);
      }
    }
  }
  for (const dataset of DATASETS) {
    if (used.has(dataset.table)) files.set(`datasets/ShopFlow_warehouse/${dataset.table}.yaml`, datasetFile(dataset));
  }
  return files;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { bundle: { type: 'string' } } });
  const dir = values.bundle ?? BUNDLE_DIR;
  const files = buildBundle();
  for (const folder of ['charts', 'dashboards', 'datasets/ShopFlow_warehouse']) {
    await mkdir(join(dir, folder), { recursive: true });
    for (const name of await readdir(join(dir, folder))) {
      if (name.endsWith('.yaml') && !files.has(`${folder}/${name}`)) await rm(join(dir, folder, name));
    }
  }
  await mkdir(join(dir, 'databases'), { recursive: true });
  for (const [name, content] of files) {
    await writeFile(join(dir, name), stringify(content, { lineWidth: 0, sortMapEntries: false }));
  }
  process.stdout.write(`wrote ${files.size} files into ${dir}\n`);
}

if (import.meta.filename === process.argv[1]) await main();
