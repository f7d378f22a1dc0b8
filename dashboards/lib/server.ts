/**
 * The Superset web server as a detached gunicorn process: a pid file and a log under
 * .data/superset/, a readiness wait on /health, and a stop that signals only the pid it wrote.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Config } from '../../lib/config/index.ts';
import { ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { supersetEnv, supersetPaths, supersetUrl } from './paths.ts';
import { venvPaths } from './venv.ts';

type ServerConfig = Pick<Config, 'dataDir' | 'rootDir' | 'SUPERSET_PORT' | 'SUPERSET_SECRET_KEY' | 'SUPERSET_VENV'>;

export async function readPid(pidFile: string): Promise<number | undefined> {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt((await readFile(pidFile, 'utf8')).trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Is our recorded process the gunicorn we started (not a recycled pid)? */
async function isOurServer(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
    return cmdline.includes('gunicorn') && cmdline.includes('superset');
  } catch {
    return true; // No /proc (not Linux): trust the pid file.
  }
}

export async function isHealthy(baseUrl: string, timeoutMs = 3_000): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok && (await response.text()).trim() === 'OK';
  } catch {
    return false;
  }
}

export interface ServerStatus {
  running: boolean;
  healthy: boolean;
  pid?: number;
  url: string;
}

export async function serverStatus(config: ServerConfig): Promise<ServerStatus> {
  const url = supersetUrl(config);
  const pid = await readPid(supersetPaths(config).pidFile);
  const running = pid !== undefined && (await isOurServer(pid));
  return { running, healthy: running && (await isHealthy(url)), ...(running ? { pid } : {}), url };
}

/** Starts gunicorn detached unless ours is already running; waits until /health answers. */
export async function startServer(
  config: ServerConfig,
  logger: Logger,
  options: { readyTimeoutMs?: number } = {},
): Promise<{ alreadyUp: boolean; pid: number }> {
  const paths = supersetPaths(config);
  const url = supersetUrl(config);
  const current = await serverStatus(config);
  if (current.running && current.pid !== undefined) {
    await waitUntilHealthy(url, current.pid, paths.logFile, options.readyTimeoutMs);
    return { alreadyUp: true, pid: current.pid };
  }
  if (await isHealthy(url)) {
    throw new ShopflowError(
      'SHOPFLOW_SUPERSET_PORT_TAKEN',
      `Something else already answers on ${url} (not started by this project). Stop it or set SUPERSET_PORT to a free port.`,
    );
  }
  await mkdir(paths.home, { recursive: true });
  const log = openSync(paths.logFile, 'a');
  const venv = venvPaths(config);
  const child = spawn(
    venv.bin('gunicorn'),
    [
      '--bind',
      `127.0.0.1:${config.SUPERSET_PORT}`,
      // Two cores: two workers with threads serve a dashboard's parallel chart queries.
      '--workers',
      '2',
      '--worker-class',
      'gthread',
      '--threads',
      '4',
      '--timeout',
      '120',
      '--limit-request-line',
      '0',
      '--limit-request-field_size',
      '0',
      'superset.app:create_app()',
    ],
    { cwd: paths.home, env: supersetEnv(config), detached: true, stdio: ['ignore', log, log], shell: false },
  );
  child.on('error', (err) => logger.error({ err }, 'Superset web server failed to start'));
  closeSync(log);
  if (child.pid === undefined)
    throw new ShopflowError('SHOPFLOW_SUPERSET_START', `could not start gunicorn from ${venv.dir}; see ${paths.logFile}`);
  const pid = child.pid;
  child.unref();
  await writeFile(paths.pidFile, `${pid}\n`);
  logger.info({ pid, log: paths.logFile }, 'Superset web server starting');
  await waitUntilHealthy(url, pid, paths.logFile, options.readyTimeoutMs);
  return { alreadyUp: false, pid };
}

async function waitUntilHealthy(url: string, pid: number, logFile: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isHealthy(url)) return;
    if (!isAlive(pid)) {
      throw new ShopflowError(
        'SHOPFLOW_SUPERSET_START',
        `Superset web server (pid ${pid}) exited during start-up; see ${logFile}:\n${await tail(logFile)}`,
      );
    }
    await sleep(1_000);
  }
  throw new ShopflowError(
    'SHOPFLOW_SUPERSET_START',
    `Superset did not answer ${url}/health within ${Math.round(timeoutMs / 1000)} s; see ${logFile}:\n${await tail(logFile)}`,
    { canRetry: true },
  );
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Stops the server we started (SIGTERM, then SIGKILL after a grace period). Idempotent. */
export async function stopServer(config: ServerConfig, logger: Logger, graceMs = 20_000): Promise<{ stopped: boolean }> {
  const paths = supersetPaths(config);
  const pid = await readPid(paths.pidFile);
  if (pid === undefined || !(await isOurServer(pid))) {
    await rm(paths.pidFile, { force: true });
    return { stopped: false };
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(250);
  if (isAlive(pid)) {
    logger.warn({ pid }, 'Superset did not stop in time: killing it');
    process.kill(pid, 'SIGKILL');
  }
  await rm(paths.pidFile, { force: true });
  return { stopped: true };
}
