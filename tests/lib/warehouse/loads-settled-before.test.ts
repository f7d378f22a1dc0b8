/**
 * ops.loads_settled_before() (migration 0295) is where the scoped tests and the raw gate's
 * window start: every row stamped earlier must be committed. A row is stamped with its
 * transaction's start (`_loaded_at default now()`), so a transaction an ingestor holds open must
 * hold the point back to its start, seen from the scheduler's and the gate's own roles; and when
 * the function's owner cannot read other sessions, it must fall back to the old fixed slack.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { roleUrl } from '../../../lib/config/index.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';

let warehouse: TestWarehouse;
const opened: pg.Client[] = [];

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-test-settled' });
  client.on('error', () => undefined);
  await client.connect();
  opened.push(client);
  return client;
}

async function settled(client: pg.Client): Promise<{ settled: Date; now: Date }> {
  const { rows } = await client.query<{ settled: Date; now: Date }>('select ops.loads_settled_before() as settled, now() as now');
  return rows[0]!;
}

beforeAll(async () => {
  warehouse = await createTestWarehouse('settled');
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.end().catch(() => undefined)));
  await warehouse?.drop();
});

describe('ops.loads_settled_before', () => {
  it('is now() with no transaction open, and an open ingest transaction holds it back to its start', async () => {
    const scheduler = await connect(roleUrl(warehouse.config, 'ops_writer'));
    const gate = await connect(roleUrl(warehouse.config, 'transformer'));
    const ingestor = await connect(roleUrl(warehouse.config, 'ingest_writer'));

    const idle = await settled(scheduler);
    expect(idle.settled).toEqual(idle.now);

    await ingestor.query('begin');
    // What the rows this transaction writes are stamped with.
    const stamped = (await ingestor.query<{ now: Date }>('select now() as now')).rows[0]!.now;
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const client of [scheduler, gate]) {
      const held = await settled(client);
      expect(held.settled).toEqual(stamped);
      expect(held.now.getTime()).toBeGreaterThan(stamped.getTime());
    }

    await ingestor.query('commit');
    const after = await settled(scheduler);
    expect(after.settled).toEqual(after.now);
  });

  it("falls back to now() less 5 minutes when its owner cannot read other sessions' transactions", async () => {
    const admin = await connect(warehouse.adminUrl);
    await admin.query('begin');
    try {
      await admin.query('create role shopflow_settled_test_owner nologin');
      await admin.query('grant usage on schema ops to shopflow_settled_test_owner');
      await admin.query('alter function ops.loads_settled_before() owner to shopflow_settled_test_owner');
      const { rows } = await admin.query<{ lag: string }>(
        `select extract(epoch from now() - ops.loads_settled_before())::int::text as lag`,
      );
      expect(rows[0]!.lag).toBe('300');
    } finally {
      await admin.query('rollback');
    }
  });
});
