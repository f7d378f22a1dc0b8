/**
 * Process lifetimes: teardowns registered as soon as a resource exists and run in reverse;
 * first SIGTERM/SIGINT drains, a second one forces; an unref'd watchdog so a hung close
 * cannot pin the process.
 */
import type { Logger } from './logger.ts';

type Releaser = () => Promise<void> | void;

export class Releasers {
  readonly #stack: { name: string; release: Releaser }[] = [];
  #released = false;

  add(name: string, release: Releaser): void {
    if (this.#released) throw new Error(`cannot register ${name}: already released`);
    this.#stack.push({ name, release });
  }

  /** Runs every teardown, last registered first; keeps going past failures and throws the first. */
  async releaseAll(logger?: Logger): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    let first: unknown;
    while (this.#stack.length > 0) {
      const { name, release } = this.#stack.pop()!;
      try {
        await release();
      } catch (error) {
        logger?.warn({ err: error, resource: name }, 'release failed');
        first ??= error;
      }
    }
    if (first !== undefined) throw first;
  }
}

export interface ShutdownOptions {
  logger: Logger;
  /** Called on the first signal: finish and commit the work in flight, then resolve. */
  drain: (signal: NodeJS.Signals) => Promise<void>;
  /** How long a drain may take before the process exits anyway. */
  forceAfterMs?: number;
}

/**
 * How close together two deliveries of the same signal count as one. `npm run` forwards the
 * Ctrl-C that the terminal already sent to the whole process group, and a launching process
 * forwards the SIGTERM it got: the same request arrives twice within milliseconds, and must not
 * read as the second signal that forces.
 */
export const REPEATED_SIGNAL_WINDOW_MS = 300;

/**
 * Calls `onFirst` on the first SIGTERM/SIGINT and `onAgain` on any later one, except a repeat of
 * the same signal within REPEATED_SIGNAL_WINDOW_MS (a relayed copy). Returns a function that
 * removes the handlers.
 */
export function watchStopSignals(onFirst: (signal: NodeJS.Signals) => void, onAgain: (signal: NodeJS.Signals) => void): () => void {
  let first: { signal: NodeJS.Signals; at: number } | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (first === null) {
      first = { signal, at: now };
      onFirst(signal);
    } else if (signal !== first.signal || now - first.at >= REPEATED_SIGNAL_WINDOW_MS) {
      onAgain(signal);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

export function exitCodeFor(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/** First stop signal: abort `controller` (with `reason`); a second one exits 130/143 at once. */
export function abortOnStopSignals(controller: AbortController, reason?: unknown): () => void {
  return watchStopSignals(
    () => controller.abort(reason),
    (signal) => process.exit(exitCodeFor(signal)),
  );
}

/**
 * Installs SIGTERM/SIGINT handling. Returns a function that removes the handlers.
 * First signal: drain, then exit 0. Second signal (or the watchdog): exit 130/143 at once.
 */
export function handleShutdownSignals(options: ShutdownOptions): () => void {
  return watchStopSignals(
    (signal) => {
      options.logger.info({ signal }, 'signal received: draining in-flight work (send again to force)');
      const watchdog = setTimeout(() => {
        options.logger.error({ signal, forceAfterMs: options.forceAfterMs }, 'drain took too long: forcing exit');
        process.exit(exitCodeFor(signal));
      }, options.forceAfterMs ?? 30_000);
      watchdog.unref();
      options
        .drain(signal)
        .then(() => {
          options.logger.info('drained, exiting');
          process.exit(0);
        })
        .catch((error: unknown) => {
          options.logger.error({ err: error }, 'drain failed');
          process.exit(1);
        });
    },
    (signal) => {
      options.logger.warn({ signal }, 'second signal: forcing exit without draining');
      process.exit(exitCodeFor(signal));
    },
  );
}
