/** Data operations: is the data fresh, did the runs and the gate pass, what was rejected. */
import type { DashboardSpec } from '../model.ts';

export const OPERATIONS: DashboardSpec = {
  slug: 'data-operations',
  title: 'Data operations',
  description: 'Source freshness, the pipeline run ledger, quality gate results and dead letters.',
  rows: [
    [{ markdown: '## Data operations\nFreshness, runs, gate results and dead letters appear here once the operations marts are built.', width: 12, height: 20 }],
  ],
};
