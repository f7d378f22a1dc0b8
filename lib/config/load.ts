/**
 * The only module that reads `process.env`. Validates once, reports every problem at once,
 * and names each variable with what it expects.
 */
import { resolve } from 'node:path';

import { ConfigError } from '../errors.ts';
import { ROOT_DIR } from '../root.ts';
import { DEFAULTS, envSchema, type EnvConfig } from './schema.ts';

export interface Config extends EnvConfig {
  /** Absolute data directory (services' data, mail sink, pid files). */
  dataDir: string;
  /** Project root (where package.json lives). */
  rootDir: string;
  /** Which services the project starts itself: those whose URL was not given. */
  managed: { postgres: boolean; shopPostgres: boolean; mariadb: boolean; kafka: boolean; smtp: boolean; s3: boolean; spark: boolean };
}

export { ROOT_DIR };

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    raw[key] = value === undefined || value === '' ? (DEFAULTS as Record<string, string>)[key] : value;
  }
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      const given = raw[name];
      const shown = given === undefined ? 'unset' : /PASSWORD|SECRET|TOKEN/.test(name) ? '(hidden)' : JSON.stringify(given);
      return `  ${name}: ${issue.message} (got ${shown})`;
    });
    throw new ConfigError(`Invalid configuration, fix these environment variables (see .env.example):\n${lines.join('\n')}`);
  }
  const given = (name: string) => env[name] !== undefined && env[name] !== '';
  return {
    ...parsed.data,
    rootDir: ROOT_DIR,
    dataDir: resolve(ROOT_DIR, parsed.data.SHOPFLOW_DATA_DIR),
    managed: {
      postgres: !given('WAREHOUSE_URL'),
      shopPostgres: !given('SHOP_PG_URL'),
      mariadb: !given('SHOP_DB_URL'),
      kafka: !given('KAFKA_BROKERS'),
      smtp: !given('SMTP_URL'),
      s3: !given('S3_ENDPOINT'),
      spark: !given('SPARK_MASTER'),
    },
  };
}

/** This process's whole environment over `defaults`: for a child that loads its own config (the generator's bounded-heap child). */
export function inheritedEnv(defaults: Record<string, string>): Record<string, string | undefined> {
  return { ...defaults, ...process.env };
}

/** A copy of the environment for child processes (dbt, GX, Superset): explicit, never ambient. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER']) {
    const value = process.env[key];
    if (value !== undefined) base[key] = value;
  }
  return { ...base, ...extra };
}
