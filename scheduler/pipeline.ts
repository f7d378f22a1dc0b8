/**
 * The real pipeline operations: dbt from the project's venv, the Great Expectations gates,
 * the morning report and alert mail (exactly once per key through ops.alerts_sent).
 */
import { join } from 'node:path';

import type { Config } from '../lib/config/index.ts';
import { sendAlert } from '../lib/mail/index.ts';
import type { Logger } from '../lib/logger.ts';
import { runGate, type GateSummary } from '../great_expectations/run.ts';
import { runDbt } from '../lib/dbt/run.ts';
import type { GateOutcome, PipelineOperations } from './operations.ts';
import { sendReportEmail, sendGateFailureEmail } from './report-adapter.ts';

export function realPipeline(config: Config, logger: Logger): PipelineOperations {
  return {
    dbt: async (args, options) => {
      const result = await runDbt(config, args, {
        signal: options.signal,
        // Its own target/ and logs/, so an analyst's `dbt` in dbt/ never clashes with the scheduler's.
        targetPath: join(config.dataDir, 'dbt', 'scheduler', 'target'),
        logPath: join(config.dataDir, 'dbt', 'scheduler', 'logs'),
        onLine: (line) => {
          options.onLine(line);
          options.logger.debug({ dbt: true }, line);
        },
      });
      return { outputTail: result.outputTail };
    },
    gate: (gate, options) => runGate(config, gate, { signal: options.signal, logger: options.logger, runId: options.runId }),
    sendReport: (input) => sendReportEmail(config, { ...input, gates: input.gates as GateSummary[] }, logger),
    sendGateFailureAlert: (input) => sendGateFailureEmail(config, { businessDate: input.businessDate, gates: input.gates as GateSummary[] }, logger),
    sendAlert: async (alert) => {
      const result = await sendAlert(config, alert, { logger });
      return result.sent;
    },
  };
}

export type { GateOutcome };
