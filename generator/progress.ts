/**
 * Progress on stderr: a cli-progress bar on a terminal, plain lines (every 10%) in CI or when
 * stderr is not a TTY, nothing with --quiet.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, detail: string): void;
  stop(): void;
}

export function createProgress(total: number, unit: string, options: { quiet: boolean; ci: boolean }): Progress {
  if (options.quiet || total <= 0) return { update: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY && !options.ci) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `generating [{bar}] {percentage}% | {value}/{total} ${unit} | {detail} | ETA {eta_formatted}`,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { detail: '' });
    return { update: (done, detail) => bar.update(done, { detail }), stop: () => bar.stop() };
  }
  let nextReport = 0.1;
  return {
    update(done, detail) {
      if (done / total + 1e-9 >= nextReport || done === total) {
        process.stderr.write(`generating: ${done}/${total} ${unit} (${Math.round((100 * done) / total)}%) ${detail}\n`);
        while (nextReport <= done / total + 1e-9) nextReport += 0.1;
      }
    },
    stop: () => undefined,
  };
}
