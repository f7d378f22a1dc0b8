/** `npm run dashboards -- export`: the dashboards as they are in Superset, back into dashboards/bundle. */
import type { Config } from '../../lib/config/index.ts';
import type { Logger } from '../../lib/logger.ts';
import { runProcess } from '../../lib/process.ts';
import { ShopflowError } from '../../lib/errors.ts';
import { BUNDLE_DIR, DASHBOARDS_DIR, supersetEnv, supersetPaths } from './paths.ts';
import { isVenvCurrent, venvPaths } from './venv.ts';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

export async function exportBundle(config: Config, logger: Logger, bundleDir = BUNDLE_DIR): Promise<{ files: number; dir: string }> {
  if (!(await isVenvCurrent(config)) || !existsSync(join(supersetPaths(config).home, 'superset.db'))) {
    throw new ShopflowError('SHOPFLOW_DASHBOARDS_NOT_SET_UP', 'no local Superset to export from: run `npm run dashboards` first');
  }
  let line = '';
  await runProcess(venvPaths(config).python, [join(DASHBOARDS_DIR, 'superset', 'export.py'), bundleDir], {
    env: { ...supersetEnv(config), SHOPFLOW_SUPERSET_ADMIN_USER: config.SUPERSET_ADMIN_USER },
    cwd: supersetPaths(config).home,
    timeoutMs: 300_000,
    onLine: (text, stream) => {
      if (stream === 'stdout' && text.startsWith('{')) line = text;
      else if (text.trim()) logger.debug({ step: 'export' }, text.slice(0, 400));
    },
  });
  const { files } = JSON.parse(line) as { files: number };
  return { files, dir: bundleDir };
}
