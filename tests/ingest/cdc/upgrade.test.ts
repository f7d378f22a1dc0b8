/**
 * Upgrading a warehouse that holds jsonb history (raw.shop_changes) to the typed layout: the
 * migrations are already applied (0140 creates raw_shop), CDC_RAW_LAYOUT=typed and
 * `--resnapshot` fill the typed tables from a new consistent snapshot, and the binlog continues
 * from there. A failure here meant an upgrade that needs hand work, ids that collide with the
 * history, or a typed state that differs from the source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCdcEnv, derivedState, loggedChanges, runUntilIdle, sourceState, type CdcTestEnv } from './helpers.ts';

let env: CdcTestEnv;

beforeAll(async () => {
  env = await createCdcEnv('cdc_upgrade');
  await env.source
    .query(`CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(40) NOT NULL, balance DECIMAL(12,2) NOT NULL, opened DATETIME(3) NOT NULL);
    INSERT INTO accounts VALUES (1, 'ann', 10.00, '2020-01-01 00:00:00'), (2, 'bob', 20.50, '2021-02-03 04:05:06.789'), (3, 'cy', 0.00, '2022-12-31 23:59:59')`);
});

afterAll(async () => {
  await env?.drop();
});

describe('upgrade to the typed layout', () => {
  it('fills the typed tables with --resnapshot over jsonb history, ids continuing above it, and follows the binlog on', async () => {
    const jsonb = { ...env.config, CDC_RAW_LAYOUT: 'jsonb' as const };
    const typed = { ...env.config, CDC_RAW_LAYOUT: 'typed' as const };
    expect((await runUntilIdle(env, { config: jsonb })).end).toBe('idle');
    await env.source.query(
      "UPDATE accounts SET balance = 11.25 WHERE id = 1; DELETE FROM accounts WHERE id = 3; INSERT INTO accounts VALUES (4, 'dee', 4.00, NOW(3))",
    );
    expect((await runUntilIdle(env, { config: jsonb })).end).toBe('idle');
    const history = await env.wh.query<{ n: number; last: string }>(
      'select count(*)::int as n, max(change_id)::text as last from raw.shop_changes',
    );
    expect(history.rows[0]!.n).toBeGreaterThan(4);
    expect(await derivedState(env.wh, 'accounts', 'jsonb')).toEqual(await sourceState(env.source, 'accounts', ['id'], 'jsonb'));

    // A change in between: the typed snapshot must see it, taken after the switch.
    await env.source.query("UPDATE accounts SET owner = 'bob b.' WHERE id = 2");
    const upgrade = await runUntilIdle(env, { config: typed, resnapshot: true });
    expect(upgrade.snapshotRows).toBe(3);
    expect(await derivedState(env.wh, 'accounts', 'typed')).toEqual(await sourceState(env.source, 'accounts', ['id'], 'typed'));
    const typedChanges = await loggedChanges(env.wh, 'accounts', 'true', 'typed');
    expect(Math.min(...typedChanges.map((c) => c.change_id))).toBeGreaterThan(Number(history.rows[0]!.last));
    // The jsonb history stays as it was: the update before the switch is in the new snapshot.
    const kept = await env.wh.query<{ n: number }>('select count(*)::int as n from raw.shop_changes');
    expect(kept.rows[0]!.n).toBe(history.rows[0]!.n);

    await env.source.query(
      "INSERT INTO accounts VALUES (5, 'eve', 5.55, NOW(3)); DELETE FROM accounts WHERE id = 1; ALTER TABLE accounts ADD COLUMN tier VARCHAR(8) NULL",
    );
    expect((await runUntilIdle(env, { config: typed })).end).toBe('idle');
    expect(await derivedState(env.wh, 'accounts', 'typed')).toEqual(await sourceState(env.source, 'accounts', ['id'], 'typed'));
    expect((await env.wh.query<{ n: number }>('select count(*)::int as n from raw.shop_changes')).rows[0]!.n).toBe(history.rows[0]!.n + 1);
  });
});
