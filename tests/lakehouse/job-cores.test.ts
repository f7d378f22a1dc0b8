/**
 * The three jobs the scheduler supervises (clickstream, changes, windows) run at once on the
 * local two-worker cluster: each takes LAKE_JOB_CORES cores (spark.cores.max) and the workers
 * offer SPARK_WORKER_CORES slots each, so the master grants every one of them executors instead
 * of leaving the later ones WAITING behind the first, which is what `npm run lake -- status` reads.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sparkApplications, type SparkApplication } from '../../lib/lakehouse/cluster.ts';
import { jobSettings, LAKE_JOB_NAMES } from '../../lib/lakehouse/jobs.ts';
import { lakeAppName } from '../../lib/lakehouse/settings.ts';
import { SPARK_MASTER_UI_PORT } from '../../scripts/services/spark.ts';
import { testConfig, uniqueSuffix } from '../helpers/config.ts';
import { createTestTopic, type TestTopic } from '../helpers/kafka.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import {
  ensureLakehouseServices,
  lakehouseInstalled,
  lakeTestPlace,
  removeLocalTables,
  startJob,
  type LakeTestPlace,
  type RunningJob,
} from './support.ts';

describe.skipIf(!lakehouseInstalled(testConfig()))('cores per lake job', () => {
  let warehouse: TestWarehouse;
  let events: TestTopic;
  let changes: TestTopic;
  let place: LakeTestPlace;
  const jobs: RunningJob[] = [];

  beforeAll(async () => {
    [warehouse, events, changes] = await Promise.all([
      createTestWarehouse('lake_cores'),
      createTestTopic('lake-cores-events', 2),
      createTestTopic('lake-cores-changes', 2),
    ]);
    place = lakeTestPlace('cores');
    await ensureLakehouseServices(warehouse.config);
  });

  afterAll(async () => {
    for (const job of jobs) await job.kill9();
    place?.cleanup();
    if (warehouse) removeLocalTables(warehouse.config, place.warehousePrefix);
    await events?.delete();
    await changes?.delete();
    await warehouse?.drop();
  });

  it('grants executors to clickstream, changes and windows at the same time', { timeout: 600_000 }, async () => {
    const config = { ...warehouse.config, KAFKA_TOPIC: events.topic, LAKE_CHANGES_TOPIC: changes.topic };
    expect(config.LAKE_JOB_CORES * LAKE_JOB_NAMES.length).toBeLessThanOrEqual(config.SPARK_WORKERS * config.SPARK_WORKER_CORES);
    // This run's applications, told apart from other tests' by name; cores as the scheduler sets them.
    const suffix = uniqueSuffix();
    const names = new Map(LAKE_JOB_NAMES.map((job) => [`${lakeAppName(job)}-${suffix}`, job]));
    for (const [appName, job] of names) {
      const settings = jobSettings(config, job, {
        checkpointDir: join(place.checkpointRoot, job),
        warehousePrefix: place.warehousePrefix,
        adjust: (s) => ({ ...s, appName }),
      });
      expect(settings.maxCores).toBe(config.LAKE_JOB_CORES);
      jobs.push(startJob(config, job, settings, join(place.checkpointRoot, `${job}.log`)));
    }

    let ours: SparkApplication[] = [];
    const deadline = Date.now() + 480_000;
    for (;;) {
      for (const job of jobs) job.assertAlive();
      ours = ((await sparkApplications(config.SPARK_MASTER, SPARK_MASTER_UI_PORT)) ?? []).filter((a) => names.has(a.name));
      if (ours.length === names.size && ours.every((a) => a.state === 'RUNNING' && a.cores > 0)) break;
      if (Date.now() > deadline) break;
      await sleep(2_000);
    }
    expect(
      ours.map((a) => ({ job: names.get(a.name), state: a.state, cores: a.cores })).sort((a, b) => a.job!.localeCompare(b.job!)),
    ).toEqual([...LAKE_JOB_NAMES].sort().map((job) => ({ job, state: 'RUNNING', cores: config.LAKE_JOB_CORES })));
  });
});
