// Regression guard: a crashed ingestor must be restarted with growing (capped) delays, its
// output must reach the scheduler's log, and on shutdown it must receive SIGTERM and drain.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { ProcessSupervisor } from '../../scheduler/supervisor.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'flaky-ingestor.ts');

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function markers(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

describe('ProcessSupervisor', () => {
  it('restarts a crashing child with backoff and streams its output into the logger', async () => {
    const marker = join(await mkdtemp(join(tmpdir(), 'supervisor-')), 'events');
    const { logger, lines } = capturingLogger();
    const crashes: number[] = [];
    const supervisor = new ProcessSupervisor(
      {
        name: 'ingest:test',
        command: process.execPath,
        args: ['--import', 'tsx', FIXTURE, marker, '300'],
        cwd: process.cwd(),
        env: { PATH: process.env.PATH ?? '' },
      },
      { logger, minBackoffMs: 100, maxBackoffMs: 400, stableAfterMs: 60_000, onCrash: (info) => crashes.push(info.restartInMs) },
    );
    supervisor.start();
    const deadline = Date.now() + 30_000;
    while (supervisor.starts < 4 && Date.now() < deadline) await sleep(50);
    await supervisor.stop();
    expect(supervisor.starts).toBeGreaterThanOrEqual(4);
    expect((await markers(marker)).filter((m) => m.startsWith('crashed')).length).toBeGreaterThanOrEqual(3);
    // Capped: never beyond maxBackoffMs.
    expect(Math.max(...crashes)).toBeLessThanOrEqual(400);
    expect(lines.some((l) => l.msg === 'ingestor running' && l.child === 'ingest:test')).toBe(true);
    expect(lines.some((l) => l.msg === 'plain stderr line' && l.level === 40)).toBe(true);
    expect(lines.some((l) => l.msg === 'child exited unexpectedly: restarting after backoff' && l.code === 3)).toBe(true);
  });

  it('forwards SIGTERM on stop and does not restart the drained child', async () => {
    const marker = join(await mkdtemp(join(tmpdir(), 'supervisor-')), 'events');
    const { logger } = capturingLogger();
    const supervisor = new ProcessSupervisor(
      {
        name: 'ingest:test',
        command: process.execPath,
        args: ['--import', 'tsx', FIXTURE, marker, '0'],
        cwd: process.cwd(),
        env: { PATH: process.env.PATH ?? '' },
      },
      { logger, minBackoffMs: 50, maxBackoffMs: 100 },
    );
    supervisor.start();
    const deadline = Date.now() + 20_000;
    while (!(await markers(marker)).some((m) => m.startsWith('started')) && Date.now() < deadline) await sleep(50);
    const pid = supervisor.pid;
    await supervisor.stop();
    await sleep(300);
    expect(await markers(marker)).toEqual([`started ${pid}`, `drained ${pid}`]);
    expect(supervisor.starts).toBe(1);
  });

  it('supervises a process group (a lake job: driver and JVM) with its pid file and log file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'supervisor-group-'));
    const pidFile = join(dir, 'job.pid');
    const logFile = join(dir, 'job.log');
    const grandchildPids = join(dir, 'grandchildren');
    const { logger } = capturingLogger();
    // A shell that starts a long-lived grandchild (as pyspark starts its JVM) and waits on it.
    const script = `sleep 600 & echo $! >> ${grandchildPids}; echo started; wait`;
    const supervisor = new ProcessSupervisor(
      {
        name: 'lake:test',
        command: '/bin/sh',
        args: ['-c', script],
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
        processGroup: true,
        pidFile,
        logFile,
      },
      { logger, minBackoffMs: 50, maxBackoffMs: 100, stopGraceMs: 2_000 },
    );
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const waitFor = async (check: () => Promise<boolean> | boolean) => {
      const deadline = Date.now() + 10_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await sleep(50);
      }
    };
    supervisor.start();
    await waitFor(async () => (await markers(grandchildPids)).length === 1);
    const firstPid = supervisor.pid!;
    expect((await readFile(pidFile, 'utf8')).trim()).toBe(String(firstPid));
    // kill -9 of the whole group (as a crash would leave it): restarted, the pid file follows.
    process.kill(-firstPid, 'SIGKILL');
    await waitFor(async () => (await markers(grandchildPids)).length === 2 && supervisor.pid !== undefined && supervisor.pid !== firstPid);
    await waitFor(async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim() === String(supervisor.pid));
    await supervisor.stop();
    const grandchildren = (await markers(grandchildPids)).map(Number);
    // Stop reaches the grandchild too; the pid file is gone; output went to the log file.
    await waitFor(() => grandchildren.every((pid) => !alive(pid)));
    await expect(readFile(pidFile, 'utf8')).rejects.toThrow();
    expect((await markers(logFile)).filter((l) => l === 'started')).toHaveLength(2);
  });
});
