/**
 * The scheduler supervises ingest:pg-cdc as it does ingest:cdc (SCHEDULER_INGESTORS=pg-cdc): the
 * process ingestorProcesses builds from the config, run by the scheduler's ProcessSupervisor
 * against a real shop Postgres, captures the shop; kill -9 of it is a crash the supervisor
 * restarts from, with nothing lost or landed twice; and `npm run status` reports a supervised
 * pg-cdc that is not running as a failure that points at the scheduler.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../lib/logger.ts';
import { ingestorProcesses } from '../../scheduler/ingestors.ts';
import { ProcessSupervisor } from '../../scheduler/supervisor.ts';
import { pgCdcRow } from '../../scripts/status/pg-cdc.ts';
import { testConfig } from '../helpers/config.ts';
import { createPgCdcEnv, derivedRows, duplicateChanges, sourceRows, type PgCdcTestEnv } from '../ingest/pg-cdc/helpers.ts';

let env: PgCdcTestEnv;
let supervisor: ProcessSupervisor | undefined;

beforeAll(async () => {
  env = await createPgCdcEnv('sched_pg_cdc', { withSchema: false });
  await env.shop.query('create table ledger (id bigint primary key, amount numeric(12,2) not null, note text)');
  await env.shop.query("insert into ledger select g, g * 1.25, 'first ' || g from generate_series(1, 200) as g");
});

afterAll(async () => {
  await supervisor?.stop();
  await env?.drop();
});

/** Until raw_shop, rebuilt as dbt staging does, holds exactly the source's rows. */
async function caughtUp(timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [source, derived] = await Promise.all([sourceRows(env.shop, 'ledger'), derivedRows(env.wh, 'ledger', ['id'])]);
    if (derived.size === source.size && [...source].every(([key, row]) => JSON.stringify(derived.get(key)) === JSON.stringify(row))) return;
    if (Date.now() > deadline)
      throw new Error(`raw_shop.ledger did not catch up: ${derived.size} rows derived, ${source.size} in the shop`);
    await sleep(250);
  }
}

describe('SCHEDULER_INGESTORS=pg-cdc', () => {
  it('runs ingest:pg-cdc under supervision, restarts it after kill -9 with nothing lost or twice, and status sees it', async () => {
    const config = testConfig({
      SHOP_PG_URL: env.shop.url,
      PG_CDC_SLOT: env.shop.slot,
      WAREHOUSE_URL: env.warehouse.adminUrl,
      INGEST_BATCH_MAX_MS: '100',
      SCHEDULER_INGESTORS: 'pg-cdc',
    });
    const processes = ingestorProcesses(config);
    expect(processes.map((p) => p.name)).toEqual(['ingest:pg-cdc']);
    const crashes: Array<{ code: number | null; signal: NodeJS.Signals | null }> = [];
    supervisor = new ProcessSupervisor(processes[0]!, {
      logger: createLogger('scheduler-test', 'silent'),
      minBackoffMs: 200,
      maxBackoffMs: 500,
      onCrash: ({ code, signal }) => crashes.push({ code, signal }),
    });
    supervisor.start();
    await caughtUp();
    const running = await pgCdcRow(config, new Date(), true);
    expect(running.level).toBe('ok');
    expect(running.text).toMatch(/^running, /);

    // kill -9 while the shop keeps changing: the supervisor starts it again from its position.
    const firstPid = supervisor.pid;
    process.kill(firstPid!, 'SIGKILL');
    await env.shop.query("update ledger set amount = amount + 1, note = 'second' where id % 3 = 0");
    await env.shop.query('delete from ledger where id % 7 = 0');
    await env.shop.query("insert into ledger select g, g * 2.5, 'third ' || g from generate_series(201, 300) as g");
    await caughtUp();
    expect(crashes).toEqual([{ code: null, signal: 'SIGKILL' }]);
    expect(supervisor.starts).toBe(2);
    expect(supervisor.pid).not.toBe(firstPid);
    expect(await duplicateChanges(env.wh)).toBe(0);

    // Stopped (SIGTERM drains and exits 0, no crash); a supervised ingestor not running fails status.
    await supervisor.stop();
    expect(crashes).toHaveLength(1);
    let stopped = await pgCdcRow(config, new Date(), true);
    for (let i = 0; i < 40 && stopped.text.startsWith('running'); i++) {
      await sleep(250);
      stopped = await pgCdcRow(config, new Date(), true);
    }
    expect(stopped.level).toBe('fail');
    expect(stopped.fix).toMatch(/scheduler should be running it/);
    expect((await pgCdcRow(config, new Date(), false)).level).not.toBe('fail');
  });
});
