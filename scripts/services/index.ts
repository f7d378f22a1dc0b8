/**
 * All local services, and bring-up / shutdown of a chosen set. Used by the CLI
 * (`npm run services:*`) and by the test suite's global setup, so both start services the
 * same way.
 */
import type { Config } from '../../lib/config/index.ts';
import { UsageError } from '../../lib/errors.ts';
import { kafkaService } from './kafka.ts';
import { mariadbService } from './mariadb.ts';
import { postgresService } from './postgres.ts';
import { prometheusService } from './prometheus.ts';
import { s3proxyService } from './s3proxy.ts';
import { shopPostgresService } from './shop-postgres.ts';
import { smtpService } from './smtp.ts';
import { sparkService } from './spark.ts';
import { sparkSqlService } from './spark-sql.ts';
import type { LocalService, ServiceName, ServiceStatus } from './types.ts';

export type { LocalService, ServiceName, ServiceStatus } from './types.ts';

/** The services everything needs. Prometheus is optional (METRICS_ENABLED) and handled by servicesFor. */
export const SERVICES: readonly LocalService[] = [postgresService, shopPostgresService, mariadbService, kafkaService, smtpService];

/** The lakehouse's services (LAKEHOUSE_ENABLED): the object store, the Spark cluster and its SQL endpoint (dbt's `lakehouse` target). */
export const LAKEHOUSE_SERVICES: readonly LocalService[] = [s3proxyService, sparkService, sparkSqlService];

type Switches = Pick<Config, 'METRICS_ENABLED' | 'LAKEHOUSE_ENABLED'>;

/** The services `services:*` manages for this configuration: the core four, plus Prometheus and the lakehouse when switched on. */
export function servicesFor(config: Switches): LocalService[] {
  return [...SERVICES, ...(config.METRICS_ENABLED ? [prometheusService] : []), ...(config.LAKEHOUSE_ENABLED ? LAKEHOUSE_SERVICES : [])];
}

export function selectServices(names: readonly string[], config?: Switches): LocalService[] {
  const all = [...SERVICES, prometheusService, ...LAKEHOUSE_SERVICES];
  if (names.length === 0) return config ? servicesFor(config) : [...SERVICES];
  return names.map((name) => {
    const service = all.find((s) => s.name === name);
    if (!service) throw new UsageError(`unknown service "${name}"; choose from ${all.map((s) => s.name).join(', ')}`);
    return service;
  });
}

export interface Outcome {
  service: ServiceName;
  ok: boolean;
  message: string;
  error?: unknown;
}

/**
 * Start the services concurrently (they do not depend on each other), so a cold start costs
 * the slowest one, not the sum. Every service is attempted even when another fails.
 */
export async function upServices(
  config: Config,
  services: readonly LocalService[] = SERVICES,
  onDone?: (outcome: Outcome) => void,
): Promise<Outcome[]> {
  return Promise.all(
    services.map(async (service): Promise<Outcome> => {
      let outcome: Outcome;
      try {
        outcome = { service: service.name, ok: true, message: (await service.up(config)).message };
      } catch (error) {
        outcome = { service: service.name, ok: false, message: error instanceof Error ? error.message : String(error), error };
      }
      onDone?.(outcome);
      return outcome;
    }),
  );
}

export async function downServices(
  config: Config,
  services: readonly LocalService[] = SERVICES,
  onDone?: (outcome: Outcome) => void,
): Promise<Outcome[]> {
  return Promise.all(
    services.map(async (service): Promise<Outcome> => {
      let outcome: Outcome;
      try {
        outcome = { service: service.name, ok: true, message: await service.down(config) };
      } catch (error) {
        outcome = { service: service.name, ok: false, message: error instanceof Error ? error.message : String(error), error };
      }
      onDone?.(outcome);
      return outcome;
    }),
  );
}

export async function servicesStatus(config: Config, services: readonly LocalService[] = SERVICES): Promise<ServiceStatus[]> {
  return Promise.all(services.map((service) => service.status(config)));
}
