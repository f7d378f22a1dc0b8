/**
 * The gate measures freshness from the data's own latest day, so it could pass while the report
 * is for a day the marts do not reach (a report of zeros). The report job checks coverage of the
 * business date too, and the gate alert names both dates when they differ.
 */
import { describe, expect, it } from 'vitest';

import type { GateSummary } from '../../great_expectations/summary.ts';
import { renderGateAlert } from '../../report/alerts.ts';
import { coverageGate } from '../../scheduler/jobs/index.ts';

describe('coverageGate', () => {
  it('passes when the marts reach the business date, fails naming both dates otherwise', () => {
    expect(coverageGate('2024-05-01', '2024-05-01')).toBeUndefined();
    expect(coverageGate('2024-05-01', '2024-05-03')).toBeUndefined();
    const behind = coverageGate('2024-05-01', '2024-04-28');
    expect(behind).toMatchObject({ success: false, failed: 1 });
    expect(JSON.stringify(behind!.failures)).toContain('the latest day with orders is 2024-04-28; the report is for 2024-05-01');
    expect(coverageGate('2024-05-01', null)).toMatchObject({ success: false });
  });
});

describe('renderGateAlert', () => {
  const failed = { ...coverageGate('2024-05-01', '2024-04-28')!, checkedAt: '2024-05-02T08:00:00Z' } as GateSummary;

  it('names the data date beside the business date when they differ', () => {
    const alert = renderGateAlert('2024-05-01', [failed], '2024-04-28');
    expect(alert.subject).toContain('2024-05-01 (data up to 2024-04-28)');
    expect(alert.text).toContain('latest day with orders is 2024-04-28');
    expect(alert.html).toContain('2024-04-28');
    expect(alert.key).toBe('gate-failed:2024-05-01');
  });

  it('says nothing more when they are the same day', () => {
    const alert = renderGateAlert('2024-05-01', [failed], '2024-05-01');
    expect(alert.subject).not.toContain('data up to');
  });
});
