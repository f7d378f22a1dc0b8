// Regression guard: kill -9 of the scheduler left its dbt build running, and the restarted
// scheduler (or the standby taking over) started a second build on the same warehouse and target
// directory at once. Now the build runs under a watchdog that ends it when the scheduler dies, and
// holds the build lock for as long as it lives: the next scheduler is refused until the orphan is
// gone, then builds, and the day's report still reaches the sink exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { endpointEnv, testEndpoints } from '../helpers/services.ts';
import { createSchedulerWarehouse, type SchedulerTestWarehouse } from './support/warehouse.ts';

let warehouse: SchedulerTestWarehouse;
const children: ChildProcess[] = [];
const FIXTURE = join(import.meta.dirname, 'fixtures', 'scheduler-process.ts');
const lockFile = join(mkdtempSync(join(tmpdir(), 'shopflow-build-lock-')), 'build.lock');

beforeAll(async () => {
  warehouse = await createSchedulerWarehouse('children_die');
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await warehouse?.drop();
});

/** The line the build command itself prints (the fixture forwards child output as {"line": ...}). */
const BUILD_STARTED = /^\{"line":"build-pid \d+"\}$/;

interface Started {
  child: ChildProcess;
  lines: string[];
}

function startScheduler(
  instanceId: string,
  clockStart: string,
  reportTo: string,
  command: string,
  extra: Record<string, unknown> = {},
): Started {
  const env = {
    ...endpointEnv(testEndpoints()),
    WAREHOUSE_URL: warehouse.adminUrl,
    SCHEDULER_INGESTORS: 'none',
    LOG_LEVEL: 'warn',
    REPORT_TO: reportTo,
    REPORT_CRON: '0 8 * * *',
    SCHEDULER_TZ: 'UTC',
    SCHEDULER_STEP_ATTEMPTS: '20',
  };
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      FIXTURE,
      JSON.stringify({
        env,
        instanceId,
        clockStart,
        dbtMs: 0,
        child: { command: ['/bin/sh', '-c', command], lockFile, graceMs: 12_000 },
        ...extra,
      }),
    ],
    { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.on('error', () => undefined);
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  child.stderr!.on('data', () => undefined);
  children.push(child);
  return { child, lines };
}

async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function mailsTo(recipient: string): Promise<number> {
  const dir = testEndpoints().mailDir;
  const files = (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((f) => String(f).endsWith('.eml'));
  let count = 0;
  for (const file of files) if ((await readFile(join(dir, String(file)), 'utf8').catch(() => '')).includes(recipient)) count++;
  return count;
}

describe('kill -9 of the scheduler during its build', () => {
  it('ends the build, refuses a second build while the orphan holds the lock, and sends one report', async () => {
    const recipient = `managers+${warehouse.database}@shopflow.local`;
    // The build ignores SIGTERM, so it outlives the scheduler by the watchdog's whole grace period.
    const first = startScheduler('first', '2024-05-02T07:59:58Z', recipient, 'echo build-pid $$; trap "" TERM; sleep 120');
    const pidLine = await waitFor(() => first.lines.find((l) => BUILD_STARTED.test(l)), 30_000, 'the first build to start');
    const buildPid = Number(/build-pid (\d+)/.exec(pidLine)![1]);
    expect(alive(buildPid)).toBe(true);

    // A second scheduler stands by (started now, so its start-up time does not race the orphan's grace period)
    // and takes over the moment the first dies.
    const second = startScheduler('second', '2024-05-02T08:01:00Z', recipient, 'echo build-pid $$; sleep 0.2', { retryMaxDelayMs: 2_000 });
    await waitFor(
      async () =>
        (await warehouse.admin.query(`select 1 from ops.scheduler_instances where instance_id = 'second' and role = 'standby'`)).rowCount,
      30_000,
      'the second scheduler to stand by',
    );

    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    await waitFor(() => !alive(buildPid), 25_000, 'the orphaned build to be ended by its watchdog');
    const orphanLivedMs = Date.now() - killedAt;
    await waitFor(
      async () =>
        (await warehouse.admin.query(`select 1 from ops.reports_sent where business_date = '2024-05-01' and status = 'sent'`)).rowCount,
      60_000,
      'the report to be sent',
    );
    await waitFor(async () => (await mailsTo(recipient)) >= 1, 10_000, 'the mail to reach the sink');
    await sleep(1_000);
    const reports = await mailsTo(recipient);
    process.stdout.write(
      `children-die: orphan ended ${orphanLivedMs} ms after kill -9 (grace 12000 ms); reports for 2024-05-01 in the sink: ${reports}\n`,
    );
    expect(reports).toBe(1);
    expect(orphanLivedMs).toBeLessThan(16_000);

    // The restarted scheduler was refused while the orphan held the lock, and built only after.
    const steps = await warehouse.admin.query(
      `select s.attempt, s.status, s.error, s.started_at from ops.run_steps s join ops.runs r using (run_id)
        where r.instance_id = 'second' and s.step = 'dbt_build' order by s.attempt`,
    );
    expect(steps.rows.length).toBeGreaterThan(1);
    expect(steps.rows[0]).toMatchObject({ status: 'failed' });
    expect(steps.rows[0].error).toContain('another process holds');
    expect(steps.rows.at(-1)).toMatchObject({ status: 'succeeded' });
    // One build ran in the second scheduler: the refused attempts never started the command.
    expect(second.lines.filter((l) => BUILD_STARTED.test(l))).toHaveLength(1);
    const runs = await warehouse.admin.query(`select instance_id, status from ops.runs where job = 'report' order by started_at`);
    expect(runs.rows).toEqual([
      { instance_id: 'first', status: 'failed' },
      { instance_id: 'second', status: 'succeeded' },
    ]);
  });
});
