/**
 * Child processes end with whoever started them: aborting ends the whole process group (a
 * grandchild too, as dbt's own children would be), the build lock refuses a second holder while
 * the first lives, and exit codes and output come through the watchdog unchanged. The kill -9
 * case is tests/scheduler/children-die.test.ts.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { ProcessFailedError } from '../../lib/errors.ts';
import { ProcessLockBusyError, runProcess } from '../../lib/process.ts';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('runProcess', () => {
  it('passes output and the exit code through', async () => {
    const lines: string[] = [];
    const ok = await runProcess('/bin/sh', ['-c', 'echo hello; echo oops >&2'], { env, onLine: (line) => lines.push(line) });
    expect(ok.exitCode).toBe(0);
    expect(lines.sort()).toEqual(['hello', 'oops']);
    const failed = await runProcess('/bin/sh', ['-c', 'echo bad; exit 3'], { env }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ProcessFailedError);
    expect((failed as ProcessFailedError).exitCode).toBe(3);
    expect((failed as ProcessFailedError).outputTail).toContain('bad');
  });

  it('abort ends the child and its own children', async () => {
    const abort = new AbortController();
    let grandchild = 0;
    const running = runProcess('/bin/sh', ['-c', 'sleep 60 & echo $!; wait'], {
      env,
      signal: abort.signal,
      killGraceMs: 1_000,
      onLine: (line) => (grandchild = Number(line)),
    }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && grandchild === 0; i++) await sleep(20);
    expect(alive(grandchild)).toBe(true);
    abort.abort(new Error('stop'));
    expect(await running).toBeInstanceOf(ProcessFailedError);
    for (let i = 0; i < 100 && alive(grandchild); i++) await sleep(20);
    expect(alive(grandchild)).toBe(false);
  });

  it('refuses to start while another process holds the lock, and starts once it is free', async () => {
    const lockFile = join(mkdtempSync(join(tmpdir(), 'shopflow-lock-')), 'sub', 'build.lock');
    const first = runProcess('/bin/sh', ['-c', 'sleep 1'], { env, lockFile });
    await sleep(300);
    const second = await runProcess('/bin/sh', ['-c', 'echo should-not-run'], { env, lockFile }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(ProcessLockBusyError);
    expect((second as ProcessLockBusyError).canRetry).toBe(true);
    await first;
    await expect(runProcess('/bin/sh', ['-c', 'true'], { env, lockFile })).resolves.toMatchObject({ exitCode: 0 });
  });
});
