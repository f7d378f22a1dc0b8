/**
 * Column names and types of the marts, read from their dbt contracts
 * (dbt/models/marts/**\/_*__models.yml), so every dataset offers analysts exactly the columns
 * the model guarantees, with the model's own descriptions.
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

const MARTS_DIR = join(ROOT_DIR, 'dbt', 'models', 'marts');

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

let cache: Map<string, ContractColumn[]> | undefined;

export function martContracts(): Map<string, ContractColumn[]> {
  if (cache) return cache;
  cache = new Map();
  for (const file of yamlFiles(MARTS_DIR)) {
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
          ...(c.description ? { description: c.description.trim() } : {}),
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
