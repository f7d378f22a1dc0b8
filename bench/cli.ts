/**
 * `npm run bench -- NAME`: runs bench/NAME.ts. Each bench measures its own baselines in the
 * same run and prints the DESIGN.md JSON line last.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const available = (await readdir(dir)).filter((f) => f.endsWith('.ts') && f !== 'cli.ts').map((f) => f.replace(/\.ts$/, ''));
const name = process.argv[2];
if (!name || name === '--help' || name === '-h' || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [options]\n\nbenchmarks: ${available.join(', ')}\n`);
  process.exit(name && name !== '--help' && name !== '-h' ? 2 : 0);
}
process.argv.splice(2, 1);
await import(pathToFileURL(join(dir, `${name}.ts`)).href);
