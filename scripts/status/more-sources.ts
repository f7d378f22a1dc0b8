/**
 * Status rows of the pull-style sources, read as transformer: the file ingestor (what landed
 * last, from raw.file_manifest) and the REST puller (each source's cursor, from
 * ingest.api_cursors), with their dead letters today. Both run as passes (from cron, the
 * scheduler's --watch children or by hand), so "not running" is not a state worth reporting;
 * what is: when each last landed something, and what it refused.
 */

import { roleUrl, type Config } from '../../lib/config/index.ts';
import { DEAD_LETTER_SOURCE } from '../../lib/warehouse/dead-letter-sources.ts';
import { ago, type Row } from './model.ts';
import { connectForStatus } from './connect.ts';

interface Facts {
  files: { sources: number; files: number; versions: number; rows: string; last_at: Date | null };
  cursors: { source_name: string; cursor_value: string; records_landed: string; updated_at: Date }[];
  deadToday: { files: number; api: number };
}

async function readFacts(config: Config): Promise<Facts> {
  const client = await connectForStatus(roleUrl(config, 'transformer'));
  try {
    const files = await client.query<Facts['files']>(
      `select count(distinct source_name)::int as sources, count(distinct (source_name, file_name))::int as files,
              count(*)::int as versions, coalesce(sum(rows_landed), 0)::text as rows, max(landed_at) as last_at
         from raw.file_manifest`,
    );
    const cursors = await client.query<Facts['cursors'][number]>(
      'select source_name, cursor_value, records_landed::text, updated_at from ingest.api_cursors order by source_name',
    );
    const dead = await client.query<{ source: string; n: number }>(
      `select source, count(*)::int as n from raw.dead_letters
        where _loaded_at >= date_trunc('day', now()) and source = any($1) group by source`,
      [[DEAD_LETTER_SOURCE.files, DEAD_LETTER_SOURCE.api]],
    );
    const deadOf = (s: string) => dead.rows.find((r) => r.source === s)?.n ?? 0;
    return { files: files.rows[0]!, cursors: cursors.rows, deadToday: { files: deadOf('files'), api: deadOf('api') } };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const plural = (n: number | string, word: string) => `${n} ${word}${Number(n) === 1 ? '' : 's'}`;

function filesRow(facts: Facts, now: Date): Row {
  const f = facts.files;
  const dead = facts.deadToday.files;
  if (f.versions === 0)
    return { name: 'ingest:files', level: 'info', text: 'nothing landed yet (`npm run ingest:files -- --config FILE`, docs/files.md)' };
  return {
    name: 'ingest:files',
    level: 'ok',
    text: `${plural(f.files, 'file')} of ${plural(f.sources, 'source')} (${plural(f.versions, 'version')}, ${plural(f.rows, 'row')}), last landed ${ago(f.last_at, now)}, ${plural(dead, 'dead letter')} today`,
    facts: { ...f, deadLettersToday: dead },
  };
}

function apiRow(facts: Facts, now: Date): Row {
  const dead = facts.deadToday.api;
  if (facts.cursors.length === 0)
    return { name: 'ingest:api', level: 'info', text: 'nothing pulled yet (`npm run ingest:api -- --config FILE`, docs/api.md)' };
  const last = facts.cursors.reduce((a, b) => (a.updated_at > b.updated_at ? a : b));
  const records = facts.cursors.reduce((n, c) => n + Number(c.records_landed), 0);
  return {
    name: 'ingest:api',
    level: 'ok',
    text: `${plural(facts.cursors.length, 'source')}, ${plural(records, 'record')}, last pull landed ${ago(last.updated_at, now)} (${last.source_name} up to ${last.cursor_value}), ${plural(dead, 'dead letter')} today`,
    facts: { sources: facts.cursors, deadLettersToday: dead },
  };
}

export async function moreSourceRows(config: Config, now: Date): Promise<Row[]> {
  const facts = await readFacts(config);
  return [filesRow(facts, now), apiRow(facts, now)];
}
