/**
 * npm run gate -- [--gate raw|marts|all] [--full] [--run-id UUID] [--json]
 * Runs the Great Expectations gate(s); exit codes as every command (lib/cli/exit-codes.ts).
 */
import { parseArgs } from 'node:util';

import { EXIT } from '../lib/cli/exit-codes.ts';
import { assertPortAnswers } from '../lib/cli/preflight.ts';
import { runCli } from '../lib/cli/run.ts';
import { UsageError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { runGate } from './run.ts';
import { GATE_NAMES, type GateName, type GateSummary } from './summary.ts';

const HELP = `Usage: npm run gate -- [options]

Runs the data quality gate: a Great Expectations checkpoint over the raw landing tables
(read as role transformer) and/or the marts (read as role bi_reader). Writes a JSON summary
under out/gate/, rebuilds the Data Docs (great_expectations/gx/uncommitted/data_docs/) and
records the result in ops.gate_results.

Options:
  --gate raw|marts|all   which gate to run (default: all, raw first)
  --full                 raw gate: check every row, not only the rows loaded since the last
                         passed raw gate (the nightly job's full pass; docs/quality-gate.md)
  --run-id UUID          scheduler run this belongs to (stored in ops.gate_results)
  --json                 print the summaries as JSON instead of text
  -h, --help             show this help

Environment:
  WAREHOUSE_URL, WAREHOUSE_TRANSFORMER_PASSWORD, WAREHOUSE_BI_PASSWORD, WAREHOUSE_OPS_PASSWORD
  GATE_SOURCES           sources the shop has: database, clickstream, files, api (comma list)
                         or none; one that has ever landed is checked too (default
                         database,clickstream)
  PYTHON_VENV            venv with great-expectations (default .venv; npm run setup creates it)
  LOG_LEVEL

Exit status: 0 passed, 1 expectations failed (or the gate could not run), 2 usage or
configuration error, 69 the warehouse is unreachable (docs/operations.md#exit-codes).`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parse(argv: string[]): { gates: GateName[]; runId?: string; json: boolean; full: boolean } | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        gate: { type: 'string', default: 'all' },
        'run-id': { type: 'string' },
        json: { type: 'boolean', default: false },
        full: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const gate = values.gate;
  if (gate !== 'all' && !GATE_NAMES.includes(gate as GateName))
    throw new UsageError(`--gate must be raw, marts or all (got ${JSON.stringify(gate)})`);
  const runId = values['run-id'];
  if (runId !== undefined && !UUID.test(runId)) throw new UsageError(`--run-id must be a UUID (got ${JSON.stringify(runId)})`);
  return {
    gates: gate === 'all' ? [...GATE_NAMES] : [gate as GateName],
    ...(runId ? { runId } : {}),
    json: values.json,
    full: values.full,
  };
}

function printText(summary: GateSummary): void {
  const status = summary.success ? 'passed' : 'FAILED';
  process.stdout.write(`gate ${summary.gate}: ${status} (${summary.evaluated} expectations, ${summary.failed} failed)\n`);
  if (summary.window) process.stdout.write(`  checked row by row: ${summary.window.scope} (${summary.window.reason})\n`);
  for (const f of summary.failures)
    process.stdout.write(`  - ${f.suite}: ${f.expectation}${f.column ? ` [${f.column}]` : ''}\n      ${f.details}\n`);
  for (const source of summary.sources ?? []) {
    if (!source.checked) process.stdout.write(`  skipped ${source.source}: not in GATE_SOURCES and never landed\n`);
  }
  process.stdout.write(`  summary: ${summary.summaryPath}\n`);
  if (summary.dataDocsPath) process.stdout.write(`  data docs: ${summary.dataDocsPath}\n`);
}

await runCli({
  name: 'gate',
  help: HELP,
  async main(argv, context) {
    const args = parse(argv);
    if (args === 'help') {
      process.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    }
    const config = context.config();
    const logger = createLogger('gate', config);
    await assertPortAnswers(config.WAREHOUSE_URL, 5432, 'the Postgres warehouse');
    const summaries: GateSummary[] = [];
    for (const gate of args.gates)
      summaries.push(
        await runGate(config, gate, { logger, scope: args.full ? 'full' : 'incremental', ...(args.runId ? { runId: args.runId } : {}) }),
      );
    if (args.json) process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`);
    else summaries.forEach(printText);
    return summaries.every((s) => s.success) ? EXIT.ok : EXIT.failed;
  },
});
