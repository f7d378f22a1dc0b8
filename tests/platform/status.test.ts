/**
 * `npm run status` as a person and a monitor use it: green (exit 0) when the services are up
 * and nothing waits; with Kafka unreachable it names Kafka and the fix and exits 69. The
 * shared test services are never stopped: the red case points KAFKA_BROKERS at a closed port.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { pino } from 'pino';

import { ensureTopic } from '../../lib/kafka/admin.ts';
import { createEventProducer } from '../../lib/kafka/producer.ts';
import { ROOT_DIR } from '../../lib/root.ts';
import type { StatusReport } from '../../scripts/status/index.ts';
import { uniqueSuffix } from '../helpers/config.ts';
import { endpointEnv, testEndpoints } from '../helpers/services.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { createPgCdcEnv, runUntilIdle } from '../ingest/pg-cdc/helpers.ts';

function status(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'scripts', 'status.ts'), ...args], {
      cwd: ROOT_DIR,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run status', () => {
  let warehouse: TestWarehouse;
  let env: Record<string, string>;

  beforeAll(async () => {
    warehouse = await createTestWarehouse('status');
    const topic = `status.${uniqueSuffix()}`;
    await ensureTopic(testEndpoints().kafkaBrokers, topic, 2);
    // Its own warehouse database and topic: what other test files leave behind cannot turn it red.
    env = {
      ...endpointEnv(testEndpoints()),
      WAREHOUSE_URL: warehouse.adminUrl,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: `status-${uniqueSuffix()}`,
      LOG_LEVEL: 'warn',
    };
  });
  afterAll(async () => {
    await warehouse?.drop();
  });

  it('is green with exit 0 when every service is up and nothing waits', async () => {
    const run = await status(env);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Services\n/);
    for (const service of ['postgres', 'shop postgres', 'mariadb', 'kafka', 'smtp'])
      expect(run.stdout).toMatch(new RegExp(`^  ok +${service} +up`, 'm'));
    expect(run.stdout).toMatch(/ingest:kafka +not running, lag 0 events/);
    expect(run.stdout).toContain('All good.');
    expect(run.code).toBe(0);
  });

  it('--json gives the same report to a machine', async () => {
    const run = await status(env, '--json');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as StatusReport;
    expect(report.overall).toBe('ok');
    const names = report.services.map((r) => r.name);
    expect(names.filter((n) => !n.startsWith('disk '))).toEqual(['postgres', 'shop postgres', 'mariadb', 'kafka', 'smtp', 'superset']);
    // Disk headroom of each watched directory the project's own services write to.
    expect(names.filter((n) => n.startsWith('disk ')).length).toBeGreaterThan(0);
    expect(report.ingestors.find((r) => r.name === 'ingest:kafka')?.facts).toMatchObject({ running: false, consumerLag: 0 });
    expect(report.ingestors.map((r) => [r.name, r.level])).toEqual([
      ['ingest:kafka', 'ok'],
      ['ingest:cdc', 'info'],
      ['ingest:pg-cdc', 'info'],
      ['ingest:files', 'info'],
      ['ingest:api', 'info'],
    ]);
  });

  it('shows what the file ingestor and the REST puller landed, their cursor and dead letters today', async () => {
    const admin = new pg.Client({ connectionString: warehouse.adminUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      await admin.query(
        `insert into raw.file_manifest (source_name, file_name, version, size_bytes, content_sha256, rows_landed, rows_dead, layout)
         values ('prices', 'a.csv', 1, 10, repeat('a', 64), 4, 1, 'typed'), ('prices', 'a.csv', 2, 12, repeat('b', 64), 5, 0, 'typed');
         insert into raw.dead_letters (source, source_position, error_code, reason) values ('files', 'prices/a.csv:3', 'FILES_BAD_VALUE', 'x');
         insert into ingest.api_cursors (source_name, cursor_value, cursor_at, records_landed)
         values ('psp', '2026-01-02T03:04:05Z', '2026-01-02T03:04:05Z', 42)`,
      );
    } finally {
      await admin.end();
    }
    const report = JSON.parse((await status(env, '--json')).stdout) as StatusReport;
    const row = (name: string) => report.ingestors.find((r) => r.name === name)!;
    expect(row('ingest:files')).toMatchObject({ level: 'ok', facts: { files: 1, versions: 2, rows: '9', deadLettersToday: 1 } });
    expect(row('ingest:files').text).toMatch(/^1 file of 1 source \(2 versions, 9 rows\), last landed \d+ s ago, 1 dead letter today$/);
    expect(row('ingest:api').text).toMatch(
      /^1 source, 42 records, last pull landed \d+ s ago \(psp up to 2026-01-02T03:04:05Z\), 0 dead letters today$/,
    );
  });

  it("shows the Postgres CDC ingestor's position and slot apart from the MariaDB one, and a lost slot in red with the fix", async () => {
    const pgEnv = await createPgCdcEnv('status_pg');
    onTestFinished(() => pgEnv.drop());
    await runUntilIdle(pgEnv);
    const shopEnv = {
      ...env,
      WAREHOUSE_URL: pgEnv.warehouse.adminUrl,
      SHOP_PG_URL: pgEnv.shop.url,
      PG_CDC_SLOT: pgEnv.shop.slot,
      PG_CDC_PUBLICATION: pgEnv.config.PG_CDC_PUBLICATION,
    };
    const report = JSON.parse((await status(shopEnv, '--json')).stdout) as StatusReport;
    const row = (r: StatusReport, name: string) => r.ingestors.find((i) => i.name === name)!;
    expect(row(report, 'ingest:pg-cdc')).toMatchObject({
      level: 'ok',
      facts: { running: false, slotActive: false, snapshotState: 'done' },
    });
    expect(row(report, 'ingest:pg-cdc').text).toMatch(
      new RegExp(`^not running, [\\d.]+ MB of WAL behind \\(slot ${pgEnv.shop.slot}\\), last batch \\d+ s ago$`),
    );
    // The MariaDB row does not take the Postgres source's position for its own.
    expect(row(report, 'ingest:cdc')).toMatchObject({ level: 'info' });

    await pgEnv.shop.query('select pg_drop_replication_slot($1)', [pgEnv.shop.slot]);
    const lost = await status(shopEnv);
    expect(lost.stdout).toMatch(new RegExp(`^ {2}FAIL ingest:pg-cdc +not running, the replication slot ${pgEnv.shop.slot} is gone`, 'm'));
    expect(lost.stdout).toContain(`delete the row of postgres:${pgEnv.shop.database}:${pgEnv.shop.slot} from ingest.cdc_positions`);
    expect(lost.code).toBe(1);
  });

  it('names Kafka and the fix, and exits 69, when Kafka is unreachable', async () => {
    const run = await status({ ...env, KAFKA_BROKERS: '127.0.0.1:1' });
    expect(run.code).toBe(69);
    expect(run.stdout).toMatch(/^ {2}FAIL kafka +unreachable at 127\.0\.0\.1:1/m);
    expect(run.stdout).toContain('1 thing needs attention:\n  kafka: check that it is running and that KAFKA_BROKERS points at it');
  });

  // Last: it leaves events in the topic.
  it('says what to run when events wait for a stopped ingestor, and exits 1', async () => {
    const producer = await createEventProducer(
      { brokers: testEndpoints().kafkaBrokers, clientId: 'status-test' },
      pino({ level: 'silent' }),
    );
    try {
      await producer.send(
        env.KAFKA_TOPIC!,
        [1, 2, 3].map((n) => ({ key: `s${n}`, value: '{}', partition: 0 })),
      );
    } finally {
      await producer.disconnect();
    }
    const run = await status(env);
    expect(run.stdout).toMatch(/^ {2}WARN ingest:kafka +not running, lag 3 events/m);
    expect(run.stdout).toContain('ingest:kafka: events wait in Kafka: run `npm run ingest:kafka -- --until-idle 5000`');
    expect(run.code).toBe(1);
  });
});
