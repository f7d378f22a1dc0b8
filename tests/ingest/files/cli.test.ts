/**
 * `npm run ingest:files` as a real child process: the help and version, a bad config refused
 * with exit 2 and one sentence, a folder landed once across re-runs, a refused file giving exit 1
 * while the others land, and kill -9 in the middle of a file's COPY leaving nothing behind, so
 * the next run lands it exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../../lib/config/index.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { landed, ordersSourceDocument, scratchFolder } from './support.ts';

const CLI = join(ROOT_DIR, 'ingest', 'files', 'cli.ts');

let warehouse: TestWarehouse;
const folder = scratchFolder('cli');
const children = new Set<ChildProcess>();

beforeAll(async () => {
  warehouse = await createTestWarehouse('ingest_files_cli');
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await warehouse?.drop();
  folder.remove();
});

function start(args: string[], extraEnv: Record<string, string> = {}) {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[key]) env[key] = process.env[key];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT_DIR,
    env: {
      ...env,
      WAREHOUSE_URL: warehouse.config.WAREHOUSE_URL,
      WAREHOUSE_INGEST_PASSWORD: warehouse.config.WAREHOUSE_INGEST_PASSWORD,
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, exit, output: () => output };
}

async function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const r = start(args);
  const code = await r.exit;
  return { code, output: r.output() };
}

function writeConfig(name: string, sources: unknown[]): string {
  const path = join(folder.path, name);
  writeFileSync(path, JSON.stringify({ sources }));
  return path;
}

function ordersCsv(from: number, to: number): string {
  const lines = ['order_id,customer,amount,ordered_on'];
  for (let i = from; i <= to; i++) lines.push(`${i},customer ${i},${i % 1000}.99,2026-01-${String((i % 28) + 1).padStart(2, '0')}`);
  return `${lines.join('\n')}\n`;
}

describe('npm run ingest:files', () => {
  it('prints help and version, and refuses a bad config with exit 2 and one sentence', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('Usage: npm run ingest:files -- [--config FILE]');
    const version = await run(['--version']);
    expect(version).toMatchObject({ code: 0, output: expect.stringMatching(/^ingest:files \(shopflow \d+\.\d+\.\d+\)\n$/) });

    expect((await run([])).code).toBe(2);
    const bad = writeConfig('bad.json', [{ ...ordersSourceDocument('bad'), keys: ['id'] }]);
    const refused = await run(['--config', bad]);
    expect(refused.code).toBe(2);
    expect(refused.output.trim()).toBe(
      `ingest:files: file sources config ${bad} is invalid: sources[0].keys: key "id" is not a declared column`,
    );
  });

  it('lands a folder once across runs; a refused file gives exit 1 and the others still land', async () => {
    const sourceFolder = scratchFolder('cli-folder');
    try {
      writeFileSync(join(sourceFolder.path, 'a.csv'), ordersCsv(1, 50));
      writeFileSync(join(sourceFolder.path, 'b.csv'), ordersCsv(51, 60));
      writeFileSync(join(sourceFolder.path, 'notes.txt'), 'not a source file');
      const config = writeConfig('folder.json', [{ ...ordersSourceDocument('folder'), folder: sourceFolder.path }]);
      expect((await run(['--config', config])).code).toBe(0);
      expect((await run(['--config', config])).code).toBe(0);
      let raw = await landed(warehouse.adminUrl, 'folder');
      expect(raw.manifest.map((m) => [m.file_name, m.version, m.rows_landed])).toEqual([
        ['a.csv', 1, '50'],
        ['b.csv', 1, '10'],
      ]);
      expect(raw.rows).toHaveLength(60);

      writeFileSync(join(sourceFolder.path, 'c.csv'), 'order_id,customer\n1,x\n');
      writeFileSync(join(sourceFolder.path, 'd.csv'), ordersCsv(61, 62));
      const partly = await run(['--config', config]);
      expect(partly.code).toBe(1);
      expect(partly.output).toContain('\ningest:files: refused folder/c.csv: the header has no column "amount"');
      raw = await landed(warehouse.adminUrl, 'folder');
      expect(raw.manifest.map((m) => m.file_name)).toEqual(['a.csv', 'b.csv', 'd.csv']);
    } finally {
      sourceFolder.remove();
    }
  });

  it('with --watch and FILES_CONFIG, lands files as they arrive, pass after pass, until SIGTERM (exit 0)', async () => {
    const sourceFolder = scratchFolder('cli-watch');
    try {
      writeFileSync(join(sourceFolder.path, 'a.csv'), ordersCsv(1, 5));
      const config = writeConfig('watch.json', [{ ...ordersSourceDocument('watched'), folder: sourceFolder.path }]);
      const watcher = start(['--watch'], { FILES_CONFIG: config, FILES_POLL_SECONDS: '1' });
      const until = async (files: number) => {
        for (let i = 0; i < 300; i++) {
          if ((await landed(warehouse.adminUrl, 'watched')).manifest.length >= files) return;
          await sleep(100);
        }
        throw new Error(`not landed in time: ${watcher.output()}`);
      };
      await until(1);
      writeFileSync(join(sourceFolder.path, 'b.csv'), ordersCsv(6, 8));
      await until(2);
      watcher.child.kill('SIGTERM');
      expect(await watcher.exit, watcher.output()).toBe(0);
      const raw = await landed(warehouse.adminUrl, 'watched');
      expect(raw.manifest.map((m) => [m.file_name, m.rows_landed])).toEqual([
        ['a.csv', '5'],
        ['b.csv', '3'],
      ]);
      expect(raw.rows).toHaveLength(8);
    } finally {
      sourceFolder.remove();
    }
  });

  it('after kill -9 in the middle of a file, lands nothing of it, and the next run lands it exactly once', async () => {
    const sourceFolder = scratchFolder('cli-kill');
    const rows = 400_000;
    try {
      writeFileSync(join(sourceFolder.path, 'big.csv'), ordersCsv(1, rows));
      const config = writeConfig('kill.json', [{ ...ordersSourceDocument('killed'), folder: sourceFolder.path }]);
      const admin = new pg.Client({ connectionString: warehouse.adminUrl });
      admin.on('error', () => undefined);
      await admin.connect();
      try {
        const victim = start(['--config', config]);
        // Wait until the ingestor's COPY is running, then kill it without warning.
        let copying = false;
        for (let i = 0; i < 600 && !copying; i++) {
          const found = await admin.query(
            `select 1 from pg_stat_activity where application_name = 'shopflow-ingest-files' and query like 'COPY raw_files.%' and state = 'active'`,
          );
          copying = (found.rowCount ?? 0) > 0;
          if (!copying) await sleep(50);
        }
        expect(copying, victim.output()).toBe(true);
        victim.child.kill('SIGKILL');
        await victim.exit;
        // The server notices the dead connection and rolls its transaction back.
        for (let i = 0; i < 200; i++) {
          const open = await admin.query(`select 1 from pg_stat_activity where application_name = 'shopflow-ingest-files'`);
          if ((open.rowCount ?? 0) === 0) break;
          await sleep(50);
        }
        expect(await landed(warehouse.adminUrl, 'killed')).toEqual({ manifest: [], rows: [], deadLetters: [] });
        // The source's typed table was created in the killed transaction: gone with its rows.
        const table = await admin.query(`select to_regclass('raw_files.killed') is null as gone`);
        expect(table.rows[0]).toEqual({ gone: true });

        const rerun = await run(['--config', config]);
        expect(rerun.code, rerun.output).toBe(0);
        expect((await run(['--config', config])).code).toBe(0);
        const after = await admin.query<{ n: number; lines: number; files: number }>(
          `select count(*)::int as n, count(distinct line_number)::int as lines, count(distinct file_id)::int as files
           from raw_files.killed join raw.file_manifest using (file_id) where source_name = 'killed'`,
        );
        expect(after.rows[0]).toEqual({ n: rows, lines: rows, files: 1 });
        const total = await admin.query('select count(*)::int as n from raw_files.killed');
        expect(total.rows[0].n).toBe(rows);
      } finally {
        await admin.end();
      }
    } finally {
      sourceFolder.remove();
    }
  });
});
