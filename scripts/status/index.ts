/** Collects the status report: services first, then (if the warehouse answers) ingestors and pipeline. */
import type { Config } from '../../lib/config/index.ts';
import { diskRows } from './disk.ts';
import { overallOf, type Level, type Row, type StatusReport } from './model.ts';
import { pipelineRows } from './pipeline.ts';
import { lakeRows } from './lake.ts';
import { serviceRows } from './services.ts';

export { type StatusReport } from './model.ts';

export async function collectStatus(config: Config, now = new Date()): Promise<StatusReport> {
  const serviceOnly = await serviceRows(config);
  const services = [...serviceOnly, ...(await diskRows(config))];
  const warehouseUp = services.find((r) => r.name === 'postgres')?.level === 'ok';
  const pipelineResult = await pipelineRows(config, warehouseUp, now);
  // The lakehouse jobs are ingestors too (into Iceberg); only listed when the lakehouse is on.
  const ingestors = [...pipelineResult.ingestors, ...lakeRows(config, now)];
  const { pipeline } = pipelineResult;
  const all = [...services, ...ingestors, ...pipeline];
  const coreDown = serviceOnly.some((r) => r.name !== 'superset' && r.level === 'fail' && r.facts?.state !== 'up');
  return { checkedAt: now.toISOString(), services, ingestors, pipeline, overall: overallOf(all), serviceDown: coreDown };
}

const MARK: Record<Level, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', info: ' -  ' };
const COLOUR: Record<Level, string> = { ok: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m', info: '\x1b[2m' };

/** The one screen: a section per concern, one line per row, then what to do about each red or yellow row. */
export function formatStatus(report: StatusReport, options: { colour: boolean }): string {
  const paint = (level: Level, text: string) => (options.colour ? `${COLOUR[level]}${text}\x1b[0m` : text);
  const rows = [...report.services, ...report.ingestors, ...report.pipeline];
  const width = Math.max(...rows.map((r) => r.name.length));
  const section = (title: string, list: Row[]) =>
    [title, ...list.map((r) => `  ${paint(r.level, MARK[r.level])} ${r.name.padEnd(width)}  ${r.text}`)].join('\n');
  const todo = rows.filter((r) => (r.level === 'fail' || r.level === 'warn') && r.fix);
  const verdict =
    report.overall === 'ok'
      ? paint('ok', 'All good.')
      : paint(report.overall, `${todo.length} thing${todo.length === 1 ? ' needs' : 's need'} attention:`);
  const lines = [
    section('Services', report.services),
    section('Ingestors', report.ingestors),
    section('Pipeline', report.pipeline),
    '',
    verdict,
  ];
  for (const r of todo) lines.push(`  ${r.name}: ${r.fix}`);
  return `${lines.join('\n')}\n`;
}
