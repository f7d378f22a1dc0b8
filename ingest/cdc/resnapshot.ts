/**
 * After a repeated snapshot (--resnapshot, e.g. after a binlog purge), rows deleted on the source
 * while nothing was captured would otherwise live on in the derived current state. Every key whose
 * latest logged state is alive but which the new snapshot did not see gets a synthetic 'delete'
 * change (before_image = its last known image), tagged with the new snapshot_id.
 */
import type pg from 'pg';

import type { BinlogCoordinate } from './source.ts';

export interface ResnapshotDeletes {
  sourceDatabase: string;
  snapshotId: string;
  changeIdFloor: string;
  coordinate: BinlogCoordinate;
  startedAt: string;
}

export async function resnapshotDeletes(client: pg.ClientBase, args: ResnapshotDeletes): Promise<number> {
  const result = await client.query(
    `insert into raw.shop_changes (source_database, table_name, operation, primary_key, before_image, after_image,
                                   binlog_file, binlog_position, snapshot_id, source_committed_at)
     select latest.source_database, latest.table_name, 'delete', latest.primary_key, latest.after_image, null,
            $3, $4, $5, $6::timestamptz
       from (select distinct on (table_name, primary_key) source_database, table_name, primary_key, operation, after_image, change_id
               from raw.shop_changes
              where change_id <= $2 and source_database = $1 and primary_key is not null
                and operation in ('snapshot', 'insert', 'update', 'delete')
              order by table_name, primary_key, change_id desc) latest
      where latest.operation <> 'delete'
        and latest.change_id > coalesce((select max(t.change_id) from raw.shop_changes t
                                          where t.change_id <= $2 and t.source_database = $1 and t.table_name = latest.table_name
                                            and t.operation = 'truncate'), 0)
        and not exists (select 1 from raw.shop_changes s
                         where s.change_id > $2 and s.snapshot_id = $5
                           and s.table_name = latest.table_name and s.primary_key = latest.primary_key)
      order by latest.table_name, latest.change_id`,
    [args.sourceDatabase, args.changeIdFloor, args.coordinate.file, args.coordinate.position, args.snapshotId, args.startedAt],
  );
  return result.rowCount ?? 0;
}
