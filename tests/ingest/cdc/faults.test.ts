/**
 * kill -9 at random points (one of them mid-snapshot) under a random insert/update/delete
 * workload: afterwards the state derived from raw.shop_changes equals the source row for row,
 * no change is landed twice, and no multi-row source transaction was ever half visible.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { changesRelation, createCdcEnv, derivedState, duplicateChanges, sourceState, type CdcTestEnv } from './helpers.ts';
import { spawnCdc } from './process.ts';
import { mulberry32, TRANSFER_ROWS, Workload, WORKLOAD_DDL } from './workload.ts';

const KILLS = 6;
const BULK_ROWS = 100_000;
const SEED = Number(process.env.CDC_FAULT_SEED ?? 20260131);

let env: CdcTestEnv;

/** Source transactions with a ledger row whose landed change count is not exactly TRANSFER_ROWS. */
async function halfVisibleTransfers(client: pg.Client): Promise<number> {
  const changes = await changesRelation(client);
  const result = await client.query<{ n: string }>(
    `select count(*) as n from (
       select gtid from ${changes}
        where gtid in (select gtid from ${changes} where table_name = 'ledger' and operation = 'insert' and snapshot_id is null)
        group by gtid having count(*) <> $1) broken`,
    [TRANSFER_ROWS],
  );
  return Number(result.rows[0]!.n);
}

beforeAll(async () => {
  env = await createCdcEnv('cdc_faults');
  await env.source.query(WORKLOAD_DDL);
  await env.source.query('CREATE TABLE bulk (bulk_id INT NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL, amount DECIMAL(10,2) NOT NULL)');
  for (let start = 0; start < BULK_ROWS; start += 5_000) {
    const values = Array.from(
      { length: 5_000 },
      (_, i) => `(${start + i + 1}, 'bulk row ${start + i + 1}', ${((start + i) % 10_000) / 100})`,
    );
    await env.source.query(`INSERT INTO bulk VALUES ${values.join(',')}`);
  }
});

afterAll(async () => {
  await env?.drop();
});

describe('CDC under kill -9', () => {
  it(`loses and duplicates nothing across ${KILLS} kills, one mid-snapshot`, { timeout: 240_000 }, async () => {
    const random = mulberry32(SEED);
    const workload = new Workload(env.source, SEED);
    await workload.insertAccounts(500);
    const config = { ...env.config, INGEST_BATCH_ROWS: 300, INGEST_BATCH_MAX_MS: 50 };

    // Watches, while everything runs, that a transfer is never landed partially.
    const watcher = new pg.Client({ connectionString: env.warehouse.adminUrl });
    watcher.on('error', () => undefined);
    await watcher.connect();
    let watching = true;
    let worstHalfVisible = 0;
    let checks = 0;
    const watching$ = (async () => {
      while (watching) {
        worstHalfVisible = Math.max(worstHalfVisible, await halfVisibleTransfers(watcher));
        checks++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    let killedMidSnapshot = false;
    try {
      workload.start();
      for (let round = 0; round < KILLS; round++) {
        const cdc = spawnCdc(config, []);
        if (round === 0) {
          // Mid-snapshot: after the first table is committed, while `bulk` is being copied.
          for (;;) {
            const state = await watcher.query<{ snapshot_state: string; snapshot_progress: { tablesDone?: string[] } }>(
              'select snapshot_state, snapshot_progress from ingest.cdc_positions',
            );
            const row = state.rows[0];
            if (row?.snapshot_state === 'running' && row.snapshot_progress.tablesDone?.includes('accounts')) break;
            if (row?.snapshot_state === 'done') throw new Error('the snapshot finished before it could be interrupted; raise BULK_ROWS');
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          killedMidSnapshot = true;
        } else {
          await cdc.waitFor('following the binlog');
          await new Promise((resolve) => setTimeout(resolve, 200 + random() * 1_500));
        }
        cdc.child.kill('SIGKILL');
        expect((await cdc.exited).signal).toBe('SIGKILL');
      }
      await workload.stop();

      const last = spawnCdc(config, ['--until-idle', '1000']);
      const exit = await last.exited;
      expect(exit.code, last.output.slice(-10).join('\n')).toBe(0);
    } finally {
      await workload.stop();
      watching = false;
      await watching$;
      await watcher.end();
    }

    expect(killedMidSnapshot).toBe(true);
    expect(workload.operations).toBeGreaterThan(50);
    expect(checks).toBeGreaterThan(10);
    expect(worstHalfVisible).toBe(0);
    expect(await halfVisibleTransfers(env.wh)).toBe(0);
    expect(await duplicateChanges(env.wh)).toBe(0);
    const snapshots = await env.wh.query(
      `select count(distinct snapshot_id)::int as n from ${await changesRelation(env.wh)} where snapshot_id is not null`,
    );
    expect(snapshots.rows[0].n).toBe(1);
    for (const [table, key] of [
      ['accounts', 'account_id'],
      ['ledger', 'entry_id'],
      ['bulk', 'bulk_id'],
    ] as const) {
      const derived = await derivedState(env.wh, table);
      const source = await sourceState(env.source, table, [key]);
      expect(derived.size, table).toBe(source.size);
      expect(derived, table).toEqual(source);
    }
  });
});
