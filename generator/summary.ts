/** The end-of-run summary: rows per table, events per type, anomalies, time and rates. */
import type { WriteCounts } from './sinks/mariadb.ts';

export interface RunSummary {
  mode: 'backfill' | 'live';
  seed: number;
  window: { from: string; to: string; days: number } | null;
  seconds: number;
  rows: WriteCounts;
  rowsTotal: number;
  events: Record<string, number>;
  eventsTotal: number;
  anomalies: Record<string, number>;
  manifest: string | null;
  rowsPerSecond: number;
  eventsPerSecond: number;
  sinks: string[];
  peakRssMb: number;
}

export function formatSummary(s: RunSummary): string {
  const lines: string[] = [];
  const n = (x: number) => x.toLocaleString('en');
  lines.push(
    `Generated (${s.mode}, seed ${s.seed}${s.window ? `, ${s.window.from} .. ${s.window.to}, ${s.window.days} days` : ''}) in ${s.seconds.toFixed(1)} s, sinks: ${s.sinks.join(', ') || 'none (dry run)'}`,
  );
  lines.push('', '  table          inserted    updated');
  for (const table of Object.keys(s.rows.inserted) as (keyof WriteCounts['inserted'])[]) {
    lines.push(`  ${table.padEnd(12)} ${n(s.rows.inserted[table]).padStart(10)} ${n(s.rows.upserted[table]).padStart(10)}`);
  }
  lines.push('', '  event type           messages');
  for (const [type, count] of Object.entries(s.events).sort()) lines.push(`  ${type.padEnd(18)} ${n(count).padStart(10)}`);
  if (s.manifest !== null) {
    lines.push('', '  anomaly                          count');
    for (const [kind, count] of Object.entries(s.anomalies).sort()) lines.push(`  ${kind.padEnd(30)} ${n(count).padStart(7)}`);
    lines.push(`  manifest: ${s.manifest}`);
  }
  lines.push(
    '',
    `  ${n(s.rowsTotal)} rows (${n(Math.round(s.rowsPerSecond))}/s), ${n(s.eventsTotal)} messages (${n(Math.round(s.eventsPerSecond))}/s), peak RSS ${s.peakRssMb.toFixed(0)} MB`,
  );
  return lines.join('\n');
}
