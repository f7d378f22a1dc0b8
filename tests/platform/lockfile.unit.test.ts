/**
 * `npm ci` on a fresh clone refuses a lock file that omits any optional dependency, even one for
 * another platform ("Missing: @napi-rs/canvas-darwin-arm64@1.1.1 from lock file"). A lock file
 * written where the registry served only this machine's binaries looked complete here and broke
 * every other install; this pins that each declared optional package has its own entry.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { ROOT_DIR } from '../../lib/config/index.ts';

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
}

it('package-lock.json lists every optional dependency of every package, for all platforms', () => {
  const lock = JSON.parse(readFileSync(join(ROOT_DIR, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      // npm resolves a dependency in the package's own node_modules first, then up the tree.
      const candidates: string[] = [];
      for (let dir = path; ; dir = dir.replace(/\/?node_modules\/(?:@[^/]+\/)?[^/]+$/, '')) {
        candidates.push(`${dir ? `${dir}/` : ''}node_modules/${name}`);
        if (!dir) break;
      }
      if (!candidates.some((candidate) => candidate in lock.packages)) missing.push(`${name} (for ${path || 'the root'})`);
    }
  }
  expect(missing, 'run `npm install` with a registry that serves every platform, then commit package-lock.json').toEqual([]);
});
