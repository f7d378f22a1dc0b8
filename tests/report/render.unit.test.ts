/**
 * Rendering without a warehouse: hostile strings from the data come out escaped in HTML, the
 * mail version refers to its images by cid: and the saved version embeds them, the layout is
 * one column of at most 640px, and the charts are real PNGs.
 */
import { describe, expect, it } from 'vitest';

import { renderCharts } from '../../report/charts/index.ts';
import { renderGateAlert } from '../../report/alerts.ts';
import { renderHtml } from '../../report/html.ts';
import { sampleReportData } from '../../report/sample-data.ts';
import { renderText } from '../../report/text.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('report HTML', () => {
  const data = sampleReportData();
  const images = renderCharts(data);

  it('escapes markup that comes from the data', () => {
    const html = renderHtml(data, images, 'cid');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<b>& Games</b>');
    expect(html).toContain('Toys &lt;b&gt;&amp; Games&lt;/b&gt;');
    expect(html).toContain('Trail running shoes &quot;Ridge&quot;');
    expect(html.match(/<script/gi)).toBeNull();
  });

  it('refers to every chart by cid: in the mail and embeds it as a data: URI in the saved file', () => {
    const mail = renderHtml(data, images, 'cid');
    const saved = renderHtml(data, images, 'data-uri');
    expect(images.size).toBe(5);
    for (const image of images.values()) {
      expect(mail).toContain(`src="cid:${image.cid}"`);
      expect(saved).toContain(`src="data:image/png;base64,${image.png.toString('base64')}"`);
    }
    expect(saved).not.toContain('cid:');
  });

  it('keeps to one centred column of at most 640px with a mobile viewport', () => {
    const html = renderHtml(data, images, 'cid');
    expect(html).toContain('max-width:640px');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1" />');
    expect(html).not.toMatch(/<link|<style/);
  });

  it('shows an unavailable section with its reason instead of failing the whole report', () => {
    const html = renderHtml(
      { ...data, fraud: { ok: false, reason: 'relation "marts.suspected_fraud_orders" does not exist' } },
      images,
      'cid',
    );
    expect(html).toContain('Not available: relation &quot;marts.suspected_fraud_orders&quot; does not exist');
  });

  it('marks a failed gate in the badge and lists the failing expectation', () => {
    const failed = {
      ...data,
      gates: [
        {
          ...data.gates[0]!,
          success: false,
          failed: 1,
          failures: [{ suite: 'raw_shop_events', expectation: 'values: <event_type>', details: 'x' }],
        },
      ],
    };
    const html = renderHtml(failed, images, 'cid');
    expect(html).toContain('Data quality: checks FAILED');
    expect(html).toContain('values: &lt;event_type&gt;');
  });
});

describe('report freshness and sources', () => {
  it('states how far the data reaches and when it was loaded as two facts (a 1998 date loaded today said "0.0 h ok")', () => {
    const data = sampleReportData();
    const historical = {
      ...data,
      businessDate: '1998-06-30',
      freshness: {
        ok: true as const,
        rows: [
          {
            source: 'Shop database (orders)',
            latestAt: '1998-06-20T10:00:00.000Z',
            lagHours: 254,
            status: 'stale' as const,
            loadedAt: '2026-12-06T05:50:00.000Z',
            loadAgeHours: 0.2,
          },
          {
            source: 'Clickstream (events)',
            latestAt: null,
            lagHours: null,
            status: 'unknown' as const,
            loadedAt: null,
            loadAgeHours: null,
          },
        ],
      },
    };
    const html = renderHtml(historical, renderCharts(historical), 'cid');
    expect(html).toContain('Newest 1998-06-20 10:00 UTC, 10\u00a0days before the end of 1998-06-30.');
    expect(html).toContain('Last loaded 2026-12-06 05:50 UTC, 0.2\u00a0h before this report.');
    expect(html).toContain('No data up to 1998-06-30.');
    expect(html).toMatch(/white-space:nowrap;">\s*<span style="color:#b91c1c;">behind<\/span>/);
    const text = renderText(historical);
    expect(text).toContain(
      'Shop database (orders) (behind): Newest 1998-06-20 10:00 UTC, 10\u00a0days before the end of 1998-06-30. Last loaded 2026-12-06 05:50 UTC, 0.2\u00a0h before this report.',
    );
    expect(text).toContain('Clickstream (events) (no data): No data up to 1998-06-30. Nothing loaded yet.');
  });

  it("says when the segments are scored as of another date than the report (the marts' as-of date)", () => {
    const data = sampleReportData();
    expect(renderHtml(data, renderCharts(data), 'cid')).not.toContain('Scored as of');
    const earlier = { ...data, businessDate: '2026-03-01' };
    expect(renderHtml(earlier, renderCharts(earlier), 'cid')).toContain(
      'Scored as of 2026-03-17, the marts&#39; as-of date (dbt var as_of_date), not 2026-03-01.',
    );
  });

  it('says which source no gate checked', () => {
    const data = sampleReportData();
    const sources = [
      { source: 'database' as const, configured: true, landed: true, checked: true },
      { source: 'clickstream' as const, configured: false, landed: false, checked: false },
      // Files and APIs feed no section of the report: a shop without them is not told so.
      { source: 'files' as const, configured: false, landed: false, checked: false },
      { source: 'api' as const, configured: false, landed: false, checked: false },
    ];
    const gated = { ...data, gates: data.gates.map((g) => ({ ...g, sources })) };
    const sentence = 'Not checked: clickstream (not in GATE_SOURCES and never landed: this shop does not have it).';
    expect(renderHtml(gated, renderCharts(gated), 'cid')).toContain(sentence);
    expect(renderText(gated)).toContain(sentence);
    expect(renderText(data)).not.toContain('Not checked');
    // Without a clickstream the funnel is a sentence, not an empty chart.
    const noEvents = 'No clickstream: this shop sends no events, so there are no sessions to show.';
    expect(renderHtml(gated, renderCharts(gated), 'cid')).toContain(noEvents);
    expect(renderText(gated)).toContain(noEvents);
    expect(renderHtml(data, renderCharts(data), 'cid')).not.toContain(noEvents);
    expect([...renderCharts(gated).keys()]).not.toContain('funnel');
  });
});

describe('report charts', () => {
  it('renders each chart as a PNG at twice its display width', () => {
    const images = renderCharts(sampleReportData());
    for (const image of images.values()) {
      expect(image.png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(image.png.readUInt32BE(16)).toBe(960);
      expect(image.png.length).toBeGreaterThan(2_000);
    }
  });

  it('draws empty charts without throwing', () => {
    const data = sampleReportData();
    const empty = {
      ...data,
      trend: { ok: true as const, rows: [] },
      categories: { ok: true as const, rows: [] },
      funnel: { ok: true as const, rows: [] },
      cohorts: { ok: true as const, rows: [] },
      segments: { ok: true as const, rows: [] },
    };
    expect(renderCharts(empty).size).toBe(5);
  });
});

describe('report text part', () => {
  it('carries the key figures and comparisons without markup', () => {
    const text = renderText(sampleReportData());
    expect(text).toContain('Revenue');
    expect(text).toContain('$38,950');
    expect(text).toContain('vs day before');
    expect(text).toContain('<script>alert(1)</script>');
  });

  it('says "1 unit", not "1 units" (the text mail read "1 units" for a product sold once)', () => {
    const data = sampleReportData();
    if (!data.topProducts.ok) throw new Error('sample data has top products');
    const rows = [
      { ...data.topProducts.rows[0]!, units: 1 },
      { ...data.topProducts.rows[1]!, units: 2 },
    ];
    const text = renderText({ ...data, topProducts: { ok: true, rows } });
    expect(text).toContain('Noise-cancelling headphones X200 (Electronics): 1 unit, ');
    expect(text).toContain('(Toys <b>& Games</b>): 2 units, ');
    expect(text).not.toMatch(/\b1 units\b/);
  });
});

describe('gate failure alert', () => {
  it('lists every failing expectation, escaped in HTML', () => {
    const data = sampleReportData();
    const gates = [
      {
        ...data.gates[0]!,
        success: false,
        failed: 2,
        failures: [
          { suite: 'raw_shop_events', expectation: 'ranges: prices >= 0', details: 'rows=[{"price": "-5"}]' },
          {
            suite: 'raw_shop_events',
            expectation: 'values: event_type',
            column: 'event_type',
            details: 'partial_unexpected_list=["<img src=x>"]',
          },
        ],
      },
      data.gates[1]!,
    ];
    const alert = renderGateAlert('2026-03-17', gates);
    expect(alert.key).toBe('gate-failed:2026-03-17');
    expect(alert.subject).toContain('FAILED');
    expect(alert.subject).toContain(': 2 expectations failed, report withheld');
    expect(alert.text).toContain('ranges: prices >= 0');
    expect(alert.text).toContain('values: event_type');
    expect(alert.html).toContain('&lt;img src=x&gt;');
    expect(alert.html).not.toContain('<img src=x>');
  });
});
