/**
 * `npm run dbt -- <dbt args>`: runs the project's dbt (dbt/) with the profile filled from the
 * ShopFlow configuration (WAREHOUSE_URL host/port/database, role transformer with
 * WAREHOUSE_TRANSFORMER_PASSWORD). Everything after `--` goes to dbt unchanged.
 */
import { loadConfig } from '../lib/config/index.ts';
import { ProcessFailedError, ShopflowError } from '../lib/errors.ts';
import { runDbt, dbtExecutable } from '../lib/dbt/run.ts';
import { abortOnStopSignals } from '../lib/lifecycle.ts';
import { access, constants } from 'node:fs/promises';

const HELP = `usage: npm run dbt -- <dbt command> [dbt flags]

Runs dbt in dbt/ against the ShopFlow warehouse as role transformer, e.g.
  npm run dbt -- build
  npm run dbt -- build --select marts --vars '{"as_of_date": "2026-01-31"}'
  npm run dbt -- docs generate
  npm run dbt -- source freshness

Environment (see .env.example):
  WAREHOUSE_URL                   warehouse host, port and database (the user in it is not used)
  WAREHOUSE_TRANSFORMER_PASSWORD  password of role transformer
  PYTHON_VENV                     venv holding dbt (default .venv; created by npm run setup)
  LOG_LEVEL                       unused by dbt itself; dbt prints its own log lines

The profile (dbt/profiles.yml) reads SHOPFLOW_PG_HOST, SHOPFLOW_PG_PORT, SHOPFLOW_PG_DATABASE,
SHOPFLOW_PG_USER, SHOPFLOW_PG_PASSWORD, SHOPFLOW_PG_SSLMODE and SHOPFLOW_DBT_THREADS; this
command sets them from the variables above.
`;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h') {
    process.stdout.write(HELP);
    return args.length === 0 ? 2 : 0;
  }
  const config = loadConfig();
  const executable = dbtExecutable(config);
  try {
    await access(executable, constants.X_OK);
  } catch {
    process.stderr.write(`dbt not found at ${executable}: run \`npm run setup\` to create the Python venv (or set PYTHON_VENV).\n`);
    return 1;
  }
  const abort = new AbortController();
  // First signal: stop dbt and wait for it; a second one exits at once.
  abortOnStopSignals(abort);
  try {
    await runDbt(config, args, {
      signal: abort.signal,
      onLine: (line, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${line}\n`),
    });
    return 0;
  } catch (error) {
    if (error instanceof ProcessFailedError) return error.exitCode ?? 1;
    if (error instanceof ShopflowError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main();
