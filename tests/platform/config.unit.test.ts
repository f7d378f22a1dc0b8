/**
 * .env.example is the user's list of every setting: it must name exactly the variables the
 * config schema reads, with their real defaults, and bad values must fail loudly by name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEFAULTS, envSchema, loadConfig, ROOT_DIR } from '../../lib/config/index.ts';
import { ConfigError } from '../../lib/errors.ts';

interface ExampleEntry {
  name: string;
  value: string;
  commented: boolean;
}

function readEnvExample(): ExampleEntry[] {
  const entries: ExampleEntry[] = [];
  for (const line of readFileSync(join(ROOT_DIR, '.env.example'), 'utf8').split('\n')) {
    const match = /^(# )?([A-Z][A-Z0-9_]+)=(.*)$/.exec(line);
    if (!match) continue;
    const raw = match[3] ?? '';
    entries.push({ name: match[2] as string, value: raw.replace(/^"(.*)"$/, '$1'), commented: match[1] !== undefined });
  }
  return entries;
}

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('.env.example', () => {
  const entries = readEnvExample();

  it('lists exactly the variables of the config schema, each once', () => {
    const names = entries.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(Object.keys(envSchema.shape).sort());
  });

  it('shows the real default of every variable that has one', () => {
    const defaults = DEFAULTS as Record<string, string>;
    for (const entry of entries) {
      if (entry.name in defaults)
        expect({ name: entry.name, value: entry.value }).toEqual({ name: entry.name, value: defaults[entry.name] });
    }
  });

  it('keeps the service URLs commented out, since setting one makes that service external', () => {
    for (const name of ['WAREHOUSE_URL', 'SHOP_DB_URL', 'KAFKA_BROKERS', 'SMTP_URL', 'S3_ENDPOINT', 'SPARK_MASTER']) {
      expect(entries.find((e) => e.name === name)?.commented, name).toBe(true);
    }
  });

  it('loads as a configuration with every service managed', () => {
    const env = Object.fromEntries(entries.filter((e) => !e.commented).map((e) => [e.name, e.value]));
    const config = loadConfig(env);
    expect(config.managed).toEqual({ postgres: true, shopPostgres: true, mariadb: true, kafka: true, smtp: true, s3: true, spark: true });
    expect(config.KAFKA_PARTITIONS).toBe(Number(DEFAULTS.KAFKA_PARTITIONS));
  });
});

describe('loadConfig', () => {
  it('loads the defaults from an empty environment', () => {
    const config = loadConfig({});
    expect(config.WAREHOUSE_URL).toBe(DEFAULTS.WAREHOUSE_URL);
    expect(config.SHOP_DB_URL).toBe(DEFAULTS.SHOP_DB_URL);
    expect(config.SMTP_URL).toBe(DEFAULTS.SMTP_URL);
    expect(config.dataDir).toBe(join(ROOT_DIR, DEFAULTS.SHOPFLOW_DATA_DIR));
  });

  it.each([
    ['KAFKA_PARTITIONS', 'abc'],
    ['WAREHOUSE_URL', 'nope'],
    ['SHOP_DB_URL', 'postgres://wrong-scheme/shop'],
    ['SMTP_URL', 'http://127.0.0.1:2525'],
    ['SUPERSET_PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects %s=%s with an error naming the variable', (name, value) => {
    const error = configErrorOf({ [name]: value });
    expect(error.code).toBe('SHOPFLOW_CONFIG');
    expect(error.message).toContain(`${name}:`);
  });
});
