/** `npm run dashboards` (up): venv, metadata, bundle import, detached web server, URL. */
import type { Config } from '../../lib/config/index.ts';
import type { Logger } from '../../lib/logger.ts';
import { supersetPaths } from './paths.ts';
import { checkWarehouse, ensureMetadata, importBundle, type ProvisionResult } from './provision.ts';
import { startServer } from './server.ts';
import { ensureSupersetVenv } from './venv.ts';

export interface UpResult {
  url: string;
  alreadyUp: boolean;
  imported?: ProvisionResult;
  summary: string;
}

export async function dashboardsUp(config: Config, logger: Logger, options: { importBundle?: boolean } = {}): Promise<UpResult> {
  const marts = await checkWarehouse(config);
  if (marts === 0) logger.warn('schema marts has no tables yet: charts will show errors until `npm run demo` (or dbt build) has run');
  const venv = await ensureSupersetVenv(config, logger);
  if (venv.installed) logger.info({ seconds: venv.seconds }, 'Superset installed');
  await ensureMetadata(config, logger);
  let imported: ProvisionResult | undefined;
  if (options.importBundle !== false) {
    imported = await importBundle(config, logger);
    logger.info({ files: imported.files, dashboards: imported.dashboards.length }, 'bundle imported');
  }
  const { alreadyUp, pid } = await startServer(config, logger);
  const url = `http://127.0.0.1:${config.SUPERSET_PORT}`;
  const lines = [
    alreadyUp ? `Superset was already up (pid ${pid}); bundle re-imported.` : `Superset started (pid ${pid}).`,
    `  URL:   ${url}  (log in as ${config.SUPERSET_ADMIN_USER})`,
    `  log:   ${supersetPaths(config).logFile}`,
  ];
  for (const dashboard of imported?.dashboards ?? [])
    lines.push(`  ${url}/superset/dashboard/${dashboard.slug}/  ${dashboard.title} (${dashboard.charts} charts)`);
  lines.push('  stop:  npm run dashboards -- down');
  return { url, alreadyUp, ...(imported ? { imported } : {}), summary: lines.join('\n') };
}
