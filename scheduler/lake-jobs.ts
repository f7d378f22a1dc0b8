/**
 * The lakehouse's streaming jobs the active scheduler supervises next to the ingestors (with the
 * lakehouse on): each job as `npm run lake -- start` runs it, restarted with backoff when it
 * exits, with the same pid file so `npm run status` and `npm run lake -- status` show it.
 */
import type { Config } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import { jobCommand, jobSettings, LAKE_JOB_NAMES } from '../lib/lakehouse/jobs.ts';
import { installedLakehouse } from '../lib/lakehouse/paths.ts';
import { jobFiles, runningJobPid } from '../lib/lakehouse/status.ts';
import type { SupervisedProcess } from './supervisor.ts';

export function lakeJobProcesses(config: Config, logger: Logger): SupervisedProcess[] {
  if (!config.LAKEHOUSE_ENABLED) return [];
  const paths = installedLakehouse(config);
  const processes: SupervisedProcess[] = [];
  for (const job of LAKE_JOB_NAMES) {
    // Started by hand (`npm run lake -- start`): a second copy would share its checkpoint.
    const pid = runningJobPid(config, job);
    if (pid !== undefined) {
      logger.warn({ job, pid }, 'lake job already running outside the scheduler: not supervising it (stop it with npm run lake -- stop)');
      continue;
    }
    const { command, args, env } = jobCommand(paths, job, jobSettings(config, job, {}, paths));
    const files = jobFiles(config, job);
    processes.push({
      name: `lake:${job}`,
      command,
      args,
      cwd: paths.jobsDir,
      env,
      processGroup: true,
      pidFile: files.pidFile,
      logFile: files.logFile,
    });
  }
  return processes;
}
