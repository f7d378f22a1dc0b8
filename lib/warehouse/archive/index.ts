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
 * A load day that is not due yet but holds many old events (a backfill, a re-ingest, a first
 * deployment: a whole history landed in one day) leaves by slices instead: its events before
 * the first of the cutoff's month are archived the same way (file, read-back, manifest) and its
 * partition is rewritten without them (raw.drop_archived_shop_events_slice, migration 0300), so
 * retention keeps about RAW_RETENTION_DAYS of events, not of load days.
 *
 * Layout under RAW_ARCHIVE_DIR: raw/shop_events/load_day=YYYY-MM-DD/{shop_events.parquet,manifest.json}
 * for a whole day, and shop_events-events-before-YYYY-MM-DD.parquet with
 * manifest-events-before-YYYY-MM-DD.json for each slice of it (hive-style: every file in a
 * folder is rows of that load day, so Spark, DuckDB or pyarrow read the folder as one table).
 * Runs as the warehouse admin (WAREHOUSE_URL), like the migrations: dropping a partition needs its owner.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import type pg from 'pg';

import { childEnv, roleUrl, type Config } from '../../config/index.ts';
import { ShopflowError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { createPool, withTransaction } from '../../pg/pool.ts';
import { runProcess } from '../../process.ts';
import { retireStagedDay, vacuumStaged, type StagedDayResult } from './staging.ts';

const SCRIPT = join('lib', 'warehouse', 'archive', 'partition_parquet.py');
/**
 * A recent load day is sliced only when its old events fill at least this many rows (a Parquet
 * row group): a backfill. The few events of an ordinary day that happened before midnight of
 * the month's first leave with their day when it is due, instead of a partition rewrite each.
 */
export const SLICE_MIN_ROWS = 100_000;
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
  /** A slice of the day: its events in [eventsFrom, eventsBefore) (ISO times; eventsFrom null: unbounded). */
  eventsFrom?: string | null;
  eventsBefore?: string;
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
  /** Slices of recent load days to archive: their events in [eventsFrom, eventsBefore). */
  slices: ArchiveSlice[];
}

export interface ArchiveSlice {
  day: string;
  eventsFrom: string | null;
  eventsBefore: string;
  rows: number;
}

export interface ArchiveOptions {
  logger?: Logger;
  signal?: AbortSignal;
  dryRun?: boolean;
  /** Fewest old events that make a recent load day a slice (SLICE_MIN_ROWS). */
  sliceMinRows?: number;
}

export function archiveDir(config: Pick<Config, 'RAW_ARCHIVE_DIR' | 'rootDir'>): string {
  return isAbsolute(config.RAW_ARCHIVE_DIR) ? config.RAW_ARCHIVE_DIR : resolve(config.rootDir, config.RAW_ARCHIVE_DIR);
}

function manifestName(manifest: Pick<ArchiveManifest, 'eventsBefore'>): string {
  return manifest.eventsBefore === undefined ? 'manifest.json' : `manifest-events-before-${manifest.eventsBefore.slice(0, 10)}.json`;
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

/**
 * Which load days are due (older than RAW_RETENTION_DAYS) and which of those may go now, and
 * which recent load days hold enough old events to leave by a slice (SLICE_MIN_ROWS).
 */
export async function planArchive(config: Config, logger?: Logger, sliceMinRows = SLICE_MIN_ROWS): Promise<ArchivePlan> {
  const pool = adminPool(config, logger);
  try {
    const staging = await pool.query<{ exists: boolean }>(`select to_regclass('staging.stg_clickstream__events') is not null as exists`);
    // The newest load time staging has read (its _loaded_at index answers it).
    const stagedUpTo = staging.rows[0]!.exists
      ? (await pool.query<{ m: Date | null }>(`select max(_loaded_at) as m from staging.stg_clickstream__events`)).rows[0]!.m
      : null;
    const { rows } = await pool.query<{
      cutoff: string;
      slice_before: string;
      day: string | null;
      due: boolean;
      staged_past: boolean | null;
    }>(
      `with bounds as (
           select (now() at time zone 'UTC')::date - $1::int as cutoff, (now() at time zone 'UTC')::date as today,
                  $2::timestamptz as staged_up_to
       ),
       days as (
           select to_date(substr(c.relname, 13), 'YYYYMMDD') as day
           from pg_inherits as i
           join pg_class as c on c.oid = i.inhrelid
           where i.inhparent = 'raw.shop_events'::regclass and c.relname ~ '^shop_events_[0-9]{8}$'
       )
       select to_char(bounds.cutoff, 'YYYY-MM-DD') as cutoff,
              to_char(date_trunc('month', bounds.cutoff), 'YYYY-MM-DD') as slice_before,
              to_char(days.day, 'YYYY-MM-DD') as day, days.day < bounds.cutoff as due,
              bounds.staged_up_to >= (days.day + 1)::timestamp at time zone 'UTC' as staged_past
       from bounds
       left join days on days.day <= bounds.today
       order by days.day`,
      [config.RAW_RETENTION_DAYS, stagedUpTo],
    );
    const plan: ArchivePlan = { cutoff: rows[0]!.cutoff, days: [], held: [], slices: [] };
    const eventsBefore = `${rows[0]!.slice_before}T00:00:00.000Z`;
    for (const row of rows) {
      if (row.day === null) continue;
      if (row.due) {
        if (row.staged_past) plan.days.push(row.day);
        else plan.held.push({ day: row.day, reason: 'staging (stg_clickstream__events) has not read past this day yet: run dbt first' });
      } else if (staging.rows[0]!.exists) {
        const slice = await plannedSlice(pool, row.day, eventsBefore, sliceMinRows);
        if (slice && 'held' in slice) plan.held.push({ day: row.day, reason: slice.held });
        else if (slice) plan.slices.push(slice);
      }
    }
    return plan;
  } finally {
    await pool.end();
  }
}

/**
 * The slice of a recent load day that is due: its events before the first of the cutoff's
 * month, past what earlier slices of the day took, if there are at least `minRows` of them and
 * staging has read them all. Today's load day counts too (a backfill landed today): staging has
 * read a row when the row's offset is at or below the largest one staging kept of its Kafka
 * topic and partition (the ingestor commits a partition's messages in offset order, so nothing
 * lands below that mark later). One read of the day's partition (a backfill's day: seconds),
 * then one index probe of staging per topic and partition.
 */
async function plannedSlice(
  pool: pg.Pool,
  day: string,
  eventsBefore: string,
  minRows: number,
): Promise<ArchiveSlice | { held: string } | undefined> {
  const { rows } = await pool.query<{ events_from: Date | null; rows: string; unread: string }>(
    `with earlier as (
         select max(events_before) as events_from from raw.shop_events_archived_slices where load_day = $1::date
     ),
     slice as (
         select e.topic, e.kafka_partition, count(*) as row_count, max(e.kafka_offset) as last_offset
         from raw.shop_events as e, earlier
         where e._loaded_at >= $1::date::timestamp at time zone 'UTC'
           and e._loaded_at < ($1::date + 1)::timestamp at time zone 'UTC'
           and e.event_time >= coalesce(earlier.events_from, '-infinity')
           and e.event_time < $2::timestamptz
         group by 1, 2
     )
     select earlier.events_from,
            coalesce(sum(slice.row_count), 0)::text as rows,
            count(slice.topic) filter (
                where slice.last_offset > coalesce((
                    select max(staged.kafka_offset) from staging.stg_clickstream__events as staged
                    where staged.kafka_topic = slice.topic and staged.kafka_partition = slice.kafka_partition
                ), -1)
            )::text as unread
     from earlier
     left join slice on true
     group by earlier.events_from`,
    [day, eventsBefore],
  );
  const found = rows[0]!;
  const count = Number(found.rows);
  if (count < minRows || (found.events_from !== null && found.events_from.toISOString() >= eventsBefore)) return undefined;
  if (Number(found.unread) > 0)
    return { held: `its ${count} events before ${eventsBefore.slice(0, 10)}: staging has not read them all yet: run dbt first` };
  return { day, eventsFrom: found.events_from?.toISOString() ?? null, eventsBefore, rows: count };
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

/** Rows and key hash of a load day, or of its slice, as the warehouse holds them now. */
async function fingerprint(
  config: Config,
  day: string,
  logger?: Logger,
  slice?: Pick<ArchiveSlice, 'eventsFrom' | 'eventsBefore'>,
): Promise<{ rows: number; keyHash: string }> {
  const pool = adminPool(config, logger);
  try {
    const { rows } = await pool.query<{ row_count: string; key_hash: string }>(
      `select row_count, key_hash::text as key_hash from raw.shop_events_slice_fingerprint($1::date, $2::timestamptz, $3::timestamptz)`,
      [day, slice?.eventsFrom ?? null, slice?.eventsBefore ?? null],
    );
    return { rows: Number(rows[0]!.row_count), keyHash: rows[0]!.key_hash };
  } finally {
    await pool.end();
  }
}

/** partition_parquet.py's flags for a slice's event-time bounds (none for a whole day). */
function sliceArgs(slice: Pick<ArchiveSlice, 'eventsFrom' | 'eventsBefore'> | undefined): string[] {
  if (!slice) return [];
  return [...(slice.eventsFrom === null ? [] : ['--events-from', slice.eventsFrom]), '--events-before', slice.eventsBefore];
}

class ArchiveMismatchError extends ShopflowError {
  constructor(message: string) {
    super('SHOPFLOW_RAW_ARCHIVE_MISMATCH', message, { canRetry: false });
  }
}

/**
 * Archives one load day, or one slice of it: file, read-back, manifest, then the drop (a day)
 * or the rewrite of its partition without the slice. Returns its manifest.
 */
export async function archiveDay(config: Config, day: string, opts: ArchiveOptions = {}, slice?: ArchiveSlice): Promise<ArchiveManifest> {
  const dir = dayDir(config, day);
  await mkdir(dir, { recursive: true });
  const what = slice ? `raw.shop_events load day ${day}, events before ${slice.eventsBefore}` : `raw.shop_events load day ${day}`;
  const fileName = slice ? `shop_events-events-before-${slice.eventsBefore.slice(0, 10)}.parquet` : 'shop_events.parquet';
  const file = join(dir, fileName);
  // A whole day whose slices were rehydrated holds their rows again: its file takes them, and
  // their own files go once it has (the folder must not hold a row twice).
  const superseded = slice ? [] : await rehydratedSlices(config, day, opts.logger);
  const bounds = sliceArgs(slice);
  // Seconds of each phase, logged with the result: where a slow night went.
  const seconds: Record<string, number> = {};
  const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      seconds[name] = Math.round(performance.now() - started) / 1000;
    }
  };
  const written = await phase('export_s', () => python(config, ['export', '--day', day, '--file', file, ...bounds], opts));
  const read = await phase('read_back_s', () => python(config, ['inspect', '--file', file], opts));
  const live = await phase('fingerprint_s', () => fingerprint(config, day, opts.logger, slice));
  if (read.rows !== live.rows || read.key_hash !== live.keyHash || read.sha256 !== written.sha256)
    throw new ArchiveMismatchError(
      `${what}: the Parquet file read back holds ${String(read.rows)} rows (key hash ${String(read.key_hash)}), ` +
        `the warehouse ${live.rows} (${live.keyHash}); nothing dropped. Run npm run raw:archive again; if it persists, keep the day and report it`,
    );
  const manifest: ArchiveManifest = {
    format: 1,
    table: 'raw.shop_events',
    loadDay: day,
    file: fileName,
    rows: live.rows,
    keyHash: live.keyHash,
    ...(slice ? { eventsFrom: slice.eventsFrom, eventsBefore: slice.eventsBefore } : {}),
    sha256: String(read.sha256),
    bytes: Number(read.bytes),
    compression: 'zstd',
    archivedAt: new Date().toISOString(),
  };
  const name = manifestName(manifest);
  await writeFile(join(dir, `${name}.tmp`), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(join(dir, `${name}.tmp`), join(dir, name));

  // The raw rows and their staged rows leave together (staging.ts says why and what stays).
  const pool = adminPool(config, opts.logger);
  let staged: StagedDayResult;
  try {
    staged = await phase('drop_with_staging_s', () =>
      withTransaction(pool, async (client) => {
        const { rows } = slice
          ? await client.query<{ dropped: boolean }>(
              `select raw.drop_archived_shop_events_slice($1::date, $2::timestamptz, $3::timestamptz, $4::bigint, $5::numeric) as dropped`,
              [day, slice.eventsFrom, slice.eventsBefore, manifest.rows, manifest.keyHash],
            )
          : await client.query<{ dropped: boolean }>(
              `select raw.drop_archived_shop_events_partition($1::date, $2::bigint, $3::numeric) as dropped`,
              [day, manifest.rows, manifest.keyHash],
            );
        if (!rows[0]!.dropped)
          throw new ArchiveMismatchError(
            `${what} changed after it was archived (or has no partition of its own); it was kept. Run npm run raw:archive again`,
          );
        return phase('staging_s', () => retireStagedDay(client, day, slice));
      }),
    );
  } finally {
    await pool.end();
  }
  for (const old of superseded) {
    await rm(join(dir, old.file), { force: true });
    await rm(join(dir, manifestName(old)), { force: true });
  }
  opts.logger?.info(
    { day, eventsBefore: slice?.eventsBefore, rows: manifest.rows, bytes: manifest.bytes, ...staged, ...seconds },
    slice
      ? 'raw load day slice archived, its partition rewritten without it, its staged rows removed'
      : 'raw load day archived and dropped, its staged rows removed',
  );
  return manifest;
}

/** The archived slices of a day whose rows the warehouse holds again (rehydrated). */
async function rehydratedSlices(config: Config, day: string, logger?: Logger): Promise<ArchiveManifest[]> {
  const slices = (await manifestsOf(config, day)).filter((m) => m.eventsBefore !== undefined);
  const back: ArchiveManifest[] = [];
  for (const manifest of slices)
    if (
      (await fingerprint(config, day, logger, { eventsFrom: manifest.eventsFrom ?? null, eventsBefore: manifest.eventsBefore! })).rows > 0
    )
      back.push(manifest);
  return back;
}

export interface ArchiveResult {
  plan: ArchivePlan;
  archived: ArchiveManifest[];
}

/**
 * Archives every due load day (RAW_RETENTION_DAYS > 0), oldest first, then every due slice of
 * a recent day; with dryRun only plans.
 */
export async function archiveRaw(config: Config, opts: ArchiveOptions = {}): Promise<ArchiveResult> {
  if (config.RAW_RETENTION_DAYS === 0) return { plan: { cutoff: '', days: [], held: [], slices: [] }, archived: [] };
  const plan = await planArchive(config, opts.logger, opts.sliceMinRows);
  const archived: ArchiveManifest[] = [];
  if (opts.dryRun) return { plan, archived };
  let removed = 0;
  const track = (manifest: ArchiveManifest) => {
    archived.push(manifest);
    removed += manifest.rows;
  };
  for (const day of plan.days) {
    opts.signal?.throwIfAborted();
    track(await archiveDay(config, day, opts));
  }
  for (const slice of plan.slices) {
    opts.signal?.throwIfAborted();
    track(await archiveDay(config, slice.day, opts, slice));
  }
  if (archived.length > 0) {
    const pool = adminPool(config, opts.logger);
    try {
      await vacuumStaged(pool, removed);
    } finally {
      await pool.end();
    }
  }
  return { plan, archived };
}

/** The manifests of one archived load day: the whole day's first, then its slices by time. */
async function manifestsOf(config: Config, day: string): Promise<ArchiveManifest[]> {
  const names = await readdir(dayDir(config, day)).catch(() => [] as string[]);
  const wanted = names.filter((name) => name === 'manifest.json' || /^manifest-events-before-\d{4}-\d{2}-\d{2}\.json$/.test(name)).sort();
  const manifests = await Promise.all(
    wanted.map(async (name) => JSON.parse(await readFile(join(dayDir(config, day), name), 'utf8')) as ArchiveManifest),
  );
  return manifests.sort((a, b) => (a.eventsBefore ?? '').localeCompare(b.eventsBefore ?? ''));
}

/** The manifests in the archive whose load day is within [from, to], oldest day first. */
export async function archivedDays(config: Config, from: string, to: string): Promise<ArchiveManifest[]> {
  const root = join(archiveDir(config), 'raw', 'shop_events');
  const entries = await readdir(root).catch(() => [] as string[]);
  const days = entries
    .map((name) => /^load_day=(\d{4}-\d{2}-\d{2})$/.exec(name)?.[1])
    .filter((day): day is string => day !== undefined && day >= from && day <= to)
    .sort();
  return (await Promise.all(days.map((day) => manifestsOf(config, day)))).flat();
}

/**
 * Restores the archived load days within [from, to] into raw.shop_events, each file in one
 * transaction that commits only if the rows restored match its manifest: a whole day's file
 * first (into an empty day), then its slices. A day, or a slice, that still has rows in the
 * warehouse is refused (restoring it would duplicate them).
 */
export async function rehydrateRaw(config: Config, from: string, to: string, opts: ArchiveOptions = {}): Promise<ArchiveManifest[]> {
  if (!DAY.test(from) || !DAY.test(to)) throw new ShopflowError('SHOPFLOW_USAGE', `--from and --to must be days (YYYY-MM-DD)`);
  const manifests = await archivedDays(config, from, to);
  if (opts.dryRun) return manifests;
  for (const manifest of manifests) {
    opts.signal?.throwIfAborted();
    const slice =
      manifest.eventsBefore === undefined ? undefined : { eventsFrom: manifest.eventsFrom ?? null, eventsBefore: manifest.eventsBefore };
    const present = await fingerprint(config, manifest.loadDay, opts.logger, slice);
    if (present.rows > 0)
      throw new ShopflowError(
        'SHOPFLOW_RAW_ARCHIVE_MISMATCH',
        `raw.shop_events already holds ${present.rows} rows of load day ${manifest.loadDay}${slice ? ` before ${slice.eventsBefore}` : ''}; ` +
          'rehydrating it would duplicate them (nothing restored)',
      );
    const bounds = sliceArgs(slice);
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
        ...bounds,
      ],
      opts,
    );
    opts.logger?.info({ day: manifest.loadDay, eventsBefore: slice?.eventsBefore, rows: manifest.rows }, 'raw load day rehydrated');
  }
  return manifests;
}
