/**
 * The CDC path into the lake is exactly once and ordered per key across crashes: a seeded OLTP
 * workload runs on the source while the CDC ingestor (publishing to the change topic) and the
 * changes landing job are each killed with SIGKILL at random points and started again. Once both
 * have caught up, raw.shop_changes in Iceberg holds every binlog change once, each row's changes
 * sit in one partition in binlog order, and the state they add up to is the source's.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { positionTopic } from '../../ingest/cdc/change-topic.ts';
import { seededRandom } from '../../ingest/kafka/sample-events.ts';
import { deleteTopic } from '../../lib/kafka/admin.ts';
import { testConfig } from '../helpers/config.ts';
import { hasFailed } from '../helpers/failures.ts';
import { createTestTopic, type TestTopic } from '../helpers/kafka.ts';
import { createCdcEnv, type CdcTestEnv } from '../ingest/cdc/helpers.ts';
import { spawnCdc, type CdcChild } from '../ingest/cdc/process.ts';
import { Workload, WORKLOAD_DDL } from '../ingest/cdc/workload.ts';
import { highWatermarks } from '../ingest/kafka/support.ts';
import {
  ensureLakehouseServices,
  lakehouseInstalled,
  lakeTestPlace,
  queryLake,
  removeLocalTables,
  startJob,
  testJobSettings,
  waitForCommitted,
  type LakeTestPlace,
} from './support.ts';

const KILLS = 5;
const PARTITIONS = 3;

// Skipped only where the lakehouse is not installed (LAKEHOUSE_ENABLED unset); CI installs it and
// lakehouseInstalled throws there if it is missing.
describe.skipIf(!lakehouseInstalled(testConfig()))('CDC landing under kill -9', () => {
  let env: CdcTestEnv;
  let topic: TestTopic;
  let place: LakeTestPlace;

  beforeAll(async () => {
    [env, topic] = await Promise.all([createCdcEnv('lake_changes'), createTestTopic('lake-changes', PARTITIONS)]);
    await env.source.query(WORKLOAD_DDL);
    place = lakeTestPlace('changes');
    await ensureLakehouseServices(env.warehouse.config);
  });

  afterAll(async () => {
    place?.cleanup();
    if (env) removeLocalTables(env.warehouse.config, place.warehousePrefix);
    if (topic && !hasFailed()) await deleteTopic(topic.brokers, positionTopic(topic.topic)).catch(() => undefined);
    await topic?.delete();
    await env?.drop();
  });

  it('lands every change once, in order per key, after 5 kills of the job and 2 of the ingestor', { timeout: 1_800_000 }, async () => {
    const config = { ...env.config, KAFKA_TOPIC: topic.topic, LAKE_CHANGES_TOPIC: topic.topic };
    const cdcEnv = {
      LAKEHOUSE_ENABLED: 'true',
      LAKE_CHANGES_TOPIC: topic.topic,
      KAFKA_BROKERS: config.KAFKA_BROKERS.join(','),
      KAFKA_PARTITIONS: String(PARTITIONS),
    };
    const startCdc = async (args: string[] = []): Promise<CdcChild> => {
      const child = spawnCdc(config, args, cdcEnv);
      await child.waitFor('publishing changes to the change topic', 120_000);
      return child;
    };
    const settings = testJobSettings(config, 'changes', place, {});
    // Small micro-batches, so most kills land while a batch is being written or committed.
    const tuned = { ...settings, maxOffsetsPerTrigger: 1_000 } as typeof settings;
    const random = seededRandom(Number(process.env.LAKE_KILL_SEED ?? Date.now() % 100_000));

    let cdc = await startCdc();
    const workload = new Workload(env.source, 24);
    await workload.insertAccounts(40);
    workload.start(150); // a few thousand changes: a small world keeps CI short
    const killedAfterMs: number[] = [];
    try {
      for (let round = 0; round < KILLS; round += 1) {
        const job = startJob(config, 'changes', tuned, join(place.checkpointRoot, 'changes.log'));
        const wait = 8_000 + Math.floor(random() * 17_000);
        killedAfterMs.push(wait);
        await sleep(wait);
        await job.kill9();
        if (round === 1 || round === 3) {
          // The ingestor dies mid-stream too: between its Kafka and its Postgres commit at times.
          cdc.child.kill('SIGKILL');
          await cdc.exited;
          cdc = await startCdc();
        }
      }
    } finally {
      await workload.stop();
    }
    cdc.child.kill('SIGTERM');
    await cdc.exited;
    // Catch up with the binlog, then exit.
    const last = spawnCdc(config, ['--until-idle', '1500'], cdcEnv);
    expect((await last.exited).code).toBe(0);

    const ends = Object.fromEntries([...(await highWatermarks(config, topic.topic))].map(([p, high]) => [String(p), Number(high)]));
    const finalJob = startJob(config, 'changes', tuned, join(place.checkpointRoot, 'changes.log'));
    try {
      await waitForCommitted(join(tuned.checkpointDir, 'stream'), topic.topic, ends, 600_000, finalJob);
    } finally {
      await finalJob.kill9();
    }

    const [counts, duplicated, misordered, accounts, ledger] = queryLake(
      config,
      tuned,
      [
        'select count(*) as n, count(distinct change_key) as keys from lake.raw.shop_changes',
        // A binlog change is one coordinate and row index; snapshot rows share their snapshot's
        // coordinate and have no row index, so one of them is one key of that snapshot.
        `select binlog_file, binlog_position, row_index from lake.raw.shop_changes
        group by binlog_file, binlog_position, row_index, case when row_index is null then change_key end
        having count(*) > 1 limit 5`,
        `select change_key from (
         select change_key, kafka_partition,
                min(kafka_partition) over (partition by change_key) as first_partition,
                named_struct('f', binlog_file, 'p', binlog_position, 'r', row_index) as at,
                lag(named_struct('f', binlog_file, 'p', binlog_position, 'r', row_index)) over (partition by change_key order by kafka_offset) as before
           from lake.raw.shop_changes) where kafka_partition <> first_partition or before > at limit 5`,
        `select cast(get_json_object(after_image, '$.account_id') as bigint) as id,
              cast(cast(get_json_object(after_image, '$.balance') as decimal(12, 2)) as string) as balance
         from (select after_image, operation, row_number() over (partition by change_key order by kafka_offset desc) as newest
                 from lake.raw.shop_changes where table_name = 'accounts')
        where newest = 1 and operation <> 'delete' order by id`,
        "select count(*) as n from lake.raw.shop_changes where table_name = 'ledger' and operation = 'insert'",
        // Five Spark SQL jobs in one local session: slow on a loaded machine.
      ],
      900_000,
    );
    const [sourceAccounts] = await env.source.query(
      'select account_id as id, cast(balance as char) as balance from accounts order by account_id',
    );
    const [sourceLedger] = await env.source.query('select count(*) as n from ledger');
    const summary = {
      killedAfterMs,
      operations: workload.operations,
      changes: counts![0],
      duplicated,
      misordered,
      accounts: accounts!.length,
      ledger: ledger![0]!.n,
    };
    expect(summary).toMatchObject({
      duplicated: [],
      misordered: [],
      accounts: (sourceAccounts as unknown[]).length,
      ledger: Number((sourceLedger as { n: number }[])[0]!.n),
    });
    expect(workload.operations).toBeGreaterThan(50);
    expect(accounts).toEqual((sourceAccounts as { id: number; balance: string }[]).map((r) => ({ id: Number(r.id), balance: r.balance })));
  });
});
