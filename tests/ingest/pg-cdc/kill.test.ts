/**
 * kill -9 of the Postgres CDC ingestor, four times (once during the snapshot, three times
 * mid-stream), while a workload of multi-row transactions (inserts, updates, deletes) runs on the
 * source. Afterwards: no change landed twice, no source transaction half visible (every landed
 * transaction has all its rows), and the state rebuilt from raw_shop equals the source row for row.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPgCdcEnv, derivedRows, duplicateChanges, runUntilIdle, sourceRows, spawnPgCdc, type PgCdcTestEnv } from './helpers.ts';

let env: PgCdcTestEnv;

const TABLE_DDL = `create table ledger (id bigint primary key, account int not null, amount numeric(12,2) not null, note text, at timestamp(3) not null);
  alter table ledger replica identity full`;

/** Random transactions of 1-20 statements until `stop`; returns how many committed. */
async function workload(url: string, stop: AbortSignal, seed: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let nextId = 1;
  let committed = 0;
  try {
    while (!stop.aborted) {
      await client.query('begin');
      const statements = 1 + Math.floor(random() * 20);
      for (let i = 0; i < statements; i++) {
        const r = random();
        if (r < 0.6 || nextId < 10) {
          await client.query("insert into ledger values ($1, $2, $3, $4, now() at time zone 'utc')", [
            nextId++,
            Math.floor(random() * 50),
            (random() * 1000).toFixed(2),
            random() < 0.2 ? null : `n${nextId}\t${random()}`,
          ]);
        } else if (r < 0.9) {
          await client.query('update ledger set amount = amount + 1, note = $2 where id = $1', [
            1 + Math.floor(random() * (nextId - 1)),
            `u${r}`,
          ]);
        } else {
          await client.query('delete from ledger where id = $1', [1 + Math.floor(random() * (nextId - 1))]);
        }
      }
      await client.query('commit');
      committed++;
      await sleep(2);
    }
  } finally {
    await client.end();
  }
  return committed;
}

beforeAll(async () => {
  env = await createPgCdcEnv('pg_cdc_kill', { withSchema: false });
  await env.shop.query(TABLE_DDL);
  // Enough rows that the first kill lands inside the snapshot.
  await env.shop.query(
    "insert into ledger select g, g % 50, (g % 1000) / 7.0, 'seed', '2024-01-01' from generate_series(1000001, 1060000) g",
  );
}, 60_000);

afterAll(async () => {
  await env?.drop();
});

describe('kill -9', () => {
  it('loses nothing and lands nothing twice', async () => {
    const stop = new AbortController();
    const load = workload(env.shop.url, stop.signal, 7);
    const kills: string[] = [];
    // Round 0 dies inside the snapshot; the others while the stream lands batches.
    for (const [round, after, waitMs] of [
      [0, 'snapshot: slot created', 300],
      [1, 'streaming from the replication slot', 1500],
      [2, 'streaming from the replication slot', 800],
      [3, 'streaming from the replication slot', 2500],
    ] as const) {
      const child = spawnPgCdc(env.config);
      await child.waitFor(after);
      await sleep(waitMs + Math.floor(Math.random() * 300));
      child.child.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal, child.output.slice(-5).join('\n')).toBe('SIGKILL');
      const landed = await env.wh
        .query<{ n: string }>('select count(*) as n from raw_shop.ledger where snapshot_id is null')
        .catch(() => ({ rows: [{ n: '0' }] }));
      kills.push(`round ${round}: ${child.output.length} log lines; ${landed.rows[0]!.n} streamed changes landed so far`);
    }
    stop.abort();
    const committed = await load;
    expect(committed).toBeGreaterThan(20);
    const summary = await runUntilIdle(env, 1000);
    expect(summary.end).toBe('idle');

    expect(await duplicateChanges(env.wh), kills.join('\n')).toBe(0);
    const [source, derived] = await Promise.all([sourceRows(env.shop, 'ledger'), derivedRows(env.wh, 'ledger', ['id'])]);
    expect(source.size).toBeGreaterThan(60_000);
    expect(derived.size).toBe(source.size);
    expect(derived, kills.join('\n')).toEqual(source);

    // Every landed source transaction is whole: its row indexes run 0..n-1 without a gap.
    const gaps = await env.wh.query<{ n: string }>(
      `select count(*) as n from (
         select binlog_position from raw_shop.ledger where snapshot_id is null
          group by binlog_position having max(row_index) + 1 <> count(*)
       ) g`,
    );
    expect(Number(gaps.rows[0]!.n)).toBe(0);
  }, 240_000);
});
