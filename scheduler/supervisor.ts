/**
 * Keeps a long-running child process (an ingestor) alive: output streamed line by line into the
 * logger, restarted with capped, jittered backoff when it exits unexpectedly (the backoff resets
 * once a run has stayed up for a while), SIGTERM forwarded on stop with a SIGKILL after a grace
 * period so a hung child cannot hold the scheduler's shutdown hostage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

import { EXIT } from '../lib/cli/exit-codes.ts';
import type { Logger } from '../lib/logger.ts';
import { backoffDelay } from '../lib/retry.ts';

export interface SupervisedProcess {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /**
   * Run in a process group of its own and signal the whole group (a Spark job's Python driver
   * and its JVM), so a stop or the grace-period SIGKILL leaves nothing behind.
   */
  processGroup?: boolean;
  /** Written with the child's pid while it runs, so `npm run status` and `npm run lake` see it. */
  pidFile?: string;
  /** Output appended here instead of the scheduler's log (Spark's own logging is not JSON and is chatty). */
  logFile?: string;
}

export interface SupervisorOptions {
  logger: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run that lasted this long counts as healthy: the next crash restarts after the minimum delay. */
  stableAfterMs?: number;
  /** How long a child may take to drain after SIGTERM before it is killed. */
  stopGraceMs?: number;
  /** Called on every unexpected exit (for crash-loop alerts and tests). */
  onCrash?: (info: { name: string; code: number | null; signal: NodeJS.Signals | null; consecutive: number; restartInMs: number }) => void;
}

export class ProcessSupervisor {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #consecutiveCrashes = 0;
  #starts = 0;

  constructor(
    readonly spec: SupervisedProcess,
    private readonly options: SupervisorOptions,
  ) {}

  /** How many times the child has been started (1 + restarts). */
  get starts(): number {
    return this.#starts;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    this.#stopping = false;
    this.#spawn();
  }

  #spawn(): void {
    const { spec } = this;
    const logger = this.options.logger.child({ child: spec.name });
    const startedAt = Date.now();
    this.#starts++;
    let out: number | undefined;
    if (spec.logFile) {
      mkdirSync(dirname(spec.logFile), { recursive: true });
      out = openSync(spec.logFile, 'a');
    }
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      shell: false,
      stdio: out === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', out, out],
      detached: spec.processGroup ?? false,
    });
    if (out !== undefined) closeSync(out);
    child.on('error', (err) => logger.error({ err }, 'child process error'));
    this.#child = child;
    if (spec.pidFile && child.pid !== undefined) {
      mkdirSync(dirname(spec.pidFile), { recursive: true });
      writeFileSync(spec.pidFile, `${child.pid}\n`);
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      const input = child[stream];
      if (input) createInterface({ input }).on('line', (line) => logChildLine(logger, line, stream));
    }
    logger.info({ pid: child.pid, command: [spec.command, ...spec.args].join(' '), logFile: spec.logFile }, 'child started');
    this.#exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.#child = undefined;
        if (spec.pidFile) removeOwnPidFile(spec.pidFile, child.pid);
        resolve();
        if (this.#stopping) {
          logger.info({ code, signal }, 'child stopped');
          return;
        }
        // A nearly full disk: restarting would only fill it further. The child said why (its
        // last stderr line); the scheduler's own disk watch stops the rest.
        if (code === EXIT.diskLow) {
          logger.error({ code }, 'child stopped because a disk is nearly full: not restarting');
          return;
        }
        const stable = Date.now() - startedAt >= (this.options.stableAfterMs ?? 60_000);
        this.#consecutiveCrashes = stable ? 1 : this.#consecutiveCrashes + 1;
        const restartInMs = backoffDelay(this.#consecutiveCrashes, {
          minDelayMs: this.options.minBackoffMs ?? 1_000,
          maxDelayMs: this.options.maxBackoffMs ?? 60_000,
        });
        logger.error(
          { code, signal, consecutive: this.#consecutiveCrashes, restartInMs },
          'child exited unexpectedly: restarting after backoff',
        );
        this.options.onCrash?.({ name: spec.name, code, signal, consecutive: this.#consecutiveCrashes, restartInMs });
        this.#restartTimer = setTimeout(() => {
          this.#restartTimer = undefined;
          if (!this.#stopping) this.#spawn();
        }, restartInMs);
      });
    });
  }

  /** Forward SIGTERM (the child drains and exits 0), wait, then SIGKILL after the grace period. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.#exited;
    this.#signal(child, 'SIGTERM');
    const grace = setTimeout(() => {
      this.options.logger.warn({ child: this.spec.name, pid: child.pid }, 'child did not drain in time: killing');
      this.#signal(child, 'SIGKILL');
    }, this.options.stopGraceMs ?? 30_000);
    grace.unref();
    await this.#exited;
    clearTimeout(grace);
  }

  #signal(child: ChildProcess, signal: NodeJS.Signals): void {
    if (this.spec.processGroup && child.pid !== undefined) {
      try {
        process.kill(-child.pid, signal);
        return;
      } catch {
        // the group is gone: fall back to the child itself
      }
    }
    child.kill(signal);
  }
}

/** Removes the pid file if it still names this child (another program may have written it since). */
function removeOwnPidFile(pidFile: string, pid: number | undefined): void {
  try {
    if (readFileSync(pidFile, 'utf8').trim() === String(pid)) rmSync(pidFile, { force: true });
  } catch {
    // already gone
  }
}

/** Children log JSON (pino): keep their level and message; anything else is logged as text. */
function logChildLine(logger: Logger, line: string, stream: 'stdout' | 'stderr'): void {
  if (line.trim() === '') return;
  if (line.startsWith('{')) {
    try {
      const record = JSON.parse(line) as { level?: number; msg?: string };
      const level = record.level ?? 30;
      const method = level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : 'debug';
      logger[method]({ childLog: record }, record.msg ?? 'child log');
      return;
    } catch {
      // Not JSON after all: fall through.
    }
  }
  logger[stream === 'stderr' ? 'warn' : 'info']({ stream }, line);
}
