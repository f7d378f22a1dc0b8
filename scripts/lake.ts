/**
 * `npm run lake -- start|stop|status|maintain|sql [job...]`: the lakehouse's streaming jobs
 * (lib/lakehouse/jobs.ts), each a detached process group with its pid file and log under
 * <data>/lakehouse/, so they outlive this command like the services do.
 */
import { closeSync, existsSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

import { EXIT } from '../lib/cli/exit-codes.ts';
import { runCli, type CliContext } from '../lib/cli/run.ts';
import type { Config } from '../lib/config/index.ts';
import { UsageError } from '../lib/errors.ts';
import { jobCommand, jobSettings, LAKE_JOB_NAMES, LAKE_JOBS, type LakeJobName } from '../lib/lakehouse/jobs.ts';
import { installedLakehouse, lakehousePaths } from '../lib/lakehouse/paths.ts';
import { ensureDir, ourRunningPid, removePidFile, stopProcess, writePidFile } from './services/process.ts';

const HELP = `Usage: npm run lake -- <start|stop|status|maintain|sql> [job...|statement...]

The lakehouse's Spark Structured Streaming jobs (docs/lakehouse.md); needs LAKEHOUSE_ENABLED=true
and the services from \`npm run services:up\`.
${LAKE_JOB_NAMES.map((j) => `  ${j.padEnd(12)} ${LAKE_JOBS[j].what}`).join('\n')}

Commands:
  start [job...]   start the jobs (all when none is named) that are not running
  stop [job...]    stop them: SIGTERM to the job's process group, SIGKILL after 30 s
  status           each job: running or not, pid, last completed micro-batch
  maintain         compact small files and expire old snapshots of every Iceberg table
  sql "<sql>"...   run statements on the lakehouse and print the rows as JSON lines

Environment: LAKEHOUSE_*, S3_*, SPARK_*, LAKE_* (see .env.example); logs in <data>/lakehouse/<job>.log
`;

type Command = 'start' | 'stop' | 'status' | 'maintain' | 'sql';

function files(config: Config, job: string) {
  const dir = join(config.dataDir, 'lakehouse');
  return { dir, pidFile: join(dir, `${job}.pid`), logFile: join(dir, `${job}.log`), marker: 'shopflow_lake.' };
}

function pidOf(config: Config, job: string): number | undefined {
  const f = files(config, job);
  return ourRunningPid(f, `shopflow_lake.${job}`);
}

/** When the job's last micro-batch completed, from its checkpoint's commit log. */
function lastCommit(checkpointDir: string): Date | undefined {
  if (!existsSync(checkpointDir)) return undefined;
  let latest = 0;
  const walk = (dir: string, depth: number) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (entry === 'commits') {
        for (const c of readdirSync(path)) latest = Math.max(latest, statSync(join(path, c)).mtimeMs);
      } else if (depth < 2 && statSync(path).isDirectory()) walk(path, depth + 1);
    }
  };
  walk(checkpointDir, 0);
  return latest > 0 ? new Date(latest) : undefined;
}

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
  try {
    ({ positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [command, ...rest] = positionals as [Command | undefined, ...string[]];
  const config = context.config();
  if (command === 'sql') return runOnce(config, 'query', rest);
  if (command === 'maintain') return runOnce(config, 'maintenance', []);
  if (command === 'start') {
    const paths = installedLakehouse(config);
    for (const job of jobsOf(rest)) {
      const running = pidOf(config, job);
      if (running) {
        process.stdout.write(`${job.padEnd(12)} ok, already running (pid ${running})\n`);
        continue;
      }
      const f = files(config, job);
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
      const pid = pidOf(config, job);
      removePidFile(files(config, job));
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
    const paths = lakehousePaths(config);
    let allUp = true;
    for (const job of LAKE_JOB_NAMES) {
      const pid = pidOf(config, job);
      allUp &&= pid !== undefined;
      const committed = lastCommit(join(paths.dataDir, 'checkpoints', job));
      process.stdout.write(
        `${job.padEnd(12)} ${pid ? `running (pid ${pid})` : 'stopped'}${committed ? `, last batch ${committed.toISOString()}` : ''}\n`,
      );
    }
    return allUp ? EXIT.ok : EXIT.unavailable;
  }
  throw new UsageError(
    `expected start, stop, status, maintain or sql (got ${command === undefined ? 'nothing' : `"${command}"`}); see --help`,
  );
}

await runCli({ name: 'lake', help: HELP, main }, { graceMs: 1_000 });
