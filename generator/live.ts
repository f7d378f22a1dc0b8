/** Live mode: streams the shop in real time, continuing from the state already in MariaDB. */
import type { Config } from '../lib/config/index.ts';
import { UsageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Manifest } from './anomalies/manifest.ts';
import type { GenerateOptions } from './args.ts';
import type { OpenSinks, RunHooks } from './run.ts';
import type { RunSummary } from './summary.ts';

export async function runLive(_options: GenerateOptions, _config: Config, _logger: Logger, _opened: OpenSinks, _manifest: Manifest | null, _hooks: RunHooks): Promise<RunSummary> {
  throw new UsageError('--live is not available yet');
}
