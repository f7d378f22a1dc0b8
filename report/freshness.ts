/**
 * Freshness in words, shared by the HTML and text parts. Two separate statements per source:
 * how far its data reaches (newest business time against the end of the as-of day), and when
 * it was last loaded (wall clock, against the report's own time). A history from 1998 loaded
 * this morning is both "data up to 1998-06-30" and "loaded 0.2 h ago"; saying one number for
 * both told a reader "0.0 h ok" about a 1998 date.
 */
import { formatHours, shortTime } from './format.ts';
import type { GateSummary } from '../great_expectations/summary.ts';
import type { FreshnessRow } from './model.ts';

export const FRESHNESS_STATUS_LABEL: Record<FreshnessRow['status'], string> = { ok: 'ok', stale: 'behind', unknown: 'no data' };

export function dataFreshness(row: FreshnessRow, businessDate: string): string {
  if (!row.latestAt) return `No data up to ${businessDate}.`;
  return `Newest ${shortTime(row.latestAt)} UTC, ${formatHours(row.lagHours)} before the end of ${businessDate}.`;
}

export function loadFreshness(row: FreshnessRow): string {
  if (!row.loadedAt) return 'Nothing loaded yet.';
  return `Last loaded ${shortTime(row.loadedAt)} UTC, ${formatHours(row.loadAgeHours)} before this report.`;
}

/**
 * Sources the report is built from that no gate checked (not configured in GATE_SOURCES and
 * never landed). Files and the REST APIs feed no section of the report, so a shop without
 * them is not news to its readers.
 */
const REPORTED_SOURCES: ReadonlySet<string> = new Set(['database', 'clickstream']);

export function uncheckedSources(gates: readonly GateSummary[]): string[] {
  const checked = new Set(gates.flatMap((g) => (g.sources ?? []).filter((s) => s.checked).map((s) => s.source)));
  return [...new Set(gates.flatMap((g) => (g.sources ?? []).filter((s) => !s.checked).map((s) => s.source)))].filter(
    (s) => !checked.has(s) && REPORTED_SOURCES.has(s),
  );
}

export function uncheckedSentence(sources: readonly string[]): string {
  return `Not checked: ${sources.join(', ')} (not in GATE_SOURCES and never landed: this shop does not have it).`;
}

/** The funnel needs the clickstream; a shop without one gets a sentence, not an empty chart. */
export const NO_CLICKSTREAM = 'No clickstream: this shop sends no events, so there are no sessions to show.';

export function withoutClickstream(gates: readonly GateSummary[]): boolean {
  return uncheckedSources(gates).includes('clickstream');
}
