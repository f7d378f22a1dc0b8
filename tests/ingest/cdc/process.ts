/**
 * Runs `npm run ingest:cdc` as a real child process (tsx), as the fault tests need something
 * they can kill -9: output collected line by line, an `error` listener, exit awaited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { ROOT_DIR, type Config } from '../../../lib/config/index.ts';

export interface CdcChild {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when a log line contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

export function spawnCdc(config: Config, args: string[], extraEnv: Record<string, string> = {}): CdcChild {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    SHOP_DB_URL: config.SHOP_DB_URL,
    WAREHOUSE_URL: config.WAREHOUSE_URL,
    WAREHOUSE_INGEST_PASSWORD: config.WAREHOUSE_INGEST_PASSWORD,
    CDC_SERVER_ID: String(config.CDC_SERVER_ID),
    CDC_RAW_LAYOUT: config.CDC_RAW_LAYOUT,
    INGEST_BATCH_ROWS: String(config.INGEST_BATCH_ROWS),
    INGEST_BATCH_MAX_MS: String(config.INGEST_BATCH_MAX_MS),
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
  // node itself with tsx as a loader (not the tsx launcher, which forks): the pid is the ingestor's.
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'ingest', 'cdc', 'cli.ts'), '--no-progress', ...args], {
    cwd: ROOT_DIR,
    env,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('error', () => undefined); // surfaces through `exited`
  const output: string[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      output.push(line);
      for (const waiter of [...waiters]) {
        if (line.includes(waiter.text)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    output,
    exited,
    waitFor(text, timeoutMs = 60_000) {
      if (output.some((line) => line.includes(text))) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${text}" in ingest:cdc output within ${timeoutMs} ms:\n${output.slice(-20).join('\n')}`)),
          timeoutMs,
        );
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`ingest:cdc exited before printing "${text}":\n${output.slice(-20).join('\n')}`));
        });
      });
    },
  };
}
