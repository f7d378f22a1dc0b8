/**
 * Writes the ingestor cannot land faithfully must stop it with the cause and the fix, on every
 * start, until the fix is applied; never be skipped. Before: statement-logged DML written without
 * a default database was skipped silently, and a session's MINIMAL row image landed updates with
 * a null key. Each case ends with the documented fix (ROW / FULL, then --resnapshot) and the
 * derived state equal to the source.
 */
import mysql from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';

import { createCdcEnv, derivedState, runUntilIdle, sourceState, type CdcTestEnv } from '../helpers.ts';

let env: CdcTestEnv | undefined;

afterEach(async () => {
  await env?.drop();
  env = undefined;
});

/** A client session with no default database, as a DBA console or a cross-database job opens. */
async function bareSession(url: string): Promise<mysql.Connection> {
  const u = new URL(url);
  const connection = await mysql.createConnection({
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    multipleStatements: true,
  });
  connection.on('error', () => undefined);
  return connection;
}

async function expectStop(code: string, fix: RegExp): Promise<void> {
  for (let start = 0; start < 2; start++) {
    const failure = await runUntilIdle(env!).then(
      () => null,
      (error: unknown) => error as Error & { code?: string },
    );
    expect(failure?.code, `start ${start + 1}`).toBe(code);
    expect(failure?.message).toMatch(fix);
    expect(failure?.message).toMatch(/--resnapshot/);
  }
}

async function fixAndResnapshot(table: string): Promise<void> {
  expect((await runUntilIdle(env!, { resnapshot: true })).end).toBe('idle');
  expect(await derivedState(env!.wh, table)).toEqual(await sourceState(env!.source, table, ['id']));
}

describe('CDC stops on writes it cannot land', () => {
  it('stops on statement-format DML, with or without a default database, until ROW and a re-snapshot', async () => {
    env = await createCdcEnv('cdc_stmt');
    const db = mysql.escapeId(env.shop.database);
    await env.source.query("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL); INSERT INTO t VALUES (1, 'row')");
    expect((await runUntilIdle(env)).end).toBe('idle');

    const bare = await bareSession(env.shop.url);
    try {
      await bare.query(
        `SET SESSION binlog_format = 'STATEMENT'; INSERT INTO ${db}.t VALUES (2, 'statement, no default db'); UPDATE ${db}.t SET v = 'changed' WHERE id = 1`,
      );
      await expectStop('CDC_STATEMENT_LOGGED_DML', /binlog_format=ROW/);
      await fixAndResnapshot('t');

      await env.source.query("SET SESSION binlog_format = 'STATEMENT'; DELETE FROM t WHERE id = 2; SET SESSION binlog_format = 'ROW'");
      await expectStop('CDC_STATEMENT_LOGGED_DML', /binlog_format=ROW/);
      await fixAndResnapshot('t');
      // Another database's statement-logged DML is none of ours: only the position moves.
      await bare.query(
        "SET SESSION binlog_format = 'STATEMENT'; CREATE DATABASE IF NOT EXISTS cdc_stmt_other; CREATE TABLE IF NOT EXISTS cdc_stmt_other.x (id INT); INSERT INTO cdc_stmt_other.x VALUES (1); DROP DATABASE cdc_stmt_other",
      );
      await env.source.query("INSERT INTO t VALUES (3, 'row again')");
      expect((await runUntilIdle(env)).end).toBe('idle');
      expect(await derivedState(env.wh, 't')).toEqual(await sourceState(env.source, 't', ['id']));
    } finally {
      await bare.end().catch(() => undefined);
    }
  });

  it('stops on a MINIMAL or NOBLOB row image set by one session, until FULL and a re-snapshot', async () => {
    env = await createCdcEnv('cdc_image');
    await env.source.query(
      "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, doc BLOB NULL); INSERT INTO t VALUES (1, 'a', 'blob one'), (2, 'b', NULL)",
    );
    expect((await runUntilIdle(env)).end).toBe('idle');
    await env.source.query(
      "SET SESSION binlog_row_image = 'MINIMAL'; UPDATE t SET v = 'minimal' WHERE id = 1; SET SESSION binlog_row_image = 'FULL'",
    );
    await expectStop('CDC_PARTIAL_ROW_IMAGE', /binlog_row_image=FULL/);
    await fixAndResnapshot('t');

    await env.source.query(
      "SET SESSION binlog_row_image = 'NOBLOB'; UPDATE t SET v = 'noblob' WHERE id = 1; SET SESSION binlog_row_image = 'FULL'",
    );
    await expectStop('CDC_PARTIAL_ROW_IMAGE', /binlog_row_image=FULL/);
    await fixAndResnapshot('t');
    expect((await derivedState(env.wh, 't')).get('{"id":1}')).toMatchObject({
      v: 'noblob',
      doc: Buffer.from('blob one').toString('base64'),
    });
  });
});
