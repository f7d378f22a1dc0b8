/**
 * The report and gate CLIs: --help lists the flags and environment variables, and a bad flag
 * is a usage error (exit 2) reported before anything is rendered, written or mailed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../lib/config/index.ts';
import { describeOutcome, parseReportArgs } from '../../report/cli.ts';

function run(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  // An unreachable warehouse and SMTP: a usage error must be reported before either is touched.
  const dataDir = mkdtempSync(join(tmpdir(), 'shopflow-cli-'));
  const env = {
    ...process.env,
    WAREHOUSE_URL: 'postgres://nobody:x@127.0.0.1:1/none',
    SMTP_URL: 'smtp://127.0.0.1:1',
    SHOPFLOW_DATA_DIR: dataDir,
  };
  try {
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT_DIR, script), ...args], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('npm run report', () => {
  it('--help lists every flag and the environment it reads', () => {
    const { status, stdout } = run('report/cli.ts', ['--help']);
    expect(status).toBe(0);
    for (const flag of [
      '--date',
      '--dry-run',
      '--skip-gate',
      '--run-id',
      '--resolve',
      '--alert',
      'SMTP_URL',
      'REPORT_TO',
      'WAREHOUSE_BI_PASSWORD',
    ])
      expect(stdout).toContain(flag);
  });

  it.each([
    [['--date', '2026-02-30'], '--date must be a real date'],
    [['--date', '2026-03-17', '--skip-gate'], '--skip-gate is only allowed with --dry-run'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--release'], '--resolve needs exactly one of --date'],
    [['--resolve', 'maybe', '--date', '2026-03-17'], '--resolve takes sent or resend'],
    [['--resolve', 'sent', '--date', '2026-03-17', '--alert', 'k'], '--resolve needs exactly one of --date'],
    [['--alert', 'k'], '--alert only applies with --resolve'],
  ])('%j is a usage error with exit 2, before any output file is written', (args, message) => {
    const { status, stderr } = run('report/cli.ts', args);
    expect(status).toBe(2);
    expect(stderr).toContain(message);
    expect(existsSync(join(ROOT_DIR, 'out', 'reports', '2026-02-30.html'))).toBe(false);
  });

  it('parses a valid command line', () => {
    expect(parseReportArgs(['--date', '2026-03-17', '--dry-run', '--skip-gate'])).toEqual({
      date: '2026-03-17',
      dryRun: true,
      skipGate: true,
    });
    expect(parseReportArgs(['--resolve', 'sent', '--date', '2026-03-17'])).toEqual({
      date: '2026-03-17',
      dryRun: false,
      skipGate: false,
      resolve: 'sent',
    });
    expect(parseReportArgs(['--release', '--date', '2026-03-17'])).toMatchObject({ resolve: 'resend' });
    expect(parseReportArgs(['--resolve', 'resend', '--alert', 'step_failed:report:x'])).toMatchObject({
      resolve: 'resend',
      alert: 'step_failed:report:x',
    });
    expect(parseReportArgs(['-h'])).toBe('help');
  });
});

describe('report outcome line', () => {
  const config = { REPORT_TO: 'managers@shop.example', ALERT_TO: 'data@shop.example' };

  it('says a dry run sent nothing, even when a failed gate withheld the report (it said "alert sent instead")', () => {
    const blocked = describeOutcome({ blocked: true, sent: false, alreadySent: false }, true, config);
    expect(blocked).toBe('WITHHELD (gate failed); alert not sent (dry run), would send it to data@shop.example');
    expect(blocked).not.toMatch(/alert sent|went to/);
    expect(describeOutcome({ sent: false, alreadySent: false }, true, config)).toBe(
      'rendered, not sent (dry run); would send to managers@shop.example',
    );
  });

  it('names where real mail went', () => {
    expect(describeOutcome({ blocked: true, sent: false, alreadySent: false }, false, config)).toBe(
      'WITHHELD (gate failed); the gate-failure alert went to data@shop.example (once per date)',
    );
    expect(describeOutcome({ sent: true, alreadySent: false }, false, config)).toBe('sent to managers@shop.example');
    expect(describeOutcome({ sent: false, alreadySent: true }, false, config)).toBe('already sent earlier, not sent again');
  });
});

describe('npm run gate', () => {
  it('--help names the gates, roles and exit codes; a bad gate is a usage error', () => {
    const help = run('great_expectations/cli.ts', ['--help']);
    expect(help.status).toBe(0);
    for (const text of ['--gate raw|marts|all', 'transformer', 'bi_reader', 'PYTHON_VENV', 'Exit status'])
      expect(help.stdout).toContain(text);
    const bad = run('great_expectations/cli.ts', ['--gate', 'everything']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--gate must be raw, marts or all');
  });
});
