/**
 * The clickstream landing job is exactly once across crashes: it is killed with SIGKILL (driver
 * and JVM at once) at random points, more events arrive while it is down, and once it has caught
 * up every Kafka offset is in Iceberg exactly once: valid events in raw.shop_events, the rest in
 * raw.dead_letters with their original bytes.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { OutgoingMessage } from '../../lib/kafka/producer.ts';
import { seededRandom } from '../../ingest/kafka/sample-events.ts';
import { createTestTopic, type TestTopic } from '../helpers/kafka.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { highWatermarks, produceEvents } from '../ingest/kafka/support.ts';
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
describe.skipIf(!lakehouseInstalled(testConfig()))('clickstream landing under kill -9', () => {
  let warehouse: TestWarehouse;
  let topic: TestTopic;
  let place: LakeTestPlace;

  beforeAll(async () => {
    [warehouse, topic] = await Promise.all([createTestWarehouse('lake_click'), createTestTopic('lake-click', PARTITIONS)]);
    place = lakeTestPlace('click');
    await ensureLakehouseServices(warehouse.config);
  });

  afterAll(async () => {
    place?.cleanup();
    if (warehouse) removeLocalTables(warehouse.config, place.warehousePrefix);
    await topic?.delete();
    await warehouse?.drop();
  });

  it('lands every offset exactly once after 5 kills at random points', { timeout: 900_000 }, async () => {
    const config = { ...warehouse.config, KAFKA_TOPIC: topic.topic };
    const settings = testJobSettings(config, 'clickstream', place, {});
    // Small micro-batches, so most kills land while a batch is being written or committed.
    const tuned = { ...settings, maxOffsetsPerTrigger: 1_500 } as typeof settings;
    const random = seededRandom(Number(process.env.LAKE_KILL_SEED ?? Date.now() % 100_000));
    const bad = (n: number): OutgoingMessage[] =>
      Array.from({ length: n }, (_, i) => ({ key: `bad-${i}`, value: i % 2 === 0 ? `{"not": "an event", "n": ${i}}` : `broken ${i}` }));

    let produced = await produceEvents(config, topic.topic, 2_500, 1, bad(40));
    let badCount = 40;
    const brokenCount = (n: number) => Math.floor(n / 2);
    let broken = brokenCount(40);
    const killedAfterMs: number[] = [];
    for (let round = 0; round < KILLS; round += 1) {
      const job = startJob(config, 'clickstream', tuned, join(place.checkpointRoot, 'clickstream.log'));
      // Start-up alone takes ~10-20 s here: some kills land before the first batch, most during batches.
      const wait = 8_000 + Math.floor(random() * 22_000);
      killedAfterMs.push(wait);
      await sleep(wait);
      await job.kill9();
      produced += await produceEvents(config, topic.topic, 500, round + 2, bad(5));
      badCount += 5;
      broken += brokenCount(5);
    }

    const ends = Object.fromEntries([...(await highWatermarks(config, topic.topic))].map(([p, high]) => [String(p), Number(high)]));
    const total = Object.values(ends).reduce((a, b) => a + b, 0);
    expect(total).toBe(produced);
    const finalJob = startJob(config, 'clickstream', tuned, join(place.checkpointRoot, 'clickstream.log'));
    try {
      await waitForCommitted(join(tuned.checkpointDir, 'stream'), topic.topic, ends, 600_000, finalJob);
    } finally {
      await finalJob.kill9();
    }

    const [events, dead, dupes, badBytes] = queryLake(config, tuned, [
      'select count(*) as n, count(distinct kafka_partition, kafka_offset) as distinct_offsets from lake.raw.shop_events',
      'select count(*) as n, count(distinct kafka_partition, kafka_offset) as distinct_offsets, min(error_code) as code from lake.raw.dead_letters',
      `select count(*) as n from (select kafka_partition, kafka_offset from lake.raw.shop_events
         union all select kafka_partition, kafka_offset from lake.raw.dead_letters) group by kafka_partition, kafka_offset having count(*) > 1`,
      "select count(*) as n from lake.raw.dead_letters where cast(payload as string) like 'broken %' and error_code = 'invalid_json'",
    ]);
    const summary = {
      killedAfterMs,
      produced,
      events: events![0],
      dead: dead![0],
      duplicated: dupes!.length,
      badBytesKept: badBytes![0]!.n,
    };
    expect(summary).toMatchObject({
      events: { n: produced - badCount, distinct_offsets: produced - badCount },
      dead: { n: badCount, distinct_offsets: badCount },
      duplicated: 0,
      badBytesKept: broken,
    });
  });
});
