/**
 * A Python venv for benchmark peers only (dlt and its readers), kept apart from the project's
 * dbt/GX venv so a peer's dependencies can never move the warehouse's pins. Created on first use
 * under .data/bench-venv and reinstalled only when the pins below change (a stamp file).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT_DIR } from '../../lib/config/index.ts';

/**
 * dlt 1.31 has no `sql_database` extra: its sql_table source needs SQLAlchemy (and a MySQL driver
 * for reflection) installed beside it; connectorx is the fast reader; psycopg2 is dlt's Postgres
 * destination driver; pyarrow carries connectorx's result into dlt's Parquet load files.
 */
export const BENCH_PEER_PINS = [
  'dlt==1.31.0',
  'connectorx==0.4.6',
  'sqlalchemy==2.0.58',
  'pymysql==1.2.4',
  'psycopg2-binary==2.9.13',
  'pyarrow==26.0.1',
] as const;

export const BENCH_VENV_DIR = join(ROOT_DIR, '.data', 'bench-venv');

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}: ${(result.stderr || result.stdout).slice(-2000)}`);
  }
}

/** The venv's python, installing the pins first if they are missing or changed. */
export function benchPython(log: (message: string) => void = () => undefined): string {
  const python = join(BENCH_VENV_DIR, 'bin', 'python');
  const stamp = join(BENCH_VENV_DIR, '.bench-pins');
  const want = BENCH_PEER_PINS.join(' ');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return python;
  log(`installing bench peers into ${BENCH_VENV_DIR}: ${want}`);
  if (!existsSync(python)) run('python3', ['-m', 'venv', BENCH_VENV_DIR]);
  run(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', ...BENCH_PEER_PINS]);
  writeFileSync(stamp, `${want}\n`);
  return python;
}
