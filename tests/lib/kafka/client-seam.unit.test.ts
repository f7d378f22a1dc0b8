/**
 * The Kafka client library is named in its adapter files only (lib/kafka/kafkajs-*.ts), behind
 * RecordSource, EventProducer and TopicAdmin, so replacing it is a change to lib/kafka alone.
 * A direct import elsewhere would quietly make the swap touch that folder too. Tests may use
 * kafkajs as an independent client to check what reached the broker.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { expect, it } from 'vitest';

import { ROOT_DIR } from '../../../lib/config/index.ts';

const SOURCE_DIRS = ['lib', 'ingest', 'generator', 'scheduler', 'report', 'great_expectations', 'dashboards', 'scripts', 'bench'];

function* typescriptFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* typescriptFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

it('only lib/kafka/kafkajs-*.ts import kafkajs', () => {
  const importers: string[] = [];
  for (const dir of SOURCE_DIRS) {
    for (const file of typescriptFiles(join(ROOT_DIR, dir))) {
      if (/from 'kafkajs(\/[^']*)?'|require\('kafkajs/.test(readFileSync(file, 'utf8'))) importers.push(relative(ROOT_DIR, file));
    }
  }
  expect(importers.filter((file) => !/^lib\/kafka\/kafkajs-[\w-]+\.ts$/.test(file))).toEqual([]);
  expect(importers.length).toBeGreaterThan(0);
});
