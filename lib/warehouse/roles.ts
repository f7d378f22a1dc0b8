/**
 * What the migration runner applies to the component roles on every run, beside the migration
 * files: passwords, database-level grants, and bi_reader's limits. These live per database
 * (CONNECT, TEMPORARY, `ALTER ROLE ... IN DATABASE`) or per server (passwords, CONNECTION
 * LIMIT), which a template-cloned database does not inherit, so they are re-applied each run;
 * re-applying also repairs a default the role changed on itself (Postgres lets any role run
 * `ALTER ROLE <itself> SET ...`).
 */
import pg from 'pg';

import type { Config } from '../config/index.ts';

export type RoleSettingsConfig = Pick<
  Config,
  | 'WAREHOUSE_INGEST_PASSWORD'
  | 'WAREHOUSE_TRANSFORMER_PASSWORD'
  | 'WAREHOUSE_BI_PASSWORD'
  | 'WAREHOUSE_OPS_PASSWORD'
  | 'WAREHOUSE_FORECAST_PASSWORD'
  | 'WAREHOUSE_BI_STATEMENT_TIMEOUT_MS'
  | 'WAREHOUSE_BI_CONNECTION_LIMIT'
>;

export const COMPONENT_ROLES = ['ingest_writer', 'transformer', 'bi_reader', 'ops_writer', 'forecast_writer'] as const;

/** Roles that may create temporary tables: dbt's incremental models need them; bi_reader never. */
const TEMP_ROLES = ['ingest_writer', 'transformer', 'ops_writer'] as const;

export interface ReaderLimits {
  statementTimeoutMs: number;
  connectionLimit: number;
}

/**
 * A read-only reporting role's session defaults and connection cap. Exported so a test can give
 * the same treatment to a scratch role and exhaust its connections without starving bi_reader.
 */
export function readerLimitStatements(role: string, database: string, limits: ReaderLimits): string[] {
  const r = pg.escapeIdentifier(role);
  const db = pg.escapeIdentifier(database);
  return [
    `alter role ${r} connection limit ${Math.trunc(limits.connectionLimit)}`,
    `alter role ${r} in database ${db} set statement_timeout = ${Math.trunc(limits.statementTimeoutMs)}`,
    `alter role ${r} in database ${db} set default_transaction_read_only = on`,
  ];
}

export async function applyRoleSettings(client: pg.ClientBase, database: string, config: RoleSettingsConfig): Promise<void> {
  const passwords: Record<(typeof COMPONENT_ROLES)[number], string> = {
    ingest_writer: config.WAREHOUSE_INGEST_PASSWORD,
    transformer: config.WAREHOUSE_TRANSFORMER_PASSWORD,
    bi_reader: config.WAREHOUSE_BI_PASSWORD,
    ops_writer: config.WAREHOUSE_OPS_PASSWORD,
    forecast_writer: config.WAREHOUSE_FORECAST_PASSWORD,
  };
  for (const [role, password] of Object.entries(passwords)) {
    await client.query(`alter role ${pg.escapeIdentifier(role)} with login password ${client.escapeLiteral(password)}`);
  }
  const db = pg.escapeIdentifier(database);
  // Every role may create temporary tables by default (PUBLIC holds TEMPORARY on each database):
  // taken from PUBLIC and given back only to the roles that write.
  await client.query(`revoke temporary on database ${db} from public, bi_reader`);
  await client.query(`grant connect on database ${db} to ${COMPONENT_ROLES.join(', ')}`);
  await client.query(`grant temporary on database ${db} to ${TEMP_ROLES.join(', ')}`);
  // dbt creates its own schemas for custom configurations (e.g. dbt_test__audit).
  await client.query(`grant create on database ${db} to transformer`);
  for (const statement of readerLimitStatements('bi_reader', database, {
    statementTimeoutMs: config.WAREHOUSE_BI_STATEMENT_TIMEOUT_MS,
    connectionLimit: config.WAREHOUSE_BI_CONNECTION_LIMIT,
  })) {
    await client.query(statement);
  }
}
