/** Whether each lakehouse job runs (by its pid file) and when its last micro-batch completed (by its checkpoint). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { Config } from '../config/index.ts';
import { LAKE_JOB_NAMES } from './jobs.ts';
import { lakehousePaths } from './paths.ts';

export interface LakeJobState {
  job: (typeof LAKE_JOB_NAMES)[number];
  pid: number | undefined;
  pidFile: string;
  logFile: string;
  lastBatchAt: Date | undefined;
}

export function jobFiles(config: Pick<Config, 'dataDir'>, job: string): { dir: string; pidFile: string; logFile: string } {
  const dir = join(config.dataDir, 'lakehouse');
  return { dir, pidFile: join(dir, `${job}.pid`), logFile: join(dir, `${job}.log`) };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The job's pid when its pid file names a live process running that job's module (never another program's pid). */
export function runningJobPid(config: Pick<Config, 'dataDir'>, job: string): number | undefined {
  const pid = Number.parseInt(readText(jobFiles(config, job).pidFile)?.trim() ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
  return readText(`/proc/${pid}/cmdline`)?.split('\0').includes(`shopflow_lake.${job}`) ? pid : undefined;
}

/** Newest commit marker in the job's checkpoint(s): Structured Streaming writes one per completed micro-batch. */
export function lastBatchAt(checkpointDir: string): Date | undefined {
  if (!existsSync(checkpointDir)) return undefined;
  let latest = 0;
  const walk = (dir: string, depth: number) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (entry === 'commits') {
        for (const c of readdirSync(path)) latest = Math.max(latest, statSync(join(path, c)).mtimeMs);
      } else if (depth < 2 && statSync(path).isDirectory()) walk(path, depth + 1);
    }
  };
  walk(checkpointDir, 0);
  return latest > 0 ? new Date(latest) : undefined;
}

export function lakeJobStates(config: Pick<Config, 'dataDir' | 'rootDir' | 'LAKEHOUSE_VENV'>): LakeJobState[] {
  const paths = lakehousePaths(config);
  return LAKE_JOB_NAMES.map((job) => ({
    job,
    pid: runningJobPid(config, job),
    ...jobFiles(config, job),
    lastBatchAt: lastBatchAt(join(paths.dataDir, 'checkpoints', job)),
  }));
}

/**
 * The Kafka end offsets (exclusive) the job's last completed micro-batch read up to, from the
 * checkpoint: `offsets/N` is written before batch N runs, `commits/N` after it completed.
 */
export function committedThrough(streamCheckpoint: string, topic: string): Record<string, number> {
  const commits = join(streamCheckpoint, 'commits');
  if (!existsSync(commits)) return {};
  const done = readdirSync(commits)
    .filter((f) => /^\d+$/.test(f))
    .map(Number)
    .sort((a, b) => b - a)[0];
  if (done === undefined) return {};
  const lines = readFileSync(join(streamCheckpoint, 'offsets', String(done)), 'utf8')
    .trim()
    .split('\n');
  const offsets = JSON.parse(lines.at(-1)!) as Record<string, Record<string, number>>;
  return offsets[topic] ?? {};
}
