/**
 * The gate's source names have one home, lib/config/schema.ts GATE_SOURCE_NAMES (what
 * GATE_SOURCES accepts and what the gate summary's zod schema reads); the Python gate keeps its
 * own tuple, SOURCE_NAMES, and one suite list per source. A source added on one side only would
 * be refused by the config or never checked by the gate.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { GATE_SOURCE_NAMES } from '../../lib/config/index.ts';
import { ROOT_DIR } from '../../lib/root.ts';

const SOURCES_PY = join(ROOT_DIR, 'great_expectations', 'gate', 'sources.py');

describe('gate source names', () => {
  it('are the same in the config and in great_expectations/gate/sources.py, each with its suites and landed column', async () => {
    const python = await readFile(SOURCES_PY, 'utf8');
    const tuple = /^SOURCE_NAMES = \(([^)]*)\)/m.exec(python)?.[1];
    expect(tuple, 'SOURCE_NAMES tuple in sources.py').toBeDefined();
    const names = [...tuple!.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
    expect(names).toEqual([...GATE_SOURCE_NAMES]);
    for (const name of GATE_SOURCE_NAMES) {
      expect(python, `SOURCE_SUITES has ${name}`).toMatch(new RegExp(`^ {4}"${name}": \\{`, 'm'));
      // Both gates' landed queries give a column per source.
      expect(python.match(new RegExp(`as ${name}_landed\\b`, 'g'))?.length, `${name}_landed in both queries`).toBe(2);
    }
  });
});
