/**
 * Column names and types of the marts, read from their dbt contracts
 * (dbt/models/marts/**\/_*__models.yml), so every dataset offers analysts exactly the columns
 * the model guarantees, with the model's own descriptions. A description that uses a dbt docs
 * block ({{ doc('customer_id') }}, dbt/models/docs/) gets the block's text, as dbt docs shows it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parse } from 'yaml';

import { ROOT_DIR } from '../../lib/config/index.ts';

export interface ContractColumn {
  name: string;
  dataType: string;
  description?: string;
}

const MODELS_DIR = join(ROOT_DIR, 'dbt', 'models');
const MARTS_DIR = join(MODELS_DIR, 'marts');

function filesEnding(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesEnding(join(dir, e.name), pattern) : pattern.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Every `{% docs name %}...{% enddocs %}` block under dbt/models, text with its lines joined. */
export function docsBlocks(dir = MODELS_DIR): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const file of filesEnding(dir, /\.md$/)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\{%-?\s*docs\s+(\w+)\s*-?%\}([\s\S]*?)\{%-?\s*enddocs\s*-?%\}/g))
      blocks.set(m[1]!, m[2]!.trim().replace(/\s+/g, ' '));
  }
  return blocks;
}

/** A description with each {{ doc('name') }} replaced by its block; an unknown block is an error, as in dbt. */
export function renderDocs(description: string, blocks: Map<string, string>): string {
  return description
    .replace(/\{\{\s*doc\(\s*['"](\w+)['"]\s*\)\s*\}\}/g, (_, name: string) => {
      const block = blocks.get(name);
      if (block === undefined) throw new Error(`no dbt docs block named ${name} under dbt/models (used in a mart's description)`);
      return block;
    })
    .trim();
}

let cache: Map<string, ContractColumn[]> | undefined;

export function martContracts(): Map<string, ContractColumn[]> {
  if (cache) return cache;
  cache = new Map();
  const blocks = docsBlocks();
  for (const file of filesEnding(MARTS_DIR, /\.ya?ml$/)) {
    const doc = parse(readFileSync(file, 'utf8')) as {
      models?: { name: string; columns?: { name: string; data_type?: string; description?: string }[] }[];
    } | null;
    for (const model of doc?.models ?? []) {
      if (!model.columns) continue;
      cache.set(
        model.name,
        model.columns.map((c) => ({
          name: c.name,
          dataType: (c.data_type ?? 'text').toUpperCase(),
          ...(c.description ? { description: renderDocs(c.description, blocks) } : {}),
        })),
      );
    }
  }
  return cache;
}

export function contractColumns(table: string): ContractColumn[] {
  const columns = martContracts().get(table);
  if (!columns) throw new Error(`no dbt contract for marts.${table} under dbt/models/marts: the dataset cannot be built`);
  return columns;
}
