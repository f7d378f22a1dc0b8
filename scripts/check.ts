/**
 * `npm run check [-- NAME...]`: the static checks CI runs before the test suite (`npm test` runs
 * them from `pretest`): types, lint, formatting, SQL style over dbt/, and the generated docs and
 * the committed GX context being up to date. Each check is a child process; two run at a time (these machines have two cores).
 * A failed check prints its output and the command that fixes it, and the run exits 1.
 */
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { runCli, type CliContext } from '../lib/cli/run.ts';
import { childEnv, ROOT_DIR } from '../lib/config/index.ts';
import { ProcessFailedError, UsageError } from '../lib/errors.ts';
import { runProcess } from '../lib/process.ts';

interface Check {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  /** Variables beyond the common ones. */
  env?: Record<string, string>;
  /** The command as a person would type it. */
  shown: string;
  /** What to run (or do) to make the check pass. */
  fix: string;
}

const bin = (name: string) => join(ROOT_DIR, 'node_modules', '.bin', name);
const tsx = (script: string, ...args: string[]) => [process.execPath, ['--import', 'tsx', script, ...args]] as const;

function checks(venvDir: string): Check[] {
  const venv = relative(join(ROOT_DIR, 'dbt'), venvDir);
  const [node, schemaArgs] = tsx('scripts/docs-schemas.ts', 'schema', '--check');
  const [, eventsArgs] = tsx('scripts/docs-schemas.ts', 'events', '--check');
  // Slowest first, so the two lanes finish close together.
  return [
    {
      name: 'sql',
      command: join(venvDir, 'bin', 'sqlfluff'),
      args: ['lint', '--processes', '2', '--disable-progress-bar', '--nocolor'],
      cwd: join(ROOT_DIR, 'dbt'),
      // Python's multiprocessing warns about a leaked semaphore when sqlfluff's workers exit: noise.
      env: { PYTHONWARNINGS: 'ignore' },
      shown: `cd dbt && ${venv}/bin/sqlfluff lint`,
      fix: `cd dbt && ${venv}/bin/sqlfluff fix <file> fixes layout and case; the rest by hand (rules: dbt/.sqlfluff)`,
    },
    {
      name: 'lint',
      command: bin('eslint'),
      args: ['.'],
      shown: 'npx eslint .',
      fix: 'npx eslint --fix . fixes some; the rest by hand (npm run lint re-checks)',
    },
    {
      name: 'types',
      command: bin('tsc'),
      args: ['--noEmit'],
      shown: 'npx tsc --noEmit',
      fix: 'fix the type errors listed above (npm run typecheck re-checks)',
    },
    {
      name: 'format',
      command: bin('prettier'),
      args: ['--check', '.'],
      shown: 'npx prettier --check .',
      fix: 'npm run format (prettier --write .), then commit',
    },
    {
      name: 'docs:schema',
      command: node,
      args: [...schemaArgs],
      shown: 'npm run docs:schema -- --check',
      fix: 'npm run docs:schema, then commit docs/source-schema.md',
    },
    {
      name: 'gx:context',
      command: join(venvDir, 'bin', 'python'),
      args: ['great_expectations/gate/build_context.py', '--check'],
      env: { GX_ANALYTICS_ENABLED: 'false' },
      shown: `${relative(ROOT_DIR, venvDir)}/bin/python great_expectations/gate/build_context.py --check`,
      fix: `${relative(ROOT_DIR, venvDir)}/bin/python great_expectations/gate/build_context.py, then commit great_expectations/gx/`,
    },
    {
      name: 'docs:events',
      command: node,
      args: [...eventsArgs],
      shown: 'npm run docs:events -- --check',
      fix: 'npm run docs:events, then commit docs/events.schema.json',
    },
  ];
}

interface Outcome {
  check: Check;
  ok: boolean;
  seconds: number;
  output: string;
}

async function runCheck(check: Check, env: Record<string, string>): Promise<Outcome> {
  const started = Date.now();
  const done = (ok: boolean, output: string): Outcome => ({ check, ok, seconds: (Date.now() - started) / 1000, output });
  const lines: string[] = [];
  try {
    await runProcess(check.command, check.args, {
      cwd: check.cwd ?? ROOT_DIR,
      env: { ...env, ...check.env },
      timeoutMs: 10 * 60_000,
      onLine: (line) => lines.push(line),
    });
    return done(true, '');
  } catch (error) {
    // Spawn failures (a missing venv) have no output of their own: the error message says it.
    if (error instanceof ProcessFailedError) return done(false, lines.length > 0 ? lines.join('\n') : error.message);
    throw error;
  }
}

const HELP = `Usage: npm run check [-- NAME...]

The static checks CI runs before the test suite (npm test runs them from pretest): lint, types,
format, docs:schema, docs:events, gx:context and sql, two at a time; or only the NAMEs given.
A failed check prints its output and the command that fixes it.
`;

async function main(argv: string[], context: CliContext): Promise<number> {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const config = context.config();
  const all = checks(resolve(config.rootDir, config.PYTHON_VENV));
  const unknown = positionals.filter((name) => !all.some((check) => check.name === name));
  if (unknown.length > 0) {
    throw new UsageError(`no check named ${unknown.join(', ')}; the checks are ${all.map((c) => c.name).join(', ')}`);
  }
  const chosen = positionals.length > 0 ? all.filter((check) => positionals.includes(check.name)) : all;
  // Colour codes would clutter CI logs; FORCE_COLOR=0 keeps the tools plain.
  const env = childEnv({ FORCE_COLOR: '0', NO_COLOR: '1' });
  const started = Date.now();
  const queue = [...chosen];
  const outcomes: Outcome[] = [];
  const lane = async () => {
    for (let check = queue.shift(); check; check = queue.shift()) {
      const outcome = await runCheck(check, env);
      outcomes.push(outcome);
      process.stdout.write(`check: ${check.name.padEnd(12)} ${outcome.ok ? 'ok' : 'FAILED'} (${outcome.seconds.toFixed(1)}s)\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(2, availableParallelism()) }, lane));
  const failed = outcomes.filter((outcome) => !outcome.ok);
  for (const { check, output } of failed) {
    process.stderr.write(`\n--- check ${check.name} failed: ${check.shown}\n`);
    process.stderr.write(`${output.trimEnd()}\n`);
    process.stderr.write(`--- to fix: ${check.fix}\n`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failed.length === 0) {
    process.stdout.write(`check: all ${chosen.length} passed in ${seconds}s\n`);
    return 0;
  }
  process.stderr.write(`\ncheck: ${failed.map(({ check }) => check.name).join(', ')} failed (${seconds}s); the fix for each is above\n`);
  return 1;
}

await runCli({ name: 'check', help: HELP, main });
