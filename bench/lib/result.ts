/**
 * The benchmark output contract (DESIGN.md, Benchmarks): the LAST line a bench prints is one
 * JSON object with the figure, its baselines measured in the same run, and the machine's cores.
 */
import { availableParallelism } from 'node:os';

export interface BenchResult {
  bench: string;
  metric: string;
  unit: string;
  value: number;
  baselines: Record<string, number>;
  /** value / the ceiling baseline (e.g. psql COPY of the same rows). */
  ratio_to_ceiling: number;
  /** Any further figures worth keeping (targets met, p99s, RSS...). */
  extra?: Record<string, number | string | boolean>;
}

export function printBenchResult(result: BenchResult): void {
  const line = { ...result, cores: availableParallelism() };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Wall time of an async operation, in seconds. */
export async function timed<T>(operation: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const start = process.hrtime.bigint();
  const result = await operation();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, result };
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
