/**
 * An ingestor CLI run by a bench as a real process (node + the tsx loader, as `npm run` starts
 * it): its JSON log lines parsed as they come, its peak resident set (VmHWM) polled, an optional
 * V8 CPU profile. Benches time what the ingestor itself logs, so process start-up is not counted.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ROOT_DIR } from '../../lib/config/index.ts';

export interface IngestorRun {
  lines: Record<string, unknown>[];
  peakRssMb: number;
  exit: Promise<number | null>;
  stop(): void;
}

export interface IngestorSpawn {
  /** Entry relative to the repository root, e.g. ingest/pg-cdc/cli.ts. */
  entry: string;
  args: string[];
  /** The whole environment of the child (nothing else is inherited but PATH and HOME). */
  env: Record<string, string>;
  /** Directory for a V8 CPU profile of the run (--cpu-prof), if any. */
  cpuProfDir?: string | undefined;
  log: (message: string) => void;
}

export function runIngestor(spec: IngestorSpawn): IngestorRun {
  const profile = spec.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', spec.cpuProfDir] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', join(ROOT_DIR, spec.entry), ...spec.args], {
    cwd: ROOT_DIR,
    shell: false,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...spec.env },
  });
  child.on('error', (error) => spec.log(`ingestor process error: ${error.message}`));
  const run: IngestorRun = {
    lines: [],
    peakRssMb: 0,
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    stop: () => child.kill('SIGTERM'),
  };
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      try {
        run.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const poll = pollPeakRss(child.pid!, (mb) => (run.peakRssMb = Math.max(run.peakRssMb, mb)));
  void run.exit.then(() => clearInterval(poll));
  return run;
}

/** Polls a process's VmHWM (peak resident set) every 100 ms; clear the returned timer at exit. */
export function pollPeakRss(pid: number, onPeak: (mb: number) => void): NodeJS.Timeout {
  return setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) onPeak(Number(match[1]) / 1024);
    } catch {
      // exited
    }
  }, 100);
}

export function findLine(run: IngestorRun, msg: string): Record<string, unknown> | undefined {
  return run.lines.find((l) => l.msg === msg);
}

export async function waitForLine(run: IngestorRun, msg: string, timeoutMs = 600_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = findLine(run, msg);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`ingestor never logged "${msg}"`);
    await sleep(50);
  }
}

/**
 * Changes per second of a catch-up run: the rows of every `batchMsg` line, over the time from
 * `startMsg` (the ingestor begins to read the stream) to the last batch landed.
 */
export function streamRate(
  run: IngestorRun,
  startMsg: string,
  batchMsg = 'batch landed',
): { changes: number; seconds: number; perSecond: number } {
  const start = findLine(run, startMsg);
  if (!start) throw new Error(`ingestor never logged "${startMsg}"`);
  const batches = run.lines.filter((l) => l.msg === batchMsg);
  const changes = batches.reduce((sum, b) => sum + Number(b.rows), 0);
  const seconds = (Date.parse(String(batches.at(-1)?.time)) - Date.parse(String(start.time))) / 1000;
  return { changes, seconds, perSecond: changes / seconds };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
