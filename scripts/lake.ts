/**
 * `npm run lake -- start|stop|status|maintain|publish|sql [job...]`: the lakehouse's streaming jobs
 * (lib/lakehouse/jobs.ts), each a detached process group with its pid file and log under
 * <data>/lakehouse/, so they outlive this command like the services do.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

import { EXIT } from '../lib/cli/exit-codes.ts';
import { runCli, type CliContext } from '../lib/cli/run.ts';
import type { Config } from '../lib/config/index.ts';
import { UsageError } from '../lib/errors.ts';
import { jobCommand, jobSettings, LAKE_JOB_NAMES, LAKE_JOBS, type LakeJobName } from '../lib/lakehouse/jobs.ts';
import { sparkApplications } from '../lib/lakehouse/cluster.ts';
import { installedLakehouse } from '../lib/lakehouse/paths.ts';
import { publishMarts } from '../lib/lakehouse/publish.ts';
import { lakeAppName } from '../lib/lakehouse/settings.ts';
import { jobFiles, lakeJobStates, runningJobPid } from '../lib/lakehouse/status.ts';
import { ensureDir, removePidFile, stopProcess, writePidFile } from './services/process.ts';
import { SPARK_MASTER_UI_PORT } from './services/spark.ts';

const HELP = `Usage: npm run lake -- <start|stop|status|maintain|publish|sql> [job...|mart...|statement...]

The lakehouse's Spark Structured Streaming jobs (docs/lakehouse.md); needs LAKEHOUSE_ENABLED=true
and the services from \`npm run services:up\`.
${LAKE_JOB_NAMES.map((j) => `  ${j.padEnd(12)} ${LAKE_JOBS[j].what}`).join('\n')}

Commands:
  start [job...]   start the jobs (all when none is named) that are not running
  stop [job...]    stop them: SIGTERM to the job's process group, SIGKILL after 30 s
  status           each job: running or not, pid, last completed micro-batch, and its Spark
                   application: RUNNING with its cores, or WAITING for a free core
  maintain         compact small files and expire old snapshots of every Iceberg table
  publish [mart...] copy the marts dbt built on the lake (--target lakehouse) to the warehouse's
                   marts schema in one transaction, typed by their contracts (all when none is
                   named), where the report, the gate and Superset read them; the contracts come
                   from dbt's manifest (--manifest, default dbt/target/manifest.json)
  sql "<sql>"...   run statements on the lakehouse and print the rows as JSON lines

Environment: LAKEHOUSE_*, S3_*, SPARK_*, LAKE_* (see .env.example); logs in <data>/lakehouse/<job>.log
`;

type Command = 'start' | 'stop' | 'status' | 'maintain' | 'publish' | 'sql';

function jobsOf(names: string[]): (typeof LAKE_JOB_NAMES)[number][] {
  if (names.length === 0) return [...LAKE_JOB_NAMES];
  return names.map((n) => {
    if (!(LAKE_JOB_NAMES as string[]).includes(n)) throw new UsageError(`unknown job "${n}"; choose from ${LAKE_JOB_NAMES.join(', ')}`);
    return n as (typeof LAKE_JOB_NAMES)[number];
  });
}

async function runOnce(config: Config, task: LakeJobName, args: string[]): Promise<number> {
  const paths = installedLakehouse(config);
  const settings = jobSettings(config, task, {}, paths);
  const { command, args: argv, env } = jobCommand(paths, task, settings, args);
  const child = spawn(command, argv, { cwd: paths.jobsDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => {
    child.on('error', () => resolve(EXIT.failed));
    child.on('exit', (code) => resolve(code === 0 ? EXIT.ok : EXIT.failed));
  });
}

async function main(argv: string[], context: CliContext): Promise<number> {
  let positionals: string[];
  let manifest: string | undefined;
  try {
    const parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { manifest: { type: 'string' } } });
    positionals = parsed.positionals;
    manifest = parsed.values.manifest;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [command, ...rest] = positionals as [Command | undefined, ...string[]];
  const config = context.config();
  if (manifest !== undefined && command !== 'publish') throw new UsageError('--manifest belongs to publish');
  if (command === 'sql') return runOnce(config, 'query', rest);
  if (command === 'maintain') return runOnce(config, 'maintenance', []);
  if (command === 'publish') {
    const marts = await publishMarts(config, {
      manifestPath: manifest ?? join(config.rootDir, 'dbt', 'target', 'manifest.json'),
      ...(rest.length > 0 ? { only: rest } : {}),
    });
    process.stdout.write(`published ${marts.length} marts to the warehouse's marts schema\n`);
    return EXIT.ok;
  }
  if (command === 'start') {
    const paths = installedLakehouse(config);
    for (const job of jobsOf(rest)) {
      const running = runningJobPid(config, job);
      if (running) {
        process.stdout.write(`${job.padEnd(12)} ok, already running (pid ${running})\n`);
        continue;
      }
      const f = jobFiles(config, job);
      ensureDir(f.dir);
      const { command: cmd, args, env } = jobCommand(paths, job, jobSettings(config, job, {}, paths));
      const out = openSync(f.logFile, 'a');
      const child = spawn(cmd, args, { cwd: paths.jobsDir, env, detached: true, stdio: ['ignore', out, out] });
      closeSync(out);
      child.on('error', () => undefined);
      child.unref();
      writePidFile(f, child.pid!);
      process.stdout.write(`${job.padEnd(12)} started (pid ${child.pid}), log ${f.logFile}\n`);
    }
    return EXIT.ok;
  }
  if (command === 'stop') {
    for (const job of jobsOf(rest)) {
      const pid = runningJobPid(config, job);
      removePidFile(jobFiles(config, job));
      if (!pid) {
        process.stdout.write(`${job.padEnd(12)} not running\n`);
        continue;
      }
      // The group: the Python driver and the JVM it launched. Spark stops the query on SIGTERM;
      // whatever batch was in flight is replayed exactly once on the next start.
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // the group is gone already
      }
      const how = await stopProcess(pid, 'SIGTERM', 30_000);
      try {
        process.kill(-pid, 'SIGKILL'); // the JVM, if it outlived its driver
      } catch {
        // nothing left
      }
      process.stdout.write(`${job.padEnd(12)} ${how} (pid ${pid})\n`);
    }
    return EXIT.ok;
  }
  if (command === 'status') {
    const states = lakeJobStates(config);
    // A driver can live while the master grants it no core (WAITING): it lands nothing.
    const apps = await sparkApplications(config.SPARK_MASTER, SPARK_MASTER_UI_PORT);
    let waiting = false;
    for (const state of states) {
      const running = state.pid ? `running (pid ${state.pid})` : 'stopped';
      const batch = state.lastBatchAt ? `, last batch ${state.lastBatchAt.toISOString()}` : '';
      const app = apps?.find((a) => a.name === lakeAppName(state.job));
      const cores = app ? `${app.state} with ${app.cores} core${app.cores === 1 ? '' : 's'}` : '';
      // Started elsewhere (the demo, a test, another checkout on the same cluster) under the job's name.
      const spark = !app
        ? ''
        : state.pid
          ? `, spark ${cores}`
          : `; a Spark application of that name (not started by npm run lake) is ${cores}`;
      if (state.pid && app && app.state !== 'RUNNING') waiting = true;
      process.stdout.write(`${state.job.padEnd(12)} ${running}${spark}${batch}\n`);
    }
    if (waiting)
      process.stdout.write(
        `\nA job waits for cores: the cluster's free slots (SPARK_WORKERS x SPARK_WORKER_CORES) are fewer than the jobs ask for (LAKE_JOB_CORES = ${config.LAKE_JOB_CORES} each).\n`,
      );
    if (states.every((s) => s.pid !== undefined)) return waiting ? EXIT.unavailable : EXIT.ok;
    process.stdout.write('\nStart the stopped jobs with `npm run lake -- start` (docs/lakehouse.md).\n');
    return EXIT.unavailable;
  }
  throw new UsageError(
    `expected start, stop, status, maintain, publish or sql (got ${command === undefined ? 'nothing' : `"${command}"`}); see --help`,
  );
}

await runCli({ name: 'lake', help: HELP, main }, { graceMs: 1_000 });
