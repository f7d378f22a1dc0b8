/**
 * Least-privilege connection URLs: every component connects to the warehouse as its own role,
 * derived from WAREHOUSE_URL's host, port and database. Only 'admin' (the migrations) uses the
 * credentials in WAREHOUSE_URL, so a process that never migrates may be given a URL without any
 * (docker-compose.yml's app container is). What each role may do: docs/operations.md, "Roles".
 */
import type { EnvConfig } from './schema.ts';

export type WarehouseRole = 'admin' | 'ingest_writer' | 'transformer' | 'bi_reader' | 'ops_writer' | 'forecast_writer';

export function roleUrl(
  config: Pick<
    EnvConfig,
    'WAREHOUSE_URL' | 'WAREHOUSE_INGEST_PASSWORD' | 'WAREHOUSE_TRANSFORMER_PASSWORD' | 'WAREHOUSE_BI_PASSWORD' | 'WAREHOUSE_OPS_PASSWORD'
  > &
    // Optional in the type so components that never forecast need not carry it; a loaded Config always has it.
    Partial<Pick<EnvConfig, 'WAREHOUSE_FORECAST_PASSWORD'>>,
  role: WarehouseRole,
  database?: string,
): string {
  const url = new URL(config.WAREHOUSE_URL);
  if (database) url.pathname = `/${database}`;
  if (role === 'admin') return url.toString();
  const password = {
    ingest_writer: config.WAREHOUSE_INGEST_PASSWORD,
    transformer: config.WAREHOUSE_TRANSFORMER_PASSWORD,
    bi_reader: config.WAREHOUSE_BI_PASSWORD,
    ops_writer: config.WAREHOUSE_OPS_PASSWORD,
    forecast_writer: config.WAREHOUSE_FORECAST_PASSWORD,
  }[role];
  if (password === undefined) throw new TypeError(`roleUrl: no password given for role ${role}`);
  url.username = role;
  url.password = password;
  return url.toString();
}
