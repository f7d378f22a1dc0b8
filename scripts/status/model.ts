/**
 * What `npm run status` reports: each row is green, yellow or red with one line of text, and a
 * red or yellow row says what to do. The JSON form (`--json`) is this object as it is.
 */
export type Level = 'ok' | 'warn' | 'fail' | 'info';

export interface Row {
  name: string;
  level: Level;
  /** One short line: "up 17.6 at 127.0.0.1:54329", "caught up, last batch 3 min ago". */
  text: string;
  /** What to do, for warn and fail rows. */
  fix?: string;
  /** Machine-readable figures behind the text. */
  facts?: Record<string, unknown>;
}

export interface StatusReport {
  checkedAt: string;
  services: Row[];
  ingestors: Row[];
  pipeline: Row[];
  /** Worst level over all rows: ok, warn or fail (info rows never count). */
  overall: 'ok' | 'warn' | 'fail';
  /** Some service is unreachable (status exits 69 then, rather than 1). */
  serviceDown: boolean;
}

const RANK: Record<Level, number> = { info: 0, ok: 0, warn: 1, fail: 2 };

export function overallOf(rows: readonly Row[]): StatusReport['overall'] {
  const worst = Math.max(0, ...rows.map((r) => RANK[r.level]));
  return worst === 2 ? 'fail' : worst === 1 ? 'warn' : 'ok';
}

/** "3 min ago", "2 h ago", "4 d ago": the age a person reads at a glance. */
export function ago(then: Date | null | undefined, now: Date): string {
  if (!then) return 'never';
  const s = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
