/**
 * Superset's own Python venv (SUPERSET_VENV), installed from requirements-superset.txt with the
 * exact pins in requirements-superset.constraints.txt. A stamp file holding the hash of both
 * files makes a second run a no-op and a changed pin a reinstall.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import type { Config } from '../../lib/config/index.ts';
import { childEnv } from '../../lib/config/index.ts';
import { ShopflowError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { runProcess } from '../../lib/process.ts';

export const REQUIREMENTS_FILE = 'requirements-superset.txt';
export const CONSTRAINTS_FILE = 'requirements-superset.constraints.txt';
const STAMP_FILE = '.shopflow-install-stamp';
/** Superset 6 supports Python 3.10 to 3.12; 3.11 is the one the constraints were resolved on. */
const PYTHON_CANDIDATES = ['python3.11', 'python3.12', 'python3.10', 'python3'];
const INSTALL_TIMEOUT_MS = 30 * 60_000;

export interface SupersetVenv {
  dir: string;
  python: string;
  bin: (name: string) => string;
}

export function venvPaths(config: Pick<Config, 'SUPERSET_VENV' | 'rootDir'>): SupersetVenv {
  const dir = isAbsolute(config.SUPERSET_VENV) ? config.SUPERSET_VENV : resolve(config.rootDir, config.SUPERSET_VENV);
  const bin = (name: string) => join(dir, 'bin', name);
  return { dir, python: bin('python'), bin };
}

async function installHash(rootDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [REQUIREMENTS_FILE, CONSTRAINTS_FILE]) {
    const path = join(rootDir, file);
    hash
      .update(file)
      .update('\0')
      .update(existsSync(path) ? await readFile(path) : 'absent')
      .update('\0');
  }
  return hash.digest('hex');
}

/** Is the venv there and installed from the current requirement files? */
export async function isVenvCurrent(config: Pick<Config, 'SUPERSET_VENV' | 'rootDir'>): Promise<boolean> {
  const venv = venvPaths(config);
  if (!existsSync(venv.bin('superset')) || !existsSync(join(venv.dir, STAMP_FILE))) return false;
  const stamp = (await readFile(join(venv.dir, STAMP_FILE), 'utf8')).trim();
  return stamp === (await installHash(config.rootDir));
}

async function findPython(logger: Logger): Promise<string> {
  for (const candidate of PYTHON_CANDIDATES) {
    try {
      const { outputTail } = await runProcess(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
        env: childEnv({}),
        timeoutMs: 30_000,
      });
      const version = outputTail.trim().split('\n').at(-1) ?? '';
      if (['3.10', '3.11', '3.12'].includes(version)) return candidate;
      logger.debug({ candidate, version }, 'python not usable for Superset');
    } catch {
      // Not installed under this name: try the next.
    }
  }
  throw new ShopflowError(
    'SHOPFLOW_SUPERSET_PYTHON',
    'Superset needs Python 3.10, 3.11 or 3.12 (3.11 preferred); none was found on PATH as python3.11/python3.12/python3.10/python3. Install one (e.g. apt-get install python3.11-venv) and run again.',
  );
}

/**
 * Creates or refreshes the venv when the requirement files changed. Returns whether it installed.
 * The first install downloads ~150 packages and takes several minutes.
 */
export async function ensureSupersetVenv(
  config: Pick<Config, 'SUPERSET_VENV' | 'rootDir'>,
  logger: Logger,
): Promise<{ installed: boolean; seconds: number }> {
  if (await isVenvCurrent(config)) return { installed: false, seconds: 0 };
  const started = Date.now();
  const venv = venvPaths(config);
  const python = await findPython(logger);
  logger.info({ venv: venv.dir, python }, 'installing Superset into its own venv (several minutes the first time)');
  // A half-made venv from an interrupted install is rebuilt from scratch rather than patched.
  if (existsSync(venv.dir) && !existsSync(venv.python)) await rm(venv.dir, { recursive: true, force: true });
  const env = childEnv({ PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONUNBUFFERED: '1' });
  const onLine = (line: string) => {
    if (/^(Collecting|Installing|Successfully|ERROR|WARNING)/.test(line)) logger.info({ pip: line.slice(0, 200) }, 'pip');
  };
  await runProcess(python, ['-m', 'venv', venv.dir], { env, timeoutMs: 120_000 });
  const constraints = join(config.rootDir, CONSTRAINTS_FILE);
  const args = ['-m', 'pip', 'install', '-r', join(config.rootDir, REQUIREMENTS_FILE)];
  if (existsSync(constraints)) args.push('-c', constraints);
  await runProcess(venv.python, args, { env, timeoutMs: INSTALL_TIMEOUT_MS, onLine, tailLines: 40 });
  await writeFile(join(venv.dir, STAMP_FILE), `${await installHash(config.rootDir)}\n`);
  const seconds = Math.round((Date.now() - started) / 1000);
  logger.info({ seconds }, 'Superset venv installed');
  return { installed: true, seconds };
}
