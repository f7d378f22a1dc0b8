/**
 * The change topic carries everything the warehouse's change log does, exactly once: the initial
 * snapshot (the ingestor is killed with SIGKILL mid-snapshot, while the snapshot's Kafka
 * transaction is open), an XA transaction prepared before a restart of the publisher, and the
 * rows an ALTER TABLE and a RENAME TABLE make the warehouse write again. Read with
 * read_committed and folded in binlog order, the topic rebuilds every table equal to the source.
 * No Spark here: tests/lakehouse/changes-kill9.test.ts lands the topic in Iceberg.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { positionTopic, type ChangeMessage } from '../../../ingest/cdc/change-topic.ts';
import { deleteTopic } from '../../../lib/kafka/admin.ts';
import { hasFailed } from '../../helpers/failures.ts';
import { createTestTopic, type TestTopic } from '../../helpers/kafka.ts';
import { highWatermarks } from '../kafka/support.ts';
import { fold, readTopic, type Json } from './change-topic-read.ts';
import { changesRelation, createCdcEnv, sourceState, type CdcTestEnv } from './helpers.ts';
import { spawnCdc, type CdcChild } from './process.ts';
import { Workload, WORKLOAD_DDL } from './workload.ts';

const BULK_ROWS = 40_000;
const KEYS: Record<string, string[]> = { accounts: ['account_id'], ledger: ['entry_id'], bulk: ['bulk_id'], memos: ['note_id'] };

describe('the change topic', () => {
  let env: CdcTestEnv;
  let topic: TestTopic;
  let app: mysql.Connection;
  const children: CdcChild[] = [];

  beforeAll(async () => {
    [env, topic] = await Promise.all([createCdcEnv('change_topic'), createTestTopic('cdc-changes', 3)]);
    await env.source.query(WORKLOAD_DDL);
    await env.source.query(
      'CREATE TABLE bulk (bulk_id INT NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL, amount DECIMAL(10,2) NOT NULL);' +
        'CREATE TABLE notes (note_id INT NOT NULL PRIMARY KEY, body VARCHAR(40) NOT NULL);' +
        "INSERT INTO notes VALUES (1, 'kept'), (2, 'changed later'), (3, 'deleted later')",
    );
    for (let start = 0; start < BULK_ROWS; start += 5_000) {
      const values = Array.from(
        { length: 5_000 },
        (_, i) => `(${start + i + 1}, 'bulk ${start + i + 1}', ${((start + i) % 10_000) / 100})`,
      );
      await env.source.query(`INSERT INTO bulk VALUES ${values.join(',')}`);
    }
    app = await mysql.createConnection({ uri: env.shop.url, multipleStatements: true });
  });

  afterAll(async () => {
    // A failed assertion leaves its ingestor running: end it before its databases go.
    for (const child of children) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await app?.end().catch(() => undefined);
    if (topic && !hasFailed()) await deleteTopic(topic.brokers, positionTopic(topic.topic)).catch(() => undefined);
    await topic?.delete();
    await env?.drop();
  });

  it('holds the snapshot once after a kill -9 mid-snapshot, and the rows the warehouse writes again', { timeout: 300_000 }, async () => {
    const config = { ...env.config, INGEST_BATCH_ROWS: 300, INGEST_BATCH_MAX_MS: 50 };
    const cdcEnv = {
      LAKEHOUSE_ENABLED: 'true',
      LAKE_CHANGES_TOPIC: topic.topic,
      KAFKA_BROKERS: topic.brokers.join(','),
      KAFKA_PARTITIONS: '3',
    };
    const start = (args: string[] = []): CdcChild => {
      const child = spawnCdc(config, args, cdcEnv);
      children.push(child);
      return child;
    };
    const kill = async (cdc: CdcChild) => {
      cdc.child.kill('SIGKILL');
      expect((await cdc.exited).signal).toBe('SIGKILL');
    };
    const workload = new Workload(env.source, 20261206);
    await workload.insertAccounts(200);

    let cdc: CdcChild;
    try {
      // 1. Killed mid-snapshot: tables are committed in Postgres, the snapshot's Kafka transaction is open.
      cdc = start();
      for (;;) {
        const state = await env.wh.query<{ snapshot_state: string; snapshot_progress: { tablesDone?: string[] } }>(
          'select snapshot_state, snapshot_progress from ingest.cdc_positions',
        );
        const row = state.rows[0];
        if (row?.snapshot_state === 'running' && row.snapshot_progress.tablesDone?.includes('accounts')) break;
        if (row?.snapshot_state === 'done') throw new Error('the snapshot finished before it could be interrupted; raise BULK_ROWS');
        await sleep(5);
      }
      await kill(cdc);

      // 2. A new snapshot; changes while it runs; then an XA transaction prepared and landed as prepared.
      cdc = start();
      workload.start(100);
      await cdc.waitFor('following the binlog', 120_000);
      // XA ids are server-wide: one of this run's own.
      const xa = `lake-${randomUUID().slice(0, 8)}`;
      await app.query(`XA START '${xa}'; INSERT INTO notes VALUES (10, 'two-phase'); XA END '${xa}'; XA PREPARE '${xa}'`);
      const xid = `X'${Buffer.from(xa).toString('hex').toUpperCase()}',X'',1`;
      for (let waited = 0; ; waited += 50) {
        const held = await env.wh.query('select 1 from ingest.cdc_xa_prepared where xid = $1', [xid]);
        if (held.rowCount) break;
        if (waited > 60_000) throw new Error(`the prepared XA transaction ${xid} never landed`);
        await sleep(50);
      }
      await kill(cdc);

      // 3. A publisher that never saw the prepare: the commit, an ALTER (re-read) and a RENAME.
      cdc = start();
      await cdc.waitFor('following the binlog', 120_000);
      await app.query(`XA COMMIT '${xa}'`);
      await app.query("UPDATE notes SET body = 'changed' WHERE note_id = 2; DELETE FROM notes WHERE note_id = 3");
      await app.query("ALTER TABLE accounts ADD COLUMN tier VARCHAR(10) NOT NULL DEFAULT 'basic'");
      await app.query('RENAME TABLE notes TO memos');
      await app.query("INSERT INTO memos VALUES (11, 'after the rename')");
      await sleep(1_500);
    } finally {
      await workload.stop();
    }
    cdc.child.kill('SIGTERM');
    await cdc.exited;
    const last = start(['--until-idle', '1500']);
    expect((await last.exited).code, last.output.slice(-10).join('\n')).toBe(0);

    const messages = await readTopic(topic.brokers, topic.topic, await highWatermarks(config, topic.topic));
    const snapshotIds = new Set(messages.filter((m) => m.snapshot_id?.startsWith('snap-')).map((m) => m.snapshot_id));
    expect(snapshotIds.size).toBe(1);
    const snapshotRows = messages.filter((m) => m.operation === 'snapshot' && m.snapshot_id?.startsWith('snap-'));
    expect(new Set(snapshotRows.map((m) => m.key)).size).toBe(snapshotRows.length);
    expect(snapshotRows.filter((m) => m.table_name === 'bulk')).toHaveLength(BULK_ROWS);
    // No binlog change twice (snapshot and re-read rows share their coordinate and have no row index).
    const coordinates = messages.filter((m) => m.row_index !== null).map((m) => `${m.binlog_file}:${m.binlog_position}:${m.row_index}`);
    expect(new Set(coordinates).size).toBe(coordinates.length);
    expect(messages.some((m) => m.table_name === 'notes' && m.operation === 'insert' && m.primary_key === '{"note_id":10}')).toBe(true);
    expect(messages.filter((m) => m.table_name === 'accounts' && m.snapshot_id?.startsWith('alter:')).length).toBeGreaterThan(0);

    const lake = fold(messages);
    expect(lake.get('notes')?.size ?? 0).toBe(0);
    for (const [table, key] of Object.entries(KEYS)) {
      const source = await sourceState(env.source, table, key, 'jsonb');
      const rebuilt = lake.get(table) ?? new Map<string, Json>();
      expect(rebuilt.size, table).toBe(source.size);
      expect(rebuilt, table).toEqual(source);
    }
    expect(workload.operations).toBeGreaterThan(20);
  });

  // Continues from the state the test above leaves: its topic, warehouse and source.
  it("ends the rows a re-snapshot finds gone and a replaced source's tables", { timeout: 300_000 }, async () => {
    const config = { ...env.config, INGEST_BATCH_ROWS: 300, INGEST_BATCH_MAX_MS: 50 };
    const cdcEnv = {
      LAKEHOUSE_ENABLED: 'true',
      LAKE_CHANGES_TOPIC: topic.topic,
      KAFKA_BROKERS: topic.brokers.join(','),
      KAFKA_PARTITIONS: '3',
    };
    const runUntilIdle = async (args: string[]) => {
      const child = spawnCdc(config, [...args, '--until-idle', '1500'], cdcEnv);
      children.push(child);
      expect((await child.exited).code, child.output.slice(-10).join('\n')).toBe(0);
    };
    const rebuiltEqualsSource = async (messages: readonly ChangeMessage[]) => {
      const lake = fold(messages);
      for (const [table, key] of Object.entries(KEYS)) {
        const source = await sourceState(env.source, table, key, 'jsonb');
        expect(lake.get(table) ?? new Map<string, Json>(), table).toEqual(source);
      }
    };
    const snapshotsOf = (messages: readonly ChangeMessage[]) =>
      [...new Set(messages.filter((m) => m.snapshot_id?.startsWith('snap-')).map((m) => m.snapshot_id!))].sort();

    // 1. Rows deleted while nothing captures them, then a re-snapshot from the current binlog position.
    await app.query(
      "DELETE FROM bulk WHERE bulk_id <= 50; DELETE FROM memos WHERE note_id = 11; UPDATE memos SET body = 'later' WHERE note_id = 1",
    );
    const before = await readTopic(topic.brokers, topic.topic, await highWatermarks(config, topic.topic));
    await runUntilIdle(['--resnapshot']);
    let messages = await readTopic(topic.brokers, topic.topic, await highWatermarks(config, topic.topic));
    const [, second] = snapshotsOf(messages);
    expect(second).toBeDefined();
    const deletes = messages.filter((m) => m.snapshot_id === second && m.operation === 'delete');
    expect(deletes.map((m) => `${m.table_name}:${m.primary_key}`).sort()).toEqual(
      [...Array.from({ length: 50 }, (_, i) => `bulk:{"bulk_id":${i + 1}}`), 'memos:{"note_id":11}'].sort(),
    );
    // Each delete shares its row's Kafka key (so its partition and order) with the row's earlier changes.
    const earlierKeys = new Set(before.map((m) => m.key));
    for (const m of deletes) expect(earlierKeys.has(m.key), m.primary_key!).toBe(true);
    expect(deletes.every((m) => m.before_image !== null && m.after_image === null)).toBe(true);
    await rebuiltEqualsSource(messages);
    // The warehouse logged the same rows as deletes.
    const logged = await env.wh.query<{ n: string }>(
      `select count(*) as n from ${await changesRelation(env.wh)} where operation = 'delete' and snapshot_id = $1`,
      [second],
    );
    expect(Number(logged.rows[0]!.n)).toBe(deletes.length);

    // 2. A replaced source (its GTID domain differs from the one the warehouse followed): the
    // re-snapshot ends every table logged so far with a truncate before its own rows.
    await env.wh.query(`update ingest.cdc_positions set source_identity = jsonb_set(source_identity, '{gtidDomainId}', '97')`);
    await app.query("DELETE FROM bulk WHERE bulk_id <= 60; INSERT INTO memos VALUES (12, 'new world')");
    await runUntilIdle(['--resnapshot']);
    messages = await readTopic(topic.brokers, topic.topic, await highWatermarks(config, topic.topic));
    const third = snapshotsOf(messages).find((id) => id !== second && !snapshotsOf(before).includes(id));
    expect(third).toBeDefined();
    const truncated = messages.filter((m) => m.snapshot_id === third && m.operation === 'truncate').map((m) => m.table_name);
    const warehouseTruncates = await env.wh.query<{ table_name: string }>(
      `select table_name from raw.shop_changes where snapshot_id = $1 and operation = 'truncate' order by 1`,
      [third],
    );
    expect(truncated.sort()).toEqual(warehouseTruncates.rows.map((r) => r.table_name));
    expect(truncated).toEqual(expect.arrayContaining(Object.keys(KEYS)));
    expect(messages.some((m) => m.snapshot_id === third && m.operation === 'delete')).toBe(false);
    await rebuiltEqualsSource(messages);
  });
});
