/**
 * Runs one of the project's own CLIs as a child process, the way its npm script does
 * (`node --import tsx <entry> args`: one process, so a signal sent to the child reaches the CLI
 * itself; the tsx launcher relays it and kills a CLI busy for more than a few tens of ms).
 * Output goes to a log file (or the terminal when `inherit`), and a failure names the command
 * and shows the tail of its output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { ProcessFailedError } from '../../lib/errors.ts';

export interface CliOptions {
  rootDir: string;
  logDir: string;
  /** Show the child's output in this terminal (progress bars) instead of only logging it. */
  inherit?: boolean;
  /** Log file name under logDir (default: derived from the entry point). */
  logName?: string;
  /** Node flags for the child (e.g. the Kafka ingestor's heap bound). */
  nodeFlags?: readonly string[];
}

const TAIL_BYTES = 4_000;

export interface RunningCli {
  child: ChildProcess;
  logFile: string;
  done: Promise<void>;
}

export function startCli(entry: string, args: string[], options: CliOptions): RunningCli {
  mkdirSync(options.logDir, { recursive: true });
  const name = options.logName ?? entry.replace(/\/cli\.ts$/, '').replace(/[/.]/g, '-');
  const logFile = join(options.logDir, `demo-${name}.log`);
  const log = createWriteStream(logFile, { flags: 'w' });
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', entry, ...args], {
    cwd: options.rootDir,
    env: process.env,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer, stream: NodeJS.WriteStream) => {
    log.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    if (options.inherit) stream.write(chunk);
  };
  child.stdout!.on('data', (chunk: Buffer) => keep(chunk, process.stdout));
  child.stderr!.on('data', (chunk: Buffer) => keep(chunk, process.stderr));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (error) => reject(new ProcessFailedError(`${entry} ${args.join(' ')}`, null, null, error.message)));
    child.on('close', (code, signal) => {
      log.end();
      if (code === 0) resolve();
      else reject(new ProcessFailedError(`npm run ${entry} ${args.join(' ')}`.trim(), code, signal, `${tail}\n(full log: ${logFile})`));
    });
  });
  return { child, logFile, done };
}

export async function runCli(entry: string, args: string[], options: CliOptions): Promise<string> {
  const running = startCli(entry, args, options);
  await running.done;
  return running.logFile;
}
