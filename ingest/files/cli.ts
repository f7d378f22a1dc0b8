/**
 * `npm run ingest:files`: land the files of the declared sources into raw_files.<source>, each
 * version of each file exactly once. Thin entry: flags, config, signals, exit status; the
 * work is in ingestor.ts and lander.ts.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { roleUrl } from '../../lib/config/roles.ts';
import { runCli } from '../../lib/cli/run.ts';
import { coerceError, UsageError } from '../../lib/errors.ts';
import { handleShutdownSignals } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { createPool } from '../../lib/pg/pool.ts';
import { S3Client, s3Settings } from '../../lib/s3/client.ts';
import { landSources } from './ingestor.ts';
import { loadSourceConfig } from './source-config.ts';

const HELP = `Usage: npm run ingest:files -- [--config FILE] [options]

Lands every file of the sources declared in FILE (YAML or JSON, docs/files.md), from a folder
or an S3-compatible prefix, into the
warehouse table raw_files.<source> (the declared columns, typed; created and widened from the
config), one row per CSV record, JSON line or Parquet row, with a manifest row per file version
in raw.file_manifest committed in the same transaction. A file whose bytes already landed is
skipped; a changed file lands again as its next version. Bad rows go to raw.dead_letters.

Options:
  --config FILE     the file sources config (default: FILES_CONFIG; one of them is required)
  --source NAME     land only this source (repeatable; default: every source in FILE)
  --watch           keep going: a pass every FILES_POLL_SECONDS until SIGTERM (how the
                    scheduler runs it); a refused file is logged and tried again next pass
  -h, --help        show this help
  -V, --version     show the version

Environment:
  WAREHOUSE_URL              warehouse; the ingestor connects as ingest_writer on the same host/db
  WAREHOUSE_INGEST_PASSWORD  password of ingest_writer
  FILES_CONFIG               the sources config when --config is not given (relative to the repository)
  FILES_POLL_SECONDS         pause between passes with --watch (default 60)
  S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_PATH_STYLE
                             the S3 API of sources declared with s3: (bucket, prefix)
  LOG_LEVEL                  trace|debug|info|warn|error|fatal|silent

Signals: the first SIGTERM/SIGINT lets the file in flight commit and exits 0; a second one
exits at once (a file half-copied is rolled back, never half-landed).

Exit status: 0 every file landed or already landed, 1 a file was refused (malformed CSV, a
header without a declared column, too many bad rows) or landing failed, 2 usage or config
error, 69 the warehouse is unreachable (docs/operations.md#exit-codes).
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
    name: 'ingest:files',
    help: HELP,
    async main(argv, context) {
      const flags = parseFlags(argv);
      const config = context.config();
      const configFile = flags.config ?? (config.FILES_CONFIG === '' ? undefined : resolve(config.rootDir, config.FILES_CONFIG));
      if (configFile === undefined)
        throw new UsageError('--config FILE (or FILES_CONFIG) is required: the file sources config, docs/files.md');
      let sources = loadSourceConfig(configFile);
      if (flags.sources.length > 0) {
        const unknown = flags.sources.filter((name) => !sources.some((s) => s.name === name));
        if (unknown.length > 0)
          throw new UsageError(
            `--source ${unknown.join(', ')}: not declared in ${configFile} (declared: ${sources.map((s) => s.name).join(', ')})`,
          );
        sources = sources.filter((s) => flags.sources.includes(s.name));
      }
      const logger = createLogger('ingest-files', config);
      const pool = createPool({
        connectionString: roleUrl(config, 'ingest_writer'),
        applicationName: 'shopflow-ingest-files',
        max: 1,
        // A file's rows are one COPY statement, however large the file: no statement timeout.
        statementTimeoutMs: 0,
        logger,
      });
      // Only when a source is on S3: folder-only configs need no S3 settings to make sense.
      const s3 = sources.some((s) => s.s3) ? new S3Client(s3Settings(config)) : undefined;
      const stop = new AbortController();
      const removeSignals = handleShutdownSignals({
        logger,
        forceAfterMs: 30_000,
        drain: async () => {
          stop.abort();
          await running.catch(() => undefined);
        },
      });
      const onePass = async (): Promise<number> => {
        const summary = await landSources(pool, sources, logger, stop.signal, s3);
        const rows = summary.landed.reduce((n, f) => n + f.rows, 0);
        const badRows = summary.landed.reduce((n, f) => n + f.badRows, 0);
        logger.info(
          { landed: summary.landed.length, unchanged: summary.unchanged, refused: summary.refused.length, rows, badRows },
          'pass done',
        );
        // The log line per refused file is for machines; a person gets the sentence too.
        for (const refused of summary.refused) process.stderr.write(`ingest:files: refused ${refused.source}/${refused.reason}\n`);
        return summary.refused.length > 0 ? 1 : 0;
      };
      const passes = async (): Promise<number> => {
        let status = await onePass();
        while (flags.watch && !stop.signal.aborted) {
          await sleep(config.FILES_POLL_SECONDS * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
          if (stop.signal.aborted) return 0;
          status = await onePass();
        }
        // --watch stopped by a signal after its pass committed: a clean stop.
        return flags.watch ? 0 : status;
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
