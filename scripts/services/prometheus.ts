/**
 * A local Prometheus (Debian's `prometheus` package) scraping the ingestors' and the
 * scheduler's /metrics with ShopFlow's alert rules (docker/prometheus/rules.yml). Started by
 * `services:up` only when METRICS_ENABLED is true; its data, config, pid file and log live
 * under <data>/prometheus.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Config } from '../../lib/config/index.ts';
import { ShopflowError } from '../../lib/errors.ts';
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

export const RULES_FILE = join('docker', 'prometheus', 'rules.yml');

function layout(config: Config) {
  const paths = servicePaths(config.dataDir, 'prometheus');
  return { ...paths, config: join(paths.dir, 'prometheus.yml'), data: join(paths.dir, 'data') };
}

/** The scrape configuration for this checkout: the three /metrics ports on METRICS_HOST. */
export function prometheusConfig(config: Config): string {
  const host = config.METRICS_HOST === '0.0.0.0' ? '127.0.0.1' : config.METRICS_HOST;
  const job = (name: string, port: number) => `  - job_name: ${name}\n    static_configs:\n      - targets: ['${host}:${port}']\n`;
  return [
    '# Written by `npm run services:up` (scripts/services/prometheus.ts) from the configuration; edits are overwritten.',
    'global:',
    '  scrape_interval: 15s',
    '  evaluation_interval: 15s',
    'rule_files:',
    `  - ${join(config.rootDir, RULES_FILE)}`,
    'scrape_configs:',
    job('ingest-kafka', config.METRICS_PORT_KAFKA) +
      job('ingest-cdc', config.METRICS_PORT_CDC) +
      job('scheduler', config.METRICS_PORT_SCHEDULER),
  ].join('\n');
}

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

export const prometheusService: LocalService = {
  name: 'prometheus',
  externalVariable: 'METRICS_ENABLED',
  async up(config) {
    const files = layout(config);
    const port = config.PROMETHEUS_PORT;
    ensureDir(files.dir);
    writeFileSync(files.config, prometheusConfig(config));
    const running = ourRunningPid(files, files.config);
    if (running && (await ready(port))) return { message: `ok, already up (pid ${running}); http://127.0.0.1:${port}` };
    if (!running) await assertPortFree('prometheus', port, 'PROMETHEUS_PORT');
    const started = Date.now();
    let pid = running;
    let exited: (() => string | undefined) | undefined;
    if (!pid) {
      const spawned = await spawnDetached(
        'prometheus',
        [
          `--config.file=${files.config}`,
          `--storage.tsdb.path=${files.data}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=15d',
          '--web.enable-lifecycle',
        ],
        files.logFile,
        { cwd: config.rootDir },
      ).catch((error: unknown) => {
        throw new ShopflowError(
          'SHOPFLOW_PROMETHEUS_MISSING',
          "cannot start prometheus: install Debian's prometheus package (`npm run setup` does) or set METRICS_ENABLED=false",
          { cause: error },
        );
      });
      pid = spawned.pid;
      exited = spawned.exited;
      writePidFile(files, pid);
    }
    await waitUntilReady(() => ready(port), { service: 'prometheus', timeoutMs: 60_000, logFile: files.logFile, exited });
    return { message: `started (pid ${pid}) in ${((Date.now() - started) / 1000).toFixed(1)} s; http://127.0.0.1:${port}` };
  },
  async down(config) {
    const files = layout(config);
    const pid = ourRunningPid(files, files.config);
    if (!pid) {
      removePidFile(files);
      return 'not running';
    }
    const how = await stopProcess(pid, 'SIGTERM', 15_000);
    removePidFile(files);
    return `${how} (pid ${pid})`;
  },
  async status(config): Promise<ServiceStatus> {
    const files = layout(config);
    const address = `127.0.0.1:${config.PROMETHEUS_PORT}`;
    const pid = ourRunningPid(files, files.config);
    if (!pid)
      return {
        service: 'prometheus',
        mode: 'managed',
        pid,
        address,
        state: (await portAnswers(config.PROMETHEUS_PORT)) ? 'port taken' : 'down',
      };
    return { service: 'prometheus', mode: 'managed', pid, address, state: (await ready(config.PROMETHEUS_PORT)) ? 'up' : 'starting' };
  },
};
