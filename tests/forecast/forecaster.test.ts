/**
 * The forecaster's promises (docs/forecast.md), on a small generated world (40 products,
 * 180 days) fed to the real Python forecaster through its --panel input:
 *  - no leakage: whatever happens after the as-of date, the forecast made at it is the same;
 *  - every active product, and every category, gets 14 days from every model;
 *  - the published forecast is the median of the day's demand, its mean kept beside it;
 *  - the same data and seed give the same forecast, to the last digit;
 *  - in a rolling-origin backtest the 80% intervals cover about 80% of what then sold.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../lib/config/index.ts';
import { pythonPath } from '../../great_expectations/run.ts';
import { forecastEnv } from '../../forecast/run.ts';
import { worldPanel, writePanelCsv, type PanelRow } from './world-panel.ts';

const run = promisify(execFile);
const config = loadConfig();
const dir = mkdtempSync(join(tmpdir(), 'shopflow-forecast-'));
const AS_OF = '2024-06-08';
let rows: PanelRow[];

async function forecast(panel: readonly PanelRow[], name: string, extra: string[] = []): Promise<string> {
  const input = join(dir, `${name}.csv`);
  const output = join(dir, `${name}-forecast.csv`);
  writePanelCsv(input, panel);
  await run(
    pythonPath(config),
    ['-m', 'demand', 'forecast', '--panel', input, '--output', output, '--as-of', AS_OF, '--threads', '1', ...extra],
    {
      cwd: config.rootDir,
      env: forecastEnv(config),
      timeout: 300_000,
    },
  );
  return readFileSync(output, 'utf8');
}

function parse(csv: string): Record<string, string>[] {
  const [head, ...lines] = csv.trim().split('\n');
  const names = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i]!, v])));
}

beforeAll(async () => {
  rows = await worldPanel({ seed: 5, from: '2024-01-01', days: 180, customers: 800, orders: 7_000, products: 40 });
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the demand forecaster', () => {
  let baseline: string;

  it('forecasts 14 days for every active product and every category, from every model, with ordered intervals', async () => {
    baseline = await forecast(rows, 'baseline');
    const out = parse(baseline);
    const active = new Set(rows.filter((r) => r.day === AS_OF && r.is_active).map((r) => String(r.product_id)));
    const categories = new Set(rows.filter((r) => r.day === AS_OF).map((r) => r.category));
    expect(active.size).toBeGreaterThan(20);
    for (const model of ['seasonal_naive', 'moving_average', 'ridge', 'xgboost']) {
      const mine = out.filter((r) => r.model === model && r.grain === 'product');
      expect(new Set(mine.map((r) => r.product_id))).toEqual(active);
      expect(mine).toHaveLength(active.size * 14);
      const perCategory = out.filter((r) => r.model === model && r.grain === 'category');
      expect(new Set(perCategory.map((r) => r.category))).toEqual(categories);
    }
    for (const r of out) {
      expect(Number(r.lower_units)).toBeLessThanOrEqual(Number(r.forecast_units) + 1e-9);
      expect(Number(r.forecast_units)).toBeLessThanOrEqual(Number(r.upper_units) + 1e-9);
      expect(Number(r.lower_units)).toBeGreaterThanOrEqual(0);
    }
  }, 300_000);

  it("publishes the median of each day's demand as the forecast and the mean beside it (absolute error is smallest at the median)", () => {
    const out = parse(baseline);
    let slow = 0;
    for (const r of out) {
      const forecast = Number(r.forecast_units);
      const expected = Number(r.expected_units);
      // A Poisson median is a whole number within [mean - ln 2, mean + 1/3].
      expect(Number.isInteger(forecast), `${r.model} ${r.grain} ${forecast}`).toBe(true);
      expect(forecast).toBeGreaterThanOrEqual(expected - Math.LN2 - 1e-3);
      expect(forecast).toBeLessThanOrEqual(expected + 1 / 3 + 1e-3);
      // A slow seller (mean under ln 2 units a day) is more likely to sell nothing than anything: forecast 0.
      if (expected < Math.LN2 - 1e-3) {
        slow++;
        expect(forecast, `${r.model} ${r.product_id} mean ${expected}`).toBe(0);
      }
    }
    expect(slow).toBeGreaterThan(0);
  });

  it('leaks nothing: tripled sales, emptied shelves and new prices after the as-of date change no forecast made at it', async () => {
    const perturbed = rows.map((r) =>
      r.day > AS_OF ? { ...r, units_sold: r.units_sold * 3 + 1, quantity_on_hand: r.product_id % 2 ? 0 : 999, price: r.price * 0.5 } : r,
    );
    expect(await forecast(perturbed, 'perturbed')).toBe(baseline);
  }, 300_000);

  it('skips, without failing, a shop younger than it can learn from, and says why', async () => {
    const young = rows.filter((r) => r.day > '2024-05-25' && r.day <= AS_OF);
    const input = join(dir, 'young.csv');
    const output = join(dir, 'young-forecast.csv');
    writePanelCsv(input, young);
    const { stdout, stderr } = await run(
      pythonPath(config),
      ['-m', 'demand', 'forecast', '--panel', input, '--output', output, '--as-of', AS_OF, '--threads', '1'],
      { cwd: config.rootDir, env: forecastEnv(config), timeout: 300_000 },
    );
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { skipped?: string; rows_written: number };
    expect(summary.rows_written).toBe(0);
    expect(summary.skipped).toMatch(/^not enough history before the as-of date to train: need 35 days of stock rows, have 14$/);
    expect(stderr).toContain('forecast: skipped as of 2024-06-08');
    expect(existsSync(output)).toBe(false);
  });

  it('gives the same forecast for the same data and seed', async () => {
    expect(await forecast(rows, 'again')).toBe(baseline);
  }, 300_000);

  it('covers about the nominal 80% of actual units with its intervals in a rolling-origin backtest', async () => {
    const input = join(dir, 'backtest.csv');
    writePanelCsv(input, rows);
    const { stdout } = await run(pythonPath(config), ['-m', 'demand', 'backtest', '--panel', input, '--weeks', '4', '--threads', '1'], {
      cwd: config.rootDir,
      env: forecastEnv(config),
      timeout: 300_000,
    });
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { scores: Record<string, { coverage: number; rows: number }> };
    for (const [model, s] of Object.entries(summary.scores)) {
      expect(s.rows, model).toBeGreaterThan(1_000);
      expect(s.coverage, model).toBeGreaterThan(0.7);
      expect(s.coverage, model).toBeLessThan(0.9);
    }
  }, 300_000);
});
