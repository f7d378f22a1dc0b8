/**
 * `npm run ingest:api`: pull the declared REST sources into raw.api_records, incrementally by
 * each source's updated-at cursor. Thin entry: flags, config, signals, exit status; the work is
 * in ingestor.ts, puller.ts and lander.ts.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { roleUrl } from '../../lib/config/roles.ts';
import { EXIT } from '../../lib/cli/exit-codes.ts';
import { runCli } from '../../lib/cli/run.ts';
import { coerceError, ServiceUnavailableError, UsageError } from '../../lib/errors.ts';
import { handleShutdownSignals } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { createPool } from '../../lib/pg/pool.ts';
import { pullSources } from './ingestor.ts';
import { loadApiConfig } from './source-config.ts';

const HELP = `Usage: npm run ingest:api -- [--config FILE] [options]

Pulls every REST source declared in FILE (YAML or JSON, docs/api.md) into the warehouse table
raw.api_records: records updated at or after each source's cursor, page after page (cursor,
offset or Link-header paging), each page's records and the cursor they reach committed in one
transaction. Retries 5xx, 429 (after Retry-After), timeouts and bodies cut short with capped
backoff. Records that do not fit their source go to raw.dead_letters with their exact bytes.

Options:
  --config FILE     the REST sources config (default: API_CONFIG; one of them is required)
  --source NAME     pull only this source (repeatable; default: every source in FILE)
  --watch           keep going: a pass every API_POLL_SECONDS until SIGTERM (how the scheduler
                    runs it); a failed source is logged and tried again next pass
  -h, --help        show this help
  -V, --version     show the version

Environment:
  WAREHOUSE_URL              warehouse; the puller connects as ingest_writer on the same host/db
  WAREHOUSE_INGEST_PASSWORD  password of ingest_writer
  API_CONFIG                 the sources config when --config is not given (relative to the repository)
  API_TOKEN                  bearer token for sources with auth: bearer
  API_TIMEOUT_MS             longest wait for one answer (default 30000)
  API_MAX_ATTEMPTS           attempts per request before the source fails (default 8)
  API_RETRY_MAX_MS           cap of the backoff and of Retry-After (default 30000)
  API_POLL_SECONDS           pause between passes with --watch (default 60)
  LOG_LEVEL                  trace|debug|info|warn|error|fatal|silent

Signals: the first SIGTERM/SIGINT stops after the page in flight commits and exits 0; a second
one exits at once (a page not committed is asked for again next time, never half-landed).

Exit status: 0 every source pulled, 1 a source failed (refused token, records out of order, an
answer that is not the declared JSON), 2 usage or config error, 69 an API or the warehouse is
unreachable past every retry (docs/operations.md#exit-codes).
`;

function parseFlags(argv: string[]): { config: string | undefined; sources: string[]; watch: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        source: { type: 'string', multiple: true, default: [] },
        watch: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`${coerceError(error).message}\nRun with --help for the list of options.`);
  }
  return { config: parsed.values.config, sources: parsed.values.source, watch: parsed.values.watch };
}

await runCli(
  {
    name: 'ingest:api',
    help: HELP,
    async main(argv, context) {
      const flags = parseFlags(argv);
      const config = context.config();
      const configFile = flags.config ?? (config.API_CONFIG === '' ? undefined : resolve(config.rootDir, config.API_CONFIG));
      if (configFile === undefined) throw new UsageError('--config FILE (or API_CONFIG) is required: the REST sources config, docs/api.md');
      let sources = loadApiConfig(configFile);
      if (flags.sources.length > 0) {
        const unknown = flags.sources.filter((name) => !sources.some((s) => s.name === name));
        if (unknown.length > 0)
          throw new UsageError(
            `--source ${unknown.join(', ')}: not declared in ${configFile} (declared: ${sources.map((s) => s.name).join(', ')})`,
          );
        sources = sources.filter((s) => flags.sources.includes(s.name));
      }
      const logger = createLogger('ingest-api', config);
      const pool = createPool({
        connectionString: roleUrl(config, 'ingest_writer'),
        applicationName: 'shopflow-ingest-api',
        max: 1,
        logger,
      });
      const stop = new AbortController();
      const removeSignals = handleShutdownSignals({
        logger,
        forceAfterMs: 30_000,
        drain: async () => {
          stop.abort();
          await running.catch(() => undefined);
        },
      });
      const options = {
        token: config.API_TOKEN,
        policy: {
          timeoutMs: config.API_TIMEOUT_MS,
          maxAttempts: config.API_MAX_ATTEMPTS,
          minDelayMs: Math.min(250, config.API_RETRY_MAX_MS),
          maxDelayMs: config.API_RETRY_MAX_MS,
        },
        logger,
        signal: stop.signal,
      };
      const onePass = async () => {
        const summary = await pullSources(pool, sources, options);
        const total = (k: 'inserted' | 'deadLetters' | 'received') => summary.pulled.reduce((n, p) => n + p[k], 0);
        logger.info(
          {
            pulled: summary.pulled.length,
            failed: summary.failed.length,
            received: total('received'),
            inserted: total('inserted'),
            deadLetters: total('deadLetters'),
          },
          'pass done',
        );
        for (const failed of summary.failed) process.stderr.write(`ingest:api: ${failed.source} failed: ${failed.error.message}\n`);
        return summary;
      };
      const passes = async (): Promise<number> => {
        let summary = await onePass();
        while (flags.watch && !stop.signal.aborted) {
          await sleep(config.API_POLL_SECONDS * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
          if (stop.signal.aborted) return 0;
          summary = await onePass();
        }
        if (flags.watch || stop.signal.aborted) return 0;
        // One pass: 69 when an API was unreachable past every retry (try later), 1 for any other failure.
        if (summary.failed.length === 0) return 0;
        return summary.failed.every((f) => f.error instanceof ServiceUnavailableError) ? EXIT.unavailable : EXIT.failed;
      };
      const running = passes();
      try {
        return await running;
      } finally {
        removeSignals();
        await pool.end();
      }
    },
  },
  { graceMs: 1_000 },
);
