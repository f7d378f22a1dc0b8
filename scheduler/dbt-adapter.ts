/**
 * Runs `dbt <args>` in dbt/ from the project's venv as the transformer role. A thin stand-in
 * with the same contract as lib/dbt/run.ts (runDbt), used until that module is available.
 */
import { join, resolve } from 'node:path';

import { childEnv, roleUrl, type Config } from '../lib/config/index.ts';
import { runProcess } from '../lib/process.ts';

const DBT_TIMEOUT_MS = 60 * 60_000;

export function dbtEnv(config: Config): Record<string, string> {
  const url = new URL(roleUrl(config, 'transformer'));
  return childEnv({
    DO_NOT_TRACK: '1',
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    DBT_PROFILES_DIR: join(config.rootDir, 'dbt'),
    SHOPFLOW_PG_HOST: url.hostname,
    SHOPFLOW_PG_PORT: url.port || '5432',
    SHOPFLOW_PG_DATABASE: decodeURIComponent(url.pathname.slice(1)),
    SHOPFLOW_PG_USER: decodeURIComponent(url.username),
    SHOPFLOW_PG_PASSWORD: decodeURIComponent(url.password),
  });
}

export async function runDbtCommand(config: Config, args: string[], options: { signal?: AbortSignal; onLine?: (line: string) => void }): Promise<{ exitCode: 0; outputTail: string }> {
  const result = await runProcess(resolve(config.rootDir, config.PYTHON_VENV, 'bin', 'dbt'), args, {
    cwd: join(config.rootDir, 'dbt'),
    env: dbtEnv(config),
    signal: options.signal,
    timeoutMs: DBT_TIMEOUT_MS,
    onLine: options.onLine ? (line) => options.onLine!(line) : undefined,
  });
  return { exitCode: 0, outputTail: result.outputTail };
}
