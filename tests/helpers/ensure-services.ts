/**
 * Bring-up of the test services. `ensureTestServices()` (vitest globalSetup) makes them
 * reachable: the local services when they are running or no Docker engine is available
 * (started exactly as `npm run services:up` does), otherwise throwaway containers. Either way
 * the tests see the same `testEndpoints()`, passed to the workers through vitest's provide/inject.
 * This module must not import vitest's runtime: globalSetup runs outside the test workers.
 */
import { DEFAULTS, loadConfig, type Config } from '../../lib/config/index.ts';
import { ServiceUnavailableError } from '../../lib/errors.ts';
import { SERVICES, servicesStatus, upServices } from '../../scripts/services/index.ts';
import { mailDir } from '../../scripts/services/smtp.ts';
import { preflight } from './preflight.ts';

export interface TestEndpoints {
  /** Superuser URL of the warehouse server's main database; test databases are cloned beside it. */
  warehouseAdminUrl: string;
  /** A MariaDB account allowed to create databases and grant privileges. */
  shopDbAdminUrl: string;
  /** Superuser URL of the shop on Postgres (wal_level=logical); test databases are created beside it. */
  shopPgAdminUrl: string;
  kafkaBrokers: string[];
  smtpUrl: string;
  /** Where the SMTP sink stores each message as an .eml file. */
  mailDir: string;
  /** How the services were provided. */
  via: 'local' | 'containers';
}

declare module 'vitest' {
  export interface ProvidedContext {
    shopflowEndpoints: TestEndpoints;
  }
}

export function endpointsFromConfig(config: Config): TestEndpoints {
  return {
    warehouseAdminUrl: config.WAREHOUSE_URL,
    shopDbAdminUrl: config.SHOP_DB_URL,
    shopPgAdminUrl: config.SHOP_PG_URL,
    kafkaBrokers: config.KAFKA_BROKERS,
    smtpUrl: config.SMTP_URL,
    mailDir: mailDir(config),
    via: 'local',
  };
}

async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export interface TestServices {
  endpoints: TestEndpoints;
  /** Stops what this call started for the run (containers); local services are left running. */
  teardown: () => Promise<void>;
}

/** Make every service reachable and return where they are. Idempotent and quick when all are up. */
export async function ensureTestServices(config: Config = loadConfig()): Promise<TestServices> {
  const anyManaged = Object.values(config.managed).some(Boolean);
  const localUp = (await servicesStatus(config)).every((s) => s.state === 'up');
  if (anyManaged && !localUp && (await dockerAvailable())) {
    const { startContainers } = await import('./containers.ts');
    const started = await startContainers(config);
    await preflight(started.endpoints);
    return started;
  }
  const outcomes = await upServices(config, SERVICES);
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0) {
    throw new ServiceUnavailableError(
      `the test services could not be started:\n${failed.map((o) => `  ${o.service}: ${o.message}`).join('\n')}\n` +
        'Fix the cause above (logs are under .data/<service>/), or point the tests at running servers with ' +
        'WAREHOUSE_URL, SHOP_DB_URL, SHOP_PG_URL, KAFKA_BROKERS and SMTP_URL.',
    );
  }
  const endpoints = endpointsFromConfig(config);
  await preflight(endpoints);
  return { endpoints, teardown: async () => undefined };
}

/** The variables that point a Config at the test endpoints; defaults are left unset so `managed` stays meaningful. */
export function endpointEnv(endpoints: TestEndpoints): Record<string, string> {
  const env: Record<string, string> = {};
  if (endpoints.warehouseAdminUrl !== DEFAULTS.WAREHOUSE_URL) env.WAREHOUSE_URL = endpoints.warehouseAdminUrl;
  if (endpoints.shopDbAdminUrl !== DEFAULTS.SHOP_DB_URL) env.SHOP_DB_URL = endpoints.shopDbAdminUrl;
  if (endpoints.shopPgAdminUrl !== DEFAULTS.SHOP_PG_URL) env.SHOP_PG_URL = endpoints.shopPgAdminUrl;
  if (endpoints.kafkaBrokers.join(',') !== DEFAULTS.KAFKA_BROKERS) env.KAFKA_BROKERS = endpoints.kafkaBrokers.join(',');
  if (endpoints.smtpUrl !== DEFAULTS.SMTP_URL) env.SMTP_URL = endpoints.smtpUrl;
  return env;
}
