/**
 * `npm run dbt -- <dbt args>`: runs the project's dbt (dbt/) with the profile filled from the
 * ShopFlow configuration (WAREHOUSE_URL host/port/database, role transformer with
 * WAREHOUSE_TRANSFORMER_PASSWORD). Everything after `--` goes to dbt unchanged.
 */
import { EXIT } from '../lib/cli/exit-codes.ts';
import { assertPortAnswers } from '../lib/cli/preflight.ts';
import { runCli } from '../lib/cli/run.ts';
import { ConfigError, ProcessFailedError, UsageError } from '../lib/errors.ts';
import { runDbt, dbtExecutable } from '../lib/dbt/run.ts';
import { abortOnStopSignals } from '../lib/lifecycle.ts';
import { access, constants } from 'node:fs/promises';

const HELP = `Usage: npm run dbt -- <dbt command> [dbt flags]

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

const OFFLINE_COMMANDS = new Set(['deps', 'clean', 'parse', 'init', 'ls', 'list', '--version', '-v']);

await runCli({
  name: 'dbt',
  help: HELP,
  // Everything after the first argument is dbt's: \`npm run dbt -- build --help\` is dbt's help.
  flagsFirstOnly: true,
  async main(args, context) {
    if (args.length === 0) throw new UsageError('name a dbt command, e.g. `npm run dbt -- build`');
    const config = context.config();
    const executable = dbtExecutable(config);
    try {
      await access(executable, constants.X_OK);
    } catch {
      throw new ConfigError(`dbt not found at ${executable}: run \`npm run setup\` to create the Python venv (or set PYTHON_VENV).`);
    }
    // Commands that never connect are left alone; the rest would fail deep inside dbt.
    if (!OFFLINE_COMMANDS.has(args[0]!)) await assertPortAnswers(config.WAREHOUSE_URL, 5432, 'the Postgres warehouse');
    const abort = new AbortController();
    // First signal: stop dbt and wait for it; a second one exits at once.
    abortOnStopSignals(abort);
    try {
      await runDbt(config, args, {
        signal: abort.signal,
        onLine: (line, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${line}\n`),
      });
      return EXIT.ok;
    } catch (error) {
      // dbt printed its own errors above; its exit code (1 failures, 2 dbt usage) is passed on.
      if (error instanceof ProcessFailedError && error.exitCode !== null) return error.exitCode;
      throw error;
    }
  },
});
