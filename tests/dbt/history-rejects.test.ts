/**
 * A history export with a DBA's kind of mistakes (docs/history.md, "Rows left out"): a date in
 * another format, a negative quantity, an order line whose order is missing, an order id given
 * to two different orders. Each bad row reaches the operator with its file, line and a reason
 * to act on (staging.stg_history__rejects, marts.ops_staging_rejects, the marts gate); the rest
 * of the export still builds the marts, to figures worked out by hand from the sample export
 * (Velo Bern, 2011, CHF) less the orders left out. Landing corrected files clears the rejects.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startCli } from '../../bench/lib/shop-pipeline.ts';
import { runGate } from '../../great_expectations/run.ts';
import { ROOT_DIR } from '../../lib/config/index.ts';
import { stagingRejectsStatus } from '../../scripts/status/rejects.ts';
import { scratchFolder } from '../ingest/files/support.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { dbtRunner, withPg } from './helpers.ts';

const EXAMPLE = join(ROOT_DIR, 'ingest', 'files', 'examples', 'history');
const SELECT = ['+revenue_daily', '+fct_order_items', '+ops_staging_rejects'];
// A dbt build (or a GX run) takes minutes on a busy 2-core machine.
const SLOW = { timeout: 600_000 };

let warehouse: TestWarehouse;
let runner: ReturnType<typeof dbtRunner>;
const folder = scratchFolder('history-rejects');
const exportFile = (name: string) => join(folder.path, 'export', name);

/** The sample export's file with `edit` applied to its lines (the header is line 1). */
function editExport(name: string, edit: (lines: string[]) => string[]): void {
  const lines = readFileSync(join(EXAMPLE, 'export', name), 'utf8')
    .trimEnd()
    .split('\n');
  writeFileSync(exportFile(name), `${edit(lines).join('\n')}\n`);
}

const replaceLine = (lines: string[], startsWith: string, line: string) => {
  const index = lines.findIndex((l) => l.startsWith(startsWith));
  if (index < 0) throw new Error(`no line starting ${startsWith}`);
  return lines.map((l, i) => (i === index ? line : l));
};

function landExport(): Promise<void> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[key]) env[key] = process.env[key];
  return startCli('ingest/files/cli.ts', ['--config', join(folder.path, 'history.yaml')], {
    ...env,
    WAREHOUSE_URL: warehouse.adminUrl,
    LOG_LEVEL: 'warn',
    CI: 'true',
  }).done;
}

const query = <T extends Record<string, unknown>>(sql: string) =>
  withPg(warehouse.adminUrl, async (client) => (await client.query<T>(sql)).rows);

async function revenue() {
  const [row] = await query(
    `select sum(order_count)::int as orders, sum(gross_revenue)::text as gross, sum(net_revenue)::text as net
       from marts.revenue_daily`,
  );
  return row;
}

beforeAll(async () => {
  warehouse = await createTestWarehouse('dbt_history_rejects');
  runner = dbtRunner(warehouse.config);
  cpSync(EXAMPLE, folder.path, { recursive: true });
  // Order 103 placed "2011-02-12 19:00": ISO, where the export's dialect says DD.MM.YYYY HH:mm.
  editExport('orders.csv', (lines) => [
    ...replaceLine(lines, '103;', '103;3;2011-02-12 19:00;delivered;CHF;245.50;;;;;CH;ZH;Zürich;8001'),
    // A second order numbered 107 (Marc's, in June): two orders, one id.
    '107;2;04.06.2011 15:30;delivered;CHF;89.90;;;;;CH;VD;Lausanne;1003',
  ]);
  editExport('order_lines.csv', (lines) => [
    // Four inner tubes taken back, typed as a negative quantity on the original order.
    ...replaceLine(lines, '1005;', '1005;104;505;VB-TUBE-28;"Inner tube 28""";Parts;-4;16.20;;'),
    // A line of order 199, which the orders file does not have.
    '1013;199;502;VB-LOCK;Folding lock;Accessories;1;89.90;;',
  ]);
}, 120_000);

afterAll(async () => {
  runner?.cleanup();
  await warehouse?.drop();
  folder.remove();
});

describe('a history export with bad rows', () => {
  it('lists every bad row with its file, line and reason, and the marts build without them', SLOW, async () => {
    await landExport();
    const build = await runner.dbt(['build', '--indirect-selection', 'cautious', '--select', ...SELECT]);
    expect(build.exitCode ?? 0).toBe(0);

    const rejects = await query(
      `select source_name, table_name, row_id::int, file_name, file_version, line_number::int, reason
         from staging.stg_history__rejects order by file_name, line_number`,
    );
    const tail = ', and an order is staged with all its lines or not at all';
    const duplicate =
      'order_id 107 is on lines 8, 12 of orders.csv with different values: give each order its own id, or delete the wrong row';
    expect(rejects).toEqual([
      {
        source_name: 'history_order_lines',
        table_name: 'order_items',
        row_id: 1003,
        file_name: 'order_lines.csv',
        file_version: 1,
        line_number: 4,
        reason:
          "its order 103 is in neither the export's orders nor the live shop (the orders files have rows refused at landing, listed here with their lines and reasons)",
      },
      {
        source_name: 'history_order_lines',
        table_name: 'order_items',
        row_id: 1004,
        file_name: 'order_lines.csv',
        file_version: 1,
        line_number: 5,
        reason:
          "its order 103 is in neither the export's orders nor the live shop (the orders files have rows refused at landing, listed here with their lines and reasons)",
      },
      {
        source_name: 'history_order_lines',
        table_name: 'order_items',
        row_id: 1005,
        file_name: 'order_lines.csv',
        file_version: 1,
        line_number: 6,
        reason: 'quantity -4 is not a positive number of units (a return is an order with status returned or refunded)',
      },
      {
        source_name: 'history_order_lines',
        table_name: 'order_items',
        row_id: 1008,
        file_name: 'order_lines.csv',
        file_version: 1,
        line_number: 9,
        reason: `its order 107 was left out (${duplicate})`,
      },
      {
        source_name: 'history_order_lines',
        table_name: 'order_items',
        row_id: 1013,
        file_name: 'order_lines.csv',
        file_version: 1,
        line_number: 14,
        reason:
          "its order 199 is in neither the export's orders nor the live shop (the orders files have rows refused at landing, listed here with their lines and reasons)",
      },
      {
        source_name: 'history_orders',
        table_name: 'orders',
        row_id: null,
        file_name: 'orders.csv',
        file_version: 1,
        line_number: 4,
        reason:
          'refused at landing: orders.csv: line 4, column placed_at: "2011-02-12 19:00" is not a valid timestamp in the format DD.MM.YYYY HH:mm',
      },
      {
        source_name: 'history_orders',
        table_name: 'orders',
        row_id: 104,
        file_name: 'orders.csv',
        file_version: 1,
        line_number: 5,
        reason: `its line 1005 (order_lines.csv line 6) was left out${tail}`,
      },
      {
        source_name: 'history_orders',
        table_name: 'orders',
        row_id: 107,
        file_name: 'orders.csv',
        file_version: 1,
        line_number: 8,
        reason: duplicate,
      },
      {
        source_name: 'history_orders',
        table_name: 'orders',
        row_id: 107,
        file_name: 'orders.csv',
        file_version: 1,
        line_number: 12,
        reason: duplicate,
      },
    ]);

    // The rest of the export is in the marts: the sample's 10 orders less 103, 104 and 107
    // (245.50, 64.80, 2,480.00); net also leaves out 105 (cancelled, 310.00) and 106 (refunded, 129.00).
    expect(await revenue()).toEqual({ orders: 7, gross: '2061.85', net: '1622.85' });
    expect(await query('select order_item_id::int from marts.fct_order_items order by 1')).toEqual(
      [1001, 1002, 1006, 1007, 1009, 1010, 1011, 1012].map((order_item_id) => ({ order_item_id })),
    );

    // The operator's list: every staging reject, the history's with file and line.
    const mart = await query(
      `select source_table, record_key, file_name, file_line::int, source_position, is_resolved, rejected_record
         from marts.ops_staging_rejects where source_name = 'history' order by file_name, file_line, record_key`,
    );
    expect(mart).toHaveLength(9);
    expect(mart[5]).toEqual({
      source_table: 'history_orders',
      record_key: null,
      file_name: 'orders.csv',
      file_line: 4,
      source_position: 'orders.csv line 4, version 1',
      is_resolved: false,
      rejected_record: { line: '103;3;2011-02-12 19:00;delivered;CHF;245.50;;;;;CH;ZH;Z\\303\\274rich;8001' },
    });
    expect(mart[2]).toMatchObject({
      source_table: 'history_order_lines',
      record_key: '1005',
      source_position: 'order_lines.csv line 6, version 1',
      rejected_record: expect.objectContaining({ order_item_id: 1005, order_id: 104, quantity: -4, unit_price: 16.2 }),
    });
  });

  it('shows them in npm run status, with the first one and the fix', async () => {
    const row = await stagingRejectsStatus(warehouse.config);
    expect(row).toMatchObject({
      name: 'staging rejects',
      level: 'warn',
      text: '9 rows left out of the marts: history 9 (first: history orders.csv line 4, version 1: refused at landing: orders.csv: line 4, column placed_at: "2011-02-12 19:00" is not a valid timestamp in the format DD.MM.YYYY HH:mm)',
    });
    expect(row.fix).toMatch(
      /^`select source_name, source_position, reject_reason from marts.ops_staging_rejects where not is_resolved` lists them/,
    );
  });

  it('fails the marts gate naming the history rejects', SLOW, async () => {
    const summary = await runGate({ ...warehouse.config, GATE_SOURCES: ['files'] }, 'marts');
    expect(summary.success).toBe(false);
    const rejects = summary.failures.filter((f) => f.suite === 'marts_ops_staging_rejects');
    expect(rejects.map((f) => f.expectation)).toEqual(['rejects: every source row staging could not type is resolved']);
    expect(rejects[0]!.details).toContain('"source_name": "history"');
    expect(rejects[0]!.details).toContain('"unresolved_rejects": 9');
    expect(rejects[0]!.details).toContain('"source_tables": "history_order_lines, history_orders"');
    expect(rejects[0]!.details).toContain('"first_position": "order_lines.csv line 14, version 1"');

    // The raw gate sees the landing: one row in eleven of orders.csv refused is over its 5 %.
    const raw = await runGate({ ...warehouse.config, GATE_SOURCES: ['files'] }, 'raw');
    const files = raw.failures.filter((f) => f.suite === 'raw_files');
    expect(files.map((f) => f.expectation)).toEqual([
      'rejects: under 5% of the rows of each file landed in the last 24 hours were dead-lettered',
    ]);
    expect(files[0]!.details).toContain('"file_name": "orders.csv"');
    expect(files[0]!.details).toContain('"rows_dead": 1');
  });

  it('clears the rejects when corrected files land, and the marts count every order', SLOW, async () => {
    for (const name of ['orders.csv', 'order_lines.csv']) cpSync(join(EXAMPLE, 'export', name), exportFile(name));
    await landExport();
    // A new version of an export file is read by a full build (docs/history.md).
    await runner.dbt(['build', '--full-refresh', '--indirect-selection', 'cautious', '--select', ...SELECT]);
    expect(await query('select count(*)::int as n from marts.ops_staging_rejects')).toEqual([{ n: 0 }]);
    expect(await stagingRejectsStatus(warehouse.config)).toMatchObject({ level: 'ok', text: 'none unresolved' });
    expect(await revenue()).toEqual({ orders: 10, gross: '4852.15', net: '4413.15' });
  });
});
