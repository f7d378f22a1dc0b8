/**
 * Where a lake landing job's time went, from its log: the per-micro-batch lines that
 * lakehouse/shopflow_lake/profile.py prints (phases inside foreachBatch, Structured Streaming's
 * own progress durations) and Iceberg's commit reports (LoggingMetricsReporter at INFO).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LakeProfile {
  batches: number;
  rows: number;
  /** Sum over batches of each foreachBatch phase (decide, ledger, write, dead), ms. */
  phasesMs: Record<string, number>;
  /** Sum over batches of Structured Streaming's durationMs entries (latestOffset, walCommit, addBatch, commitOffsets, ...). */
  progressMs: Record<string, number>;
  /** Iceberg table commits: how many, their total duration (metadata files + catalog swap), attempts beyond the first. */
  commits: { count: number; totalMs: number; retries: number };
}

function add(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** ISO-8601 duration as Iceberg prints it (PT0.1604S, PT1M2.5S) in ms. */
function durationMs(text: string): number {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$/.exec(text);
  if (!m) return NaN;
  return (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
}

export function parseLakeProfile(log: string): LakeProfile {
  const profile: LakeProfile = { batches: 0, rows: 0, phasesMs: {}, progressMs: {}, commits: { count: 0, totalMs: 0, retries: 0 } };
  for (const line of log.split('\n')) {
    if (line.startsWith('{"lake_batch"')) {
      const batch = JSON.parse(line) as { rows: number; ms: Record<string, number> };
      profile.batches += 1;
      profile.rows += batch.rows;
      add(profile.phasesMs, batch.ms);
    } else if (line.startsWith('{"lake_progress"')) {
      const progress = JSON.parse(line) as { rows: number; ms: Record<string, number> };
      // Idle triggers (no new offsets) report too; only batches that ran count here.
      if (progress.rows > 0) add(profile.progressMs, progress.ms);
    } else if (line.includes('CommitReport{')) {
      const total = /commitMetrics=CommitMetricsResult\{totalDuration=TimerResult\{[^}]*totalDuration=(PT[^,}]+)/.exec(line);
      const attempts = /attempts=CounterResult\{[^}]*value=(\d+)/.exec(line);
      profile.commits.count += 1;
      if (total) profile.commits.totalMs += durationMs(total[1]!);
      if (attempts) profile.commits.retries += Math.max(0, Number(attempts[1]) - 1);
    }
  }
  return profile;
}

export function readLakeProfile(logFile: string): LakeProfile {
  try {
    return parseLakeProfile(readFileSync(logFile, 'utf8'));
  } catch {
    return parseLakeProfile('');
  }
}

/** Stages and tasks of one foreachBatch phase (the job description profile.py gives its Spark jobs). */
export interface PhaseStages {
  stages: number;
  tasks: number;
  /** Sum of stage wall times (submission to completion), ms. */
  stageMs: number;
  /** Sums over tasks, ms: run time, CPU time, GC, deserialisation, shuffle write. */
  taskRunMs: number;
  taskCpuMs: number;
  gcMs: number;
  deserializeMs: number;
  shuffleWriteMs: number;
}

interface SparkEvent {
  Event: string;
  'Stage IDs'?: number[];
  Properties?: Record<string, string>;
  'Stage ID'?: number;
  'Stage Info'?: { 'Stage ID': number; 'Submission Time'?: number; 'Completion Time'?: number };
  'Task Metrics'?: {
    'Executor Run Time'?: number;
    'Executor CPU Time'?: number;
    'JVM GC Time'?: number;
    'Executor Deserialize Time'?: number;
    'Shuffle Write Metrics'?: { 'Shuffle Write Time'?: number };
  };
}

/** Per-phase stage and task figures from Spark event logs (`eventLogDir`): one file per application. */
export function readStageProfile(eventLogDir: string): Record<string, PhaseStages> {
  const phaseOfStage = new Map<number, string>();
  const phases: Record<string, PhaseStages> = {};
  const of = (stage: number | undefined): PhaseStages | undefined => {
    const phase = stage === undefined ? undefined : phaseOfStage.get(stage);
    if (!phase) return undefined;
    return (phases[phase] ??= {
      stages: 0,
      tasks: 0,
      stageMs: 0,
      taskRunMs: 0,
      taskCpuMs: 0,
      gcMs: 0,
      deserializeMs: 0,
      shuffleWriteMs: 0,
    });
  };
  // Spark 4 writes rolling event logs: a folder per application of `events_<n>_<app>` files.
  let files: string[] = [];
  try {
    files = readdirSync(eventLogDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.startsWith('events_'))
      .map((e) => join(e.parentPath, e.name))
      .sort();
  } catch {
    return phases;
  }
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let event: SparkEvent;
      try {
        event = JSON.parse(line) as SparkEvent;
      } catch {
        continue; // the last line of a log whose application was killed
      }
      if (event.Event === 'SparkListenerJobStart') {
        const phase = event.Properties?.['spark.job.description'];
        if (phase) for (const id of event['Stage IDs'] ?? []) phaseOfStage.set(id, phase);
      } else if (event.Event === 'SparkListenerTaskEnd') {
        const p = of(event['Stage ID']);
        const m = event['Task Metrics'];
        if (!p || !m) continue;
        p.tasks += 1;
        p.taskRunMs += m['Executor Run Time'] ?? 0;
        p.taskCpuMs += (m['Executor CPU Time'] ?? 0) / 1e6;
        p.gcMs += m['JVM GC Time'] ?? 0;
        p.deserializeMs += m['Executor Deserialize Time'] ?? 0;
        p.shuffleWriteMs += (m['Shuffle Write Metrics']?.['Shuffle Write Time'] ?? 0) / 1e6;
      } else if (event.Event === 'SparkListenerStageCompleted') {
        const info = event['Stage Info'];
        const p = of(info?.['Stage ID']);
        if (!p || !info) continue;
        p.stages += 1;
        p.stageMs += (info['Completion Time'] ?? 0) - (info['Submission Time'] ?? 0);
      }
    }
  }
  return phases;
}
