/**
 * The ingestor processes the active scheduler supervises. They run with exactly the scheduler's
 * configuration, passed as environment variables built from the validated Config (so a child
 * never sees a setting the parent did not validate).
 */
import { join } from 'node:path';

import { KAFKA_INGESTOR_NODE_FLAGS } from '../ingest/kafka/node-flags.ts';
import { childEnv, DEFAULTS, type Config } from '../lib/config/index.ts';
import type { ScheduledIngestor } from '../lib/config/schema.ts';
import { ConfigError } from '../lib/errors.ts';
import { watchedDirs } from '../lib/disk/headroom.ts';
import type { SupervisedProcess } from './supervisor.ts';

export const INGESTOR_ENTRIES: Record<ScheduledIngestor, string> = {
  kafka: 'ingest/kafka/cli.ts',
  cdc: 'ingest/cdc/cli.ts',
  'pg-cdc': 'ingest/pg-cdc/cli.ts',
  files: 'ingest/files/cli.ts',
  api: 'ingest/api/cli.ts',
};
const INGESTOR_NODE_FLAGS: Record<ScheduledIngestor, readonly string[]> = {
  kafka: KAFKA_INGESTOR_NODE_FLAGS,
  cdc: [],
  'pg-cdc': [],
  files: [],
  api: [],
};
/** The one-pass ingestors run in their polling mode under the scheduler. */
const INGESTOR_ARGS: Record<ScheduledIngestor, readonly string[]> = {
  kafka: [],
  cdc: [],
  'pg-cdc': [],
  files: ['--watch'],
  api: ['--watch'],
};

/** The Config back as environment variables (lists joined with commas). */
export function configEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of Object.keys(DEFAULTS)) {
    const value = (config as unknown as Record<string, unknown>)[name];
    if (value === undefined) continue;
    env[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}

export function ingestorProcesses(config: Config, names: readonly ScheduledIngestor[] = config.SCHEDULER_INGESTORS): SupervisedProcess[] {
  // Refused here, once, rather than by a child that exits 2 and is restarted forever.
  if (names.includes('cdc') && names.includes('pg-cdc'))
    throw new ConfigError(
      'SCHEDULER_INGESTORS includes both cdc and pg-cdc: the shop is either on MariaDB (cdc) or on Postgres (pg-cdc), and both write the same change log raw_shop.<table>; keep one (docs/pg-cdc.md)',
    );
  if (names.includes('files') && config.FILES_CONFIG === '')
    throw new ConfigError(
      'SCHEDULER_INGESTORS includes files but FILES_CONFIG is empty: set it to the file sources config (docs/files.md)',
    );
  if (names.includes('api') && config.API_CONFIG === '')
    throw new ConfigError('SCHEDULER_INGESTORS includes api but API_CONFIG is empty: set it to the REST sources config (docs/api.md)');
  return names.map((name) => ({
    name: `ingest:${name}`,
    command: process.execPath,
    // One node process with the tsx loader (not `npm run` or the tsx wrapper): SIGTERM reaches
    // the ingestor itself, which drains and exits 0.
    args: [...INGESTOR_NODE_FLAGS[name], '--import', 'tsx', join(config.rootDir, INGESTOR_ENTRIES[name]), ...INGESTOR_ARGS[name]],
    cwd: config.rootDir,
    // The child gets explicit service URLs, so it would not know the services are local:
    // it watches the scheduler's disks by name.
    env: {
      ...childEnv({ NODE_NO_WARNINGS: '1' }),
      ...configEnv(config),
      DISK_WATCH_DIRS: [...new Set(watchedDirs(config).map((d) => d.path))].join(','),
    },
  }));
}
