/**
 * The mail sink (scripts/services/smtp-sink.ts) as a managed service: a detached Node process
 * storing each message under <data>/mail. With SMTP_URL set, mail goes to that server instead.
 */
import { join } from 'node:path';

import type { Config } from '../../lib/config/index.ts';
import {
  assertPortFree,
  ensureDir,
  ourRunningPid,
  portAnswers,
  removePidFile,
  servicePaths,
  spawnDetached,
  stopProcess,
  waitUntilReady,
  writePidFile,
} from './process.ts';
import type { LocalService, ServiceStatus } from './types.ts';

function endpoint(config: Config): { host: string; port: number } {
  const url = new URL(config.SMTP_URL);
  return { host: url.hostname, port: Number(url.port || 25) };
}

/** Where the managed sink stores messages. */
export function mailDir(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'mail');
}

function layout(config: Config) {
  return servicePaths(config.dataDir, 'smtp');
}

async function start(config: Config): Promise<string> {
  const paths = layout(config);
  const dir = mailDir(config);
  const { port } = endpoint(config);
  const running = ourRunningPid(paths, dir);
  if (running && (await portAnswers(port))) return `ok, already up (pid ${running})`;
  if (!running) await assertPortFree('smtp', port, 'SMTP_URL');
  const started = Date.now();
  ensureDir(paths.dir);
  ensureDir(dir);
  let pid = running;
  let exited: (() => string | undefined) | undefined;
  if (!pid) {
    const spawned = await spawnDetached(
      process.execPath,
      ['--import', 'tsx', join(config.rootDir, 'scripts', 'services', 'smtp-sink.ts'), '--port', String(port), '--dir', dir],
      paths.logFile,
      { cwd: config.rootDir },
    );
    pid = spawned.pid;
    exited = spawned.exited;
    writePidFile(paths, pid);
  }
  await waitUntilReady(() => portAnswers(port), { service: 'smtp', timeoutMs: 30_000, logFile: paths.logFile, exited });
  return `started (pid ${pid}, port ${port}) in ${((Date.now() - started) / 1000).toFixed(1)} s; mail in ${dir}`;
}

export const smtpService: LocalService = {
  name: 'smtp',
  externalVariable: 'SMTP_URL',
  async up(config) {
    if (config.managed.smtp) return { message: await start(config) };
    const { host, port } = endpoint(config);
    await waitUntilReady(() => portAnswers(port, host), {
      service: 'smtp (external, SMTP_URL)',
      timeoutMs: 15_000,
      logFile: '(external service: check the server named by SMTP_URL)',
    });
    return { message: 'external, reachable' };
  },
  async down(config) {
    if (!config.managed.smtp) return 'external (SMTP_URL), left alone';
    const paths = layout(config);
    const pid = ourRunningPid(paths, mailDir(config));
    if (!pid) {
      removePidFile(paths);
      return 'not running';
    }
    const how = await stopProcess(pid, 'SIGTERM', 10_000);
    removePidFile(paths);
    return `${how} (pid ${pid})`;
  },
  async status(config): Promise<ServiceStatus> {
    const { host, port } = endpoint(config);
    const address = `${host}:${port}`;
    if (!config.managed.smtp) {
      return { service: 'smtp', mode: 'external', pid: undefined, address, state: (await portAnswers(port, host)) ? 'up' : 'unreachable' };
    }
    const paths = layout(config);
    const pid = ourRunningPid(paths, mailDir(config));
    const answers = await portAnswers(port, host);
    if (!pid) return { service: 'smtp', mode: 'managed', pid, address, state: answers ? 'port taken' : 'down' };
    return { service: 'smtp', mode: 'managed', pid, address, state: answers ? 'up' : 'starting' };
  },
};
