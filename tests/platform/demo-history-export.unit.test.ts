/**
 * The demo's copy of the history example (`--sources history`): as it is when the history
 * stands alone, and with every id moved up by HISTORY_ID_OFFSET beside a live shop, whose ids
 * would otherwise be taken for the export's (docs/history.md, "The live shop too"). Nothing but
 * the id columns changes, quoted fields included.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../lib/root.ts';
import { HISTORY_ID_OFFSET, writeHistoryExport } from '../../scripts/demo/more-sources.ts';

const EXAMPLE = join(ROOT_DIR, 'ingest', 'files', 'examples', 'history');
const FILES = ['customers.csv', 'orders.csv', 'order_lines.csv'];
const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-history-'));
  dirs.push(dir);
  return dir;
};
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the demo history export', () => {
  it('alone: the example config and export as they are', async () => {
    const dir = scratch();
    const written = await writeHistoryExport(ROOT_DIR, dir, false);
    expect(written).toEqual({ configPath: join(dir, 'history.yaml'), rows: 28 });
    expect(read(dir, 'history.yaml')).toBe(read(EXAMPLE, 'history.yaml'));
    for (const file of FILES) expect(read(dir, join('export', file))).toBe(read(EXAMPLE, join('export', file)));
  });

  it('beside a live shop: every id moved up by the offset, every other field unchanged', async () => {
    const dir = scratch();
    await writeHistoryExport(ROOT_DIR, dir, true);
    expect(HISTORY_ID_OFFSET).toBe(1_000_000_000);
    expect(read(dir, 'export/orders.csv').split('\n')[1]).toBe(
      "1000000101;1000000001;05.01.2011 10:20;delivered;CHF;1'249.00;1'199.00;;50.00;;CH;BE;Bern;3011",
    );
    expect(read(dir, 'export/order_lines.csv').split('\n')[1]).toBe(
      '1000001001;1000000101;1000000501;VB-CITY-28;"City bike 28""";Bikes;1;1\'199.00;;',
    );
    expect(read(dir, 'export/customers.csv').split('\n')[6]).toBe(
      '1000000006;jan.brunner@example.ch;Jan;Brunner;+41 61 555 02 02;CH;BS;Basel;4051;Freie Strasse 8;01.03.2011 12:00',
    );
    // Headers and row counts as the example's.
    for (const file of FILES) {
      const [header, ...rows] = read(dir, join('export', file)).trimEnd().split('\n');
      const [exampleHeader, ...exampleRows] = read(EXAMPLE, join('export', file)).trimEnd().split('\n');
      expect(header).toBe(exampleHeader);
      expect(rows).toHaveLength(exampleRows.length);
    }
  });
});
