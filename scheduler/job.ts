/** What a job is: named steps run in order, each retried with capped backoff, in one ledger run. */
import type { Config } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { Clock } from './clock.ts';

export type JobName = 'microbatch' | 'nightly' | 'report' | 'alerts' | 'lake_maintenance';
export const JOB_NAMES: readonly JobName[] = ['microbatch', 'nightly', 'report', 'alerts', 'lake_maintenance'];

export interface StepContext {
  config: Config;
  logger: Logger;
  clock: Clock;
  runId: string;
  job: JobName;
  businessDate: string;
  /** Aborted on shutdown or lost leadership; pass it to child processes. */
  signal: AbortSignal;
  /** Each output line of the step (child-process output): goes to the step's log file and tail. */
  onLine: (line: string) => void;
  /** Results of earlier steps of the same run (e.g. the gate summaries the report needs). */
  results: Map<string, unknown>;
}

export interface StepOutcome {
  /** Stored in ops.run_steps.output_tail when the step produced no child output. */
  outputTail?: string;
  /** Value later steps can read from `results`. */
  result?: unknown;
  /** Ends the run early without failing it: 'blocked' (e.g. a gate failed), 'skipped' (nothing to do). */
  stopRun?: { status: 'blocked' | 'skipped'; reason: string };
}

export interface StepDefinition {
  name: string;
  run: (context: StepContext) => Promise<StepOutcome | void>;
  /** Overrides the scheduler's default attempts for this step (e.g. 1 for sending mail). */
  maxAttempts?: number;
}

export interface JobDefinition {
  name: JobName;
  steps: StepDefinition[];
  /**
   * Frequent jobs alert at most once per hour per failing step (a broken every-minute job must not
   * send sixty emails an hour); daily jobs alert once per run.
   */
  alertWindow: 'run' | 'hour';
}
