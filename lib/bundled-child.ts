/**
 * Runs a TypeScript entry point as plain JavaScript in a child node process with node flags of
 * its own (a bounded heap), for the long runs whose peak memory is a target (the generator).
 *
 * Why not tsx in the child: tsx transforms modules on a loader thread (a second V8 isolate) and
 * keeps every module's source and source map, ~40-50 MB of RSS for the generator. The entry is
 * bundled with esbuild instead (our code only: packages stay imports resolved from
 * node_modules), which takes a few hundred milliseconds, into node_modules/.cache/shopflow.
 * The bundle is not minified, so a stack trace names readable lines of it, each module marked
 * by a `// path/to/file.ts` comment.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { inheritedEnv } from './config/index.ts';
import { exitCodeFor } from './lifecycle.ts';
import { ROOT_DIR } from './root.ts';

export const BUNDLE_DIR = join(ROOT_DIR, 'node_modules', '.cache', 'shopflow');

/**
 * glibc malloc settings for the child, unless the caller's environment sets them. Large buffers
 * (Kafka requests, MariaDB statements) are allocated and freed all the time; with glibc's
 * adaptive mmap threshold they end up in the heap and its high-water mark stays in RSS. A fixed
 * threshold maps each one on its own and returns it on free; two arenas stop every helper
 * thread from keeping an arena of its own.
 */
const MALLOC_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

/** Bundles `entry` (absolute .ts path) and returns the .mjs path. Safe to run concurrently. */
export async function bundleEntry(entry: string): Promise<string> {
  const { build } = await import('esbuild');
  const name = relative(ROOT_DIR, entry).replace(/\.ts$/, '').replace(/[\\/]/g, '-');
  const out = join(BUNDLE_DIR, `${name}.mjs`);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'silent',
    outfile: out,
  });
  mkdirSync(BUNDLE_DIR, { recursive: true });
  // Written beside and renamed into place: two runs starting at once never read half a file.
  const partial = `${out}.${process.pid}.tmp`;
  writeFileSync(partial, result.outputFiles[0]!.contents);
  renameSync(partial, out);
  return out;
}

/**
 * Bundles `entry`, runs it with `nodeFlags` and this process's arguments, and resolves with its
 * exit status. Both stop signals are forwarded (a supervisor may signal this pid alone); the
 * child takes the copies a terminal's Ctrl-C also delivers to it directly as one (lifecycle.ts).
 */
export async function runBundledChild(entry: string, nodeFlags: readonly string[], onError: (message: string) => void): Promise<number> {
  let script: string;
  try {
    script = await bundleEntry(entry);
  } catch (error) {
    onError(`could not bundle ${relative(ROOT_DIR, entry)}: ${(error as Error).message}`);
    return 1;
  }
  const child = spawn(process.execPath, [...nodeFlags, script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: inheritedEnv(MALLOC_ENV),
  });
  process.on('SIGINT', () => child.kill('SIGINT'));
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return new Promise((resolve) => {
    child.on('error', (error) => {
      onError(`could not start: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? exitCodeFor(signal ?? 'SIGTERM')));
  });
}
