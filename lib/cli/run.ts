/**
 * The one CLI runner every `npm run` entry goes through: `--help` and `--version` handled the
 * same way everywhere, the command's own work, and every failure mapped to one sentence and a
 * documented exit code (lib/cli/exit-codes.ts). The stack is printed only at LOG_LEVEL=debug
 * or trace, so a person sees the cause and the fix, not a trace.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadConfig, type Config } from '../config/index.ts';
import { coerceError } from '../errors.ts';
import { ROOT_DIR } from '../root.ts';
import { EXIT } from './exit-codes.ts';
import { explainError } from './explain.ts';

export const EXIT_STATUS_HELP =
  'Exit status: 0 ok, 1 failed, 2 usage or configuration error, 69 a service is unreachable,\n73 a disk is nearly full (docs/operations.md#exit-codes).';

export interface CliContext {
  /** Loads (once) and validates the configuration; the runner uses it to name services in errors. */
  config(): Config;
}

export interface CommandSpec {
  /** The npm script name, e.g. `ingest:kafka`; the usage text starts `Usage: npm run <name>`. */
  name: string;
  help: string;
  /**
   * Only the first argument is looked at for --help/--version: the rest belongs to a wrapped
   * tool (`npm run dbt -- build --help` is dbt's help) or to a sub-command (`bench NAME --help`).
   */
  flagsFirstOnly?: boolean;
  main(argv: string[], context: CliContext): Promise<number>;
}

let cachedVersion: string | undefined;

export function shopflowVersion(): string {
  cachedVersion ??= (JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string }).version;
  return cachedVersion;
}

/** The help text with the common exit-status footer, unless the command documents its own. */
export function helpText(spec: Pick<CommandSpec, 'help'>): string {
  const body = spec.help.trimEnd();
  return `${body}${/^Exit status:/m.test(body) ? '' : `\n\n${EXIT_STATUS_HELP}`}\n`;
}

function wants(argv: string[], flags: readonly string[], firstOnly: boolean): boolean {
  if (firstOnly) return argv[0] !== undefined && flags.includes(argv[0]);
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => flags.includes(a));
}

function debugWanted(config: Config | undefined): boolean {
  return config !== undefined && (config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace');
}

/** Runs a command to its exit code; never throws. */
export async function runCommand(spec: CommandSpec, argv: string[]): Promise<number> {
  const firstOnly = spec.flagsFirstOnly ?? false;
  if (wants(argv, ['--version', '-V'], firstOnly)) {
    process.stdout.write(`${spec.name} (shopflow ${shopflowVersion()})\n`);
    return EXIT.ok;
  }
  if (wants(argv, ['--help', '-h'], firstOnly)) {
    process.stdout.write(helpText(spec));
    return EXIT.ok;
  }
  let config: Config | undefined;
  const context: CliContext = {
    config: () => (config ??= loadConfig()),
  };
  try {
    return await spec.main(argv, context);
  } catch (thrown) {
    const explained = explainError(thrown, config);
    process.stderr.write(`${spec.name}: ${explained.sentence}\n`);
    if (debugWanted(config)) process.stderr.write(`${coerceError(thrown).stack ?? ''}\n`);
    return explained.exitCode;
  }
}

/**
 * The entry point's last line: runs the command and sets the exit code. A stray handle (a
 * driver's timer, a half-closed socket) must not keep a finished command alive, so an unref'd
 * timer exits after `graceMs` if the event loop did not empty by itself.
 */
export async function runCli(spec: CommandSpec, options: { graceMs?: number } = {}): Promise<void> {
  process.exitCode = await runCommand(spec, process.argv.slice(2));
  setTimeout(() => process.exit(process.exitCode ?? 0), options.graceMs ?? 5_000).unref();
}
