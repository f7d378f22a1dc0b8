import { describe, expect, it } from 'vitest';

import { copyText, encodeChange, type ChangeRecord } from '../../../ingest/cdc/change.ts';

const base: ChangeRecord = {
  sourceDatabase: 'shop',
  tableName: 'orders',
  operation: 'update',
  primaryKeyJson: '{"order_id":1}',
  beforeJson: '{"order_id":1,"note":"a\\tb"}',
  afterJson: '{"order_id":1,"note":"c:\\\\d"}',
  binlogFile: 'bin.000001',
  binlogPosition: 1234,
  rowIndex: 0,
  gtid: '0-1-5',
  snapshotId: null,
  sourceCommittedAt: '2026-01-31T12:00:00.000Z',
  ddl: null,
};

describe('COPY text encoding', () => {
  it('escapes backslash, tab, newline and carriage return, and writes NULL as \\N', () => {
    expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyText(null)).toBe('\\N');
  });

  it('emits one tab-separated line per change, with JSON backslashes doubled', () => {
    const line = encodeChange(base);
    expect(line.endsWith('\n')).toBe(true);
    const fields = line.slice(0, -1).split('\t');
    expect(fields).toHaveLength(13);
    expect(fields[4]).toBe('{"order_id":1,"note":"a\\\\tb"}');
    expect(fields[5]).toBe('{"order_id":1,"note":"c:\\\\\\\\d"}');
    expect(fields[10]).toBe('\\N');
  });

  it('keeps DDL text with newlines on one line', () => {
    const line = encodeChange({
      ...base,
      operation: 'schema_change',
      primaryKeyJson: null,
      beforeJson: null,
      afterJson: null,
      ddl: 'ALTER TABLE x\n ADD y INT',
    });
    expect(line.split('\n')).toHaveLength(2);
    expect(line).toContain('ALTER TABLE x\\n ADD y INT');
  });
});
