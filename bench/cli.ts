/**
 * `npm run bench -- NAME [options]`: runs bench/NAME.ts. Each bench measures its own baselines
 * in the same run and prints the DESIGN.md JSON line last. `NAME --help` prints the bench's own
 * description (its header comment) without starting it.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { EXIT } from '../lib/cli/exit-codes.ts';
import { runCli } from '../lib/cli/run.ts';
import { UsageError } from '../lib/errors.ts';

const dir = import.meta.dirname;
const available = (await readdir(dir)).filter((f) => f.endsWith('.ts') && f !== 'cli.ts').map((f) => f.replace(/\.ts$/, ''));

const HELP = `Usage: npm run bench -- NAME [options]

Runs one benchmark. Each measures its baselines (a ceiling and a naive implementation) in the
same run and prints, as its last line, one JSON object (DESIGN.md, Benchmarks).

Benchmarks: ${available.join(', ')}
  npm run bench -- NAME --help   what NAME measures and its options

Environment: the same as every command (.env.example); benchmarks use the configured services.`;

/** A bench's header comment, as its help: the first block comment, without the stars. */
async function benchHelp(name: string): Promise<string> {
  const source = await readFile(join(dir, `${name}.ts`), 'utf8');
  const block = /^\/\*\*([\s\S]*?)\*\//.exec(source)?.[1] ?? '';
  const text = block
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
  return `Usage: npm run bench -- ${name} [options]\n\n${text}\n`;
}

await runCli(
  {
    name: 'bench',
    help: HELP,
    flagsFirstOnly: true,
    async main(argv) {
      const [name, ...rest] = argv;
      if (!name) throw new UsageError(`name a benchmark: ${available.join(', ')}`);
      if (!available.includes(name)) throw new UsageError(`unknown benchmark "${name}"; choose from ${available.join(', ')}`);
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(await benchHelp(name));
        return EXIT.ok;
      }
      // The bench reads its own flags from process.argv, as if it were the entry point.
      process.argv.splice(2, 1);
      await import(pathToFileURL(join(dir, `${name}.ts`)).href);
      return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
    },
  },
  { graceMs: 30_000 },
);
