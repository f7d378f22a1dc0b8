/**
 * `npm run generate`: thin entry. Parses flags (every check before anything is written), loads
 * the config, runs the generator, prints the summary, exits with an honest status:
 * 0 done, 2 bad flags or config, 1 failure, 130/143 stopped by a signal.
 */
import { runBundledChild } from '../lib/bundled-child.ts';
import { EXIT } from '../lib/cli/exit-codes.ts';
import { runCommand, type CommandSpec } from '../lib/cli/run.ts';
import { loadConfig } from '../lib/config/index.ts';
import { exitCodeFor, watchStopSignals } from '../lib/lifecycle.ts';
import { createLogger } from '../lib/logger.ts';
import { HELP, parseGenerateArgs } from './args.ts';

const generate: CommandSpec = {
  name: 'generate',
  help: HELP,
  async main(argv, context) {
    const config = context.config();
    const parsed = parseGenerateArgs(argv, Date.now(), config.dataDir);
    if (parsed === 'help') {
      process.stdout.write(HELP);
      return EXIT.ok;
    }
    const options = parsed;
    const logger = createLogger('generator', config);
    const abort = new AbortController();
    let signalled: NodeJS.Signals | null = null;
    watchStopSignals(
      (signal) => {
        signalled = signal;
        logger.warn({ signal }, 'signal received: finishing the batch in flight, then stopping (send again to force)');
        abort.abort();
      },
      (signal) => {
        logger.warn({ signal }, 'second signal: exiting without finishing the batch in flight');
        process.exit(exitCodeFor(signal));
      },
    );
    // Loaded here, not at the top: the launching process (below) never needs the generator.
    const { runGenerate } = await import('./run.ts');
    const { formatSummary } = await import('./summary.ts');
    const summary = await runGenerate(options, config, logger, { signal: abort.signal });
    process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
    if (signalled) return exitCodeFor(signalled);
    return EXIT.ok;
  },
};

/**
 * V8 grows its heap lazily when the machine has plenty of memory, so a long generation would
 * sit at far more RSS than it needs. The generator runs in a child process (bundled to plain
 * JavaScript, lib/bundled-child.ts) with a bounded old generation: the live set is the shop's
 * state plus a batch in the making and one being written (~90 MB at the end of a 10x world). The young
 * generation is small: a batch's messages are bytes outside the heap (world/message-log.ts), so
 * what the simulation allocates dies young and a small young generation costs no extra
 * collection time. Started with these flags already (a profiling run, or the child itself), it
 * runs in this process.
 */
const HEAP_FLAGS = ['--max-old-space-size=512', '--max-semi-space-size=8'];

/**
 * Under that cap V8 lets the old generation grow only ~1.4x past what survived the last full
 * collection, and a small world (live set ~30 MB) was collected in full several times a second:
 * the default world took 48-60 s to both sinks. Letting it double (live set x 2) there took
 * 42-44 s at about the same peak RSS (~180 MB; Kafka alone 44 -> 32 s).
 *
 * A big world goes the other way: its live set grows to ~90 MB (10x), and the ~1.4x headroom
 * on top of it took the 10x world's peak RSS to 311-316 MB; growing by 1.2x gave 289-295 MB,
 * by 1.1x 283 MB. The extra full collections are spread over a run of eight to ten minutes.
 */
const SMALL_WORLD_CUSTOMERS = 25_000;
const SMALL_WORLD_FLAGS = ['--heap-growing-percent=100'];
const BIG_WORLD_FLAGS = ['--heap-growing-percent=10'];

/** The child's heap flags for these arguments; bad arguments get the defaults (the child reports them). */
function heapFlagsFor(argv: string[]): string[] {
  try {
    const options = parseGenerateArgs(argv, Date.now(), loadConfig().dataDir);
    if (options !== 'help' && options.mode === 'backfill') {
      return [...HEAP_FLAGS, ...(options.customers <= SMALL_WORLD_CUSTOMERS ? SMALL_WORLD_FLAGS : BIG_WORLD_FLAGS)];
    }
  } catch {
    // Reported by the child, which parses the same arguments.
  }
  return HEAP_FLAGS;
}

const inChild = process.execArgv.some((a) => a.startsWith('--max-old-space-size'));
process.exitCode = inChild
  ? await runCommand(generate, process.argv.slice(2))
  : await runBundledChild(import.meta.filename, heapFlagsFor(process.argv.slice(2)), (message) =>
      process.stderr.write(`generate: ${message}\n`),
    );
