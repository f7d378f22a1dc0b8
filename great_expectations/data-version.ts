/**
 * Which data a gate result vouches for, so a report can reuse the result of a gate that already
 * checked the same data instead of running it again (at 10x the gate is minutes; the report had
 * been running it a second time after the 08:00 job had just run it).
 *
 * The version is a hash of what the two gates read: the ingestors' stored positions and the
 * newest raw change and dead letter (new data landed), and the identity of every marts relation
 * (a dbt build writes new relations, or new files for them: relfilenode). Everything comes from
 * primary keys and the catalog, never a scan. Conservative by design: a rebuild of the marts
 * over the same raw data still counts as new data, and the gate runs again.
 */
import { createHash } from 'node:crypto';

import type pg from 'pg';

import { roleUrl, type Config } from '../lib/config/index.ts';
import { isRetryable, ServiceUnavailableError, ShopflowError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { createPool } from '../lib/pg/pool.ts';
import { quoteIdent } from '../ingest/cdc/typed-tables.ts';
import type { GateName, GateSummary } from './summary.ts';

/** `__LAST_CHANGE__`: the newest change id of the CDC log's tables (versionSql). */
const VERSION_SQL_TEMPLATE = `
select
    coalesce((select string_agg(consumer_group || '/' || topic || '/' || kafka_partition || '=' || next_offset, ',' order by 1)
              from ingest.kafka_offsets), '') as kafka,
    coalesce((select string_agg(source_name || '=' || coalesce(binlog_file, '') || ':' || coalesce(binlog_position, 0) || ':' || snapshot_state, ',' order by 1)
              from ingest.cdc_positions), '') as cdc,
    __LAST_CHANGE__ as last_change,
    coalesce((select max(dead_letter_id) from raw.dead_letters), 0) as last_dead_letter,
    coalesce((select string_agg(c.relname || '=' || c.oid || ':' || c.relfilenode, ',' order by c.relname)
              from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
              where n.nspname = 'marts' and c.relkind in ('r', 'v', 'm', 'p')), '') as marts
`;

// The CDC change log is raw.shop_changes (truncates, schema changes) and one raw_shop table per
// source table (docs/cdc.md); the tables come and go with the source, so they are listed first.
const TYPED_TABLES_SQL = `select relname from pg_class where relnamespace = to_regnamespace('raw_shop') and relkind = 'r' order by 1`;

function versionSql(typedTables: readonly string[]): string {
  const maxima = ['coalesce((select max(change_id) from raw.shop_changes), 0)'];
  for (const table of typedTables) maxima.push(`(select max(change_id) from raw_shop.${quoteIdent(table)})`);
  return VERSION_SQL_TEMPLATE.replace('__LAST_CHANGE__', `greatest(${maxima.join(', ')})`);
}

/** A connection failure is the warehouse being down (retryable, exit 69), like the gate runner's own. */
export function asUnavailable(error: unknown): unknown {
  if (error instanceof ShopflowError || !isRetryable(error)) return error;
  return new ServiceUnavailableError('the warehouse is unreachable; start it (npm run services:up) or check WAREHOUSE_URL', error);
}

/** The data version the gates would check now (read as transformer, the raw gate's role). */
export async function dataVersion(config: Config, logger?: Logger): Promise<string> {
  const pool = createPool({ connectionString: roleUrl(config, 'transformer'), applicationName: 'shopflow-gate-version', max: 1, logger });
  try {
    const query = <T extends pg.QueryResultRow>(sql: string) =>
      pool.query<T>(sql).catch((error: unknown) => {
        throw asUnavailable(error);
      });
    const typed = (await query<{ relname: string }>(TYPED_TABLES_SQL)).rows.map((r) => r.relname);
    const { rows } = await query<Record<string, string>>(versionSql(typed));
    return createHash('sha256')
      .update(JSON.stringify(rows[0] ?? {}))
      .digest('hex')
      .slice(0, 16);
  } finally {
    await pool.end();
  }
}

/** The newest recorded result of `gate` for exactly this data version, if any. */
export async function gateResultFor(config: Config, gate: GateName, version: string, logger?: Logger): Promise<GateSummary | undefined> {
  const pool = createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-gate-version', max: 1, logger });
  try {
    const { rows } = await pool
      .query<{ summary: GateSummary }>(
        `select summary from ops.gate_results
       where gate = $1 and summary ->> 'dataVersion' = $2
       order by checked_at desc limit 1`,
        [gate, version],
      )
      .catch((error: unknown) => {
        throw asUnavailable(error);
      });
    return rows[0]?.summary;
  } finally {
    await pool.end();
  }
}
