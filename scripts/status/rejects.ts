/**
 * The status row of the rows staging left out (marts.ops_staging_rejects, docs/operations.md
 * "Rejects"): per source, how many are unresolved, where the first one sits and why. The marts
 * gate fails on them, but the gate row says only that it failed; this row says which rows, so
 * the person reading `status` knows whom to ask (the DBA, the producer, the sender of an export).
 */

import { roleUrl, type Config } from '../../lib/config/index.ts';
import type { Row } from './model.ts';
import { connectForStatus } from './connect.ts';

const NAME = 'staging rejects';
/** The mart has not been built in this warehouse yet. */
const UNDEFINED_TABLE = '42P01';
/** The order rejects happened in: landing time, then each source's own position. */
const FIRST = 'loaded_at, change_id, kafka_partition, kafka_offset, file_name, file_line';

interface SourceRejects {
  source_name: string;
  unresolved: number;
  resolved: number;
  /** The first unresolved reject (the earliest landed, then by position): where it sits, and why. */
  first_position: string | null;
  first_reason: string | null;
}

async function readRejects(config: Config): Promise<SourceRejects[] | 'not built'> {
  const client = await connectForStatus(roleUrl(config, 'transformer'));
  try {
    const { rows } = await client.query<SourceRejects>(
      `select source_name,
              count(*) filter (where not is_resolved)::int as unresolved,
              count(*) filter (where is_resolved)::int as resolved,
              (array_agg(source_position order by ${FIRST}) filter (where not is_resolved))[1] as first_position,
              (array_agg(reject_reason order by ${FIRST}) filter (where not is_resolved))[1] as first_reason
         from marts.ops_staging_rejects group by source_name order by source_name`,
    );
    return rows;
  } catch (error) {
    if ((error as { code?: string }).code === UNDEFINED_TABLE) return 'not built';
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function stagingRejectsRow(rejects: SourceRejects[] | 'not built'): Row {
  if (rejects === 'not built')
    return { name: NAME, level: 'info', text: 'marts.ops_staging_rejects is not built yet (`npm run dbt -- build`)' };
  const unresolved = rejects.filter((r) => r.unresolved > 0);
  const total = unresolved.reduce((n, r) => n + r.unresolved, 0);
  const facts = { sources: rejects };
  if (total === 0) {
    const resolved = rejects.reduce((n, r) => n + r.resolved, 0);
    return { name: NAME, level: 'ok', text: `none unresolved${resolved > 0 ? ` (${resolved} resolved since)` : ''}`, facts };
  }
  const first = unresolved[0]!;
  return {
    name: NAME,
    level: 'warn',
    text:
      `${total} row${total === 1 ? '' : 's'} left out of the marts: ${unresolved.map((r) => `${r.source_name} ${r.unresolved}`).join(', ')}` +
      ` (first: ${first.source_name} ${first.first_position ?? '?'}: ${(first.first_reason ?? '').slice(0, 160)})`,
    fix:
      '`select source_name, source_position, reject_reason from marts.ops_staging_rejects where not is_resolved` lists them; ' +
      'correct each at its source (a history export: land a corrected file, docs/history.md), then build; the marts gate fails until then',
    facts,
  };
}

export async function stagingRejectsStatus(config: Config): Promise<Row> {
  return stagingRejectsRow(await readRejects(config));
}
