/**
 * Every `npm run` entry behaves the same way at its edges (docs/operations.md#exit-codes):
 * `--help` and `--version` exit 0 with the common usage shape, and a bad flag, a bad
 * configuration value and an unreachable service each give one sentence on stderr, naming the
 * cause and the fix, with the documented exit code (2, 2, 69). No service is needed (the
 * unreachable ones are pointed at a closed port), but some 60 processes are: it runs with the
 * integration tests, not in the quick unit set.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../lib/root.ts';

const CLOSED_WAREHOUSE = 'postgres://postgres:x@127.0.0.1:1/shopflow';
const CLOSED_SHOP = 'mysql://shopflow:shopflow@127.0.0.1:1/shop';

interface Case {
  name: string;
  /** npm script whose entry is run (its file is read from package.json). */
  script: string;
  /** Arguments before which --help/--version/--bogus go (a sub-command). */
  lead?: string[];
  /** A valid invocation, for the bad-configuration case (the config is checked before work). */
  valid: string[];
  /** How to make it meet a closed port, and what it must then say; null with the reason when not applicable. */
  unreachable: { env: Record<string, string>; args: string[]; says: RegExp; stream?: 'stdout' | 'stderr' } | { skip: string };
}

const CASES: Case[] = [
  {
    name: 'ingest:kafka',
    script: 'ingest:kafka',
    valid: ['--once'],
    unreachable: {
      env: { KAFKA_BROKERS: '127.0.0.1:1', INGEST_GIVE_UP_MS: '1000' },
      args: ['--once'],
      says: /^ingest:kafka: Cannot reach Kafka at 127\.0\.0\.1:1 \(connection refused\): check that it is running and that KAFKA_BROKERS points at it\.$/m,
    },
  },
  {
    name: 'ingest:cdc',
    script: 'ingest:cdc',
    valid: ['--until-idle', '500'],
    unreachable: {
      env: { SHOP_DB_URL: CLOSED_SHOP, INGEST_GIVE_UP_MS: '1000' },
      args: ['--until-idle', '500', '--no-progress'],
      says: /^ingest:cdc: Cannot reach the MariaDB shop database at 127\.0\.0\.1:1 .*SHOP_DB_URL/,
    },
  },
  {
    name: 'ingest:pg-cdc',
    script: 'ingest:pg-cdc',
    valid: ['--until-idle', '500'],
    unreachable: {
      env: { SHOP_PG_URL: 'postgres://postgres:x@127.0.0.1:1/shop', INGEST_GIVE_UP_MS: '1000' },
      args: ['--until-idle', '500'],
      says: /^ingest:pg-cdc: Cannot reach the Postgres shop database at 127\.0\.0\.1:1 .*SHOP_PG_URL/m,
    },
  },
  {
    name: 'generate',
    script: 'generate',
    valid: ['--days', '1'],
    unreachable: {
      env: { SHOP_DB_URL: CLOSED_SHOP },
      args: ['--days', '1', '--customers', '10', '--orders', '10', '--sinks', 'mariadb', '--quiet'],
      says: /^generate: Cannot reach the MariaDB shop database at 127\.0\.0\.1:1 .*SHOP_DB_URL/,
    },
  },
  // dbt's own flags pass through: only the first argument is ShopFlow's, and a bad dbt flag is dbt's usage error (2).
  {
    name: 'dbt',
    script: 'dbt',
    valid: ['build'],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE },
      args: ['build'],
      says: /^dbt: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'gate',
    script: 'gate',
    valid: [],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE },
      args: [],
      says: /^gate: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'report',
    script: 'report',
    valid: ['--dry-run'],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE },
      args: ['--dry-run', '--skip-gate', '--date', '2026-01-01'],
      says: /^report: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'scheduler',
    script: 'scheduler',
    valid: ['--once', 'alerts'],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE },
      args: ['--once', 'alerts'],
      says: /^scheduler: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'dashboards',
    script: 'dashboards',
    valid: ['status'],
    unreachable: {
      env: { SUPERSET_PORT: '1' },
      args: ['status'],
      says: /^Superset is not running at http:\/\/127\.0\.0\.1:1: start it with `npm run dashboards`\.$/m,
      stream: 'stdout',
    },
  },
  {
    name: 'bench',
    script: 'bench',
    valid: ['gate'],
    unreachable: {
      skip: 'a benchmark builds its scratch world and baselines before it meets a service; its failures go through the same runner',
    },
  },
  {
    name: 'services',
    script: 'services:status',
    valid: [],
    unreachable: {
      env: { KAFKA_BROKERS: '127.0.0.1:1' },
      args: ['kafka'],
      says: /^kafka +external +- +127\.0\.0\.1:1 +unreachable$/m,
      stream: 'stdout',
    },
  },
  {
    name: 'migrate',
    script: 'migrate',
    valid: [],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE },
      args: [],
      says: /^migrate: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'status',
    script: 'status',
    valid: [],
    unreachable: {
      env: { KAFKA_BROKERS: '127.0.0.1:1' },
      args: [],
      says: /^ {2}kafka: check that it is running and that KAFKA_BROKERS points at it$/m,
      stream: 'stdout',
    },
  },
  {
    name: 'ingest:files',
    script: 'ingest:files',
    valid: ['--config', 'ingest/files/examples/supplier-prices.yaml'],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE },
      args: ['--config', 'ingest/files/examples/supplier-prices.yaml'],
      says: /^ingest:files: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'ingest:api',
    script: 'ingest:api',
    valid: ['--config', 'ingest/api/examples/shop-api.yaml'],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE },
      args: ['--config', 'ingest/api/examples/shop-api.yaml'],
      says: /^ingest:api: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'shop-api',
    script: 'shop-api',
    valid: ['--port', '0'],
    unreachable: {
      env: { SHOP_DB_URL: CLOSED_SHOP },
      args: ['--port', '0'],
      says: /^shop-api: Cannot reach the MariaDB shop database at 127\.0\.0\.1:1 .*SHOP_DB_URL/,
    },
  },
  {
    name: 'demo',
    script: 'demo',
    valid: ['--days', '1'],
    unreachable: {
      skip: 'the demo starts the local services it needs (minutes); tests/platform/demo-ledger.test.ts runs its pipeline',
    },
  },
  {
    name: 'forecast',
    script: 'forecast',
    valid: [],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE },
      args: [],
      says: /^forecast: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'lake',
    script: 'lake',
    valid: ['status'],
    unreachable: {
      env: {},
      args: ['status'],
      says: /^Start the stopped jobs with `npm run lake -- start` \(docs\/lakehouse\.md\)\.$/m,
      stream: 'stdout',
    },
  },
  {
    name: 'check',
    script: 'check',
    valid: ['docs:events'],
    unreachable: { skip: 'it reads only files of this checkout' },
  },
  {
    name: 'docs:schema',
    script: 'docs:schema',
    valid: ['--check'],
    unreachable: { skip: 'it reads only files of this checkout' },
  },
  {
    name: 'docs:events',
    script: 'docs:events',
    valid: ['--check'],
    unreachable: { skip: 'it reads only files of this checkout' },
  },
  {
    name: 'raw:archive',
    script: 'raw:archive',
    valid: ['--dry-run'],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE, RAW_RETENTION_DAYS: '30' },
      args: ['--dry-run'],
      says: /^raw:archive: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'raw:rehydrate',
    script: 'raw:rehydrate',
    valid: ['--from', '2025-01-01', '--dry-run'],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE },
      args: ['--from', '2025-01-01', '--dry-run'],
      says: /^raw:rehydrate: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
  {
    name: 'reset',
    script: 'reset',
    valid: ['--yes'],
    unreachable: {
      env: { WAREHOUSE_URL: CLOSED_WAREHOUSE, SHOP_DB_URL: CLOSED_SHOP },
      args: ['--yes'],
      says: /^reset: Cannot reach the MariaDB shop database at 127\.0\.0\.1:1 .*SHOP_DB_URL|^reset: Cannot reach the Postgres warehouse at 127\.0\.0\.1:1 .*WAREHOUSE_URL/,
    },
  },
];

const scripts = (JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const version = (JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string }).version;

/** The entry file and node flags of an npm script (`exec node [flags] --import tsx FILE [args]`). */
function entryOf(script: string): { nodeArgs: string[]; args: string[] } {
  const line = scripts[script];
  if (!line) throw new Error(`package.json has no script "${script}"`);
  const words = line.replace(/^.*exec node /, '').split(/\s+/);
  const file = words.findIndex((w) => w.endsWith('.ts'));
  return { nodeArgs: words.slice(0, file + 1), args: words.slice(file + 1) };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  const entry = entryOf(script);
  const dataDir = mkdtempSync(join(tmpdir(), 'shopflow-cli-'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entry.nodeArgs, ...entry.args, ...args], {
      cwd: ROOT_DIR,
      env: { ...process.env, SHOPFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (error) => {
      rmSync(dataDir, { recursive: true, force: true });
      reject(error);
    });
    child.on('close', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

/** No stack trace reaches a person at the default log level. */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/^\s+at .+[:(]\d+:\d+\)?$/m);
}

describe.each(CASES)('npm run $name', (c) => {
  const lead = c.lead ?? [];

  it('--help and --version exit 0 in the common shape; a bad flag and a bad configuration value exit 2 with one sentence', async () => {
    const [help, ver, badFlag, badConfig] = await Promise.all([
      run(c.script, [...lead, '--help']),
      run(c.script, [...lead, '--version']),
      run(c.script, [...lead, '--bogus']),
      run(c.script, c.valid, { LOG_LEVEL: 'loud' }),
    ]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^Usage: npm run ${c.name.replace(/[:]/g, '[:]')}`));
    expect(help.stdout).toMatch(/^Exit status: /m);
    expect(help.stdout).toMatch(/\n$/);

    expect(ver.code, ver.stderr).toBe(0);
    expect(ver.stdout).toBe(`${c.name} (shopflow ${version})\n`);

    expect(badFlag.code, badFlag.stderr).toBe(2);
    if (c.name === 'dbt') expect(badFlag.stderr).toContain('No such option');
    else if (c.name === 'bench')
      expect(badFlag.stderr).toMatch(/^bench: unknown benchmark "--bogus"; choose from .*\nRun with --help for the usage\.\n$/);
    else if (c.name === 'migrate')
      expect(badFlag.stderr).toBe('migrate: migrate takes no arguments (got --bogus)\nRun with --help for the usage.\n');
    else if (c.name === 'services') expect(badFlag.stderr).toBe("services: Unknown option '--bogus'\nRun with --help for the usage.\n");
    else expect(badFlag.stderr).toBe(`${c.name}: Unknown option '--bogus'\nRun with --help for the usage.\n`);

    expect(badConfig.code, badConfig.stderr + badConfig.stdout).toBe(2);
    expect(badConfig.stderr).toMatch(
      new RegExp(`^${c.name}: Invalid configuration, fix these environment variables \\(see \\.env\\.example\\):\\n {2}LOG_LEVEL: `),
    );
    expectNoStack(badConfig.stderr);
  });

  if ('skip' in c.unreachable) {
    it.skip(`an unreachable service (${c.unreachable.skip})`, () => undefined);
  } else {
    const u = c.unreachable;
    it('names an unreachable service and the fix, and exits 69', async () => {
      const result = await run(c.script, u.args, u.env);
      const text = u.stream === 'stdout' ? result.stdout : result.stderr;
      expect(result.code, `${result.stderr}\n${result.stdout}`).toBe(69);
      expect(text).toMatch(u.says);
      if (u.stream !== 'stdout') expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expectNoStack(result.stderr);
    });
  }
});

describe('npm run bench -- NAME --help', () => {
  it("prints the benchmark's own description without starting it", async () => {
    const result = await run('bench', ['generate', '--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run bench -- generate \[options\]\n\n`npm run bench -- generate \[--scale F\]/);
    expect(result.stderr).toBe('');
  });
});

/** Scripts that share an entry with a walked one (services:status), so are walked through it. */
const SAME_ENTRY_AS_A_CASE = new Set(['services:up', 'services:down']);

describe('the walk', () => {
  it('covers every npm script that runs a TypeScript entry', () => {
    const commands = Object.entries(scripts)
      .filter(([name, line]) => /exec node .*\.ts\b/.test(line) && !SAME_ENTRY_AS_A_CASE.has(name))
      .map(([name]) => name);
    const walked = new Set(CASES.map((c) => c.script));
    expect(commands.filter((name) => !walked.has(name))).toEqual([]);
  });
});
