/**
 * `npm run bench -- gate`: wall time of the Great Expectations gates on the current warehouse
 * (WAREHOUSE_URL, e.g. after `npm run demo`), run through the same Python runner runGate uses
 * but without writing ops.gate_results, so the warehouse's ledger is untouched.
 *
 * value: seconds for the raw gate. baselines: the floor every run pays (Python start, GX import
 * and loading the file context, no validation), the marts gate, and rendering the report's
 * charts and HTML from sample data (no warehouse). ratio_to_ceiling = raw gate / floor.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadConfig } from '../lib/config/index.ts';
import { runProcess } from '../lib/process.ts';
import { gateEnv, pythonPath } from '../great_expectations/run.ts';
import { renderCharts } from '../report/charts/index.ts';
import { renderHtml } from '../report/html.ts';
import { sampleReportData } from '../report/sample-data.ts';
import { printBenchResult, round, timed } from './lib/result.ts';

const config = loadConfig();
const env = gateEnv(config);
const python = pythonPath(config);
const runner = join(config.rootDir, 'great_expectations', 'gate', 'run_gate.py');
const out = mkdtempSync(join(tmpdir(), 'shopflow-bench-gate-'));

async function gate(name: 'raw' | 'marts'): Promise<number> {
  const { seconds } = await timed(() =>
    // Exit 1 (expectations failed) still measures a full run; anything else is an error.
    runProcess(python, [runner, '--gate', name, '--summary', join(out, `${name}.json`)], { env, cwd: config.rootDir }).catch(
      (error: { exitCode?: number }) => {
        if (error.exitCode !== 1) throw error;
      },
    ),
  );
  return seconds;
}

const floorScript = [
  'import great_expectations as gx',
  `gx.get_context(mode="file", project_root_dir=${JSON.stringify(join(config.rootDir, 'great_expectations'))})`,
].join('\n');
const floor = (await timed(() => runProcess(python, ['-c', floorScript], { env, cwd: config.rootDir }))).seconds;
const raw = await gate('raw');
const marts = await gate('marts');

const data = sampleReportData();
const renders: number[] = [];
for (let i = 0; i < 5; i++) {
  const start = process.hrtime.bigint();
  renderHtml(data, renderCharts(data), 'data-uri');
  renders.push(Number(process.hrtime.bigint() - start) / 1e6);
}
renders.sort((a, b) => a - b);

process.stdout.write(
  `gx floor ${round(floor)} s, raw gate ${round(raw)} s, marts gate ${round(marts)} s, report render median ${round(renders[2]!)} ms\n`,
);
printBenchResult({
  bench: 'gate',
  metric: 'raw_gate_seconds',
  unit: 's',
  value: round(raw),
  baselines: { gx_start_floor_seconds: round(floor), marts_gate_seconds: round(marts) },
  ratio_to_ceiling: round(raw / floor),
  extra: { report_render_median_ms: round(renders[2]!, 1) },
});
