/**
 * The Spark daemons never outlive services:down. A start finds a cluster that is up and reuses
 * it, two starts at once (two test forks, two services:up) start one copy of each daemon, and a
 * daemon its pid file no longer names is stopped before a new one is started, so every daemon a
 * start leaves running is one the stop finds. Checked on a real cluster (master, 2 workers) and
 * a real SQL endpoint of the test's own (own data dir and ports, beside the suite's cluster);
 * after the stop, no process whose command line names the test's folder may be left.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Config } from '../../lib/config/index.ts';
import { claimPidFile, portAnswers, processArgv } from '../../scripts/services/process.ts';
import { startCluster, stopCluster, type ClusterPlace } from '../../scripts/services/spark.ts';
import { startSqlService, stopSqlService, type SqlEndpointPlace } from '../../scripts/services/spark-sql.ts';
import { hasFailed } from '../helpers/failures.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { lakehouseInstalled } from './support.ts';

/** Live processes with an argument that mentions `folder`. */
function processesUnder(folder: string): { pid: number; argv: string[] }[] {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = processArgv(Number(entry));
    if (argv?.some((arg) => arg.includes(folder))) found.push({ pid: Number(entry), argv });
  }
  return found;
}

/** The daemon of each role: the processes carrying its marker (must be exactly one each). */
function daemonsByRole(dataDir: string): Record<string, number[]> {
  const byRole: Record<string, number[]> = {};
  for (const { pid, argv } of processesUnder(dataDir)) {
    const marker = argv.find((arg) => arg.startsWith('-Dshopflow.spark.dir='));
    if (!marker) continue;
    const role = marker.slice(marker.lastIndexOf('/') + 1);
    (byRole[role] ??= []).push(pid);
  }
  return byRole;
}

function pidFile(dataDir: string, role: string): number {
  return Number.parseInt(readFileSync(join(dataDir, 'spark', `${role}.pid`), 'utf8'), 10);
}

/** A free port, and for the master's UI one whose two successors (the workers' UIs) are free too. */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const taken = await Promise.all(Array.from({ length: count }, (_, i) => portAnswers(base + i)));
    if (!taken.some(Boolean)) return base;
  }
}

// Skipped only where the lakehouse is not installed (LAKEHOUSE_ENABLED unset); CI installs it and
// lakehouseInstalled throws there if it is missing.
describe.skipIf(!lakehouseInstalled(testConfig()))('spark daemons: idempotent starts, no orphans', () => {
  let warehouse: TestWarehouse;
  let dataDir: string;
  let config: Config;
  let cluster: ClusterPlace;
  let place: SqlEndpointPlace;

  beforeAll(async () => {
    warehouse = await createTestWarehouse('lake_daemons');
    dataDir = mkdtempSync(join(tmpdir(), 'shopflow-daemons-'));
    const uiPort = await freePorts(3);
    const masterPort = await freePorts(1);
    const sqlPort = await freePorts(1);
    cluster = { dir: join(dataDir, 'spark'), uiPort };
    config = {
      ...warehouse.config,
      SPARK_MASTER: `spark://127.0.0.1:${masterPort}`,
      SPARK_WORKERS: 2,
      SPARK_WORKER_CORES: 1,
      SPARK_SQL_PORT: sqlPort,
      SPARK_SQL_CORES: 1,
    };
    place = { dir: join(dataDir, 'spark-sql'), port: sqlPort, masterUiPort: uiPort };
  });

  afterAll(async () => {
    // Stopped here too, so a failed assertion leaves no daemon behind either.
    if (config) {
      await stopSqlService(config, place);
      await stopCluster(config, cluster);
    }
    if (dataDir && !hasFailed()) rmSync(dataDir, { recursive: true, force: true });
    await warehouse?.drop();
  });

  it('starts each daemon once, reuses it, replaces one without a pid file, and the stop leaves nothing', { timeout: 900_000 }, async () => {
    // Two starts at once: one copy of each daemon, each in its pid file.
    const messages = await Promise.all([startCluster(config, cluster), startCluster(config, cluster)]);
    expect(messages.filter((m) => m.startsWith('ok, already up'))).toHaveLength(1);
    const first = daemonsByRole(dataDir);
    expect(Object.keys(first).sort()).toEqual(['master', 'worker-1', 'worker-2']);
    for (const [role, pids] of Object.entries(first)) expect(pids, role).toEqual([pidFile(dataDir, role)]);

    // Started again: the same processes.
    expect(await startCluster(config, cluster)).toMatch(/^ok, already up/);
    expect(daemonsByRole(dataDir)).toEqual(first);

    // A pid file can never be overwritten while the process it names lives.
    const files = { dir: join(dataDir, 'spark'), pidFile: join(dataDir, 'spark', 'worker-2.pid'), logFile: '' };
    expect(() => claimPidFile(files, `-Dshopflow.spark.dir=${join(dataDir, 'spark', 'worker-2')}`, process.pid)).toThrow(/still running/);

    // A live worker its pid file does not name (lost, or naming a process long gone): the next
    // start stops it and starts a new one, which the pid file names.
    const [stray] = first['worker-2']!;
    writeFileSync(join(dataDir, 'spark', 'worker-2.pid'), '999999999\n');
    expect(await startCluster(config, cluster)).toContain(`stray worker-2 ${stray}`);
    const second = daemonsByRole(dataDir);
    expect(second['worker-2']).toHaveLength(1);
    expect(second['worker-2']![0]).not.toBe(stray);
    expect(second['worker-2']).toEqual([pidFile(dataDir, 'worker-2')]);
    expect(second.master).toEqual(first.master);

    // The SQL endpoint: two starts at once, one server; then reused.
    const sql = await Promise.all([startSqlService(config, place), startSqlService(config, place)]);
    expect(sql.filter((m) => m.startsWith('ok, already up'))).toHaveLength(1);
    const sqlPid = Number.parseInt(readFileSync(join(place.dir, 'spark-sql.pid'), 'utf8'), 10);
    expect(processesUnder(join(place.dir, 'spark-sql.conf')).map((p) => p.pid)).toEqual([sqlPid]);
    expect(await startSqlService(config, place)).toMatch(/^ok, already up/);

    await stopSqlService(config, place);
    await stopCluster(config, cluster);
    expect(processesUnder(dataDir)).toEqual([]);
  });
});
