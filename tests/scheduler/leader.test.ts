// Regression guard: only one scheduler may be active. A second one must stand by (run no job)
// while the first holds the advisory lock, and take over when the first goes away.
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../lib/logger.ts';
import { CompressedClock } from '../../scheduler/clock.ts';
import { Scheduler } from '../../scheduler/scheduler.ts';
import { fakeOperations } from './support/fake-operations.ts';
import { createSchedulerWarehouse, type SchedulerTestWarehouse } from './support/warehouse.ts';

let warehouse: SchedulerTestWarehouse;
const logger = createLogger('scheduler-test', 'silent');

beforeAll(async () => {
  warehouse = await createSchedulerWarehouse('leader', { MICROBATCH_MINUTES: '1' });
});
afterAll(async () => {
  await warehouse?.drop();
});

async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function makeScheduler(instanceId: string, operations: ReturnType<typeof fakeOperations>) {
  return new Scheduler({
    config: warehouse.config,
    logger,
    operations,
    instanceId,
    jobs: ['microbatch'],
    // 60x: a simulated minute per real second, so the one-minute micro-batch runs every second.
    clock: new CompressedClock(new Date('2024-05-02T07:00:00Z'), 60),
    facts: { fraud: async () => [], lowStock: async () => [] },
    tickMs: 50,
    standbyPollMs: 100,
    heartbeatMs: 100,
    logDir: null,
  });
}

describe('leader election', () => {
  it('keeps a second scheduler on standby while the first holds the lock, then fails over', async () => {
    const opsA = fakeOperations({ pool: warehouse.admin });
    const opsB = fakeOperations({ pool: warehouse.admin });
    const a = makeScheduler('scheduler-a', opsA);
    const b = makeScheduler('scheduler-b', opsB);
    try {
      await a.start();
      expect(a.role).toBe('leader');
      await b.start();
      expect(b.role).toBe('standby');

      // Several micro-batch slots pass: only the leader runs them.
      await waitFor(() => opsA.dbtCalls.length >= 2, 10_000, 'the leader to run two micro-batches');
      expect(b.role).toBe('standby');
      expect(opsB.dbtCalls).toHaveLength(0);
      const roles = await warehouse.admin.query(`select instance_id, role from ops.scheduler_instances order by instance_id`);
      expect(roles.rows).toEqual([
        { instance_id: 'scheduler-a', role: 'leader' },
        { instance_id: 'scheduler-b', role: 'standby' },
      ]);

      await a.stop();
      await waitFor(() => b.role === 'leader', 5_000, 'the standby to take over');
      await waitFor(() => opsB.dbtCalls.length >= 1, 10_000, 'the new leader to run a micro-batch');
      const runs = await warehouse.admin.query(
        `select instance_id, count(*)::int as runs from ops.runs group by instance_id order by instance_id`,
      );
      expect(runs.rows.map((r) => r.instance_id)).toEqual(['scheduler-a', 'scheduler-b']);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('steps down when its lock connection dies, and another instance takes over', async () => {
    const opsA = fakeOperations({ pool: warehouse.admin });
    const opsB = fakeOperations({ pool: warehouse.admin });
    const a = makeScheduler('scheduler-c', opsA);
    const b = makeScheduler('scheduler-d', opsB);
    try {
      await a.start();
      await b.start();
      expect([a.role, b.role]).toEqual(['leader', 'standby']);
      const holder = async () =>
        (
          await warehouse.admin.query<{ pid: number }>(
            `select pid from pg_locks where locktype = 'advisory' and classid = 727100065 and objid = 0 and granted`,
          )
        ).rows.map((r) => r.pid);
      const [before] = await holder();
      expect(before).toBeDefined();
      // Terminate the leader's lock backend, as a network partition or a Postgres restart would.
      await warehouse.admin.query('select pg_terminate_backend($1)', [before]);
      let maxLeaders = 0;
      await waitFor(
        async () => {
          const leaders = () => [a.role, b.role].filter((r) => r === 'leader').length;
          maxLeaders = Math.max(maxLeaders, leaders());
          const now = await holder();
          // Roles can change during the query: count them again, so the round that ends the wait is
          // also the one recorded.
          maxLeaders = Math.max(maxLeaders, leaders());
          return now.length === 1 && now[0] !== before && leaders() === 1;
        },
        5_000,
        'a new lock holder and exactly one leader',
      );
      // Never two leaders at once, and the old lock session is gone for good.
      expect(maxLeaders).toBe(1);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  // Regression guard: schedulers killed with SIGKILL stayed role='leader' in ops.scheduler_instances.
  it('records instances that cannot be alive as stopped: other leaders, and standbys without a heartbeat', async () => {
    await warehouse.admin.query(
      `insert into ops.scheduler_instances (instance_id, hostname, pid, role, started_at, leader_since, heartbeat_at) values
         ('killed-leader', 'h', 1, 'leader', '2024-05-01T08:00:00Z', '2024-05-01T08:00:00Z', '2024-05-02T06:59:00Z'),
         ('killed-standby', 'h', 2, 'standby', '2024-05-01T08:00:00Z', null, '2024-05-01T09:00:00Z')`,
    );
    const e = makeScheduler('scheduler-e', fakeOperations({ pool: warehouse.admin }));
    const f = makeScheduler('scheduler-f', fakeOperations({ pool: warehouse.admin }));
    try {
      await e.start();
      await f.start();
      expect([e.role, f.role]).toEqual(['leader', 'standby']);
      await waitFor(
        async () =>
          (await warehouse.admin.query(`select 1 from ops.scheduler_instances where instance_id like 'killed-%' and role <> 'stopped'`))
            .rowCount === 0,
        5_000,
        'the dead instances to be recorded stopped',
      );
      await sleep(500); // a few standby heartbeats and sweeps: the live standby must stay a standby
      const roles = await warehouse.admin.query(
        `select instance_id, role from ops.scheduler_instances where instance_id in ('killed-leader', 'killed-standby', 'scheduler-e', 'scheduler-f') order by instance_id`,
      );
      expect(roles.rows).toEqual([
        { instance_id: 'killed-leader', role: 'stopped' },
        { instance_id: 'killed-standby', role: 'stopped' },
        { instance_id: 'scheduler-e', role: 'leader' },
        { instance_id: 'scheduler-f', role: 'standby' },
      ]);
      const leaders = await warehouse.admin.query(`select instance_id from ops.scheduler_instances where role = 'leader'`);
      expect(leaders.rows).toEqual([{ instance_id: 'scheduler-e' }]);
    } finally {
      await Promise.all([e.stop(), f.stop()]);
    }
  });
});
