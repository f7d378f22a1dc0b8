/**
 * Runs one job: a ledger run, each step attempted up to its limit with capped jittered backoff,
 * every attempt recorded in ops.run_steps with its output tail and a full log file; when a step
 * finally fails, an alert email names the job, the step, the error, the tail and the log path.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Config } from '../lib/config/index.ts';
import { coerceError, ConfigError, FatalPipelineError, ProcessFailedError, ShopflowError, UsageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { backoffDelay } from '../lib/retry.ts';
import type { Clock } from './clock.ts';
import type { JobDefinition, StepContext, StepOutcome } from './job.ts';
import type { RunLedger, RunStatus } from './ledger.ts';

export interface AlertMessage {
  key: string;
  kind: string;
  subject: string;
  text: string;
}

export interface RunnerOptions {
  config: Config;
  ledger: RunLedger;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  sendAlert: (alert: AlertMessage) => Promise<unknown>;
  /** Attempts per step unless the step says otherwise. */
  maxAttempts: number;
  retryMinDelayMs: number;
  retryMaxDelayMs: number;
  /** Where per-attempt step logs go; null keeps only the tail in the ledger. */
  logDir: string | null;
}

export interface RunRequest {
  /** 'retry': the day's report run again after a failed run (SMTP or a database was down). */
  trigger: 'schedule' | 'catch-up' | 'manual' | 'startup' | 'retry';
  businessDate: string;
  scheduledFor: Date | null;
  signal: AbortSignal;
}

export interface RunResult {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  failedStep?: string;
  error?: string;
  results: Map<string, unknown>;
}

const TAIL_LINES = 40;

/** Errors no retry can fix: bad configuration or flags, or a condition that needs a person. */
function isPermanent(error: unknown): boolean {
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof FatalPipelineError) return true;
  return error instanceof ShopflowError && PERMANENT_CODES.has(error.code);
}

/** A delivery whose outcome is unknown, or claimed by another process, needs an operator (or the mailbox); retrying cannot help. */
const PERMANENT_CODES = new Set(['SHOPFLOW_DELIVERY_IN_PROGRESS', 'SHOPFLOW_DELIVERY_UNKNOWN', 'SHOPFLOW_REPORT_CLAIM_STUCK']);

export class JobRunner {
  constructor(private readonly options: RunnerOptions) {}

  async run(job: JobDefinition, request: RunRequest): Promise<RunResult> {
    const { ledger, clock, instanceId } = this.options;
    const runId = randomUUID();
    const logger = this.options.logger.child({ job: job.name, runId, businessDate: request.businessDate });
    const results = new Map<string, unknown>();
    await ledger.startRun({
      runId,
      job: job.name,
      trigger: request.trigger,
      businessDate: request.businessDate,
      scheduledFor: request.scheduledFor,
      instanceId,
      at: clock.now(),
    });
    logger.info({ trigger: request.trigger, scheduledFor: request.scheduledFor }, 'job started');

    for (const step of job.steps) {
      const maxAttempts = step.maxAttempts ?? this.options.maxAttempts;
      for (let attempt = 1; ; attempt++) {
        const tail: string[] = [];
        const logPath = this.#logPath(runId, step.name, attempt);
        const logFile = logPath ? openLog(logPath, logger) : undefined;
        const context: StepContext = {
          config: this.options.config,
          logger: logger.child({ step: step.name, attempt }),
          clock,
          runId,
          job: job.name,
          businessDate: request.businessDate,
          signal: request.signal,
          results,
          onLine: (line) => {
            tail.push(line);
            if (tail.length > TAIL_LINES) tail.shift();
            logFile?.write(`${line}\n`);
          },
        };
        await ledger.startStep(runId, step.name, attempt, clock.now(), logPath);
        let outcome: StepOutcome | void;
        try {
          request.signal.throwIfAborted();
          outcome = await step.run(context);
        } catch (thrown) {
          const error = coerceError(thrown);
          await closeLog(logFile);
          const outputTail = tailOf(error, tail);
          await ledger.finishStep(runId, step.name, attempt, 'failed', clock.now(), outputTail, error.message);
          const aborted = request.signal.aborted;
          if (aborted || attempt >= maxAttempts || isPermanent(error)) {
            const reason = aborted
              ? `interrupted (${String(request.signal.reason instanceof Error ? request.signal.reason.message : request.signal.reason)})`
              : error.message;
            logger.error({ err: error, step: step.name, attempt }, aborted ? 'step interrupted' : 'step failed for good');
            await ledger.finishRun(
              runId,
              job.name,
              'failed',
              clock.now(),
              `step ${step.name} failed after ${attempt} attempt(s): ${reason}`,
            );
            if (!aborted) await this.#alertStepFailed(job, runId, request, step.name, attempt, error, outputTail, logPath, logger);
            return { runId, status: 'failed', failedStep: step.name, error: reason, results };
          }
          const delayMs = backoffDelay(attempt, { minDelayMs: this.options.retryMinDelayMs, maxDelayMs: this.options.retryMaxDelayMs });
          logger.warn({ err: error, step: step.name, attempt, maxAttempts, delayMs }, 'step failed, retrying');
          try {
            await sleep(delayMs, undefined, { signal: request.signal });
          } catch {
            const reason = `interrupted while waiting to retry step ${step.name}`;
            await ledger.finishRun(runId, job.name, 'failed', clock.now(), reason);
            return { runId, status: 'failed', failedStep: step.name, error: reason, results };
          }
          continue;
        }
        await closeLog(logFile);
        const outputTail = outcome?.outputTail ?? (tail.length > 0 ? tail.join('\n') : undefined);
        await ledger.finishStep(runId, step.name, attempt, 'succeeded', clock.now(), outputTail);
        if (outcome?.result !== undefined) results.set(step.name, outcome.result);
        if (outcome?.stopRun) {
          logger.warn({ step: step.name, status: outcome.stopRun.status, reason: outcome.stopRun.reason }, 'job stopped early');
          await ledger.finishRun(runId, job.name, outcome.stopRun.status, clock.now(), outcome.stopRun.reason);
          return { runId, status: outcome.stopRun.status, error: outcome.stopRun.reason, results };
        }
        break;
      }
    }
    await ledger.finishRun(runId, job.name, 'succeeded', clock.now());
    logger.info('job succeeded');
    return { runId, status: 'succeeded', results };
  }

  #logPath(runId: string, step: string, attempt: number): string | null {
    if (!this.options.logDir) return null;
    return join(this.options.logDir, runId, `${step}.${attempt}.log`);
  }

  async #alertStepFailed(
    job: JobDefinition,
    runId: string,
    request: RunRequest,
    step: string,
    attempts: number,
    error: Error,
    outputTail: string,
    logPath: string | null,
    logger: Logger,
  ): Promise<void> {
    // A daily job's retries (the report tried again while SMTP is down) share one alert per business date.
    const window =
      job.alertWindow === 'run'
        ? request.trigger === 'retry' || request.trigger === 'catch-up'
          ? request.businessDate
          : runId
        : this.options.clock.now().toISOString().slice(0, 13);
    const text = [
      `The ShopFlow ${job.name} job failed at step "${step}" after ${attempts} attempt(s).`,
      '',
      `Business date: ${request.businessDate}`,
      `Run id:        ${runId}`,
      `Step log:      ${logPath ?? '(not kept: no log directory)'}`,
      `Error:         ${error.message.split('\n')[0]}`,
      '',
      'Last output lines:',
      outputTail || '(none)',
      '',
      'Ledger: select * from ops.run_steps where run_id = ' + `'${runId}' order by started_at;`,
    ].join('\n');
    try {
      await this.options.sendAlert({
        key: `step_failed:${job.name}:${step}:${window}`,
        kind: 'step_failed',
        subject: `ShopFlow ${job.name}: step ${step} failed`,
        text,
      });
    } catch (alertError) {
      // The ledger already says what failed; a broken mail path must not hide that.
      logger.error({ err: alertError, step }, 'could not send the step-failure alert');
    }
  }
}

function tailOf(error: Error, lines: string[]): string {
  if (lines.length > 0) return lines.join('\n');
  if (error instanceof ProcessFailedError) return error.outputTail;
  return error.stack ?? error.message;
}

function openLog(path: string, logger: Logger): WriteStream | undefined {
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    const stream = createWriteStream(path, { flags: 'a' });
    stream.on('error', (err) => logger.warn({ err, path }, 'step log file error'));
    return stream;
  } catch (error) {
    logger.warn({ err: error, path }, 'cannot open the step log file');
    return undefined;
  }
}

function closeLog(stream: WriteStream | undefined): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => stream.end(() => resolve()));
}
