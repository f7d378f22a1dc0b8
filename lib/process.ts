/**
 * Child processes (dbt, Great Expectations, Superset): spawned without a shell, with an explicit
 * env, an AbortSignal and a timeout; output streamed line by line to a callback; failure is a
 * ProcessFailedError carrying the exit code and the tail of the output.
 *
 * Children die with their parent. Node cannot set prctl(PR_SET_PDEATHSIG), so each child runs
 * under a small /bin/sh watchdog in its own process group: the watchdog holds the read end of a
 * pipe whose write end only this process holds. When this process ends, however it ends
 * (kill -9 included), the kernel closes the pipe, the watchdog reads EOF and sends SIGTERM to
 * the group, then SIGKILL after a grace period. Aborting (signal, timeout) closes the pipe the
 * same way. With `lockFile`, the watchdog takes an exclusive flock(1) first that the child
 * inherits, so the lock is held exactly as long as the child (or its orphans) live.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { ProcessFailedError, ShopflowError } from './errors.ts';

export interface RunProcessOptions {
  cwd?: string;
  env: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Each line of stdout/stderr as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How many trailing output lines to keep for the result and for errors. */
  tailLines?: number;
  /** Hold an exclusive lock on this file while the child lives; refuse to start if another process holds it. */
  lockFile?: string;
  /** After SIGTERM, how long the child may take before SIGKILL (default 10 s). */
  killGraceMs?: number;
}

export interface ProcessResult {
  exitCode: number;
  outputTail: string;
}

/** Another process (a build orphaned by a killed scheduler, or a concurrent one) holds the lock. */
export class ProcessLockBusyError extends ShopflowError {
  constructor(
    readonly lockFile: string,
    command: string,
  ) {
    super(
      'SHOPFLOW_PROCESS_LOCK_BUSY',
      `not starting ${command}: another process holds ${lockFile} (a build still running); it is tried again later`,
      { canRetry: true },
    );
  }
}

const LOCK_BUSY_EXIT = 75; // EX_TEMPFAIL
const LOCK_BUSY_MARK = 'shopflow-watchdog: lock busy';

// $1 lock file ('' for none), $2 grace in tenths of a second, $3... the command.
// fd 3: the pipe from the parent. The watcher ignores TERM so it outlives the group's TERM to
// escalate, and closes fd 9 so it never holds the lock itself.
const WATCHDOG = `
lock=$1; grace=$2; shift 2
exec 3<&0
if [ -n "$lock" ]; then
  mkdir -p "$(dirname "$lock")"
  exec 9>>"$lock"
  flock -n 9 || { echo "${LOCK_BUSY_MARK}: $lock" >&2; exit ${LOCK_BUSY_EXIT}; }
fi
"$@" </dev/null 3<&- &
child=$!
(
  trap '' TERM
  exec 9>&-
  while read -r _ <&3; do :; done
  kill -TERM -$$ 2>/dev/null
  i=0
  while kill -0 $child 2>/dev/null && [ $i -lt $grace ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL -$$ 2>/dev/null
) &
watcher=$!
exec 3<&-
wait $child
status=$?
kill -KILL $watcher 2>/dev/null
exit $status
`;

export function runProcess(command: string, args: readonly string[], options: RunProcessOptions): Promise<ProcessResult> {
  const tailLimit = options.tailLines ?? 60;
  const tail: string[] = [];
  const display = [command, ...args].join(' ');
  const graceTenths = String(Math.max(1, Math.round((options.killGraceMs ?? 10_000) / 100)));
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new ProcessFailedError(display, null, null, `not started: ${String(options.signal.reason)}`));
      return;
    }
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'shopflow-watchdog', options.lockFile ?? '', graceTenths, command, ...args], {
      cwd: options.cwd,
      env: options.env,
      shell: false,
      // Its own process group, so the watchdog can end the child and everything it started.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let spawnError: Error | undefined;
    let stopReason: string | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    // The pipe is the child's lifeline: never written, closed to stop it.
    child.stdin!.on('error', () => undefined);
    const stop = (reason: string) => {
      stopReason ??= reason;
      child.stdin!.end();
    };
    const onAbort = () =>
      stop(`aborted: ${options.signal?.reason instanceof Error ? options.signal.reason.message : String(options.signal?.reason)}`);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = options.timeoutMs ? setTimeout(() => stop(`timed out after ${options.timeoutMs} ms`), options.timeoutMs) : undefined;
    timer?.unref();

    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = createInterface({ input: child[stream]! });
      lines.on('line', (line) => {
        tail.push(line);
        if (tail.length > tailLimit) tail.shift();
        options.onLine?.(line, stream);
      });
    }
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      const outputTail = tail.join('\n');
      if (spawnError && code === null && signal === null) {
        reject(new ProcessFailedError(display, null, null, `${spawnError.message}\n${outputTail}`));
      } else if (code === LOCK_BUSY_EXIT && options.lockFile && tail.some((line) => line.startsWith(LOCK_BUSY_MARK))) {
        reject(new ProcessLockBusyError(options.lockFile, display));
      } else if (code === 0 && !stopReason) {
        resolve({ exitCode: 0, outputTail });
      } else {
        reject(new ProcessFailedError(display, code, signal, stopReason ? `${stopReason}\n${outputTail}` : outputTail));
      }
    });
  });
}
