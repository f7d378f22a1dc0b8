/**
 * The screenshot script opens the saved report in headless Chromium at desktop and phone
 * widths. Checks the PNGs exist at the requested sizes; looking at them is for people.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it, onTestFinished } from 'vitest';

import { renderCharts } from '../../report/charts/index.ts';
import { renderHtml } from '../../report/html.ts';
import { sampleReportData } from '../../report/sample-data.ts';
import { screenshot } from '../../report/screenshot.ts';

// Chromium is a Debian package (apt-get install -y chromium), not an npm dependency: without it
// there is nothing to drive, so the test is skipped rather than failed.
const hasChromium = spawnSync('chromium', ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasChromium)('report/screenshot.ts', () => {
  it('writes desktop (1200x2000) and phone (390x2400) screenshots of a saved report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shopflow-shot-'));
    const data = sampleReportData();
    const html = join(dir, 'report.html');
    writeFileSync(html, renderHtml(data, renderCharts(data), 'data-uri'));
    const [desktop, phone] = await screenshot(html, dir);
    const size = (file: string) => {
      const png = readFileSync(file);
      return [png.readUInt32BE(16), png.readUInt32BE(20)];
    };
    expect(size(desktop!)).toEqual([1200, 2000]);
    expect(size(phone!)).toEqual([390, 2400]);
  });

  it('names the files with a prefix, as the README pictures are (docs/img/report-desktop.png)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shopflow-shot-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const data = sampleReportData();
    const html = join(dir, 'report.html');
    writeFileSync(html, renderHtml(data, renderCharts(data), 'data-uri'));
    const written = await screenshot(html, dir, 'chromium', 'report-');
    expect(written).toEqual([join(dir, 'report-desktop.png'), join(dir, 'report-phone.png')]);
    for (const file of written) expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
  });
});
