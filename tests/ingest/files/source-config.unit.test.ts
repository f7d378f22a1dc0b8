import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../../../lib/errors.ts';
import { loadSourceConfig, parseSourceConfig } from '../../../ingest/files/source-config.ts';

const valid = {
  sources: [
    {
      name: 'supplier_prices',
      folder: 'prices',
      table: 'supplier_prices',
      keys: ['sku'],
      columns: [
        { name: 'sku', type: 'text' },
        { name: 'price', type: 'numeric' },
      ],
      csv: { delimiter: ';', decimal: ',' },
    },
  ],
};

const dir = mkdtempSync(join(tmpdir(), 'files-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(document: unknown): string {
  try {
    parseSourceConfig(document, 'sources.yaml', '/base');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('file sources config', () => {
  it('fills defaults and resolves the folder against the config file', () => {
    const [source] = parseSourceConfig(valid, 'sources.yaml', '/base');
    expect(source!.folderPath).toBe('/base/prices');
    expect(source!.csv).toMatchObject({
      header: true,
      delimiter: ';',
      quote: '"',
      encoding: 'utf8',
      decimal: ',',
      dateFormat: 'YYYY-MM-DD',
    });
    expect(source!.pattern).toBe('*.csv');
    expect(source!.maxBadRows).toBe(1000);
  });

  it('names every problem and where it is in one sentence', () => {
    const bad = structuredClone(valid) as { sources: Record<string, unknown>[] };
    bad.sources[0]!['keys'] = ['id'];
    bad.sources[0]!['csv'] = { delimiter: ';;', decimal: ',', thousands: ',' };
    const message = refusal(bad);
    expect(message).toMatch(/^file sources config sources\.yaml is invalid: /);
    expect(message).toContain('sources[0].keys: key "id" is not a declared column');
    expect(message).toContain('sources[0].csv.delimiter: delimiter must be exactly one character');
    expect(message.split('\n')).toHaveLength(1);
  });

  it('refuses unknown settings, unknown types, duplicate columns and duplicate sources', () => {
    expect(refusal({ sources: [{ ...valid.sources[0], delimeter: ';' }] })).toContain('delimeter');
    expect(refusal({ sources: [{ ...valid.sources[0], columns: [{ name: 'sku', type: 'money' }] }] })).toContain(
      'sources[0].columns[0].type',
    );
    expect(
      refusal({
        sources: [
          {
            ...valid.sources[0],
            columns: [
              { name: 'sku', type: 'text' },
              { name: 'sku', type: 'integer' },
            ],
          },
        ],
      }),
    ).toContain('column "sku" is declared twice');
    expect(refusal({ sources: [valid.sources[0], valid.sources[0]] })).toContain('source "supplier_prices" is declared twice');
    expect(refusal({ sources: [{ ...valid.sources[0], csv: { dateFormat: 'DD/MM/YY' } }] })).toContain('dateFormat');
  });

  it("refuses a column named like one raw_files.<source> keeps for itself, and says how to keep the file's name", () => {
    const source = valid.sources[0]!;
    const message = refusal({ sources: [{ ...source, columns: [...source.columns, { name: 'line_number', type: 'integer' }] }] });
    expect(message).toContain('sources[0].columns: column "line_number" is a name raw_files.<source> keeps for itself');
    expect(message).toContain('header: "line_number"');
  });

  it('reads YAML from a file and says which file cannot be read or parsed', () => {
    const path = join(dir, 'ok.yaml');
    writeFileSync(
      path,
      'sources:\n  - name: s\n    folder: in\n    table: t\n    keys: [id]\n    columns:\n      - { name: id, type: integer }\n',
    );
    expect(loadSourceConfig(path)[0]!.folderPath).toBe(join(dir, 'in'));
    writeFileSync(join(dir, 'broken.yaml'), 'sources: [\n');
    expect(() => loadSourceConfig(join(dir, 'broken.yaml'))).toThrow(/broken\.yaml is not valid YAML/);
    expect(() => loadSourceConfig(join(dir, 'absent.yaml'))).toThrow(/absent\.yaml cannot be read/);
  });
});
