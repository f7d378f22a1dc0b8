/**
 * Raw retention: load days of raw.shop_events older than RAW_RETENTION_DAYS go to Parquet files
 * and leave the warehouse; `rehydrateRaw` brings them back. Each day is its own partition
 * (migration 0150), so a day leaves whole: written (partition_parquet.py export), read back
 * (inspect: rows and key hash of what the file holds), compared with the rows still in the
 * warehouse (raw.shop_events_day_fingerprint), described by a manifest beside the file, and only
 * then detached and dropped by raw.drop_archived_shop_events_partition, which compares again
 * under a lock and drops nothing if a row changed. A day staging has not read past is never
 * archived: staging is the only reader of raw, and it must have what it needs first. In the
 * transaction of the drop, the day's staged rows leave staging too, their event ids kept as
 * keys for its deduplication (staging.ts).
 *
 * Layout under RAW_ARCHIVE_DIR: raw/shop_events/load_day=YYYY-MM-DD/{shop_events.parquet,manifest.json}
 * (hive-style, so Spark, DuckDB or pyarrow read the folder as one table partitioned by load day).
 * Runs as the warehouse admin (WAREHOUSE_URL), like the migrations: dropping a partition needs its owner.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import { childEnv, roleUrl, type Config } from '../../config/index.ts';
import { ShopflowError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { createPool, withTransaction } from '../../pg/pool.ts';
import { runProcess } from '../../process.ts';
import { retireStagedDay, vacuumStaged, type StagedDayResult } from './staging.ts';

const SCRIPT = join('lib', 'warehouse', 'archive', 'partition_parquet.py');
const DAY_TIMEOUT_MS = 60 * 60_000;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export interface ArchiveManifest {
  format: 1;
  table: 'raw.shop_events';
  loadDay: string;
  file: string;
  rows: number;
  /** Sum of 60-bit md5 prefixes of each row's key (see partition_parquet.py), as a decimal string. */
  keyHash: string;
  sha256: string;
  bytes: number;
  compression: 'zstd';
  archivedAt: string;
}

export interface ArchivePlan {
  /** Load days before this one are due (UTC). */
  cutoff: string;
  /** Due days that will be archived, oldest first. */
  days: string[];
  /** Due days left alone, with why. */
  held: { day: string; reason: string }[];
}

export interface ArchiveOptions {
  logger?: Logger;
  signal?: AbortSignal;
  dryRun?: boolean;
}

export function archiveDir(config: Pick<Config, 'RAW_ARCHIVE_DIR' | 'rootDir'>): string {
  return isAbsolute(config.RAW_ARCHIVE_DIR) ? config.RAW_ARCHIVE_DIR : resolve(config.rootDir, config.RAW_ARCHIVE_DIR);
}

function dayDir(config: Pick<Config, 'RAW_ARCHIVE_DIR' | 'rootDir'>, day: string): string {
  return join(archiveDir(config), 'raw', 'shop_events', `load_day=${day}`);
}

function adminPool(config: Config, logger?: Logger) {
  // A day's statements scan the day (a backfill's load day holds the whole backfill): the
  // timeout of a day's export, not the pool's default two minutes.
  return createPool({
    connectionString: roleUrl(config, 'admin'),
    applicationName: 'shopflow-raw-archive',
    max: 1,
    statementTimeoutMs: DAY_TIMEOUT_MS,
    logger,
  });
}

/** Which load days are due (older than RAW_RETENTION_DAYS) and which of those may go now. */
export async function planArchive(config: Config, logger?: Logger): Promise<ArchivePlan> {
  const pool = adminPool(config, logger);
  try {
    const staging = await pool.query<{ exists: boolean }>(`select to_regclass('staging.stg_clickstream__events') is not null as exists`);
    // The newest load time staging has read (its _loaded_at index answers it).
    const stagedUpTo = staging.rows[0]!.exists
      ? (await pool.query<{ m: Date | null }>(`select max(_loaded_at) as m from staging.stg_clickstream__events`)).rows[0]!.m
      : null;
    const { rows } = await pool.query<{ cutoff: string; day: string | null; staged_past: boolean | null }>(
      `with bounds as (
           select (now() at time zone 'UTC')::date - $1::int as cutoff, $2::timestamptz as staged_up_to
       ),
       days as (
           select to_date(substr(c.relname, 13), 'YYYYMMDD') as day
           from pg_inherits as i
           join pg_class as c on c.oid = i.inhrelid
           where i.inhparent = 'raw.shop_events'::regclass and c.relname ~ '^shop_events_[0-9]{8}$'
       )
       select to_char(bounds.cutoff, 'YYYY-MM-DD') as cutoff, to_char(days.day, 'YYYY-MM-DD') as day,
              bounds.staged_up_to >= (days.day + 1)::timestamp at time zone 'UTC' as staged_past
       from bounds
       left join days on days.day < bounds.cutoff
       order by days.day`,
      [config.RAW_RETENTION_DAYS, stagedUpTo],
    );
    const plan: ArchivePlan = { cutoff: rows[0]!.cutoff, days: [], held: [] };
    for (const row of rows) {
      if (row.day === null) continue;
      if (row.staged_past) plan.days.push(row.day);
      else plan.held.push({ day: row.day, reason: 'staging (stg_clickstream__events) has not read past this day yet: run dbt first' });
    }
    return plan;
  } finally {
    await pool.end();
  }
}

async function python(config: Config, args: string[], opts: ArchiveOptions): Promise<Record<string, unknown>> {
  let last = '';
  await runProcess(resolve(config.rootDir, config.PYTHON_VENV, 'bin', 'python'), [resolve(config.rootDir, SCRIPT), ...args], {
    cwd: config.rootDir,
    env: childEnv({ ARCHIVE_PG_URL: roleUrl(config, 'admin'), PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' }),
    signal: opts.signal,
    timeoutMs: DAY_TIMEOUT_MS,
    onLine: (line, stream) => {
      if (stream === 'stdout' && line.startsWith('{')) last = line;
      else opts.logger?.debug({ stream }, line);
    },
  });
  return JSON.parse(last) as Record<string, unknown>;
}

async function fingerprint(config: Config, day: string, logger?: Logger): Promise<{ rows: number; keyHash: string }> {
  const pool = adminPool(config, logger);
  try {
    const { rows } = await pool.query<{ row_count: string; key_hash: string }>(
      `select row_count, key_hash::text as key_hash from raw.shop_events_day_fingerprint($1::date)`,
      [day],
    );
    return { rows: Number(rows[0]!.row_count), keyHash: rows[0]!.key_hash };
  } finally {
    await pool.end();
  }
}

class ArchiveMismatchError extends ShopflowError {
  constructor(message: string) {
    super('SHOPFLOW_RAW_ARCHIVE_MISMATCH', message, { canRetry: false });
  }
}

/** Archives one load day: file, read-back, manifest, drop. Returns its manifest. */
export async function archiveDay(config: Config, day: string, opts: ArchiveOptions = {}): Promise<ArchiveManifest> {
  const dir = dayDir(config, day);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'shop_events.parquet');
  const written = await python(config, ['export', '--day', day, '--file', file], opts);
  const read = await python(config, ['inspect', '--file', file], opts);
  const live = await fingerprint(config, day, opts.logger);
  if (read.rows !== live.rows || read.key_hash !== live.keyHash || read.sha256 !== written.sha256)
    throw new ArchiveMismatchError(
      `raw.shop_events load day ${day}: the Parquet file read back holds ${String(read.rows)} rows (key hash ${String(read.key_hash)}), ` +
        `the warehouse ${live.rows} (${live.keyHash}); nothing dropped. Run npm run raw:archive again; if it persists, keep the day and report it`,
    );
  const manifest: ArchiveManifest = {
    format: 1,
    table: 'raw.shop_events',
    loadDay: day,
    file: 'shop_events.parquet',
    rows: live.rows,
    keyHash: live.keyHash,
    sha256: String(read.sha256),
    bytes: Number(read.bytes),
    compression: 'zstd',
    archivedAt: new Date().toISOString(),
  };
  await writeFile(join(dir, 'manifest.json.tmp'), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(join(dir, 'manifest.json.tmp'), join(dir, 'manifest.json'));

  // The raw partition and the day's staged rows leave together (staging.ts says why and what stays).
  const pool = adminPool(config, opts.logger);
  let staged: StagedDayResult;
  try {
    staged = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ dropped: boolean }>(
        `select raw.drop_archived_shop_events_partition($1::date, $2::bigint, $3::numeric) as dropped`,
        [day, manifest.rows, manifest.keyHash],
      );
      if (!rows[0]!.dropped)
        throw new ArchiveMismatchError(
          `raw.shop_events load day ${day} changed after it was archived (or has no partition of its own); it was kept. Run npm run raw:archive again`,
        );
      return retireStagedDay(client, day);
    });
  } finally {
    await pool.end();
  }
  opts.logger?.info(
    { day, rows: manifest.rows, bytes: manifest.bytes, ...staged },
    'raw load day archived and dropped, its staged rows removed',
  );
  return manifest;
}

export interface ArchiveResult {
  plan: ArchivePlan;
  archived: ArchiveManifest[];
}

/** Archives every due load day (RAW_RETENTION_DAYS > 0), oldest first; with dryRun only plans. */
export async function archiveRaw(config: Config, opts: ArchiveOptions = {}): Promise<ArchiveResult> {
  if (config.RAW_RETENTION_DAYS === 0) return { plan: { cutoff: '', days: [], held: [] }, archived: [] };
  const plan = await planArchive(config, opts.logger);
  const archived: ArchiveManifest[] = [];
  if (opts.dryRun) return { plan, archived };
  for (const day of plan.days) {
    opts.signal?.throwIfAborted();
    archived.push(await archiveDay(config, day, opts));
  }
  if (archived.length > 0) {
    const pool = adminPool(config, opts.logger);
    try {
      await vacuumStaged(pool);
    } finally {
      await pool.end();
    }
  }
  return { plan, archived };
}

/** The manifests in the archive whose load day is within [from, to], oldest first. */
export async function archivedDays(config: Config, from: string, to: string): Promise<ArchiveManifest[]> {
  const root = join(archiveDir(config), 'raw', 'shop_events');
  const entries = await readdir(root).catch(() => [] as string[]);
  const days = entries
    .map((name) => /^load_day=(\d{4}-\d{2}-\d{2})$/.exec(name)?.[1])
    .filter((day): day is string => day !== undefined && day >= from && day <= to)
    .sort();
  return Promise.all(
    days.map(async (day) => JSON.parse(await readFile(join(dayDir(config, day), 'manifest.json'), 'utf8')) as ArchiveManifest),
  );
}

/**
 * Restores the archived load days within [from, to] into raw.shop_events, each in one
 * transaction that commits only if the rows restored match the manifest. A day that still has
 * rows in the warehouse is refused (restoring it would duplicate them).
 */
export async function rehydrateRaw(config: Config, from: string, to: string, opts: ArchiveOptions = {}): Promise<ArchiveManifest[]> {
  if (!DAY.test(from) || !DAY.test(to)) throw new ShopflowError('SHOPFLOW_USAGE', `--from and --to must be days (YYYY-MM-DD)`);
  const manifests = await archivedDays(config, from, to);
  if (opts.dryRun) return manifests;
  for (const manifest of manifests) {
    opts.signal?.throwIfAborted();
    const present = await fingerprint(config, manifest.loadDay, opts.logger);
    if (present.rows > 0)
      throw new ShopflowError(
        'SHOPFLOW_RAW_ARCHIVE_MISMATCH',
        `raw.shop_events already holds ${present.rows} rows of load day ${manifest.loadDay}; rehydrating it would duplicate them (nothing restored)`,
      );
    await python(
      config,
      [
        'restore',
        '--day',
        manifest.loadDay,
        '--file',
        join(dayDir(config, manifest.loadDay), manifest.file),
        '--sha256',
        manifest.sha256,
        '--expect-rows',
        String(manifest.rows),
        '--expect-key-hash',
        manifest.keyHash,
      ],
      opts,
    );
    opts.logger?.info({ day: manifest.loadDay, rows: manifest.rows }, 'raw load day rehydrated');
  }
  return manifests;
}
