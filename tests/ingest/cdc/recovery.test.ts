/**
 * Recovery paths: connections to MariaDB and Postgres dropped under load (what a server restart
 * looks like from the ingestor) and binlog rotation; SIGTERM draining; a purged binlog stopping
 * with an error that names the gap and the fix; one ingestor per source.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../../lib/logger.ts';
import { CdcIngestor } from '../../../ingest/cdc/ingestor.ts';
import { changesRelation, createCdcEnv, derivedState, duplicateChanges, runUntilIdle, sourceState, type CdcTestEnv } from './helpers.ts';
import { spawnCdc } from './process.ts';
import { Workload, WORKLOAD_DDL } from './workload.ts';

let env: CdcTestEnv;
let workloadDb: mysql.Connection;

async function expectSameState(): Promise<void> {
  expect(await duplicateChanges(env.wh)).toBe(0);
  for (const [table, key] of [
    ['accounts', 'account_id'],
    ['ledger', 'entry_id'],
  ] as const) {
    expect(await derivedState(env.wh, table), table).toEqual(await sourceState(env.source, table, [key]));
  }
}

beforeAll(async () => {
  env = await createCdcEnv('cdc_recovery');
  await env.source.query(WORKLOAD_DDL);
  workloadDb = await mysql.createConnection({ uri: env.shop.url, multipleStatements: true });
  workloadDb.on('error', () => undefined);
  const workload = new Workload(workloadDb, 7);
  await workload.insertAccounts(300);
  expect((await runUntilIdle(env)).snapshotRows).toBe(300);
});

afterAll(async () => {
  await workloadDb?.end().catch(() => undefined);
  await env?.drop();
});

describe('CDC recovery', () => {
  it('resumes after its MariaDB and Postgres connections are cut and across binlog rotations', { timeout: 120_000 }, async () => {
    const workload = new Workload(workloadDb, 11);
    const [[{ id: workloadConnection }]] = (await workloadDb.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    const [[{ id: testConnection }]] = (await env.source.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    const ingestor = new CdcIngestor({
      config: env.config,
      serverId: env.serverId,
      logger: createLogger('ingest-cdc-test', process.env.LOG_LEVEL ?? 'silent'),
      untilIdleMs: 1_500,
      retry: { minDelayMs: 50, maxDelayMs: 500, maxUnknownFailures: 3 },
    });
    workload.start(1);
    const running = ingestor.run();
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    let mariaKills = 0;
    let pgKills = 0;
    try {
      for (let round = 0; round < 6; round++) {
        await pause(700);
        if (round % 3 === 0) {
          // The ingestor's connections are the ones on this database other than the test's own.
          const [rows] = await env.source.query('SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID NOT IN (?, ?)', [
            env.shop.database,
            workloadConnection,
            testConnection,
          ]);
          for (const { ID } of rows as { ID: number }[]) {
            await env.source.query(`KILL CONNECTION ${Number(ID)}`).catch(() => undefined);
            mariaKills++;
          }
        } else if (round % 3 === 1) {
          const result = await env.wh.query(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name like 'shopflow-ingest-cdc%'",
            [env.warehouse.database],
          );
          pgKills += result.rowCount ?? 0;
        } else {
          await env.source.query('FLUSH BINARY LOGS');
        }
      }
    } finally {
      await workload.stop();
    }
    const summary = await running;
    expect(summary.end).toBe('idle');
    expect(mariaKills).toBeGreaterThan(0);
    expect(pgKills).toBeGreaterThan(0);
    expect(summary.retries).toBeGreaterThanOrEqual(2);
    expect(summary.changes).toBeGreaterThan(100);
    await expectSameState();
  });

  it('drains on SIGTERM: lands what it has, exits 0, and a restart carries on', { timeout: 90_000 }, async () => {
    const workload = new Workload(workloadDb, 13);
    workload.start(1);
    const cdc = spawnCdc(env.config, []);
    try {
      await cdc.waitFor('following the binlog');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      cdc.child.kill('SIGTERM');
      const exit = await cdc.exited;
      expect(exit.code, cdc.output.slice(-5).join('\n')).toBe(0);
      expect(cdc.output.some((line) => line.includes('signal received: draining'))).toBe(true);
      expect(cdc.output.some((line) => line.includes('"end":"stopped"'))).toBe(true);
    } finally {
      await workload.stop();
    }
    expect((await runUntilIdle(env)).end).toBe('idle');
    await expectSameState();
  });

  it('refuses to run a second ingestor for the same source', async () => {
    const first = new CdcIngestor({ config: env.config, serverId: env.serverId, logger: createLogger('ingest-cdc-test', 'silent') });
    const running = first.run();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await expect(runUntilIdle(env, { serverId: env.serverId + 1, lockWaitMs: 500 })).rejects.toMatchObject({
        code: 'CDC_ALREADY_RUNNING',
      });
    } finally {
      first.stop();
      await running;
    }
  });

  it('stops with an error naming the gap when the stored binlog is purged, and --resnapshot recovers', { timeout: 90_000 }, async () => {
    const [logs] = await env.source.query('SHOW BINARY LOGS');
    const oldest = (logs as { Log_name: string }[])[0]!.Log_name;
    // A file name older than anything on the server stands in for a purged binlog: the test
    // server is shared, so really purging would take binlogs from everyone else.
    const gone = oldest.replace(/\d+$/, (digits) => '0'.repeat(digits.length));
    await env.wh.query('update ingest.cdc_positions set binlog_file = $1, binlog_position = 4', [gone]);
    // Changes "in the gap": a delete the log must not miss after the re-snapshot.
    const [[victim]] = (await env.source.query('SELECT account_id FROM accounts ORDER BY account_id LIMIT 1')) as unknown as [
      [{ account_id: number }],
    ];
    await env.source.query('DELETE FROM accounts WHERE account_id = ?', [victim.account_id]);
    const before = await env.wh.query<{ n: string }>(`select count(*) as n from ${await changesRelation(env.wh)}`);

    const cdc = spawnCdc(env.config, ['--until-idle', '500']);
    const exit = await cdc.exited;
    const text = cdc.output.join('\n');
    expect(exit.code).toBe(1);
    expect(text).toContain('CDC_BINLOG_PURGED');
    expect(text).toContain(`${gone}:4`);
    expect(text).toContain(`oldest available binlog: ${oldest}`);
    expect(text).toContain('npm run ingest:cdc -- --resnapshot');
    const after = await env.wh.query<{ n: string }>(`select count(*) as n from ${await changesRelation(env.wh)}`);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);

    const summary = await runUntilIdle(env, { resnapshot: true });
    expect(summary.snapshotRows).toBeGreaterThan(0);
    const synthetic = await env.wh.query(
      `select primary_key from ${await changesRelation(env.wh)} where operation = 'delete' and snapshot_id is not null and table_name = 'accounts'`,
    );
    expect(synthetic.rows).toEqual([{ primary_key: { account_id: victim.account_id } }]);
    await expectSameState();
  });
});
