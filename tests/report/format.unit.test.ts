/** Escaping, dates and number formatting used by every rendered figure. */
import { describe, expect, it } from 'vitest';

import {
  addDays,
  change,
  escapeHtml,
  formatChange,
  formatCountOf,
  formatHours,
  formatMoney,
  formatPercent,
  formatPointChange,
  isIsoDate,
  pointChange,
  shownDirection,
} from '../../report/format.ts';

describe('escapeHtml', () => {
  it('escapes every character that can open markup or break out of an attribute', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(42)).toBe('42');
  });
});

describe('dates', () => {
  it('accepts only real calendar dates as YYYY-MM-DD', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(isIsoDate('2024-2-1')).toBe(false);
    expect(isIsoDate('yesterday')).toBe(false);
  });
  it('moves across month and year ends in UTC', () => {
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2026-03-17', -7)).toBe('2026-03-10');
  });
});

describe('numbers', () => {
  it('formats money, percentages and relative changes, with a dash for missing values', () => {
    expect(formatMoney(1234.5)).toBe('$1,235');
    expect(formatMoney(1234.5, true)).toBe('$1,234.50');
    expect(formatMoney(null)).toBe('–');
    expect(formatPercent(0.1234)).toBe('12.3%');
    expect(change(110, 100)).toBeCloseTo(0.1);
    expect(change(5, 0)).toBeNull();
    expect(formatChange(0.1)).toBe('+10.0%');
    expect(formatChange(-0.25)).toBe('−25.0%');
    expect(formatChange(null)).toBe('n/a');
  });
  it('puts a count and its noun in agreement: one is singular, zero and many are plural', () => {
    expect(formatCountOf(1, 'unit')).toBe('1 unit');
    expect(formatCountOf(0, 'unit')).toBe('0 units');
    expect(formatCountOf(2, 'unit')).toBe('2 units');
    expect(formatCountOf(1200, 'unit')).toBe('1,200 units');
    expect(formatCountOf(3, 'entry', 'entries')).toBe('3 entries');
    expect(formatHours(49)).toBe('2\u00a0days');
  });
  it('compares rates in percentage points, not as a relative change of a percentage', () => {
    expect(formatPointChange(pointChange(0.25, 0.2))).toBe('+5.0 pp');
    expect(formatPointChange(pointChange(0.02, 0.025))).toBe('−0.5 pp');
    expect(formatPointChange(pointChange(null, 0.2))).toBe('n/a');
  });
  it('shows a change that rounds to nothing as ±0.0, neither up nor down', () => {
    expect(formatPointChange(pointChange(0.0499, 0.04994))).toBe('±0.0 pp');
    expect(formatChange(-0.0004)).toBe('±0.0%');
    expect(formatChange(0.0004)).toBe('±0.0%');
    expect(formatChange(0)).toBe('±0.0%');
    expect(shownDirection(-0.0004)).toBe(0);
    expect(shownDirection(-0.0006)).toBe(-1);
    expect(formatChange(-0.0006)).toBe('−0.1%');
    expect(shownDirection(0.001)).toBe(1);
  });
});
