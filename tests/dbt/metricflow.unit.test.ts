/**
 * The mf query wrapper without a warehouse: arguments as MetricFlow's CLI takes them, and its
 * CSV read back exactly (quoted commas, quotes and newlines in dimension values; empty cells for
 * a ratio on a day without a denominator). The queries themselves run in metrics.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { MetricQueryError, mfQueryArgs, parseCsv } from '../../lib/dbt/metricflow.ts';

describe('mf query arguments', () => {
  it('passes metrics, group-bys, filters, bounds and order, and always writes CSV quietly', () => {
    expect(
      mfQueryArgs(
        {
          metrics: ['gross_revenue', 'orders'],
          groupBy: ['metric_time__day', 'order__order_status'],
          where: ["{{ Dimension('order__order_status') }} = 'paid'"],
          startTime: '2026-01-01',
          endTime: '2026-01-31',
          order: ['-metric_time__day'],
        },
        '/tmp/out.csv',
      ),
    ).toEqual([
      'query',
      '--metrics',
      'gross_revenue,orders',
      '--group-by',
      'metric_time__day,order__order_status',
      '--where',
      "{{ Dimension('order__order_status') }} = 'paid'",
      '--start-time',
      '2026-01-01',
      '--end-time',
      '2026-01-31',
      '--order',
      '-metric_time__day',
      '--csv',
      '/tmp/out.csv',
      '--quiet',
    ]);
  });

  it('refuses a query without a metric', () => {
    expect(() => mfQueryArgs({ metrics: [] }, '/tmp/out.csv')).toThrow(MetricQueryError);
  });
});

describe('CSV from mf', () => {
  it('reads quoted fields, doubled quotes, CRLF and empty cells', () => {
    const csv =
      'metric_time__day,country,average_order_value\r\n2026-01-01 00:00:00,"Bonn, ""DE""",12.5\r\n2026-01-02 00:00:00,"two\nlines",\r\n';
    expect(parseCsv(csv)).toEqual([
      { metric_time__day: '2026-01-01 00:00:00', country: 'Bonn, "DE"', average_order_value: '12.5' },
      { metric_time__day: '2026-01-02 00:00:00', country: 'two\nlines', average_order_value: '' },
    ]);
  });

  it('reads a header without rows as no rows, and a last line without a newline', () => {
    expect(parseCsv('orders\n')).toEqual([]);
    expect(parseCsv('orders\n7')).toEqual([{ orders: '7' }]);
  });
});
