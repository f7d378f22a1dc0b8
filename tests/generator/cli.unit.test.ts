/**
 * The CLI as a user starts it: under tsx, it bundles the generator and runs the bundle in a
 * child process with its heap flags; help and flag errors come back with their exit status.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { BUNDLE_DIR } from '../../lib/bundled-child.ts';
import { ROOT_DIR } from '../../lib/root.ts';

function generate(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'generator', 'cli.ts'), ...args], {
    cwd: ROOT_DIR,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('generate CLI', () => {
  it('prints its help from the bundled child and exits 0', () => {
    const startedAt = Date.now();
    const run = generate('--help');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run generate/);
    const bundle = join(BUNDLE_DIR, 'generator-cli.mjs');
    expect(existsSync(bundle)).toBe(true);
    expect(statSync(bundle).mtimeMs).toBeGreaterThanOrEqual(startedAt - 1_000);
  });

  it('rejects an unknown flag with exit 2 and says what to do', () => {
    const run = generate('--scale', '10', '--bogus');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("generate: Unknown option '--bogus'");
    expect(run.stderr).toContain('--help');
  });
});
