/**
 * Child processes (dbt, Great Expectations, Superset): spawned without a shell, with an explicit
 * env, an AbortSignal and a timeout; output streamed line by line to a callback; failure is a
 * ProcessFailedError carrying the exit code and the tail of the output.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { ProcessFailedError } from './errors.ts';

export interface RunProcessOptions {
  cwd?: string;
  env: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Each line of stdout/stderr as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How many trailing output lines to keep for the result and for errors. */
  tailLines?: number;
}

export interface ProcessResult {
  exitCode: number;
  outputTail: string;
}

export function runProcess(command: string, args: readonly string[], options: RunProcessOptions): Promise<ProcessResult> {
  const tailLimit = options.tailLines ?? 60;
  const tail: string[] = [];
  const display = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
      timeout: options.timeoutMs,
      killSignal: 'SIGTERM',
    });
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = createInterface({ input: child[stream] });
      lines.on('line', (line) => {
        tail.push(line);
        if (tail.length > tailLimit) tail.shift();
        options.onLine?.(line, stream);
      });
    }
    child.on('close', (code, signal) => {
      const outputTail = tail.join('\n');
      if (spawnError && code === null && signal === null) {
        reject(new ProcessFailedError(display, null, null, `${spawnError.message}\n${outputTail}`));
      } else if (code === 0) {
        resolve({ exitCode: 0, outputTail });
      } else {
        reject(new ProcessFailedError(display, code, signal, outputTail));
      }
    });
  });
}
