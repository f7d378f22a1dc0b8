/**
 * One pass over every declared REST source: each is pulled from its cursor until the API has
 * nothing newer (puller.ts). A source that fails (its API down past every retry, a refused
 * token, records out of order) is reported and the others are still pulled; a warehouse error
 * stops the pass.
 */
import type pg from 'pg';

import { coerceError, ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { HttpPolicy } from './http.ts';
import { pullSource, type PullSummary } from './puller.ts';
import type { ApiSource } from './source-config.ts';

export interface ApiPassSummary {
  pulled: PullSummary[];
  failed: { source: string; error: ShopflowError }[];
}

export async function pullSources(
  pool: pg.Pool,
  sources: readonly ApiSource[],
  options: { token: string; policy: HttpPolicy; logger: Logger; signal: AbortSignal },
): Promise<ApiPassSummary> {
  const summary: ApiPassSummary = { pulled: [], failed: [] };
  for (const source of sources) {
    if (options.signal.aborted) break;
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      const pulled = await pullSource(client, source, options);
      summary.pulled.push(pulled);
      options.logger.info({ ...pulled }, 'source pulled');
    } catch (error) {
      // Stopped by a signal: what committed stays, the page in flight is asked for again next time.
      if (options.signal.aborted) break;
      if (!(error instanceof ShopflowError) || !(error.code.startsWith('API_') || error.code === 'SHOPFLOW_SERVICE_UNAVAILABLE')) {
        broken = coerceError(error);
        throw error;
      }
      summary.failed.push({ source: source.name, error });
      options.logger.error({ source: source.name, code: error.code }, error.message);
    } finally {
      client.release(broken);
    }
  }
  return summary;
}
