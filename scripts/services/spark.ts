/**
 * A local Apache Spark standalone cluster for the lakehouse jobs: one master and SPARK_WORKERS
 * workers (SPARK_WORKER_CORES task slots each) on loopback, run with the jars pyspark ships, so the jobs always talk
 * to a real cluster and nothing assumes local mode. Only with LAKEHOUSE_ENABLED; with
 * SPARK_MASTER set the cluster is external and only its master's reachability is checked.
 */
import { join } from 'node:path';

import type { Config } from '../../lib/config/index.ts';
import { installedLakehouse } from '../../lib/lakehouse/paths.ts';
import {
  assertPortFree,
  ensureDir,
  ourRunningPid,
  portAnswers,
  removePidFile,
  spawnDetached,
  stopProcess,
  waitUntilReady,
  writePidFile,
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

/** One pid file and log per daemon; the work dir in the command line marks the process as ours. */
function daemon(config: Config, role: string): ServicePaths & { workDir: string } {
  const dir = join(config.dataDir, 'spark');
  return { dir, workDir: join(dir, role), pidFile: join(dir, `${role}.pid`), logFile: join(dir, `${role}.log`) };
}

function roles(config: Config): string[] {
  return ['master', ...Array.from({ length: config.SPARK_WORKERS }, (_, i) => `worker-${i + 1}`)];
}

interface MasterState {
  status?: string;
  aliveworkers?: number;
}

async function masterState(timeoutMs = 2000): Promise<MasterState | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${SPARK_MASTER_UI_PORT}/json/`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok ? ((await response.json()) as MasterState) : undefined;
  } catch {
    return undefined;
  }
}

function javaArgs(sparkHome: string, marker: string): string[] {
  return [DAEMON_HEAP, '-XX:+UseSerialGC', `-Dshopflow.spark.dir=${marker}`, '-cp', `${sparkHome}/jars/*`];
}

async function start(config: Config): Promise<string> {
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
    SPARK_LOCAL_DIRS: join(config.dataDir, 'spark', 'tmp'),
  };
  ensureDir(env.SPARK_LOCAL_DIRS);
  const spawned: string[] = [];
  let exited: (() => string | undefined) | undefined;
  const master = daemon(config, 'master');
  if (!ourRunningPid(master, master.workDir)) {
    await assertPortFree('spark master', port, 'SPARK_MASTER');
    await assertPortFree('spark master UI', SPARK_MASTER_UI_PORT, 'SPARK_MASTER');
    ensureDir(master.workDir);
    const child = await spawnDetached(
      'java',
      [
        ...javaArgs(sparkHome, master.workDir),
        'org.apache.spark.deploy.master.Master',
        '--host',
        host,
        '--port',
        String(port),
        '--webui-port',
        String(SPARK_MASTER_UI_PORT),
      ],
      master.logFile,
      { env, cwd: master.workDir },
    );
    writePidFile(master, child.pid);
    exited = child.exited;
    spawned.push(`master ${child.pid}`);
  }
  await waitUntilReady(async () => (await masterState())?.status === 'ALIVE', {
    service: 'spark master',
    timeoutMs: 60_000,
    logFile: master.logFile,
    exited,
    intervalMs: 300,
  });
  for (const [index, role] of roles(config).slice(1).entries()) {
    const worker = daemon(config, role);
    if (ourRunningPid(worker, worker.workDir)) continue;
    ensureDir(worker.workDir);
    const child = await spawnDetached(
      'java',
      [
        ...javaArgs(sparkHome, worker.workDir),
        'org.apache.spark.deploy.worker.Worker',
        '--host',
        '127.0.0.1',
        '--webui-port',
        String(SPARK_MASTER_UI_PORT + 1 + index),
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
    );
    writePidFile(worker, child.pid);
    spawned.push(`${role} ${child.pid}`);
  }
  await waitUntilReady(async () => ((await masterState())?.aliveworkers ?? 0) >= config.SPARK_WORKERS, {
    service: `spark (${config.SPARK_WORKERS} workers registering)`,
    timeoutMs: 60_000,
    logFile: daemon(config, 'worker-1').logFile,
    intervalMs: 300,
  });
  const what = spawned.length === 0 ? 'ok, already up' : `started ${spawned.join(', ')}`;
  return `${what}; ${config.SPARK_WORKERS} workers alive at spark://${host}:${port} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

export const sparkService: LocalService = {
  name: 'spark',
  externalVariable: 'SPARK_MASTER',
  async up(config) {
    if (config.managed.spark) return { message: await start(config) };
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
    // Workers first, so none spends its grace period reconnecting to a master that is gone.
    const stopped: string[] = [];
    for (const role of roles(config).reverse()) {
      const files = daemon(config, role);
      const pid = ourRunningPid(files, files.workDir);
      removePidFile(files);
      if (pid) stopped.push(`${role} ${await stopProcess(pid, 'SIGTERM', 10_000)}`);
    }
    return stopped.length === 0 ? 'not running' : stopped.join(', ');
  },
  async status(config): Promise<ServiceStatus> {
    const address = `${masterAddress(config).host}:${masterAddress(config).port}`;
    if (!config.managed.spark) {
      const { host, port } = masterAddress(config);
      return { service: 'spark', mode: 'external', pid: undefined, address, state: (await portAnswers(port, host)) ? 'up' : 'unreachable' };
    }
    const master = daemon(config, 'master');
    const pid = ourRunningPid(master, master.workDir);
    if (!pid) {
      return {
        service: 'spark',
        mode: 'managed',
        pid,
        address,
        state: (await portAnswers(masterAddress(config).port)) ? 'port taken' : 'down',
      };
    }
    const state = await masterState();
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
