/**
 * The CLI as a real child process: exactly-once across kill -9 at random points, SIGTERM
 * draining (exit 0 with the batch in flight committed), and flag errors before any work.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT_DIR, type Config } from '../../../lib/config/index.ts';
import { createTestTopic, type TestTopic } from '../../helpers/kafka.ts';
import { testConfig } from '../../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { cliEnv, expectExactlyOnce, landed, produceEvents } from './support.ts';

const CLI = join(ROOT_DIR, 'ingest', 'kafka', 'cli.ts');

let warehouse: TestWarehouse;
const topics: TestTopic[] = [];
const children = new Set<ChildProcess>();

beforeAll(async () => {
  warehouse = await createTestWarehouse('ingest_kafka_cli');
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const t of topics) await t.delete();
  await warehouse?.drop();
});

async function topicConfig(label: string): Promise<Config> {
  const t = await createTestTopic(label, 3);
  topics.push(t);
  return testConfig({ WAREHOUSE_URL: warehouse.adminUrl, KAFKA_TOPIC: t.topic, KAFKA_GROUP_ID: t.groupId, KAFKA_PARTITIONS: '3' });
}

interface Run {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

function startCli(config: Config, args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT_DIR,
    env: cliEnv(config),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('error', (error) => (output += `spawn error: ${error.message}\n`));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, exit, output: () => output };
}

async function landedCount(config: Config): Promise<number> {
  const state = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, config.KAFKA_TOPIC);
  return state.events + state.deadLetters;
}

describe('ingest:kafka CLI', () => {
  it('loads every offset exactly once across five kill -9s at random points', async () => {
    const config = await topicConfig('kill9');
    const total = 60_000;
    // Produce while the ingestor is being killed, so kills land mid-fetch, mid-COPY and mid-commit.
    const producing = (async () => {
      for (let i = 0; i < 12; i++) {
        await produceEvents(config, config.KAFKA_TOPIC, total / 12, 100 + i);
        await sleep(1_500);
      }
    })();
    const progress: number[] = [];
    for (let kill = 0; kill < 5; kill++) {
      const before = await landedCount(config);
      const run = startCli(config, ['--batch-rows', '1000', '--batch-ms', '100']);
      // Each life first shows progress (after a kill -9 the dead member keeps its partitions until
      // its 6 s session times out, and start-up is slow on a loaded machine), then dies at a random
      // moment of its loading: mid-fetch, mid-COPY or mid-commit.
      for (let waited = 0; waited < 90_000 && (await landedCount(config)) <= before && run.child.exitCode === null; waited += 200)
        await sleep(200);
      await sleep(Math.random() * 2_000);
      run.child.kill('SIGKILL');
      const { signal } = await run.exit;
      expect(signal, run.output()).toBe('SIGKILL');
      progress.push(await landedCount(config));
    }
    await producing;
    const final = startCli(config, ['--until-idle', '2000']);
    const { code } = await final.exit;
    expect(code, final.output()).toBe(0);
    // Kills happened while loading: progress before the last kill, and work left for the final run.
    expect(progress[0]!, `landed after each kill: ${progress.join(', ')}`).toBeGreaterThan(0);
    expect(progress[0]!, `landed after each kill: ${progress.join(', ')}`).toBeLessThan(total);
    await expectExactlyOnce(warehouse.adminUrl, config, config.KAFKA_TOPIC, total);
    // Five lives plus the final catch-up: ~40 s alone, 172 s inside a full CI run on a quiet
    // hour (each life waits out the killed member's session, and start-up competes with the
    // other test files); a slow hour runs CI 2-3x longer, hence the headroom.
  }, 900_000);

  it('drains on SIGTERM: commits what it read, exits 0, and the next run resumes exactly there', async () => {
    const config = await topicConfig('sigterm');
    const total = 30_000;
    await produceEvents(config, config.KAFKA_TOPIC, total, 7);
    const run = startCli(config, ['--batch-rows', '2000', '--batch-ms', '5000']);
    for (let i = 0; (await landedCount(config)) === 0; i++) {
      if (i > 200) throw new Error(`nothing landed within 40 s:\n${run.output()}`);
      await sleep(200);
    }
    run.child.kill('SIGTERM');
    const { code } = await run.exit;
    expect(code, run.output()).toBe(0);
    expect(run.output()).toContain('drained, exiting');
    // Every partition's stored offset matches exactly the records landed: nothing half-committed.
    const state = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, config.KAFKA_TOPIC);
    for (const [p, s] of state.partitions) {
      expect(BigInt(s.records), `partition ${p}`).toBe(s.stored ?? 0n);
      expect(s.end, `partition ${p}`).toBe(s.stored ?? 0n);
    }
    const rest = startCli(config, ['--once']);
    expect((await rest.exit).code, rest.output()).toBe(0);
    await expectExactlyOnce(warehouse.adminUrl, config, config.KAFKA_TOPIC, total);
  }, 240_000);

  it('rejects bad flags with exit 2 and a clear message before touching anything', async () => {
    const config = await topicConfig('flags');
    const bad = startCli(config, ['--batch-rows', 'lots']);
    expect((await bad.exit).code).toBe(2);
    expect(bad.output()).toContain('--batch-rows must be a whole number');
    const help = startCli(config, ['--help']);
    expect((await help.exit).code).toBe(0);
    expect(help.output()).toContain('--until-idle MS');
    expect(await landedCount(config)).toBe(0);
  });
});
