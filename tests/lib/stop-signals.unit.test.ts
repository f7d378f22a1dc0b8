/**
 * Stop signals on real processes: the first SIGTERM/SIGINT drains, a later one forces, and a
 * copy of the same signal relayed within milliseconds (npm forwarding the Ctrl-C the terminal
 * already sent to the whole process group) is one request, not two. Then the whole chain a user
 * starts: `npm run generate` signalled at npm's pid reaches the generator, which finishes the
 * batch in flight and prints its summary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT_DIR } from '../../lib/config/index.ts';
import { REPEATED_SIGNAL_WINDOW_MS } from '../../lib/lifecycle.ts';

const FIXTURE = join(ROOT_DIR, 'tests', 'lib', 'fixtures', 'draining-process.ts');

interface Watched {
  child: ChildProcess;
  output: () => string;
  waitFor: (text: string) => Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function watch(child: ChildProcess): Watched {
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const waiter of waiters.filter((w) => output.includes(w.text))) waiter.resolve();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => output,
    waitFor: (text) =>
      output.includes(text)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ text, resolve })),
            exit.then(() => {
              throw new Error(`exited before printing "${text}"; output:\n${output}`);
            }),
          ]),
    exit,
  };
}

function startFixture(drainMs: number): Watched {
  return watch(
    spawn(process.execPath, ['--import', 'tsx', FIXTURE, String(drainMs)], { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

/** The fixture, sent `signal` once ready, once it has taken that signal and started draining. */
async function drainingFixture(drainMs: number, signal: NodeJS.Signals): Promise<Watched> {
  const run = startFixture(drainMs);
  await run.waitFor('ready');
  run.child.kill(signal);
  await run.waitFor(`draining ${signal}`);
  return run;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('stop signals', () => {
  it('drains on the first SIGTERM and exits 0', async () => {
    const run = await drainingFixture(300, 'SIGTERM');
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.output()).toContain('draining SIGTERM');
    expect(run.output()).toContain('drained');
  });

  it('takes a relayed copy of the same signal as one request', async () => {
    // The second copy arrives after the first was handled (so the kernel cannot merge them),
    // well inside the window.
    const run = await drainingFixture(800, 'SIGINT');
    run.child.kill('SIGINT');
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.output()).toContain('drained');
  });

  it('forces on a second signal sent after the window', async () => {
    const run = await drainingFixture(10_000, 'SIGTERM');
    await sleep(REPEATED_SIGNAL_WINDOW_MS + 200);
    run.child.kill('SIGTERM');
    expect(await run.exit).toEqual({ code: 143, signal: null });
    expect(run.output()).not.toContain('drained');
  });

  it('forces on a different signal at once', async () => {
    const run = await drainingFixture(10_000, 'SIGTERM');
    run.child.kill('SIGINT');
    expect(await run.exit).toEqual({ code: 130, signal: null });
  });

  it('npm run generate: SIGTERM to npm reaches the generator, which finishes its batch and reports', { timeout: 120_000 }, async () => {
    // A dry run of the default world takes tens of seconds and needs no service.
    const run = watch(
      spawn('npm', ['run', '-s', 'generate', '--', '--dry-run', '--json', '--seed', '7'], {
        cwd: ROOT_DIR,
        env: { ...process.env, LOG_LEVEL: 'info', CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    await run.waitFor('generating:');
    await sleep(1_500);
    run.child.kill('SIGTERM');
    const exit = await run.exit;
    expect(run.output()).toContain('signal received: finishing the batch in flight');
    expect(run.output()).not.toContain('second signal');
    const summary = run
      .output()
      .split('\n')
      .find((line) => line.startsWith('{"mode":"backfill"'));
    expect(summary, run.output()).toBeDefined();
    expect(exit).toEqual({ code: 143, signal: null });
  });
});
