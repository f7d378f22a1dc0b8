/** Rows for the lakehouse's streaming jobs, shown beside the ingestors when LAKEHOUSE_ENABLED. */
import type { Config } from '../../lib/config/index.ts';
import { lakeJobStates } from '../../lib/lakehouse/status.ts';
import type { Row } from './model.ts';

export function lakeRows(config: Config, now: Date): Row[] {
  if (!config.LAKEHOUSE_ENABLED) return [];
  return lakeJobStates(config).map((state): Row => {
    const ago = state.lastBatchAt ? `, last batch ${Math.round((now.getTime() - state.lastBatchAt.getTime()) / 1000)} s ago` : '';
    const facts = { pid: state.pid, lastBatchAt: state.lastBatchAt?.toISOString(), log: state.logFile };
    return state.pid
      ? { name: `lake ${state.job}`, level: 'ok', text: `running (pid ${state.pid})${ago}`, facts }
      : { name: `lake ${state.job}`, level: 'warn', text: `stopped${ago}`, fix: `npm run lake -- start ${state.job}`, facts };
  });
}
