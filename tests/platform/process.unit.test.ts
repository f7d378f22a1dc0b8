/**
 * The safety rules of `services:down` and `services:up`: only a process whose command line
 * names our data dir is ever signalled, and a port held by someone else is reported with the
 * holder's pid instead of a readiness wait that never ends.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  assertPortFree,
  ensureDir,
  ourRunningPid,
  portOwner,
  processCommandLine,
  servicePaths,
  stopProcess,
} from '../../scripts/services/process.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

function startSleeper(marker: string): number {
  // `sleep` with a marker argument that shows in /proc/<pid>/cmdline, like a data dir path.
  const child = spawn('sh', ['-c', 'sleep 30', marker], { stdio: 'ignore' });
  child.on('error', () => undefined);
  const pid = child.pid as number;
  cleanups.push(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  return pid;
}

describe('port checks', () => {
  it('names the process that holds a port', async () => {
    const { server, port } = await listen();
    cleanups.push(() => server.close());
    expect(portOwner(port)?.pid).toBe(process.pid);
    await expect(assertPortFree('postgres', port, 'WAREHOUSE_URL')).rejects.toMatchObject({
      code: 'SHOPFLOW_PORT_TAKEN',
      message: expect.stringContaining(`in use by pid ${process.pid}`),
    });
  });

  it('passes for a free port', async () => {
    const { server, port } = await listen();
    await new Promise((resolve) => server.close(resolve));
    await expect(assertPortFree('postgres', port, 'WAREHOUSE_URL')).resolves.toBeUndefined();
  });
});

describe('pid files', () => {
  it('trusts a pid only when its command line contains our marker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shopflow-pid-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const paths = servicePaths(dir, 'svc');
    const marker = join(dir, 'svc', 'data');
    const pid = startSleeper(marker);
    // No pid file yet.
    expect(ourRunningPid(paths, marker)).toBeUndefined();
    ensureDir(paths.dir);
    writeFileSync(paths.pidFile, `${pid}\n`);
    expect(ourRunningPid(paths, marker)).toBe(pid);
    // Same pid, but a different checkout's marker: not ours, never to be signalled.
    expect(ourRunningPid(paths, join(dir, 'other-checkout'))).toBeUndefined();
    // A pid that is not running.
    writeFileSync(paths.pidFile, '2147483646\n');
    expect(ourRunningPid(paths, marker)).toBeUndefined();
  });

  it('stops a process with the gentle signal first, then SIGKILL', async () => {
    const gentle = startSleeper('gentle');
    expect(await stopProcess(gentle, 'SIGTERM', 5_000)).toBe('stopped');
    expect(processCommandLine(gentle)).toBeUndefined();

    // A process that ignores SIGTERM is killed after the grace period.
    const stubborn = spawn('sh', ['-c', 'trap "" TERM; sleep 30 & wait; sleep 30'], { stdio: 'ignore' });
    stubborn.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await stopProcess(stubborn.pid as number, 'SIGTERM', 500)).toBe('killed');
  });
});
