/**
 * npx tsx report/screenshot.ts [--html FILE | --sample] [--out DIR] [--prefix NAME]
 * Renders a saved report in headless Chromium at desktop (1200x2000) and phone (390x2400)
 * sizes and writes desktop.png / phone.png, to check the layout by eye.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

import { childEnv, ROOT_DIR } from '../lib/config/index.ts';
import { UsageError } from '../lib/errors.ts';
import { runProcess } from '../lib/process.ts';
import { renderCharts } from './charts/index.ts';
import { renderHtml } from './html.ts';
import { sampleReportData } from './sample-data.ts';

const HELP = `Usage: tsx report/screenshot.ts [--html FILE | --sample] [--out DIR] [--prefix NAME] [--chromium PATH]

Screenshots a saved report (out/reports/<date>.html) in headless Chromium at desktop
(1200x2000) and phone (390x2400) widths: <out>/desktop.png and <out>/phone.png.

Options:
  --html FILE      the report HTML to open
  --sample         render the built-in sample report instead (no warehouse needed)
  --out DIR        where to write the PNGs (default out/screenshots)
  --prefix NAME    put NAME before each file name: --out docs/img --prefix report- writes the
                   README's docs/img/report-desktop.png and report-phone.png
  --chromium PATH  browser binary (default: chromium; install with apt-get install -y chromium)
  -h, --help       show this help`;

export const VIEWPORTS = { desktop: '1200,2000', phone: '390,2400' } as const;

export async function screenshot(htmlPath: string, outDir: string, chromium = 'chromium', prefix = ''): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [name, size] of Object.entries(VIEWPORTS)) {
    const profile = await mkdtemp(join(tmpdir(), 'shopflow-chromium-'));
    const target = join(outDir, `${prefix}${name}.png`);
    try {
      await runProcess(
        chromium,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--no-first-run',
          '--hide-scrollbars',
          `--user-data-dir=${profile}`,
          `--screenshot=${target}`,
          `--window-size=${size}`,
          pathToFileURL(htmlPath).href,
        ],
        { env: childEnv({ HOME: profile }), timeoutMs: 60_000 },
      );
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
    written.push(target);
  }
  return written;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      html: { type: 'string' },
      sample: { type: 'boolean', default: false },
      out: { type: 'string' },
      prefix: { type: 'string', default: '' },
      chromium: { type: 'string', default: 'chromium' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  if (!values.html === !values.sample) throw new UsageError(`give exactly one of --html FILE or --sample\n\n${HELP}`);
  if (!/^[\w.-]*$/.test(values.prefix))
    throw new UsageError(`--prefix may hold only letters, digits, '.', '_' and '-' (got ${JSON.stringify(values.prefix)})`);
  const outDir = resolve(values.out ?? join(ROOT_DIR, 'out', 'screenshots'));
  let htmlPath = values.html ? resolve(values.html) : '';
  if (values.sample) {
    const data = sampleReportData();
    htmlPath = join(outDir, 'sample.html');
    await mkdir(outDir, { recursive: true });
    await writeFile(htmlPath, renderHtml(data, renderCharts(data), 'data-uri'));
  }
  for (const file of await screenshot(htmlPath, outDir, values.chromium, values.prefix)) process.stdout.write(`${file}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  });
}
