import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

import { describe, expect, it } from 'vitest';

import { jobEnded } from '../../lib/lakehouse/jobs.ts';

async function ended(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

describe('jobEnded', () => {
  it('takes a running process for running', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      expect(jobEnded(child)).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
      await ended(child);
    }
  });

  it('reports an exit code, zero included', async () => {
    const child = spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' });
    await ended(child);
    expect(jobEnded(child)).toBe('exited with 3');
    const clean = spawn('true', { stdio: 'ignore' });
    await ended(clean);
    expect(jobEnded(clean)).toBe('exited with 0');
  });

  it('reports a process killed by a signal, whose exit code is null', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    child.kill('SIGKILL');
    await ended(child);
    expect(child.exitCode).toBeNull();
    expect(jobEnded(child)).toBe('was killed by SIGKILL');
  });
});
