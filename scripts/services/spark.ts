/**
 * A local Apache Spark standalone cluster for the lakehouse jobs: one master and SPARK_WORKERS
 * workers (SPARK_WORKER_CORES task slots each) on loopback, run with the jars pyspark ships, so the jobs always talk
 * to a real cluster and nothing assumes local mode. Only with LAKEHOUSE_ENABLED; with
 * SPARK_MASTER set the cluster is external and only its master's reachability is checked.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Config } from '../../lib/config/index.ts';
import { installedLakehouse } from '../../lib/lakehouse/paths.ts';
import {
  assertPortFree,
  claimPidFile,
  ensureDir,
  portAnswers,
  processesWithArgument,
  recordedPid,
  spawnDetached,
  stopAllWithArgument,
  stopProcess,
  waitUntilReady,
  withStartLock,
  type ServicePaths,
} from './process.ts';
import type { LocalService, ServiceStatus } from './types.ts';

/** The master's web UI (JSON at /json/): 8080 as in Spark's defaults; workers' UIs follow it. */
export const SPARK_MASTER_UI_PORT = 8080;
const DAEMON_HEAP = '-Xmx256m';

function masterAddress(config: Config): { host: string; port: number } {
  const match = /^spark:\/\/([^:]+):(\d+)$/.exec(config.SPARK_MASTER);
  return match ? { host: match[1] as string, port: Number(match[2]) } : { host: '127.0.0.1', port: 7077 };
}

/**
 * One pid file and log per daemon. The daemon's JVM carries `marker` (its work dir, under our
 * data dir) as one argument: what makes a process ours, found with or without its pid file.
 */
function daemon(dir: string, role: string): ServicePaths & { workDir: string; marker: string } {
  const workDir = join(dir, role);
  return { dir, workDir, marker: `-Dshopflow.spark.dir=${workDir}`, pidFile: join(dir, `${role}.pid`), logFile: join(dir, `${role}.log`) };
}

function roles(config: Config): string[] {
  return ['master', ...Array.from({ length: config.SPARK_WORKERS }, (_, i) => `worker-${i + 1}`)];
}

/** The configured roles plus any worker folder an earlier start with more SPARK_WORKERS left. */
function knownRoles(config: Config, dir: string): string[] {
  const earlier = existsSync(dir) ? readdirSync(dir).filter((name) => /^worker-\d+$/.test(name)) : [];
  return [...new Set([...roles(config), ...earlier])];
}

/**
 * Starts one daemon unless its pid file names it alive (then it is reused), and first stops any
 * other live copy carrying its marker, so no start ever leaves a daemon without a pid file.
 * Returns what it did, for the start-up line.
 */
async function ensureDaemon(
  files: ReturnType<typeof daemon>,
  role: string,
  spawnIt: () => Promise<{ pid: number; exited: () => string | undefined }>,
): Promise<{ note?: string; exited?: () => string | undefined }> {
  const live = recordedPid(files, files.marker);
  const strays = processesWithArgument(files.marker).filter((pid) => pid !== live);
  const stopped = await Promise.all(strays.map(async (pid) => `stray ${role} ${pid} ${await stopProcess(pid, 'SIGTERM', 10_000)}`));
  if (live) return stopped.length > 0 ? { note: stopped.join(', ') } : {};
  ensureDir(files.workDir);
  const child = await spawnIt();
  claimPidFile(files, files.marker, child.pid);
  return { note: [...stopped, `${role} ${child.pid}`].join(', '), exited: child.exited };
}

interface MasterState {
  status?: string;
  aliveworkers?: number;
}

async function masterState(uiPort: number, timeoutMs = 2000): Promise<MasterState | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${uiPort}/json/`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok ? ((await response.json()) as MasterState) : undefined;
  } catch {
    return undefined;
  }
}

function javaArgs(sparkHome: string, marker: string): string[] {
  return [DAEMON_HEAP, '-XX:+UseSerialGC', marker, '-cp', `${sparkHome}/jars/*`];
}

/** Where a local cluster keeps its daemons' folders, pid files and logs, and its master's web UI port. */
export interface ClusterPlace {
  dir: string;
  uiPort: number;
}

function servicePlace(config: Config): ClusterPlace {
  return { dir: join(config.dataDir, 'spark'), uiPort: SPARK_MASTER_UI_PORT };
}

/**
 * Starts the local cluster of `config` (its master URL) in `place`, or finds it up. Another
 * place than the service's is for a test's own cluster. Starts are serialised by a lock in the
 * cluster's folder: two at once would both find a daemon down and both start one.
 */
export function startCluster(config: Config, place: ClusterPlace = servicePlace(config)): Promise<string> {
  return withStartLock(place.dir, () => start(config, place));
}

/** Stops every daemon of the local cluster in `place`, with or without a pid file; workers first. */
export async function stopCluster(config: Config, place: ClusterPlace = servicePlace(config)): Promise<string> {
  // Workers first, so none spends its grace period reconnecting to a master that is gone.
  const stopped: string[] = [];
  for (const role of knownRoles(config, place.dir).reverse()) {
    const files = daemon(place.dir, role);
    for (const outcome of await stopAllWithArgument(files, files.marker, 10_000)) stopped.push(`${role} ${outcome}`);
  }
  return stopped.length === 0 ? 'not running' : stopped.join(', ');
}

async function start(config: Config, { dir, uiPort }: ClusterPlace): Promise<string> {
  const { sparkHome } = installedLakehouse(config);
  const { host, port } = masterAddress(config);
  const started = Date.now();
  const env = {
    ...process.env,
    // Workers launch executors from SPARK_HOME's jars; pyspark's package folder is a complete one.
    SPARK_HOME: sparkHome,
    // Spark's launcher reads the Scala version from a source build's folders unless told; pyspark has none.
    SPARK_SCALA_VERSION: '2.13',
    SPARK_LOCAL_IP: '127.0.0.1',
    SPARK_LOCAL_DIRS: join(dir, 'tmp'),
  };
  ensureDir(env.SPARK_LOCAL_DIRS);
  const notes: string[] = [];
  const master = daemon(dir, 'master');
  const masterUp = await ensureDaemon(master, 'master', async () => {
    await assertPortFree('spark master', port, 'SPARK_MASTER');
    await assertPortFree('spark master UI', uiPort, 'SPARK_MASTER');
    return spawnDetached(
      'java',
      [
        ...javaArgs(sparkHome, master.marker),
        'org.apache.spark.deploy.master.Master',
        '--host',
        host,
        '--port',
        String(port),
        '--webui-port',
        String(uiPort),
      ],
      master.logFile,
      { env, cwd: master.workDir },
    );
  });
  if (masterUp.note) notes.push(masterUp.note);
  await waitUntilReady(async () => (await masterState(uiPort))?.status === 'ALIVE', {
    service: 'spark master',
    timeoutMs: 60_000,
    logFile: master.logFile,
    exited: masterUp.exited,
    intervalMs: 300,
  });
  for (const [index, role] of roles(config).slice(1).entries()) {
    const worker = daemon(dir, role);
    const workerUp = await ensureDaemon(worker, role, () =>
      spawnDetached(
        'java',
        [
          ...javaArgs(sparkHome, worker.marker),
          'org.apache.spark.deploy.worker.Worker',
          '--host',
          '127.0.0.1',
          '--webui-port',
          String(uiPort + 1 + index),
          '--cores',
          String(config.SPARK_WORKER_CORES),
          '--memory',
          config.SPARK_WORKER_MEMORY,
          '--work-dir',
          worker.workDir,
          `spark://${host}:${port}`,
        ],
        worker.logFile,
        { env, cwd: worker.workDir },
      ),
    );
    if (workerUp.note) notes.push(workerUp.note);
  }
  await waitUntilReady(async () => ((await masterState(uiPort))?.aliveworkers ?? 0) >= config.SPARK_WORKERS, {
    service: `spark (${config.SPARK_WORKERS} workers registering)`,
    timeoutMs: 60_000,
    logFile: daemon(dir, 'worker-1').logFile,
    intervalMs: 300,
  });
  const what = notes.length === 0 ? 'ok, already up' : `started ${notes.join(', ')}`;
  return `${what}; ${config.SPARK_WORKERS} workers alive at spark://${host}:${port} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

export const sparkService: LocalService = {
  name: 'spark',
  externalVariable: 'SPARK_MASTER',
  async up(config) {
    if (config.managed.spark) return { message: await startCluster(config) };
    const { host, port } = masterAddress(config);
    await waitUntilReady(() => portAnswers(port, host), {
      service: 'spark (external, SPARK_MASTER)',
      timeoutMs: 15_000,
      logFile: '(external service: check SPARK_MASTER)',
    });
    return { message: 'external, reachable' };
  },
  async down(config) {
    if (!config.managed.spark) return 'external (SPARK_MASTER), left alone';
    return stopCluster(config);
  },
  async status(config): Promise<ServiceStatus> {
    const address = `${masterAddress(config).host}:${masterAddress(config).port}`;
    if (!config.managed.spark) {
      const { host, port } = masterAddress(config);
      return { service: 'spark', mode: 'external', pid: undefined, address, state: (await portAnswers(port, host)) ? 'up' : 'unreachable' };
    }
    const master = daemon(servicePlace(config).dir, 'master');
    const pid = recordedPid(master, master.marker);
    if (!pid) {
      return {
        service: 'spark',
        mode: 'managed',
        pid,
        address,
        state: (await portAnswers(masterAddress(config).port)) ? 'port taken' : 'down',
      };
    }
    const state = await masterState(SPARK_MASTER_UI_PORT);
    const alive = state?.aliveworkers ?? 0;
    return {
      service: 'spark',
      mode: 'managed',
      pid,
      address,
      state: state?.status === 'ALIVE' && alive >= config.SPARK_WORKERS ? 'up' : 'starting',
      detail: `${alive} of ${config.SPARK_WORKERS} workers alive`,
    };
  },
};
