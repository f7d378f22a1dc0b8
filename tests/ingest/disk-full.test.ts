/**
 * A disk filling up must stop the ingestors cleanly, with one message naming the fix, while
 * there is still room. Before, nothing looked: at 10x the disk filled during ingestion, the
 * Kafka ingestor died on a failed write and the broker with it.
 *
 * The test mounts a tmpfs of its own (removed afterwards), has each ingestor CLI watch it
 * (DISK_WATCH_DIRS), fills it past DISK_STOP_FREE_MB while the ingestor runs, and expects exit
 * 73 with the one sentence, the batch in flight committed (exactly once), and a restart on the
 * still-full disk refused before anything is read.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT_DIR, type Config } from '../../lib/config/index.ts';
import { EXIT } from '../../lib/cli/exit-codes.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestTopic, type TestTopic } from '../helpers/kafka.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { createCdcEnv, type CdcTestEnv } from './cdc/helpers.ts';
import { spawnCdc } from './cdc/process.ts';
import { cliEnv, expectExactlyOnce, landed, produceEvents } from './kafka/support.ts';

const QUOTA_MB = 48;
const STOP_FREE_MB = 16;
const MB = 1024 * 1024;

// Mounting a tmpfs needs root (the test services run in a network namespace as root); without
// it the quota cannot be made and the test is skipped, saying so.
const canMount = process.getuid?.() === 0;

let quota: string;
let warehouse: TestWarehouse;
let topic: TestTopic | undefined;
let cdc: CdcTestEnv | undefined;
const children = new Set<ChildProcess>();

function diskEnv(): Record<string, string> {
  return { DISK_WATCH_DIRS: quota, DISK_STOP_FREE_MB: String(STOP_FREE_MB), DISK_WARN_FREE_MB: '24', DISK_CHECK_MS: '200' };
}

/** Leaves `freeMb` free on the quota. */
function fillTo(freeMb: number): void {
  const stats = statfsSync(quota);
  const free = Number(stats.bavail) * Number(stats.bsize);
  writeFileSync(join(quota, `filler-${Date.now()}`), Buffer.alloc(Math.max(0, free - freeMb * MB)));
}

function emptyQuota(): void {
  for (const name of execFileSync('ls', [quota], { encoding: 'utf8' }).split('\n').filter(Boolean)) rmSync(join(quota, name));
}

function startKafkaCli(config: Config) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'ingest', 'kafka', 'cli.ts')], {
    cwd: ROOT_DIR,
    env: cliEnv(config, diskEnv()),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  child.on('error', (error) => (stderr += `spawn error: ${error.message}\n`));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, exit, stderr: () => stderr };
}

/** The one sentence: who stopped, which disk, the threshold, and where the fix is. */
function expectDiskMessage(output: string, component: string): void {
  const sentences = output.split('\n').filter((line) => line.includes(`${component} stopped: the disk of ${quota}`));
  expect(sentences, output).toHaveLength(1);
  expect(sentences[0]).toContain(`under DISK_STOP_FREE_MB=${STOP_FREE_MB}`);
  expect(sentences[0]).toContain('docs/operations.md#disk-space');
}

describe.skipIf(!canMount)('ingestors on a nearly full disk', () => {
  beforeAll(async () => {
    quota = mkdtempSync(join(tmpdir(), 'shopflow-disk-quota-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${QUOTA_MB}m`, 'tmpfs', quota]);
    warehouse = await createTestWarehouse('ingest_disk_full');
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await topic?.delete();
    await cdc?.drop();
    await warehouse?.drop();
    if (quota) {
      execFileSync('umount', [quota]);
      rmSync(quota, { recursive: true, force: true });
    }
  });

  it('ingest:kafka stops with exit 73 and one sentence, its last batch committed, and will not restart while full', async () => {
    emptyQuota();
    topic = await createTestTopic('disk_full', 3);
    const config = testConfig({
      WAREHOUSE_URL: warehouse.adminUrl,
      KAFKA_TOPIC: topic.topic,
      KAFKA_GROUP_ID: topic.groupId,
      KAFKA_PARTITIONS: '3',
      INGEST_BATCH_ROWS: '500',
    });
    await produceEvents(config, topic.topic, 3_000, 1);
    const run = startKafkaCli(config);
    // Running and landing: then the disk fills.
    for (let i = 0; i < 600; i++) {
      const state = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, topic.topic);
      if (state.events > 0) break;
      await sleep(100);
    }
    const producing = produceEvents(config, topic.topic, 3_000, 2);
    fillTo(STOP_FREE_MB / 2);
    expect(await run.exit, run.stderr()).toBe(EXIT.diskLow);
    expectDiskMessage(run.stderr(), 'ingest:kafka');
    await producing;

    // What landed is whole: rows and stored offsets agree (no half batch).
    const state = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, topic.topic);
    for (const [partition, p] of state.partitions)
      expect({ partition, records: p.records, stored: Number(p.stored ?? 0) }).toEqual({
        partition,
        records: p.records,
        stored: p.records,
      });

    // Still full: refused before reading anything.
    const again = startKafkaCli(config);
    expect(await again.exit, again.stderr()).toBe(EXIT.diskLow);
    expectDiskMessage(again.stderr(), 'ingest:kafka');
    const after = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, topic.topic);
    expect(after.events).toBe(state.events);

    // Space freed: it resumes where it stopped and lands the rest exactly once.
    emptyQuota();
    const resumed = startKafkaCli(config);
    for (let i = 0; i < 600; i++) {
      const now = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, topic.topic);
      if (now.events + now.deadLetters >= 6_000) break;
      await sleep(100);
    }
    await expectExactlyOnce(warehouse.adminUrl, config, topic.topic, 6_000);
    resumed.child.kill('SIGTERM');
    expect(await resumed.exit, resumed.stderr()).toBe(EXIT.ok);
  }, 240_000);

  it('ingest:cdc refuses to start on a full disk and stops with exit 73 when the disk fills while it runs', async () => {
    emptyQuota();
    cdc = await createCdcEnv('disk_full_cdc', { withSchema: true });
    fillTo(STOP_FREE_MB / 2);
    const refused = spawnCdc(cdc.config, [], diskEnv());
    expect((await refused.exited).code, refused.output.join('\n')).toBe(EXIT.diskLow);
    expectDiskMessage(refused.output.join('\n'), 'ingest:cdc');
    const { rows } = await cdc.wh.query<{ n: string }>('select count(*) as n from raw.shop_changes');
    expect(Number(rows[0]?.n)).toBe(0);

    emptyQuota();
    const running = spawnCdc(cdc.config, [], diskEnv());
    // Snapshot done and streaming: the source position is stored.
    for (let i = 0; i < 600; i++) {
      const state = await cdc.wh.query(`select 1 from ingest.cdc_positions where snapshot_state = 'done'`);
      if (state.rowCount) break;
      await sleep(100);
    }
    fillTo(STOP_FREE_MB / 2);
    expect((await running.exited).code, running.output.join('\n')).toBe(EXIT.diskLow);
    expect((await cdc.wh.query(`select 1 from ingest.cdc_positions where snapshot_state = 'done'`)).rowCount).toBe(1);
    expectDiskMessage(running.output.join('\n'), 'ingest:cdc');
  }, 240_000);
});
