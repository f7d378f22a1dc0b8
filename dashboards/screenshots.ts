/**
 * PNG of every dashboard, rendered by headless Chromium (Debian's `chromium`, driven by
 * playwright-core, which downloads no browser of its own). Logs in through the form like a
 * person, opens each dashboard, waits for every chart to finish loading, and fails naming the
 * charts that show an error, so a broken chart never slips into docs/img/ unnoticed.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { chromium, type Page } from 'playwright-core';

import type { Config } from '../lib/config/index.ts';
import { ShopflowError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { supersetUrl } from './lib/paths.ts';
import { isHealthy } from './lib/server.ts';
import { SupersetApi } from './lib/api.ts';

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export interface ScreenshotOptions {
  outDir?: string;
  /** Only dashboards whose slug is listed. */
  slugs?: string[];
  width?: number;
}

function findChromium(): string {
  const found = CHROMIUM_CANDIDATES.find((path) => existsSync(path));
  if (!found) {
    throw new ShopflowError(
      'SHOPFLOW_CHROMIUM_MISSING',
      `no Chromium found at ${CHROMIUM_CANDIDATES.join(', ')}: install it with \`apt-get install chromium\``,
    );
  }
  return found;
}

// Browser-side snippets, kept as source text because this project compiles without DOM types.
const STILL_LOADING_IS_ZERO = `document.querySelectorAll('.dashboard-component-chart-holder .loading, [data-test="loading-indicator"]').length === 0`;
const CONTENT_HEIGHT = `(document.querySelector('.dashboard-content, .grid-container, #app') || document.body).scrollHeight`;
const BROKEN_CHARTS = `(() => {
  const broken = [];
  for (const holder of document.querySelectorAll('.dashboard-component-chart-holder')) {
    const error = holder.querySelector('.alert-danger, .ant-alert-error, [data-test="error-message"], .error-alert');
    if (error) {
      const title = (holder.querySelector('[data-test="editable-title"], .header-title, .editable-title') || {}).textContent || '(untitled)';
      broken.push(title.trim() + ': ' + (error.textContent || '').trim().slice(0, 200));
    }
  }
  return broken;
})()`;

async function logIn(page: Page, baseUrl: string, user: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login/`, { waitUntil: 'domcontentloaded' });
  await page.locator('input[name="username"], #username').first().fill(user);
  await page.locator('input[name="password"], #password').first().fill(password);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login'), { timeout: 60_000 }), page.keyboard.press('Enter')]);
}

/** Waits until no chart shows a loading spinner, then returns the titles of charts showing an error. */
async function waitForCharts(page: Page, timeoutMs: number): Promise<string[]> {
  await page.waitForSelector('.dashboard-component-chart-holder', { timeout: timeoutMs });
  await page.waitForFunction(STILL_LOADING_IS_ZERO, undefined, { timeout: timeoutMs, polling: 500 });
  // ECharts animates its first paint.
  await page.waitForTimeout(1_500);
  return (await page.evaluate(BROKEN_CHARTS)) as string[];
}

export async function renderScreenshots(config: Config, logger: Logger, options: ScreenshotOptions = {}): Promise<string[]> {
  const baseUrl = supersetUrl(config);
  if (!(await isHealthy(baseUrl)))
    throw new ShopflowError('SHOPFLOW_SUPERSET_DOWN', `Superset is not answering at ${baseUrl}: run \`npm run dashboards\` first`);
  const outDir = resolve(config.rootDir, options.outDir ?? join('docs', 'img'));
  await mkdir(outDir, { recursive: true });
  const api = await SupersetApi.login(baseUrl, config.SUPERSET_ADMIN_USER, config.SUPERSET_ADMIN_PASSWORD);
  const dashboards = (await api.dashboards()).filter((d) => !options.slugs || options.slugs.includes(d.slug));

  const browser = await chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  browser.on('disconnected', () => logger.debug('chromium closed'));
  const written: string[] = [];
  const failures: string[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: options.width ?? 1600, height: 1000 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on('pageerror', (err) => logger.debug({ err: err.message }, 'page error'));
    await logIn(page, baseUrl, config.SUPERSET_ADMIN_USER, config.SUPERSET_ADMIN_PASSWORD);
    for (const dashboard of dashboards) {
      logger.info({ slug: dashboard.slug }, 'rendering dashboard');
      await page.goto(`${baseUrl}/superset/dashboard/${dashboard.slug}/?standalone=1`, { waitUntil: 'domcontentloaded' });
      const broken = await waitForCharts(page, 120_000);
      // Render the whole dashboard, not only the first screenful.
      const height = (await page.evaluate(CONTENT_HEIGHT)) as number;
      await page.setViewportSize({ width: options.width ?? 1600, height: Math.min(Math.max(height + 80, 800), 6000) });
      await waitForCharts(page, 60_000);
      const file = join(outDir, `dashboard-${dashboard.slug}.png`);
      await page.screenshot({ path: file, fullPage: true });
      written.push(file);
      if (broken.length > 0) failures.push(`${dashboard.title}:\n    ${broken.join('\n    ')}`);
      await page.setViewportSize({ width: options.width ?? 1600, height: 1000 });
    }
  } finally {
    await browser.close();
  }
  if (failures.length > 0) {
    throw new ShopflowError(
      'SHOPFLOW_DASHBOARD_CHART_ERRORS',
      `charts showing errors (screenshots written anyway):\n  ${failures.join('\n  ')}`,
    );
  }
  return written;
}
