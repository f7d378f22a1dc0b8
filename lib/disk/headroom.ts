/**
 * Disk headroom: free space on the disks the warehouse and the broker write to. A full disk
 * is the one failure that takes the services themselves down (Postgres stops on a failed WAL
 * write, the broker dies on a failed segment roll), so the ingestors and the scheduler look
 * first and stop cleanly, with one message naming the fix, while the services still have room.
 */
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';

import type { Config } from '../config/index.ts';
import { ShopflowError } from '../errors.ts';
import type { Logger } from '../logger.ts';

export type DiskConfig = Pick<
  Config,
  'dataDir' | 'managed' | 'DISK_STOP_FREE_MB' | 'DISK_WARN_FREE_MB' | 'DISK_CHECK_MS' | 'DISK_WATCH_DIRS'
>;

export interface WatchedDir {
  /** What lives there, for the message: "Postgres data", "Kafka log". */
  label: string;
  path: string;
}

export interface Headroom extends WatchedDir {
  freeBytes: number;
  totalBytes: number;
  level: 'ok' | 'warn' | 'stop';
}

const MB = 1024 * 1024;

/** Where the local services keep their data (scripts/services writes there). */
export function localServiceDirs(dataDir: string): { postgres: string; kafka: string } {
  return { postgres: join(dataDir, 'postgres', 'data'), kafka: join(dataDir, 'kafka', 'data') };
}

/** The local Postgres data and Kafka log directories when this project runs them, and DISK_WATCH_DIRS. */
export function watchedDirs(config: DiskConfig): WatchedDir[] {
  const local = localServiceDirs(config.dataDir);
  return [
    ...(config.managed.postgres ? [{ label: 'Postgres data', path: local.postgres }] : []),
    ...(config.managed.kafka ? [{ label: 'Kafka log', path: local.kafka }] : []),
    ...config.DISK_WATCH_DIRS.map((path) => ({ label: 'watched directory', path })),
  ];
}

/** Free space of each watched directory's disk; a directory that does not exist (yet) is skipped. */
export async function measureHeadroom(config: DiskConfig, dirs = watchedDirs(config)): Promise<Headroom[]> {
  const out: Headroom[] = [];
  for (const dir of dirs) {
    let stats;
    try {
      stats = await statfs(dir.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    // bavail, not bfree: the blocks an unprivileged process (postgres, the broker) may still use.
    const freeBytes = Number(stats.bavail) * Number(stats.bsize);
    const totalBytes = Number(stats.blocks) * Number(stats.bsize);
    const level = freeBytes < config.DISK_STOP_FREE_MB * MB ? 'stop' : freeBytes < config.DISK_WARN_FREE_MB * MB ? 'warn' : 'ok';
    out.push({ ...dir, freeBytes, totalBytes, level });
  }
  return out;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 * MB) return `${(bytes / (1024 * 1024 * MB)).toFixed(1)} TB`;
  if (bytes >= 1024 * MB) return `${(bytes / (1024 * MB)).toFixed(1)} GB`;
  return `${Math.round(bytes / MB)} MB`;
}

/** The one message: what is low, who stopped, and what to do. */
export class DiskSpaceError extends ShopflowError {
  constructor(
    readonly component: string,
    readonly headroom: Headroom,
    stopFreeMb: number,
  ) {
    super(
      'SHOPFLOW_DISK_LOW',
      `${component} stopped: the disk of ${headroom.path} (${headroom.label}) has ${formatBytes(headroom.freeBytes)} free of ` +
        `${formatBytes(headroom.totalBytes)}, under DISK_STOP_FREE_MB=${stopFreeMb}. Free space on that disk (archive and drop old ` +
        `raw data, lower KAFKA_LOCAL_RETENTION_MB: docs/operations.md#disk-space) or move SHOPFLOW_DATA_DIR to a larger disk, ` +
        `then start it again.`,
    );
  }
}

/** Throws DiskSpaceError when any watched disk is under the stop threshold. */
export async function assertHeadroom(config: DiskConfig, component: string): Promise<Headroom[]> {
  const headroom = await measureHeadroom(config);
  const low = headroom.find((h) => h.level === 'stop');
  if (low) throw new DiskSpaceError(component, low, config.DISK_STOP_FREE_MB);
  return headroom;
}

export interface HeadroomWatch {
  stop(): void;
}

/**
 * Looks every DISK_CHECK_MS; the first time a disk is under the stop threshold, calls onLow
 * once with the error (the caller drains and exits). Unref'd: it never keeps a process alive.
 */
export function watchHeadroom(
  config: DiskConfig,
  component: string,
  onLow: (error: DiskSpaceError) => void,
  logger?: Logger,
): HeadroomWatch {
  let fired = false;
  let warned = false;
  let checking = false;
  const timer = setInterval(() => {
    if (fired || checking) return;
    checking = true;
    measureHeadroom(config)
      .then((headroom) => {
        const low = headroom.find((h) => h.level === 'stop');
        if (low && !fired) {
          fired = true;
          clearInterval(timer);
          onLow(new DiskSpaceError(component, low, config.DISK_STOP_FREE_MB));
          return;
        }
        const tight = headroom.find((h) => h.level === 'warn');
        if (tight && !warned)
          logger?.warn(
            { path: tight.path, free: formatBytes(tight.freeBytes), warnFreeMb: config.DISK_WARN_FREE_MB },
            'disk space is getting low',
          );
        warned = tight !== undefined;
      })
      .catch((error: unknown) => logger?.warn({ err: error }, 'could not measure free disk space'))
      .finally(() => {
        checking = false;
      });
  }, config.DISK_CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
