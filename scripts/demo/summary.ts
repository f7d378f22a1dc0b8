/** What the demo built, per warehouse layer, read straight from Postgres's catalog. */
import pg from 'pg';

import { ident } from '../../lib/pg/pool.ts';

export const LAYERS = ['raw', 'staging', 'snapshots', 'intermediate', 'marts'] as const;
/** Schemas counted with a layer other than their own name: the typed CDC log and file tables are raw. */
const SCHEMA_LAYER: Record<string, string> = { raw_shop: 'raw', raw_files: 'raw' };

export interface LayerCount {
  layer: string;
  relations: number;
  rows: number;
  largest: { name: string; rows: number }[];
}

export async function countLayers(adminUrl: string): Promise<LayerCount[]> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'shopflow-demo' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const relations = await client.query<{ schema: string; name: string }>(
      `select table_schema as schema, table_name as name
         from information_schema.tables
        where table_schema = any($1) and table_type in ('BASE TABLE', 'VIEW')
          -- A partition's rows are counted with its parent (raw.shop_events' day partitions).
          and not exists (
            select 1 from pg_inherits i
            join pg_class c on c.oid = i.inhrelid
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = table_schema and c.relname = table_name
          )
        order by 1, 2`,
      [[...LAYERS, ...Object.keys(SCHEMA_LAYER)]],
    );
    const counts = new Map<string, { name: string; rows: number }[]>();
    for (const { schema, name } of relations.rows) {
      const result = await client.query<{ n: string }>(`select count(*) as n from ${ident(schema)}.${ident(name)}`);
      const layer = SCHEMA_LAYER[schema] ?? schema;
      const list = counts.get(layer) ?? [];
      list.push({ name: layer === schema ? name : `${schema}.${name}`, rows: Number(result.rows[0]?.n ?? 0) });
      counts.set(layer, list);
    }
    return LAYERS.map((layer) => {
      const list = counts.get(layer) ?? [];
      return {
        layer,
        relations: list.length,
        rows: list.reduce((sum, r) => sum + r.rows, 0),
        largest: [...list].sort((a, b) => b.rows - a.rows).slice(0, 3),
      };
    });
  } finally {
    await client.end();
  }
}
