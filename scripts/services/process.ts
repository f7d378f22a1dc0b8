/**
 * What every local service shares: its folder under the data dir, a pid file, a log file,
 * detached start-up, readiness waits that name the log, and a stop that only ever signals a
 * process this checkout started (its command line must mention our data dir).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ServiceUnavailableError, ShopflowError } from '../../lib/errors.ts';

export interface ServicePaths {
  /** `<data>/<service>`: everything the service writes lives here. */
  dir: string;
  pidFile: string;
  logFile: string;
}

export function servicePaths(dataDir: string, service: string): ServicePaths {
  const dir = join(dataDir, service);
  return { dir, pidFile: join(dir, `${service}.pid`), logFile: join(dir, `${service}.log`) };
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

/** The command line of a live (non-zombie) process, or undefined when it is gone. */
export function processCommandLine(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 (after the parenthesised name) is the state; Z means exited but not yet reaped.
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** The pid in our pid file, if that process is alive and its command line mentions `marker` (our data dir). */
export function ourRunningPid(paths: ServicePaths, marker: string): number | undefined {
  if (!existsSync(paths.pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(paths.pidFile, 'utf8').trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmdline = processCommandLine(pid);
  return cmdline?.includes(marker) ? pid : undefined;
}

/** Like ourRunningPid, with `marker` one whole argument of the process (not a part of one). */
export function recordedPid(paths: ServicePaths, marker: string): number | undefined {
  if (!existsSync(paths.pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(paths.pidFile, 'utf8').trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return processArgv(pid)?.includes(marker) ? pid : undefined;
}

export function writePidFile(paths: ServicePaths, pid: number): void {
  writeFileSync(paths.pidFile, `${pid}\n`);
}

/** The arguments of a live (non-zombie) process, or undefined when it is gone. */
export function processArgv(pid: number): string[] | undefined {
  if (processCommandLine(pid) === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
}

/**
 * Every live process one of whose arguments is exactly `marker` (a daemon's own folder or file,
 * under our data dir): what a pid file should name, found even when no pid file does.
 */
export function processesWithArgument(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (processArgv(Number(entry))?.includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Records a daemon's pid, refusing to overwrite a pid file that names another live process
 * carrying `marker`: that process would be orphaned, out of reach of services:down.
 */
export function claimPidFile(paths: ServicePaths, marker: string, pid: number): void {
  const recorded = existsSync(paths.pidFile) ? Number.parseInt(readFileSync(paths.pidFile, 'utf8').trim(), 10) : Number.NaN;
  if (Number.isInteger(recorded) && recorded !== pid && processArgv(recorded)?.includes(marker)) {
    throw new ShopflowError(
      'SHOPFLOW_SERVICE_PID_FILE',
      `${paths.pidFile} names pid ${recorded}, which is still running; not overwriting it with ${pid} (stop it first)`,
    );
  }
  writePidFile(paths, pid);
}

/**
 * Stops every live process carrying `marker`: the one the pid file names and any other left
 * without one (e.g. by an older start that lost the race for its pid file). Returns what was
 * stopped, as "pid stopped|killed".
 */
export async function stopAllWithArgument(paths: ServicePaths, marker: string, graceMs: number): Promise<string[]> {
  const recorded = existsSync(paths.pidFile) ? Number.parseInt(readFileSync(paths.pidFile, 'utf8').trim(), 10) : Number.NaN;
  const pids = processesWithArgument(marker);
  const outcomes = await Promise.all(
    pids.map(async (pid) => `${pid === recorded ? '' : 'stray '}${pid} ${await stopProcess(pid, 'SIGTERM', graceMs)}`),
  );
  removePidFile(paths);
  return outcomes;
}

/**
 * Runs `start` while holding `<dir>/start.lock`, so two starts of one service (two test forks,
 * or services:up run twice at once) never both find it down and both spawn it. The lock file
 * holds its owner's pid; one whose owner is gone is taken over.
 */
export async function withStartLock<T>(dir: string, start: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  ensureDir(dir);
  const lockFile = join(dir, 'start.lock');
  const token = `${process.pid} ${Math.random().toString(36).slice(2)}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(lockFile, token, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = Number.NaN;
    try {
      owner = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    } catch {
      continue; // released between our attempt and the read
    }
    if (!Number.isInteger(owner) || processCommandLine(owner) === undefined) {
      rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new ServiceUnavailableError(`${lockFile}: another start (pid ${owner}) has held it for ${Math.round(timeoutMs / 1000)} s`);
    }
    await sleep(200);
  }
  try {
    return await start();
  } finally {
    try {
      if (readFileSync(lockFile, 'utf8') === token) rmSync(lockFile, { force: true });
    } catch {
      // already gone
    }
  }
}

export function removePidFile(paths: ServicePaths): void {
  rmSync(paths.pidFile, { force: true });
}

export interface DetachedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/**
 * Start a long-lived server that outlives this command: its own session, stdout and stderr
 * appended to the log file, no handle keeping our event loop alive. Resolves once spawned.
 */
export async function spawnDetached(
  command: string,
  args: string[],
  logFile: string,
  options: DetachedOptions = {},
): Promise<{ pid: number; exited: () => string | undefined }> {
  const out = openSync(logFile, 'a');
  let exitDescription: string | undefined;
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      uid: options.uid,
      gid: options.gid,
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.on('exit', (code, signal) => {
      exitDescription = signal ? `killed by ${signal}` : `exited with code ${code}`;
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (error) =>
        reject(new ShopflowError('SHOPFLOW_SERVICE_SPAWN', `could not start ${command}: ${error.message}`, { cause: error })),
      );
      child.once('spawn', () => resolve(child.pid as number));
    });
    // Later errors (none expected once spawned) must not crash the CLI.
    child.on('error', () => undefined);
    child.unref();
    return { pid, exited: () => exitDescription };
  } finally {
    closeSync(out);
  }
}

export function logTail(logFile: string, lines = 20): string {
  try {
    const text = readFileSync(logFile, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}

export interface WaitOptions {
  service: string;
  timeoutMs: number;
  logFile: string;
  /** Returns a description when the process has died, so we stop waiting at once. */
  exited?: () => string | undefined;
  intervalMs?: number;
}

/** Poll `probe` until it resolves true; on timeout or early exit, fail naming the log file and its tail. */
export async function waitUntilReady(probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const died = options.exited?.();
    if (died) {
      throw new ServiceUnavailableError(`${options.service} ${died} during start-up; see ${options.logFile}:\n${logTail(options.logFile)}`);
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new ServiceUnavailableError(
        `${options.service} was not ready after ${Math.round(options.timeoutMs / 1000)} s${reason}; see ${options.logFile}:\n${logTail(options.logFile)}`,
        lastError,
      );
    }
    await sleep(options.intervalMs ?? 200);
  }
}

/** Stop a process: `signal` first, SIGKILL if it has not exited after `graceMs`. */
export async function stopProcess(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<'stopped' | 'killed'> {
  try {
    process.kill(pid, signal);
  } catch {
    return 'stopped';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (processCommandLine(pid) === undefined) return 'stopped';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'stopped';
  }
  while (processCommandLine(pid) !== undefined) await sleep(50);
  return 'killed';
}

/** Can a TCP connection be opened to host:port right now? */
export function portAnswers(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The process listening on a TCP port, found through /proc (Linux), if we may see it. */
export function portOwner(port: number): { pid: number; cmdline: string } | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 10 is the socket inode.
      if (fields.length > 9 && fields[3] === '0A' && Number.parseInt(fields[1]?.split(':')[1] ?? '', 16) === port)
        inodes.add(fields[9] as string);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const pid = Number(entry);
        return { pid, cmdline: processCommandLine(pid) ?? '?' };
      }
    }
  }
  return undefined;
}

/**
 * Refuse to start when someone else holds our port (typically the same service of another
 * checkout, with its own data dir), instead of waiting for a readiness that never comes.
 */
export async function assertPortFree(service: string, port: number, externalVariable: string): Promise<void> {
  if (!(await portAnswers(port))) return;
  const owner = portOwner(port);
  const who = owner ? `pid ${owner.pid}: ${owner.cmdline.slice(0, 200)}` : 'a process this user cannot see';
  const otherCheckout = owner && /\/\.data\/|shopflow/i.test(owner.cmdline) ? " It looks like another ShopFlow checkout's service." : '';
  throw new ShopflowError(
    'SHOPFLOW_PORT_TAKEN',
    `${service}: port ${port} on 127.0.0.1 is already in use by ${who}.${otherCheckout}\n` +
      `  Stop that process (e.g. \`npm run services:down\` in its checkout), or use it as an external service by setting ${externalVariable}.`,
  );
}
