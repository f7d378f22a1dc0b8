/**
 * The report reuses a gate result only for exactly the data it checked. A version that missed
 * a change would mail a report on data no gate has seen; one that changed without new data
 * would run the gate twice every morning (minutes at 10x).
 *
 * A migrated, empty warehouse: a recorded result carrying the current data version is reused
 * (no gate process runs: the returned summary is the recorded one, marked reusedFrom), and the
 * version moves when an event lands, when the Kafka ingestor's position moves, and when a
 * marts relation is rebuilt, but not between two reads of unchanged data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { dataVersion, gateResultFor } from '../../great_expectations/data-version.ts';
import { reuseOrRunGate } from '../../great_expectations/run.ts';
import type { GateSummary } from '../../great_expectations/summary.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { withPg } from '../dbt/helpers.ts';

describe('gate data version', () => {
  let warehouse: TestWarehouse;

  beforeAll(async () => {
    warehouse = await createTestWarehouse('gate_data_version');
  });

  afterAll(async () => {
    await warehouse?.drop();
  });

  it('is stable on unchanged data, moves with landed rows, positions and rebuilt marts, and a result for it is reused', async () => {
    const config = warehouse.config;
    const first = await dataVersion(config);
    expect(await dataVersion(config)).toBe(first);

    const recorded: GateSummary = {
      gate: 'raw',
      success: true,
      evaluated: 7,
      failed: 0,
      failures: [],
      summaryPath: '/nowhere/raw.json',
      dataDocsPath: null,
      checkedAt: '2026-01-02T08:01:00.000Z',
      dataVersion: first,
    };
    await withPg(warehouse.adminUrl, (client) =>
      client.query(
        `insert into ops.gate_results (gate, checked_at, success, evaluated, failed, summary) values ('raw', $1, true, 7, 0, $2)`,
        [recorded.checkedAt, JSON.stringify(recorded)],
      ),
    );
    // Same data: the recorded result, no gate run (a run would have a new checkedAt and summaryPath).
    const reused = await reuseOrRunGate(config, 'raw');
    expect(reused).toMatchObject({ summaryPath: '/nowhere/raw.json', evaluated: 7, reusedFrom: recorded.checkedAt });

    const versions = [first];
    await withPg(warehouse.adminUrl, async (client) => {
      await client.query(`insert into raw.dead_letters (source, error_code, reason) values ('kafka', 'invalid_json', 'test')`);
      versions.push(await dataVersion(config));
      await client.query(
        `insert into ingest.kafka_offsets (consumer_group, topic, kafka_partition, next_offset) values ('g', 'shop.events', 0, 10)`,
      );
      versions.push(await dataVersion(config));
      await client.query(`update ingest.kafka_offsets set next_offset = 11`);
      versions.push(await dataVersion(config));
      await client.query(`create table marts.some_mart as select 1 as n`);
      versions.push(await dataVersion(config));
      await client.query(`truncate marts.some_mart`); // a rebuild writes a new file
      versions.push(await dataVersion(config));
    });
    expect(new Set(versions).size).toBe(versions.length);
    expect(await gateResultFor(config, 'raw', versions.at(-1) as string)).toBeUndefined();
  });
});
