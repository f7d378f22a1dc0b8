/**
 * The project root, found from this file's own location: the nearest directory above it whose
 * package.json is ShopFlow's. Walking up (rather than a fixed `../..`) keeps paths right when
 * this module runs from a bundle (lib/bundle.ts writes those under node_modules/.cache).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'shopflow';

export function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) throw new Error(`no ${PACKAGE_NAME} package.json above ${from}`);
  }
}

export const ROOT_DIR = findProjectRoot(import.meta.dirname);
