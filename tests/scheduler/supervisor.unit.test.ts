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
});
