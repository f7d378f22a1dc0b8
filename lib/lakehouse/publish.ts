/**
 * Serving the lake's marts: after a `dbt build --target lakehouse`, the marts are published to
 * the Postgres warehouse (lakehouse/shopflow_lake/publish.py), where the report, the alerts, the
 * gate and Superset already read them as `bi_reader` (docs/lakehouse.md, "Serving the marts").
 * What is published, and with which column types, comes from dbt's manifest: every model in the
 * marts schema with an enforced contract, its columns in the contract's order and types.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';

import { roleUrl, type Config } from '../config/index.ts';
import { ShopflowError } from '../errors.ts';
import { jobCommand, jobSettings } from './jobs.ts';
import { installedLakehouse } from './paths.ts';

export interface PublishedMart {
  /** The lake table: schema.name in the catalog. */
  source: string;
  name: string;
  columns: { name: string; type: string }[];
}

interface ManifestNode {
  resource_type: string;
  name: string;
  alias?: string;
  schema: string;
  config: { enabled?: boolean; contract?: { enforced?: boolean } };
  columns: Record<string, { name: string; data_type?: string | null }>;
}

/** The marts a manifest declares with enforced contracts (optionally only those named). */
export function martsFromManifest(manifestPath: string, options: { schema?: string; only?: string[] } = {}): PublishedMart[] {
  const schema = options.schema ?? 'marts';
  if (!existsSync(manifestPath))
    throw new ShopflowError(
      'SHOPFLOW_LAKE_PUBLISH',
      `no dbt manifest at ${manifestPath}: build the marts on the lake first (npm run dbt -- build --target lakehouse), or name another with --manifest`,
    );
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { nodes: Record<string, ManifestNode> };
  const marts = Object.values(manifest.nodes)
    .filter((n) => n.resource_type === 'model' && n.schema === schema && n.config.enabled !== false && n.config.contract?.enforced)
    .filter((n) => !options.only || options.only.includes(n.name))
    .map((n) => {
      const columns = Object.values(n.columns).map((c) => {
        if (!c.data_type)
          throw new ShopflowError('SHOPFLOW_LAKE_PUBLISH', `${n.name}.${c.name} has no data_type in its contract (${manifestPath})`);
        return { name: c.name, type: c.data_type };
      });
      const name = n.alias ?? n.name;
      return { source: `${n.schema}.${name}`, name, columns };
    });
  const missing = (options.only ?? []).filter((name) => !marts.some((m) => m.name === name));
  if (missing.length > 0)
    throw new ShopflowError('SHOPFLOW_LAKE_PUBLISH', `no mart with an enforced contract named ${missing.join(', ')} in ${manifestPath}`);
  return marts.sort((a, b) => a.name.localeCompare(b.name));
}

export interface PublishOptions {
  manifestPath: string;
  /** Postgres schema the marts are published to (`marts`, where every reader looks). */
  targetSchema?: string;
  only?: string[];
  /** The warehouse database: the lake's catalog is read there and the marts published to it (tests use their own). */
  catalogDatabase?: string;
  warehousePrefix?: string;
  /** The job's output (its log). */
  stdio?: 'inherit' | 'ignore';
}

/** Publishes the lake's marts to the warehouse in one Postgres transaction; resolves to what was published. */
export async function publishMarts(config: Config, options: PublishOptions): Promise<PublishedMart[]> {
  const marts = martsFromManifest(options.manifestPath, { only: options.only });
  const paths = installedLakehouse(config);
  // The transformer publishes, as it builds the marts on Postgres: default privileges then give
  // bi_reader (the report, Superset) and ops_writer what they have on dbt's own tables.
  const target = new URL(roleUrl(config, 'transformer', options.catalogDatabase));
  const settings = {
    ...jobSettings(
      config,
      'publish',
      {
        ...(options.catalogDatabase === undefined ? {} : { catalogDatabase: options.catalogDatabase }),
        ...(options.warehousePrefix === undefined ? {} : { warehousePrefix: options.warehousePrefix }),
      },
      paths,
    ),
    publish: {
      url: `jdbc:postgresql://${target.host}${target.pathname}?ApplicationName=shopflow-publish`,
      user: decodeURIComponent(target.username),
      password: decodeURIComponent(target.password),
      targetSchema: options.targetSchema ?? 'marts',
      loadSchema: 'serving_load',
      tables: marts,
    },
  };
  const { command, args, env } = jobCommand(paths, 'publish', settings);
  const child = spawn(command, args, {
    cwd: paths.jobsDir,
    env,
    stdio: ['ignore', options.stdio ?? 'inherit', options.stdio ?? 'inherit'],
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new ShopflowError('SHOPFLOW_LAKE_PUBLISH', `publishing the lake's marts failed (${signal ?? `exit ${code}`})`);
  return marts;
}
