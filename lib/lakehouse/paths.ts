/**
 * Where the lakehouse's installed parts live (bootstrap puts them there, scripts/bootstrap.mjs
 * step "lakehouse"): the venv with pyspark, Spark's own home inside it, and the extra jars
 * (Iceberg runtime, its AWS bundle, Spark's Kafka source, the Postgres driver for the catalog).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { Config } from '../config/index.ts';
import { ShopflowError } from '../errors.ts';

export interface LakehousePaths {
  venv: string;
  python: string;
  /** pyspark's package folder: a complete SPARK_HOME (bin/, jars/). */
  sparkHome: string;
  /** Jars every Spark process adds to what pyspark ships. */
  jarsDir: string;
  /** Folder of the lakehouse's Python jobs (put on PYTHONPATH). */
  jobsDir: string;
  /** Checkpoints, pid files and logs of the jobs. */
  dataDir: string;
}

export function lakehousePaths(config: Pick<Config, 'rootDir' | 'dataDir' | 'LAKEHOUSE_VENV'>): LakehousePaths {
  const venv = resolve(config.rootDir, config.LAKEHOUSE_VENV);
  let sparkHome = '';
  const lib = join(venv, 'lib');
  if (existsSync(lib)) {
    for (const python of readdirSync(lib).filter((d) => d.startsWith('python3'))) {
      const candidate = join(lib, python, 'site-packages', 'pyspark');
      if (existsSync(join(candidate, 'jars'))) sparkHome = candidate;
    }
  }
  return {
    venv,
    python: join(venv, 'bin', 'python'),
    sparkHome,
    jarsDir: join(config.dataDir, 'lakehouse', 'jars'),
    jobsDir: join(config.rootDir, 'lakehouse'),
    dataDir: join(config.dataDir, 'lakehouse'),
  };
}

/** The paths, or a typed error that says how to install what is missing. */
export function installedLakehouse(config: Pick<Config, 'rootDir' | 'dataDir' | 'LAKEHOUSE_VENV'>): LakehousePaths {
  const paths = lakehousePaths(config);
  const missing: string[] = [];
  if (!paths.sparkHome) missing.push(`pyspark in ${paths.venv}`);
  if (!existsSync(paths.jarsDir) || !readdirSync(paths.jarsDir).some((f) => f.startsWith('iceberg-spark-runtime'))) {
    missing.push(`the Iceberg and Kafka jars in ${paths.jarsDir}`);
  }
  if (missing.length > 0) {
    throw new ShopflowError(
      'SHOPFLOW_MISSING_BINARY',
      `the lakehouse is not installed (${missing.join('; ')}): run \`LAKEHOUSE_ENABLED=true npm run setup\``,
    );
  }
  return paths;
}

/** The extra jars, as a list of files (Spark's `spark.jars` ships them to every executor). */
export function lakehouseJars(paths: LakehousePaths): string[] {
  return readdirSync(paths.jarsDir)
    .filter((f) => f.endsWith('.jar'))
    .sort()
    .map((f) => join(paths.jarsDir, f));
}
