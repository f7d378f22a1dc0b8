#!/usr/bin/env node
// Installs what ShopFlow needs to run locally, each step idempotent and quick when already done:
// npm packages, Debian packages (MariaDB, a JRE and Maven), the Kafka broker's jars, and the
// Python venv with dbt and Great Expectations. Plain Node with no dependencies on purpose: it
// runs before `npm install`, so it cannot use lib/config; it reads only the few variables that
// decide whether a service is external (then nothing is installed for it) and where data lives.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const dataDir = resolve(ROOT, env.SHOPFLOW_DATA_DIR || '.data');
const venvDir = resolve(ROOT, env.PYTHON_VENV || '.venv');
const KAFKA_POM = join(ROOT, 'scripts', 'services', 'kafka', 'pom.xml');
const TOOL_ENV = {
  ...env,
  DO_NOT_TRACK: '1',
  GX_ANALYTICS_ENABLED: 'false',
  DEBIAN_FRONTEND: 'noninteractive',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
};

class BootstrapError extends Error {}

function step(name, work) {
  const started = Date.now();
  let outcome;
  try {
    outcome = work();
  } catch (error) {
    const detail = error instanceof BootstrapError ? error.message : (error?.stack ?? String(error));
    console.error(`bootstrap: ${name.padEnd(18)} FAILED: ${detail}`);
    process.exit(1);
  }
  console.log(`bootstrap: ${name.padEnd(18)} ${outcome} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

/** Run a command with inherited output (for long installs) or captured output; throw with its tail on failure. */
function run(command, args, { capture = false, cwd = ROOT, extraEnv = {} } = {}) {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...TOOL_ENV, ...extraEnv },
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new BootstrapError(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) {
    const output = capture ? `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() : '';
    const tail = output
      ? `\n${output
          .split('\n')
          .filter((l) => !/^npm warn/.test(l))
          .slice(-15)
          .join('\n')}`
      : '';
    const error = new BootstrapError(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}${tail}`);
    error.output = output;
    throw error;
  }
  return capture ? `${result.stdout}${result.stderr}` : '';
}

function onPath(command) {
  for (const dir of (env.PATH || '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

function sha256(...files) {
  const hash = createHash('sha256');
  for (const file of files) hash.update(existsSync(file) ? readFileSync(file) : '');
  return hash.digest('hex');
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

// 1. npm packages: `npm ci` when node_modules is missing or older than package-lock.json or a
// patch of patches/ (patch-package applies them on install, so a changed patch needs one too).
step('npm packages', () => {
  const marker = join(ROOT, 'node_modules', '.package-lock.json');
  const patchDir = join(ROOT, 'patches');
  const patches = existsSync(patchDir) ? readdirSync(patchDir).map((f) => join(patchDir, f)) : [];
  const newest = Math.max(mtime(join(ROOT, 'package-lock.json')), ...patches.map(mtime));
  if (existsSync(marker) && mtime(marker) >= newest) return 'up to date';
  // The lock file lists every platform's optional packages (@napi-rs/canvas, rollup, esbuild
  // binaries), so `npm ci` installs exactly what it pins on any machine. When it calls the lock
  // file out of sync, package.json changed without `npm install`: run that and commit the lock.
  run('npm', ['ci', '--no-audit', '--no-fund'], { capture: true });
  return 'installed with npm ci';
});

// 2. Debian packages: MariaDB server, Java + Maven for the Kafka broker, Chromium for screenshots,
// Prometheus; only when absent.
step('debian packages', () => {
  const wanted = [];
  if (!env.SHOP_DB_URL && !onPath('mariadbd')) wanted.push('mariadb-server');
  if (!env.KAFKA_BROKERS && !onPath('java')) wanted.push('default-jre-headless');
  if (!env.KAFKA_BROKERS && !onPath('mvn')) wanted.push('maven');
  if (!onPath('python3')) wanted.push('python3', 'python3-venv');
  // Headless Chromium renders the report and dashboard screenshots (and their tests).
  if (!onPath('chromium')) wanted.push('chromium');
  // Prometheus (and its promtool, which the test suite runs on the alert rules); the server
  // itself starts only with METRICS_ENABLED=true.
  if (!onPath('promtool')) wanted.push('prometheus');
  if (wanted.length === 0) return 'present';
  if (!isRoot) {
    throw new BootstrapError(
      `missing ${wanted.join(', ')}; install them with: sudo apt-get install -y --no-install-recommends ${wanted.join(' ')}`,
    );
  }
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...wanted]);
  return `installed ${wanted.join(', ')}`;
});

// 3. Kafka broker jars from Maven Central into <data>/kafka/lib, keyed by the pom's hash.
step('kafka jars', () => {
  if (env.KAFKA_BROKERS) return 'skipped (external Kafka: KAFKA_BROKERS is set)';
  const libDir = join(dataDir, 'kafka', 'lib');
  const stamp = join(libDir, '.pom.sha256');
  const want = sha256(KAFKA_POM);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return 'present';
  const staging = `${libDir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  // Maven's default dependency plugin (2.8 with Maven 3.8) is ancient: pin a current one.
  run(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      KAFKA_POM,
      'org.apache.maven.plugins:maven-dependency-plugin:3.7.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${staging}`,
    ],
    { capture: true },
  );
  const jars = readdirSync(staging).filter((f) => f.endsWith('.jar'));
  if (!jars.some((f) => f.startsWith('kafka_2.13-'))) throw new BootstrapError(`Maven finished but no kafka_2.13 jar is in ${staging}`);
  writeFileSync(join(staging, '.pom.sha256'), `${want}\n`);
  rmSync(libDir, { recursive: true, force: true });
  renameSync(staging, libDir);
  return `copied ${jars.length} jars into ${libDir}`;
});

// 4. Python venv for dbt + Great Expectations, reinstalled only when the requirements change.
step('python venv', () => {
  const requirements = join(ROOT, 'requirements.txt');
  const lock = join(ROOT, 'requirements.lock');
  const stamp = join(venvDir, '.shopflow-requirements.sha256');
  const python = join(venvDir, 'bin', 'python');
  const want = sha256(requirements, lock);
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return 'up to date';
  if (!existsSync(python)) {
    const version = run('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { capture: true }).trim();
    const [major, minor] = version.split('.').map(Number);
    if (major !== 3 || minor < 10) throw new BootstrapError(`python3 is ${version}; dbt and Great Expectations need Python 3.10 to 3.13`);
    try {
      run('python3', ['-m', 'venv', venvDir], { capture: true });
    } catch (error) {
      if (!isRoot) throw error;
      // Debian splits venv support into its own package.
      run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'python3-venv']);
      run('python3', ['-m', 'venv', venvDir], { capture: true });
    }
  }
  const pipArgs = ['-m', 'pip', 'install', '-q', '-r', requirements];
  if (existsSync(lock)) pipArgs.push('-c', lock);
  run(python, pipArgs);
  const dbt = run(join(venvDir, 'bin', 'dbt'), ['--version'], { capture: true });
  const core = /installed:\s*([\d.]+)/.exec(dbt)?.[1] ?? '?';
  const gx = run(python, ['-c', 'import great_expectations as gx; print(gx.__version__)'], { capture: true }).trim().split('\n').pop();
  writeFileSync(stamp, `${want}\n`);
  return `installed dbt-core ${core}, great-expectations ${gx} into ${venvDir}`;
});

// 5. The lakehouse (docs/lakehouse.md), only when it is switched on (and always in CI, whose
// suite tests it): pyspark in its own venv, the Iceberg/Kafka jars Spark adds to pyspark's,
// and the S3Proxy object store. Each part is keyed by the hash of the file that pins it.
const lakehouseOn = ['true', '1'].includes(env.LAKEHOUSE_ENABLED ?? '') || ['true', '1'].includes(env.CI ?? '');
const LAKE_DIR = join(ROOT, 'scripts', 'services', 'lakehouse');

/** `mvn dependency:copy-dependencies` of a pom into `target`, swapped in whole, with a stamp of the pom's hash. */
function mavenJars(pom, target, { transitive, expect }) {
  const stamp = join(target, '.pom.sha256');
  const want = sha256(pom);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return 'present';
  const staging = `${target}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  run(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      pom,
      'org.apache.maven.plugins:maven-dependency-plugin:3.7.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DexcludeTransitive=${transitive ? 'false' : 'true'}`,
      `-DoutputDirectory=${staging}`,
    ],
    { capture: true },
  );
  const jars = readdirSync(staging).filter((f) => f.endsWith('.jar'));
  if (!jars.some((f) => f.startsWith(expect))) throw new BootstrapError(`Maven finished but no ${expect} jar is in ${staging}`);
  writeFileSync(join(staging, '.pom.sha256'), `${want}\n`);
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return `copied ${jars.length} jars into ${target}`;
}

step('lakehouse venv', () => {
  if (!lakehouseOn) return 'skipped (LAKEHOUSE_ENABLED is not true)';
  const venv = resolve(ROOT, env.LAKEHOUSE_VENV || join(env.SHOPFLOW_DATA_DIR || '.data', 'lakehouse-venv'));
  const requirements = join(ROOT, 'requirements-lakehouse.txt');
  const lock = join(ROOT, 'requirements-lakehouse.lock');
  const stamp = join(venv, '.shopflow-requirements.sha256');
  const python = join(venv, 'bin', 'python');
  const want = sha256(requirements, lock);
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return 'up to date';
  if (!existsSync(python)) run('python3', ['-m', 'venv', venv], { capture: true });
  run(python, ['-m', 'pip', 'install', '-q', '-r', requirements, '-c', lock]);
  const version = run(python, ['-c', 'import pyspark; print(pyspark.__version__)'], { capture: true }).trim();
  writeFileSync(stamp, `${want}\n`);
  return `installed pyspark ${version} into ${venv}`;
});

step('lakehouse jars', () => {
  if (!lakehouseOn) return 'skipped (LAKEHOUSE_ENABLED is not true)';
  // Only the named jars: their transitive ones (Scala, Hadoop, codecs) are pyspark's own.
  return mavenJars(join(LAKE_DIR, 'spark-pom.xml'), join(dataDir, 'lakehouse', 'jars'), {
    transitive: false,
    expect: 'iceberg-spark-runtime-',
  });
});

step('s3proxy jars', () => {
  if (!lakehouseOn) return 'skipped (LAKEHOUSE_ENABLED is not true)';
  if (env.S3_ENDPOINT) return 'skipped (external object store: S3_ENDPOINT is set)';
  return mavenJars(join(LAKE_DIR, 's3proxy-pom.xml'), join(dataDir, 's3proxy', 'lib'), { transitive: true, expect: 's3proxy-' });
});
