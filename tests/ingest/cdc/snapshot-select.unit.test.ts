import mysql from 'mysql2';
import { describe, expect, it } from 'vitest';

import { binaryFormBytes, selectRowsSql } from '../../../ingest/cdc/snapshot-select.ts';

const escapeId = (id: string) => mysql.escapeId(id);

describe('selectRowsSql', () => {
  it('reads a table without UUID or INET columns with SELECT *', () => {
    const sql = selectRowsSql(escapeId, 'shop', 'orders', [
      { name: 'id', columnType: 'int(11)' },
      { name: 'code', columnType: 'binary(16)' },
    ]);
    expect(sql).toBe('SELECT * FROM `shop`.`orders`');
  });

  it('reads UUID, INET6 and INET4 columns as the bytes the binlog carries, every column in order', () => {
    const sql = selectRowsSql(escapeId, 'shop', 'odd`name', [
      { name: 'id', columnType: 'int(11)' },
      { name: 'token', columnType: 'uuid' },
      { name: 'we`ird', columnType: 'INET6' },
      { name: 'v4', columnType: 'inet4' },
    ]);
    expect(sql).toBe(
      'SELECT `id`, CAST(`token` AS BINARY(16)) AS `token`, CAST(`we``ird` AS BINARY(16)) AS `we``ird`, CAST(`v4` AS BINARY(4)) AS `v4` FROM `shop`.`odd``name`',
    );
  });

  it('knows the byte length of exactly the types the binlog describes as BINARY(n)', () => {
    expect(binaryFormBytes('uuid')).toBe(16);
    expect(binaryFormBytes(' inet6 ')).toBe(16);
    expect(binaryFormBytes('inet4')).toBe(4);
    for (const other of ['binary(16)', 'char(36)', 'varchar(45)', 'geometry']) expect(binaryFormBytes(other), other).toBeUndefined();
  });
});
