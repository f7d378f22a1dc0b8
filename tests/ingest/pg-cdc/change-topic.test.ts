/**
 * ingest:pg-cdc publishes to the lakehouse's change topic through the MariaDB path's publisher
 * (ingest/cdc/change-topic.ts): a small Postgres shop is snapshotted, then changed by multi-row
 * transactions (inserts, updates, deletes, a truncate). Read with read_committed, the topic holds
 * exactly the records of the warehouse's change log (raw_shop.<table> and the truncates in
 * raw.shop_changes), each once, in the same positions, and folds to the shop's tables.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { positionTopic, type ChangeMessage } from '../../../ingest/cdc/change-topic.ts';
import { PgCdcIngestor } from '../../../ingest/pg-cdc/ingestor.ts';
import { deleteTopic } from '../../../lib/kafka/admin.ts';
import { createLogger } from '../../../lib/logger.ts';
import { hasFailed } from '../../helpers/failures.ts';
import { createTestTopic, type TestTopic } from '../../helpers/kafka.ts';
import { fold, readTopic } from '../cdc/change-topic-read.ts';
import { keyText } from '../cdc/helpers.ts';
import { highWatermarks } from '../kafka/support.ts';
import { createPgCdcEnv, duplicateChanges, sourceRows, spawnPgCdc, type PgCdcTestEnv } from './helpers.ts';

let env: PgCdcTestEnv;
let topic: TestTopic;

beforeAll(async () => {
  [env, topic] = await Promise.all([createPgCdcEnv('pg_change_topic', { withSchema: false }), createTestTopic('pg-cdc-changes', 3)]);
  await env.shop.query(
    `create table ledger (id bigint primary key, amount numeric(12,2) not null, note text, booked_at timestamptz not null);
     create table tags (tag text primary key, uses int not null)`,
  );
  await env.shop.query(
    "insert into ledger select g, g * 1.25, case when g % 5 = 0 then null else 'n' || g end, '2011-01-01'::timestamptz + g * interval '1 hour' from generate_series(1, 300) as g",
  );
  await env.shop.query("insert into tags values ('red', 1), ('blue', 2), ('green', 3)");
});

afterAll(async () => {
  if (topic && !hasFailed()) await deleteTopic(topic.brokers, positionTopic(topic.topic)).catch(() => undefined);
  await topic?.delete();
  await env?.drop();
});

const run = () =>
  new PgCdcIngestor({
    config: env.config,
    logger: createLogger('ingest-pg-cdc-test', process.env.LOG_LEVEL ?? 'warn'),
    untilIdleMs: 500,
    retry: { minDelayMs: 100, maxDelayMs: 1_000, maxUnknownFailures: 2 },
    changeTopic: { brokers: topic.brokers, topic: topic.topic, partitions: 3 },
  }).run();

/** A record's identity in the change log: table, operation, position, row index and key. */
const identity = (r: { table: string; operation: string; file: string | null; position: string; row: string; key: unknown }) =>
  `${r.table}|${r.operation}|${r.file}|${r.position}|${r.row}|${r.key === null ? '' : keyText(r.key as Record<string, unknown>)}`;

async function changeLog(): Promise<string[]> {
  const rows: string[] = [];
  for (const table of ['ledger', 'tags']) {
    const result = await env.wh.query<{
      operation: string;
      binlog_file: string;
      binlog_position: string;
      row_index: string | null;
      _key: unknown;
    }>(`select operation, binlog_file, binlog_position::text, row_index::text, _key::jsonb as _key from raw_shop.${table}`);
    for (const r of result.rows)
      rows.push(
        identity({ table, operation: r.operation, file: r.binlog_file, position: r.binlog_position, row: r.row_index ?? '', key: r._key }),
      );
  }
  const logged = await env.wh.query<{
    table_name: string;
    operation: string;
    binlog_file: string;
    binlog_position: string;
    row_index: string | null;
  }>(`select table_name, operation, binlog_file, binlog_position::text, row_index::text from raw.shop_changes`);
  for (const r of logged.rows)
    rows.push(
      identity({
        table: r.table_name,
        operation: r.operation,
        file: r.binlog_file,
        position: r.binlog_position,
        row: r.row_index ?? '',
        key: null,
      }),
    );
  return rows.sort();
}

const topicLog = (messages: readonly ChangeMessage[]) =>
  messages
    .map((m) =>
      identity({
        table: m.table_name,
        operation: m.operation,
        file: m.binlog_file,
        position: String(m.binlog_position),
        row: m.row_index === null ? '' : String(m.row_index),
        key: m.primary_key === null ? null : JSON.parse(m.primary_key),
      }),
    )
    .sort();

describe('ingest:pg-cdc and the change topic', () => {
  it('publishes the snapshot and every streamed change once, equal to the raw change log', async () => {
    await run();
    await env.shop.query(`begin;
      update ledger set amount = amount + 10, note = 'changed' where id % 4 = 0;
      delete from ledger where id % 9 = 0;
      insert into ledger select g, g * 0.5, 'late ' || g, '2012-06-01'::timestamptz + g * interval '1 minute' from generate_series(301, 340) as g;
      commit`);
    await env.shop.query("begin; truncate tags; insert into tags values ('violet', 7); commit");
    await env.shop.query("update tags set uses = uses + 1 where tag = 'violet'");
    await run();
    // Nothing new: a third run publishes nothing again.
    await run();

    const messages = await readTopic(topic.brokers, topic.topic, await highWatermarks(env.config, topic.topic));
    const raw = await changeLog();
    // 303 snapshot rows; 75 updates, 33 deletes, 40 inserts; a truncate, an insert and an update of tags.
    expect(raw).toHaveLength(303 + 75 + 33 + 40 + 3);
    expect(topicLog(messages)).toEqual(raw);
    expect(new Set(messages.filter((m) => m.operation === 'snapshot').map((m) => m.snapshot_id)).size).toBe(1);

    const lake = fold(messages);
    // The source's rows as text; the topic's keys as JSON (bigint ids are numbers there).
    const ledgerKeys = [...(await sourceRows(env.shop, 'ledger')).values()].map((row) => keyText({ id: Number(row['id']) }));
    const tagKeys = [...(await sourceRows(env.shop, 'tags')).values()].map((row) => keyText({ tag: row['tag'] }));
    expect([...lake.get('ledger')!.keys()].sort()).toEqual(ledgerKeys.sort());
    expect([...lake.get('tags')!.keys()].sort()).toEqual(tagKeys.sort());
    expect(lake.get('tags')!.get(keyText({ tag: 'violet' }))).toMatchObject({ tag: 'violet', uses: 8 });
  });

  // Continues from the state the test above leaves: its shop, warehouse and topic.
  it('after kill -9 mid-stream, twice, still holds every change once', async () => {
    const stop = new AbortController();
    const client = new pg.Client({ connectionString: env.shop.url });
    client.on('error', () => undefined);
    await client.connect();
    let committed = 0;
    const load = (async () => {
      for (let id = 10_000; !stop.signal.aborted; id += 3) {
        await client.query(
          `begin; insert into ledger values ($1, 1, 'k', now()), ($1 + 1, 2, 'k', now()), ($1 + 2, 3, 'k', now());
           update ledger set amount = amount + 1 where id = $1 - 3; commit`.replace(/\$1/g, String(id)),
        );
        committed++;
        await sleep(5);
      }
    })();
    const lakeEnv = {
      LAKEHOUSE_ENABLED: 'true',
      LAKE_CHANGES_TOPIC: topic.topic,
      KAFKA_BROKERS: topic.brokers.join(','),
      KAFKA_PARTITIONS: '3',
    };
    try {
      for (const waitMs of [700, 1500]) {
        const child = spawnPgCdc({ ...env.config, INGEST_BATCH_MAX_MS: 50 }, [], lakeEnv);
        await child.waitFor('streaming from the replication slot');
        await sleep(waitMs);
        child.child.kill('SIGKILL');
        expect((await child.exited).signal, child.output.slice(-5).join('\n')).toBe('SIGKILL');
      }
    } finally {
      stop.abort();
      await load;
      await client.end();
    }
    expect(committed).toBeGreaterThan(20);
    await run();

    expect(await duplicateChanges(env.wh)).toBe(0);
    const messages = await readTopic(topic.brokers, topic.topic, await highWatermarks(env.config, topic.topic));
    expect(topicLog(messages)).toEqual(await changeLog());
    const ledgerKeys = [...(await sourceRows(env.shop, 'ledger')).values()].map((row) => keyText({ id: Number(row['id']) }));
    expect([...fold(messages).get('ledger')!.keys()].sort()).toEqual(ledgerKeys.sort());
  });
});
