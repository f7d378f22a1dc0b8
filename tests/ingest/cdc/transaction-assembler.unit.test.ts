import { describe, expect, it } from 'vitest';

import { TransactionAssembler } from '../../../ingest/cdc/transaction-assembler.ts';

describe('TransactionAssembler', () => {
  it('hands on a transaction only at its commit, with every row positioned at the commit', () => {
    const assembler = new TransactionAssembler('shop');
    assembler.begin('0-1-10');
    assembler.rows('orders', 'insert', [{ order_id: 1, status: 'placed' }], ['order_id'], '0-1-10');
    assembler.rows(
      'orders',
      'update',
      [{ before: { order_id: 1, status: 'placed' }, after: { order_id: 1, status: 'paid' } }],
      ['order_id'],
      '0-1-10',
    );
    assembler.rows('order_items', 'delete', [{ order_item_id: 9 }], ['order_item_id'], '0-1-10');
    expect(assembler.pendingRows).toBe(3);
    const tx = assembler.commit('bin.000002', 900, Date.UTC(2026, 0, 31), null);
    expect(tx.gtid).toBe('0-1-10');
    expect(tx.changes.map((c) => [c.operation, c.rowIndex, c.binlogPosition, c.primaryKeyJson])).toEqual([
      ['insert', 0, 900, '{"order_id":1}'],
      ['update', 1, 900, '{"order_id":1}'],
      ['delete', 2, 900, '{"order_item_id":9}'],
    ]);
    expect(tx.changes[0]).toMatchObject({
      beforeJson: null,
      afterJson: '{"order_id":1,"status":"placed"}',
      sourceCommittedAt: '2026-01-31T00:00:00.000Z',
    });
    expect(tx.changes[2]).toMatchObject({ afterJson: null, beforeJson: '{"order_item_id":9}' });
    expect(assembler.isOpen).toBe(false);
  });

  it('drops a rolled back or superseded transaction entirely', () => {
    const assembler = new TransactionAssembler('shop');
    assembler.begin('0-1-11');
    assembler.rows('orders', 'insert', [{ order_id: 2 }], ['order_id'], '0-1-11');
    assembler.rollback();
    expect(assembler.commit('bin.000002', 1000, 0, null).changes).toEqual([]);
    assembler.begin('0-1-12');
    assembler.rows('orders', 'insert', [{ order_id: 3 }], ['order_id'], '0-1-12');
    // A new transaction start without a commit: the cut-off one never surfaces.
    assembler.begin('0-1-13');
    expect(assembler.commit('bin.000002', 1100, 0, null).changes).toEqual([]);
  });

  it('logs DDL as one row per table with the statement text', () => {
    const assembler = new TransactionAssembler('shop');
    const tx = assembler.ddl(
      [{ table: 'orders', operation: 'schema_change' }],
      'ALTER TABLE orders ADD note TEXT',
      'bin.000003',
      77,
      0,
      '0-1-14',
    );
    expect(tx.changes).toHaveLength(1);
    expect(tx.changes[0]).toMatchObject({
      operation: 'schema_change',
      tableName: 'orders',
      ddl: 'ALTER TABLE orders ADD note TEXT',
      primaryKeyJson: null,
    });
  });
});
